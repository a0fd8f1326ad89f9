use super::*;
use crate::audit::testutil::{audit, checks, ids};
use crate::catalog::Severity;

/// The checks that fire on etcd with `changes`, next to a hardened API server (so that
/// ETCD-007 can compare CAs).
fn etcd(changes: &[&str]) -> Vec<&'static str> {
    etcd_env(changes, "")
}

fn etcd_env(changes: &[&str], extra: &str) -> Vec<&'static str> {
    let yaml = format!("{}---{}", apiserver_pod(&[]), etcd_pod(changes, extra));
    checks(&audit(&yaml))
}

#[test]
fn a_hardened_etcd_has_no_findings() {
    assert!(etcd(&[]).is_empty(), "{:?}", etcd(&[]));
}

#[test]
fn etcd_001_missing_certificate_or_plain_http_beyond_loopback() {
    let yaml = format!(
        "{}---{}",
        apiserver_pod(&[]),
        etcd_pod(&["!--key-file"], "")
    );
    let r = audit(&yaml);
    assert_eq!(ids(&r), ["ETCD-001 Pod kube-system/etcd-cp1"]);
    let f = of(&r, "ETCD-001")[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.evidence, ["--key-file: (unset)"]);
    assert!(f.message.contains("--key-file missing"), "{}", f.message);

    assert_eq!(
        etcd(&["--listen-client-urls=http://0.0.0.0:2379"]),
        ["ETCD-001"]
    );
    assert_eq!(
        etcd(&["--listen-client-urls=https://127.0.0.1:2379,http://192.168.56.10:2379"]),
        ["ETCD-001"]
    );
    assert_eq!(
        etcd(&["--listen-client-http-urls=http://192.168.56.10:2382"]),
        ["ETCD-001"],
        "HTTP-only listeners count too"
    );
    // Plain HTTP on loopback (the API server on the same node) is fine; so is etcd's default.
    assert!(etcd(&["--listen-client-urls=http://127.0.0.1:2379,https://0.0.0.0:2379"]).is_empty());
    assert!(etcd(&["--listen-client-urls=http://[::1]:2379,http://localhost:2378"]).is_empty());
    assert!(etcd(&["!--listen-client-urls"]).is_empty());
}

#[test]
fn etcd_001_and_002_read_etcd_environment_variables() {
    let env = "env: [{name: ETCD_LISTEN_CLIENT_URLS, value: 'http://0.0.0.0:2379'}]";
    assert_eq!(etcd_env(&["!--listen-client-urls"], env), ["ETCD-001"]);
    // The command line wins over the variable.
    assert!(etcd_env(&[], env).is_empty());
    let env = "env: [{name: ETCD_CLIENT_CERT_AUTH, value: 'true'}]";
    assert!(etcd_env(&["!--client-cert-auth"], env).is_empty());
    assert_eq!(etcd_env(&["--client-cert-auth=false"], env), ["ETCD-002"]);
}

#[test]
fn etcd_002_client_cert_auth() {
    let yaml = format!(
        "{}---{}",
        apiserver_pod(&[]),
        etcd_pod(&["!--client-cert-auth"], "")
    );
    let r = audit(&yaml);
    assert_eq!(checks(&r), ["ETCD-002"]);
    assert_eq!(
        of(&r, "ETCD-002")[0].evidence,
        ["--client-cert-auth: (unset, default false)"]
    );
    assert_eq!(etcd(&["--client-cert-auth=false"]), ["ETCD-002"]);
    // A bare boolean is true; `false` after it is a stray argument.
    assert!(etcd(&["--client-cert-auth", "false"]).is_empty());
    assert!(
        etcd(&["-client-cert-auth"]).is_empty(),
        "Go's flag package takes one dash"
    );
}

#[test]
fn etcd_003_and_006_auto_tls() {
    assert_eq!(etcd(&["--auto-tls=true"]), ["ETCD-003"]);
    assert_eq!(etcd(&["--auto-tls"]), ["ETCD-003"]);
    assert!(etcd(&["--auto-tls=false"]).is_empty());
    assert_eq!(etcd(&["--peer-auto-tls"]), ["ETCD-006"]);
    assert!(etcd(&["--peer-auto-tls=false"]).is_empty());
}

#[test]
fn etcd_004_peer_tls_only_on_peer_urls_beyond_loopback() {
    assert_eq!(etcd(&["!--peer-key-file"]), ["ETCD-004"]);
    assert_eq!(
        etcd(&["--listen-peer-urls=http://192.168.56.10:2380"]),
        ["ETCD-004"]
    );
    // A single member on localhost (etcd's default peer URL) has no peer traffic to protect.
    assert!(
        etcd(&[
            "!--listen-peer-urls",
            "!--peer-cert-file",
            "!--peer-key-file"
        ])
        .is_empty()
    );
    assert!(
        etcd(&[
            "--listen-peer-urls=http://127.0.0.1:2380",
            "!--peer-client-cert-auth"
        ])
        .is_empty()
    );
}

#[test]
fn etcd_005_peer_client_cert_auth() {
    let yaml = format!(
        "{}---{}",
        apiserver_pod(&[]),
        etcd_pod(&["!--peer-client-cert-auth"], "")
    );
    let r = audit(&yaml);
    assert_eq!(checks(&r), ["ETCD-005"]);
    assert_eq!(
        of(&r, "ETCD-005")[0].evidence,
        [
            "--peer-client-cert-auth: (unset, default false)",
            "--listen-peer-urls=https://192.168.56.10:2380"
        ]
    );
    assert!(
        etcd(&[
            "!--peer-client-cert-auth",
            "--listen-peer-urls=https://localhost:2380"
        ])
        .is_empty()
    );
}

#[test]
fn etcd_007_shared_client_ca_compared_as_normalised_paths() {
    let r = audit(&format!(
        "{}---{}",
        apiserver_pod(&[]),
        etcd_pod(&["--trusted-ca-file=/etc/kubernetes/pki//./ca.crt"], "")
    ));
    assert_eq!(checks(&r), ["ETCD-007"]);
    assert_eq!(
        of(&r, "ETCD-007")[0].evidence,
        [
            "--trusted-ca-file=/etc/kubernetes/pki//./ca.crt",
            "kube-apiserver-cp1: --client-ca-file=/etc/kubernetes/pki/ca.crt"
        ]
    );
    assert!(etcd(&["--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt"]).is_empty());
}

#[test]
fn etcd_007_needs_the_api_server() {
    let r = audit(&etcd_pod(
        &["--trusted-ca-file=/etc/kubernetes/pki/ca.crt"],
        "",
    ));
    assert!(checks(&r).is_empty());
    assert!(
        not_assessed(&r).contains(&"etcd: no kube-apiserver Pod in kube-system".to_string()),
        "{:?}",
        not_assessed(&r)
    );
}

#[test]
fn etcd_with_a_config_file_is_not_assessed() {
    let r = audit(&format!(
        "{}---{}",
        apiserver_pod(&[]),
        etcd_pod(
            &["--config-file=/etc/etcd/etcd.yaml", "!--client-cert-auth"],
            ""
        )
    ));
    assert!(checks(&r).is_empty());
    assert!(
        not_assessed(&r)
            .iter()
            .any(|n| n.starts_with("etcd: ") && n.contains("--config-file (/etc/etcd/etcd.yaml)")),
        "{:?}",
        not_assessed(&r)
    );
}
