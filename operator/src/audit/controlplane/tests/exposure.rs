//! ETCD-008 and ETCD-009.

use super::*;
use crate::audit::testutil::{audit, checks, ids};
use crate::catalog::Severity;

fn service(ns: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{namespace: {ns}, name: {name}}}\nspec: {spec}\n"
    )
}

/// The findings of ETCD-008 with a hardened etcd Pod and `services`.
fn exposed(services: &[String]) -> Vec<(String, Severity)> {
    let yaml = std::iter::once(etcd_pod(&[], ""))
        .chain(services.iter().cloned())
        .collect::<Vec<_>>()
        .join("---\n");
    let r = audit(&yaml);
    of(&r, "ETCD-008")
        .iter()
        .map(|f| {
            (
                format!(
                    "{}/{}",
                    f.resource.namespace.as_deref().unwrap_or(""),
                    f.resource.name
                ),
                f.severity,
            )
        })
        .collect()
}

#[test]
fn etcd_008_a_service_selecting_etcd() {
    let r = audit(&format!(
        "{}---\n{}",
        etcd_pod(&[], ""),
        service(
            "kube-system",
            "etcd-external",
            "{type: NodePort, selector: {component: etcd}, ports: [{port: 2379, nodePort: 32379}]}"
        )
    ));
    assert_eq!(ids(&r), ["ETCD-008 Service kube-system/etcd-external"]);
    let f = of(&r, "ETCD-008")[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.evidence,
        [
            "type NodePort",
            "selector component=etcd matches etcd Pod kube-system/etcd-cp1",
            "port 2379 -> targetPort 2379, nodePort 32379"
        ]
    );
    assert!(
        f.remediation
            .contains("kubectl delete service etcd-external -n kube-system")
    );
    // Selected, on another port, inside the cluster: high.
    assert_eq!(
        exposed(&[service(
            "kube-system",
            "etcd-metrics",
            "{selector: {component: etcd, tier: control-plane}, clusterIP: None, ports: [{port: 2381}]}"
        )]),
        [("kube-system/etcd-metrics".to_string(), Severity::High)]
    );
}

#[test]
fn etcd_008_etcd_ports_in_any_namespace() {
    assert_eq!(
        exposed(&[
            service(
                "ci",
                "db",
                "{type: LoadBalancer, selector: {app: db}, ports: [{port: 80, targetPort: 2380}]}"
            ),
            service(
                "ci",
                "db-internal",
                "{selector: {app: db}, ports: [{port: 2379}]}"
            ),
            service(
                "ci",
                "db-ext",
                "{selector: {app: db}, externalIPs: [203.0.113.7], ports: [{port: 2379}]}"
            ),
        ]),
        [
            ("ci/db".to_string(), Severity::Critical),
            ("ci/db-ext".to_string(), Severity::Critical),
            ("ci/db-internal".to_string(), Severity::High),
        ]
    );
}

#[test]
fn etcd_008_what_does_not_expose_etcd() {
    assert!(
        exposed(&[
            // A Service selects Pods of its own namespace only.
            service(
                "ci",
                "lookalike",
                "{type: NodePort, selector: {component: etcd}, ports: [{port: 8080}]}"
            ),
            // Other Pods, other ports.
            service(
                "kube-system",
                "kube-dns",
                "{selector: {k8s-app: kube-dns}, ports: [{port: 53}]}"
            ),
            // A Service without a selector selects nothing.
            service("kube-system", "manual", "{ports: [{port: 8443}]}"),
            // ExternalName proxies nothing.
            service(
                "ci",
                "alias",
                "{type: ExternalName, externalName: etcd.example.com, ports: [{port: 2379}]}"
            ),
            // The API server's own Service.
            service(
                "default",
                "kubernetes",
                "{ports: [{port: 443, targetPort: 2379}]}"
            ),
        ])
        .is_empty()
    );
}

fn deployment(ns: &str, host_path: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{namespace: {ns}, name: backup}}
spec:
  selector: {{matchLabels: {{app: backup}}}}
  template:
    metadata: {{labels: {{app: backup}}}}
    spec:
      containers:
      - name: dump
        image: "busybox:1.36"
        volumeMounts: [{{name: host, mountPath: /host}}]
      - name: sidecar
        image: "busybox:1.36"
      volumes: [{{name: host, hostPath: {{path: "{host_path}"}}}}]
"#
    )
}

/// ETCD-009 findings on a Deployment mounting `host_path`, next to etcd with `etcd_changes`.
fn mounts(host_path: &str, etcd_changes: &[&str], etcd_extra: &str) -> Vec<String> {
    let yaml = format!(
        "{}---{}",
        etcd_pod(etcd_changes, etcd_extra),
        deployment("ci", host_path)
    );
    audit(&yaml)
        .findings
        .iter()
        .filter(|f| f.check == "ETCD-009")
        .map(|f| {
            format!(
                "{} [{}]",
                f.evidence.join("; "),
                f.container.as_deref().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn etcd_009_the_data_dir_the_pki_their_parents_and_children() {
    let yaml = format!(
        "{}---{}",
        etcd_pod(&[], ""),
        deployment("ci", "/var/lib/etcd")
    );
    let r = audit(&yaml);
    let f = of(&r, "ETCD-009")[0];
    assert_eq!(ids(&r).iter().filter(|i| i.starts_with("ETCD")).count(), 1);
    assert_eq!(f.resource.kind, "Deployment");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.container.as_deref(),
        Some("dump"),
        "only the container mounting it"
    );
    assert_eq!(
        f.evidence,
        ["volume host: hostPath /var/lib/etcd (etcd's data dir)"]
    );

    assert_eq!(
        mounts("/etc/kubernetes/pki/etcd/", &[], ""),
        ["volume host: hostPath /etc/kubernetes/pki/etcd/ (the Kubernetes PKI) [dump]"]
    );
    assert_eq!(
        mounts("/etc", &[], ""),
        ["volume host: hostPath /etc (holds /etc/kubernetes/pki, the Kubernetes PKI) [dump]"]
    );
    assert_eq!(mounts("/", &[], "").len(), 1);
    assert!(
        mounts("/var/lib/etcd-backup", &[], "").is_empty(),
        "a sibling, not a child"
    );
    assert!(mounts("/var/log", &[], "").is_empty());
}

#[test]
fn etcd_009_a_custom_data_dir_and_the_host_path_behind_it() {
    let extra = "volumeMounts: [{name: data, mountPath: /data}]";
    let etcd = etcd_pod(&["--data-dir=/data/etcd"], extra).replace(
        "  hostNetwork: true\n",
        "  hostNetwork: true\n  volumes: [{name: data, hostPath: {path: /mnt/disk1}}]\n",
    );
    let on = |path: &str| {
        let yaml = format!("{etcd}---{}", deployment("ci", path));
        checks(&audit(&yaml)).contains(&"ETCD-009")
    };
    assert!(on("/mnt/disk1/etcd/member"), "the host side of --data-dir");
    assert!(on("/data/etcd"), "the path as written");
    assert!(!on("/mnt/disk2"));
}

#[test]
fn etcd_009_the_control_plane_itself_is_exempt() {
    // The etcd Pod mounts /var/lib/etcd and the API server /etc/kubernetes/pki.
    let yaml = format!(
        "{}---{}",
        etcd_pod(&[], "volumeMounts: [{name: etcd-data, mountPath: /var/lib/etcd}]").replace(
            "  hostNetwork: true\n",
            "  hostNetwork: true\n  volumes: [{name: etcd-data, hostPath: {path: /var/lib/etcd}}]\n",
        ),
        apiserver_pod(&[])
    );
    assert!(checks(&audit(&yaml)).is_empty());
}
