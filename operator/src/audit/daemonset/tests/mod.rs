//! DS-001…DS-004 on small clusters written as YAML: the shared builders, DS-001, DS-003,
//! DS-004 and the category's edge cases here, DS-002's reasons in `uncovered`.

mod uncovered;

use crate::api::{CheckSelection, RequiredDaemonSet, SecurityPolicySpec};
use crate::audit::testutil::{audit_with, now, snapshot};
use crate::audit::{AuditInput, Finding, Report, nodes::ReleaseData, run};
use crate::policy::EffectivePolicy;
use crate::snapshot::{ObjectKind, Unavailable};

/// A policy requiring `falco/falco` (and any other `ns/name`) on nodes matching `selector`.
fn requiring(names: &[&str], selector: &[(&str, &str)]) -> EffectivePolicy {
    let spec = SecurityPolicySpec {
        checks: CheckSelection {
            include: vec!["daemonset".to_string()],
            ..Default::default()
        },
        required_daemon_sets: names
            .iter()
            .map(|n| {
                let (namespace, name) = n.split_once('/').expect("ns/name");
                RequiredDaemonSet {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    node_selector: selector
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                }
            })
            .collect(),
        ..Default::default()
    };
    EffectivePolicy::compile("p", &spec).expect("valid policy")
}

fn falco() -> EffectivePolicy {
    requiring(&["falco/falco"], &[])
}

fn node(name: &str, labels: &str, taints: &str, ready: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}, labels: {{{labels}}}}}\n\
         spec: {{taints: [{taints}]}}\n\
         status: {{conditions: [{{type: Ready, status: \"{ready}\", reason: KubeletNotReady, \
         message: container runtime is down}}]}}\n"
    )
}

fn daemon_set(template: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{namespace: falco, name: falco, uid: u-1}}\n\
         spec:\n  selector: {{matchLabels: {{app: falco}}}}\n  template:\n    \
         metadata: {{labels: {{app: falco}}}}\n    spec: {template}\n"
    )
}

const TEMPLATE: &str = "{containers: [{name: falco, image: \"falcosecurity/falco:0.38.1\"}]}";
const READY: &str = "{phase: Running, conditions: [{type: Ready, status: \"True\"}]}";

/// A Pod of falco/falco; `spec` is the inside of the pod spec's flow mapping.
fn pod(name: &str, spec: &str, status: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{namespace: falco, name: {name}, ownerReferences: \
         [{{apiVersion: apps/v1, kind: DaemonSet, name: falco, uid: u-1, controller: true}}]}}\n\
         spec: {{{spec}}}\nstatus: {status}\n"
    )
}

fn on(node: &str, image: &str) -> String {
    format!("nodeName: {node}, containers: [{{name: falco, image: \"{image}\"}}]")
}

fn cluster(docs: &[String]) -> String {
    docs.join("---\n")
}

/// `check node reason` of each DaemonSet finding.
fn found(r: &Report) -> Vec<String> {
    r.findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f.check,
                f.resource.name,
                f.reason.as_deref().unwrap_or("-")
            )
        })
        .collect()
}

fn only<'a>(r: &'a Report, check: &str) -> &'a Finding {
    let all: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.check == check)
        .map(|f| &**f)
        .collect();
    assert_eq!(all.len(), 1, "{:?}", found(r));
    all[0]
}

#[test]
fn ds001_missing_daemon_set_points_at_the_reference_and_lists_namesakes() {
    let mut other = daemon_set(TEMPLATE).replace("name: falco, uid", "name: falco-agent, uid");
    other.push('\n');
    let r = audit_with(&cluster(&[node("w1", "", "", "True"), other]), &falco());
    let f = only(&r, "DS-001");
    assert_eq!(
        (f.resource.kind.as_ref(), f.resource.namespace.as_deref()),
        ("DaemonSet", Some("falco"))
    );
    assert_eq!(f.resource.name, "falco");
    assert_eq!(
        f.daemon_set.as_ref().map(|d| d.name.as_str()),
        Some("falco")
    );
    assert!(f.evidence[0].contains("falco-agent"), "{:?}", f.evidence);

    let r = audit_with(
        &cluster(&[node("w1", "", "", "True"), daemon_set(TEMPLATE)]),
        &falco(),
    );
    assert!(!found(&r).iter().any(|f| f.starts_with("DS-001")));
}

#[test]
fn covered_nodes_and_no_required_daemon_sets_give_nothing() {
    let yaml = cluster(&[
        node("w1", "", "", "True"),
        daemon_set(TEMPLATE),
        pod("falco-a", &on("w1", "falcosecurity/falco:0.38.1"), READY),
    ]);
    assert_eq!(found(&audit_with(&yaml, &falco())), Vec::<String>::new());
    let none = requiring(&[], &[]);
    let bare = cluster(&[node("w1", "", "", "False")]);
    assert!(audit_with(&bare, &none).findings.is_empty());
}

#[test]
fn unscheduled_pod_belongs_to_the_node_of_its_affinity() {
    let pinned = "containers: [{name: falco, image: \"falcosecurity/falco:0.38.1\"}], affinity: {nodeAffinity: \
        {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchFields: \
        [{key: metadata.name, operator: In, values: [w2]}]}]}}}";
    let pending = "{phase: Pending, conditions: [{type: PodScheduled, status: \"False\", reason: Unschedulable, \
        message: \"0/3 nodes are available: 1 Insufficient memory.\"}]}";
    let yaml = cluster(&[
        node("w2", "", "", "True"),
        daemon_set(TEMPLATE),
        pod("falco-p", pinned, pending),
    ]);
    let r = audit_with(&yaml, &falco());
    assert_eq!(found(&r), ["DS-003 w2 Unschedulable"]);
    let f = only(&r, "DS-003");
    assert!(
        f.evidence.iter().any(|e| e.contains("Insufficient memory")),
        "{:?}",
        f.evidence
    );
    assert!(
        f.remediation.contains("system-node-critical"),
        "{}",
        f.remediation
    );
}

#[test]
fn ds003_reason_comes_from_the_container_then_the_phase() {
    let crash = "{phase: Running, conditions: [{type: Ready, status: \"False\"}], containerStatuses: \
        [{name: falco, image: i, imageID: \"\", ready: false, restartCount: 7, \
        state: {waiting: {reason: CrashLoopBackOff, message: back-off 5m0s}}, \
        lastState: {terminated: {exitCode: 137, reason: OOMKilled}}}]}";
    let yaml = cluster(&[
        node("w1", "", "", "True"),
        node("w2", "", "", "True"),
        node("w3", "", "", "True"),
        daemon_set(TEMPLATE),
        pod("falco-a", &on("w1", "falcosecurity/falco:0.38.1"), crash),
        pod("falco-b", &on("w2", "falcosecurity/falco:0.38.1"), "{}"),
        pod("falco-c", &on("w3", "falcosecurity/falco:0.38.1"), READY),
    ]);
    let r = audit_with(&yaml, &falco());
    assert_eq!(
        found(&r),
        ["DS-003 w1 CrashLoopBackOff", "DS-003 w2 Pending"]
    );
    let f = &r.findings[0];
    assert_eq!(
        f.daemon_set.as_ref().map(|d| d.namespace.as_str()),
        Some("falco")
    );
    assert!(
        f.message.contains("Pod falco-a") && f.message.contains("container falco"),
        "{}",
        f.message
    );
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("last terminated OOMKilled (exit code 137)")),
        "{:?}",
        f.evidence
    );
    assert!(
        f.remediation.contains("resources.limits.memory"),
        "{}",
        f.remediation
    );
}

#[test]
fn ds003_on_a_node_that_stopped_reporting_says_node_not_ready() {
    let stale = "{phase: Running, conditions: [{type: Ready, status: \"False\"}]}";
    let yaml = cluster(&[
        node("w1", "", "", "Unknown"),
        daemon_set(TEMPLATE),
        pod("falco-a", &on("w1", "falcosecurity/falco:0.38.1"), stale),
    ]);
    assert_eq!(
        found(&audit_with(&yaml, &falco())),
        ["DS-003 w1 NodeNotReady"]
    );
}

#[test]
fn ds004_compares_spec_images_not_status() {
    let status_only = "{phase: Running, conditions: [{type: Ready, status: \"True\"}], containerStatuses: \
        [{name: falco, image: \"docker.io/falcosecurity/falco:0.37.0\", imageID: \"\", ready: true, restartCount: 0}]}";
    let yaml = cluster(&[
        node("w1", "", "", "True"),
        node("w2", "", "", "True"),
        node("w3", "", "", "True"),
        daemon_set(TEMPLATE),
        pod("falco-old", &on("w1", "falcosecurity/falco:0.37.0"), READY),
        pod(
            "falco-new",
            &on("w2", "falcosecurity/falco:0.38.1"),
            status_only,
        ),
        // A digest pinned by an admission webhook is not a different image.
        pod(
            "falco-pin",
            &on("w3", "docker.io/falcosecurity/falco:0.38.1@sha256:abc"),
            READY,
        ),
    ]);
    let r = audit_with(&yaml, &falco());
    assert_eq!(found(&r), ["DS-004 w1 OutdatedImage"]);
    let f = &r.findings[0];
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("falco: falcosecurity/falco:0.37.0 → falcosecurity/falco:0.38.1")),
        "{:?}",
        f.evidence
    );
}

#[test]
fn surge_rollout_keeps_the_node_covered_and_uid_mismatch_does_not() {
    let pending = "{phase: Pending}";
    let yaml = cluster(&[
        node("w1", "", "", "True"),
        node("w2", "", "", "True"),
        daemon_set(TEMPLATE),
        pod("old", &on("w1", "falcosecurity/falco:0.38.1"), READY),
        pod("new", &on("w1", "falcosecurity/falco:0.38.1"), pending),
        // Replaced: the old Pod still runs while it terminates, the new one is not up yet.
        node("w3", "", "", "True"),
        pod("leaving", &on("w3", "falcosecurity/falco:0.37.0"), READY).replace(
            "metadata: {",
            "metadata: {deletionTimestamp: \"2026-11-28T11:59:00Z\", ",
        ),
        pod("coming", &on("w3", "falcosecurity/falco:0.38.1"), pending),
        // Owned by a deleted DaemonSet of the same name: not this one's.
        pod("orphan", &on("w2", "falcosecurity/falco:0.38.1"), READY)
            .replace("uid: u-1", "uid: u-0"),
    ]);
    assert_eq!(
        found(&audit_with(&yaml, &falco())),
        ["DS-002 w2 NotScheduled"]
    );
}

#[test]
fn one_finding_per_check_node_and_daemon_set() {
    let yaml = cluster(&[
        node("w1", "", "", "False"),
        daemon_set(TEMPLATE),
        daemon_set(TEMPLATE).replace(
            "namespace: falco, name: falco,",
            "namespace: logging, name: fluent-bit,",
        ),
        pod("x", &on("other", "i"), READY),
    ]);
    let r = audit_with(
        &yaml,
        &requiring(&["falco/falco", "logging/fluent-bit"], &[]),
    );
    let ds: Vec<String> = r
        .findings
        .iter()
        .map(|f| format!("{} {:?}", f.check, f.daemon_set.as_ref().map(|d| &d.name)))
        .collect();
    assert_eq!(
        ds,
        ["DS-002 Some(\"falco\")", "DS-002 Some(\"fluent-bit\")"]
    );
}

#[test]
fn unreadable_or_absent_inputs_are_not_assessed() {
    let mut snap = snapshot(&cluster(&[
        node("w1", "", "", "True"),
        daemon_set(TEMPLATE),
    ]));
    snap.unavailable.push(Unavailable {
        kind: ObjectKind::Pod,
        reason: "forbidden".to_string(),
    });
    let policy = falco();
    let r = run(&AuditInput {
        snapshot: &snap,
        policy: &policy,
        now: now(),
        release_data: ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    });
    assert!(r.findings.is_empty());
    assert_eq!(r.not_assessed[0].category, "daemonset");
    assert!(
        r.not_assessed[0]
            .reason
            .contains("Pods could not be read (forbidden)"),
        "{:?}",
        r.not_assessed
    );

    // No Pod at all in the input: DS-001 is still known, coverage is not.
    let r = audit_with(&node("w1", "", "", "True"), &falco());
    assert_eq!(found(&r), ["DS-001 falco -"]);
    assert!(
        r.not_assessed[0].reason.contains("no Pods"),
        "{:?}",
        r.not_assessed
    );
}
