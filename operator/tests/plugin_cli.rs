//! The binary as the kubectl plugin: invoked through a symlink named `kubectl-posture`, as
//! kubectl runs it for `kubectl posture …`. Offline paths and argument parsing; the live
//! `findings` listing is in e2e/tests/plugin.rs.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A directory holding `kubectl-posture -> kube-posture`, one per test.
fn plugin(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kp-plugin-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("kubectl-posture");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kube-posture"), &link).unwrap();
    link
}

fn run(test: &str, args: &[&str]) -> Output {
    Command::new(plugin(test))
        .args(args)
        .output()
        .expect("kubectl-posture runs")
}

fn sample() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../e2e/fixtures/insecure-cluster")
        .to_str()
        .unwrap()
        .to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_names_the_plugin_as_kubectl_does() {
    let o = run("help", &["--help"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Usage: kubectl posture"), "{out}");
    for cmd in ["audit", "findings", "report"] {
        assert!(out.contains(&format!("  {cmd} ")), "{cmd} in\n{out}");
    }
    let o = run("help-findings", &["findings", "--help"]);
    let out = stdout(&o);
    for flag in [
        "--kubeconfig",
        "--context",
        "-n, --namespace",
        "-A, --all-namespaces",
        "-l, --selector",
        "-o, --output",
    ] {
        assert!(out.contains(flag), "{flag} in\n{out}");
    }
    assert!(out.contains("wide") && out.contains("name"), "{out}");
}

#[test]
fn audit_through_the_plugin_name_prints_layers() {
    let s = sample();
    let o = run("audit", &["audit", "--snapshot", &s, "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let block = out
        .split("POSTURE BY LAYER\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no layer block in\n{out}"));
    let identity = block
        .lines()
        .find(|l| l.trim_start().starts_with("identity "))
        .unwrap_or_else(|| panic!("no identity line in\n{block}"));
    assert!(
        identity.contains("/100") && identity.contains("critical"),
        "{identity}"
    );
    // The sample's nodes run Ubuntu kernels the release data cannot judge: the paths
    // through them are not assessed, and the line says so next to what was found.
    let paths = block
        .lines()
        .find(|l| l.trim_start().starts_with("paths "))
        .unwrap_or_else(|| panic!("no paths line in\n{block}"));
    assert!(paths.contains("not assessed"), "{paths}");
    assert!(
        out.lines().last().unwrap().contains("score"),
        "the summary line stays last"
    );

    let o = run(
        "audit-json",
        &["audit", "--snapshot", &s, "-q", "-o", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let layers = v["layers"].as_array().expect("layers");
    let names: Vec<&str> = layers.iter().filter_map(|l| l["layer"].as_str()).collect();
    assert_eq!(names[0], "identity", "{names:?}");
    let critical: u64 = layers.iter().filter_map(|l| l["critical"].as_u64()).sum();
    assert_eq!(Some(critical), v["summary"]["critical"].as_u64());
    // XL-001 found a path on a node it could judge; the other paths are not assessed.
    let paths = layers.iter().find(|l| l["layer"] == "paths").unwrap();
    assert_eq!(paths["critical"], 1, "{paths}");
    assert!(paths["notAssessed"].as_u64() > Some(0), "{paths}");
}

#[test]
fn report_through_the_plugin_name() {
    let s = sample();
    let o = run(
        "report",
        &[
            "report",
            "--framework",
            "cis-1.12",
            "--snapshot",
            &s,
            "-q",
            "-o",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["id"], "cis-1.12", "{v}");
    assert!(
        v["summary"]["failed"].as_u64().is_some_and(|n| n > 0),
        "{v}"
    );
}

#[test]
fn findings_flags_are_checked_before_any_cluster_read() {
    let o = run("conflict", &["findings", "-A", "-n", "team"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("cannot be used with"), "{err}");
    assert!(
        err.contains("kubectl posture findings"),
        "usage names the plugin: {err}"
    );
    let o = run("format", &["findings", "-o", "custom-columns=X:.a"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("possible values"), "{}", stderr(&o));
}

#[test]
fn kubeconfig_and_context_choose_the_cluster() {
    let missing = "/nonexistent/kubeconfig";
    let o = run("missing", &["findings", "--kubeconfig", missing]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(missing), "{}", stderr(&o));

    // A kubeconfig whose only context is `real`: --context names another, which is refused
    // without connecting anywhere.
    let dir = plugin("context").parent().unwrap().to_path_buf();
    let kc = dir.join("kubeconfig");
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\ncurrent-context: real\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: real\n  context: {cluster: c, user: u}\n",
    )
    .unwrap();
    let o = Command::new(dir.join("kubectl-posture"))
        .args([
            "findings",
            "--kubeconfig",
            kc.to_str().unwrap(),
            "--context",
            "elsewhere",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("elsewhere"), "{}", stderr(&o));
    // --context also goes through KUBECONFIG when --kubeconfig is absent.
    let o = Command::new(dir.join("kubectl-posture"))
        .args(["audit", "--context", "elsewhere", "-q"])
        .env("KUBECONFIG", &kc)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("elsewhere"), "{}", stderr(&o));
}

#[test]
fn audit_n_narrows_namespaced_targets_to_one_namespace() {
    let s = sample();
    let o = run(
        "audit-n",
        &[
            "audit",
            "--snapshot",
            &s,
            "-q",
            "-o",
            "json",
            "-n",
            "payments",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let mut in_payments = 0;
    for f in findings {
        let r = &f["resource"];
        match r["namespace"].as_str() {
            Some("payments") => in_payments += 1,
            // The control plane's flags are cluster configuration: always audited.
            Some("kube-system") => assert_eq!(r["kind"], "Pod", "{f}"),
            Some(other) => panic!("a finding in {other}: {f}"),
            None if r["kind"] == "Namespace" => assert_eq!(r["name"], "payments", "{f}"),
            None => {}
        }
    }
    assert!(in_payments > 0, "{v:#}");
    assert!(
        findings
            .iter()
            .any(|f| f["resource"]["kind"] == "ClusterRoleBinding")
    );
}
