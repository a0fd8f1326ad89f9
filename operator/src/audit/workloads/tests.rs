use crate::audit::testutil::{POWERFUL_SA, audit, audit_with, checks, deploy, ids};
use crate::catalog::Severity;
use crate::policy::EffectivePolicy;

const HARDENED: &str = "securityContext: {runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}";

fn wl(pod: &str, container: &str) -> Vec<&'static str> {
    checks(&audit(&deploy(pod, container)))
}

fn restricted() -> EffectivePolicy {
    let spec = crate::api::SecurityPolicySpec {
        checks: crate::api::CheckSelection {
            include: vec!["workload".into(), "workload-restricted".into()],
            exclude: vec![],
        },
        ..Default::default()
    };
    EffectivePolicy::compile("restricted", &spec).unwrap()
}

#[test]
fn a_hardened_workload_has_no_findings_even_restricted() {
    assert!(wl("securityContext: {}", HARDENED).is_empty());
    assert!(
        checks(&audit_with(
            &deploy("securityContext: {}", HARDENED),
            &restricted()
        ))
        .is_empty()
    );
}

#[test]
fn wl_001_privileged_names_the_container() {
    let r = audit(&deploy(
        "securityContext: {runAsNonRoot: true}",
        "securityContext: {privileged: true}",
    ));
    let f = r
        .findings
        .iter()
        .find(|f| f.check == "WL-001")
        .expect("WL-001");
    assert_eq!(f.container.as_deref(), Some("app"));
    assert_eq!(f.resource.kind, "Deployment");
    assert!(
        f.remediation
            .contains("kubectl edit deployment web -n shop")
    );
    assert!(
        !wl(
            "securityContext: {runAsNonRoot: true}",
            "securityContext: {privileged: false}"
        )
        .contains(&"WL-001")
    );
}

#[test]
fn wl_002_host_namespaces() {
    assert_eq!(
        wl(
            "hostPID: true\n      securityContext: {runAsNonRoot: true}",
            ""
        ),
        ["WL-002"]
    );
    assert_eq!(
        wl(
            "hostNetwork: true\n      securityContext: {runAsNonRoot: true}",
            ""
        ),
        ["WL-002"]
    );
    assert!(
        wl(
            "hostNetwork: false\n      securityContext: {runAsNonRoot: true}",
            ""
        )
        .is_empty()
    );
}

#[test]
fn wl_003_host_paths_normalised_with_severities() {
    use crate::audit::workloads::{host_path_severity as sev, normalize_path};
    assert_eq!(
        normalize_path("/var//run/./docker.sock/"),
        "/var/run/docker.sock"
    );
    assert_eq!(normalize_path("/etc/../var/run/"), "/var/run");
    assert_eq!(sev("/var/run/docker.sock"), Some(Severity::Critical));
    assert_eq!(
        sev("/var//run/docker.sock/"),
        Some(Severity::Critical),
        "trailing slash and //"
    );
    assert_eq!(sev("/run/containerd"), Some(Severity::Critical));
    assert_eq!(
        sev("/run/containerd/containerd.sock"),
        Some(Severity::Critical)
    );
    assert_eq!(
        sev("/var/run"),
        Some(Severity::Critical),
        "holds the sockets"
    );
    assert_eq!(
        sev("/"),
        Some(Severity::High),
        "/ itself is high, as specified"
    );
    assert_eq!(sev("/etc"), Some(Severity::High));
    assert_eq!(sev("/etc/kubernetes/pki/"), Some(Severity::High));
    assert_eq!(sev("/var/lib/kubelet/pods"), Some(Severity::High));
    assert_eq!(sev("/etcd"), None, "a prefix is not a parent");
    assert_eq!(sev("/var/log"), None);
    assert_eq!(sev("/data/app"), None);
    let yaml = deploy(
        "securityContext: {runAsNonRoot: true}\n      volumes: [{name: sock, hostPath: {path: /var/run/docker.sock}}]",
        "volumeMounts: [{name: sock, mountPath: /var/run/docker.sock}]",
    );
    let r = audit(&yaml);
    let f = r.findings.iter().find(|f| f.check == "WL-003").unwrap();
    assert_eq!(
        (f.severity, f.container.as_deref()),
        (Severity::Critical, Some("app"))
    );
    let yaml = yaml.replace("/var/run/docker.sock}", "/etc/ssl/}");
    let f = audit(&yaml)
        .findings
        .into_iter()
        .find(|f| f.check == "WL-003")
        .unwrap();
    assert_eq!(f.severity, Severity::High);
}

#[test]
fn wl_004_capabilities_case_and_prefix() {
    let c = |caps: &str| {
        wl(
            "securityContext: {runAsNonRoot: true}",
            &format!("securityContext: {{capabilities: {{add: {caps}}}}}"),
        )
    };
    assert_eq!(c("[SYS_ADMIN]"), ["WL-004"]);
    assert_eq!(c("[cap_sys_admin]"), ["WL-004"], "CAP_ prefix, lower case");
    assert_eq!(c("[ALL]"), ["WL-004"]);
    assert!(
        c("[NET_BIND_SERVICE, CAP_chown]").is_empty(),
        "baseline capabilities are allowed"
    );
}

#[test]
fn wl_005_container_settings_override_pod_settings() {
    // Pod says non-root, container overrides with UID 0.
    assert_eq!(
        wl(
            "securityContext: {runAsNonRoot: true}",
            "securityContext: {runAsUser: 0}"
        ),
        ["WL-005"]
    );
    // Pod says root, container overrides with a user.
    assert!(
        wl(
            "securityContext: {runAsUser: 0}",
            "securityContext: {runAsUser: 1000}"
        )
        .is_empty()
    );
    // Nothing set: may run as root.
    assert_eq!(wl("securityContext: {}", ""), ["WL-005"]);
    // runAsNonRoot false at container level beats true at pod level.
    assert_eq!(
        wl(
            "securityContext: {runAsNonRoot: true}",
            "securityContext: {runAsNonRoot: false}"
        ),
        ["WL-005"]
    );
    // Windows pods are skipped.
    assert!(wl("os: {name: windows}", "").is_empty());
    assert!(wl("nodeSelector: {kubernetes.io/os: windows}", "").is_empty());
}

#[test]
fn wl_006_to_009_are_off_by_default_and_on_when_restricted() {
    let yaml = deploy("securityContext: {runAsNonRoot: true}", "");
    assert!(checks(&audit(&yaml)).is_empty());
    assert_eq!(
        checks(&audit_with(&yaml, &restricted())),
        ["WL-006", "WL-007", "WL-008", "WL-009"]
    );
    // Each negative: set exactly what the check wants.
    let yaml = deploy(
        "securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}",
        "securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [all]}, readOnlyRootFilesystem: true}",
    );
    assert!(
        checks(&audit_with(&yaml, &restricted())).is_empty(),
        "pod-level seccomp, drop ALL in any case"
    );
    let yaml = deploy(
        "securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}",
        "securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, readOnlyRootFilesystem: true, seccompProfile: {type: Unconfined}}",
    );
    assert!(
        checks(&audit_with(&yaml, &restricted())).contains(&"WL-008"),
        "container overrides pod"
    );
}

#[test]
fn wl_008_legacy_annotations_count() {
    let yaml = deploy("securityContext: {runAsNonRoot: true}", HARDENED.replace(", seccompProfile: {type: RuntimeDefault}", "").as_str())
        .replace("metadata: {labels: {app: web}}", "metadata: {labels: {app: web}, annotations: {seccomp.security.alpha.kubernetes.io/pod: runtime/default}}");
    assert!(checks(&audit_with(&yaml, &restricted())).is_empty());
}

#[test]
fn wl_010_powerful_token_mounted() {
    let yaml = format!(
        "{POWERFUL_SA}---{}",
        deploy(
            "serviceAccountName: deployer\n      securityContext: {runAsNonRoot: true}",
            ""
        )
    );
    let r = audit(&yaml);
    assert_eq!(
        ids(&r)
            .iter()
            .filter(|i| i.starts_with("WL-"))
            .collect::<Vec<_>>(),
        ["WL-010 Deployment shop/web"]
    );
    let f = r.findings.iter().find(|f| f.check == "WL-010").unwrap();
    assert!(
        f.evidence.iter().any(|e| e.contains("RBAC-001")),
        "{:?}",
        f.evidence
    );
    // Token not mounted: pod-level false.
    let yaml = format!(
        "{POWERFUL_SA}---{}",
        deploy(
            "serviceAccountName: deployer\n      automountServiceAccountToken: false\n      securityContext: {runAsNonRoot: true}",
            ""
        )
    );
    assert!(!checks(&audit(&yaml)).contains(&"WL-010"));
    // ServiceAccount-level false, pod unset.
    let yaml = format!(
        "{}---{}",
        POWERFUL_SA.replace(
            "name: deployer}\n---",
            "name: deployer}\nautomountServiceAccountToken: false\n---"
        ),
        deploy(
            "serviceAccountName: deployer\n      securityContext: {runAsNonRoot: true}",
            ""
        )
    );
    assert!(!checks(&audit(&yaml)).contains(&"WL-010"));
    // The RBAC finding waived by an exception: the token is no longer "powerful".
    let spec = crate::api::SecurityPolicySpec {
        exceptions: vec![crate::api::PolicyException {
            check: "RBAC-001".into(),
            resource: crate::api::ExceptionResource {
                kind: None,
                namespace: None,
                name: Some("deployer-admin".into()),
            },
            reason: "accepted".into(),
            expires: None,
        }],
        ..Default::default()
    };
    let policy = EffectivePolicy::compile("p", &spec).unwrap();
    let yaml = format!(
        "{POWERFUL_SA}---{}",
        deploy(
            "serviceAccountName: deployer\n      securityContext: {runAsNonRoot: true}",
            ""
        )
    );
    assert!(!checks(&audit_with(&yaml, &policy)).contains(&"WL-010"));
    // The default ServiceAccount with a weak grant: no WL-010.
    let yaml = deploy("securityContext: {runAsNonRoot: true}", "");
    assert!(!checks(&audit(&yaml)).contains(&"WL-010"));
}

#[test]
fn wl_010_group_grants_are_not_multiplied_onto_every_workload() {
    let yaml = format!(
        "{}---{}",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: everyone}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: Group, name: system:authenticated}]\n",
        deploy("securityContext: {runAsNonRoot: true}", "")
    );
    let r = audit(&yaml);
    assert!(
        checks(&r).contains(&"RBAC-003"),
        "reported once, on the binding"
    );
    assert!(!checks(&r).contains(&"WL-010"));
}

#[test]
fn wl_011_host_port() {
    assert_eq!(
        wl(
            "securityContext: {runAsNonRoot: true}",
            "ports: [{containerPort: 80, hostPort: 8080}]"
        ),
        ["WL-011"]
    );
    assert!(
        wl(
            "securityContext: {runAsNonRoot: true}",
            "ports: [{containerPort: 80}]"
        )
        .is_empty()
    );
}

#[test]
fn wl_012_escape_hatches() {
    assert_eq!(
        wl(
            "securityContext: {runAsNonRoot: true, seccompProfile: {type: Unconfined}}",
            ""
        ),
        ["WL-012"]
    );
    assert_eq!(
        wl(
            "securityContext: {runAsNonRoot: true}",
            "securityContext: {procMount: Unmasked}"
        ),
        ["WL-012"]
    );
    assert_eq!(
        wl(
            "securityContext: {runAsNonRoot: true, sysctls: [{name: kernel.msgmax, value: '65536'}]}",
            ""
        ),
        ["WL-012"]
    );
    assert!(wl("securityContext: {runAsNonRoot: true, sysctls: [{name: net.ipv4.tcp_syncookies, value: '1'}]}", "").is_empty());
    assert!(
        wl(
            "securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}",
            ""
        )
        .is_empty()
    );
}

#[test]
fn wl_013_namespaces_need_an_enforce_label() {
    let ns = |name: &str, labels: &str| {
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {{{labels}}}}}\n---\n"
        )
    };
    let yaml = [
        ns("open", ""),
        ns(
            "anything-goes",
            "pod-security.kubernetes.io/enforce: privileged",
        ),
        ns("fine", "pod-security.kubernetes.io/enforce: baseline"),
        ns("kube-system", ""),
        ns("kube-node-lease", ""),
    ]
    .concat();
    assert_eq!(
        ids(&audit(&yaml)),
        ["WL-013 Namespace anything-goes", "WL-013 Namespace open"]
    );
}

#[test]
fn every_kind_of_container_is_checked() {
    let yaml = deploy(
        "securityContext: {runAsNonRoot: true}\n      initContainers: [{name: setup, image: busybox, securityContext: {privileged: true}}]",
        "",
    );
    let f = audit(&yaml)
        .findings
        .into_iter()
        .find(|f| f.check == "WL-001")
        .unwrap();
    assert_eq!(f.container.as_deref(), Some("setup"));
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {namespace: shop, name: p}\nspec:\n  securityContext: {runAsNonRoot: true}\n  containers: [{name: app, image: nginx}]\n  ephemeralContainers: [{name: debugger, image: busybox, securityContext: {privileged: true}}]\n";
    let f = audit(pod)
        .findings
        .into_iter()
        .find(|f| f.check == "WL-001")
        .unwrap();
    assert_eq!(f.container.as_deref(), Some("debugger"));
}

#[test]
fn one_finding_per_workload_not_per_replica() {
    let mut yaml = deploy(
        "securityContext: {runAsNonRoot: true}",
        "securityContext: {privileged: true}",
    );
    for i in 0..3 {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  namespace: shop\n  name: web-abc-{i}\n  labels: {{app: web}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, uid: x, controller: true}}]\nspec:\n  containers: [{{name: app, image: nginx, securityContext: {{privileged: true}}}}]\n"
        ));
    }
    assert_eq!(ids(&audit(&yaml)), ["WL-001 Deployment shop/web"]);
}

#[test]
fn control_plane_pods_are_exempt() {
    let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {namespace: kube-system, name: kube-apiserver-cp1, labels: {component: kube-apiserver}}\nspec:\n  hostNetwork: true\n  containers: [{name: kube-apiserver, image: 'registry.k8s.io/kube-apiserver:v1.30.4', command: [kube-apiserver]}]\n  volumes: [{name: pki, hostPath: {path: /etc/kubernetes/pki}}]\n";
    assert!(!checks(&audit(yaml)).iter().any(|c| c.starts_with("WL-")));
}

#[test]
fn namespace_scope_applies_to_workloads_and_namespaces() {
    let spec = crate::api::SecurityPolicySpec {
        namespaces: crate::api::NamespaceSelection {
            include: vec![],
            exclude: vec!["shop".into()],
        },
        ..Default::default()
    };
    let policy = EffectivePolicy::compile("p", &spec).unwrap();
    let yaml = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---{}",
        deploy("securityContext: {}", "securityContext: {privileged: true}")
    );
    assert!(checks(&audit_with(&yaml, &policy)).is_empty());
}

/// Remediation text lives in the catalog only: a workload finding's is the catalog's, then the
/// command that edits the workload (no second copy in the check code to drift).
#[test]
fn workload_remediations_are_the_catalogs() {
    let r = audit_with(
        &deploy(
            "securityContext: {}",
            "securityContext: {privileged: true, capabilities: {add: [SYS_ADMIN]}}\n        ports: [{containerPort: 80, hostPort: 80}]",
        ),
        &restricted(),
    );
    let wl: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.check.as_str().starts_with("WL-") && f.check != "WL-013")
        .collect();
    assert!(wl.len() >= 6, "{:?}", checks(&r));
    for f in wl {
        let general = f.check.meta().remediation;
        assert_eq!(
            f.remediation,
            format!(
                "{} (kubectl edit deployment web -n shop)",
                general.trim_end_matches('.')
            ),
            "{}",
            f.check
        );
    }
}

/// The trim drops the legacy seccomp annotations a check cannot read (the API server mirrors
/// them from the fields): for every mix of fields and annotations, on two containers (one
/// regular, one init) and the Pod, the findings of a trimmed Pod are those of the Pod as read.
#[test]
fn mirrored_seccomp_annotations_change_no_finding() {
    use crate::audit::testutil::{now, snapshot};
    use crate::audit::{AuditInput, run};
    use serde_json::{Value, json};
    use std::sync::Arc;

    let fields = [
        None,
        Some("RuntimeDefault"),
        Some("Unconfined"),
        Some("Localhost"),
    ];
    let annotations = [
        None,
        Some("runtime/default"),
        Some("unconfined"),
        Some("localhost/p"),
    ];
    let profile = |t: &str| match t {
        "Localhost" => json!({"type": t, "localhostProfile": "p.json"}),
        _ => json!({"type": t}),
    };
    let mut pods: Vec<Value> = Vec::new();
    for pod_field in fields {
        for c_field in fields {
            for pod_ann in annotations {
                for c_ann in annotations {
                    let mut ann = serde_json::Map::new();
                    if let Some(v) = pod_ann {
                        ann.insert("seccomp.security.alpha.kubernetes.io/pod".into(), v.into());
                    }
                    if let Some(v) = c_ann {
                        for c in ["app", "init"] {
                            let key = format!("container.seccomp.security.alpha.kubernetes.io/{c}");
                            ann.insert(key, v.into());
                        }
                    }
                    let sc = |f: Option<&str>| match f {
                        Some(t) => json!({"seccompProfile": profile(t)}),
                        None => json!({}),
                    };
                    let container = |name: &str, f| json!({"name": name, "image": "nginx:1.27", "securityContext": sc(f)});
                    pods.push(json!({
                        "apiVersion": "v1", "kind": "Pod",
                        "metadata": {"namespace": "shop", "name": format!("p{}", pods.len()), "annotations": ann},
                        "spec": {"securityContext": sc(pod_field),
                                 "containers": [container("app", c_field)],
                                 "initContainers": [container("init", None)]},
                    }));
                }
            }
        }
    }
    let list = json!({"apiVersion": "v1", "kind": "List", "items": pods});
    let trimmed = snapshot(&list.to_string());
    let mut as_read = trimmed.clone();
    as_read.pods = pods
        .iter()
        .map(|p| Arc::new(serde_json::from_value(p.clone()).expect("a Pod")))
        .collect();
    let annotated = |s: &crate::snapshot::Snapshot| {
        s.pods
            .iter()
            .filter_map(|p| p.metadata.annotations.as_ref())
            .map(|a| a.len())
            .sum::<usize>()
    };
    assert!(
        annotated(&trimmed) + 150 < annotated(&as_read),
        "the trim drops annotations: {} of {}",
        annotated(&trimmed),
        annotated(&as_read)
    );
    let policy = restricted();
    let seen = |s: &crate::snapshot::Snapshot| {
        let r = run(&AuditInput::offline(s, &policy, now()));
        r.findings
            .iter()
            .filter(|f| matches!(f.check.as_str(), "WL-008" | "WL-012"))
            .map(|f| {
                format!(
                    "{} {:?} {} {:?}",
                    f.check, f.resource, f.message, f.evidence
                )
            })
            .collect::<Vec<_>>()
    };
    let (t, a) = (seen(&trimmed), seen(&as_read));
    assert!(t.len() > 100, "the mixes give findings: {}", t.len());
    assert_eq!(t, a);
}
