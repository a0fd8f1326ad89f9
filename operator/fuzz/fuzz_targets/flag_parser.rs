//! Control-plane command lines through the flag parser; one input in two also through a
//! kube-system Pod running them (program detection, `sh -c` scripts), and one in eight through
//! the whole audit of that Pod.
//!
//! Input: one selector byte, then UTF-8 lines. Selector bits 0-1 pick the component, bit 2
//! asks for the Pod, bits 3-4 (both set) for the audit. A line `$NAME=value` is an
//! environment variable, `@image` the container image, any other line one word of the command
//! line.
#![no_main]

use kube_posture::audit::controlplane::{Component, Flags, component_pod};
use kube_posture::audit::nodes::ReleaseData;
use kube_posture::audit::{AuditInput, run};
use kube_posture::policy::EffectivePolicy;
use kube_posture::snapshot::{LoadStats, Snapshot, load_str};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use std::path::Path;
use std::sync::LazyLock;

static POLICY: LazyLock<EffectivePolicy> = LazyLock::new(EffectivePolicy::default_policy);

/// Flags the checks read, queried whether or not the input sets them.
const KNOWN: &[&str] = &[
    "anonymous-auth",
    "authorization-mode",
    "authorization-config",
    "authentication-config",
    "enable-admission-plugins",
    "disable-admission-plugins",
    "admission-control",
    "tls-cipher-suites",
    "tls-min-version",
    "bind-address",
    "secure-port",
    "profiling",
    "feature-gates",
    "listen-client-urls",
    "client-cert-auth",
    "etcd-servers",
    "audit-log-path",
    "token-auth-file",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let component = Component::ALL[usize::from(selector % 4)];
    let mut args = Vec::new();
    let mut env = Vec::new();
    let mut image = None;
    for line in text.split('\n') {
        if let Some(var) = line.strip_prefix('$') {
            env.push(var.split_once('=').unwrap_or((var, "")));
        } else if let Some(i) = line.strip_prefix('@') {
            image = Some(i);
        } else {
            args.push(line);
        }
    }

    query(&Flags::parse(component, &args, &env), &args);
    if selector & 4 != 0 {
        let snapshot = pod(component, &args, &env, image);
        if let Some(found) = component_pod(&snapshot.pods[0]) {
            query(&Flags::of(&found), &args);
        }
        if selector & 0b11000 == 0b11000 {
            run(&AuditInput {
                snapshot: &snapshot,
                policy: &POLICY,
                now: "2026-11-28T12:00:00Z".parse().expect("timestamp"),
                release_data: ReleaseData::builtin(),
                probe: None,
                images: None,
                kubelet: None,
            });
        }
    }
});

/// Every accessor, on the flags the input names and on those the checks read.
fn query(flags: &Flags, args: &[&str]) {
    let named = args
        .iter()
        .filter_map(|a| a.trim_start_matches('-').split('=').next());
    for name in named.chain(KNOWN.iter().copied()) {
        let _ = flags.value(name);
        let _ = flags.nonempty(name);
        let _ = flags.list(name);
        let _ = flags.boolean(name, true);
        let _ = flags.show(name, Some("true"));
        let _ = flags.show(name, None);
    }
    let _ = flags.feature_gate("RotateKubeletServerCertificate");
}

/// A snapshot of one kube-system Pod running the component with these arguments.
fn pod(component: Component, args: &[&str], env: &[(&str, &str)], image: Option<&str>) -> Snapshot {
    let program = component.program();
    let env: Vec<_> = env
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "namespace": "kube-system",
            "name": format!("{program}-cp1"),
            "labels": {"component": program},
        },
        "spec": {
            "nodeName": "cp1",
            "containers": [{
                "name": program,
                "image": image.unwrap_or("registry.k8s.io/kube-apiserver:v1.30.4"),
                "command": [program],
                "args": args,
                "env": env,
            }],
        },
    });
    let mut snapshot = Snapshot::default();
    let mut stats = LoadStats::default();
    load_str(
        Path::new("pod.json"),
        &pod.to_string(),
        &mut snapshot,
        &mut stats,
    )
    .expect("a Pod built from strings loads");
    snapshot
}
