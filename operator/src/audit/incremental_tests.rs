//! The incremental audit equals a full audit of the same state, over random sequences of
//! changes to a small cluster that exercises every family the engine keeps results of.

use super::*;
use crate::api::{CheckSelection, SecurityPolicySpec};
use crate::audit::testutil::{POWERFUL_SA, deploy, now, snapshot};
use crate::audit::{AuditInput, run_with_previous};
use crate::policy::EffectivePolicy;
use crate::snapshot::{ObjectKind, Unavailable};
use kube::Resource;
use proptest::prelude::*;

/// An object the sequences add, change and delete: its kind, namespace and name, and one
/// YAML document per variant.
struct Slot {
    kind: ObjectKind,
    namespace: Option<&'static str>,
    name: &'static str,
    variants: Vec<String>,
}

const SPECS: [&str; 5] = [
    "{containers: [{name: app, image: nginx, securityContext: {privileged: true}}]}",
    "{securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}, containers: [{name: app, image: nginx, securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}}]}",
    "{hostPID: true, serviceAccountName: builder, containers: [{name: app, image: nginx, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]}",
    "{serviceAccountName: builder, volumes: [{name: s, hostPath: {path: /var/run/docker.sock}}], containers: [{name: app, image: nginx, ports: [{containerPort: 80, hostPort: 80}]}]}",
    "{containers: [{name: app, image: nginx}]}",
];

fn on_node(spec: &str, node: &str) -> String {
    spec.replacen('{', &format!("{{nodeName: {node}, "), 1)
}

fn slots() -> Vec<Slot> {
    let mut v = Vec::new();
    for (name, labels) in [("shop", "ok"), ("dev", "none")] {
        v.push(Slot {
            kind: ObjectKind::Namespace,
            namespace: None,
            name,
            variants: [
                format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}}}\n"),
                format!(
                    "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{pod-security.kubernetes.io/enforce: restricted, tag: {labels}}}}}\n"
                ),
                format!(
                    "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{pod-security.kubernetes.io/enforce: privileged}}}}\n"
                ),
            ]
            .into(),
        });
    }
    for name in ["n1", "n2"] {
        let node = |kernel: &str, os: &str| {
            format!(
                "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nstatus:\n  nodeInfo: \
                 {{kubeletVersion: v1.35.2, containerRuntimeVersion: \"containerd://1.7.22\", \
                 architecture: amd64, operatingSystem: linux, osImage: \"{os}\", kernelVersion: \"{kernel}\"}}\n"
            )
        };
        v.push(Slot {
            kind: ObjectKind::Node,
            namespace: None,
            name,
            variants: vec![
                node("5.10.50", "Talos (v0.12.0)"),
                node("6.6.60", "Talos (v1.8.0)"),
                node("5.15.0-23-generic", "Ubuntu 22.04.1 LTS"),
            ],
        });
    }
    // Bare Pods, on either node.
    for (name, ns) in [("p1", "shop"), ("p2", "dev"), ("p3", "shop")] {
        let mut variants = Vec::new();
        for spec in SPECS {
            for node in ["n1", "n2"] {
                variants.push(format!(
                    "apiVersion: v1\nkind: Pod\nmetadata: {{namespace: {ns}, name: {name}}}\nspec: {}\n",
                    on_node(spec, node)
                ));
            }
        }
        v.push(Slot {
            kind: ObjectKind::Pod,
            namespace: Some(ns),
            name,
            variants,
        });
    }
    // A Deployment, its ReplicaSet and two of its Pods: the Pods place the Deployment.
    let template = |spec: &str| {
        format!(
            "spec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec: {spec}\n"
        )
    };
    v.push(Slot {
        kind: ObjectKind::Deployment,
        namespace: Some("shop"),
        name: "web",
        variants: SPECS
            .iter()
            .map(|s| {
                format!(
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{namespace: shop, name: web, uid: d-web}}\n{}",
                    template(s)
                )
            })
            .collect(),
    });
    v.push(Slot {
        kind: ObjectKind::ReplicaSet,
        namespace: Some("shop"),
        name: "web-5d9c7b",
        variants: SPECS
            .iter()
            .map(|s| {
                format!(
                    "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  namespace: shop\n  name: web-5d9c7b\n  uid: rs-web\n  \
                     ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: web, uid: d-web, controller: true}}]\n{}",
                    template(s)
                )
            })
            .collect(),
    });
    for name in ["web-5d9c7b-a", "web-5d9c7b-b"] {
        v.push(Slot {
            kind: ObjectKind::Pod,
            namespace: Some("shop"),
            name,
            variants: ["n1", "n2"]
                .iter()
                .map(|n| {
                    format!(
                        "apiVersion: v1\nkind: Pod\nmetadata:\n  namespace: shop\n  name: {name}\n  labels: {{app: web}}\n  \
                         ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9c7b, uid: rs-web, controller: true}}]\n\
                         spec: {}\n",
                        on_node(SPECS[0], n)
                    )
                })
                .collect(),
        });
    }
    // The control plane: an API server Pod, secure or not.
    v.push(Slot {
        kind: ObjectKind::Pod,
        namespace: Some("kube-system"),
        name: "kube-apiserver-cp",
        // The last variant runs an older API server than the kubelets (NODE-002's skew).
        variants: [
            ("--anonymous-auth=true", "v1.35.2"),
            ("--anonymous-auth=false", "v1.35.2"),
            ("--anonymous-auth=false", "v1.32.0"),
        ]
        .iter()
        .map(|(flag, version)| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{namespace: kube-system, name: kube-apiserver-cp, labels: {{component: kube-apiserver}}}}\n\
                 spec: {{nodeName: n1, hostNetwork: true, containers: [{{name: kube-apiserver, image: registry.k8s.io/kube-apiserver:{version}, \
                 command: [kube-apiserver, {flag}, --authorization-mode=Node\\,RBAC]}}]}}\n"
            )
        })
        .collect(),
    });
    // RBAC: a ServiceAccount, roles, and bindings that make it powerful or not.
    v.push(Slot {
        kind: ObjectKind::ServiceAccount,
        namespace: Some("shop"),
        name: "builder",
        variants: vec![
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {namespace: shop, name: builder}\n".into(),
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {namespace: shop, name: builder}\nautomountServiceAccountToken: false\n".into(),
        ],
    });
    v.push(Slot {
        kind: ObjectKind::ClusterRole,
        namespace: None,
        name: "power",
        variants: vec![
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: power}\nrules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n".into(),
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: power}\nrules: [{apiGroups: [''], resources: [secrets], verbs: [get, list]}]\n".into(),
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: power}\nrules: [{apiGroups: [''], resources: [configmaps], verbs: [get]}]\n".into(),
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: power}\nrules: [{apiGroups: [''], resources: [pods, pods/exec], verbs: [create]}]\n".into(),
        ],
    });
    let subjects = [
        "[{kind: ServiceAccount, name: builder, namespace: shop}]",
        "[{kind: Group, name: system:authenticated, apiGroup: rbac.authorization.k8s.io}]",
        "[{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]",
    ];
    v.push(Slot {
        kind: ObjectKind::ClusterRoleBinding,
        namespace: None,
        name: "power-binding",
        variants: subjects
            .iter()
            .map(|s| {
                format!(
                    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: power-binding}}\n\
                     roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: power}}\nsubjects: {s}\n"
                )
            })
            .collect(),
    });
    v.push(Slot {
        kind: ObjectKind::RoleBinding,
        namespace: Some("dev"),
        name: "admin-here",
        variants: subjects
            .iter()
            .map(|s| {
                format!(
                    "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{namespace: dev, name: admin-here}}\n\
                     roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\nsubjects: {s}\n"
                )
            })
            .collect(),
    });
    // People's access: a role that opens a way to ServiceAccounts (RBAC-030's edges), bound
    // in a namespace to Users, Groups or a ServiceAccount, and cluster-admin given to Users.
    v.push(Slot {
        kind: ObjectKind::ClusterRole,
        namespace: None,
        name: "pod-maker",
        variants: [
            "[{apiGroups: [''], resources: [pods], verbs: [create]}]",
            "[{apiGroups: [''], resources: [serviceaccounts/token], verbs: [create]}]",
            "[{apiGroups: [''], resources: [secrets], verbs: [get]}]",
        ]
        .iter()
        .map(|rules| {
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: pod-maker}}\nrules: {rules}\n"
            )
        })
        .collect(),
    });
    v.push(Slot {
        kind: ObjectKind::RoleBinding,
        namespace: Some("shop"),
        name: "makers",
        variants: [
            "[{kind: User, name: carol, apiGroup: rbac.authorization.k8s.io}]",
            "[{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}, {kind: User, name: dave, apiGroup: rbac.authorization.k8s.io}]",
            "[{kind: User, name: carol, apiGroup: rbac.authorization.k8s.io}, {kind: ServiceAccount, name: default, namespace: dev}]",
            "[{kind: Group, name: system:serviceaccounts:dev, apiGroup: rbac.authorization.k8s.io}]",
        ]
        .iter()
        .map(|s| {
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{namespace: shop, name: makers}}\n\
                 roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-maker}}\nsubjects: {s}\n"
            )
        })
        .collect(),
    });
    v.push(Slot {
        kind: ObjectKind::ClusterRoleBinding,
        namespace: None,
        name: "people-admin",
        variants: [
            "[{kind: User, name: dave, apiGroup: rbac.authorization.k8s.io}]",
            "[{kind: User, name: carol, apiGroup: rbac.authorization.k8s.io}]",
            "[{kind: Group, name: devs, apiGroup: rbac.authorization.k8s.io}]",
            "[{kind: ServiceAccount, name: builder, namespace: shop}]",
        ]
        .iter()
        .map(|s| {
            format!(
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: people-admin}}\n\
                 roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}\nsubjects: {s}\n"
            )
        })
        .collect(),
    });
    // kubeadm's kubelet baseline: seccompDefault on or off (XL-002).
    v.push(Slot {
        kind: ObjectKind::ConfigMap,
        namespace: Some("kube-system"),
        name: "kubelet-config",
        variants: ["true", "false"]
            .iter()
            .map(|d| {
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{namespace: kube-system, name: kubelet-config}}\n\
                     data:\n  kubelet: |\n    apiVersion: kubelet.config.k8s.io/v1beta1\n    kind: KubeletConfiguration\n    seccompDefault: {d}\n"
                )
            })
            .collect(),
    });
    v
}

/// Replace (or, with `incoming` empty, delete) the object named `namespace/name` in `objects`,
/// keeping its position: other objects keep their `Arc`s, as a watch store does.
fn put<T: Resource>(
    objects: &mut Vec<Arc<T>>,
    incoming: Vec<Arc<T>>,
    namespace: Option<&str>,
    name: &str,
) {
    let at = objects.iter().position(|o| {
        o.meta().name.as_deref() == Some(name) && o.meta().namespace.as_deref() == namespace
    });
    match (at, incoming.into_iter().next()) {
        (Some(i), Some(new)) => objects[i] = new,
        (Some(i), None) => {
            objects.remove(i);
        }
        (None, Some(new)) => objects.push(new),
        (None, None) => {}
    }
}

/// Apply one change to `world`: slot `slot` becomes `variant` (`None`: deleted).
fn apply(world: &mut Snapshot, slot: &Slot, variant: Option<usize>) {
    let one = variant
        .map(|v| snapshot(&slot.variants[v % slot.variants.len()]))
        .unwrap_or_default();
    let (ns, name) = (slot.namespace, slot.name);
    match slot.kind {
        ObjectKind::Namespace => put(&mut world.namespaces, one.namespaces, ns, name),
        ObjectKind::Node => put(&mut world.nodes, one.nodes, ns, name),
        ObjectKind::Pod => put(&mut world.pods, one.pods, ns, name),
        ObjectKind::Deployment => put(&mut world.deployments, one.deployments, ns, name),
        ObjectKind::ReplicaSet => put(&mut world.replica_sets, one.replica_sets, ns, name),
        ObjectKind::ServiceAccount => {
            put(&mut world.service_accounts, one.service_accounts, ns, name)
        }
        ObjectKind::ClusterRole => put(&mut world.cluster_roles, one.cluster_roles, ns, name),
        ObjectKind::ClusterRoleBinding => put(
            &mut world.cluster_role_bindings,
            one.cluster_role_bindings,
            ns,
            name,
        ),
        ObjectKind::RoleBinding => put(&mut world.role_bindings, one.role_bindings, ns, name),
        ObjectKind::ConfigMap => put(&mut world.config_maps, one.config_maps, ns, name),
        other => unreachable!("no slot of kind {other:?}"),
    }
}

/// One step of a sequence.
#[derive(Clone, Debug)]
enum Step {
    /// Slot, and its new variant (`None`: deleted).
    Change(usize, Option<usize>),
    /// Pods become unreadable, or readable again.
    TogglePods,
    /// Switch to the next of [`policies`].
    TogglePolicy,
    /// Reverse the order of the bindings, as a watch store may list its objects in another
    /// order: RBAC-030 breaks ties by the order of grants.
    ReorderBindings,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => (0..64usize, proptest::option::weighted(0.85, 0..16usize))
            .prop_map(|(s, v)| Step::Change(s, v)),
        1 => Just(Step::TogglePods),
        1 => Just(Step::TogglePolicy),
        1 => Just(Step::ReorderBindings),
    ]
}

/// The default policy; one without WL-001 and XL-002; the default checks outside `dev` (the
/// same checks as the first, so only the scope tells them apart); the default checks with
/// severity overrides and an exception, which change findings the engine shares with the
/// report (the engine must keep the checks' own).
fn policies() -> [EffectivePolicy; 4] {
    let spec = SecurityPolicySpec {
        checks: CheckSelection {
            exclude: vec!["WL-001".into(), "XL-002".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let scoped = SecurityPolicySpec {
        namespaces: crate::api::NamespaceSelection {
            exclude: vec!["dev".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    [
        EffectivePolicy::default_policy(),
        EffectivePolicy::compile("narrow", &spec).expect("valid"),
        EffectivePolicy::compile("scoped", &scoped).expect("valid"),
        overriding(),
    ]
}

fn overriding() -> EffectivePolicy {
    let spec = serde_json::json!({
        "severityOverrides": [
            {"check": "WL-001", "severity": "low"},
            {"check": "RBAC-001", "severity": "info"},
            {"check": "XL-001", "severity": "medium"},
        ],
        "exceptions": [
            {"check": "WL-005", "resource": {"namespace": "shop"}, "reason": "accepted"},
            {"check": "XL-002", "resource": {"name": "p*"}, "reason": "accepted"},
        ],
    });
    EffectivePolicy::compile("overriding", &serde_json::from_value(spec).unwrap())
        .expect("valid policy")
}

fn input<'a>(world: &'a Snapshot, policy: &'a EffectivePolicy) -> AuditInput<'a> {
    AuditInput::offline(world, policy, now())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// After every change of every sequence, the engine's report equals a full audit's of the
    /// same state (and of the same earlier findings, which held findings come from).
    #[test]
    fn incremental_equals_full(
        initial in proptest::collection::vec(proptest::option::of(0..16usize), 20),
        steps in proptest::collection::vec(step(), 1..12),
    ) {
        let slots = slots();
        let policies = policies();
        let mut world = Snapshot::default();
        for (slot, variant) in slots.iter().zip(&initial) {
            apply(&mut world, slot, *variant);
        }
        let mut engine = Engine::default();
        let mut policy = 0;
        let mut previous = engine.run(&input(&world, &policies[policy]), &[]).findings;
        for step in steps {
            match step {
                Step::Change(s, v) => apply(&mut world, &slots[s % slots.len()], v),
                Step::TogglePods => {
                    if world.unavailable.is_empty() {
                        world.unavailable.push(Unavailable {
                            kind: ObjectKind::Pod,
                            reason: "forbidden".into(),
                        });
                    } else {
                        world.unavailable.clear();
                    }
                }
                Step::TogglePolicy => policy = (policy + 1) % policies.len(),
                Step::ReorderBindings => {
                    world.role_bindings.reverse();
                    world.cluster_role_bindings.reverse();
                }
            }
            let incremental = engine.run(&input(&world, &policies[policy]), &previous);
            let full = run_with_previous(&input(&world, &policies[policy]), &previous);
            prop_assert_eq!(&incremental, &full, "after {:?}", step);
            previous = incremental.findings;
        }
    }
}

/// Every slot present, p1 running as the builder account, which can create and exec into
/// Pods: every family the engine keeps fires.
fn every_family() -> Snapshot {
    let mut world = Snapshot::default();
    for slot in &slots() {
        let variant = match slot.name {
            "p1" => 4,
            "power" => 3,
            _ => 0,
        };
        apply(&mut world, slot, Some(variant));
    }
    world
}

/// The slots fire what the engine keeps: RBAC, workload and path findings, so that the
/// property above compares reports with something in them.
#[test]
fn the_slots_exercise_every_kept_family() {
    let r = Engine::default().run(&input(&every_family(), &policies()[0]), &[]);
    let checks = crate::audit::testutil::checks(&r);
    for check in [
        "RBAC-001", "WL-001", "WL-010", "WL-013", "XL-001", "XL-002", "XL-003", "API-001",
    ] {
        assert!(checks.contains(&check), "{check} missing from {checks:?}");
    }
}

/// A change to one Pod re-evaluates that Pod's workload only: RBAC and every other workload
/// are kept. A binding change re-evaluates RBAC; a Namespace's labels do not; a Node's change
/// re-evaluates the paths of the workloads on it only.
#[test]
fn a_change_evaluates_what_it_touches() {
    let slots = slots();
    let mut world = Snapshot::default();
    for slot in &slots {
        apply(&mut world, slot, Some(0));
    }
    let policy = EffectivePolicy::default_policy();
    let mut engine = Engine::default();
    let first = engine.run(&input(&world, &policy), &[]);
    assert!(!engine.last.rbac_kept);
    let workloads = engine.last.workloads_evaluated;
    assert!(workloads >= 4, "{:?}", engine.last);

    let p1 = slots.iter().find(|s| s.name == "p1").unwrap();
    apply(&mut world, p1, Some(3));
    let second = engine.run(&input(&world, &policy), &first.findings);
    assert!(engine.last.rbac_kept, "{:?}", engine.last);
    assert_eq!(engine.last.workloads_evaluated, 1, "{:?}", engine.last);
    assert_eq!(
        engine.last.workloads_kept,
        workloads - 1,
        "{:?}",
        engine.last
    );
    assert_eq!(engine.last.paths_evaluated, 1, "{:?}", engine.last);
    assert!(!engine.last.all_paths_kept, "{:?}", engine.last);
    assert_eq!(
        second,
        run_with_previous(&input(&world, &policy), &first.findings)
    );

    let binding = slots.iter().find(|s| s.name == "power-binding").unwrap();
    apply(&mut world, binding, Some(2));
    let third = engine.run(&input(&world, &policy), &second.findings);
    assert!(!engine.last.rbac_kept, "{:?}", engine.last);
    // Workloads, Pods and Nodes unchanged: their paths are kept at once.
    assert!(engine.last.all_paths_kept, "{:?}", engine.last);
    assert_eq!(
        third,
        run_with_previous(&input(&world, &policy), &second.findings)
    );

    // A Namespace's labels (Pod Security enforcement): RBAC reads only Namespace names, so
    // it is kept; WL-013 and XL-003, which read labels, see the change.
    let ns = slots
        .iter()
        .find(|s| s.kind == ObjectKind::Namespace)
        .unwrap();
    apply(&mut world, ns, Some(1));
    let labelled = engine.run(&input(&world, &policy), &third.findings);
    assert!(engine.last.rbac_kept, "{:?}", engine.last);
    assert_eq!(
        labelled,
        run_with_previous(&input(&world, &policy), &third.findings)
    );
    let wl013 = |r: &Report| r.findings.iter().filter(|f| f.check == "WL-013").count();
    assert_eq!(
        (wl013(&third), wl013(&labelled)),
        (2, 1),
        "the label change is seen"
    );

    // A Node's kernel: only the workloads running on it have their paths evaluated again.
    // p1 runs on n2 (variant 3 above), the three other workloads on n1.
    let node = |name: &str| slots.iter().find(|s| s.name == name).unwrap();
    apply(&mut world, node("n2"), Some(1));
    let n2 = engine.run(&input(&world, &policy), &labelled.findings);
    assert_eq!(
        (engine.last.paths_evaluated, engine.last.paths_kept),
        (1, 3),
        "{:?}",
        engine.last
    );
    // The node family is evaluated again for n2 only: n1's part is kept.
    assert_eq!(
        (engine.last.nodes_kept, engine.last.node_parts_kept),
        (false, 1),
        "{:?}",
        engine.last
    );
    assert!(!engine.last.all_paths_kept, "{:?}", engine.last);
    assert_eq!(
        n2,
        run_with_previous(&input(&world, &policy), &labelled.findings)
    );
    apply(&mut world, node("n1"), Some(1));
    let n1 = engine.run(&input(&world, &policy), &n2.findings);
    assert_eq!(
        (engine.last.paths_evaluated, engine.last.paths_kept),
        (3, 1),
        "{:?}",
        engine.last
    );
    assert_eq!(n1, run_with_previous(&input(&world, &policy), &n2.findings));

    // Nothing changed: everything is kept.
    engine.run(&input(&world, &policy), &n1.findings);
    assert!(engine.last.rbac_kept);
    assert!(engine.last.all_paths_kept, "{:?}", engine.last);
    assert_eq!(engine.last.workloads_evaluated, 0, "{:?}", engine.last);
    assert_eq!(engine.last.paths_evaluated, 0, "{:?}", engine.last);
}

/// The node family is kept while the Nodes, the kube-apiserver Pods and the day are the same:
/// end of life is judged by date, version skew against the API server's image.
#[test]
fn the_node_family_is_kept_for_the_day() {
    let slots = slots();
    let mut world = every_family();
    let policy = EffectivePolicy::default_policy();
    fn at<'a>(w: &'a Snapshot, p: &'a EffectivePolicy, now: jiff::Timestamp) -> AuditInput<'a> {
        AuditInput::offline(w, p, now)
    }
    let mut engine = Engine::default();
    let first = engine.run(&at(&world, &policy, now()), &[]);
    assert!(!engine.last.nodes_kept);
    let second = engine.run(
        &at(&world, &policy, now() + jiff::SignedDuration::from_hours(1)),
        &first.findings,
    );
    assert!(engine.last.nodes_kept, "{:?}", engine.last);
    assert_eq!(
        second,
        run_with_previous(
            &at(&world, &policy, now() + jiff::SignedDuration::from_hours(1)),
            &first.findings
        )
    );
    let tomorrow = now() + jiff::SignedDuration::from_hours(24);
    engine.run(&at(&world, &policy, tomorrow), &second.findings);
    assert!(!engine.last.nodes_kept, "a new day: {:?}", engine.last);
    let api = slots
        .iter()
        .find(|s| s.name == "kube-apiserver-cp")
        .unwrap();
    apply(&mut world, api, Some(2));
    let older = engine.run(&at(&world, &policy, tomorrow), &second.findings);
    assert!(
        !engine.last.nodes_kept,
        "another API server: {:?}",
        engine.last
    );
    assert_eq!(
        older,
        run_with_previous(&at(&world, &policy, tomorrow), &second.findings)
    );
    let skew = |r: &Report| r.findings.iter().filter(|f| f.check == "NODE-002").count();
    assert!(skew(&older) > skew(&second), "the older API server is seen");
}

/// The engine's audit of `world` after `previous`, which must equal a full audit's.
fn audit_both(
    engine: &mut Engine,
    world: &Snapshot,
    policy: &EffectivePolicy,
    previous: &Report,
) -> Report {
    let incremental = engine.run(&input(world, policy), &previous.findings);
    let full = run_with_previous(&input(world, policy), &previous.findings);
    assert_eq!(incremental, full);
    incremental
}

/// A binding change that names only people (Users, Groups other than ServiceAccounts')
/// evaluates that binding's checks and those people's escalation paths; the search for the
/// ServiceAccounts that reach cluster-admin is kept. A change naming a ServiceAccount, or
/// bindings listed in another order, evaluates RBAC-030 whole.
#[test]
fn a_binding_for_people_keeps_the_escalation_search() {
    let mut world = every_family();
    let slots = slots();
    let slot = |name: &str| slots.iter().find(|s| s.name == name).expect("slot");
    // shop/builder holds cluster-admin power; carol can create Pods in shop: one hop.
    apply(&mut world, slot("power"), Some(0));
    let policy = EffectivePolicy::default_policy();
    let mut engine = Engine::default();
    let first = engine.run(&input(&world, &policy), &[]);
    let escalations = |r: &Report| -> Vec<String> {
        r.findings
            .iter()
            .filter(|f| f.check == CheckId::Rbac030)
            .map(|f| f.message.clone())
            .collect()
    };
    assert_eq!(
        escalations(&first),
        ["User carol can reach cluster-admin power in 1 hop through ServiceAccount shop/builder"]
    );

    // carol is given cluster-admin: she holds the power, no path is reported.
    apply(&mut world, slot("people-admin"), Some(1));
    let second = audit_both(&mut engine, &world, &policy, &first);
    assert!(
        escalations(&second).is_empty(),
        "{:?}",
        escalations(&second)
    );
    let r = engine.last.rbac;
    assert!(!engine.last.rbac_kept && r.escalation_kept, "{r:?}");
    assert_eq!((r.bindings_evaluated, r.bindings_kept), (1, 3), "{r:?}");

    // The makers' binding now names dave and a group: dave's path is found against the
    // kept search, carol's binding is evaluated, the rest kept.
    apply(&mut world, slot("people-admin"), Some(2));
    apply(&mut world, slot("makers"), Some(1));
    let third = audit_both(&mut engine, &world, &policy, &second);
    assert!(engine.last.rbac.escalation_kept, "{:?}", engine.last);
    assert_eq!(
        escalations(&third),
        ["User dave can reach cluster-admin power in 1 hop through ServiceAccount shop/builder"]
    );

    // A ServiceAccount named: the search is evaluated again.
    apply(&mut world, slot("makers"), Some(2));
    let fourth = audit_both(&mut engine, &world, &policy, &third);
    assert!(!engine.last.rbac.escalation_kept, "{:?}", engine.last);

    // The same bindings in another order, and a people-only change: evaluated again too.
    world.role_bindings.reverse();
    apply(&mut world, slot("people-admin"), Some(0));
    let fifth = audit_both(&mut engine, &world, &policy, &fourth);
    assert!(!engine.last.rbac.escalation_kept, "{:?}", engine.last);

    // Two bindings give shop/builder its power; the path names the first, in the order of
    // the bindings. Listed the other way round, with a people-only change, the path names
    // the other: the kept search (which named the first) is not used.
    apply(&mut world, slot("people-admin"), Some(3));
    apply(&mut world, slot("makers"), Some(0));
    let sixth = audit_both(&mut engine, &world, &policy, &fifth);
    let names = |r: &Report, binding: &str| {
        r.findings
            .iter()
            .filter(|f| f.check == CheckId::Rbac030)
            .any(|f| f.evidence.iter().any(|e| e.contains(binding)))
    };
    world.cluster_role_bindings.reverse();
    apply(&mut world, slot("makers"), Some(1));
    let seventh = audit_both(&mut engine, &world, &policy, &sixth);
    assert!(!engine.last.rbac.escalation_kept, "{:?}", engine.last);
    assert!(
        names(&sixth, "ClusterRoleBinding power-binding")
            != names(&seventh, "ClusterRoleBinding power-binding"),
        "{:?} {:?}",
        escalations(&sixth),
        escalations(&seventh)
    );
}

/// A kept escalation search answers a new subject as a full search does: its index is built
/// from the kept reach in the order it was kept (shortest path first, then by name), so a
/// person who may create Pods in a namespace of three reaching ServiceAccounts (1, 2 and 3
/// hops from cluster-admin) is reported through the nearest, not through a farther one.
#[test]
fn a_kept_search_finds_a_new_subjects_shortest_path() {
    let token_role = |name: &str, of: &str| {
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: {name}, namespace: shop}}\nrules: [{{apiGroups: [\"\"], resources: [serviceaccounts/token], verbs: [create], resourceNames: [{of}]}}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: {name}, namespace: shop}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {name}}}\nsubjects: [{{kind: ServiceAccount, name: {name}, namespace: shop}}]\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}, namespace: shop}}\n---\n"
        )
    };
    let mut yaml = String::from(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n\
         apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: admin, namespace: shop}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: admin-power}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n\
         subjects: [{kind: ServiceAccount, name: admin, namespace: shop}]\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: pod-maker, namespace: shop}\n\
         rules: [{apiGroups: [\"\"], resources: [pods], verbs: [create]}]\n---\n",
    );
    // minter mints admin's tokens (2 hops), reminter mints minter's (3 hops).
    yaml.push_str(&token_role("minter", "admin"));
    yaml.push_str(&token_role("reminter", "minter"));
    let mut world = snapshot(&yaml);
    let policy = EffectivePolicy::default_policy();
    let mut engine = Engine::default();
    let first = engine.run(&input(&world, &policy), &[]);

    // eve may create Pods in shop: a people-only change, so the search is kept.
    let eve = snapshot(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n\
         metadata: {name: eve-makes-pods, namespace: shop}\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-maker}\n\
         subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: eve}]\n",
    );
    world.role_bindings.push(eve.role_bindings[0].clone());
    let second = audit_both(&mut engine, &world, &policy, &first);
    assert!(engine.last.rbac.escalation_kept, "{:?}", engine.last);
    let eve_path: Vec<&str> = second
        .findings
        .iter()
        .filter(|f| f.check == CheckId::Rbac030 && f.resource.name == "eve")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(
        eve_path,
        ["User eve can reach cluster-admin power in 1 hop through ServiceAccount shop/admin"]
    );
}

/// Two policies with the same checks but different namespaces: nothing scoped is taken from
/// the other's audit (XL-003 names the namespaces it reaches).
#[test]
fn a_scope_change_is_seen() {
    let world = every_family();
    let [all, _, scoped, _] = policies();
    let mut engine = Engine::default();
    let first = engine.run(&input(&world, &all), &[]);
    let xl3 = |r: &Report| -> Vec<String> {
        r.findings
            .iter()
            .filter(|f| f.check == "XL-003")
            .map(|f| f.message.clone())
            .collect()
    };
    assert!(
        xl3(&first).iter().any(|m| m.contains("dev")),
        "{:?}",
        xl3(&first)
    );
    let second = engine.run(&input(&world, &scoped), &first.findings);
    assert_eq!(
        second,
        run_with_previous(&input(&world, &scoped), &first.findings)
    );
    assert!(
        !xl3(&second).iter().any(|m| m.contains("dev")),
        "{:?}",
        xl3(&second)
    );
}

/// The report shares the findings the engine keeps: an audit in which nothing changed copies
/// none of them, and a policy that overrides a severity or waives a finding changes a copy,
/// never what the engine keeps for the next audit.
#[test]
fn kept_findings_are_shared_not_copied() {
    use crate::catalog::{Category, Severity};
    let world = every_family();
    let policy = EffectivePolicy::default_policy();
    let mut engine = Engine::default();
    let first = engine.run(&input(&world, &policy), &[]);
    let second = engine.run(&input(&world, &policy), &first.findings);
    // What the engine keeps: RBAC, each workload's checks (WL-013, per Namespace, is
    // evaluated on every audit), paths across layers.
    let kept: Vec<&Arc<Finding>> = second
        .findings
        .iter()
        .filter(|f| {
            matches!(f.category, Category::Rbac | Category::Layers)
                || (f.category == Category::Workload && f.check != CheckId::Wl013)
        })
        .collect();
    assert!(kept.len() >= 5, "{kept:?}");
    for f in &kept {
        assert!(
            first.findings.iter().any(|g| Arc::ptr_eq(f, g)),
            "copied: {f:?}"
        );
    }

    let overriding = overriding();
    let changed = engine.run(&input(&world, &overriding), &second.findings);
    assert!(engine.last.rbac_kept, "{:?}", engine.last);
    let severity = |r: &Report, check: CheckId| {
        r.findings
            .iter()
            .find(|f| f.check == check)
            .map(|f| f.severity)
    };
    assert_eq!(severity(&changed, CheckId::Wl001), Some(Severity::Low));
    assert!(
        changed
            .findings
            .iter()
            .any(|f| f.check == CheckId::Wl005 && f.suppressed)
    );
    // The engine's findings, shared with `second`, are as the checks wrote them.
    assert_ne!(severity(&second, CheckId::Wl001), Some(Severity::Low));
    assert!(
        !second
            .findings
            .iter()
            .any(|f| f.suppressed || f.suppressed_by.is_some())
    );
    let back = engine.run(&input(&world, &policy), &changed.findings);
    assert_eq!(engine.last.workloads_evaluated, 0, "{:?}", engine.last);
    assert_eq!(
        back,
        run_with_previous(&input(&world, &policy), &changed.findings)
    );
}

proptest! {
    /// Reusing the last audit's order sorts exactly as a full sort does, whatever was reused,
    /// added or changed, equal keys included (their order comes from the input).
    #[test]
    fn sorting_like_the_last_audit_equals_sorting(
        items in proptest::collection::vec((0..3usize, 0..3usize, 0..4usize, 0..2usize), 0..40),
        kept in proptest::collection::vec(any::<bool>(), 40),
        shuffle in any::<u64>(),
    ) {
        use crate::audit::{ObjectRef, Order, sorted, sorted_deduped_like};
        let checks = [CheckId::Wl001, CheckId::Wl002, CheckId::Rbac001];
        let make = |(c, ns, name, msg): (usize, usize, usize, usize)| {
            Arc::new(Finding::new(
                checks[c],
                ObjectRef::new(ObjectKind::Pod, Some(["a", "b", "c"][ns]), &format!("p{name}")),
                format!("m{msg}"),
            ))
        };
        let first: Vec<Arc<Finding>> = items.iter().copied().map(make).collect();
        let before = sorted_deduped_like(first.clone(), Order::default(), None, true)
            .1
            .expect("kept");
        // The next audit: some of the same findings, some new ones, in another order.
        let mut next: Vec<Arc<Finding>> = first
            .iter()
            .zip(&kept)
            .map(|(f, &k)| if k { f.clone() } else { Arc::new(Finding::clone(f)) })
            .collect();
        next.extend(items.iter().rev().take(3).copied().map(make));
        let n = next.len().max(1);
        next.rotate_left((shuffle as usize) % n);
        let mut want = sorted(next.clone());
        want.dedup_by(|a, b| a.same_identity(b));
        let (got, order) = sorted_deduped_like(next, before, None, true);
        prop_assert_eq!(&got, &want);
        // The order kept is the same findings (the very objects), and strictness is claimed
        // only when true.
        let order = order.expect("kept");
        prop_assert!(order.findings.len() == got.len());
        prop_assert!(order.findings.iter().zip(&got).all(|(a, b)| Arc::ptr_eq(a, b)));
        if order.strict {
            prop_assert!(want.windows(2).all(|w| w[0].sort_key() < w[1].sort_key()));
        }
    }
}

/// Which ServiceAccounts are powerful (WL-010) is kept only while the RBAC findings and the
/// policy's judgement of them are: an override that lowers the grant, or an exception waiving
/// it that expires, changes WL-010 as a full audit does.
#[test]
fn powerful_accounts_follow_the_judgement() {
    let deployer = deploy("serviceAccountName: deployer", "");
    let world = snapshot(&format!("{POWERFUL_SA}---{deployer}"));
    let policy = |spec: serde_json::Value| {
        EffectivePolicy::compile("p", &serde_json::from_value(spec).unwrap()).expect("valid")
    };
    let lowered = policy(serde_json::json!({
        "severityOverrides": [{"check": "RBAC-001", "severity": "low"}]}));
    let expires = now() + jiff::SignedDuration::from_hours(1);
    let waived = policy(serde_json::json!({"exceptions": [{
        "check": "RBAC-001", "resource": {"name": "deployer-admin"},
        "reason": "until the migration", "expires": expires.to_string()}]}));
    let default = EffectivePolicy::default_policy();
    let later = now() + jiff::SignedDuration::from_hours(2);
    let wl_010 = |r: &Report| r.findings.iter().any(|f| f.check == "WL-010");
    let mut engine = Engine::default();
    let mut previous: Vec<Arc<Finding>> = Vec::new();
    let mut seen = Vec::new();
    for (p, at) in [
        (&default, now()),
        (&lowered, now()),
        (&default, now()),
        (&waived, now()),
        (&waived, later),
    ] {
        let input = AuditInput::offline(&world, p, at);
        let report = engine.run(&input, &previous);
        assert!(
            engine.last.rbac_kept || seen.is_empty(),
            "{:?}",
            engine.last
        );
        assert_eq!(report, run_with_previous(&input, &previous));
        seen.push(wl_010(&report));
        previous = report.findings;
    }
    assert_eq!(seen, [true, false, true, false, true]);
}
