//! DS-002: why an eligible node has no Pod, most specific reason first.

use super::*;

#[test]
fn ds002_untolerated_taint_names_taint_and_exact_toleration() {
    let yaml = cluster(&[
        node(
            "cp1",
            "",
            "{key: node-role.kubernetes.io/control-plane, effect: NoSchedule}",
            "True",
        ),
        daemon_set(TEMPLATE),
        pod("x", &on("other", "falcosecurity/falco:0.38.1"), READY),
    ]);
    let r = audit_with(&yaml, &falco());
    let f = only(&r, "DS-002");
    assert_eq!(
        (f.resource.kind.as_ref(), f.resource.name.as_str()),
        ("Node", "cp1")
    );
    assert_eq!(f.reason.as_deref(), Some("TaintNotTolerated"));
    assert!(
        f.message
            .contains("node-role.kubernetes.io/control-plane:NoSchedule"),
        "{}",
        f.message
    );
    assert!(
        f.remediation.contains(
            "{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}"
        ),
        "{}",
        f.remediation
    );
    // No tolerations yet: the patch adds the list rather than appending to a missing one.
    assert!(
        f.remediation
            .contains(r#""path":"/spec/template/spec/tolerations","#),
        "{}",
        f.remediation
    );
    // With tolerations already there, it appends; a taint with a value is matched with Equal.
    let yaml = cluster(&[
        node(
            "gpu-1",
            "",
            "{key: dedicated, value: gpu, effect: NoExecute}",
            "True",
        ),
        daemon_set(
            "{containers: [{name: falco, image: i}], tolerations: [{key: x, operator: Exists}]}",
        ),
        pod("x", &on("other", "i"), READY),
    ]);
    let r = audit_with(&yaml, &falco());
    let fix = &only(&r, "DS-002").remediation;
    assert!(
        fix.contains(r#""path":"/spec/template/spec/tolerations/-""#),
        "{fix}"
    );
    assert!(
        fix.contains("{key: dedicated, operator: Equal, value: \"gpu\", effect: NoExecute}"),
        "{fix}"
    );
}

#[test]
fn ds002_tolerations_follow_kubernetes_matching() {
    let tainted = |taint: &str, template: &str| {
        let yaml = cluster(&[
            node("node-a", "", taint, "True"),
            daemon_set(template),
            pod("x", &on("other", "falcosecurity/falco:0.38.1"), READY),
        ]);
        audit_with(&yaml, &falco()).findings[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .to_string()
    };
    let with =
        |tols: &str| format!("{{containers: [{{name: falco, image: i}}], tolerations: [{tols}]}}");
    let gpu = "{key: dedicated, value: gpu, effect: NoExecute}";
    // Empty key with Exists tolerates every taint; an empty effect matches every effect.
    assert_eq!(tainted(gpu, &with("{operator: Exists}")), "NotScheduled");
    assert_eq!(
        tainted(gpu, &with("{key: dedicated, operator: Exists}")),
        "NotScheduled"
    );
    assert_eq!(
        tainted(gpu, &with("{key: dedicated, value: gpu}")),
        "NotScheduled"
    );
    assert_eq!(
        tainted(gpu, &with("{key: dedicated, operator: Equal, value: cpu}")),
        "TaintNotTolerated"
    );
    assert_eq!(
        tainted(
            gpu,
            &with("{key: dedicated, operator: Exists, effect: NoSchedule}")
        ),
        "TaintNotTolerated"
    );
    // PreferNoSchedule never keeps a DaemonSet off a node.
    assert_eq!(
        tainted("{key: dedicated, effect: PreferNoSchedule}", TEMPLATE),
        "NotScheduled"
    );
}

#[test]
fn ds002_daemon_set_controller_tolerations_are_automatic() {
    let tainted = |taint: &str, template: &str| {
        let yaml = cluster(&[
            node("node-a", "", taint, "True"),
            daemon_set(template),
            pod("x", &on("other", "i"), READY),
        ]);
        audit_with(&yaml, &falco()).findings[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .to_string()
    };
    for auto in [
        "{key: node.kubernetes.io/unschedulable, effect: NoSchedule}",
        "{key: node.kubernetes.io/disk-pressure, effect: NoSchedule}",
        "{key: node.kubernetes.io/memory-pressure, effect: NoSchedule}",
        "{key: node.kubernetes.io/pid-pressure, effect: NoSchedule}",
        "{key: node.kubernetes.io/unreachable, effect: NoExecute}",
        "{key: node.kubernetes.io/not-ready, effect: NoExecute}",
    ] {
        assert_eq!(tainted(auto, TEMPLATE), "NotScheduled", "{auto}");
    }
    // Only the listed effect is automatic.
    assert_eq!(
        tainted(
            "{key: node.kubernetes.io/unreachable, effect: NoSchedule}",
            TEMPLATE
        ),
        "TaintNotTolerated"
    );
    // network-unavailable only for hostNetwork Pods.
    let net = "{key: node.kubernetes.io/network-unavailable, effect: NoSchedule}";
    assert_eq!(tainted(net, TEMPLATE), "TaintNotTolerated");
    let host = "{hostNetwork: true, containers: [{name: falco, image: i}]}";
    assert_eq!(tainted(net, host), "NotScheduled");
}

#[test]
fn ds002_node_not_ready_comes_before_its_taints() {
    let yaml = cluster(&[
        node(
            "w3",
            "",
            "{key: node.kubernetes.io/not-ready, effect: NoSchedule}",
            "Unknown",
        ),
        daemon_set(TEMPLATE),
        pod("x", &on("other", "i"), READY),
    ]);
    let r = audit_with(&yaml, &falco());
    let f = only(&r, "DS-002");
    assert_eq!(f.reason.as_deref(), Some("NodeNotReady"));
    assert!(
        f.message
            .contains("Ready=Unknown (KubeletNotReady: container runtime is down)"),
        "{}",
        f.message
    );
    assert!(
        f.remediation.contains("kubectl describe node w3"),
        "{}",
        f.remediation
    );
}

#[test]
fn ds002_node_selector_or_affinity_that_excludes_the_node() {
    let reason_and_message = |labels: &str, template: &str| {
        let yaml = cluster(&[
            node("node-a", labels, "", "True"),
            daemon_set(template),
            pod("x", &on("o", "i"), READY),
        ]);
        let f = Finding::clone(&audit_with(&yaml, &falco()).findings[0]);
        (
            f.reason.unwrap_or_default().to_string(),
            f.message,
            f.remediation,
        )
    };
    let selector =
        "{nodeSelector: {kubernetes.io/os: linux}, containers: [{name: falco, image: i}]}";
    let (reason, message, fix) = reason_and_message("kubernetes.io/os: windows", selector);
    assert_eq!(reason, "NodeSelectorMismatch");
    assert!(
        message.contains(
            "nodeSelector kubernetes.io/os=linux (the node has kubernetes.io/os=windows)"
        ),
        "{message}"
    );
    assert!(
        fix.contains("kubectl label node node-a kubernetes.io/os=linux"),
        "{fix}"
    );

    let affinity = "{affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: \
        [{matchExpressions: [{key: pool, operator: NotIn, values: [gpu]}]}, \
         {matchExpressions: [{key: cores, operator: Gt, values: [\"8\"]}]}]}}}, containers: [{name: falco, image: i}]}";
    let (reason, message, _) = reason_and_message("pool: gpu, cores: \"4\"", affinity);
    assert_eq!(reason, "NodeSelectorMismatch");
    assert!(
        message.contains("term 1: pool NotIn [gpu] (the node has pool=gpu); term 2: cores Gt [8]"),
        "{message}"
    );
    // Either term admitting the node is enough (terms are ORed).
    assert_eq!(
        reason_and_message("pool: gpu, cores: \"16\"", affinity).0,
        "NotScheduled"
    );
    assert_eq!(
        reason_and_message("pool: cpu, cores: \"4\"", affinity).0,
        "NotScheduled"
    );
}

#[test]
fn eligibility_follows_the_policy_selector_and_skips_deleted_nodes() {
    let deleting = node("gone", "", "", "True").replace(
        "metadata: {name: gone,",
        "metadata: {deletionTimestamp: \"2026-11-28T11:00:00Z\", name: gone,",
    );
    let yaml = cluster(&[
        node("linux", "kubernetes.io/os: linux", "", "True"),
        node("win", "kubernetes.io/os: windows", "", "True"),
        deleting,
        daemon_set(TEMPLATE),
        pod("x", &on("elsewhere", "i"), READY),
    ]);
    let r = audit_with(
        &yaml,
        &requiring(&["falco/falco"], &[("kubernetes.io/os", "linux")]),
    );
    assert_eq!(found(&r), ["DS-002 linux NotScheduled"]);
}
