//! A synthetic cluster, deterministic by seed, with objects shaped and sized like a real
//! cluster's (labels, annotations, managedFields, status), and a mix of secure and insecure
//! settings so every check family has work to do.

use crate::rng::Rng;
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct Sizes {
    pub nodes: usize,
    pub pods: usize,
    pub namespaces: usize,
    pub role_bindings: usize,
    pub roles: usize,
    pub service_accounts: usize,
    pub seed: u64,
}

impl Sizes {
    /// Issue 2's RBAC-scale cluster: RBAC objects only.
    pub fn rbac() -> Sizes {
        Sizes {
            nodes: 0,
            pods: 0,
            namespaces: 1_000,
            role_bindings: 50_000,
            roles: 5_000,
            service_accounts: 20_000,
            seed: 1,
        }
    }

    pub fn small() -> Sizes {
        Sizes {
            nodes: 1_000,
            pods: 30_000,
            namespaces: 2_000,
            role_bindings: 10_000,
            roles: 1_000,
            service_accounts: 4_000,
            seed: 1,
        }
    }

    /// About 10,000 objects (checkov's scale in BENCHMARKS.md).
    pub fn checkov() -> Sizes {
        Sizes {
            nodes: 100,
            pods: 5_000,
            namespaces: 300,
            role_bindings: 2_000,
            roles: 300,
            service_accounts: 1_000,
            seed: 1,
        }
    }

    pub fn medium() -> Sizes {
        Sizes {
            nodes: 5_000,
            pods: 150_000,
            namespaces: 10_000,
            role_bindings: 50_000,
            roles: 5_000,
            service_accounts: 20_000,
            seed: 1,
        }
    }
}

/// Receives each generated object with the name of the kind it belongs to.
pub trait Sink {
    fn object(&mut self, kind: &'static str, obj: Value);
}

/// Keeps the generated objects in memory, by kind.
#[derive(Default)]
pub struct ByKind(pub std::collections::BTreeMap<&'static str, Vec<Value>>);

impl Sink for ByKind {
    fn object(&mut self, kind: &'static str, obj: Value) {
        self.0.entry(kind).or_default().push(obj);
    }
}

struct Ctx<'a> {
    rng: Rng,
    sizes: &'a Sizes,
    namespaces: Vec<String>,
    node_names: Vec<String>,
    rv: u64,
}

const TEAMS: &[&str] = &[
    "payments", "search", "checkout", "identity", "data", "ml", "platform", "growth",
];
const IMAGES: &[&str] = &[
    "registry.example.com/shop/api",
    "registry.example.com/shop/web",
    "registry.example.com/data/worker",
    "docker.io/library/nginx",
    "docker.io/library/redis",
    "quay.io/prometheus/node-exporter",
    "ghcr.io/example/batch-runner",
];

impl Ctx<'_> {
    fn uid(&mut self) -> String {
        let h = self.rng.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    fn meta(
        &mut self,
        name: &str,
        namespace: Option<&str>,
        labels: Value,
        manager: &str,
        fields: Value,
    ) -> Value {
        self.rv += 1;
        let mut m = json!({
            "name": name,
            "uid": self.uid(),
            "resourceVersion": self.rv.to_string(),
            "creationTimestamp": "2026-10-01T08:00:00Z",
            "labels": labels,
            "annotations": {
                "kubernetes.io/change-cause": "deploy pipeline run 4812",
                "example.com/owner": "team@example.com",
            },
            "managedFields": [
                {"manager": manager, "operation": "Apply", "apiVersion": "v1", "time": "2026-10-01T08:00:00Z",
                 "fieldsType": "FieldsV1", "fieldsV1": fields},
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                 "time": "2026-10-01T08:00:05Z", "fieldsType": "FieldsV1", "subresource": "status",
                 "fieldsV1": {"f:status": {"f:conditions": {".": {}}, "f:observedGeneration": {}}}}
            ]
        });
        if let Some(ns) = namespace {
            m["namespace"] = json!(ns);
        }
        m
    }

    fn ns(&mut self) -> String {
        let i = self.rng.below(self.namespaces.len());
        self.namespaces[i].clone()
    }
}

/// Generate the whole cluster into `sink`.
pub fn generate(sizes: &Sizes, sink: &mut dyn Sink) {
    let mut c = Ctx {
        rng: Rng::new(sizes.seed),
        sizes,
        namespaces: Vec::new(),
        node_names: Vec::new(),
        rv: 1000,
    };
    namespaces(&mut c, sink);
    nodes(&mut c, sink);
    control_plane(&mut c, sink);
    workloads(&mut c, sink);
    rbac(&mut c, sink);
}

fn namespaces(c: &mut Ctx, sink: &mut dyn Sink) {
    for name in [
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "default",
        "falco",
    ] {
        c.namespaces.push(name.to_string());
    }
    for i in 0..c.sizes.namespaces.saturating_sub(5) {
        let team = TEAMS[i % TEAMS.len()];
        c.namespaces.push(format!("{team}-{i:05}"));
    }
    for ns in c.namespaces.clone() {
        let mut labels =
            json!({"kubernetes.io/metadata.name": ns, "team": ns.split('-').next().unwrap_or("x")});
        // Most namespaces enforce a Pod Security level; some do not (WL-013).
        if c.rng.chance(0.7) {
            labels["pod-security.kubernetes.io/enforce"] = json!(if c.rng.chance(0.5) {
                "restricted"
            } else {
                "baseline"
            });
        }
        let meta = c.meta(
            &ns,
            None,
            labels,
            "kubectl",
            json!({"f:metadata": {"f:labels": {}}}),
        );
        sink.object(
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta,
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        );
    }
}

fn nodes(c: &mut Ctx, sink: &mut dyn Sink) {
    for i in 0..c.sizes.nodes {
        let control = i < 3;
        let name = if control {
            format!("cp-{i}")
        } else {
            format!("node-{i:05}")
        };
        c.node_names.push(name.clone());
        let zone = ["eu-west-1a", "eu-west-1b", "eu-west-1c"][i % 3];
        let mut labels = json!({
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/zone": zone, "node.kubernetes.io/instance-type": "m6i.2xlarge",
        });
        let mut taints = json!([]);
        if control {
            labels["node-role.kubernetes.io/control-plane"] = json!("");
            taints =
                json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]);
        }
        let ready = !c.rng.chance(0.01);
        let kubelet = if c.rng.chance(0.01) {
            "v1.24.17"
        } else {
            ["v1.30.4", "v1.31.2"][i % 2]
        };
        let runtime = if c.rng.chance(0.02) {
            "containerd://1.6.20"
        } else {
            "containerd://1.7.22"
        };
        let images: Vec<Value> = (0..20)
            .map(|j| {
                json!({"names": [format!("{}@sha256:{}", IMAGES[j % IMAGES.len()], c.rng.hex(64)),
                                      format!("{}:v{}.{}", IMAGES[j % IMAGES.len()], j, i % 7)],
                            "sizeBytes": 10_000_000 + j * 1_000_003})
            })
            .collect();
        let meta = c.meta(
            &name,
            None,
            labels,
            "kubelet",
            json!({"f:metadata": {"f:labels": {}}, "f:spec": {}}),
        );
        sink.object("nodes", json!({
            "apiVersion": "v1", "kind": "Node", "metadata": meta,
            "spec": {"podCIDR": format!("10.{}.{}.0/24", i / 256, i % 256), "providerID": format!("aws:///{zone}/i-{}", c.rng.hex(17)), "taints": taints},
            "status": {
                "capacity": {"cpu": "8", "memory": "32574512Ki", "pods": "110", "ephemeral-storage": "104845292Ki"},
                "allocatable": {"cpu": "7910m", "memory": "31424560Ki", "pods": "110", "ephemeral-storage": "96625420948"},
                "conditions": [
                    {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "lastHeartbeatTime": "2026-11-28T11:59:00Z", "lastTransitionTime": "2026-10-01T08:00:00Z"},
                    {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "lastHeartbeatTime": "2026-11-28T11:59:00Z", "lastTransitionTime": "2026-10-01T08:00:00Z"},
                    {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "lastHeartbeatTime": "2026-11-28T11:59:00Z", "lastTransitionTime": "2026-10-01T08:00:00Z"},
                    {"type": "Ready", "status": if ready { "True" } else { "Unknown" }, "reason": if ready { "KubeletReady" } else { "NodeStatusUnknown" }, "lastHeartbeatTime": "2026-11-28T11:59:00Z", "lastTransitionTime": "2026-10-01T08:00:00Z"}
                ],
                "addresses": [{"type": "InternalIP", "address": format!("10.0.{}.{}", i / 250, i % 250 + 2)}, {"type": "Hostname", "address": name}],
                "nodeInfo": {"kubeletVersion": kubelet, "kubeProxyVersion": kubelet, "containerRuntimeVersion": runtime,
                             "osImage": "Ubuntu 22.04.4 LTS", "kernelVersion": "6.5.0-1022-aws", "operatingSystem": "linux", "architecture": "amd64",
                             "machineID": c.rng.hex(32), "systemUUID": c.uid(), "bootID": c.uid()},
                "images": images
            }
        }));
    }
}

fn static_pod(
    c: &mut Ctx,
    component: &str,
    node: &str,
    image: &str,
    command: Vec<String>,
) -> Value {
    let name = format!("{component}-{node}");
    let meta = c.meta(
        &name,
        Some("kube-system"),
        json!({"component": component, "tier": "control-plane"}),
        "kubelet",
        json!({"f:spec": {}}),
    );
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"nodeName": node, "hostNetwork": true, "priorityClassName": "system-node-critical",
                 "containers": [{"name": component, "image": image, "command": command,
                                 "volumeMounts": [{"name": "k8s-certs", "mountPath": "/etc/kubernetes/pki", "readOnly": true}]}],
                 "volumes": [{"name": "k8s-certs", "hostPath": {"path": "/etc/kubernetes/pki", "type": "DirectoryOrCreate"}}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

fn control_plane(c: &mut Ctx, sink: &mut dyn Sink) {
    let cps: Vec<String> = c.node_names.iter().take(3).cloned().collect();
    for node in cps {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let api = static_pod(
            c,
            "kube-apiserver",
            &node,
            "registry.k8s.io/kube-apiserver:v1.30.4",
            s(&[
                "kube-apiserver",
                "--advertise-address=10.0.0.2",
                "--allow-privileged=true",
                "--authorization-mode=Node,RBAC",
                "--client-ca-file=/etc/kubernetes/pki/ca.crt",
                "--enable-admission-plugins=NodeRestriction",
                "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
                "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
                "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key",
                "--etcd-servers=https://127.0.0.1:2379",
                "--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt",
                "--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
                "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key",
                "--service-cluster-ip-range=10.96.0.0/12",
                "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
                "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
                "--secure-port=6443",
            ]),
        );
        sink.object("pods-control-plane", api);
        let etcd = static_pod(
            c,
            "etcd",
            &node,
            "registry.k8s.io/etcd:3.5.15-0",
            s(&[
                "etcd",
                "--advertise-client-urls=https://10.0.0.2:2379",
                "--cert-file=/etc/kubernetes/pki/etcd/server.crt",
                "--client-cert-auth=true",
                "--data-dir=/var/lib/etcd",
                "--key-file=/etc/kubernetes/pki/etcd/server.key",
                "--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.2:2379",
                "--listen-peer-urls=https://10.0.0.2:2380",
                "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
                "--peer-client-cert-auth=true",
                "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
                "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
                "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
            ]),
        );
        sink.object("pods-control-plane", etcd);
        let cm = static_pod(
            c,
            "kube-controller-manager",
            &node,
            "registry.k8s.io/kube-controller-manager:v1.30.4",
            s(&[
                "kube-controller-manager",
                "--bind-address=127.0.0.1",
                "--leader-elect=true",
                "--root-ca-file=/etc/kubernetes/pki/ca.crt",
                "--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
                "--use-service-account-credentials=true",
            ]),
        );
        sink.object("pods-control-plane", cm);
        let sch = static_pod(
            c,
            "kube-scheduler",
            &node,
            "registry.k8s.io/kube-scheduler:v1.30.4",
            s(&[
                "kube-scheduler",
                "--bind-address=127.0.0.1",
                "--leader-elect=true",
            ]),
        );
        sink.object("pods-control-plane", sch);
    }
}

/// A pod template: mostly sound, sometimes not.
fn pod_spec(c: &mut Ctx, sa: &str, image: &str) -> Value {
    let r = c.rng.below(100);
    let mut sc = json!({"runAsNonRoot": true, "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}});
    let mut spec_extra = json!({});
    let mut volumes = vec![
        json!({"name": "config", "configMap": {"name": "app-config"}}),
        json!({"name": "tmp", "emptyDir": {}}),
    ];
    match r {
        0..=2 => sc = json!({"privileged": true}),
        3..=5 => {
            volumes.push(json!({"name": "host", "hostPath": {"path": "/var/run/docker.sock"}}))
        }
        6..=8 => spec_extra = json!({"hostNetwork": true}),
        9..=11 => sc = json!({"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}}),
        12..=30 => sc = json!({}),
        31..=33 => volumes.push(json!({"name": "logs", "hostPath": {"path": "/var/log"}})),
        _ => {}
    }
    let mut spec = json!({
        "serviceAccountName": sa,
        "containers": [{
            "name": "app", "image": format!("{image}:1.{}.{}", c.rng.below(20), c.rng.below(10)),
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"containerPort": 8080, "protocol": "TCP", "name": "http"}],
            "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 10},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 20},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}, {"name": "tmp", "mountPath": "/tmp"}],
            "securityContext": sc,
        }],
        "volumes": volumes,
        "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst", "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
    });
    if let (Some(obj), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    spec
}

fn running_status(c: &mut Ctx, node: &str) -> Value {
    json!({"phase": "Running", "hostIP": "10.0.1.7", "podIP": format!("10.244.{}.{}", c.rng.below(250), c.rng.below(250)),
           "startTime": "2026-11-20T10:00:00Z", "qosClass": "Burstable",
           "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"},
                          {"type": "ContainersReady", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
           "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0, "image": "app", "imageID": format!("sha256:{}", c.rng.hex(64)),
                                  "containerID": format!("containerd://{}", c.rng.hex(64)), "started": true,
                                  "state": {"running": {"startedAt": "2026-11-20T10:00:05Z"}}}],
           "nominatedNodeName": node})
}

fn workloads(c: &mut Ctx, sink: &mut dyn Sink) {
    if c.sizes.pods == 0 {
        return;
    }
    let node_count = c.node_names.len().max(1);
    // DaemonSets: the falco agent plus a few infrastructure agents, one pod per node each.
    let daemonsets = [
        "falco/falco",
        "kube-system/kube-proxy",
        "kube-system/node-exporter",
        "kube-system/fluent-bit",
    ];
    let mut pods_left = c.sizes.pods;
    for ds in daemonsets {
        let (ns, name) = ds.split_once('/').unwrap();
        let labels = json!({"app.kubernetes.io/name": name});
        let image = if name == "falco" {
            "docker.io/falcosecurity/falco:0.39.1"
        } else {
            IMAGES[5]
        };
        let mut spec = pod_spec(c, name, image);
        spec["tolerations"] = json!([{"operator": "Exists", "effect": "NoSchedule"}]);
        let meta = c.meta(
            name,
            Some(ns),
            labels.clone(),
            "helm",
            json!({"f:spec": {}}),
        );
        let uid = meta["uid"].clone();
        sink.object("daemonsets", json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta,
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}},
            "status": {"desiredNumberScheduled": node_count, "numberReady": node_count}}));
        for n in 0..node_count {
            if pods_left == 0 || (name == "falco" && c.rng.chance(0.005)) {
                continue;
            }
            pods_left -= 1;
            let node = c
                .node_names
                .get(n)
                .cloned()
                .unwrap_or_else(|| "node-0".into());
            let pname = format!("{name}-{}", c.rng.hex(5));
            let mut meta = c.meta(
                &pname,
                Some(ns),
                labels.clone(),
                "kube-controller-manager",
                json!({"f:spec": {}}),
            );
            meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name, "uid": uid, "controller": true}]);
            let mut pspec = spec.clone();
            pspec["nodeName"] = json!(node);
            let status = running_status(c, &node);
            sink.object("pods", json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pspec, "status": status}));
        }
    }
    // Deployments (3 replicas each) take 90% of the rest; bare pods the remainder.
    let deployment_pods = pods_left * 9 / 10;
    let deployments = deployment_pods / 3;
    for d in 0..deployments {
        let ns = c.ns();
        let name = format!("svc-{d:06}");
        let labels = json!({"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": ns});
        let image = *c.rng.pick(IMAGES);
        let spec = pod_spec(c, "default", image);
        let dmeta = c.meta(
            &name,
            Some(&ns),
            labels.clone(),
            "argocd",
            json!({"f:spec": {"f:template": {}}}),
        );
        let duid = dmeta["uid"].clone();
        sink.object("deployments", json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": dmeta,
            "spec": {"replicas": 3, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}},
            "status": {"replicas": 3, "readyReplicas": 3, "availableReplicas": 3}}));
        let hash = c.rng.hex(10);
        let rs_name = format!("{name}-{hash}");
        let mut rmeta = c.meta(
            &rs_name,
            Some(&ns),
            labels.clone(),
            "kube-controller-manager",
            json!({"f:spec": {}}),
        );
        rmeta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": duid, "controller": true}]);
        let rsuid = rmeta["uid"].clone();
        sink.object("replicasets", json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": rmeta,
            "spec": {"replicas": 3, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": spec}},
            "status": {"replicas": 3, "readyReplicas": 3}}));
        for _ in 0..3 {
            let pname = format!("{rs_name}-{}", c.rng.hex(5));
            let mut meta = c.meta(
                &pname,
                Some(&ns),
                labels.clone(),
                "kube-controller-manager",
                json!({"f:spec": {}}),
            );
            meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rsuid, "controller": true}]);
            let node = c
                .node_names
                .get(c.rng.below(node_count))
                .cloned()
                .unwrap_or_default();
            let mut pspec = spec.clone();
            pspec["nodeName"] = json!(node);
            let status = running_status(c, &node);
            sink.object("pods", json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pspec, "status": status}));
        }
    }
    for p in 0..pods_left.saturating_sub(deployments * 3) {
        let ns = c.ns();
        let name = format!("task-{p:06}");
        let image = *c.rng.pick(IMAGES);
        let spec = pod_spec(c, "default", image);
        let meta = c.meta(
            &name,
            Some(&ns),
            json!({"run": name}),
            "kubectl",
            json!({"f:spec": {}}),
        );
        let node = c
            .node_names
            .get(c.rng.below(node_count))
            .cloned()
            .unwrap_or_default();
        let mut pspec = spec;
        pspec["nodeName"] = json!(node);
        let status = running_status(c, &node);
        sink.object("pods", json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pspec, "status": status}));
    }
}

const RULE_TEMPLATES: &[&str] = &[
    r#"{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}"#,
    r#"{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}"#,
    r#"{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch", "update", "patch"]}"#,
    r#"{"apiGroups": [""], "resources": ["services", "endpoints"], "verbs": ["get", "list"]}"#,
    r#"{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "delete", "get"]}"#,
    r#"{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["app-tls"]}"#,
    r#"{"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]}"#,
    r#"{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}"#,
];
const RISKY_TEMPLATES: &[&str] = &[
    r#"{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}"#,
    r#"{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}"#,
    r#"{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}"#,
    r#"{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}"#,
    r#"{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}"#,
];

fn rules(c: &mut Ctx) -> Value {
    let n = 1 + c.rng.below(4);
    let mut out = Vec::new();
    for _ in 0..n {
        let t = if c.rng.chance(0.04) {
            *c.rng.pick(RISKY_TEMPLATES)
        } else {
            *c.rng.pick(RULE_TEMPLATES)
        };
        out.push(serde_json::from_str::<Value>(t).expect("template"));
    }
    Value::Array(out)
}

fn rbac(c: &mut Ctx, sink: &mut dyn Sink) {
    // ServiceAccounts, spread over namespaces (each namespace also has `default`).
    let mut sas: Vec<(String, String)> = Vec::new();
    for i in 0..c.sizes.service_accounts {
        let ns = c.namespaces[i % c.namespaces.len()].clone();
        let name = format!("sa-{i:06}");
        let meta = c.meta(&name, Some(&ns), json!({"app": name}), "helm", json!({}));
        let mut sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta});
        if c.rng.chance(0.3) {
            sa["secrets"] = json!([{"name": format!("{name}-token-{}", c.rng.hex(5))}]);
        }
        sink.object("serviceaccounts", sa);
        sas.push((ns, name));
    }
    for ns in c.namespaces.clone() {
        let meta = c.meta(
            "default",
            Some(&ns),
            json!({}),
            "kube-controller-manager",
            json!({}),
        );
        sink.object(
            "serviceaccounts",
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}),
        );
    }
    // Custom ClusterRoles, two of them aggregating the others by label.
    let cluster_roles = (c.sizes.roles / 25).max(4);
    for i in 0..cluster_roles {
        let name = format!("custom-{i:04}");
        let agg = if i % 10 == 0 {
            json!({"rbac.example.com/aggregate-to-ops": "true"})
        } else {
            json!({})
        };
        let rules = rules(c);
        let meta = c.meta(&name, None, agg, "helm", json!({"f:rules": {}}));
        sink.object("clusterroles", json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules}));
    }
    let meta = c.meta("ops-aggregate", None, json!({}), "helm", json!({}));
    sink.object("clusterroles", json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta,
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-ops": "true"}}]}, "rules": []}));
    let mut roles: Vec<(String, String)> = Vec::new();
    for i in 0..c.sizes.roles {
        let ns = c.ns();
        let name = format!("role-{i:05}");
        let rules = rules(c);
        let meta = c.meta(&name, Some(&ns), json!({}), "helm", json!({"f:rules": {}}));
        sink.object("roles", json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules}));
        roles.push((ns, name));
    }
    let builtin = ["view", "edit", "admin"];
    for i in 0..c.sizes.role_bindings {
        let (ns, role_ref) = if !roles.is_empty() && c.rng.chance(0.7) {
            let (ns, name) = c.rng.pick(&roles).clone();
            (
                ns,
                json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}),
            )
        } else {
            let name = if c.rng.chance(0.5) {
                builtin[c.rng.below(3)].to_string()
            } else {
                format!("custom-{:04}", c.rng.below(cluster_roles))
            };
            (
                c.ns(),
                json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}),
            )
        };
        let mut subjects = Vec::new();
        for _ in 0..1 + c.rng.below(2) {
            let s = match c.rng.below(10) {
                0..=6 if !sas.is_empty() => {
                    let (sns, sname) = c.rng.pick(&sas).clone();
                    json!({"kind": "ServiceAccount", "namespace": sns, "name": sname})
                }
                7 | 8 => {
                    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("user{}@example.com", c.rng.below(2000))})
                }
                _ => {
                    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": format!("team-{}", TEAMS[c.rng.below(TEAMS.len())])})
                }
            };
            subjects.push(s);
        }
        let name = format!("rb-{i:06}");
        let meta = c.meta(
            &name,
            Some(&ns),
            json!({}),
            "helm",
            json!({"f:roleRef": {}, "f:subjects": {}}),
        );
        sink.object("rolebindings", json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta, "roleRef": role_ref, "subjects": subjects}));
    }
    let crbs = (c.sizes.role_bindings / 150).max(3);
    for i in 0..crbs {
        let role = if i == 0 {
            "cluster-admin".to_string()
        } else if i == 1 {
            "ops-aggregate".to_string()
        } else {
            format!("custom-{:04}", c.rng.below(cluster_roles))
        };
        let (sns, sname) = if sas.is_empty() {
            ("default".to_string(), "default".to_string())
        } else {
            c.rng.pick(&sas).clone()
        };
        let name = format!("crb-{i:05}");
        let meta = c.meta(&name, None, json!({}), "helm", json!({}));
        sink.object("clusterrolebindings", json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "namespace": sns, "name": sname}]}));
    }
}
