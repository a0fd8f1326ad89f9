//! config/monitoring/ against what the operator really exports: every metric an alert, a
//! dashboard panel or a dashboard variable names is one the operator registers (read from its
//! registry, not from a list kept here), every alert has a severity and a runbook whose
//! section exists, and the ServiceMonitor scrapes the Service and port that manifests/ ship.

use super::metrics::Metrics;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

const RUNBOOKS: &str = "https://github.com/kube-posture/kube-posture/blob/main/docs/runbooks.md#";

fn repo_file(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn yaml(path: &str) -> Value {
    crate::yaml::from_str(&repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every `kube_posture_…` name in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    const PREFIX: &str = "kube_posture_";
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find(PREFIX) {
        // Part of a longer identifier (`my_kube_posture_x`): not ours.
        let at = expr.len() - rest.len() + i;
        let preceded = expr[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(tail.len());
        if !preceded {
            out.push(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    out
}

/// The names in `expr` the operator does not export (a histogram's `_bucket`, `_sum` and
/// `_count` series count as its own).
fn unknown_metrics(expr: &str, exported: &BTreeMap<String, &'static str>) -> Vec<String> {
    metric_names(expr)
        .into_iter()
        .filter(|name| {
            if exported.contains_key(name) {
                return false;
            }
            let histogram_series = ["_bucket", "_sum", "_count"].iter().any(|s| {
                name.strip_suffix(s)
                    .is_some_and(|base| exported.get(base) == Some(&"histogram"))
            });
            !histogram_series
        })
        .collect()
}

/// GitHub's anchor for a Markdown heading.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn runbook_anchors() -> BTreeSet<String> {
    repo_file("docs/runbooks.md")
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(anchor)
        .collect()
}

fn alerts() -> Vec<Value> {
    let rule = yaml("config/monitoring/prometheusrule.yaml");
    assert_eq!(rule["kind"], "PrometheusRule");
    let rules: Vec<Value> = rule["spec"]["groups"]
        .as_array()
        .expect("spec.groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").clone())
        .collect();
    assert!(!rules.is_empty());
    rules
}

fn dashboard() -> Value {
    serde_json::from_str(&repo_file(
        "config/monitoring/dashboards/kube-posture-overview.json",
    ))
    .expect("the dashboard is JSON")
}

/// Every `expr` in the dashboard's panels, and its variables' queries.
fn dashboard_queries(d: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().expect("targets") {
            out.push(t["expr"].as_str().expect("a target's expr").to_string());
        }
    }
    for v in d["templating"]["list"].as_array().expect("templating") {
        if v["type"] == "query" {
            out.push(v["definition"].as_str().expect("definition").to_string());
            out.push(v["query"]["query"].as_str().expect("query").to_string());
        }
    }
    out
}

#[test]
fn the_checker_catches_misspelt_and_foreign_names() {
    let m = Metrics::new();
    let exported = m.exported_names();
    let ok = "histogram_quantile(0.99, sum by (le) (rate(kube_posture_audit_duration_seconds_bucket[5m]))) \
              + sum(kube_posture_findings{severity=\"critical\"}) + kube_posture_reconcile_errors_total";
    assert_eq!(unknown_metrics(ok, exported), Vec::<String>::new());
    assert_eq!(
        unknown_metrics(
            "sum(kube_posture_finding) > kube_posture_reconcile_errors",
            exported
        ),
        ["kube_posture_finding", "kube_posture_reconcile_errors"],
        "a misspelling, and a counter without _total"
    );
    assert_eq!(
        unknown_metrics("kube_posture_score_bucket", exported),
        ["kube_posture_score_bucket"],
        "only histograms have buckets"
    );
    assert_eq!(
        metric_names("other_kube_posture_x + kube_posture_y"),
        ["kube_posture_y"]
    );
    assert_eq!(anchor("KubePostureAuditStale"), "kubepostureauditstale");
    assert_eq!(
        anchor("Pin the image: by digest"),
        "pin-the-image-by-digest"
    );
}

#[test]
fn alerts_name_exported_metrics_and_link_their_runbook() {
    let m = Metrics::new();
    let exported = m.exported_names();
    let anchors = runbook_anchors();
    let mut named = BTreeSet::new();
    for rule in alerts() {
        let alert = rule["alert"].as_str().expect("every rule is an alert");
        assert!(
            alert.starts_with("KubePosture") && alert.chars().all(|c| c.is_ascii_alphanumeric()),
            "{alert}: PascalCase, prefixed KubePosture"
        );
        let expr = rule["expr"].as_str().expect("expr");
        assert!(
            !metric_names(expr).is_empty(),
            "{alert} uses no operator metric"
        );
        assert_eq!(
            unknown_metrics(expr, exported),
            Vec::<String>::new(),
            "{alert}: not exported by the operator"
        );
        let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{alert}: severity {severity:?}"
        );
        let url = rule["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_else(|| panic!("{alert}: no runbook_url"));
        let section = url
            .strip_prefix(RUNBOOKS)
            .unwrap_or_else(|| panic!("{alert}: {url} is not in docs/runbooks.md"));
        assert!(
            anchors.contains(section),
            "{alert}: no section #{section} in docs/runbooks.md ({anchors:?})"
        );
        assert!(
            rule["annotations"]["summary"].is_string(),
            "{alert}: summary"
        );
        named.insert(anchor(alert));
    }
    assert_eq!(named, anchors, "one runbook section per alert, no more");
    // Finding alerts open tickets, they do not page (reports.md).
    for rule in alerts() {
        if rule["expr"]
            .as_str()
            .unwrap_or("")
            .contains("kube_posture_findings")
        {
            assert_eq!(rule["labels"]["severity"], "warning", "{}", rule["alert"]);
        }
    }
}

#[test]
fn dashboard_panels_name_exported_metrics() {
    let m = Metrics::new();
    let exported = m.exported_names();
    let d = dashboard();
    assert_eq!(d["uid"], "kube-posture-overview");
    let vars = d["templating"]["list"].as_array().expect("templating");
    assert!(
        vars.iter()
            .any(|v| v["name"] == "datasource" && v["type"] == "datasource"),
        "a ${{datasource}} variable"
    );
    for p in d["panels"].as_array().expect("panels") {
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{}", p["title"]);
        for t in p["targets"].as_array().expect("targets") {
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{}", p["title"]);
        }
    }
    let queries = dashboard_queries(&d);
    assert!(queries.len() > 10);
    let mut used = BTreeSet::new();
    for q in &queries {
        assert!(!metric_names(q).is_empty(), "{q}: names no operator metric");
        assert_eq!(
            unknown_metrics(q, exported),
            Vec::<String>::new(),
            "{q}: not exported by the operator"
        );
        used.extend(metric_names(q));
    }
    for staleness in [
        "kube_posture_last_audit_timestamp_seconds",
        "kube_posture_audit_interval_seconds",
        "kube_posture_policy_condition",
    ] {
        assert!(used.contains(staleness), "the dashboard shows {staleness}");
    }
}

/// The dashboard reaches Grafana's sidecar as a ConfigMap labelled grafana_dashboard: "1",
/// generated from the JSON file (one copy, no drift).
#[test]
fn kustomization_ships_everything() {
    let k = yaml("config/monitoring/kustomization.yaml");
    let resources: Vec<&str> = k["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for r in &resources {
        yaml(&format!("config/monitoring/{r}"));
    }
    for needed in [
        "servicemonitor.yaml",
        "prometheusrule.yaml",
        "metrics-reader-binding.yaml",
    ] {
        assert!(resources.contains(&needed), "{needed} in resources");
    }
    let gens = k["configMapGenerator"]
        .as_array()
        .expect("configMapGenerator");
    let dash = gens
        .iter()
        .find(|g| g["name"] == "kube-posture-dashboard")
        .expect("the dashboard ConfigMap");
    assert_eq!(dash["options"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(dash["options"]["disableNameSuffixHash"], true);
    let file = dash["files"][0].as_str().expect("files");
    assert_eq!(
        file.split_once('=').map(|(_, f)| f),
        Some("dashboards/kube-posture-overview.json")
    );
}

#[test]
fn service_monitor_scrapes_the_shipped_service_securely() {
    let sm = yaml("config/monitoring/servicemonitor.yaml");
    let svc = yaml("manifests/service.yaml");
    for (k, v) in sm["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels")
    {
        assert_eq!(
            &svc["metadata"]["labels"][k], v,
            "the Service has label {k}"
        );
    }
    assert_eq!(
        sm["spec"]["namespaceSelector"]["matchNames"][0],
        svc["metadata"]["namespace"]
    );
    let ep = &sm["spec"]["endpoints"][0];
    let ports: Vec<&Value> = svc["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert!(
        ports.contains(&&ep["port"]),
        "port {} of the Service",
        ep["port"]
    );
    assert_eq!(ep["scheme"], "https");
    assert_eq!(
        ep["bearerTokenFile"],
        "/var/run/secrets/kubernetes.io/serviceaccount/token"
    );
    let binding = yaml("config/monitoring/metrics-reader-binding.yaml");
    let reader = repo_file("manifests/metrics.yaml");
    let role = binding["roleRef"]["name"].as_str().expect("roleRef");
    assert!(
        reader.contains(&format!("name: {role}\n")),
        "{role} is the ClusterRole manifests/metrics.yaml ships"
    );
}
