//! KUBELET-* on a real API server (issue 14): the kubeadm baseline ConfigMap and k3s node-args,
//! then `configz` through the API server's node proxy and the live probes against fake kubelets
//! this test serves on loopback (Nodes whose InternalIP is 127.0.0.1 or 127.0.0.2, an HTTPS
//! server on the kubelet port, an HTTP one on the read-only port).
//!
//! Each test runs on a control plane of its own: Nodes and `kube-system/kubelet-config` are
//! cluster-wide, and the other tests' audits must not see them.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use kube_posture::api::Finding;
use kube_posture_e2e::operator::{
    Operator, Options, create_policy, get_policy, policy, settled_findings,
};
use kube_posture_e2e::private_plane::PrivatePlane;
use kube_posture_e2e::{apply, node_info, prefix, repo, wait_for};
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the Findings of `check` on Node (or ConfigMap) `name` are.
fn on<'a>(fs: &'a [Finding], check: &str, name: &str) -> Vec<&'a Finding> {
    fs.iter()
        .filter(|f| f.spec.check == check && f.spec.resource.name == name)
        .collect()
}

fn evidence(f: &Finding) -> &[String] {
    f.status
        .as_ref()
        .map(|s| s.evidence.as_slice())
        .unwrap_or(&[])
}

/// A Node of this test's, on Flatcar, with `annotations` and `status` fields beside nodeInfo.
async fn create_node(client: &Client, name: &str, annotations: Value, status: Value) {
    let mut st = json!({"nodeInfo": node_info(
        "6.6.60-flatcar",
        "Flatcar Container Linux by Kinvolk 4081.2.0 (Oklo)",
        "linux"
    )});
    st.as_object_mut()
        .unwrap()
        .extend(status.as_object().cloned().unwrap_or_default());
    let node = json!({"metadata": {"name": name, "annotations": annotations}});
    kube_posture_e2e::create_node(client, node, st)
        .await
        .unwrap();
}

/// The not-assessed reasons of a policy's status.
async fn reasons(client: &Client, name: &str) -> Vec<String> {
    get_policy(client, name)
        .await
        .status
        .map(|s| s.not_assessed.into_iter().map(|n| n.reason).collect())
        .unwrap_or_default()
}

const KUBEADM_BASELINE: &str = "\
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous:
    enabled: true
authorization:
  mode: AlwaysAllow
readOnlyPort: 10255
rotateCertificates: true
serverTLSBootstrap: true
";

/// The kubeadm ConfigMap speaks for every node without configz, its findings on the ConfigMap;
/// once it is gone, a k3s node is judged on its `--kubelet-arg` overrides only, and a node with
/// nothing readable is not assessed, named, never passed.
#[tokio::test]
async fn kubeadm_baseline_and_unreadable_kubelets() {
    let plane = PrivatePlane::up("kubeadm");
    let client = plane.admin().await;
    let p = prefix("kubeadm");
    let _op = Operator::start_with(&p, plane.options()).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "kube-system");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "kubelet-config", "namespace": "kube-system"},
                    "data": {"kubelet": KUBEADM_BASELINE}});
    config_maps
        .create(&PostParams::default(), &serde_json::from_value(cm).unwrap())
        .await
        .unwrap();
    let plain = format!("{p}-plain");
    let k3s = format!("{p}-k3s");
    create_node(&client, &plain, json!({}), json!({})).await;
    create_node(
        &client,
        &k3s,
        json!({"k3s.io/node-args": r#"["agent","--kubelet-arg","read-only-port=10255","--token","s3cret"]"#}),
        json!({}),
    )
    .await;
    let name = format!("{p}-kubelet");
    create_policy(
        &client,
        &policy(&p, &name, json!({"checks": {"include": ["kubelet"]}})),
    )
    .await;

    let fs = wait_for(Duration::from_secs(60), || async {
        let fs = settled_findings(&client, &name).await?;
        (!on(&fs, "KUBELET-004", "kubelet-config").is_empty()).then_some(fs)
    })
    .await
    .expect("KUBELET-004 on the kubeadm ConfigMap");
    let mut fired: Vec<String> = fs
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f.spec.check,
                f.status.as_ref().and_then(|s| s.severity).unwrap(),
                f.spec.resource.name
            )
        })
        .collect();
    fired.sort();
    assert_eq!(
        fired,
        [
            "KUBELET-001 critical kubelet-config",
            "KUBELET-002 critical kubelet-config",
            "KUBELET-003 medium kubelet-config",
            "KUBELET-004 high kubelet-config",
            "KUBELET-011 low kubelet-config",
            "KUBELET-012 low kubelet-config",
            "KUBELET-013 low kubelet-config",
        ],
        "the baseline's findings, on the ConfigMap, none per node"
    );
    let ro = on(&fs, "KUBELET-004", "kubelet-config")[0];
    assert_eq!(ro.spec.resource.namespace, "kube-system");
    assert!(
        evidence(ro)[0].starts_with(
            "source: kubeadm-configmap kube-system/kubelet-config, key kubelet (the baseline of 2 nodes"
        ),
        "{:?}",
        evidence(ro)
    );

    // Without the ConfigMap: the k3s node's override is judged on the Node, what it does not
    // set is not assessed; the plain node has nothing to read.
    config_maps
        .delete("kubelet-config", &DeleteParams::default())
        .await
        .unwrap();
    let fs = wait_for(Duration::from_secs(60), || async {
        let fs = settled_findings(&client, &name).await?;
        (on(&fs, "KUBELET-004", "kubelet-config").is_empty()
            && !on(&fs, "KUBELET-004", &k3s).is_empty())
        .then_some(fs)
    })
    .await
    .expect("the ConfigMap's Findings go, the k3s node's come");
    assert!(
        fs.iter().all(|f| f.spec.resource.name == k3s),
        "only the k3s node is judged: {:?}",
        fs.iter()
            .map(|f| (&f.spec.check, &f.spec.resource.name))
            .collect::<Vec<_>>()
    );
    let ro = on(&fs, "KUBELET-004", &k3s)[0];
    assert!(
        evidence(ro)[0]
            .starts_with("source: k3s-annotation, `--kubelet-arg` overrides in k3s.io/node-args"),
        "{:?}",
        evidence(ro)
    );
    assert!(
        !evidence(ro).iter().any(|e| e.contains("s3cret")),
        "other arguments never reach the evidence: {:?}",
        evidence(ro)
    );
    let plain_reason = format!(
        "the kubelet configuration of 1 node of 2 is not readable (no configz (spec.kubelet.configz is off), no kubeadm kubelet-config ConfigMap in kube-system, no k3s/RKE2 node-args annotation): {plain}"
    );
    let k3s_reason = format!(
        "the k3s/RKE2 node-args of 1 node of 2 do not set the fields these checks read (they give overrides only): {k3s}"
    );
    let found = wait_for(Duration::from_secs(30), || async {
        let r = reasons(&client, &name).await;
        (r.contains(&plain_reason) && r.contains(&k3s_reason)).then_some(())
    })
    .await;
    assert!(
        found.is_ok(),
        "{plain_reason}\n{k3s_reason}\nin {:#?}",
        reasons(&client, &name).await
    );
}

/// How a fake kubelet answers.
#[derive(Clone)]
struct Behaviour {
    /// `/healthz` and `/pods` answer anonymous requests (else 401).
    anonymous: bool,
    /// The read-only port answers `ok` (else 404: something else listens there).
    read_only: bool,
    /// The `configz` body.
    configz: Value,
}

/// A fake kubelet on one loopback address: HTTPS on its own port, plain HTTP on the shared
/// read-only port. Every path it was asked is recorded.
struct FakeKubelet {
    ip: IpAddr,
    secure_port: u16,
    behaviour: Arc<Mutex<Behaviour>>,
    seen: Arc<Mutex<Vec<String>>>,
    tasks: Vec<JoinHandle<()>>,
}

/// In the body of `/pods`: it must never reach the operator's log.
const POD_LIST_MARKER: &str = "e2e-pod-list-body-marker";

impl FakeKubelet {
    async fn start(ip: &str, read_only_port: u16, behaviour: Behaviour) -> FakeKubelet {
        let ip: IpAddr = ip.parse().unwrap();
        let secure = TcpListener::bind(SocketAddr::new(ip, 0)).await.unwrap();
        let read_only = TcpListener::bind(SocketAddr::new(ip, read_only_port))
            .await
            .unwrap_or_else(|e| panic!("bind {ip}:{read_only_port}: {e}"));
        let secure_port = secure.local_addr().unwrap().port();
        let tls = tokio_rustls::TlsAcceptor::from(
            kube_posture::controller::tls::self_signed(&[ip.to_string()]).unwrap(),
        );
        let behaviour = Arc::new(Mutex::new(behaviour));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (b, s) = (behaviour.clone(), seen.clone());
        let secure_task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = secure.accept().await else {
                    continue;
                };
                let (tls, b, s) = (tls.clone(), b.clone(), s.clone());
                tokio::spawn(async move {
                    if let Ok(stream) = tls.accept(tcp).await {
                        serve(stream, &b, &s, true).await;
                    }
                });
            }
        });
        let (b, s) = (behaviour.clone(), seen.clone());
        let read_only_task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = read_only.accept().await else {
                    continue;
                };
                let (b, s) = (b.clone(), s.clone());
                tokio::spawn(async move { serve(tcp, &b, &s, false).await });
            }
        });
        FakeKubelet {
            ip,
            secure_port,
            behaviour,
            seen,
            tasks: vec![secure_task, read_only_task],
        }
    }

    fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.behaviour.lock().unwrap());
    }

    /// Stop listening: connections are refused from now on.
    fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

/// One HTTP/1.1 request, one answer, then the connection is closed.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    behaviour: &Mutex<Behaviour>,
    seen: &Mutex<Vec<String>>,
    secure: bool,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    seen.lock()
        .unwrap()
        .push(format!("{}{path}", if secure { "https:" } else { "http:" }));
    let b = behaviour.lock().unwrap().clone();
    let (status, body) = match (secure, path.as_str()) {
        (true, "/healthz") if b.anonymous => (200, "ok".to_string()),
        (true, "/pods") if b.anonymous => (
            200,
            format!(
                r#"{{"kind":"PodList","apiVersion":"v1","items":[],"note":"{POD_LIST_MARKER}"}}"#
            ),
        ),
        (true, "/healthz" | "/pods") => (401, "Unauthorized".to_string()),
        // What the API server's node proxy asks for.
        (true, "/configz") => (200, b.configz.to_string()),
        (false, "/healthz") if b.read_only => (200, "ok".to_string()),
        _ => (404, "404 page not found".to_string()),
    };
    let reply = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A free port on both loopback addresses the fake kubelets use (the operator probes one
/// read-only port on every node).
async fn shared_port() -> u16 {
    for _ in 0..20 {
        let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = a.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.2", port)).await.is_ok() {
            return port;
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

fn open_configz() -> Value {
    json!({"kubeletconfig": {
        "authentication": {"anonymous": {"enabled": true}, "webhook": {"enabled": true},
                           "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"}},
        "authorization": {"mode": "Webhook"},
        "readOnlyPort": 10255,
        "streamingConnectionIdleTimeout": "4h0m0s",
        "makeIPTablesUtilChains": true,
        "serverTLSBootstrap": true,
        "rotateCertificates": true,
        "podPidsLimit": 4096,
        "seccompDefault": true,
        "protectKernelDefaults": true}})
}

fn hardened_configz() -> Value {
    let mut c = open_configz();
    c["kubeletconfig"]["authentication"]["anonymous"]["enabled"] = json!(false);
    c["kubeletconfig"]["readOnlyPort"] = json!(0);
    c
}

/// Two fake kubelets, configz through the node proxy and the probes. Then one is fixed and the
/// other stops answering: the fixed one's Findings go, the silent one's are held (not assessed
/// is not fixed), and the status names it.
#[tokio::test]
async fn live_probes_and_configz_through_the_node_proxy() {
    let plane = PrivatePlane::up("kubelets");
    let client = plane.admin().await;
    let p = prefix("kubelets");
    let rbac = std::fs::read_to_string(repo().join("manifests/optional/kubelet-configz-rbac.yaml"))
        .unwrap();
    let docs: Vec<Value> = kube_posture::yaml::from_str_multi(&rbac).unwrap();
    let read_only_port = shared_port().await;
    let behaviour = Behaviour {
        anonymous: true,
        read_only: true,
        configz: open_configz(),
    };
    let fixed = FakeKubelet::start("127.0.0.1", read_only_port, behaviour.clone()).await;
    let mut silent = FakeKubelet::start("127.0.0.2", read_only_port, behaviour).await;
    let op = Operator::start_with(
        &p,
        Options {
            env: vec![(
                "KUBE_POSTURE_TEST_READ_ONLY_PORT".into(),
                read_only_port.to_string(),
            )],
            ..plane.options()
        },
    )
    .await;
    // After the operator's install: the optional grant of nodes/proxy to its identity.
    apply(&client, &docs).await.unwrap();
    let node = |k: &FakeKubelet| format!("{p}-{}", k.ip.to_string().replace('.', "-"));
    for k in [&fixed, &silent] {
        create_node(
            &client,
            &node(k),
            json!({}),
            json!({"addresses": [{"type": "InternalIP", "address": k.ip.to_string()}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": k.secure_port}}}),
        )
        .await;
    }
    let name = format!("{p}-live");
    create_policy(
        &client,
        &policy(
            &p,
            &name,
            json!({"checks": {"include": ["kubelet"]}, "interval": "30s",
                   "kubelet": {"configz": true}, "probes": {"kubelet": true}}),
        ),
    )
    .await;

    let wanted = ["KUBELET-001", "KUBELET-004", "KUBELET-101", "KUBELET-102"];
    let fs = wait_for(Duration::from_secs(90), || async {
        let fs = settled_findings(&client, &name).await?;
        wanted
            .iter()
            .all(|c| {
                [&fixed, &silent]
                    .iter()
                    .all(|k| !on(&fs, c, &node(k)).is_empty())
            })
            .then_some(fs)
    })
    .await
    .unwrap_or_else(|_| panic!("{wanted:?} on both nodes; operator log:\n{}", op.log_text()));
    let mut fired: Vec<String> = on_node(&fs, &node(&fixed));
    fired.sort();
    assert_eq!(
        fired,
        [
            "KUBELET-001 high",
            "KUBELET-004 high",
            "KUBELET-101 critical",
            "KUBELET-102 high"
        ],
        "exactly what the configz and the probes show"
    );
    let from_configz = on(&fs, "KUBELET-004", &node(&fixed))[0];
    assert!(
        evidence(from_configz)[0].starts_with("source: configz"),
        "{:?}",
        evidence(from_configz)
    );
    let pods = on(&fs, "KUBELET-101", &node(&fixed))[0];
    let url = format!("https://127.0.0.1:{}/pods", fixed.secure_port);
    assert!(
        evidence(pods).contains(&format!("GET {url}: HTTP 200")),
        "{:?}",
        evidence(pods)
    );
    // Only the kubelet's read endpoints were asked, by the probes and the node proxy.
    for k in [&fixed, &silent] {
        let seen = k.seen();
        assert!(seen.iter().any(|s| s == "https:/configz"), "{seen:?}");
        assert!(seen.iter().any(|s| s == "http:/healthz"), "{seen:?}");
        assert!(
            seen.iter().all(|s| matches!(
                s.as_str(),
                "https:/healthz" | "https:/pods" | "https:/configz" | "http:/healthz"
            )),
            "{seen:?}"
        );
    }

    // The first kubelet is fixed, the second stops answering.
    fixed.set(|b| {
        b.anonymous = false;
        b.read_only = false;
        b.configz = hardened_configz();
    });
    silent.stop();
    // Probe and configz results are reused for 60 s, the policy is audited every 30 s.
    let fs = wait_for(Duration::from_secs(150), || async {
        let fs = settled_findings(&client, &name).await?;
        on_node(&fs, &node(&fixed)).is_empty().then_some(fs)
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the fixed node's Findings go; operator log:\n{}",
            op.log_text()
        )
    });
    let mut held = on_node(&fs, &node(&silent));
    held.sort();
    assert_eq!(
        held,
        [
            "KUBELET-001 high",
            "KUBELET-004 high",
            "KUBELET-101 critical",
            "KUBELET-102 high"
        ],
        "the silent node's Findings are held, not resolved"
    );
    let silent_name = node(&silent);
    let found = wait_for(Duration::from_secs(30), || async {
        let r = reasons(&client, &name).await;
        let probe = r.iter().any(|x| {
            x.starts_with("the kubelet port of 1 node did not answer") && x.ends_with(&silent_name)
        });
        let configz = r.iter().any(|x| {
            x.starts_with("the kubelet configuration of 1 node of 2 is not readable (configz: ")
                && x.ends_with(&silent_name)
        });
        (probe && configz).then_some(())
    })
    .await;
    assert!(
        found.is_ok(),
        "not assessed on {silent_name}: {:#?}",
        reasons(&client, &name).await
    );
    assert!(
        !op.log_text().contains(POD_LIST_MARKER),
        "a probe's body reached the log"
    );
}

/// `CHECK severity` of every Finding on a node.
fn on_node(fs: &[Finding], node: &str) -> Vec<String> {
    fs.iter()
        .filter(|f| f.spec.resource.kind == "Node" && f.spec.resource.name == node)
        .map(|f| {
            format!(
                "{} {}",
                f.spec.check,
                f.status.as_ref().and_then(|s| s.severity).unwrap()
            )
        })
        .collect()
}
