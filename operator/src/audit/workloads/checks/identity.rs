//! Who a container runs as: WL-005 root, WL-010 powerful ServiceAccount tokens.

use super::wl_finding;
use crate::audit::images::ImageConfig;
use crate::audit::workloads::{ContainerRef, Workload, containers};
use crate::audit::{Ctx, Finding, Sink};
use crate::catalog::CheckId;
use crate::catalog::Severity;
use crate::policy::EffectivePolicy;
use foldhash::fast::FixedState;
use hashbrown::HashTable;
use jiff::Timestamp;
use std::hash::BuildHasher;
use std::sync::Arc;

/// ServiceAccounts whose tokens carry high or critical RBAC power (for WL-010), from the RBAC
/// findings as the policy judges them: severity overrides applied, waived ones left out. Only
/// findings about the ServiceAccount itself count (as a binding's subject, or as the start of an
/// escalation path): a grant to a group (`system:authenticated`, `system:serviceaccounts`) is
/// reported once on its binding, not again on every workload in the cluster.
#[derive(Debug, Default)]
pub struct PowerfulAccounts {
    /// The first finding that makes each account powerful (for evidence), found by its
    /// subject's namespace and name: nothing is copied or formatted per account (a large
    /// cluster's tens of thousands of RBAC findings are read each time RBAC changes, and the
    /// workloads ask it by borrowed names).
    accounts: HashTable<Arc<Finding>>,
}

/// A ServiceAccount subject's (namespace, name).
fn account(f: &Finding) -> Option<(&str, &str)> {
    let s = f.subject.as_ref().filter(|s| s.kind == "ServiceAccount")?;
    Some((s.namespace.as_deref()?, s.name.as_str()))
}

fn account_hash(key: (&str, &str)) -> u64 {
    FixedState::default().hash_one(key)
}

/// What makes an account powerful, as WL-010's evidence says it: `RBAC-001 on
/// ClusterRoleBinding x`.
pub struct Reason<'a>(&'a Finding);

impl std::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.0.resource;
        write!(f, "{} on {} {}", self.0.check, r.kind, r.name)
    }
}

impl Reason<'_> {
    fn key(&self) -> (CheckId, &str, &str) {
        (self.0.check, &self.0.resource.kind, &self.0.resource.name)
    }
}

/// The same accounts, each for the same reason (what WL-010 would say of them).
impl PartialEq for PowerfulAccounts {
    fn eq(&self, other: &Self) -> bool {
        self.accounts.len() == other.accounts.len()
            && self.accounts.iter().all(|f| {
                account(f).is_some_and(|(ns, name)| {
                    other
                        .reason(ns, name)
                        .is_some_and(|r| r.key() == Reason(f).key())
                })
            })
    }
}

impl PowerfulAccounts {
    pub fn from_rbac(
        policy: &EffectivePolicy,
        now: Timestamp,
        findings: &[Arc<Finding>],
    ) -> PowerfulAccounts {
        let mut p = PowerfulAccounts::default();
        for f in findings
            .iter()
            .filter(|f| f.category == crate::catalog::Category::Rbac)
        {
            if policy.severity_of(f.check, f.severity) < Severity::High {
                continue;
            }
            let waived = policy
                .waiver(
                    now,
                    f.check,
                    &f.resource.kind,
                    f.resource.namespace.as_deref(),
                    &f.resource.name,
                )
                .is_some();
            if waived {
                continue;
            }
            let Some(key) = account(f) else {
                continue;
            };
            let hash = account_hash(key);
            if p.accounts.find(hash, |g| account(g) == Some(key)).is_none() {
                p.accounts.insert_unique(hash, f.clone(), |g| {
                    account_hash(account(g).unwrap_or_default())
                });
            }
        }
        p
    }

    /// Why a ServiceAccount is powerful, if it is.
    pub fn reason(&self, ns: &str, name: &str) -> Option<Reason<'_>> {
        let key = (ns, name);
        self.accounts
            .find(account_hash(key), |g| account(g) == Some(key))
            .map(|f| Reason(f))
    }
}

/// Why WL-005 says a container may run as root, if it does.
pub fn root_reason(w: &Workload, c: &ContainerRef) -> Option<&'static str> {
    let pod = w.spec.security_context.as_ref();
    let sc = c.security_context;
    let user = sc
        .and_then(|s| s.run_as_user)
        .or(pod.and_then(|p| p.run_as_user));
    let non_root = sc
        .and_then(|s| s.run_as_non_root)
        .or(pod.and_then(|p| p.run_as_non_root));
    match (user, non_root) {
        (Some(0), _) => Some("runAsUser: 0"),
        (None, Some(true)) | (Some(_), _) => None,
        (None, _) => Some("no runAsUser and runAsNonRoot not true"),
    }
}

pub(super) fn runs_as_root(ctx: &Ctx, w: &Workload, sink: &mut Sink) {
    if w.spec.is_windows() {
        return;
    }
    let mut names = Vec::new();
    let mut evidence = Vec::new();
    // With image inspection (spec.images.inspect), whether each image sets a non-root USER.
    let mut image_non_root = Vec::new();
    for c in containers(w.spec) {
        let Some(why) = root_reason(w, &c) else {
            continue;
        };
        names.push(c.name);
        let image = crate::audit::images::inspected(ctx, w, &c);
        let runs_as_root = image.and_then(|i| i.runs_as_root());
        image_non_root.push(why != "runAsUser: 0" && runs_as_root == Some(false));
        evidence.push(match (image, runs_as_root) {
            (Some(ImageConfig::User(u)), Some(false)) => format!(
                "{}: {why}; image sets USER {u} but the pod does not require non-root",
                c.name
            ),
            (Some(ImageConfig::User(u)), Some(true)) => format!(
                "{}: {why}; image runs as root by default (config.User {})",
                c.name,
                if u.is_empty() {
                    "empty".to_string()
                } else {
                    u.clone()
                }
            ),
            _ => format!("{}: {why}", c.name),
        });
    }
    if !names.is_empty() {
        let mut f =
            wl_finding(CheckId::Wl005, w, &names, "may run containers as root").evidence(evidence);
        // Every image runs as a non-root user: root needs the pod spec and the image to change.
        if image_non_root.iter().all(|&n| n) {
            f.severity = Severity::Low;
        }
        sink.push(f);
    }
}

pub(super) fn powerful_token(
    ctx: &Ctx,
    w: &Workload,
    powerful: &PowerfulAccounts,
    sink: &mut Sink,
) {
    let sa = w
        .spec
        .service_account_name
        .as_deref()
        .or(w.spec.service_account.as_deref())
        .filter(|s| !s.is_empty())
        .unwrap_or("default");
    let Some(reason) = powerful.reason(w.namespace, sa) else {
        return;
    };
    let sa_automount = ctx
        .snapshot
        .service_accounts
        .iter()
        .find(|s| {
            s.metadata.namespace.as_deref() == Some(w.namespace)
                && s.metadata.name.as_deref() == Some(sa)
        })
        .and_then(|s| s.automount_service_account_token);
    let mounted = w
        .spec
        .automount_service_account_token
        .or(sa_automount)
        .unwrap_or(true);
    if !mounted {
        return;
    }
    sink.push(
        Finding::new(
            CheckId::Wl010,
            w.object_ref(),
            format!("{w} mounts the token of ServiceAccount {}/{sa}, which has high or critical RBAC power", w.namespace),
        )
        .evidence([
            format!("serviceAccountName: {sa}"),
            format!("RBAC: {reason}"),
            "automountServiceAccountToken is not false (pod, then ServiceAccount)".to_string(),
        ])
        .fill(&[
            ("account", &format!("{}/{sa}", w.namespace)),
            ("edit", &w.edit_command()),
        ]),
    );
}
