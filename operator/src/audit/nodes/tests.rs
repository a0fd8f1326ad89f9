//! NODE-001…NODE-003 on Nodes written as YAML, and the release tables themselves.

use super::ReleaseData;
use crate::api::{CheckSelection, SecurityPolicySpec};
use crate::audit::testutil::snapshot;
use crate::audit::{AuditInput, Report, run};
use crate::policy::EffectivePolicy;
use crate::snapshot::{ObjectKind, Unavailable};

fn node(name: &str, kubelet: &str, runtime: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nstatus:\n  nodeInfo: \
         {{kubeletVersion: {kubelet}, containerRuntimeVersion: \"{runtime}\", architecture: amd64, \
         operatingSystem: linux, osImage: Ubuntu 22.04.4 LTS, kernelVersion: 6.6.60}}\n"
    )
}

fn api_server(version: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{namespace: kube-system, name: {name}, labels: \
         {{component: kube-apiserver}}}}\nspec: {{containers: [{{name: kube-apiserver, image: \
         \"registry.k8s.io/kube-apiserver:{version}\", command: [kube-apiserver]}}]}}\n"
    )
}

fn audit_at(docs: &[String], now: &str) -> Report {
    let spec = SecurityPolicySpec {
        checks: CheckSelection {
            include: vec!["node".to_string()],
            ..Default::default()
        },
        ..Default::default()
    };
    let policy = EffectivePolicy::compile("p", &spec).expect("valid policy");
    let snap = snapshot(&docs.join("---\n"));
    run(&AuditInput {
        snapshot: &snap,
        policy: &policy,
        now: now.parse().expect("timestamp"),
        release_data: ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    })
}

const NOW: &str = "2026-11-28T12:00:00Z";
const CURRENT: &str = "containerd://1.7.22";

/// `check node` of each finding.
fn found(r: &Report) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| format!("{} {}", f.check, f.resource.name))
        .collect()
}

#[test]
fn node001_end_of_life_kubelet() {
    let r = audit_at(
        &[
            api_server("v1.35.2", "kube-apiserver-cp1"),
            node("old", "v1.24.17", CURRENT),
            node("new", "v1.35.2", CURRENT),
            node("ancient", "v1.16.15", CURRENT),
            node("future", "v1.40.0-alpha.1", CURRENT),
        ],
        NOW,
    );
    let eol: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.check == "NODE-001")
        .collect();
    assert_eq!(eol.len(), 2, "{:?}", found(&r));
    let ancient = eol
        .iter()
        .find(|f| f.resource.name == "ancient")
        .expect("ancient");
    assert!(
        ancient.message.contains("older than Kubernetes 1.19"),
        "{}",
        ancient.message
    );
    let old = eol.iter().find(|f| f.resource.name == "old").expect("old");
    assert_eq!(old.resource.kind, "Node");
    assert!(
        old.message
            .contains("Kubernetes 1.24, which reached end of life on 2023-07-28"),
        "{}",
        old.message
    );
    assert!(
        old.remediation.contains("Kubernetes 1.35 or later"),
        "{}",
        old.remediation
    );
}

#[test]
fn node001_end_of_life_is_relative_to_the_audit_time() {
    let nodes = [
        api_server("v1.35.2", "kube-apiserver-cp1"),
        node("w1", "v1.35.2", CURRENT),
    ];
    let eol = |now: &str| {
        audit_at(&nodes, now)
            .findings
            .iter()
            .any(|f| f.check == "NODE-001")
    };
    assert!(!eol("2027-02-27T23:59:59Z"));
    // The end-of-life date is the first day without support.
    assert!(eol("2027-02-28T00:00:00Z"));
    assert!(eol("2028-01-01T00:00:00Z"));
}

#[test]
fn node002_skew_follows_the_api_server_version() {
    let skewed = |api: &[&str], kubelet: &str| {
        let mut docs: Vec<String> = api
            .iter()
            .enumerate()
            .map(|(i, v)| api_server(v, &format!("kube-apiserver-cp{i}")))
            .collect();
        docs.push(node("w1", kubelet, CURRENT));
        let r = audit_at(&docs, "2020-01-01T00:00:00Z");
        r.findings
            .iter()
            .find(|f| f.check == "NODE-002")
            .map(|f| f.message.clone())
    };
    // Three minor versions since kube-apiserver 1.28, two before.
    assert_eq!(skewed(&["v1.30.4"], "v1.27.16"), None);
    let m = skewed(&["v1.30.4"], "v1.26.15").expect("4 behind 1.30");
    assert!(
        m.contains("4 minor versions older than the API server (v1.30.4); the supported skew is 3"),
        "{m}"
    );
    assert_eq!(skewed(&["v1.27.3"], "v1.25.16"), None);
    assert!(skewed(&["v1.27.3"], "v1.24.17").is_some(), "3 behind 1.27");
    // Never newer; with two API servers (an upgrade in progress) not newer than the oldest.
    let m = skewed(&["v1.30.4"], "v1.31.0").expect("newer");
    assert!(m.contains("newer than the API server (v1.30.4)"), "{m}");
    assert!(skewed(&["v1.31.1", "v1.30.4"], "v1.31.1").is_some());
    assert_eq!(skewed(&["v1.31.1", "v1.30.4"], "v1.30.4"), None);
}

#[test]
fn node002_without_an_api_server_pod_is_not_assessed() {
    let r = audit_at(&[node("w1", "v1.20.15", "containerd://1.6.20")], NOW);
    assert_eq!(found(&r), ["NODE-001 w1", "NODE-003 w1"]);
    let gaps = crate::audit::testutil::not_assessed_by_families(&r);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].category, "node");
    assert!(gaps[0].reason.contains("no kube-apiserver Pod"), "{gaps:?}");

    let r = audit_at(
        &[
            api_server("latest", "kube-apiserver-cp1"),
            node("w1", "v1.35.0", CURRENT),
        ],
        NOW,
    );
    let gaps = crate::audit::testutil::not_assessed_by_families(&r);
    assert!(gaps[0].reason.contains("kube-apiserver:latest"), "{gaps:?}");
}

#[test]
fn node003_runtimes_with_escape_cves() {
    let cves = |runtime: &str| {
        let r = audit_at(
            &[api_server("v1.35.2", "a"), node("w1", "v1.35.2", runtime)],
            NOW,
        );
        r.findings
            .iter()
            .find(|f| f.check == "NODE-003")
            .map(|f| (f.message.clone(), f.remediation.clone()))
    };
    let (m, fix) = cves("containerd://1.6.20").expect("runc CVE-2024-21626");
    assert!(
        m.contains("containerd 1.6.20") && m.contains("CVE-2024-21626"),
        "{m}"
    );
    assert!(fix.contains("containerd 1.6.28 or later"), "{fix}");
    let (m, fix) = cves("containerd://1.6.0").expect("two CVEs");
    assert!(m.contains("CVE-2022-23648, CVE-2024-21626"), "{m}");
    assert!(fix.contains("1.6.28"), "{fix}");
    assert!(cves("containerd://1.7.12").is_some());
    assert_eq!(cves("containerd://1.7.13"), None);
    assert_eq!(cves("containerd://1.6.28-k3s1"), None);
    assert_eq!(cves(CURRENT), None);
    assert!(cves("cri-o://1.22.1").is_some_and(|(m, _)| m.contains("CVE-2022-0811")));
    assert_eq!(cves("cri-o://1.22.3"), None);
    assert!(cves("docker://18.9.1").is_some_and(|(m, _)| m.contains("CVE-2019-5736")));
    assert_eq!(cves("docker://18.6.3"), None);
    assert!(cves("docker://24.0.7").is_some());
    assert_eq!(cves("remote://unknown"), None);
}

#[test]
fn unreadable_nodes_are_not_assessed() {
    let mut snap = snapshot(&api_server("v1.30.0", "a"));
    snap.unavailable.push(Unavailable {
        kind: ObjectKind::Node,
        reason: "forbidden".to_string(),
    });
    let policy = EffectivePolicy::default_policy();
    let r = run(&AuditInput {
        snapshot: &snap,
        policy: &policy,
        now: NOW.parse().expect("timestamp"),
        release_data: ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    });
    assert!(
        r.not_assessed
            .iter()
            .any(|n| n.category == "node" && n.reason.contains("forbidden"))
    );
    assert!(
        !r.findings
            .iter()
            .any(|f| f.check.as_str().starts_with("NODE-"))
    );
}

#[test]
fn builtin_tables_are_complete_and_valid() {
    let data = ReleaseData::builtin();
    data.validate().expect("valid");
    for minor in 19..=35 {
        let row = format!("1.{minor}");
        assert!(
            data.kubernetes.iter().any(|k| k.minor == row),
            "{row} missing"
        );
    }
    let v = |s| crate::audit::controlplane::Version::parse(s).expect("version");
    assert_eq!(data.kubelet_older(v("1.27.0")), Some(2));
    assert_eq!(data.kubelet_older(v("1.28.0")), Some(3));
    assert!(data.runtimes.iter().all(|r| r.cve.starts_with("CVE-")));
}

#[test]
fn replacement_tables_are_validated_and_merged() {
    let dir = std::env::temp_dir().join(format!("kp-release-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let only_runtimes = write(
        "runtimes.yaml",
        "reviewed: \"2027-01-01\"\nruntimes:\n  - {runtime: containerd, from: \"2.0.0\", fixed: \"2.0.9\", \
         cve: CVE-2099-0001, summary: test}\n",
    );
    let data = ReleaseData::from_file(&only_runtimes).expect("loads");
    assert_eq!(data.runtimes.len(), 1);
    assert_eq!(data.kubernetes, ReleaseData::builtin().kubernetes);

    let bad_date = write(
        "bad.yaml",
        "kubernetes: [{minor: \"1.30\", endOfLife: \"2025-13-01\"}]\n",
    );
    let err = ReleaseData::from_file(&bad_date)
        .expect_err("invalid date")
        .to_string();
    assert!(err.contains("kubernetes[0].endOfLife"), "{err}");
    let unknown = write(
        "unknown.yaml",
        "kubernetes: [{minor: \"1.30\", eol: \"2025-06-28\"}]\n",
    );
    assert!(ReleaseData::from_file(&unknown).is_err());
}

fn host(name: &str, kernel: &str, os: &str, operating_system: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nstatus:\n  nodeInfo: \
         {{kubeletVersion: v1.35.2, containerRuntimeVersion: \"{CURRENT}\", architecture: amd64, \
         operatingSystem: {operating_system}, osImage: \"{os}\", kernelVersion: \"{kernel}\"}}\n"
    )
}

fn with_api(docs: &[String]) -> Vec<String> {
    let mut v = vec![api_server("v1.35.2", "kube-apiserver-cp1")];
    v.extend_from_slice(docs);
    v
}

fn finding<'a>(r: &'a Report, check: &str, node: &str) -> Option<&'a crate::audit::Finding> {
    r.findings
        .iter()
        .find(|f| f.check == check && f.resource.name == node)
        .map(|f| &**f)
}

fn reasons(r: &Report, check: &str) -> Vec<String> {
    r.not_assessed
        .iter()
        .filter(|n| n.checks.iter().any(|c| c == check))
        .map(|n| n.reason.clone())
        .collect()
}

#[test]
fn node004_one_finding_per_node_with_every_cve() {
    let r = audit_at(
        &with_api(&[
            host("pipe", "5.15.20-talos", "Talos (v1.0.0)", "linux"),
            host(
                "nft",
                "6.6.10-flatcar",
                "Flatcar Container Linux by Kinvolk 3815.2.0 (Oklo)",
                "linux",
            ),
            host("ok", "6.6.60", "Some Linux", "linux"),
            host(
                "win",
                "10.0.17763.6414",
                "Windows Server 2019 Datacenter",
                "windows",
            ),
        ]),
        NOW,
    );
    let pipe = finding(&r, "NODE-004", "pipe").expect("pipe");
    // No privilege and KEV: critical.
    assert_eq!(pipe.severity, crate::catalog::Severity::Critical);
    assert!(
        pipe.message.contains("CVE-2022-0847 (Dirty Pipe)"),
        "{}",
        pipe.message
    );
    assert!(pipe.message.contains("CVE-2024-1086"), "{}", pipe.message);
    assert!(
        pipe.evidence[0]
            .contains("status.nodeInfo.kernelVersion: 5.15.20-talos (exact upstream (Talos))"),
        "{:?}",
        pipe.evidence
    );
    assert!(
        pipe.evidence.iter().any(|e| e.contains("CISA KEV")),
        "{:?}",
        pipe.evidence
    );
    assert!(
        pipe.remediation.contains("live-patched"),
        "{}",
        pipe.remediation
    );
    // 5.15.149 carries every fix of the table for 5.15.
    assert!(
        pipe.remediation.contains("5.15.149 or later"),
        "{}",
        pipe.remediation
    );
    let nft = finding(&r, "NODE-004", "nft").expect("nft");
    assert_eq!(nft.severity, crate::catalog::Severity::High);
    assert!(nft.message.ends_with("CVE-2024-1086"), "{}", nft.message);
    assert!(finding(&r, "NODE-004", "ok").is_none());
    // Windows: nothing to say, and nothing not assessed.
    assert!(finding(&r, "NODE-004", "win").is_none());
    assert!(reasons(&r, "NODE-004").is_empty(), "{:?}", r.not_assessed);
}

#[test]
fn node004_vendor_kernels_without_a_row_are_one_severity_lower() {
    let r = audit_at(
        &with_api(&[host(
            "al2",
            "5.10.93-84.183.amzn2.x86_64",
            "Amazon Linux 2",
            "linux",
        )]),
        NOW,
    );
    let f = finding(&r, "NODE-004", "al2").expect("finding");
    // Dirty Pipe would be critical: one lower.
    assert_eq!(f.severity, crate::catalog::Severity::High);
    assert!(
        f.message.contains("the vendor may have backported the fix"),
        "{}",
        f.message
    );
}

#[test]
fn node004_distro_kernels_not_assessed_per_reason_with_node_counts() {
    let r = audit_at(
        &with_api(&[
            host("u1", "5.15.0-23-generic", "Ubuntu 22.04 LTS", "linux"),
            host("u2", "5.15.0-91-generic", "Ubuntu 22.04.3 LTS", "linux"),
            host(
                "d1",
                "6.1.0-13-cloud-amd64",
                "Debian GNU/Linux 12 (bookworm)",
                "linux",
            ),
            host("rc", "6.8.0-rc3", "Some Linux", "linux"),
            host(
                "rhel",
                "4.18.0-348.7.1.el8_5.x86_64",
                "Red Hat Enterprise Linux 8.5 (Ootpa)",
                "linux",
            ),
        ]),
        NOW,
    );
    assert_eq!(
        reasons(&r, "NODE-004"),
        [
            "NODE-004 not assessed on 1 node (d1): distro kernel carries backports; no fix data (kernel debian-6.1)",
            "NODE-004 not assessed on 1 node (rc): release-candidate kernel: no fix data applies (kernel \"6.8.0-rc3\")",
            "NODE-004 not assessed on 1 node (rhel): distro kernel carries backports; no fix data for 9 of the 10 CVEs in stream el8_5",
            "NODE-004 not assessed on 2 nodes (u1, u2): distro kernel carries backports; no fix data (kernel ubuntu-5.15-generic)",
        ]
    );
    // The RHEL row judges Dirty Pipe within el8_5.
    let f = finding(&r, "NODE-004", "rhel").expect("rhel");
    assert!(f.message.contains("CVE-2022-0847"), "{}", f.message);
    assert!(
        f.evidence.iter().any(|e| e.contains("RHSA-2022:0831")),
        "{:?}",
        f.evidence
    );
    // Ubuntu's 5.15.0 is never judged on its base version.
    assert!(finding(&r, "NODE-004", "u1").is_none());
}

#[test]
fn node005_os_end_of_life() {
    let r = audit_at(
        &with_api(&[
            host("centos", "6.6.60", "CentOS Linux 7 (Core)", "linux"),
            host("bionic", "6.6.60", "Ubuntu 18.04.6 LTS", "linux"),
            host("jammy", "6.6.60", "Ubuntu 22.04.4 LTS", "linux"),
            host(
                "cos",
                "6.1.100+",
                "Container-Optimized OS from Google",
                "linux",
            ),
            host(
                "br",
                "6.1.102",
                "Bottlerocket OS 1.22.0 (aws-k8s-1.30)",
                "linux",
            ),
            host(
                "win",
                "10.0.17763.6414",
                "Windows Server 2019 Datacenter",
                "windows",
            ),
        ]),
        "2026-12-05T12:00:00Z",
    );
    let centos = finding(&r, "NODE-005", "centos").expect("centos");
    assert_eq!(centos.severity, crate::catalog::Severity::High);
    assert!(
        centos
            .message
            .contains("past the end of all support (2024-06-30)"),
        "{}",
        centos.message
    );
    let bionic = finding(&r, "NODE-005", "bionic").expect("bionic");
    assert_eq!(bionic.severity, crate::catalog::Severity::Medium);
    assert!(
        bionic
            .message
            .contains("past its standard support (2023-05-31)"),
        "{}",
        bionic.message
    );
    assert!(
        bionic.message.contains("Ubuntu Pro (ESM)"),
        "{}",
        bionic.message
    );
    assert!(
        bionic
            .evidence
            .iter()
            .any(|e| e.contains("https://ubuntu.com/about/release-cycle")),
        "{:?}",
        bionic.evidence
    );
    assert!(finding(&r, "NODE-005", "jammy").is_none());
    assert!(finding(&r, "NODE-005", "win").is_none());
    let why = reasons(&r, "NODE-005");
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(
        why.iter().any(|w| w.starts_with(
            "NODE-005 not assessed on 1 node (br): Bottlerocket publishes no end-of-life date"
        )),
        "{why:?}"
    );
    assert!(why.iter().any(|w| w.starts_with("NODE-005 not assessed on 1 node (cos): Container-Optimized OS")), "{why:?}");
}

#[test]
fn node005_dates_follow_the_audit_time() {
    let docs = with_api(&[host("centos", "6.6.60", "CentOS Linux 7 (Core)", "linux")]);
    let eol = |now: &str| {
        audit_at(&docs, now)
            .findings
            .iter()
            .any(|f| f.check == "NODE-005")
    };
    // The table's date is the last supported day.
    assert!(!eol("2024-06-30T23:59:59Z"));
    assert!(eol("2024-07-01T00:00:00Z"));
}

#[test]
fn a_fixed_node_is_not_held_because_another_cannot_be_judged() {
    use crate::audit::run_with_previous;
    let docs = |kernel: &str| {
        with_api(&[
            host("talos", kernel, "Talos (v1.8.0)", "linux"),
            host("ubuntu", "5.15.0-91-generic", "Ubuntu 22.04.3 LTS", "linux"),
        ])
    };
    let input = |docs: &[String]| snapshot(&docs.join("---\n"));
    let spec = SecurityPolicySpec {
        checks: CheckSelection {
            include: vec!["node".to_string()],
            ..Default::default()
        },
        ..Default::default()
    };
    let policy = EffectivePolicy::compile("p", &spec).expect("valid policy");
    let audit = |snap: &crate::snapshot::Snapshot,
                 previous: &[std::sync::Arc<crate::audit::Finding>]| {
        run_with_previous(
            &AuditInput {
                snapshot: snap,
                policy: &policy,
                now: NOW.parse().expect("timestamp"),
                release_data: ReleaseData::builtin(),
                probe: None,
                images: None,
                kubelet: None,
            },
            previous,
        )
    };
    let before = audit(&input(&docs("5.15.20-talos")), &[]);
    assert!(finding(&before, "NODE-004", "talos").is_some());
    // The Talos node is upgraded; the Ubuntu node still cannot be judged.
    let after = audit(&input(&docs("6.6.60-talos")), &before.findings);
    assert!(
        finding(&after, "NODE-004", "talos").is_none(),
        "{:?}",
        found(&after)
    );
    assert_eq!(reasons(&after, "NODE-004").len(), 1);
}
