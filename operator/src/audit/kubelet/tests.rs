//! KUBELET-001…014 on configz documents, kubeadm ConfigMaps and k3s argument arrays;
//! KUBELET-101/102 on probe answers.

use super::checks::{STRONG_CIPHER_SUITES, evaluate};
use super::config::{Defaults, KubeletConfig, is_zero_duration, kubelet_args};
use super::probes::{Answer, NodeProbes, ProbePath, probe_url};
use super::*;
use crate::api::{CheckSelection, SecurityPolicySpec};
use crate::audit::testutil::snapshot;
use crate::audit::{AuditInput, Report, run_with_previous};
use crate::catalog::Severity;
use crate::policy::EffectivePolicy;

/// What kubeadm 1.31 writes into `kube-system/kubelet-config` (trimmed of fields no check
/// reads), as a ConfigMap.
const KUBEADM: &str = r#"apiVersion: v1
kind: ConfigMap
metadata: {namespace: kube-system, name: kubelet-config}
data:
  kubelet: |
    apiVersion: kubelet.config.k8s.io/v1beta1
    kind: KubeletConfiguration
    authentication:
      anonymous:
        enabled: false
      webhook:
        cacheTTL: 0s
        enabled: true
      x509:
        clientCAFile: /etc/kubernetes/pki/ca.crt
    authorization:
      mode: Webhook
    cgroupDriver: systemd
    rotateCertificates: true
    staticPodPath: /etc/kubernetes/manifests
"#;

fn node(name: &str) -> String {
    format!("apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\n")
}

fn k3s_node(name: &str, args: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: {name}\n  annotations:\n    k3s.io/node-args: '{args}'\n"
    )
}

fn policy(include: &[&str]) -> EffectivePolicy {
    let spec = SecurityPolicySpec {
        checks: CheckSelection {
            include: include.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
        ..Default::default()
    };
    EffectivePolicy::compile("p", &spec).expect("valid policy")
}

fn audit(docs: &[String], live: Option<&LiveKubelets>) -> Report {
    audit_with(docs, live, &["kubelet"], &[])
}

/// The audit of `docs` with the policy including `include`, after an audit that found
/// `previous`.
fn audit_with(
    docs: &[String],
    live: Option<&LiveKubelets>,
    include: &[&str],
    previous: &[std::sync::Arc<crate::audit::Finding>],
) -> Report {
    let snap = snapshot(&docs.join("---\n"));
    let policy = policy(include);
    run_with_previous(
        &AuditInput {
            snapshot: &snap,
            policy: &policy,
            now: crate::audit::testutil::now(),
            release_data: crate::audit::nodes::ReleaseData::builtin(),
            probe: None,
            images: None,
            kubelet: live,
        },
        previous,
    )
}

fn fired(r: &Report) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f.check, f.severity, f.resource.kind, f.resource.name
            )
        })
        .collect()
}

fn configz(json: &str) -> KubeletConfig {
    parse_configz(json.as_bytes()).expect("configz parses")
}

#[test]
fn kubeadm_defaults_fill_absent_fields_and_findings_point_at_the_config_map() {
    let r = audit(&[KUBEADM.to_string(), node("n1"), node("n2")], None);
    assert_eq!(
        fired(&r),
        [
            "KUBELET-007 medium ConfigMap kubelet-config",
            "KUBELET-011 low ConfigMap kubelet-config",
            "KUBELET-012 low ConfigMap kubelet-config",
            "KUBELET-013 low ConfigMap kubelet-config",
        ],
        "absent readOnlyPort is 0, streaming timeout 4h, iptables chains on (config-file defaults)"
    );
    let f = &r.findings[0];
    assert_eq!(f.resource.namespace.as_deref(), Some("kube-system"));
    assert!(
        f.message.contains("not necessarily what they run"),
        "{}",
        f.message
    );
    assert!(
        f.evidence[0].starts_with("source: kubeadm-configmap kube-system/kubelet-config")
            && f.evidence[0].contains("2 nodes"),
        "{:?}",
        f.evidence
    );
    assert!(
        r.findings[1]
            .evidence
            .iter()
            .any(|e| e == "podPidsLimit: absent, so -1 (the config-file default)"),
        "{:?}",
        r.findings[1].evidence
    );
    assert!(r.not_assessed.is_empty(), "{:?}", r.not_assessed);
    assert!(r.assessed.contains(&CheckId::Kubelet001) && r.assessed.contains(&CheckId::Kubelet004));
}

#[test]
fn anonymous_with_always_allow_is_critical_twice() {
    let cm = KUBEADM
        .replace("enabled: false", "enabled: true")
        .replace("mode: Webhook", "mode: AlwaysAllow");
    let r = audit(&[cm, node("n1")], None);
    let f = fired(&r);
    assert!(
        f.contains(&"KUBELET-001 critical ConfigMap kubelet-config".to_string()),
        "{f:?}"
    );
    assert!(
        f.contains(&"KUBELET-002 critical ConfigMap kubelet-config".to_string()),
        "{f:?}"
    );
    // Without anonymous auth and webhook token authentication, AlwaysAllow alone is high;
    // anonymous auth alone is high.
    let mut c = KubeletConfig {
        authorization_mode: Some("AlwaysAllow".into()),
        webhook_authn: Some(false),
        ..Default::default()
    };
    let v = evaluate(&c, Defaults::ConfigFile);
    assert_eq!(v.failures[0].check, "KUBELET-002");
    assert_eq!(v.failures[0].severity, Severity::High);
    c.authorization_mode = Some("Webhook".into());
    c.anonymous_auth = Some(true);
    let v = evaluate(&c, Defaults::ConfigFile);
    assert_eq!(v.failures[0].check, "KUBELET-001");
    assert_eq!(v.failures[0].severity, Severity::High);
}

#[test]
fn flag_only_defaults_are_the_insecure_legacy_ones() {
    let v = evaluate(&KubeletConfig::default(), Defaults::FlagsOnly);
    let sev = |id: &str| {
        v.failures
            .iter()
            .find(|f| f.check == id)
            .map(|f| f.severity)
    };
    assert_eq!(sev("KUBELET-001"), Some(Severity::Critical));
    assert_eq!(sev("KUBELET-002"), Some(Severity::Critical));
    assert_eq!(sev("KUBELET-004"), Some(Severity::High));
    assert!(v.unknown.is_empty());
    // The same empty configuration from a config file is secure on these three.
    let v = evaluate(&KubeletConfig::default(), Defaults::ConfigFile);
    assert!(!v.failed("KUBELET-001") && !v.failed("KUBELET-002") && !v.failed("KUBELET-004"));
}

#[test]
fn configz_absent_keys_are_go_zero_values() {
    let hardened = r#"{"kubeletconfig": {
        "authentication": {"anonymous": {"enabled": false}, "webhook": {"enabled": true},
                           "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
        "authorization": {"mode": "Webhook"},
        "streamingConnectionIdleTimeout": "5m0s", "makeIPTablesUtilChains": true,
        "serverTLSBootstrap": true, "rotateCertificates": true, "podPidsLimit": 4096,
        "seccompDefault": true, "protectKernelDefaults": true,
        "tlsCipherSuites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]}}"#;
    let v = evaluate(&configz(hardened), Defaults::GoZero);
    assert_eq!(
        v,
        Default::default(),
        "absent readOnlyPort is 0, absent enableSystemLogQuery false"
    );
    // Absent booleans are false and the absent timeout is 0s.
    let sparse = r#"{"kubeletconfig": {"authentication": {"x509": {"clientCAFile": "/ca"}},
        "authorization": {"mode": "Webhook"}}}"#;
    let v = evaluate(&configz(sparse), Defaults::GoZero);
    let ids: Vec<&str> = v.failures.iter().map(|f| f.check.as_str()).collect();
    assert_eq!(
        ids,
        [
            "KUBELET-005",
            "KUBELET-006",
            "KUBELET-007",
            "KUBELET-008",
            "KUBELET-011",
            "KUBELET-012",
            "KUBELET-013"
        ]
    );
    assert!(
        v.failures[0].evidence[0].contains("absent, so 0s (the Go zero value (configz))"),
        "{:?}",
        v.failures[0].evidence
    );
    assert!(parse_configz(b"nope").is_err());
    assert!(parse_configz(br#"{"other": {}}"#).is_err());
    let typed = parse_configz(br#"{"kubeletconfig": {"readOnlyPort": "10255"}}"#);
    assert!(
        typed.is_err(),
        "a wrongly typed field is unreadable, not guessed"
    );
}

#[test]
fn configz_wins_and_the_config_map_is_not_judged_when_every_node_has_it() {
    let mut live = LiveKubelets {
        configz: Some(BTreeMap::from([(
            "n1".to_string(),
            Ok(configz(r#"{"kubeletconfig": {"readOnlyPort": 10255}}"#)),
        )])),
        probes: None,
    };
    let r = audit(&[KUBEADM.to_string(), node("n1")], Some(&live));
    assert!(
        r.findings.iter().all(|f| f.resource.kind == "Node"),
        "{:?}",
        fired(&r)
    );
    let ro = r
        .findings
        .iter()
        .find(|f| f.check == "KUBELET-004")
        .expect("KUBELET-004");
    assert_eq!(ro.node.as_deref(), Some("n1"));
    assert!(
        ro.evidence[0].starts_with("source: configz"),
        "{:?}",
        ro.evidence
    );
    // A node whose configz failed falls back to the ConfigMap, which is judged again.
    live.configz
        .as_mut()
        .unwrap()
        .insert("n2".into(), Err("HTTP 403".into()));
    let r = audit(&[KUBEADM.to_string(), node("n1"), node("n2")], Some(&live));
    assert!(fired(&r).contains(&"KUBELET-007 medium ConfigMap kubelet-config".to_string()));
    assert!(r.not_assessed.is_empty(), "{:?}", r.not_assessed);
}

#[test]
fn k3s_overrides_judge_what_they_set_and_leave_the_rest_not_assessed() {
    let args = r#"["server","--kubelet-arg","anonymous-auth=true","--kubelet-arg=read-only-port=10255","--token","s3cret"]"#;
    let r = audit(&[k3s_node("k1", args), node("plain")], None);
    assert_eq!(
        fired(&r),
        ["KUBELET-001 high Node k1", "KUBELET-004 high Node k1"],
        "KUBELET-001 stays high: the authorization mode is unknown"
    );
    let f = &r.findings[1];
    assert!(
        f.evidence[0].starts_with("source: k3s-annotation"),
        "{:?}",
        f.evidence
    );
    let reasons: Vec<&str> = r.not_assessed.iter().map(|n| n.reason.as_str()).collect();
    assert!(
        reasons
            .iter()
            .any(|x| x.contains("node-args of 1 node of 2") && x.ends_with(": k1")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(
            |x| x.contains("configuration of 1 node of 2 is not readable")
                && x.ends_with(": plain")
        ),
        "{reasons:?}"
    );
    let k3s = r
        .not_assessed
        .iter()
        .find(|n| n.reason.contains("node-args"))
        .unwrap();
    assert!(k3s.checks.contains(&"KUBELET-002".to_string()));
    assert!(!k3s.checks.contains(&"KUBELET-004".to_string()));
    // The token never reaches the snapshot: only --kubelet-arg entries are kept.
    let snap = snapshot(&k3s_node("k1", args));
    let kept = &snap.nodes[0].metadata.annotations.as_ref().unwrap()["k3s.io/node-args"];
    assert!(!kept.contains("s3cret"), "{kept}");
    assert_eq!(
        kubelet_args(kept).unwrap(),
        ["anonymous-auth=true", "read-only-port=10255"]
    );
}

#[test]
fn k3s_flag_parsing() {
    let c = KubeletConfig::from_flags(&[
        "--anonymous-auth",
        "authorization-mode=AlwaysAllow",
        "feature-gates=RotateKubeletServerCertificate=false,Other=true",
        "pod-max-pids=100",
        "read-only-port=0",
        "read-only-port=10255",
    ])
    .unwrap();
    assert_eq!(c.anonymous_auth, Some(true), "a bare boolean flag is true");
    assert_eq!(c.read_only_port, Some(10255), "the last occurrence wins");
    assert_eq!(c.pod_pids_limit, Some(100));
    assert_eq!(
        c.feature_gates
            .as_ref()
            .unwrap()
            .get("RotateKubeletServerCertificate"),
        Some(&false)
    );
    let v = evaluate(&c, Defaults::Unknown);
    assert!(v.failed("KUBELET-009") && v.failed("KUBELET-002") && !v.failed("KUBELET-011"));
    assert!(KubeletConfig::from_flags(&["anonymous-auth=maybe"]).is_err());
    assert!(KubeletConfig::from_flags(&["read-only-port=x"]).is_err());
    assert!(kubelet_args("not json").is_err());
    let r = audit(&[k3s_node("k1", "[oops")], None);
    assert!(
        r.not_assessed
            .iter()
            .any(|n| n.reason.contains("not a JSON array")),
        "{:?}",
        r.not_assessed
    );
}

#[test]
fn cipher_suites_and_tls_versions() {
    let with = |suites: &[&str], min: &str| {
        let c = KubeletConfig {
            tls_cipher_suites: Some(suites.iter().map(|s| s.to_string()).collect()),
            tls_min_version: Some(min.into()),
            ..Default::default()
        };
        evaluate(&c, Defaults::ConfigFile)
    };
    assert!(!with(STRONG_CIPHER_SUITES, "VersionTLS12").failed("KUBELET-010"));
    assert!(!with(&[], "").failed("KUBELET-010"), "Go's defaults");
    let weak = with(
        &[
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_128_GCM_SHA256",
        ],
        "VersionTLS12",
    );
    let f = weak
        .failures
        .iter()
        .find(|f| f.check == "KUBELET-010")
        .unwrap();
    assert!(
        f.message.contains("TLS_RSA_WITH_AES_128_GCM_SHA256") && !f.message.contains("ECDHE_RSA")
    );
    assert!(with(&["TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"], "").failed("KUBELET-010"));
    assert!(with(&[], "VersionTLS11").failed("KUBELET-010"));
    assert!(with(&[], "VersionTLS10").failed("KUBELET-010"));
    assert!(!with(&[], "VersionTLS13").failed("KUBELET-010"));
    let flags = KubeletConfig::from_flags(&[
        "tls-cipher-suites=TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "tls-min-version=VersionTLS12",
    ])
    .unwrap();
    assert!(evaluate(&flags, Defaults::Unknown).failed("KUBELET-010"));
}

#[test]
fn zero_durations() {
    for z in ["0", "0s", "0m0s", "0h0m0s"] {
        assert!(is_zero_duration(z), "{z}");
    }
    for d in ["4h0m0s", "5m", "30s", "", "100ms"] {
        assert!(!is_zero_duration(d), "{d}");
    }
}

#[test]
fn nothing_readable_is_not_assessed_with_the_node_count() {
    let r = audit(&[node("a"), node("b"), node("c")], None);
    assert!(r.findings.is_empty());
    assert_eq!(r.not_assessed.len(), 1, "{:?}", r.not_assessed);
    let n = &r.not_assessed[0];
    assert_eq!(n.category, "kubelet");
    assert!(
        n.reason.contains("3 nodes of 3 is not readable"),
        "{}",
        n.reason
    );
    assert!(
        n.reason.contains("spec.kubelet.configz is off"),
        "{}",
        n.reason
    );
    assert_eq!(n.checks.len(), 14);
    assert!(
        !r.assessed.iter().any(|c| c.family() == "KUBELET"),
        "never a silent pass: {:?}",
        r.assessed
    );
    // No Node and no ConfigMap: not assessed either.
    let r = audit(&[], None);
    assert!(r.not_assessed.iter().any(|n| n.category == "kubelet"));
}

#[test]
fn only_kubeadm_kubelet_config_maps_are_read() {
    use crate::snapshot::is_kubelet_config_map;
    assert!(is_kubelet_config_map(Some("kube-system"), "kubelet-config"));
    assert!(is_kubelet_config_map(
        Some("kube-system"),
        "kubelet-config-1.23"
    ));
    assert!(!is_kubelet_config_map(Some("default"), "kubelet-config"));
    assert!(!is_kubelet_config_map(
        Some("kube-system"),
        "kubelet-config-1."
    ));
    assert!(!is_kubelet_config_map(Some("kube-system"), "coredns"));
    let other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: kube-system, name: coredns}\ndata: {Corefile: x}\n";
    let extra = KUBEADM.replace("cgroupDriver", "x: y\n    cgroupDriver");
    let s = snapshot(&format!("{other}---\n{extra}\n  other-key: drop me\n"));
    assert_eq!(s.config_maps.len(), 1);
    let data = s.config_maps[0].data.as_ref().unwrap();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["kubelet"],
        "only the kubelet key is kept"
    );
    // The unversioned name wins over older versioned ones.
    let old = KUBEADM
        .replace("name: kubelet-config", "name: kubelet-config-1.23")
        .replace("mode: Webhook", "mode: AlwaysAllow");
    let s = snapshot(&format!("{old}---\n{KUBEADM}"));
    assert_eq!(
        kubeadm_config_map(&s).and_then(|c| c.metadata.name.as_deref()),
        Some("kubelet-config")
    );
}

#[test]
fn seccomp_default_from_the_strongest_source() {
    let s = snapshot(&[KUBEADM.to_string(), node("n1"), node("n2")].join("---\n"));
    assert_eq!(kubelet_defaults_seccomp(&s, None, "n1"), Some(false));
    let live = LiveKubelets {
        configz: Some(BTreeMap::from([(
            "n1".to_string(),
            Ok(configz(r#"{"kubeletconfig": {"seccompDefault": true}}"#)),
        )])),
        probes: None,
    };
    assert_eq!(kubelet_defaults_seccomp(&s, Some(&live), "n1"), Some(true));
    assert_eq!(kubelet_defaults_seccomp(&s, Some(&live), "n2"), Some(false));
    let k = snapshot(&k3s_node("k1", r#"["--kubelet-arg=seccomp-default=true"]"#));
    assert_eq!(kubelet_defaults_seccomp(&k, None, "k1"), Some(true));
    let k = snapshot(&k3s_node("k1", r#"["server"]"#));
    assert_eq!(
        kubelet_defaults_seccomp(&k, None, "k1"),
        None,
        "not overridden: unknown"
    );
    assert_eq!(kubelet_defaults_seccomp(&k, None, "missing"), None);
}

#[test]
fn probe_urls_can_only_name_healthz_and_pods() {
    let v4: std::net::IpAddr = "10.0.0.5".parse().unwrap();
    let v6: std::net::IpAddr = "fd00::5".parse().unwrap();
    let all = [
        ProbePath::Healthz,
        ProbePath::Pods,
        ProbePath::ReadOnlyHealthz,
    ];
    for ip in [v4, v6] {
        for p in all {
            let url = probe_url(ip, 10250, p);
            let path = url.splitn(4, '/').nth(3).unwrap();
            assert!(matches!(path, "healthz" | "pods"), "{url}");
            assert!(!url.contains('?') && !url.contains("exec") && !url.contains("run"));
        }
    }
    assert_eq!(
        probe_url(v4, 10250, ProbePath::Pods),
        "https://10.0.0.5:10250/pods"
    );
    assert_eq!(
        probe_url(v6, 10255, ProbePath::ReadOnlyHealthz),
        "http://[fd00::5]:10255/healthz"
    );
}

fn probed(
    node: &str,
    healthz: Option<Answer>,
    pods: Option<Answer>,
    ro: Option<Answer>,
) -> NodeProbes {
    NodeProbes {
        node: node.into(),
        address: Ok("10.0.0.1".parse().unwrap()),
        kubelet_port: Some(10250),
        read_only_port: 10255,
        healthz,
        pods,
        read_only: ro,
    }
}

fn http(status: u16, ok_body: bool) -> Option<Answer> {
    Some(Answer::Http { status, ok_body })
}

#[test]
fn probe_verdicts() {
    let refused = || Some(Answer::Failed("connection refused".into()));
    let live = LiveKubelets {
        configz: None,
        probes: Some(vec![
            probed("open", http(200, true), http(200, false), http(200, true)),
            probed("denied", http(403, false), http(403, false), refused()),
            probed("closed", http(401, false), None, http(404, false)),
            probed("silent", refused(), None, refused()),
        ]),
    };
    let r = audit_with(&[], Some(&live), &["KUBELET-101", "KUBELET-102"], &[]);
    assert_eq!(
        fired(&r),
        [
            "KUBELET-101 critical Node open",
            "KUBELET-102 high Node open",
            "KUBELET-101 medium Node denied",
        ]
    );
    assert!(
        r.findings[0]
            .evidence
            .iter()
            .any(|e| e == "GET https://10.0.0.1:10250/pods: HTTP 200")
    );
    let reasons: Vec<(&str, &[String])> = r
        .not_assessed
        .iter()
        .map(|n| (n.reason.as_str(), n.checks.as_slice()))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|(r, c)| r.contains("kubelet port of 1 node did not answer")
                && r.ends_with(": silent")
                && c == &["KUBELET-101"]),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(
            |(r, c)| r.contains("read-only port of 2 nodes did not answer")
                && c == &["KUBELET-102"]
        ),
        "refused is inconclusive, never a pass: {reasons:?}"
    );
}

fn audit_after(
    docs: &[String],
    live: &LiveKubelets,
    previous: &[std::sync::Arc<crate::audit::Finding>],
) -> Report {
    audit_with(
        docs,
        Some(live),
        &["kubelet", "KUBELET-101", "KUBELET-102"],
        previous,
    )
}

fn on(r: &Report, check: &str) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.check == check)
        .map(|f| f.resource.name.clone())
        .collect()
}

/// A node whose configz cannot be read this time keeps its earlier findings (not assessed is
/// not fixed), while a node read and fixed loses its own: the hold is per unjudged node, not
/// for the check across the cluster.
#[test]
fn an_unreadable_kubelet_holds_its_own_findings_not_those_of_fixed_nodes() {
    let open = || Ok(configz(r#"{"kubeletconfig": {"readOnlyPort": 10255}}"#));
    let docs = [node("fixed"), node("blind"), node("other")];
    let before = LiveKubelets {
        configz: Some(BTreeMap::from([
            ("fixed".to_string(), open()),
            ("blind".to_string(), open()),
            ("other".to_string(), open()),
        ])),
        probes: None,
    };
    let first = audit_after(&docs, &before, &[]);
    assert_eq!(on(&first, "KUBELET-004"), ["blind", "fixed", "other"]);
    let after = LiveKubelets {
        configz: Some(BTreeMap::from([
            (
                "fixed".to_string(),
                Ok(configz(r#"{"kubeletconfig": {"readOnlyPort": 0}}"#)),
            ),
            ("blind".to_string(), Err("HTTP 503".to_string())),
            ("other".to_string(), open()),
        ])),
        probes: None,
    };
    let r = audit_after(&docs, &after, &first.findings);
    assert_eq!(on(&r, "KUBELET-004"), ["blind", "other"]);
    let why = r
        .not_assessed
        .iter()
        .find(|n| n.checks.iter().any(|c| c == "KUBELET-004"))
        .expect("KUBELET-004 not assessed on one node");
    assert!(
        why.reason.contains("1 node of 3") && why.reason.ends_with(": blind"),
        "{why:?}"
    );
    // Readable again and fixed: the held finding goes.
    let fixed = LiveKubelets {
        configz: Some(BTreeMap::from([
            (
                "blind".to_string(),
                Ok(configz(r#"{"kubeletconfig": {"readOnlyPort": 0}}"#)),
            ),
            (
                "fixed".to_string(),
                Ok(configz(r#"{"kubeletconfig": {"readOnlyPort": 0}}"#)),
            ),
            ("other".to_string(), open()),
        ])),
        probes: None,
    };
    assert_eq!(
        on(&audit_after(&docs, &fixed, &r.findings), "KUBELET-004"),
        ["other"]
    );
}

/// The same for probes: a read-only port that stopped answering is inconclusive, so that
/// node's KUBELET-102 stays; a node that answered and is closed now loses its finding.
#[test]
fn a_silent_probe_holds_only_its_own_node() {
    let refused = || Some(Answer::Failed("connection refused".into()));
    let probes = |a: Option<Answer>, b: Option<Answer>| LiveKubelets {
        configz: None,
        probes: Some(vec![
            probed("a", http(401, false), None, a),
            probed("b", http(401, false), None, b),
        ]),
    };
    let first = audit_after(&[], &probes(http(200, true), http(200, true)), &[]);
    assert_eq!(on(&first, "KUBELET-102"), ["a", "b"]);
    let r = audit_after(&[], &probes(http(404, false), refused()), &first.findings);
    assert_eq!(on(&r, "KUBELET-102"), ["b"]);
    assert!(
        r.not_assessed.iter().any(
            |n| n.reason.contains("read-only port of 1 node did not answer")
                && n.reason.ends_with(": b")
        ),
        "{:?}",
        r.not_assessed
    );
}

/// Node names in reasons are sorted, whatever the order the nodes were read in.
#[test]
fn reasons_list_nodes_in_order() {
    let refused = || Some(Answer::Failed("connection refused".into()));
    let live = LiveKubelets {
        configz: Some(BTreeMap::from([
            ("zeta".to_string(), Err("HTTP 503".to_string())),
            ("alpha".to_string(), Err("HTTP 503".to_string())),
        ])),
        probes: Some(vec![
            probed("zeta", http(401, false), None, refused()),
            probed("alpha", http(401, false), None, refused()),
        ]),
    };
    let r = audit_after(&[node("zeta"), node("alpha")], &live, &[]);
    let listed: Vec<&str> = r
        .not_assessed
        .iter()
        .filter(|n| n.reason.contains("alpha"))
        .map(|n| n.reason.as_str())
        .collect();
    assert_eq!(listed.len(), 2, "{:?}", r.not_assessed);
    assert!(
        listed.iter().all(|r| r.ends_with(": alpha, zeta")),
        "{listed:?}"
    );
}
