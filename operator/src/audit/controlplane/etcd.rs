//! ETCD-001…ETCD-007: etcd's flags and `ETCD_*` environment variables, CIS 2.1…2.7.

use super::address::{url_is_exposed, url_scheme_host};
use super::instance::{FlagCheck, Instance, Rule, run_flag_checks};
use crate::audit::workloads::normalize_path;
use crate::audit::{Ctx, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;

/// etcd's defaults when the flags are absent: both on localhost.
const DEFAULT_CLIENT_URLS: &str = "http://localhost:2379";
const DEFAULT_PEER_URLS: &str = "http://localhost:2380";

pub const POD_CHECKS: [CheckId; 7] = [
    CheckId::Etcd001,
    CheckId::Etcd002,
    CheckId::Etcd003,
    CheckId::Etcd004,
    CheckId::Etcd005,
    CheckId::Etcd006,
    CheckId::Etcd007,
];

const FLAG_CHECKS: &[FlagCheck] = &[
    FlagCheck {
        id: CheckId::Etcd002,
        rule: Rule::Bool {
            flag: "client-cert-auth",
            want: true,
            default: false,
        },
        problem: "accepts clients without a certificate",
    },
    FlagCheck {
        id: CheckId::Etcd003,
        rule: Rule::Bool {
            flag: "auto-tls",
            want: false,
            default: false,
        },
        problem: "serves clients with a self-signed auto-generated certificate",
    },
    FlagCheck {
        id: CheckId::Etcd006,
        rule: Rule::Bool {
            flag: "peer-auto-tls",
            want: false,
            default: false,
        },
        problem: "talks to peers with a self-signed auto-generated certificate",
    },
];

pub fn audit(ctx: &Ctx, etcds: &[&Instance], apiservers: &[&Instance], sink: &mut Sink) {
    for inst in etcds {
        // With a configuration file etcd ignores every other flag and variable.
        if let Some(file) = inst.flags.nonempty("config-file") {
            if POD_CHECKS.iter().any(|id| ctx.enabled(*id)) {
                sink.not_assessed(
                    Category::Etcd,
                    format!(
                        "etcd reads its settings from --config-file ({file}), which the API \
                         does not show: ETCD-001 to ETCD-007 not assessed"
                    ),
                );
            }
            continue;
        }
        client_tls(ctx, inst, sink);
        run_flag_checks(ctx, inst, FLAG_CHECKS, sink);
        peer_tls(ctx, inst, sink);
        shared_ca(ctx, inst, apiservers, sink);
    }
}

/// The listen URLs of a list flag, or etcd's default.
fn urls<'f>(inst: &'f Instance, flag: &str, default: &'static str) -> Vec<&'f str> {
    inst.flags.list(flag).unwrap_or_else(|| vec![default])
}

/// ETCD-001: no serving certificate, or plain HTTP on a non-loopback client URL. etcd 3.5's
/// `--listen-client-http-urls` (HTTP-only listeners) counts as well.
fn client_tls(ctx: &Ctx, inst: &Instance, sink: &mut Sink) {
    if !ctx.enabled(CheckId::Etcd001) {
        return;
    }
    let f = &inst.flags;
    let mut evidence = Vec::new();
    let mut problems = Vec::new();
    for flag in ["cert-file", "key-file"] {
        if f.nonempty(flag).is_none() {
            evidence.push(f.show(flag, None));
            problems.push(format!("--{flag} missing"));
        }
    }
    let mut plain: Vec<&str> = urls(inst, "listen-client-urls", DEFAULT_CLIENT_URLS);
    plain.extend(f.list("listen-client-http-urls").unwrap_or_default());
    plain.retain(|u| is_http(u) && url_is_exposed(u) == Some(true));
    if !plain.is_empty() {
        problems.push(format!("plain HTTP on {}", plain.join(", ")));
        for flag in ["listen-client-urls", "listen-client-http-urls"] {
            if f.value(flag).is_some() {
                evidence.push(f.show(flag, None));
            }
        }
    }
    if problems.is_empty() {
        return;
    }
    sink.push(inst.finding(
        CheckId::Etcd001,
        format!(
            "{} serves clients without TLS: {}",
            inst.name(),
            problems.join("; ")
        ),
        evidence,
    ));
}

fn is_http(url: &str) -> bool {
    url_scheme_host(url).is_some_and(|(scheme, _)| scheme == "http")
}

/// ETCD-004 and ETCD-005: only peer URLs reachable from other hosts matter (a single member
/// listening on localhost has no peer traffic to protect).
fn peer_tls(ctx: &Ctx, inst: &Instance, sink: &mut Sink) {
    let f = &inst.flags;
    let exposed: Vec<&str> = urls(inst, "listen-peer-urls", DEFAULT_PEER_URLS)
        .into_iter()
        .filter(|u| url_is_exposed(u) == Some(true))
        .collect();
    if exposed.is_empty() {
        return;
    }
    let peer_urls = f.show("listen-peer-urls", Some(DEFAULT_PEER_URLS));
    if ctx.enabled(CheckId::Etcd004) {
        let mut evidence = vec![peer_urls.clone()];
        let mut problems = Vec::new();
        for flag in ["peer-cert-file", "peer-key-file"] {
            if f.nonempty(flag).is_none() {
                evidence.push(f.show(flag, None));
                problems.push(format!("--{flag} missing"));
            }
        }
        let plain: Vec<&str> = exposed.iter().copied().filter(|u| is_http(u)).collect();
        if !plain.is_empty() {
            problems.push(format!("plain HTTP on {}", plain.join(", ")));
        }
        if !problems.is_empty() {
            sink.push(inst.finding(
                CheckId::Etcd004,
                format!(
                    "{} replicates to peers without TLS: {}",
                    inst.name(),
                    problems.join("; ")
                ),
                evidence,
            ));
        }
    }
    if ctx.enabled(CheckId::Etcd005) && f.boolean("peer-client-cert-auth", false) != Some(true) {
        sink.push(inst.finding(
            CheckId::Etcd005,
            format!(
                "{} accepts peers without a client certificate on {}",
                inst.name(),
                exposed.join(", ")
            ),
            vec![f.show("peer-client-cert-auth", Some("false")), peer_urls],
        ));
    }
}

/// ETCD-007: etcd trusting the CA that signs every Kubernetes client certificate accepts any
/// user or kubelet certificate as an etcd client.
fn shared_ca(ctx: &Ctx, inst: &Instance, apiservers: &[&Instance], sink: &mut Sink) {
    if !ctx.enabled(CheckId::Etcd007) {
        return;
    }
    let Some(etcd_ca) = inst.flags.nonempty("trusted-ca-file") else {
        return;
    };
    let etcd_ca = normalize_path(etcd_ca.trim());
    let shared = apiservers.iter().find(|a| {
        a.flags
            .nonempty("client-ca-file")
            .is_some_and(|ca| normalize_path(ca.trim()) == etcd_ca)
    });
    if let Some(api) = shared {
        sink.push(inst.finding(
            CheckId::Etcd007,
            format!(
                "{} trusts {etcd_ca}, the client CA of the API server: any certificate the \
                 cluster CA issues is an etcd client",
                inst.name()
            ),
            vec![
                inst.flags.show("trusted-ca-file", None),
                format!("{}: {}", api.name(), api.flags.show("client-ca-file", None)),
            ],
        ));
    }
}
