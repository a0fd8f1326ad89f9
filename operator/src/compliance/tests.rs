use super::*;
use crate::audit::testutil::audit_with;
use crate::audit::{Finding, ObjectRef};
use crate::catalog::CheckId;
use crate::catalog::frameworks::lookup;
use crate::policy::EffectivePolicy;

fn workload(name: &str) -> ObjectRef {
    ObjectRef::other("apps/v1", "Deployment", Some("team"), name)
}

fn finding(check: &'static str, on: &str, evidence: &[&str]) -> Finding {
    let mut f = Finding::new(check.parse().expect("a catalog ID"), workload(on), "m");
    f.evidence = evidence.iter().map(|e| e.to_string()).collect();
    f
}

fn report(findings: Vec<Finding>, assessed: &[&'static str]) -> Report {
    Report {
        findings: findings.into_iter().map(std::sync::Arc::new).collect(),
        assessed: assessed
            .iter()
            .map(|c| c.parse().expect("a catalog ID"))
            .collect(),
        ..Default::default()
    }
}

fn status(r: &FrameworkReport, id: &str) -> ControlStatus {
    control_of(r, id).status
}

fn control_of<'a>(r: &'a FrameworkReport, id: &str) -> &'a ControlResult {
    r.controls
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no control {id}"))
}

#[test]
fn nothing_evaluated_never_passes() {
    let cis = lookup("cis-1.12").unwrap();
    let r = evaluate(cis, &report(vec![], &[]));
    assert_eq!(status(&r, "1.2.1"), ControlStatus::NotAssessed);
    assert_eq!(status(&r, "1.1.1"), ControlStatus::Manual);
    assert_eq!(r.summary.passed + r.summary.failed, 0);
    assert_eq!(r.score, None, "no evaluated control, no score");
    assert_eq!(control_of(&r, "1.2.1").score, None);
}

#[test]
fn a_finding_fails_its_controls_and_a_clean_assessed_check_passes() {
    let cis = lookup("cis-1.12").unwrap();
    let r = evaluate(
        cis,
        &report(
            vec![Finding::new(
                CheckId::Api001,
                ObjectRef::other("v1", "Pod", Some("kube-system"), "kube-apiserver-a"),
                "m",
            )],
            &["API-001", "API-002"],
        ),
    );
    let c = control_of(&r, "1.2.1");
    assert_eq!(
        (c.status, c.failing, c.score),
        (ControlStatus::Fail, 1, Some(0))
    );
    assert_eq!(status(&r, "1.2.2"), ControlStatus::Pass);
    assert_eq!(control_of(&r, "1.2.2").score, Some(100));
    assert_eq!(status(&r, "1.2.3"), ControlStatus::NotAssessed);
    assert_eq!((r.summary.passed, r.summary.failed), (1, 1));
    assert_eq!(r.score, Some(50));
    assert_eq!(r.failing_at_or_above(Severity::High), 1);
    assert_eq!(r.failing_at_or_above(Severity::Critical), 0);
    assert_eq!(c.citation, "CIS Kubernetes Benchmark v1.12.0, 1.2.1");
}

#[test]
fn waived_findings_do_not_fail_a_control() {
    let pss = lookup("pss-baseline").unwrap();
    let mut f = finding("WL-001", "api", &[]);
    f.suppressed = true;
    let r = evaluate(pss, &report(vec![f], &["WL-001"]));
    assert_eq!(status(&r, "privileged-containers"), ControlStatus::Pass);
    assert_eq!(control_of(&r, "privileged-containers").failing, 0);
}

#[test]
fn failing_resources_are_distinct_across_checks() {
    let nsa = lookup("nsa-cisa-1.2").unwrap();
    let r = evaluate(
        nsa,
        &report(
            vec![
                finding("WL-001", "api", &[]),
                finding("WL-002", "api", &["spec.hostPID: true"]),
                finding("WL-002", "web", &["spec.hostPID: true"]),
            ],
            &["WL-001", "WL-002", "WL-003"],
        ),
    );
    let c = control_of(&r, "pod-privileges");
    assert_eq!((c.status, c.failing), (ControlStatus::Fail, 2));
    let wl2 = c.checks.iter().find(|k| k.id == "WL-002").unwrap();
    assert_eq!((wl2.status, wl2.failing), (ControlStatus::Fail, 2));
    let wl3 = c.checks.iter().find(|k| k.id == "WL-003").unwrap();
    assert_eq!(wl3.status, ControlStatus::Pass);
    let wl6 = c.checks.iter().find(|k| k.id == "WL-006").unwrap();
    assert_eq!(wl6.status, ControlStatus::NotAssessed);
    assert_eq!(c.score, Some(33), "1 of 3 assessed checks passes");
}

#[test]
fn evidence_qualifiers_split_one_check_across_controls() {
    let cis = lookup("cis-1.12").unwrap();
    let r = evaluate(
        cis,
        &report(
            vec![finding("WL-002", "api", &["spec.hostNetwork: true"])],
            &["WL-002"],
        ),
    );
    assert_eq!(status(&r, "5.2.5"), ControlStatus::Fail);
    assert_eq!(status(&r, "5.2.3"), ControlStatus::Pass);
    assert_eq!(status(&r, "5.2.4"), ControlStatus::Pass);

    // Evidence cut short may hide the word: the finding counts.
    let r = evaluate(
        cis,
        &report(
            vec![finding(
                "WL-002",
                "api",
                &["spec.hostNetwork: true", "… and 2 more"],
            )],
            &["WL-002"],
        ),
    );
    assert_eq!(status(&r, "5.2.3"), ControlStatus::Fail);
}

#[test]
fn partial_coverage_fails_but_never_passes() {
    let pss = lookup("pss-baseline").unwrap();
    let clean = evaluate(pss, &report(vec![], &["WL-003", "ETCD-009"]));
    assert_eq!(status(&clean, "hostpath-volumes"), ControlStatus::Manual);
    let bad = evaluate(
        pss,
        &report(vec![finding("WL-003", "api", &[])], &["WL-003", "ETCD-009"]),
    );
    assert_eq!(status(&bad, "hostpath-volumes"), ControlStatus::Fail);
    let none = evaluate(pss, &report(vec![], &[]));
    assert_eq!(
        status(&none, "hostpath-volumes"),
        ControlStatus::NotAssessed
    );
}

/// Through a real audit: checks off by default are not assessed until a policy turns them on.
#[test]
fn checks_the_policy_leaves_off_are_not_assessed() {
    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext: {privileged: true, runAsNonRoot: true, runAsUser: 1000}\n";
    let restricted = lookup("pss-restricted").unwrap();
    let r = evaluate(
        restricted,
        &audit_with(POD, &EffectivePolicy::default_policy()),
    );
    assert_eq!(status(&r, "privileged-containers"), ControlStatus::Fail);
    assert_eq!(status(&r, "running-as-non-root"), ControlStatus::Pass);
    assert_eq!(
        status(&r, "privilege-escalation"),
        ControlStatus::NotAssessed
    );

    let spec: crate::api::SecurityPolicySpec =
        serde_json::from_str(r#"{"checks": {"include": ["workload", "workload-restricted"]}}"#)
            .unwrap();
    let policy = EffectivePolicy::compile("p", &spec).unwrap();
    let r = evaluate(restricted, &audit_with(POD, &policy));
    assert_eq!(status(&r, "privilege-escalation"), ControlStatus::Fail);
}

/// Checks that ran on nothing judged nothing; checks over one set of resources give the
/// passing count.
#[test]
fn examined_resources_give_passing_counts_and_zero_is_not_assessed() {
    let pss = lookup("pss-baseline").unwrap();
    let mut r = report(vec![finding("WL-001", "api", &[])], &["WL-001", "WL-011"]);
    r.examined = [(CheckId::Wl001, 5), (CheckId::Wl011, 5)]
        .into_iter()
        .collect();
    let e = evaluate(pss, &r);
    let c = control_of(&e, "privileged-containers");
    assert_eq!(
        (c.status, c.failing, c.passing),
        (ControlStatus::Fail, 1, Some(4))
    );
    assert_eq!(control_of(&e, "host-ports").passing, Some(5));

    r.findings.clear();
    r.examined = [(CheckId::Wl001, 0), (CheckId::Wl011, 0)]
        .into_iter()
        .collect();
    let e = evaluate(pss, &r);
    assert_eq!(
        status(&e, "privileged-containers"),
        ControlStatus::NotAssessed,
        "no workload in the input: nothing passed"
    );

    // Checks over different sets (pods and grants): no passing count.
    let nsa = lookup("nsa-cisa-1.2").unwrap();
    let mut r = report(vec![], &["API-001", "RBAC-002"]);
    r.examined = [(CheckId::Api001, 1)].into_iter().collect();
    let c = evaluate(nsa, &r);
    let c = control_of(&c, "auth-authentication");
    assert_eq!((c.status, c.passing), (ControlStatus::Pass, None));
}
