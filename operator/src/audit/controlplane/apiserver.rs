//! API-001…API-032 (API-033 is a live probe, elsewhere): the kube-apiserver's flags, CIS 1.2.
//! API-023, API-026 and API-027 are about etcd (category `etcd`) but read the same flags.

use super::Version;
use super::admission::Admission;
use super::instance::{FlagCheck, Instance, Rule, run_flag_checks};
use crate::audit::{Ctx, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;

const FLAG_CHECKS: &[FlagCheck] = &[
    FlagCheck {
        id: CheckId::Api002,
        rule: Rule::Forbidden("token-auth-file"),
        problem: "accepts static tokens from a file",
    },
    FlagCheck {
        id: CheckId::Api004,
        rule: Rule::Required(&["kubelet-client-certificate", "kubelet-client-key"]),
        problem: "has no client certificate for kubelets",
    },
    FlagCheck {
        id: CheckId::Api005,
        rule: Rule::Required(&["kubelet-certificate-authority"]),
        problem: "does not verify kubelets' serving certificates",
    },
    FlagCheck {
        id: CheckId::Api015,
        rule: Rule::Bool {
            flag: "profiling",
            want: false,
            default: true,
        },
        problem: "serves profiling data",
    },
    FlagCheck {
        id: CheckId::Api016,
        rule: Rule::Required(&["audit-log-path"]),
        problem: "writes no audit log",
    },
    FlagCheck {
        id: CheckId::Api021,
        rule: Rule::Bool {
            flag: "service-account-lookup",
            want: true,
            default: true,
        },
        problem: "accepts tokens of deleted ServiceAccounts",
    },
    FlagCheck {
        id: CheckId::Api022,
        rule: Rule::Required(&["service-account-key-file"]),
        problem: "has no ServiceAccount token verification key",
    },
    FlagCheck {
        id: CheckId::Api023,
        rule: Rule::Required(&["etcd-certfile", "etcd-keyfile"]),
        problem: "connects to etcd without a client certificate",
    },
    FlagCheck {
        id: CheckId::Api024,
        rule: Rule::Required(&["tls-cert-file", "tls-private-key-file"]),
        problem: "has no serving certificate (it generates a self-signed one)",
    },
    FlagCheck {
        id: CheckId::Api025,
        rule: Rule::Required(&["client-ca-file"]),
        problem: "has no client CA: client-certificate authentication is off",
    },
    FlagCheck {
        id: CheckId::Api026,
        rule: Rule::Required(&["etcd-cafile"]),
        problem: "does not verify etcd's serving certificate",
    },
    FlagCheck {
        id: CheckId::Api027,
        rule: Rule::Required(&["encryption-provider-config"]),
        problem: "stores Secrets in etcd unencrypted",
    },
    FlagCheck {
        id: CheckId::Api030,
        rule: Rule::Bool {
            flag: "service-account-extend-token-expiration",
            want: false,
            default: true,
        },
        problem: "extends projected ServiceAccount tokens to a year",
    },
];

const ANONYMOUS: FlagCheck = FlagCheck {
    id: CheckId::Api001,
    rule: Rule::Bool {
        flag: "anonymous-auth",
        want: false,
        default: true,
    },
    problem: "accepts anonymous requests",
};

/// (check, plugin, whether it should run): CIS 1.2.3 and 1.2.9…1.2.14.
const ADMISSION_CHECKS: &[(CheckId, &str, bool)] = &[
    (CheckId::Api003, "DenyServiceExternalIPs", true),
    (CheckId::Api009, "EventRateLimit", true),
    (CheckId::Api010, "AlwaysAdmit", false),
    (CheckId::Api011, "AlwaysPullImages", true),
    (CheckId::Api012, "ServiceAccount", true),
    (CheckId::Api013, "NamespaceLifecycle", true),
    (CheckId::Api014, "NodeRestriction", true),
];

/// (check, flag, minimum, what falls short): CIS 1.2.17…1.2.19, assessed only while
/// auditing to a file.
const RETENTION_CHECKS: &[(CheckId, &str, i64, &str)] = &[
    (
        CheckId::Api017,
        "audit-log-maxage",
        30,
        "keeps audit logs fewer than 30 days",
    ),
    (
        CheckId::Api018,
        "audit-log-maxbackup",
        10,
        "keeps fewer than 10 rotated audit logs",
    ),
    (
        CheckId::Api019,
        "audit-log-maxsize",
        100,
        "rotates audit logs below 100 MB",
    ),
];

/// Cipher suites with forward secrecy and an AEAD cipher (CIS 1.2.29). Go's own names; the
/// ChaCha20 ones exist with and without the `_SHA256` suffix.
const STRONG_CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// DenyServiceExternalIPs first shipped in 1.21.
const DENY_EXTERNAL_IPS_SINCE: Version = Version {
    major: 1,
    minor: 21,
    patch: 0,
};

/// Structured authentication configuration could hold anonymous settings from 1.31 on.
const ANONYMOUS_IN_CONFIG_SINCE: Version = Version {
    major: 1,
    minor: 31,
    patch: 0,
};

pub fn audit(ctx: &Ctx, apiservers: &[&Instance], sink: &mut Sink) {
    for inst in apiservers {
        run_flag_checks(ctx, inst, FLAG_CHECKS, sink);
        anonymous(ctx, inst, sink);
        authorization(ctx, inst, sink);
        admission(ctx, inst, sink);
        audit_retention(ctx, inst, sink);
        tls(ctx, inst, sink);
        insecure_port(ctx, inst, sink);
    }
}

/// API-001. With `--authentication-config` and no `--anonymous-auth` (the two are exclusive
/// where the file may configure anonymous access), the file decides, and it cannot be read.
fn anonymous(ctx: &Ctx, inst: &Instance, sink: &mut Sink) {
    if !ctx.enabled(ANONYMOUS.id) {
        return;
    }
    let from_file = inst.flags.nonempty("authentication-config").is_some()
        && inst.flags.value("anonymous-auth").is_none()
        && inst
            .version()
            .is_none_or(|v| v >= ANONYMOUS_IN_CONFIG_SINCE);
    if from_file {
        sink.not_assessed(
            Category::Apiserver,
            "kube-apiserver takes anonymous authentication from --authentication-config, which \
             the API does not show: API-001 not assessed",
        );
        return;
    }
    run_flag_checks(ctx, inst, std::slice::from_ref(&ANONYMOUS), sink);
}

/// API-006…008. The authorizer chain, unless a structured `--authorization-config` defines it.
fn authorization(ctx: &Ctx, inst: &Instance, sink: &mut Sink) {
    const IDS: [CheckId; 3] = [CheckId::Api006, CheckId::Api007, CheckId::Api008];
    if !IDS.iter().any(|id| ctx.enabled(*id)) {
        return;
    }
    if inst.flags.nonempty("authorization-config").is_some() {
        sink.not_assessed(
            Category::Apiserver,
            "kube-apiserver takes its authorizers from --authorization-config, which the API \
             does not show: API-006, API-007 and API-008 not assessed",
        );
        return;
    }
    let modes = inst
        .flags
        .list("authorization-mode")
        .unwrap_or_else(|| vec!["AlwaysAllow"]);
    let evidence = vec![inst.flags.show("authorization-mode", Some("AlwaysAllow"))];
    let name = inst.name();
    let mut fire = |id: CheckId, bad: bool, message: String| {
        if bad && ctx.enabled(id) {
            sink.push(inst.finding(id, message, evidence.clone()));
        }
    };
    fire(
        CheckId::Api006,
        modes.contains(&"AlwaysAllow"),
        format!("{name} authorises every request (AlwaysAllow)"),
    );
    fire(
        CheckId::Api007,
        !modes.contains(&"Node"),
        format!("{name} does not run the Node authorizer"),
    );
    fire(
        CheckId::Api008,
        !modes.contains(&"RBAC"),
        format!("{name} does not run the RBAC authorizer"),
    );
}

/// API-003, API-009…014.
fn admission(ctx: &Ctx, inst: &Instance, sink: &mut Sink) {
    if !ADMISSION_CHECKS.iter().any(|(id, _, _)| ctx.enabled(*id)) {
        return;
    }
    let plugins = Admission::of(&inst.flags);
    for &(id, plugin, wanted) in ADMISSION_CHECKS {
        if !ctx.enabled(id) || plugins.is_enabled(plugin) == wanted {
            continue;
        }
        // The API server rejects a plugin it does not know, and old releases lack this one.
        if id == CheckId::Api003 && inst.version().is_some_and(|v| v < DENY_EXTERNAL_IPS_SINCE) {
            continue;
        }
        let message = if wanted {
            format!("{} does not run the {plugin} admission plugin", inst.name())
        } else {
            format!("{} runs the {plugin} admission plugin", inst.name())
        };
        sink.push(inst.finding(id, message, plugins.evidence()));
    }
}

/// API-017…019: only when the audit log goes to a file. Unset counts as too low (CIS), even
/// where the component's default (0) means "keep everything".
fn audit_retention(ctx: &Ctx, inst: &Instance, sink: &mut Sink) {
    let to_file = inst
        .flags
        .nonempty("audit-log-path")
        .is_some_and(|p| p.trim() != "-");
    if !to_file {
        return;
    }
    for &(id, flag, min, problem) in RETENTION_CHECKS {
        if !ctx.enabled(id) {
            continue;
        }
        let value = inst.flags.nonempty(flag);
        let enough = value
            .and_then(|v| v.trim().parse::<i64>().ok())
            .is_some_and(|n| n >= min);
        if !enough {
            sink.push(inst.finding(
                id,
                format!("{} {problem}", inst.name()),
                vec![
                    inst.flags.show(flag, None),
                    inst.flags.show("audit-log-path", None),
                ],
            ));
        }
    }
}

/// API-029 (cipher suites) and API-032 (minimum TLS version). Unset, the API server uses Go's
/// default suites and TLS 1.2 as its minimum: neither is reported.
fn tls(ctx: &Ctx, inst: &Instance, sink: &mut Sink) {
    if ctx.enabled(CheckId::Api029) {
        let weak: Vec<&str> = inst
            .flags
            .list("tls-cipher-suites")
            .unwrap_or_default()
            .into_iter()
            .filter(|s| !STRONG_CIPHERS.contains(s))
            .collect();
        if !weak.is_empty() {
            sink.push(inst.finding(
                CheckId::Api029,
                format!(
                    "{} allows weak TLS cipher suites: {}",
                    inst.name(),
                    weak.join(", ")
                ),
                vec![inst.flags.show("tls-cipher-suites", None)],
            ));
        }
    }
    if ctx.enabled(CheckId::Api032) {
        let min = inst.flags.value("tls-min-version").map(str::trim);
        if matches!(min, Some("VersionTLS10" | "VersionTLS11")) {
            sink.push(inst.finding(
                CheckId::Api032,
                format!("{} accepts TLS below 1.2", inst.name()),
                vec![inst.flags.show("tls-min-version", None)],
            ));
        }
    }
}

/// API-031: the unauthenticated port of old releases. Absent flags are not reported: from 1.20
/// the port is off by default, and later releases removed the flags.
fn insecure_port(ctx: &Ctx, inst: &Instance, sink: &mut Sink) {
    if !ctx.enabled(CheckId::Api031) {
        return;
    }
    let port_open = inst
        .flags
        .value("insecure-port")
        .is_some_and(|p| p.trim().parse::<i64>().ok() != Some(0));
    let bind = inst.flags.value("insecure-bind-address").is_some();
    if port_open || bind {
        let evidence = ["insecure-port", "insecure-bind-address"]
            .iter()
            .filter(|f| inst.flags.value(f).is_some())
            .map(|f| inst.flags.show(f, None))
            .collect();
        sink.push(inst.finding(
            CheckId::Api031,
            format!(
                "{} serves the API without authentication on its insecure port",
                inst.name()
            ),
            evidence,
        ));
    }
}
