//! The registry's `needed_by` against the audit (issue 16): a kind that cannot be read leaves
//! exactly the categories the registry names for it (wholly or partly) not assessed. Each
//! family decides how (which checks, with which words); this keeps those decisions and the
//! registry from drifting apart.

use super::{AuditInput, Report, run};
use crate::catalog::Category;
use crate::policy::EffectivePolicy;
use crate::snapshot::{ALL_KINDS, Snapshot, Unavailable};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// A node running a required DaemonSet's Pod, so that node coverage is assessed too.
const NODE_AND_AGENT: &str = "\
apiVersion: v1
kind: Node
metadata: {name: cp1}
status:
  conditions: [{type: Ready, status: 'True'}]
  nodeInfo: {kubeletVersion: v1.30.2, osImage: Ubuntu 22.04.4 LTS, kernelVersion: 6.12.1,
             containerRuntimeVersion: 'containerd://1.7.20', architecture: amd64, operatingSystem: linux}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {namespace: kube-system, name: kube-proxy, uid: u-1}
spec:
  selector: {matchLabels: {k8s-app: kube-proxy}}
  template:
    metadata: {labels: {k8s-app: kube-proxy}}
    spec: {containers: [{name: kube-proxy, image: 'registry.k8s.io/kube-proxy:v1.30.2'}]}
---
apiVersion: v1
kind: Pod
metadata:
  namespace: kube-system
  name: kube-proxy-a
  ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: kube-proxy, uid: u-1, controller: true}]
spec: {nodeName: cp1, containers: [{name: kube-proxy, image: 'registry.k8s.io/kube-proxy:v1.30.2'}]}
status: {phase: Running, conditions: [{type: Ready, status: 'True'}]}
";

/// A whole cluster: kubeadm 1.20's objects (every kind but Secrets and Pods), kubeadm 1.30's
/// control plane and kubelet baseline, a node and a node agent.
fn cluster() -> Snapshot {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let (mut s, mut stats) = crate::snapshot::load_paths(&[
        fixtures.join("fresh-cluster-1.20"),
        fixtures.join("kubeadm-1.30"),
    ])
    .expect("fixtures load");
    crate::snapshot::load_str(
        std::path::Path::new("node.yaml"),
        NODE_AND_AGENT,
        &mut s,
        &mut stats,
    )
    .expect("node and agent load");
    s
}

/// Every check of every category, and a required DaemonSet (the DaemonSet checks run only
/// with one).
fn everything() -> EffectivePolicy {
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
    let spec = serde_json::json!({
        "checks": {"include": categories},
        "requiredDaemonSets": [{"namespace": "kube-system", "name": "kube-proxy"}],
    });
    EffectivePolicy::compile("everything", &serde_json::from_value(spec).expect("spec"))
        .expect("valid policy")
}

fn audit(s: &Snapshot, policy: &EffectivePolicy) -> Report {
    run(&AuditInput {
        snapshot: s,
        policy,
        now: super::testutil::now(),
        release_data: super::nodes::ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    })
}

fn not_assessed(r: &Report) -> BTreeSet<String> {
    r.not_assessed.iter().map(|n| n.category.clone()).collect()
}

#[test]
fn an_unreadable_kind_leaves_the_categories_the_registry_names_not_assessed() {
    let policy = everything();
    let whole = cluster();
    let baseline = not_assessed(&audit(&whole, &policy));
    // With every kind read, every category a kind is needed by is assessed: otherwise its
    // unavailability could not show.
    let needed: BTreeSet<String> = ALL_KINDS
        .iter()
        .flat_map(|k| k.info().needed_by)
        .map(|c| c.as_str().to_string())
        .collect();
    assert!(
        baseline.is_disjoint(&needed),
        "not assessed with every kind read: {baseline:?}"
    );
    let mut wrong = Vec::new();
    for kind in ALL_KINDS {
        let mut s = whole.clone();
        s.clear(kind);
        s.unavailable.push(Unavailable {
            kind,
            reason: format!("forbidden: cannot list {}", kind.plural()),
        });
        let now: BTreeSet<String> = not_assessed(&audit(&s, &policy))
            .difference(&baseline)
            .cloned()
            .collect();
        let registered: BTreeSet<String> = kind
            .info()
            .needed_by
            .iter()
            .map(|c| c.as_str().to_string())
            .collect();
        if now != registered {
            wrong.push(format!("{kind:?}: audit {now:?}, registry {registered:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
