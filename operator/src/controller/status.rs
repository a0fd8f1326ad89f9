//! SecurityPolicy status: built from an audit (pure), compared with what the object shows so
//! that it is written only when something changed. Timestamps do not count as changes:
//! `lastAuditTime` records the audit that produced the current status, and conditions keep
//! their `lastTransitionTime` while their status holds.
//!
//! Conditions follow kstatus (what Flux and `kubectl wait` read): `Ready`, `Compliant` and
//! `Degraded` say what the audit found; `Reconciling` is True while a spec edit is not yet
//! audited (`observedGeneration` lags `metadata.generation`), `Stalled` while the policy cannot
//! make progress without someone acting (an invalid spec, Findings that cannot be written).

use crate::api::{FindingSummary, NotAssessed, ResourceKey, SecurityPolicyStatus};
use crate::audit::{Report, bounds};
use crate::policy::EffectivePolicy;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const TOP_FINDINGS: usize = 50;
/// The most a status may serialize to (issue 12). The bounds below keep plain text well
/// under it (50 findings of at most ~2.6 KiB, three conditions of 4 KiB, 100 notAssessed
/// entries of ~0.6 KiB: about 210 KiB); text that JSON must escape (control characters in a
/// flag's value) can grow sixfold, and then the last top findings give way, with
/// `findingsTruncated: true` (tested).
pub const MAX_STATUS_BYTES: usize = 256 * 1024;
/// Bytes of a condition message (an API error, the fields of an invalid spec).
const MAX_CONDITION_MESSAGE: usize = 4096;
/// notAssessed entries kept; the last one then says how many more there were.
const MAX_NOT_ASSESSED: usize = 100;

/// What the reconcile knows besides the report.
pub struct Outcome<'a> {
    pub generation: Option<i64>,
    pub now: Timestamp,
    /// The audit ran (`None`: the spec is invalid, with the message).
    pub audit: Result<(&'a Report, &'a EffectivePolicy), String>,
    /// Kinds that could not be read, by name and reason.
    pub degraded: Vec<String>,
    /// Finding objects could not be written (CRD missing, forbidden…).
    pub findings_error: Option<String>,
    /// Where policy reports go (`None`: not known yet, no condition).
    pub reports: Option<ReportsState>,
}

/// The `ReportsWritten` condition: whether policy reports (OpenReports or the legacy group)
/// are written, and if not why. Never `Degraded`: the audit and its Findings do not depend on
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportsState {
    pub written: bool,
    pub reason: &'static str,
    pub message: String,
}

fn condition(
    type_: &str,
    status: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: Timestamp,
) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message,
        observed_generation: generation,
        last_transition_time: Time(now),
    }
}

/// The status an outcome calls for, within [`MAX_STATUS_BYTES`].
pub fn desired(o: &Outcome) -> SecurityPolicyStatus {
    let mut status = unbounded(o);
    bound(&mut status);
    status
}

/// Cut what the audit's own bounds (audit::bounds) do not cover: condition messages, the
/// display of long names (a User's name is not bounded by the API server), the number of
/// notAssessed entries. Lists end with `… and N more`, strings with `… (N more bytes)`.
fn bound(status: &mut SecurityPolicyStatus) {
    for c in &mut status.conditions {
        bounds::truncate(&mut c.message, MAX_CONDITION_MESSAGE);
    }
    for f in &mut status.findings {
        bounds::truncate(&mut f.message, bounds::MAX_MESSAGE);
        bounds::truncate(&mut f.resource.name, bounds::MAX_ENTRY);
        if let Some(ns) = &mut f.resource.namespace {
            bounds::truncate(ns, bounds::MAX_ENTRY);
        }
        bounds::truncate(&mut f.resource.kind, bounds::MAX_ENTRY);
    }
    for n in &mut status.not_assessed {
        bounds::truncate(&mut n.category, 64);
        bounds::truncate(&mut n.reason, bounds::MAX_ENTRY);
    }
    if status.not_assessed.len() > MAX_NOT_ASSESSED {
        let rest = status.not_assessed.len() - (MAX_NOT_ASSESSED - 1);
        status.not_assessed.truncate(MAX_NOT_ASSESSED - 1);
        status.not_assessed.push(NotAssessed {
            category: "…".to_string(),
            reason: format!("{} not assessed", bounds::more(rest)),
            checks: Vec::new(),
        });
    }
    while serialized_len(status) > MAX_STATUS_BYTES && status.findings.pop().is_some() {
        status.findings_truncated = true;
    }
}

pub fn serialized_len(status: &SecurityPolicyStatus) -> usize {
    // Strings and numbers only: serialization cannot fail.
    serde_json::to_vec(status)
        .expect("a status serializes")
        .len()
}

fn unbounded(o: &Outcome) -> SecurityPolicyStatus {
    let mut status = SecurityPolicyStatus {
        observed_generation: o.generation,
        last_audit_time: Some(o.now.to_string()),
        ..Default::default()
    };
    let (report, policy) = match &o.audit {
        Err(message) => {
            status.conditions = vec![
                condition(
                    "Ready",
                    false,
                    "InvalidPolicy",
                    message.clone(),
                    o.generation,
                    o.now,
                ),
                audited(o),
                condition(
                    "Stalled",
                    true,
                    "InvalidPolicy",
                    format!("the policy waits for a valid spec: {message}"),
                    o.generation,
                    o.now,
                ),
            ];
            return status;
        }
        Ok(x) => *x,
    };
    let mut ready = condition(
        "Ready",
        true,
        "AuditSucceeded",
        "the last audit ran".to_string(),
        o.generation,
        o.now,
    );
    if let Some(e) = &o.findings_error {
        ready = condition(
            "Ready",
            false,
            "FindingsNotWritten",
            e.clone(),
            o.generation,
            o.now,
        );
    }
    let above = report.count_at_or_above(policy.failure_threshold);
    let compliant = if above == 0 {
        condition(
            "Compliant",
            true,
            "NoFindingsAboveThreshold",
            format!(
                "no unsuppressed finding at or above {}",
                policy.failure_threshold
            ),
            o.generation,
            o.now,
        )
    } else {
        condition(
            "Compliant",
            false,
            "FindingsAboveThreshold",
            format!(
                "{above} unsuppressed finding(s) at or above {}",
                policy.failure_threshold
            ),
            o.generation,
            o.now,
        )
    };
    let degraded = if o.degraded.is_empty() {
        condition(
            "Degraded",
            false,
            "AllInputsRead",
            "every input could be read".to_string(),
            o.generation,
            o.now,
        )
    } else {
        condition(
            "Degraded",
            true,
            "InputsUnavailable",
            format!("cannot read: {}", o.degraded.join("; ")),
            o.generation,
            o.now,
        )
    };
    let stalled = match &o.findings_error {
        Some(e) => condition(
            "Stalled",
            true,
            "FindingsNotWritten",
            e.clone(),
            o.generation,
            o.now,
        ),
        None => condition(
            "Stalled",
            false,
            "Progressing",
            "the last audit and its writes completed".to_string(),
            o.generation,
            o.now,
        ),
    };
    status.conditions = vec![ready, compliant, degraded, audited(o), stalled];
    if let Some(r) = &o.reports {
        status.conditions.push(condition(
            "ReportsWritten",
            r.written,
            r.reason,
            r.message.clone(),
            o.generation,
            o.now,
        ));
    }
    status.score = Some(report.score);
    status.summary = Some(report.summary.clone());
    status.findings = report
        .findings
        .iter()
        .filter(|f| !f.suppressed)
        .take(TOP_FINDINGS)
        .map(|f| FindingSummary {
            check: f.check.to_string(),
            severity: f.severity,
            resource: ResourceKey {
                kind: f.resource.kind.to_string(),
                namespace: f.resource.namespace.clone(),
                name: f.resource.name.clone(),
            },
            message: f.message.clone(),
        })
        .collect();
    status.findings_truncated = report.findings.len() > policy.finding_limit;
    status.not_assessed = report.not_assessed.clone();
    // Deterministic, so an unchanged audit leaves the status unwritten.
    status.frameworks = crate::compliance::summaries(report);
    status.layers = report.layers.clone();
    status
}

/// `Reconciling=False`: the status describes the current generation.
fn audited(o: &Outcome) -> Condition {
    condition(
        "Reconciling",
        false,
        "Audited",
        "the current spec has been audited".to_string(),
        o.generation,
        o.now,
    )
}

/// The status to write before auditing a spec edit: the last one, with `Reconciling=True`
/// (reason `NewGeneration`) and `observedGeneration` still at the generation it describes,
/// so that a GitOps tool shows the policy progressing until the audit is in. `None` when
/// the status already describes `generation` (or says so already): nothing to write.
pub fn reconciling(
    current: Option<&SecurityPolicyStatus>,
    generation: Option<i64>,
    now: Timestamp,
) -> Option<SecurityPolicyStatus> {
    if current.is_some_and(|c| c.observed_generation == generation) {
        return None;
    }
    let mut status = current.cloned().unwrap_or_default();
    let message = match generation {
        Some(g) => format!("generation {g} is being audited"),
        None => "the spec is being audited".to_string(),
    };
    let cond = condition(
        "Reconciling",
        true,
        "NewGeneration",
        message,
        generation,
        now,
    );
    match status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == "Reconciling")
    {
        Some(c) if c.status == "True" && c.message == cond.message => return None,
        Some(c) => *c = cond,
        None => status.conditions.push(cond),
    }
    Some(status)
}

/// Carry over what must not move when nothing changed: each condition's transition time
/// while its status holds, and `lastAuditTime` when the rest is the same.
/// Returns whether the status differs from `current` (and so must be written).
pub fn settle(desired: &mut SecurityPolicyStatus, current: Option<&SecurityPolicyStatus>) -> bool {
    let Some(cur) = current else { return true };
    for c in &mut desired.conditions {
        if let Some(old) = cur.conditions.iter().find(|o| o.type_ == c.type_)
            && old.status == c.status
        {
            c.last_transition_time = old.last_transition_time.clone();
        }
    }
    let mut probe = desired.clone();
    probe.last_audit_time = cur.last_audit_time.clone();
    if &probe == cur {
        desired.last_audit_time = cur.last_audit_time.clone();
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::testutil::audit;
    use crate::catalog::CheckId;

    const ADMIN: &str = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: a}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: User, name: u1}]\n";

    fn outcome<'a>(r: &'a Report, p: &'a EffectivePolicy, now: &str) -> Outcome<'a> {
        Outcome {
            generation: Some(3),
            now: now.parse().unwrap(),
            audit: Ok((r, p)),
            degraded: vec![],
            findings_error: None,
            reports: None,
        }
    }

    #[test]
    fn conditions_and_counts() {
        let r = audit(ADMIN);
        let p = EffectivePolicy::default_policy();
        let s = desired(&outcome(&r, &p, "2026-11-28T12:00:00Z"));
        let get = |t: &str| s.conditions.iter().find(|c| c.type_ == t).unwrap();
        assert_eq!(
            (get("Ready").status.as_str(), get("Ready").reason.as_str()),
            ("True", "AuditSucceeded")
        );
        assert_eq!(get("Compliant").reason, "FindingsAboveThreshold");
        assert_eq!(get("Degraded").status, "False");
        assert_eq!(s.summary.as_ref().unwrap().critical, 1);
        assert_eq!(s.observed_generation, Some(3));
        assert_eq!(s.findings.len(), 1);
        let ids: Vec<&str> = s.frameworks.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            ["cis-1.12", "nsa-cisa-1.2", "pss-baseline", "pss-restricted"]
        );
        let cis = &s.frameworks[0];
        // RBAC-001 fails CIS 5.1.1; the only input is one binding, so the control plane's
        // controls are not assessed and never counted as passing.
        assert!(cis.failed >= 1, "{cis:?}");
        assert!(cis.not_assessed > 0 && cis.manual > 0, "{cis:?}");
        assert_eq!(
            cis.passed + cis.failed + cis.manual + cis.not_assessed,
            131,
            "every control counted once"
        );
    }

    #[test]
    fn layers_in_the_status_and_unchanged_layers_write_nothing() {
        // Nodes unreadable: the paths layer could not be assessed at all.
        let blind = || crate::audit::testutil::audit_without_nodes(ADMIN);
        let r = blind();
        let p = EffectivePolicy::default_policy();
        let s = desired(&outcome(&r, &p, "2026-11-28T12:00:00Z"));
        assert_eq!(s.layers, r.layers);
        let identity = s
            .layers
            .iter()
            .find(|l| l.layer == crate::catalog::Layer::Identity)
            .expect("identity layer");
        assert_eq!(identity.critical, 1);
        // A layer nothing could assess has no score in the status, so not `score: 100`.
        let paths = s
            .layers
            .iter()
            .find(|l| l.layer == crate::catalog::Layer::Paths)
            .expect("paths layer");
        let json = serde_json::to_value(paths).unwrap();
        assert!(json.get("score").is_none(), "{json}");
        assert_eq!(json["notAssessed"], 3);
        // The same audit an hour later: nothing to write.
        let mut later = desired(&outcome(&blind(), &p, "2026-11-28T13:00:00Z"));
        assert!(!settle(&mut later, Some(&s)));
    }

    #[test]
    fn an_unchanged_audit_is_not_written_and_keeps_timestamps() {
        let r = audit(ADMIN);
        let p = EffectivePolicy::default_policy();
        let first = desired(&outcome(&r, &p, "2026-11-28T12:00:00Z"));
        let mut second = desired(&outcome(&r, &p, "2026-11-28T12:10:00Z"));
        assert!(!settle(&mut second, Some(&first)));
        assert_eq!(second, first);
        let r2 = audit(&ADMIN.replace("u1}]", "u1}, {kind: User, name: u2}]"));
        let mut third = desired(&outcome(&r2, &p, "2026-11-28T12:20:00Z"));
        assert!(settle(&mut third, Some(&first)));
        assert_eq!(
            third.last_audit_time.as_deref(),
            Some("2026-11-28T12:20:00Z")
        );
        let ready = third
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            ready.last_transition_time.0.to_string(),
            "2026-11-28T12:00:00Z",
            "Ready stayed True"
        );
    }

    #[test]
    fn invalid_policies_say_why() {
        let s = desired(&Outcome {
            generation: Some(2),
            now: "2026-11-28T12:00:00Z".parse().unwrap(),
            audit: Err("spec.interval: \"5s\" is shorter than the minimum of 30s".into()),
            degraded: vec![],
            findings_error: None,
            reports: None,
        });
        let get = |t: &str| {
            let c = s.conditions.iter().find(|c| c.type_ == t).unwrap();
            (c.status.as_str(), c.reason.as_str())
        };
        assert_eq!(get("Ready"), ("False", "InvalidPolicy"));
        assert_eq!(get("Stalled"), ("True", "InvalidPolicy"));
        assert_eq!(
            get("Reconciling"),
            ("False", "Audited"),
            "nothing more to do"
        );
        assert_eq!(
            s.conditions.len(),
            3,
            "no Compliant or Degraded without an audit"
        );
        assert!(
            s.conditions
                .iter()
                .filter(|c| c.type_ != "Reconciling")
                .all(|c| c.message.contains("spec.interval"))
        );
    }

    fn get<'a>(s: &'a SecurityPolicyStatus, t: &str) -> (&'a str, &'a str) {
        let c = s.conditions.iter().find(|c| c.type_ == t).unwrap();
        (c.status.as_str(), c.reason.as_str())
    }

    #[test]
    fn kstatus_conditions_after_an_audit() {
        let r = audit(ADMIN);
        let p = EffectivePolicy::default_policy();
        let s = desired(&outcome(&r, &p, "2026-11-28T12:00:00Z"));
        let types: Vec<&str> = s.conditions.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            types,
            ["Ready", "Compliant", "Degraded", "Reconciling", "Stalled"]
        );
        assert_eq!(get(&s, "Reconciling"), ("False", "Audited"));
        assert_eq!(get(&s, "Stalled"), ("False", "Progressing"));
        assert!(
            s.conditions
                .iter()
                .all(|c| c.observed_generation == Some(3))
        );

        let mut o = outcome(&r, &p, "2026-11-28T12:00:00Z");
        o.findings_error = Some("cannot write Finding objects: forbidden".into());
        let s = desired(&o);
        assert_eq!(get(&s, "Ready"), ("False", "FindingsNotWritten"));
        assert_eq!(get(&s, "Stalled"), ("True", "FindingsNotWritten"));
    }

    #[test]
    fn where_reports_go_is_a_condition_of_its_own_never_degraded() {
        let r = audit(ADMIN);
        let p = EffectivePolicy::default_policy();
        let mut o = outcome(&r, &p, "2026-11-28T12:00:00Z");
        o.reports = Some(ReportsState {
            written: false,
            reason: "ReportsAPINotServed",
            message: "install config/openreports/crds.yaml".into(),
        });
        let s = desired(&o);
        assert_eq!(get(&s, "ReportsWritten"), ("False", "ReportsAPINotServed"));
        assert_eq!(get(&s, "Degraded"), ("False", "AllInputsRead"));
        assert_eq!(get(&s, "Ready"), ("True", "AuditSucceeded"));
    }

    #[test]
    fn a_spec_edit_is_reconciling_until_audited() {
        let r = audit(ADMIN);
        let p = EffectivePolicy::default_policy();
        let audited = desired(&outcome(&r, &p, "2026-11-28T12:00:00Z"));
        let now: Timestamp = "2026-11-28T12:05:00Z".parse().unwrap();
        assert_eq!(
            reconciling(Some(&audited), Some(3), now),
            None,
            "up to date"
        );

        let pending = reconciling(Some(&audited), Some(4), now).expect("an edit is announced");
        assert_eq!(
            pending.observed_generation,
            Some(3),
            "still the audited one"
        );
        assert_eq!(get(&pending, "Reconciling"), ("True", "NewGeneration"));
        assert_eq!(get(&pending, "Ready"), ("True", "AuditSucceeded"));
        assert_eq!(pending.conditions.len(), audited.conditions.len());
        assert_eq!(reconciling(Some(&pending), Some(4), now), None, "said once");

        let first = reconciling(None, Some(1), now).expect("a new policy");
        assert_eq!(first.observed_generation, None);
        assert_eq!(first.conditions.len(), 1);
        assert_eq!(get(&first, "Reconciling"), ("True", "NewGeneration"));

        // The audit then turns it False, as a transition.
        let mut done = desired(&outcome(&r, &p, "2026-11-28T12:06:00Z"));
        done.observed_generation = Some(4);
        assert!(settle(&mut done, Some(&pending)));
        let c = done
            .conditions
            .iter()
            .find(|c| c.type_ == "Reconciling")
            .unwrap();
        assert_eq!(c.status, "False");
        assert_eq!(c.last_transition_time.0.to_string(), "2026-11-28T12:06:00Z");
    }

    /// 100,000 findings with 1 KiB messages of characters JSON escapes sixfold, 300-byte
    /// names, 1,000 notAssessed entries, a megabyte of API error: the status stays within
    /// 256 KiB and says what it left out.
    #[test]
    fn a_status_stays_within_its_budget_at_any_size() {
        use crate::audit::{Finding, ObjectRef};
        let finding = |i: usize| {
            let mut f = Finding::new(
                CheckId::Rbac030,
                ObjectRef::other(
                    "rbac.authorization.k8s.io/v1",
                    "User",
                    None,
                    &format!("{i:06}{}", "u".repeat(300)),
                ),
                "\u{1}".repeat(2000),
            );
            crate::audit::bounds::bound(&mut f);
            f
        };
        let report = Report {
            findings: (0..100_000)
                .map(|i| std::sync::Arc::new(finding(i)))
                .collect(),
            not_assessed: (0..1000)
                .map(|i| NotAssessed {
                    category: format!("c{i}"),
                    reason: "r".repeat(5000),
                    checks: vec![CheckId::Rbac001.to_string()],
                })
                .collect(),
            ..Default::default()
        };
        let p = EffectivePolicy::default_policy();
        let mut o = outcome(&report, &p, "2026-11-28T12:00:00Z");
        o.degraded = (0..1000)
            .map(|i| format!("kind{i}: {}", "e".repeat(1000)))
            .collect();
        o.findings_error = Some("x".repeat(1 << 20));
        let s = desired(&o);
        let bytes = serialized_len(&s);
        assert!(bytes <= MAX_STATUS_BYTES, "{bytes} bytes");
        assert!(s.findings_truncated);
        assert!(
            !s.findings.is_empty() && s.findings.len() < TOP_FINDINGS,
            "escaped text makes room by dropping some: {}",
            s.findings.len()
        );
        assert_eq!(s.not_assessed.len(), MAX_NOT_ASSESSED);
        assert_eq!(
            s.not_assessed[MAX_NOT_ASSESSED - 1].reason,
            "… and 901 more not assessed"
        );
        assert!(
            s.conditions
                .iter()
                .all(|c| c.message.len() <= MAX_CONDITION_MESSAGE)
        );

        // Plain text: all 50 top findings fit.
        let plain = Report {
            findings: (0..100)
                .map(|i| {
                    let mut f = finding(i);
                    f.message = "m".repeat(5000);
                    crate::audit::bounds::bound(&mut f);
                    std::sync::Arc::new(f)
                })
                .collect(),
            ..Default::default()
        };
        let s = desired(&outcome(&plain, &p, "2026-11-28T12:00:00Z"));
        assert_eq!(s.findings.len(), TOP_FINDINGS);
        assert!(serialized_len(&s) <= MAX_STATUS_BYTES);
    }
}
