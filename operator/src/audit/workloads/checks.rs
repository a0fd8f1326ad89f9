//! WL-001…WL-013: workload hardening, one finding per (check, workload) naming the
//! containers concerned. Control-plane Pods are exempt (they are audited by their flags).

use super::{ContainerRef, Workload, containers};
use crate::audit::images::ImageConfig;
use crate::audit::{Ctx, Finding, ObjectRef, Sink, bounds};
use crate::catalog::Severity;
use crate::model::PodSpec;
use crate::policy::EffectivePolicy;
use crate::snapshot::ObjectKind;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::SeccompProfile;

/// ServiceAccounts whose tokens carry high or critical RBAC power (for WL-010), from the RBAC
/// findings as the policy judges them: severity overrides applied, waived ones left out. Only
/// findings about the ServiceAccount itself count (as a binding's subject, or as the start of an
/// escalation path): a grant to a group (`system:authenticated`, `system:serviceaccounts`) is
/// reported once on its binding, not again on every workload in the cluster.
#[derive(Debug, Default)]
pub struct PowerfulAccounts {
    /// (namespace, name) → the first finding that makes it powerful, for evidence.
    accounts: std::collections::HashMap<(String, String), String>,
}

impl PowerfulAccounts {
    pub fn from_rbac(
        policy: &EffectivePolicy,
        now: Timestamp,
        findings: &[Finding],
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
            let Some(s) = f.subject.as_ref().filter(|s| s.kind == "ServiceAccount") else {
                continue;
            };
            let Some(ns) = s.namespace.as_deref() else {
                continue;
            };
            p.accounts
                .entry((ns.to_string(), s.name.clone()))
                .or_insert_with(|| {
                    format!("{} on {} {}", f.check, f.resource.kind, f.resource.name)
                });
        }
        p
    }

    /// Why a ServiceAccount is powerful, if it is.
    pub fn reason(&self, ns: &str, name: &str) -> Option<&str> {
        self.accounts
            .get(&(ns.to_string(), name.to_string()))
            .map(String::as_str)
    }
}

fn edit_command(w: &Workload) -> String {
    format!(
        "kubectl edit {} {} -n {}",
        w.kind.name().to_lowercase(),
        w.name,
        w.namespace
    )
}

/// A finding about a workload, naming its containers.
fn wl_finding(
    check: &'static str,
    w: &Workload,
    containers: &[&str],
    what: &str,
    fix: &str,
) -> Finding {
    let mut message = format!("{w} {what}");
    if !containers.is_empty() {
        message.push_str(": ");
        let room = bounds::MAX_MESSAGE.saturating_sub(message.len());
        message.push_str(&bounds::join_names(containers, ", ", room));
    }
    Finding::new(check, w.object_ref(), message)
        .container(containers)
        .remediation(format!("{fix} ({})", edit_command(w)))
}

/// Containers for which `test` holds.
fn which<'a>(spec: &'a PodSpec, mut test: impl FnMut(&ContainerRef<'a>) -> bool) -> Vec<&'a str> {
    containers(spec)
        .filter(|c| test(c))
        .map(|c| c.name)
        .collect()
}

/// The kinds that carry pod specs, and the Namespaces WL-013 reads.
const WORKLOAD_INPUTS: [ObjectKind; 9] = [
    ObjectKind::Pod,
    ObjectKind::Deployment,
    ObjectKind::StatefulSet,
    ObjectKind::DaemonSet,
    ObjectKind::ReplicaSet,
    ObjectKind::ReplicationController,
    ObjectKind::Job,
    ObjectKind::CronJob,
    ObjectKind::Namespace,
];

/// What WL-010 reads besides the workloads: the RBAC objects that make an account powerful.
const RBAC_INPUTS: [ObjectKind; 4] = [
    ObjectKind::Role,
    ObjectKind::ClusterRole,
    ObjectKind::RoleBinding,
    ObjectKind::ClusterRoleBinding,
];

pub fn audit(ctx: &Ctx, powerful: &PowerfulAccounts, sink: &mut Sink) {
    if crate::catalog::CHECKS
        .iter()
        .any(|c| c.category == crate::catalog::Category::Workload && ctx.enabled(c.id))
    {
        for kind in WORKLOAD_INPUTS {
            // A manifest directory without bare Pods is complete for the workload checks: its
            // controllers are audited through their templates.
            if kind == ObjectKind::Pod && ctx.snapshot.is_absent(kind) {
                continue;
            }
            if let Some(reason) = ctx.snapshot.unavailable(kind) {
                let reason = format!("cannot read {}: {reason}", kind.plural());
                let category = crate::catalog::Category::Workload;
                match kind {
                    // Namespaces only matter to the namespace check.
                    ObjectKind::Namespace => {
                        sink.not_assessed_checks(category, reason, &["WL-013"])
                    }
                    _ => sink.not_assessed(category, reason),
                }
            }
        }
        // WL-010 judges ServiceAccounts by their RBAC power.
        for kind in RBAC_INPUTS {
            if let Some(reason) = ctx.snapshot.unavailable(kind) {
                sink.not_assessed_checks(
                    crate::catalog::Category::Workload,
                    format!("cannot read {}: {reason}", kind.plural()),
                    &["WL-010"],
                );
            }
        }
    }
    for w in &ctx.workloads {
        if ctx.is_control_plane(w) {
            continue;
        }
        let spec = w.spec;
        let e = |id| ctx.enabled(id);
        if e("WL-001") {
            let c = which(spec, |c| {
                c.security_context.and_then(|s| s.privileged) == Some(true)
            });
            if !c.is_empty() {
                sink.push(wl_finding("WL-001", w, &c, "runs privileged containers", "Remove securityContext.privileged (or set it to false) in each container named"));
            }
        }
        if e("WL-002") {
            host_namespaces(w, sink);
        }
        if e("WL-003") {
            host_paths(w, sink);
        }
        if e("WL-004") {
            capabilities_added(w, sink);
        }
        if e("WL-005") {
            runs_as_root(ctx, w, sink);
        }
        if e("WL-006") {
            let c = which(spec, |c| {
                c.security_context
                    .and_then(|s| s.allow_privilege_escalation)
                    != Some(false)
            });
            if !c.is_empty() {
                sink.push(wl_finding(
                    "WL-006",
                    w,
                    &c,
                    "allows privilege escalation in containers",
                    "Set securityContext.allowPrivilegeEscalation: false in each container named",
                ));
            }
        }
        if e("WL-007") {
            let c = which(spec, |c| {
                !c.security_context
                    .and_then(|s| s.capabilities.as_ref())
                    .and_then(|caps| caps.drop.as_ref())
                    .is_some_and(|d| d.iter().any(|x| x.eq_ignore_ascii_case("ALL")))
            });
            if !c.is_empty() {
                sink.push(wl_finding(
                    "WL-007",
                    w,
                    &c,
                    "does not drop all capabilities in containers",
                    "Set securityContext.capabilities.drop: [ALL] in each container named",
                ));
            }
        }
        if e("WL-008") {
            let c = which(spec, |c| {
                !matches!(
                    seccomp_of(w, c).as_deref(),
                    Some("RuntimeDefault" | "Localhost")
                )
            });
            if !c.is_empty() {
                sink.push(wl_finding(
                    "WL-008",
                    w,
                    &c,
                    "has no RuntimeDefault or Localhost seccomp profile for containers",
                    "Set spec.securityContext.seccompProfile.type: RuntimeDefault",
                ));
            }
        }
        if e("WL-009") {
            let c = which(spec, |c| {
                c.security_context.and_then(|s| s.read_only_root_filesystem) != Some(true)
            });
            if !c.is_empty() {
                sink.push(wl_finding("WL-009", w, &c, "has a writable root filesystem in containers", "Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the container writes"));
            }
        }
        if e("WL-010") {
            powerful_token(ctx, w, powerful, sink);
        }
        if e("WL-011") {
            let c = which(spec, |c| {
                c.ports.iter().any(|p| p.host_port.is_some_and(|h| h != 0))
            });
            if !c.is_empty() {
                let ports: Vec<String> = containers(spec)
                    .flat_map(|c| {
                        c.ports.iter().filter_map(move |p| {
                            p.host_port
                                .filter(|h| *h != 0)
                                .map(|h| format!("{}: hostPort {h}", c.name))
                        })
                    })
                    .collect();
                sink.push(
                    wl_finding(
                        "WL-011",
                        w,
                        &c,
                        "exposes containers on the node's address (hostPort)",
                        "Remove hostPort and expose the container through a Service",
                    )
                    .evidence(ports),
                );
            }
        }
        if e("WL-012") {
            escape_hatches(w, sink);
        }
    }
    if ctx.enabled("WL-013") {
        unenforced_namespaces(ctx, sink);
    }
}

fn host_namespaces(w: &Workload, sink: &mut Sink) {
    let s = w.spec;
    let set: Vec<&str> = [
        ("hostPID", s.host_pid),
        ("hostIPC", s.host_ipc),
        ("hostNetwork", s.host_network),
    ]
    .into_iter()
    .filter(|(_, v)| *v == Some(true))
    .map(|(k, _)| k)
    .collect();
    if !set.is_empty() {
        sink.push(
            wl_finding(
                "WL-002",
                w,
                &[],
                &format!("shares the node's namespaces ({})", set.join(", ")),
                &format!("Set {} to false", set.join(", ")),
            )
            .evidence(set.iter().map(|k| format!("spec.{k}: true"))),
        );
    }
}

/// Lexical normalisation: `//` and `.` removed, `..` resolved, no trailing `/`.
pub fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

fn is_or_under(path: &str, base: &str) -> bool {
    path == base
        || (base == "/" && path.starts_with('/'))
        || path.strip_prefix(base).is_some_and(|r| r.starts_with('/'))
}

/// Container runtime sockets and their directories: mounting any of them (or a directory that
/// holds them, such as `/run` or `/var/run`) hands over every container on the node.
const RUNTIME_SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/dockershim.sock",
    "/var/run/cri-dockerd.sock",
    "/run/cri-dockerd.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/run/k3s/containerd/containerd.sock",
    "/var/run/docker",
    "/run/docker",
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio",
    "/run/crio",
    "/run/k3s/containerd",
];
const SENSITIVE_DIRS: &[&str] = &[
    "/etc",
    "/proc",
    "/sys",
    "/root",
    "/home",
    "/boot",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
];

/// WL-003's verdict on a hostPath: critical for a runtime socket, its directory, anything
/// under those, or a directory holding them (but `/`); high for `/` and the system paths.
pub fn host_path_severity(path: &str) -> Option<Severity> {
    let p = normalize_path(path);
    let runtime = RUNTIME_SOCKETS
        .iter()
        .any(|s| is_or_under(&p, s) || (p != "/" && is_or_under(s, &p)));
    if runtime {
        return Some(Severity::Critical);
    }
    if p == "/" || SENSITIVE_DIRS.iter().any(|d| is_or_under(&p, d)) {
        return Some(Severity::High);
    }
    None
}

fn host_paths(w: &Workload, sink: &mut Sink) {
    let mut worst: Option<Severity> = None;
    let mut evidence = Vec::new();
    let mut names = Vec::new();
    for v in w.spec.volumes.iter().flatten() {
        let Some(hp) = v.host_path.as_ref() else {
            continue;
        };
        if let Some(sev) = host_path_severity(&hp.path) {
            worst = worst.max(Some(sev));
            evidence.push(format!("volume {}: hostPath {}", v.name, hp.path));
            names.push(v.name.as_str());
        }
    }
    let Some(sev) = worst else { return };
    // The containers that mount those volumes.
    let mounting: Vec<&str> = containers(w.spec)
        .filter(|c| {
            w.spec
                .containers
                .iter()
                .chain(w.spec.init_containers.iter().flatten())
                .find(|x| x.name == c.name)
                .and_then(|x| x.volume_mounts.as_ref())
                .is_some_and(|m| m.iter().any(|m| names.contains(&m.name.as_str())))
        })
        .map(|c| c.name)
        .collect();
    let mut f = wl_finding(
        "WL-003",
        w,
        &mounting,
        &format!(
            "mounts sensitive host paths ({})",
            evidence
                .iter()
                .map(|e| e.rsplit(' ').next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "Remove the hostPath volume, or mount a narrower, read-only path",
    )
    .evidence(evidence);
    if sev == Severity::High {
        f = f.reduced();
    }
    sink.push(f);
}

/// PSS baseline's allowed added capabilities.
const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_added(w: &Workload, sink: &mut Sink) {
    let mut names = Vec::new();
    let mut evidence = Vec::new();
    for c in containers(w.spec) {
        let added = c
            .security_context
            .and_then(|s| s.capabilities.as_ref())
            .and_then(|caps| caps.add.as_ref());
        let bad: Vec<&String> = added
            .into_iter()
            .flatten()
            .filter(|cap| {
                let upper = cap.to_ascii_uppercase();
                let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
                !BASELINE_CAPABILITIES.contains(&bare)
            })
            .collect();
        if !bad.is_empty() {
            names.push(c.name);
            evidence.push(format!(
                "{}: capabilities.add {}",
                c.name,
                bad.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if !names.is_empty() {
        sink.push(
            wl_finding("WL-004", w, &names, "adds dangerous capabilities to containers", "Remove the capabilities from securityContext.capabilities.add in each container named")
                .evidence(evidence),
        );
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

fn runs_as_root(ctx: &Ctx, w: &Workload, sink: &mut Sink) {
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
        let mut f = wl_finding("WL-005", w, &names, "may run containers as root", "Set securityContext.runAsNonRoot: true and a non-zero runAsUser (pod-wide or per container)")
            .evidence(evidence);
        // Every image runs as a non-root user: root needs the pod spec and the image to change.
        if image_non_root.iter().all(|&n| n) {
            f.severity = Severity::Low;
        }
        sink.push(f);
    }
}

/// The effective seccomp profile type of a container: its own, else the pod's; the legacy
/// annotations (before 1.19 fields) count too.
pub fn seccomp_of(w: &Workload, c: &ContainerRef) -> Option<String> {
    let field = |p: Option<&SeccompProfile>| p.map(|p| p.type_.clone());
    if let Some(t) = field(c.security_context.and_then(|s| s.seccomp_profile.as_ref())) {
        return Some(t);
    }
    let ann = w.pod_meta.and_then(|m| m.annotations.as_ref());
    if let Some(a) = ann.and_then(|a| {
        a.get(&format!(
            "container.seccomp.security.alpha.kubernetes.io/{}",
            c.name
        ))
    }) {
        return Some(legacy_seccomp(a));
    }
    if let Some(t) = field(
        w.spec
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref()),
    ) {
        return Some(t);
    }
    ann.and_then(|a| a.get("seccomp.security.alpha.kubernetes.io/pod"))
        .map(|a| legacy_seccomp(a))
}

fn legacy_seccomp(v: &str) -> String {
    match v {
        "runtime/default" | "docker/default" => "RuntimeDefault".into(),
        "unconfined" => "Unconfined".into(),
        v if v.starts_with("localhost/") => "Localhost".into(),
        other => other.to_string(),
    }
}

fn powerful_token(ctx: &Ctx, w: &Workload, powerful: &PowerfulAccounts, sink: &mut Sink) {
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
            "WL-010",
            w.object_ref(),
            format!("{w} mounts the token of ServiceAccount {}/{sa}, which has high or critical RBAC power", w.namespace),
        )
        .evidence([
            format!("serviceAccountName: {sa}"),
            format!("RBAC: {reason}"),
            "automountServiceAccountToken is not false (pod, then ServiceAccount)".to_string(),
        ])
        .remediation(format!(
            "Set automountServiceAccountToken: false in the pod spec if the workload does not call the API, or reduce ServiceAccount {}/{sa}'s permissions ({})",
            w.namespace,
            edit_command(w)
        )),
    );
}

/// PSS baseline's safe sysctls.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

fn escape_hatches(w: &Workload, sink: &mut Sink) {
    let mut evidence = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let pod_sc = w.spec.security_context.as_ref();
    if pod_sc
        .and_then(|s| s.seccomp_profile.as_ref())
        .is_some_and(|p| p.type_ == "Unconfined")
    {
        evidence.push("spec.securityContext.seccompProfile.type: Unconfined".to_string());
    }
    if pod_sc
        .and_then(|s| s.app_armor_profile.as_ref())
        .is_some_and(|p| p.type_ == "Unconfined")
    {
        evidence.push("spec.securityContext.appArmorProfile.type: Unconfined".to_string());
    }
    let ann = w.pod_meta.and_then(|m| m.annotations.as_ref());
    if ann
        .and_then(|a| a.get("seccomp.security.alpha.kubernetes.io/pod"))
        .is_some_and(|v| v == "unconfined")
    {
        evidence
            .push("annotation seccomp.security.alpha.kubernetes.io/pod: unconfined".to_string());
    }
    for sysctl in pod_sc
        .and_then(|s| s.sysctls.as_ref())
        .into_iter()
        .flatten()
    {
        if !SAFE_SYSCTLS.contains(&sysctl.name.as_str()) {
            evidence.push(format!(
                "sysctl {}={} is not in the safe set",
                sysctl.name, sysctl.value
            ));
        }
    }
    for c in containers(w.spec) {
        let before = evidence.len();
        let sc = c.security_context;
        if sc
            .and_then(|s| s.seccomp_profile.as_ref())
            .is_some_and(|p| p.type_ == "Unconfined")
        {
            evidence.push(format!("{}: seccompProfile.type: Unconfined", c.name));
        }
        if sc
            .and_then(|s| s.app_armor_profile.as_ref())
            .is_some_and(|p| p.type_ == "Unconfined")
        {
            evidence.push(format!("{}: appArmorProfile.type: Unconfined", c.name));
        }
        if sc.and_then(|s| s.proc_mount.as_deref()) == Some("Unmasked") {
            evidence.push(format!("{}: procMount: Unmasked", c.name));
        }
        for (key, label) in [
            (
                format!("container.apparmor.security.beta.kubernetes.io/{}", c.name),
                "AppArmor",
            ),
            (
                format!("container.seccomp.security.alpha.kubernetes.io/{}", c.name),
                "seccomp",
            ),
        ] {
            if ann
                .and_then(|a| a.get(&key))
                .is_some_and(|v| v == "unconfined")
            {
                evidence.push(format!("{}: {label} annotation unconfined", c.name));
            }
        }
        if evidence.len() > before {
            names.push(c.name);
        }
    }
    if !evidence.is_empty() {
        sink.push(
            wl_finding(
                "WL-012",
                w,
                &names,
                "disables a baseline security control",
                "Remove the Unconfined profile, procMount: Unmasked or the unsafe sysctl",
            )
            .evidence(evidence),
        );
    }
}

pub const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];
const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

/// The Namespaces WL-013 reports (the system ones aside), with what is wrong and the label's
/// value: the paths across layers (XL-003) read them whatever the policy enables.
pub fn namespaces_without_pod_security(
    s: &crate::snapshot::Snapshot,
) -> Vec<(&str, &'static str, Option<&str>)> {
    s.namespaces
        .iter()
        .filter_map(|ns| {
            let name = ns.metadata.name.as_deref()?;
            if SYSTEM_NAMESPACES.contains(&name) {
                return None;
            }
            let level = ns
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(ENFORCE))
                .map(String::as_str);
            let problem = match level {
                None => "has no pod-security.kubernetes.io/enforce label",
                Some("privileged") => {
                    "enforces the privileged Pod Security level (anything is admitted)"
                }
                Some(_) => return None,
            };
            Some((name, problem, level))
        })
        .collect()
}

fn unenforced_namespaces(ctx: &Ctx, sink: &mut Sink) {
    for (name, problem, level) in namespaces_without_pod_security(ctx.snapshot) {
        sink.push(
            Finding::new(
                "WL-013",
                ObjectRef::new(ObjectKind::Namespace, None, name),
                format!("Namespace {name} {problem}"),
            )
            .evidence([format!("{ENFORCE}: {}", level.unwrap_or("(unset)"))])
            .remediation(format!(
                "kubectl label --overwrite namespace {name} {ENFORCE}=baseline (or restricted); check first with --dry-run=server"
            )),
        );
    }
}
