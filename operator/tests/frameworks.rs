//! `report --framework` and `frameworks` as users run them, on the repository's sample
//! snapshots: control-by-control statuses, exit codes, errors.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kube-posture"))
        .args(args)
        .output()
        .expect("kube-posture runs")
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The insecure sample cluster `make demo` applies.
fn insecure() -> PathBuf {
    fixture("../e2e/fixtures/insecure-cluster")
}

/// A kubeadm 1.30 control plane with kubeadm's own flags (no workloads, no RBAC objects).
fn kubeadm() -> PathBuf {
    fixture("tests/fixtures/kubeadm-1.30")
}

fn report(framework: &str, snapshot: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "report",
        "--framework",
        framework,
        "--snapshot",
        snapshot.to_str().unwrap(),
        "-o",
        "json",
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON output")
}

/// control ID → (status, failing resources).
fn statuses(doc: &Value) -> BTreeMap<String, (String, u64)> {
    doc["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                (
                    c["status"].as_str().unwrap().to_string(),
                    c["failing"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

fn assert_controls(doc: &Value, expected: &[(&str, &str, u64)]) {
    let got = statuses(doc);
    let mut wrong = Vec::new();
    for (id, status, failing) in expected {
        match got.get(*id) {
            Some((s, n)) if s == status && n == failing => {}
            other => wrong.push(format!(
                "{id}: expected {status} ({failing} failing), got {other:?}"
            )),
        }
    }
    assert!(wrong.is_empty(), "{} {}", doc["id"], wrong.join("\n"));
}

fn counts(doc: &Value) -> (u64, u64, u64, u64) {
    let n = |k: &str| doc["summary"][k].as_u64().unwrap();
    (n("passed"), n("failed"), n("manual"), n("notAssessed"))
}

#[test]
fn cis_on_the_insecure_cluster() {
    let doc = report("cis-1.12", &insecure(), &[]);
    assert_controls(
        &doc,
        &[
            // File permissions on the nodes: no check can see them.
            ("1.1.1", "manual", 0),
            ("1.1.13", "manual", 0),
            ("1.2.1", "fail", 1),
            ("1.2.2", "fail", 1),
            ("1.2.6", "fail", 1),
            ("1.2.13", "pass", 0),
            ("1.2.16", "pass", 0),
            ("1.2.17", "fail", 1),
            ("1.2.18", "pass", 0),
            ("1.2.20", "manual", 0),
            ("1.2.24", "pass", 0),
            // Partial: a missing provider config fails it.
            ("1.2.28", "fail", 1),
            ("1.3.4", "pass", 0),
            ("1.3.7", "fail", 1),
            ("1.4.2", "fail", 1),
            ("2.1", "fail", 1),
            ("2.7", "fail", 1),
            ("3.2.1", "manual", 0),
            // No kubelet configuration in the dump (no kubeadm ConfigMap, no node-args, no
            // configz offline): not assessed, never a pass.
            ("4.2.1", "not-assessed", 0),
            ("5.1.1", "fail", 2),
            ("5.1.4", "fail", 2),
            ("5.1.7", "manual", 0),
            ("5.2.1", "fail", 7),
            ("5.2.2", "fail", 2),
            // WL-002's evidence splits the three host namespaces: nobody shares hostIPC.
            ("5.2.3", "fail", 2),
            ("5.2.4", "pass", 0),
            ("5.2.5", "fail", 1),
            ("5.2.11", "fail", 4),
            ("5.2.12", "fail", 1),
            ("5.3.2", "manual", 0),
            ("5.6.2", "fail", 8),
        ],
    );
    // The twelve mapped kubelet controls are not assessed: the dump has no kubelet
    // configuration (no kubeadm ConfigMap, no node-args; configz needs a live cluster).
    assert_eq!(counts(&doc), (9, 61, 49, 12));
    assert_eq!(doc["score"], 13);
    let c121 = doc["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "1.2.1")
        .unwrap();
    assert_eq!(c121["citation"], "CIS Kubernetes Benchmark v1.12.0, 1.2.1");
    assert_eq!(c121["checks"][0]["id"], "API-001");
}

/// kubeadm's control plane, which deserves exactly the findings README lists: its controls
/// pass and fail accordingly, and with no RBAC objects in the input, 5.1 is not assessed.
#[test]
fn cis_on_a_kubeadm_control_plane() {
    let doc = report("cis-1.12", &kubeadm(), &[]);
    assert_controls(
        &doc,
        &[
            ("1.2.1", "fail", 1),
            ("1.2.2", "pass", 0),
            ("1.2.3", "fail", 1),
            ("1.2.4", "pass", 0),
            ("1.2.5", "fail", 1),
            ("1.2.6", "pass", 0),
            ("1.2.7", "pass", 0),
            ("1.2.8", "pass", 0),
            ("1.2.14", "pass", 0),
            ("1.2.16", "fail", 1),
            ("1.2.27", "fail", 1),
            ("1.2.30", "fail", 1),
            ("1.3.1", "fail", 1),
            ("1.3.3", "pass", 0),
            ("1.4.1", "fail", 1),
            ("1.4.2", "pass", 0),
            ("2.1", "pass", 0),
            ("2.2", "pass", 0),
            ("2.7", "manual", 0),
            // kubeadm's kubelet-config ConfigMap: no serving certificate pair, no PID limit.
            ("4.2.9", "fail", 1),
            ("4.2.13", "fail", 1),
            ("5.1.1", "not-assessed", 0),
            ("5.1.2", "not-assessed", 0),
            ("5.2.1", "not-assessed", 0),
            // The workload checks ran, but on no workload at all (control-plane Pods are
            // exempt): nothing was judged, so nothing passes.
            ("5.2.2", "not-assessed", 0),
            ("5.2.11", "not-assessed", 0),
        ],
    );
    // KUBELET-* judge the kubeadm kubelet-config ConfigMap: 4.2.9, 4.2.13 and 4.2.14 fail;
    // with no Node in the input the other 4.2 controls are not assessed rather than manual.
    assert_eq!(counts(&doc), (31, 16, 50, 34));
    // The three kubelet failures (one medium, two low) lower the score from 70.
    assert_eq!(doc["score"], 66);
    assert!(
        doc["notAssessed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["category"] == "rbac"),
        "the JSON says why 5.1 is not assessed"
    );
}

#[test]
fn nsa_cisa_sections() {
    let doc = report("nsa-cisa-1.2", &insecure(), &[]);
    assert_controls(
        &doc,
        &[
            ("pod-non-root", "fail", 4),
            ("pod-privileges", "fail", 8),
            ("pod-hardened-runtime", "manual", 0),
            ("net-network-policies", "manual", 0),
            ("net-etcd", "fail", 5),
            ("auth-rbac", "fail", 18),
            ("log-audit", "fail", 1),
            // No required DaemonSet in the default policy: nothing says which agent to expect.
            ("log-threat-detection", "not-assessed", 0),
        ],
    );
    let doc = report("nsa-cisa-1.2", &kubeadm(), &[]);
    assert_controls(
        &doc,
        &[
            ("net-etcd", "pass", 0),
            ("auth-authentication", "fail", 1),
            ("net-encryption", "fail", 1),
            // Profiling on in three components: three Pods.
            ("net-control-plane", "fail", 3),
            ("log-audit", "fail", 1),
            // Partial coverage never passes: API-027 failed here.
            ("net-secrets", "fail", 1),
        ],
    );
}

#[test]
fn pod_security_standards() {
    let doc = report("pss-baseline", &insecure(), &[]);
    assert_controls(
        &doc,
        &[
            ("host-process", "manual", 0),
            ("host-namespaces", "fail", 2),
            ("privileged-containers", "fail", 2),
            ("capabilities", "fail", 1),
            ("hostpath-volumes", "fail", 4),
            ("host-ports", "fail", 1),
            ("apparmor", "pass", 0),
            ("selinux", "manual", 0),
            ("proc-mount-type", "pass", 0),
            ("seccomp", "fail", 1),
            ("sysctls", "pass", 0),
        ],
    );
    assert_eq!(counts(&doc), (3, 6, 2, 0));
    // Nine workloads in the sample: passing resources are derivable for workload controls.
    let privileged = doc["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "privileged-containers")
        .unwrap();
    assert_eq!(
        (&privileged["failing"], &privileged["passing"]),
        (&2.into(), &7.into())
    );

    // Restricted runs its off-by-default checks (WL-006…008) without a policy file.
    let doc = report("pss-restricted", &insecure(), &[]);
    assert_controls(
        &doc,
        &[
            ("capabilities", "fail", 8),
            ("seccomp", "fail", 8),
            ("privilege-escalation", "fail", 7),
            ("running-as-non-root", "fail", 4),
            ("running-as-non-root-user", "fail", 4),
            ("volume-types", "fail", 4),
            ("apparmor", "pass", 0),
        ],
    );
    assert_eq!(counts(&doc), (3, 10, 2, 0));
}

/// A policy file is applied as written: the checks it leaves out do not run, and their
/// controls are not assessed rather than passed.
#[test]
fn a_policy_that_leaves_checks_out_leaves_controls_unassessed() {
    let samples = fixture("../config/samples/rbac-least-privilege.yaml");
    let doc = report(
        "cis-1.12",
        &insecure(),
        &["--policy", samples.to_str().unwrap()],
    );
    assert_controls(
        &doc,
        &[
            ("1.2.1", "not-assessed", 0),
            ("2.1", "not-assessed", 0),
            ("5.2.2", "not-assessed", 0),
            ("5.1.2", "fail", 1),
        ],
    );
    assert_eq!(doc["policy"], "rbac-least-privilege");
}

#[test]
fn exit_codes_and_the_table() {
    let s = insecure();
    let o = run(&[
        "report",
        "--framework",
        "pss-baseline",
        "--snapshot",
        s.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "no --fail-on: failures do not fail"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "SEVERITY", "CONTROL", "STATUS", "FAILING"]);
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("privileged-containers "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        (row[1], row[row.len() - 2], row[row.len() - 1]),
        ("critical", "fail", "2")
    );
    assert!(
        out.lines()
            .last()
            .unwrap()
            .contains("3 pass, 6 fail, 2 manual, 0 not assessed · score 33/100"),
        "{out}"
    );

    let fail_on = |framework: &str, snapshot: &Path, severity: &str| {
        run(&[
            "report",
            "--framework",
            framework,
            "--snapshot",
            snapshot.to_str().unwrap(),
            "--fail-on",
            severity,
            "-q",
        ])
        .status
        .code()
    };
    assert_eq!(fail_on("pss-baseline", &s, "critical"), Some(1));
    // kubeadm's control plane has no workload: no baseline control fails (nor passes),
    // whatever the bar.
    assert_eq!(fail_on("pss-baseline", &kubeadm(), "low"), Some(0));
    // Its CIS failures are high at most (1.2.1, 1.2.16, 1.2.27 …), none critical.
    assert_eq!(fail_on("cis-1.12", &kubeadm(), "critical"), Some(0));
    assert_eq!(fail_on("cis-1.12", &kubeadm(), "high"), Some(1));
}

#[test]
fn unknown_frameworks_and_unreadable_input_exit_2() {
    let s = insecure();
    let o = run(&[
        "report",
        "--framework",
        "cis-1.6",
        "--snapshot",
        s.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown framework \"cis-1.6\"")
            && err.contains("cis-1.12, nsa-cisa-1.2, pss-baseline, pss-restricted"),
        "{err}"
    );
    assert!(o.stdout.is_empty());

    let dir = std::env::temp_dir().join(format!("kp-fw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.yaml"), "key: [unclosed\n").unwrap();
    let broken = dir.join("broken.yaml");
    let o = run(&[
        "report",
        "--framework",
        "cis-1.12",
        "--snapshot",
        s.to_str().unwrap(),
        "--snapshot",
        broken.to_str().unwrap(),
        "--fail-on",
        "critical",
        "-o",
        "json",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an incomplete report never passes"
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["inputErrors"][0]["file"], broken.to_str().unwrap());
}

#[test]
fn frameworks_lists_the_four() {
    let o = run(&["frameworks"]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    let ids: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        ids,
        ["cis-1.12", "nsa-cisa-1.2", "pss-baseline", "pss-restricted"]
    );
    let o = run(&["frameworks", "-o", "json"]);
    let all: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(all[0]["controls"].as_array().unwrap().len(), 131);
    assert_eq!(all[0]["controls"][0]["coverage"], "manual");

    let o = run(&["frameworks", "pss-restricted"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.lines()
            .any(|l| l.starts_with("seccomp ") && l.ends_with("WL-008, WL-012:seccomp")),
        "{out}"
    );
    let o = run(&["frameworks", "-o", "markdown"]);
    assert_eq!(o.status.code(), Some(2), "markdown needs a framework");
    let o = run(&["frameworks", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `audit -o json` carries each framework's counts, the same as `report --framework` gives.
#[test]
fn audit_json_summarises_the_frameworks() {
    let s = insecure();
    let o = run(&[
        "audit",
        "--snapshot",
        s.to_str().unwrap(),
        "-o",
        "json",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let fw = doc["frameworks"].as_array().expect("frameworks");
    assert_eq!(fw.len(), 4);
    let baseline = fw.iter().find(|f| f["id"] == "pss-baseline").unwrap();
    let report = report("pss-baseline", &s, &[]);
    for k in ["passed", "failed", "manual", "notAssessed"] {
        assert_eq!(baseline[k], report["summary"][k], "{k}");
    }
    assert_eq!(baseline["score"], report["score"]);
}
