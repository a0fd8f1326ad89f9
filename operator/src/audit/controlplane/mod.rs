//! The control plane as the snapshot shows it: kube-apiserver, etcd, kube-controller-manager
//! and kube-scheduler Pods in kube-system (static Pods' mirrors on kubeadm-style clusters).

mod address;
mod admission;
mod apiserver;
mod booleans;
mod controller_manager;
mod etcd;
mod exposure;
mod flags;
mod instance;
mod scheduler;

/// The flag parser, for the fuzz targets in `operator/fuzz`; not a stable API.
#[doc(hidden)]
pub use flags::Flags;

use crate::audit::{Ctx, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;
use crate::model::Pod;
use crate::snapshot::{ObjectKind, Snapshot};
use instance::Instance;
use std::sync::Arc;

use super::workloads::{ContainerRef, containers};

/// API-001…API-032, ETCD-001…ETCD-009, CM-* and SCH-*. The flag checks need the component's
/// Pod; ETCD-008 and ETCD-009 read Services and workloads and also run without one.
pub fn audit(ctx: &Ctx, sink: &mut Sink) {
    let instances: Vec<Instance> = ctx.components.iter().map(Instance::new).collect();
    let of = |c: Component| -> Vec<&Instance> {
        instances.iter().filter(|i| i.pod.component == c).collect()
    };
    let apiservers = of(Component::ApiServer);
    let etcds = of(Component::Etcd);
    not_seen(ctx, sink);
    apiserver::audit(ctx, &apiservers, sink);
    etcd::audit(ctx, &etcds, &apiservers, sink);
    controller_manager::audit(ctx, &of(Component::ControllerManager), sink);
    scheduler::audit(ctx, &of(Component::Scheduler), sink);
    exposure::audit(ctx, &etcds, sink);
}

/// The checks that need a component's Pod, by the category they report under.
fn dependent_checks(c: Component) -> Vec<(Category, Vec<CheckId>)> {
    match c {
        Component::ApiServer => {
            let (etcd, api): (Vec<_>, Vec<_>) = crate::catalog::CHECKS
                .iter()
                .filter(|m| {
                    m.id.as_str().starts_with("API-") && m.scope == crate::catalog::Scope::Objects
                })
                .partition(|m| m.category == Category::Etcd);
            let mut etcd: Vec<_> = etcd.iter().map(|m| m.id).collect();
            // ETCD-007 compares etcd's CA with the API server's.
            etcd.push(CheckId::Etcd007);
            vec![
                (Category::Apiserver, api.iter().map(|m| m.id).collect()),
                (Category::Etcd, etcd),
            ]
        }
        Component::Etcd => vec![(Category::Etcd, etcd::POD_CHECKS.to_vec())],
        Component::ControllerManager => {
            vec![(Category::Controlplane, controller_manager::CHECKS.to_vec())]
        }
        Component::Scheduler => vec![(Category::Controlplane, scheduler::CHECKS.to_vec())],
    }
}

/// checks.md "Not assessable": a component without a Pod (managed clusters, k3s, an external
/// etcd) has its checks listed under `notAssessed`, never reported as failed.
fn not_seen(ctx: &Ctx, sink: &mut Sink) {
    for component in Component::ALL {
        if ctx.components.iter().any(|c| c.component == component) {
            continue;
        }
        let reason = match ctx.snapshot.unavailable(ObjectKind::Pod) {
            Some(why) => format!("cannot read pods: {why}"),
            None => format!("no {} Pod in kube-system", component.program()),
        };
        for (category, ids) in dependent_checks(component) {
            if ids.iter().any(|id| ctx.enabled(*id)) {
                sink.not_assessed_checks(category, reason.clone(), &ids);
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    ApiServer,
    Etcd,
    ControllerManager,
    Scheduler,
}

impl Component {
    pub const ALL: [Component; 4] = [
        Component::ApiServer,
        Component::Etcd,
        Component::ControllerManager,
        Component::Scheduler,
    ];

    /// The program name, which is also the `component` label kubeadm sets.
    pub fn program(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver",
            Component::Etcd => "etcd",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
        }
    }

    fn from_program(name: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.program() == name)
    }
}

/// One control-plane Pod and the container running the component.
#[derive(Clone, Copy, Debug)]
pub struct ComponentPod<'a> {
    pub component: Component,
    pub pod: &'a Pod,
    pub container: ContainerRef<'a>,
}

impl ComponentPod<'_> {
    pub fn name(&self) -> &str {
        self.pod.metadata.name.as_deref().unwrap_or("")
    }
}

/// The program a container runs: the basename of `command[0]` (or of `args[0]` when the image's
/// entrypoint is used), looking through `hyperkube <component>`.
pub fn program_of(c: &ContainerRef) -> Option<String> {
    let argv: Vec<&String> = c.command.iter().chain(c.args.iter()).collect();
    let first = argv.first()?;
    let base = first.rsplit('/').next().unwrap_or(first);
    if base == "hyperkube" {
        return argv
            .get(1)
            .map(|s| s.rsplit('/').next().unwrap_or(s).to_string());
    }
    Some(base.to_string())
}

/// The component a Pod runs, if it is a control-plane Pod: in kube-system, labelled
/// `component=<name>` or running `<name>` as its program. Pods elsewhere (an application's own
/// etcd, say) are never taken for the control plane.
pub fn component_pod(pod: &Pod) -> Option<ComponentPod<'_>> {
    if pod.metadata.namespace.as_deref() != Some("kube-system") {
        return None;
    }
    let spec = pod.spec.as_ref()?;
    let by_label = pod
        .labels
        .get("component")
        .and_then(Component::from_program);
    let mut running = containers(spec).filter_map(|c| {
        program_of(&c)
            .and_then(|p| Component::from_program(&p))
            .map(|comp| (comp, c))
    });
    match by_label {
        Some(component) => {
            let container = containers(spec)
                .find(|c| program_of(c).as_deref() == Some(component.program()))
                .or_else(|| containers(spec).find(|c| c.name == component.program()))
                .or_else(|| containers(spec).next())?;
            Some(ComponentPod {
                component,
                pod,
                container,
            })
        }
        None => running.next().map(|(component, container)| ComponentPod {
            component,
            pod,
            container,
        }),
    }
}

/// Every control-plane Pod of the snapshot, by component, in input order.
pub fn component_pods(s: &Snapshot) -> Vec<ComponentPod<'_>> {
    component_pods_kept(s, None).0
}

/// [`component_pods`], with their places in `s.pods`; given the places an earlier call found
/// in `then` (a snapshot whose Pods are still held, so that an address is one object's),
/// only Pods that are not the very same objects at the same places are looked at again:
/// reading each of 150,000 Pods' namespace cost every audit of a large cluster about 7 ms.
pub fn component_pods_kept<'a>(
    s: &'a Snapshot,
    then: Option<(&[usize], &Snapshot)>,
) -> (Vec<ComponentPod<'a>>, Vec<usize>) {
    let mut found = Vec::new();
    let mut places = Vec::new();
    let mut add = |at: usize, pod: &'a Pod| {
        if let Some(c) = component_pod(pod) {
            found.push(c);
            places.push(at);
        }
    };
    match then.filter(|(_, t)| t.pods.len() == s.pods.len()) {
        Some((was, t)) => {
            let mut was = was.iter().copied().peekable();
            for (at, (pod, before)) in s.pods.iter().zip(&t.pods).enumerate() {
                let was_component = was.next_if_eq(&at).is_some();
                if was_component || !Arc::ptr_eq(pod, before) {
                    add(at, pod);
                }
            }
        }
        None => s.pods.iter().enumerate().for_each(|(at, p)| add(at, p)),
    }
    (found, places)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod discovery_tests {
    use super::*;
    use crate::audit::testutil::snapshot;

    #[test]
    fn found_by_label_or_program_in_kube_system_only() {
        let s = snapshot(
            r#"
apiVersion: v1
kind: Pod
metadata: {namespace: kube-system, name: kube-apiserver-cp1, labels: {component: kube-apiserver, tier: control-plane}}
spec: {containers: [{name: kube-apiserver, image: "registry.k8s.io/kube-apiserver:v1.30.4", command: [kube-apiserver, --anonymous-auth=false]}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: kube-system, name: etcd-manual}
spec: {containers: [{name: db, image: "quay.io/coreos/etcd:v3.5.9", command: [/usr/local/bin/etcd, --data-dir=/var/lib/etcd]}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: kube-system, name: old-scheduler}
spec: {containers: [{name: s, command: [/hyperkube, kube-scheduler, --profiling=false]}]}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: app-etcd-0}
spec: {containers: [{name: etcd, command: [etcd]}]}
"#,
        );
        let found: Vec<_> = component_pods(&s)
            .iter()
            .map(|c| (c.component, c.name().to_string()))
            .collect();
        assert_eq!(
            found,
            [
                (Component::ApiServer, "kube-apiserver-cp1".to_string()),
                (Component::Etcd, "etcd-manual".to_string()),
                (Component::Scheduler, "old-scheduler".to_string()),
            ]
        );
    }

    /// Kept places answer as looking at every Pod again: a component replaced by another Pod,
    /// a Pod that became a component, the very same Pods, another number of Pods.
    #[test]
    fn kept_places_answer_as_finding_again() {
        let pod = |ns: &str, name: &str, program: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{namespace: {ns}, name: {name}}}\nspec: {{containers: [{{name: c, command: [{program}]}}]}}\n"
            )
        };
        let load = |pods: &[String]| snapshot(&pods.join("---\n"));
        let first = load(&[
            pod("kube-system", "a", "kube-apiserver"),
            pod("kube-system", "b", "sleep"),
            pod("app", "c", "etcd"),
            pod("kube-system", "d", "etcd"),
        ]);
        let (_, places) = component_pods_kept(&first, None);
        assert_eq!(places, [0, 3]);
        let mut second = first.clone();
        // `b` becomes the scheduler, `d` stops being etcd.
        second.pods[1] = load(&[pod("kube-system", "b", "kube-scheduler")]).pods[0].clone();
        second.pods[3] = load(&[pod("kube-system", "d", "sleep")]).pods[0].clone();
        let shorter = load(&[pod("kube-system", "x", "kube-controller-manager")]);
        for now in [&first, &second, &shorter] {
            let kept = component_pods_kept(now, Some((&places, &first)));
            let again = component_pods_kept(now, None);
            let names = |c: &[ComponentPod]| -> Vec<(Component, String)> {
                c.iter()
                    .map(|c| (c.component, c.name().to_string()))
                    .collect()
            };
            assert_eq!(kept.1, again.1);
            assert_eq!(names(&kept.0), names(&again.0));
        }
        assert_eq!(
            component_pods_kept(&second, Some((&places, &first))).1,
            [0, 1]
        );
    }
}

/// A Kubernetes-style version `vMAJOR.MINOR.PATCH` (pre-release and build suffixes ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    /// `v1.30.4`, `1.30.4`, `v1.30.4-eks-a737599`, `v1.30`: the leading numbers.
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().trim_start_matches('v');
        let core = s.split(['-', '+']).next()?;
        let mut it = core.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next()?.parse().ok()?;
        let patch = it.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        Some(Version {
            major,
            minor,
            patch,
        })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The version in an image tag (`registry.k8s.io/kube-apiserver:v1.30.4`, digests ignored);
/// `None` when the tag is not a version (`latest`, a digest only).
pub fn image_version(image: &str) -> Option<Version> {
    let without_digest = image.split('@').next()?;
    // The tag follows the last ':' after the last '/' (a registry port is not a tag).
    let last = without_digest.rsplit('/').next()?;
    let tag = last.split_once(':')?.1;
    Version::parse(tag)
}

#[cfg(test)]
mod version_tests {
    use super::*;

    #[test]
    fn versions_from_image_tags() {
        let v = |s| image_version(s).map(|v| v.to_string());
        assert_eq!(
            v("registry.k8s.io/kube-apiserver:v1.30.4").as_deref(),
            Some("v1.30.4")
        );
        assert_eq!(
            v("my.registry:5000/kube-apiserver:v1.20.2-custom").as_deref(),
            Some("v1.20.2")
        );
        assert_eq!(
            v("k8s.gcr.io/kube-apiserver:v1.21.0@sha256:abc").as_deref(),
            Some("v1.21.0")
        );
        assert_eq!(v("my.registry:5000/kube-apiserver"), None);
        assert_eq!(v("kube-apiserver:latest"), None);
        assert_eq!(Version::parse("v1.29").map(|v| v.patch), Some(0));
    }
}
