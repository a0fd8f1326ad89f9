use super::build::*;
use super::flavor::Flavor;
use crate::api::{Finding as FindingObject, FindingSpec, FindingStatus, TargetRef};
use crate::catalog::Severity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::HashMap;
use std::sync::Arc;

const SEEN: &str = "2026-12-05T10:00:00.25Z";

fn target(kind: &str, ns: &str, name: &str) -> TargetRef {
    let api_version = match kind {
        "Deployment" => "apps/v1",
        "ClusterRoleBinding" => "rbac.authorization.k8s.io/v1",
        _ => "v1",
    };
    TargetRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: ns.into(),
        name: name.into(),
    }
}

/// A Finding object as the controller writes it.
fn finding(policy: &str, check: &str, t: TargetRef, n: usize, severity: Severity) -> FindingObject {
    FindingObject {
        metadata: ObjectMeta {
            name: Some(format!("{policy}-{}-{n:08x}", check.to_lowercase())),
            ..Default::default()
        },
        spec: FindingSpec {
            policy: policy.into(),
            check: check.into(),
            resource: t,
        },
        status: Some(FindingStatus {
            severity: Some(severity),
            category: Some("workload".into()),
            message: Some(format!("finding {n}")),
            first_seen: Some(SEEN.into()),
            ..Default::default()
        }),
    }
}

fn owners() -> Owners {
    let mut o = Owners::default();
    o.insert("Deployment", "payments", "api", "uid-api");
    o.insert("Node", "", "node-1", "uid-node");
    o.insert("ClusterRoleBinding", "", "ci-admin", "uid-crb");
    o
}

fn sample() -> Vec<Arc<FindingObject>> {
    let api = || target("Deployment", "payments", "api");
    let mut suppressed = finding("base", "WL-005", api(), 3, Severity::Medium);
    let st = suppressed.status.as_mut().unwrap();
    st.suppressed = true;
    st.suppressed_by = Some("the vendor image needs root".into());
    [
        finding("base", "WL-001", api(), 1, Severity::Critical),
        finding("base", "WL-002", api(), 2, Severity::High),
        suppressed,
        // The same check on the same object, found by a second policy.
        finding("other", "WL-001", api(), 1, Severity::Critical),
        finding(
            "base",
            "NODE-001",
            target("Node", "", "node-1"),
            4,
            Severity::High,
        ),
        finding(
            "base",
            "RBAC-001",
            target("ClusterRoleBinding", "", "ci-admin"),
            5,
            Severity::Critical,
        ),
        // No object to own the report: the cluster report.
        finding(
            "base",
            "RBAC-030",
            target("User", "", "carol"),
            6,
            Severity::Critical,
        ),
    ]
    .into_iter()
    .map(Arc::new)
    .collect()
}

fn by_name<'a>(built: &'a [Built], name: &str) -> &'a Built {
    built
        .iter()
        .find(|b| b.key.name == name)
        .unwrap_or_else(|| panic!("no report {name}: {built:?}"))
}

#[test]
fn one_report_per_resource_scoped_and_owned_by_it() {
    let built = build(Flavor::OpenReports, &sample(), &owners(), Budget::default());
    let keys: Vec<String> = built.iter().map(|b| b.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "kube-posture-cluster",
            "kube-posture-uid-crb",
            "kube-posture-uid-node",
            "payments/kube-posture-uid-api"
        ]
    );
    let api = &by_name(&built, "kube-posture-uid-api").report;
    assert_eq!(
        (api.api_version, api.kind),
        ("openreports.io/v1alpha1", "Report")
    );
    assert_eq!(api.metadata.namespace.as_deref(), Some("payments"));
    assert_eq!(api.source, Some("kube-posture"));
    let scope = api.scope.as_ref().unwrap();
    assert_eq!(
        (
            scope.kind.as_deref(),
            scope.name.as_deref(),
            scope.uid.as_deref()
        ),
        (Some("Deployment"), Some("api"), Some("uid-api"))
    );
    let owner = &api.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.api_version.as_str(),
            owner.kind.as_str(),
            owner.uid.as_str()
        ),
        ("apps/v1", "Deployment", "uid-api")
    );
    assert_eq!(
        api.metadata.labels.as_ref().unwrap()[MANAGED_BY],
        "kube-posture"
    );
    assert_eq!(api.results.len(), 4, "both policies' results");
    for r in &api.results {
        assert_eq!(r.resources.len(), 1, "exactly one resource");
        assert_eq!(r.source, "kube-posture");
    }
    let node = &by_name(&built, "kube-posture-uid-node").report;
    assert_eq!(
        (node.kind, node.metadata.namespace.as_deref()),
        ("ClusterReport", None)
    );
    let cluster = &by_name(&built, CLUSTER_REPORT).report;
    assert_eq!(cluster.kind, "ClusterReport");
    assert!(cluster.scope.is_none() && cluster.metadata.owner_references.is_none());
    assert_eq!(
        cluster.results[0].resources[0].name.as_deref(),
        Some("carol")
    );
}

#[test]
fn summaries_equal_the_results_they_count() {
    for budget in [
        Budget::default(),
        Budget {
            max_results: 2,
            ..Budget::default()
        },
    ] {
        for b in build(Flavor::OpenReports, &sample(), &owners(), budget) {
            let s = b.report.summary;
            let count = |o: Outcome| b.report.results.iter().filter(|r| r.result == o).count();
            assert_eq!(s.fail, count(Outcome::Fail), "{}", b.key);
            assert_eq!(s.skip, count(Outcome::Skip), "{}", b.key);
            assert_eq!((s.pass, s.warn, s.error), (0, 0, 0));
            let json = serde_json::to_value(&b.report).unwrap();
            for k in ["pass", "fail", "warn", "error", "skip"] {
                assert!(json["summary"][k].is_u64(), "summary.{k} always written");
            }
        }
    }
}

#[test]
fn results_carry_the_contract_fields() {
    let built = build(Flavor::OpenReports, &sample(), &owners(), Budget::default());
    let api = &by_name(&built, "kube-posture-uid-api").report;
    let priv_ = &api.results[0];
    assert_eq!(priv_.policy, "WL-001");
    assert_eq!(
        priv_.rule,
        slug(crate::catalog::lookup("WL-001").unwrap().title)
    );
    assert_eq!(
        (priv_.result, priv_.severity),
        (Outcome::Fail, Severity::Critical)
    );
    assert_eq!(priv_.category, "workload");
    assert!(priv_.scored);
    assert_eq!(
        priv_.timestamp,
        Timestamp {
            seconds: 1_796_464_800,
            nanos: 250_000_000
        },
        "the Finding's firstSeen"
    );
    assert_eq!(priv_.properties["finding"], "base-wl-001-00000001");
    assert_eq!(priv_.properties["policy"], "base");
    assert_eq!(
        priv_.properties["frameworks"],
        "cis-1.12/5.2.2,nsa-cisa-1.2/pod-privileges,pss-baseline/privileged-containers,\
         pss-restricted/privileged-containers"
    );
    // Open before suppressed, most severe first.
    let order: Vec<(Outcome, Severity)> =
        api.results.iter().map(|r| (r.result, r.severity)).collect();
    assert_eq!(
        order,
        [
            (Outcome::Fail, Severity::Critical),
            (Outcome::Fail, Severity::Critical),
            (Outcome::Fail, Severity::High),
            (Outcome::Skip, Severity::Medium)
        ]
    );
}

#[test]
fn an_excepted_finding_is_a_skip_with_the_reason() {
    let built = build(Flavor::OpenReports, &sample(), &owners(), Budget::default());
    let api = &by_name(&built, "kube-posture-uid-api").report;
    let skip: Vec<_> = api
        .results
        .iter()
        .filter(|r| r.result == Outcome::Skip)
        .collect();
    assert_eq!(skip.len(), 1);
    assert_eq!(skip[0].policy, "WL-005");
    assert_eq!(
        skip[0].properties["exceptionReason"],
        "the vendor image needs root"
    );
    assert_eq!(api.summary.skip, 1);
    assert!(
        api.results
            .iter()
            .filter(|r| r.result == Outcome::Fail)
            .all(|r| !r.properties.contains_key("exceptionReason"))
    );
}

#[test]
fn result_ids_are_stable_unique_and_change_with_the_result() {
    let a = build(Flavor::OpenReports, &sample(), &owners(), Budget::default());
    let mut shuffled = sample();
    shuffled.reverse();
    let b = build(Flavor::OpenReports, &shuffled, &owners(), Budget::default());
    assert_eq!(
        a, b,
        "the same Findings in any order build the same reports"
    );
    for r in &a {
        let ids: std::collections::HashSet<&String> = r
            .report
            .results
            .iter()
            .map(|x| &x.properties["resultID"])
            .collect();
        assert_eq!(ids.len(), r.report.results.len(), "unique in {}", r.key);
        assert!(ids.iter().all(|id| id.len() == 16));
    }
    assert_eq!(
        result_id("WL-001", "uid-api", "base-wl-001-00000001", Outcome::Fail),
        result_id("WL-001", "uid-api", "base-wl-001-00000001", Outcome::Fail)
    );
    assert_ne!(
        result_id("WL-001", "uid-api", "base-wl-001-00000001", Outcome::Fail),
        result_id("WL-001", "uid-api", "base-wl-001-00000001", Outcome::Skip),
        "suppressing a finding makes it another result"
    );
    assert_eq!(a[0].hash, b[0].hash);
    let hash = &a[0].report.metadata.annotations.as_ref().unwrap()[HASH_ANNOTATION];
    assert_eq!(hash, &format!("{:016x}", a[0].hash));
}

fn many(n: usize) -> Vec<Arc<FindingObject>> {
    let sev = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    (0..n)
        .map(|i| {
            let mut f = finding(
                "base",
                "WL-001",
                target("Deployment", "payments", "api"),
                i,
                sev[i % 5],
            );
            f.status.as_mut().unwrap().message = Some("m".repeat(2000));
            Arc::new(f)
        })
        .collect()
}

#[test]
fn a_report_over_budget_keeps_the_most_severe_and_says_how_many_it_left_out() {
    let budget = Budget {
        max_results: 10,
        ..Budget::default()
    };
    let built = build(Flavor::OpenReports, &many(30), &owners(), budget);
    assert_eq!(built.len(), 1, "capped, not split");
    let b = &built[0];
    assert_eq!((b.report.results.len(), b.omitted), (10, 20));
    assert_eq!(b.report.summary.fail, 10);
    assert!(
        b.report
            .results
            .iter()
            .take(6)
            .all(|r| r.severity == Severity::Critical)
    );
    assert!(
        b.report
            .results
            .iter()
            .skip(6)
            .all(|r| r.severity == Severity::High)
    );
    let ann = b.report.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann[OMITTED_ANNOTATION], "20");
    assert_eq!(
        b.report.configuration.as_ref().unwrap().limits.max_results,
        10
    );
    // The same cut every time.
    assert_eq!(
        built,
        build(Flavor::OpenReports, &many(30), &owners(), budget)
    );

    // Bytes: 2,000 results of ~2.4 KiB each do not fit 800 KiB.
    let built = build(
        Flavor::OpenReports,
        &many(2000),
        &owners(),
        Budget::default(),
    );
    let b = &built[0];
    assert!(
        b.bytes() <= Budget::default().max_bytes,
        "{} bytes",
        b.bytes()
    );
    assert_eq!(b.report.results.len() + b.omitted, 2000);
    assert!(b.report.results.len() < 500, "cut by size first");
    assert_eq!(b.report.summary.fail, b.report.results.len());

    // 500 results with messages of 200 bytes (longer than most) fit well within 800 KiB: the
    // count is the cap that applies in practice.
    let typical: Vec<Arc<FindingObject>> = many(600)
        .into_iter()
        .map(|f| {
            let mut f = (*f).clone();
            f.status.as_mut().unwrap().message = Some("m".repeat(200));
            Arc::new(f)
        })
        .collect();
    let built = build(Flavor::OpenReports, &typical, &owners(), Budget::default());
    assert_eq!(
        (built[0].report.results.len(), built[0].omitted),
        (500, 100)
    );
    println!(
        "FIGURE reports results=500 message_bytes=200 report_bytes={}",
        built[0].bytes()
    );
    assert!(built[0].bytes() < Budget::default().max_bytes / 2);

    // Within budget: nothing omitted, no annotation.
    let built = build(Flavor::OpenReports, &many(5), &owners(), Budget::default());
    assert_eq!(built[0].omitted, 0);
    assert!(
        !built[0]
            .report
            .metadata
            .annotations
            .as_ref()
            .unwrap()
            .contains_key(OMITTED_ANNOTATION)
    );
}

#[test]
fn the_legacy_group_has_no_source_and_no_configuration() {
    let built = build(Flavor::WgPolicy, &sample(), &owners(), Budget::default());
    let api = &by_name(&built, "kube-posture-uid-api").report;
    assert_eq!(
        (api.api_version, api.kind),
        ("wgpolicyk8s.io/v1alpha2", "PolicyReport")
    );
    let json = serde_json::to_value(api).unwrap();
    assert!(json.get("source").is_none() && json.get("configuration").is_none());
    assert_eq!(json["results"][0]["source"], "kube-posture");
    assert_eq!(
        by_name(&built, CLUSTER_REPORT).report.kind,
        "ClusterPolicyReport"
    );
}

#[test]
fn slugs_are_short_lower_case_words() {
    assert_eq!(slug("Privileged containers"), "privileged-containers");
    assert_eq!(
        slug("Binding grants cluster-admin (or *.*) to a subject"),
        "binding-grants-cluster-admin-or-to-a-subject"
    );
    let long = slug(&"word ".repeat(40));
    assert!(long.len() <= 48 && !long.ends_with('-'), "{long}");
    assert_eq!(slug(&"x".repeat(100)).len(), 48);
    for c in crate::catalog::CHECKS {
        let s = slug(c.title);
        assert!(!s.is_empty() && s.len() <= 48, "{}: {s}", c.id);
    }
}

#[test]
fn findings_without_status_give_no_result() {
    let mut f = finding(
        "base",
        "WL-001",
        target("Deployment", "payments", "api"),
        1,
        Severity::High,
    );
    f.status = None;
    assert!(
        build(
            Flavor::OpenReports,
            &[Arc::new(f)],
            &owners(),
            Budget::default()
        )
        .is_empty()
    );
}

#[test]
fn the_plan_skips_unchanged_reports_and_deletes_empty_ones() {
    let built = build(Flavor::OpenReports, &sample(), &owners(), Budget::default());
    let p = plan(&built, &HashMap::new());
    assert_eq!((p.apply.len(), p.unchanged, p.delete.len()), (4, 0, 0));
    let mut known: HashMap<ReportKey, u64> =
        built.iter().map(|b| (b.key.clone(), b.hash)).collect();
    let p = plan(&built, &known);
    assert_eq!(
        (p.apply.len(), p.unchanged),
        (0, 4),
        "nothing changed, nothing written"
    );
    // The User's finding is fixed: the cluster report has no result left.
    let fixed: Vec<Arc<FindingObject>> = sample()
        .into_iter()
        .filter(|f| f.spec.check != "RBAC-030")
        .collect();
    let gone = ReportKey {
        namespace: None,
        name: "kube-posture-old".into(),
    };
    known.insert(gone.clone(), 1);
    let built = build(Flavor::OpenReports, &fixed, &owners(), Budget::default());
    let p = plan(&built, &known);
    assert_eq!(p.unchanged, 3);
    assert_eq!(
        p.delete,
        [
            ReportKey {
                namespace: None,
                name: CLUSTER_REPORT.into()
            },
            gone
        ]
    );
}

#[test]
fn owners_come_from_the_snapshot_and_the_policies() {
    let mut snapshot = crate::snapshot::Snapshot::default();
    crate::snapshot::load_str(
        std::path::Path::new("t.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: payments, uid: u-1}\nspec: {template: {spec: {containers: [{name: c, image: i}]}}}\n",
        &mut snapshot,
        &mut Default::default(),
    )
    .unwrap();
    let mut p = crate::api::SecurityPolicy::new("base", Default::default());
    p.metadata.uid = Some("u-pol".into());
    let o = Owners::from_snapshot(&snapshot, &[Arc::new(p)]);
    let f = finding(
        "base",
        "WL-001",
        target("Deployment", "payments", "api"),
        1,
        Severity::High,
    );
    let pol = finding(
        "base",
        "POL-001",
        TargetRef {
            api_version: crate::api::API_VERSION.into(),
            kind: "SecurityPolicy".into(),
            namespace: String::new(),
            name: "base".into(),
        },
        2,
        Severity::Low,
    );
    let built = build(
        Flavor::OpenReports,
        &[Arc::new(f), Arc::new(pol)],
        &o,
        Budget::default(),
    );
    let keys: Vec<String> = built.iter().map(|b| b.key.to_string()).collect();
    assert_eq!(keys, ["kube-posture-u-pol", "payments/kube-posture-u-1"]);
}
