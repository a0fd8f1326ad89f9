//! The admission plugins a kube-apiserver runs, from its flags (checks.md, "Default admission
//! plugins").

use super::flags::Flags;
use std::collections::BTreeSet;

/// Enabled without being named (kube-apiserver's recommended, default-on set).
pub const DEFAULT_PLUGINS: &[&str] = &[
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "TaintNodesByCondition",
    "PodSecurity",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
];

/// The effective plugin set and the flags that made it, for evidence.
#[derive(Clone, Debug)]
pub struct Admission {
    enabled: BTreeSet<String>,
    evidence: Vec<String>,
}

impl Admission {
    pub fn of(flags: &Flags) -> Admission {
        const FLAGS: [&str; 3] = [
            "admission-control",
            "enable-admission-plugins",
            "disable-admission-plugins",
        ];
        let mut evidence: Vec<String> = FLAGS
            .iter()
            .filter(|f| flags.value(f).is_some())
            .map(|f| flags.show(f, None))
            .collect();
        // The deprecated --admission-control is the complete list; the API server refuses it
        // together with --enable/--disable-admission-plugins, so those are not applied to it.
        if let Some(list) = flags.list("admission-control") {
            return Admission {
                enabled: list.into_iter().map(str::to_string).collect(),
                evidence,
            };
        }
        if evidence.is_empty() {
            evidence.push("--enable-admission-plugins: (unset, default plugins only)".into());
        }
        let mut enabled: BTreeSet<String> = DEFAULT_PLUGINS.iter().map(|p| p.to_string()).collect();
        enabled.extend(
            flags
                .list("enable-admission-plugins")
                .unwrap_or_default()
                .into_iter()
                .map(str::to_string),
        );
        // A plugin both enabled and disabled is refused by the API server; counting it as
        // disabled errs towards reporting.
        for p in flags.list("disable-admission-plugins").unwrap_or_default() {
            enabled.remove(p);
        }
        Admission { enabled, evidence }
    }

    /// Plugin names are case-sensitive, as the API server's plugin registry is.
    pub fn is_enabled(&self, plugin: &str) -> bool {
        self.enabled.contains(plugin)
    }

    pub fn evidence(&self) -> Vec<String> {
        self.evidence.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::controlplane::Component;

    fn admission(args: &[&str]) -> Admission {
        Admission::of(&Flags::parse(Component::ApiServer, args, &[]))
    }

    #[test]
    fn defaults_apply_without_flags() {
        let a = admission(&[]);
        assert!(a.is_enabled("ServiceAccount") && a.is_enabled("NamespaceLifecycle"));
        assert!(!a.is_enabled("NodeRestriction") && !a.is_enabled("AlwaysPullImages"));
        assert_eq!(
            a.evidence(),
            ["--enable-admission-plugins: (unset, default plugins only)"]
        );
    }

    #[test]
    fn enable_adds_to_defaults_and_disable_removes() {
        let a = admission(&[
            "--enable-admission-plugins=NodeRestriction,EventRateLimit",
            "--disable-admission-plugins=ServiceAccount,EventRateLimit",
        ]);
        assert!(a.is_enabled("NodeRestriction") && a.is_enabled("NamespaceLifecycle"));
        assert!(!a.is_enabled("ServiceAccount"));
        assert!(!a.is_enabled("EventRateLimit"), "both enabled and disabled");
    }

    #[test]
    fn admission_control_is_the_complete_list() {
        let a = admission(&["--admission-control=NodeRestriction,AlwaysAdmit"]);
        assert!(a.is_enabled("AlwaysAdmit") && a.is_enabled("NodeRestriction"));
        assert!(!a.is_enabled("ServiceAccount") && !a.is_enabled("NamespaceLifecycle"));
        assert_eq!(
            a.evidence(),
            ["--admission-control=NodeRestriction,AlwaysAdmit"]
        );
    }
}
