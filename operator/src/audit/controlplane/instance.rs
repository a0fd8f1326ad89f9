//! One control-plane Pod with its parsed flags, and the table-driven flag checks most
//! API-*, ETCD-*, CM-* and SCH-* checks are.

use super::address::is_loopback;
use super::flags::Flags;
use super::{Component, ComponentPod, Version, image_version};
use crate::audit::{Ctx, Finding, ObjectRef, Sink};
use crate::catalog::CheckId;
use crate::snapshot::ObjectKind;

/// A control-plane Pod (one replica) and the flags its component runs with.
pub struct Instance<'a> {
    pub pod: ComponentPod<'a>,
    pub flags: Flags,
}

impl<'a> Instance<'a> {
    pub fn new(pod: &ComponentPod<'a>) -> Instance<'a> {
        Instance {
            pod: *pod,
            flags: Flags::of(pod),
        }
    }

    pub fn name(&self) -> &str {
        self.pod.name()
    }

    /// From the image tag; `None` when the tag is not a version.
    pub fn version(&self) -> Option<Version> {
        self.pod.container.image.and_then(image_version)
    }

    /// A finding on this Pod (control-plane findings point at the Pod, one per replica). Its
    /// remediation is the catalog's, with where to make the change on this cluster.
    pub fn finding(&self, check: CheckId, message: String, evidence: Vec<String>) -> Finding {
        Finding::new(
            check,
            ObjectRef::new(ObjectKind::Pod, Some("kube-system"), self.name()),
            message,
        )
        .evidence(evidence)
        .clause(&self.where_to_change())
    }

    /// Where to change a flag: the static Pod manifest on kubeadm clusters, and the kubeadm
    /// configuration that regenerates it on upgrade.
    fn where_to_change(&self) -> String {
        let program = self.pod.component.program();
        let node = self
            .pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .map_or("each control-plane node".to_string(), |n| {
                format!("node {n}")
            });
        let kubeadm_key = match self.pod.component {
            Component::ApiServer => "apiServer.extraArgs",
            Component::Etcd => "etcd.local.extraArgs",
            Component::ControllerManager => "controllerManager.extraArgs",
            Component::Scheduler => "scheduler.extraArgs",
        };
        format!(
            " in the {program} command line. On kubeadm clusters: edit \
             /etc/kubernetes/manifests/{program}.yaml on {node} (the kubelet restarts the static \
             Pod), and make the same change in {kubeadm_key} of the kubeadm ClusterConfiguration \
             (ConfigMap kube-system/kubeadm-config) so that upgrades keep it."
        )
    }
}

/// What a flag check requires.
pub enum Rule {
    /// Each flag set to a non-empty value.
    Required(&'static [&'static str]),
    /// The boolean flag is `want`; absent means `default`. A value that is not a boolean
    /// fails (the component would not start with it).
    Bool {
        flag: &'static str,
        want: bool,
        default: bool,
    },
    /// The flag is absent or empty.
    Forbidden(&'static str),
    /// The flag, when set, is a loopback address (an absent one is not judged).
    LoopbackIfSet(&'static str),
}

/// A check that is one rule about one component's flags.
pub struct FlagCheck {
    pub id: CheckId,
    pub rule: Rule,
    /// What is wrong, after the Pod's name: "allows anonymous requests".
    pub problem: &'static str,
}

/// Run the enabled `checks` on one instance.
pub fn run_flag_checks(ctx: &Ctx, inst: &Instance, checks: &[FlagCheck], sink: &mut Sink) {
    for c in checks.iter().filter(|c| ctx.enabled(c.id)) {
        if let Some(evidence) = failing(&inst.flags, &c.rule) {
            let message = format!("{} {}", inst.name(), c.problem);
            sink.push(inst.finding(c.id, message, evidence));
        }
    }
}

/// The evidence when `rule` fails, `None` when it holds.
fn failing(flags: &Flags, rule: &Rule) -> Option<Vec<String>> {
    match rule {
        Rule::Required(names) => names
            .iter()
            .any(|n| flags.nonempty(n).is_none())
            .then(|| names.iter().map(|n| flags.show(n, None)).collect()),
        Rule::Bool {
            flag,
            want,
            default,
        } => (flags.boolean(flag, *default) != Some(*want))
            .then(|| vec![flags.show(flag, Some(&default.to_string()))]),
        Rule::Forbidden(name) => flags.nonempty(name).map(|_| vec![flags.show(name, None)]),
        Rule::LoopbackIfSet(name) => flags
            .value(name)
            .filter(|v| !is_loopback(v))
            .map(|_| vec![flags.show(name, None)]),
    }
}
