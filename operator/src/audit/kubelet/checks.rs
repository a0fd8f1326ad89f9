//! KUBELET-001…014 (CIS 4.2): pure functions of one kubelet configuration and the rule its
//! source uses for absent fields. A field the source leaves unknown (k3s/RKE2 overrides)
//! makes its check unknown, never a pass.

use super::config::{Defaults, KubeletConfig, is_zero_duration};
use crate::catalog::CheckId;
use crate::catalog::Severity;

/// Every configuration check, in catalog order.
pub const CONFIG_CHECKS: [CheckId; 14] = [
    CheckId::Kubelet001,
    CheckId::Kubelet002,
    CheckId::Kubelet003,
    CheckId::Kubelet004,
    CheckId::Kubelet005,
    CheckId::Kubelet006,
    CheckId::Kubelet007,
    CheckId::Kubelet008,
    CheckId::Kubelet009,
    CheckId::Kubelet010,
    CheckId::Kubelet011,
    CheckId::Kubelet012,
    CheckId::Kubelet013,
    CheckId::Kubelet014,
];

/// The strong suites of CIS 4.2.12 (ECDHE with AES-GCM or ChaCha20-Poly1305, under both of
/// the names Go accepts for ChaCha20), and the TLS 1.3 suites, which are all AEAD (Go does
/// not let them be configured, but the kubelet accepts their names).
pub const STRONG_CIPHER_SUITES: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// One failed check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub check: CheckId,
    pub severity: Severity,
    /// What is wrong, without the source (the caller names it).
    pub message: String,
    /// The fields as read: `name: value`, or `name: absent (…)` with the default applied.
    pub evidence: Vec<String>,
}

/// What the checks concluded about one configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub failures: Vec<Failure>,
    /// Checks whose fields the source does not give.
    pub unknown: Vec<CheckId>,
}

impl Verdict {
    pub fn failed(&self, check: &str) -> bool {
        self.failures.iter().any(|f| f.check == check)
    }
}

/// Evaluate every configuration check on `raw` (the fields as the source gave them), absent
/// fields read by `defaults`.
pub fn evaluate(raw: &KubeletConfig, defaults: Defaults) -> Verdict {
    let c = raw.with_defaults(defaults);
    let mut v = Verdict::default();
    let how = |present: bool, field: &str, value: String| -> String {
        if present {
            format!("{field}: {value}")
        } else {
            let rule = match defaults {
                Defaults::ConfigFile => "the config-file default",
                Defaults::GoZero => "the Go zero value (configz)",
                Defaults::FlagsOnly => "the flag default",
                Defaults::Unknown => "unknown",
            };
            format!("{field}: absent, so {value} ({rule})")
        }
    };
    let mut fail = |check: CheckId, severity: Severity, message: String, ev: Vec<String>| {
        v.failures.push(Failure {
            check,
            severity,
            message,
            evidence: ev,
        })
    };
    let mut unknown = Vec::new();

    // KUBELET-002 first: KUBELET-001's severity depends on it.
    let always_allow = c.authorization_mode.as_deref().map(|m| m == "AlwaysAllow");
    let anonymous = c.anonymous_auth;
    match always_allow {
        None => unknown.push(CheckId::Kubelet002),
        Some(false) => {}
        Some(true) => {
            // Critical when anyone (anonymous) or any token the webhook accepts gets in
            // unchecked; unknown counts as on.
            let open = anonymous != Some(false) || c.webhook_authn != Some(false);
            fail(
                CheckId::Kubelet002,
                if open {
                    Severity::Critical
                } else {
                    Severity::High
                },
                format!(
                    "the kubelet authorizes every request (AlwaysAllow){}",
                    match (anonymous, c.webhook_authn) {
                        (Some(true), _) => ", anonymous requests included",
                        (_, Some(true)) => ", for any token the API server accepts",
                        _ => "",
                    }
                ),
                vec![
                    how(
                        raw.authorization_mode.is_some(),
                        "authorization.mode",
                        "AlwaysAllow".into(),
                    ),
                    how(
                        raw.anonymous_auth.is_some(),
                        "authentication.anonymous.enabled",
                        opt(anonymous),
                    ),
                    how(
                        raw.webhook_authn.is_some(),
                        "authentication.webhook.enabled",
                        opt(c.webhook_authn),
                    ),
                ],
            );
        }
    }
    match anonymous {
        None => unknown.push(CheckId::Kubelet001),
        Some(false) => {}
        Some(true) => fail(
            CheckId::Kubelet001,
            if always_allow == Some(true) {
                Severity::Critical
            } else {
                Severity::High
            },
            "the kubelet accepts anonymous requests".into(),
            vec![how(
                raw.anonymous_auth.is_some(),
                "authentication.anonymous.enabled",
                "true".into(),
            )],
        ),
    }
    match c.client_ca_file.as_deref() {
        None => unknown.push(CheckId::Kubelet003),
        Some(f) if !f.trim().is_empty() => {}
        Some(_) => fail(
            CheckId::Kubelet003,
            Severity::Medium,
            "the kubelet has no client CA: it cannot authenticate clients by certificate".into(),
            vec![how(
                raw.client_ca_file.is_some(),
                "authentication.x509.clientCAFile",
                "\"\"".into(),
            )],
        ),
    }
    match c.read_only_port {
        None => unknown.push(CheckId::Kubelet004),
        Some(0) => {}
        Some(p) => fail(
            CheckId::Kubelet004,
            Severity::High,
            format!(
                "the kubelet serves its unauthenticated read-only port {p} (pods, node and metrics data to anyone who reaches it)"
            ),
            vec![how(
                raw.read_only_port.is_some(),
                "readOnlyPort",
                p.to_string(),
            )],
        ),
    }
    match c.streaming_connection_idle_timeout.as_deref() {
        None => unknown.push(CheckId::Kubelet005),
        Some(d) if !is_zero_duration(d) => {}
        Some(d) => fail(
            CheckId::Kubelet005,
            Severity::Low,
            "streaming connections (exec, attach, port-forward) never time out".into(),
            vec![how(
                raw.streaming_connection_idle_timeout.is_some(),
                "streamingConnectionIdleTimeout",
                d.to_string(),
            )],
        ),
    }
    match c.make_iptables_util_chains {
        None => unknown.push(CheckId::Kubelet006),
        Some(true) => {}
        Some(false) => fail(
            CheckId::Kubelet006,
            Severity::Low,
            "the kubelet does not manage its iptables utility chains".into(),
            vec![how(
                raw.make_iptables_util_chains.is_some(),
                "makeIPTablesUtilChains",
                "false".into(),
            )],
        ),
    }
    let set = |f: &Option<String>| f.as_deref().map(|s| !s.trim().is_empty());
    match (
        set(&c.tls_cert_file),
        set(&c.tls_private_key_file),
        c.server_tls_bootstrap,
    ) {
        (_, _, Some(true)) | (Some(true), Some(true), _) => {}
        (Some(_), Some(_), Some(false)) => fail(
            CheckId::Kubelet007,
            Severity::Medium,
            "the kubelet serves a self-signed certificate: no tlsCertFile/tlsPrivateKeyFile pair and no serverTLSBootstrap".into(),
            vec![
                how(raw.tls_cert_file.is_some(), "tlsCertFile", shown(&c.tls_cert_file)),
                how(
                    raw.tls_private_key_file.is_some(),
                    "tlsPrivateKeyFile",
                    shown(&c.tls_private_key_file),
                ),
                how(raw.server_tls_bootstrap.is_some(), "serverTLSBootstrap", "false".into()),
            ],
        ),
        _ => unknown.push(CheckId::Kubelet007),
    }
    match c.rotate_certificates {
        None => unknown.push(CheckId::Kubelet008),
        Some(true) => {}
        Some(false) => fail(
            CheckId::Kubelet008,
            Severity::Medium,
            "the kubelet does not rotate its client certificate".into(),
            vec![how(
                raw.rotate_certificates.is_some(),
                "rotateCertificates",
                "false".into(),
            )],
        ),
    }
    match c.feature_gates.as_ref() {
        None => unknown.push(CheckId::Kubelet009),
        Some(g) if g.get("RotateKubeletServerCertificate") == Some(&false) => fail(
            CheckId::Kubelet009,
            Severity::Medium,
            "server certificate rotation is turned off (feature gate RotateKubeletServerCertificate=false)".into(),
            vec!["featureGates.RotateKubeletServerCertificate: false".into()],
        ),
        Some(_) => {}
    }
    match (c.tls_cipher_suites.as_ref(), c.tls_min_version.as_deref()) {
        (Some(suites), Some(min)) => {
            let weak: Vec<&str> = suites
                .iter()
                .map(String::as_str)
                .filter(|s| !STRONG_CIPHER_SUITES.contains(s))
                .collect();
            let old = matches!(min, "VersionTLS10" | "VersionTLS11");
            if !weak.is_empty() || old {
                let mut ev = Vec::new();
                let mut what = Vec::new();
                if !weak.is_empty() {
                    what.push(format!("weak cipher suites ({})", weak.join(", ")));
                    ev.push(format!("tlsCipherSuites: {}", suites.join(",")));
                }
                if old {
                    what.push(format!("TLS older than 1.2 ({min})"));
                    ev.push(format!("tlsMinVersion: {min}"));
                }
                fail(
                    CheckId::Kubelet010,
                    Severity::Medium,
                    format!("the kubelet's TLS server allows {}", what.join(" and ")),
                    ev,
                );
            }
        }
        _ => unknown.push(CheckId::Kubelet010),
    }
    match c.pod_pids_limit {
        None => unknown.push(CheckId::Kubelet011),
        Some(n) if n > 0 => {}
        Some(n) => fail(
            CheckId::Kubelet011,
            Severity::Low,
            "pods have no process limit: one pod can exhaust the node's PIDs (fork bomb)".into(),
            vec![how(
                raw.pod_pids_limit.is_some(),
                "podPidsLimit",
                n.to_string(),
            )],
        ),
    }
    match c.seccomp_default {
        None => unknown.push(CheckId::Kubelet012),
        Some(true) => {}
        Some(false) => fail(
            CheckId::Kubelet012,
            Severity::Low,
            "containers without a seccomp profile run unconfined (seccompDefault is off)".into(),
            vec![how(
                raw.seccomp_default.is_some(),
                "seccompDefault",
                "false".into(),
            )],
        ),
    }
    match c.protect_kernel_defaults {
        None => unknown.push(CheckId::Kubelet013),
        Some(true) => {}
        Some(false) => fail(
            CheckId::Kubelet013,
            Severity::Low,
            "the kubelet may change kernel tunables instead of refusing to start with unexpected ones".into(),
            vec![how(
                raw.protect_kernel_defaults.is_some(),
                "protectKernelDefaults",
                "false".into(),
            )],
        ),
    }
    match c.enable_system_log_query {
        None => unknown.push(CheckId::Kubelet014),
        Some(false) => {}
        Some(true) => fail(
            CheckId::Kubelet014,
            Severity::Low,
            "the kubelet answers queries of the node's system logs (/logs/?query=)".into(),
            vec![how(
                raw.enable_system_log_query.is_some(),
                "enableSystemLogQuery",
                "true".into(),
            )],
        ),
    }
    v.unknown = unknown;
    v.unknown.sort_unstable();
    v.failures.sort_by_key(|f| f.check.as_str());
    v
}

fn opt(b: Option<bool>) -> String {
    b.map_or("unknown".to_string(), |b| b.to_string())
}

fn shown(s: &Option<String>) -> String {
    match s.as_deref() {
        None => "unknown".into(),
        Some("") => "\"\"".into(),
        Some(s) => s.to_string(),
    }
}
