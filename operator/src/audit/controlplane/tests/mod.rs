//! Control-plane checks on YAML fixtures: a hardened control plane with one flag changed at a
//! time, so each test shows exactly which check a flag drives.

mod admission_tls;
mod apiserver;
mod etcd;
mod exposure;
mod kubeadm;
mod managers;

use crate::audit::Finding;
use crate::audit::Report;
use crate::audit::testutil::{audit, checks};

pub const APISERVER_IMAGE: &str = "registry.k8s.io/kube-apiserver:v1.30.4";
pub const ETCD_IMAGE: &str = "registry.k8s.io/etcd:3.5.15-0";

/// A kube-apiserver with every API-* check passing.
pub const SECURE_APISERVER: &[&str] = &[
    "--advertise-address=192.168.56.10",
    "--anonymous-auth=false",
    "--authorization-mode=Node,RBAC",
    "--client-ca-file=/etc/kubernetes/pki/ca.crt",
    "--enable-admission-plugins=NodeRestriction,EventRateLimit,AlwaysPullImages,DenyServiceExternalIPs",
    "--admission-control-config-file=/etc/kubernetes/admission.yaml",
    "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt",
    "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
    "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key",
    "--etcd-servers=https://127.0.0.1:2379",
    "--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt",
    "--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key",
    "--kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt",
    "--profiling=false",
    "--audit-log-path=/var/log/kubernetes/audit/audit.log",
    "--audit-policy-file=/etc/kubernetes/audit-policy.yaml",
    "--audit-log-maxage=30",
    "--audit-log-maxbackup=10",
    "--audit-log-maxsize=100",
    "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
    "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    "--service-account-extend-token-expiration=false",
    "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
    "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
    "--tls-min-version=VersionTLS12",
    "--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "--encryption-provider-config=/etc/kubernetes/enc/encryption.yaml",
];

/// An etcd member of a three-node cluster with every ETCD-001…007 check passing.
pub const SECURE_ETCD: &[&str] = &[
    "--name=cp1",
    "--data-dir=/var/lib/etcd",
    "--cert-file=/etc/kubernetes/pki/etcd/server.crt",
    "--key-file=/etc/kubernetes/pki/etcd/server.key",
    "--client-cert-auth=true",
    "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
    "--listen-client-urls=https://127.0.0.1:2379,https://192.168.56.10:2379",
    "--advertise-client-urls=https://192.168.56.10:2379",
    "--listen-peer-urls=https://192.168.56.10:2380",
    "--initial-advertise-peer-urls=https://192.168.56.10:2380",
    "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
    "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
    "--peer-client-cert-auth=true",
    "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
];

pub const SECURE_CONTROLLER_MANAGER: &[&str] = &[
    "--bind-address=127.0.0.1",
    "--kubeconfig=/etc/kubernetes/controller-manager.conf",
    "--profiling=false",
    "--root-ca-file=/etc/kubernetes/pki/ca.crt",
    "--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
    "--terminated-pod-gc-threshold=10000",
    "--use-service-account-credentials=true",
    "--feature-gates=RotateKubeletServerCertificate=true",
];

pub const SECURE_SCHEDULER: &[&str] = &[
    "--bind-address=127.0.0.1",
    "--kubeconfig=/etc/kubernetes/scheduler.conf",
    "--profiling=false",
];

/// `base` with `changes` applied: `--flag=v` or `--flag` replaces every `--flag…` of `base`,
/// `!--flag` removes them, anything else (a stray `false`) is appended as is.
pub fn with(base: &[&str], changes: &[&str]) -> Vec<String> {
    let name = |a: &str| {
        a.trim_start_matches('-')
            .split('=')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let mut out: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    for c in changes {
        if let Some(removed) = c.strip_prefix('!') {
            out.retain(|a| name(a) != name(removed));
        } else if c.starts_with("--") {
            out.retain(|a| name(a) != name(c));
            out.push(c.to_string());
        } else {
            out.push(c.to_string());
        }
    }
    out
}

/// A control-plane mirror Pod in kube-system, labelled `component=<component>`; `extra` is
/// more container fields (YAML, indented for the container mapping).
pub fn pod(name: &str, component: &str, image: &str, argv: &[String], extra: &str) -> String {
    let command = serde_json::to_string(
        &std::iter::once(component.to_string())
            .chain(argv.iter().cloned())
            .collect::<Vec<_>>(),
    )
    .expect("strings serialise");
    format!(
        r#"
apiVersion: v1
kind: Pod
metadata:
  namespace: kube-system
  name: {name}
  labels: {{component: {component}, tier: control-plane}}
spec:
  nodeName: cp1
  hostNetwork: true
  containers:
  - name: {component}
    image: "{image}"
    command: {command}
    {extra}
"#
    )
}

pub fn apiserver_pod(changes: &[&str]) -> String {
    pod(
        "kube-apiserver-cp1",
        "kube-apiserver",
        APISERVER_IMAGE,
        &with(SECURE_APISERVER, changes),
        "",
    )
}

pub fn etcd_pod(changes: &[&str], extra: &str) -> String {
    pod(
        "etcd-cp1",
        "etcd",
        ETCD_IMAGE,
        &with(SECURE_ETCD, changes),
        extra,
    )
}

/// The checks that fire on a kube-apiserver with `changes` (alone in the snapshot).
pub fn apiserver(changes: &[&str]) -> Vec<&'static str> {
    checks(&audit(&apiserver_pod(changes)))
}

/// The findings of one check.
pub fn of<'r>(r: &'r Report, check: &str) -> Vec<&'r Finding> {
    r.findings
        .iter()
        .filter(|f| f.check == check)
        .map(|f| &**f)
        .collect()
}

/// `notAssessed` as `category: reason` lines.
pub fn not_assessed(r: &Report) -> Vec<String> {
    crate::audit::testutil::not_assessed_by_families(r)
        .into_iter()
        .map(|n| format!("{}: {}", n.category, n.reason))
        .collect()
}
