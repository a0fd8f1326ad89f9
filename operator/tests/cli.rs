//! The command line as users run it: exit codes, output formats, bad input.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kube-posture"))
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/fixtures/insecure-cluster")
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("kube-posture runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str, text: &str) -> PathBuf {
    // Under the target directory, which cargo owns (and `cargo clean` empties), not /tmp.
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The sample cluster audited with `-o FORMAT`.
fn audit_sample(format: &str) -> Output {
    run(&[
        "audit",
        "--snapshot",
        sample().to_str().unwrap(),
        "-o",
        format,
        "-q",
    ])
}

fn audit_json(extra: &[&str]) -> Value {
    let s = sample();
    let mut args = vec![
        "audit",
        "--snapshot",
        s.to_str().unwrap(),
        "-o",
        "json",
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("JSON output")
}

#[test]
fn table_output_and_exit_codes() {
    let s = sample();
    let o = run(&["audit", "--snapshot", s.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "no --fail-on: findings do not fail"
    );
    let out = stdout(&o);
    assert!(
        out.contains("CRITICAL (") && out.contains("RBAC-001  ClusterRoleBinding ci-admin"),
        "{out}"
    );
    assert!(
        out.lines().last().unwrap().contains("score"),
        "summary line last"
    );
    assert!(
        !out.contains("\x1b["),
        "no colour when stdout is not a terminal"
    );
    assert!(stderr(&o).contains("objects from"), "progress on stderr");

    let o = run(&[
        "audit",
        "--snapshot",
        s.to_str().unwrap(),
        "--fail-on",
        "critical",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).is_empty());
}

#[test]
fn json_follows_the_contract() {
    let doc = audit_json(&[]);
    let findings = doc["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        for key in [
            "check",
            "severity",
            "category",
            "title",
            "message",
            "remediation",
            "resource",
            "subject",
            "node",
            "daemonSet",
            "container",
            "reason",
            "evidence",
            "suppressed",
        ] {
            assert!(f.get(key).is_some(), "finding lacks {key}: {f}");
        }
        for key in ["apiVersion", "kind", "namespace", "name"] {
            assert!(f["resource"].get(key).is_some(), "resource lacks {key}");
        }
    }
    let rank = |s: &str| {
        ["critical", "high", "medium", "low", "info"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let keys: Vec<_> = findings
        .iter()
        .map(|f| {
            (
                rank(f["severity"].as_str().unwrap()),
                f["check"].as_str().unwrap().to_string(),
                f["resource"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                f["resource"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by severity, check, namespace, name");
    let summary = &doc["summary"];
    let total: u64 = ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .sum();
    assert_eq!(summary["total"].as_u64().unwrap(), total);
    assert_eq!(total as usize, findings.len());
    assert!(summary["score"].as_u64().unwrap() <= 100);
    assert!(doc["notAssessed"].is_array());
    let admin = findings.iter().find(|f| f["check"] == "RBAC-001").unwrap();
    assert_eq!(admin["subject"]["kind"], "ServiceAccount");
    assert_eq!(admin["resource"]["namespace"], Value::Null);
}

#[test]
fn policy_exceptions_overrides_and_scope() {
    let policy = tmp(
        "policy.yaml",
        r#"apiVersion: kubeposture.io/v1alpha1
kind: SecurityPolicy
metadata: {name: team}
spec:
  checks: {exclude: [RBAC-017]}
  severityOverrides: [{check: RBAC-016, severity: low}]
  namespaces: {exclude: [payments]}
  exceptions:
  - check: RBAC-001
    resource: {kind: ClusterRoleBinding, namespace: "", name: "ops-*"}
    reason: break-glass, reviewed quarterly
    expires: "2030-01-01T00:00:00Z"
  - check: RBAC-009
    resource: {name: nothing-matches}
    reason: stale
"#,
    );
    let doc = audit_json(&[
        "--policy",
        policy.to_str().unwrap(),
        "--as-of",
        "2026-11-28",
    ]);
    let findings = doc["findings"].as_array().unwrap();
    let has = |check: &str, name: &str| {
        findings
            .iter()
            .any(|f| f["check"] == check && f["resource"]["name"] == name)
    };
    assert!(
        !findings.iter().any(|f| f["check"] == "RBAC-017"),
        "excluded check"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f["resource"]["namespace"] == "payments"),
        "excluded namespace"
    );
    let dangling = findings.iter().find(|f| f["check"] == "RBAC-016").unwrap();
    assert_eq!(dangling["severity"], "low", "override");
    let waived = findings
        .iter()
        .find(|f| f["check"] == "RBAC-001" && f["resource"]["name"] == "ops-admin-bot")
        .unwrap();
    assert_eq!(waived["suppressed"], true);
    assert_eq!(waived["suppressedBy"], "break-glass, reviewed quarterly");
    assert!(has("RBAC-001", "ci-admin"));
    assert_eq!(doc["summary"]["suppressed"], 1);
    assert!(has("POL-002", "team"), "an exception that matched nothing");
    assert_eq!(doc["policy"], "team");

    // Once expired, the exception suppresses nothing and raises POL-001.
    let doc = audit_json(&[
        "--policy",
        policy.to_str().unwrap(),
        "--as-of",
        "2031-01-01",
    ]);
    let findings = doc["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["check"] == "POL-001"));
    assert_eq!(doc["summary"]["suppressed"], 0);
}

#[test]
fn sarif_has_one_rule_per_check() {
    let o = audit_sample("sarif");
    assert!(o.status.success());
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run0 = &doc["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let catalog: Value = serde_json::from_slice(&run(&["checks", "-o", "json"]).stdout).unwrap();
    assert_eq!(rules.len(), catalog.as_array().unwrap().len());
    let results = run0["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let r = &results[0];
    let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        uri.ends_with(".yaml"),
        "results point at the snapshot file: {uri}"
    );
    let idx = r["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[idx]["id"], r["ruleId"]);
}

#[test]
fn yaml_output_parses() {
    let s = sample();
    let o = run(&[
        "audit",
        "--snapshot",
        s.to_str().unwrap(),
        "-o",
        "yaml",
        "-q",
    ]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.contains("findings:") && text.contains("check: RBAC-001"),
        "{text}"
    );
}

#[test]
fn bad_input_exits_2_naming_the_file() {
    let bad = tmp(
        "bad.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n- just\n- a list\n",
    );
    let o = run(&["audit", "--snapshot", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bad.yaml: document 2: not a Kubernetes object"),
        "{err}"
    );
    assert!(!err.contains("panicked"));

    let broken = tmp("broken.yaml", "key: [unclosed\n");
    let o = run(&["audit", "--snapshot", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("broken.yaml: not valid YAML"),
        "{}",
        stderr(&o)
    );

    let o = run(&["audit", "--snapshot", "/nonexistent/path"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/path"));

    let policy = tmp(
        "bad-policy.yaml",
        "apiVersion: kubeposture.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {name: p}\nspec:\n  checks: {include: [RBAC-999]}\n  namespaces: {include: ['team-[']}\n",
    );
    let s = sample();
    let o = run(&[
        "audit",
        "--snapshot",
        s.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("bad-policy.yaml")
            && err.contains("spec.checks.include[0]")
            && err.contains("spec.namespaces.include[0]"),
        "{err}"
    );

    let o = run(&[
        "audit",
        "--snapshot",
        s.to_str().unwrap(),
        "--fail-on",
        "urgent",
    ]);
    assert_eq!(o.status.code(), Some(2), "bad usage");
}

#[test]
fn checks_and_crds_commands() {
    let o = run(&["checks"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("RBAC-030"));
    let o = run(&["checks", "-o", "json"]);
    let catalog: Value = serde_json::from_slice(&o.stdout).unwrap();
    let first = &catalog[0];
    for key in [
        "id",
        "category",
        "severity",
        "default",
        "title",
        "references",
    ] {
        assert!(first.get(key).is_some(), "{key}");
    }
    let o = run(&["crds"]);
    let on_disk =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds/crds.yaml"))
            .unwrap();
    assert_eq!(stdout(&o), on_disk);
}

/// The operator passes its own audit: nothing at all in manifests/, even with the restricted
/// workload checks turned on.
#[test]
fn the_operator_passes_its_own_audit() {
    // The default install: manifests/*.yaml, not manifests/optional/ (whose configz grant is
    // RBAC-009 by design, and says so).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    let policy = tmp(
        "restricted.yaml",
        "apiVersion: kubeposture.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {name: strict}\nspec:\n  checks: {include: [rbac, workload, workload-restricted]}\n",
    );
    for extra in [vec![], vec!["--policy", policy.to_str().unwrap()]] {
        let mut args = vec!["audit"];
        for f in &files {
            args.extend(["--snapshot", f.as_str()]);
        }
        args.extend(["-o", "json", "-q", "--fail-on", "low"]);
        args.extend(extra);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["summary"]["total"], 0, "{}", doc["findings"]);
    }
}

/// Code scanning annotates the object, not line 1: every result on an object read from a file
/// carries the line of that object's `metadata.name`.
#[test]
fn sarif_results_point_at_the_objects_line() {
    let o = audit_sample("sarif");
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let mut checked = 0;
    for r in results {
        let loc = &r["locations"][0];
        let uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        if !uri.ends_with(".yaml") {
            continue;
        }
        let line = loc["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap_or_else(|| panic!("no line for a result in {uri}: {r}"));
        let name = loc["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        let text = std::fs::read_to_string(uri).unwrap();
        let at = text.lines().nth(line as usize - 1).unwrap();
        assert!(
            at.contains("name:") && at.contains(name),
            "{uri}:{line} is {at:?}, not the name of {name}"
        );
        checked += 1;
    }
    assert!(checked > 50, "only {checked} results located");
}

/// `-o junit`: one test case per enabled check, a failure per failing check listing its
/// findings, not-assessed checks skipped (never passed), unreadable files as errors.
#[test]
fn junit_output_has_a_case_per_check() {
    let o = audit_sample("junit");
    assert!(o.status.success(), "{}", stderr(&o));
    let xml = stdout(&o);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let json = audit_json(&[]);
    let default_checks: Value =
        serde_json::from_slice(&run(&["checks", "-o", "json"]).stdout).unwrap();
    let enabled = default_checks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["default"] == true)
        .count();
    assert_eq!(cases.len(), enabled, "one test case per default check");
    assert_eq!(root.attribute("tests"), Some(enabled.to_string().as_str()));
    // Every check with an unsuppressed finding fails, with every finding listed.
    let findings = json["findings"].as_array().unwrap();
    let case = |id: &str| {
        cases
            .iter()
            .find(|c| c.attribute("name").unwrap().starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no test case for {id}"))
    };
    let mut failing: Vec<&str> = findings
        .iter()
        .filter(|f| f["suppressed"] != true)
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    failing.sort();
    failing.dedup();
    for id in &failing {
        let failure = case(id)
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap_or_else(|| panic!("{id} has findings but passes"));
        let n = findings.iter().filter(|f| f["check"] == *id).count();
        assert_eq!(
            failure.text().unwrap().matches("\n    fix: ").count(),
            n,
            "{id}"
        );
    }
    let failures: usize = root.attribute("failures").unwrap().parse().unwrap();
    assert_eq!(failures, failing.len());
    // Checks the snapshot cannot assess are skipped with the reason.
    for na in json["notAssessed"].as_array().unwrap() {
        for id in na["checks"].as_array().into_iter().flatten() {
            let id = id.as_str().unwrap();
            if failing.contains(&id) {
                continue;
            }
            let skipped = case(id)
                .children()
                .find(|n| n.has_tag_name("skipped"))
                .unwrap_or_else(|| panic!("{id} not assessed but not skipped"));
            assert!(
                skipped
                    .attribute("message")
                    .unwrap()
                    .starts_with("not assessed: ")
            );
        }
    }

    // An unreadable file is an error test case, and the exit code stays 2.
    let dir = std::env::temp_dir().join(format!("kp-junit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(sample().join("30-workloads.yaml"), dir.join("ok.yaml")).unwrap();
    std::fs::write(dir.join("broken.yaml"), "kind: [unclosed").unwrap();
    let o = run(&[
        "audit",
        "--snapshot",
        dir.to_str().unwrap(),
        "-o",
        "junit",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let xml = stdout(&o);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .expect("an error test case for the unreadable file");
    assert!(error.text().unwrap().contains("broken.yaml"));
    assert_eq!(doc.root_element().attribute("errors"), Some("1"));
    std::fs::remove_dir_all(&dir).unwrap();
}
