//! Image inspection (issue 17) against a real registry on loopback: Debian's docker-registry
//! started by e2e/scripts/registry.sh, images written by this test as OCI layouts and pushed
//! with skopeo, Pods in the local API server whose `imageID` is set through the status
//! subresource (no kubelet runs), then `kube-posture audit` live with `spec.images.inspect`.
//!
//! Prints `FIGURE images key=value ...`.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use kube_posture_e2e::operator::{self, Operator, Options, create_policy, wait_reconciled};
use kube_posture_e2e::{admin, apply, kube_posture, prefix, repo, text};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The registry, stopped (and its storage removed) when dropped, whatever the test did.
struct Registry {
    dir: PathBuf,
    port: u16,
}

impl Registry {
    fn start(dir: &Path) -> Registry {
        let port = free_port();
        let dir = dir.join("registry");
        let out = Command::new(repo().join("e2e/scripts/registry.sh"))
            .args(["start", dir.to_str().unwrap(), &port.to_string()])
            .output()
            .expect("e2e/scripts/registry.sh runs");
        assert!(
            out.status.success(),
            "the registry must start (apt-get install docker-registry; .ci/run does): {}",
            text(&out.stderr)
        );
        Registry { dir, port }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let out = Command::new(repo().join("e2e/scripts/registry.sh"))
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
        if let Ok(o) = out
            && !o.status.success()
        {
            eprintln!("registry.sh stop: {}", text(&o.stderr));
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// An OCI image layout being written.
struct Layout {
    dir: PathBuf,
}

impl Layout {
    fn new(dir: PathBuf) -> Layout {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion": "1.0.0"}"#).unwrap();
        Layout { dir }
    }

    /// Store a blob; its descriptor (mediaType, digest, size).
    fn blob(&self, media_type: &str, bytes: &[u8]) -> Value {
        let hex: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).unwrap();
        json!({"mediaType": media_type, "digest": format!("sha256:{hex}"), "size": bytes.len()})
    }

    /// An image for one platform whose config says `User: user` (no User when empty).
    fn image(&self, user: &str, arch: &str) -> Value {
        // An empty tar archive: two zero blocks.
        let layer = self.blob("application/vnd.oci.image.layer.v1.tar", &[0u8; 1024]);
        let mut config = json!({"Env": ["PATH=/bin"]});
        if !user.is_empty() {
            config["User"] = json!(user);
        }
        let config = self.blob(
            "application/vnd.oci.image.config.v1+json",
            json!({
                "architecture": arch, "os": "linux", "config": config,
                "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}
            })
            .to_string()
            .as_bytes(),
        );
        self.blob(
            "application/vnd.oci.image.manifest.v1+json",
            json!({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config, "layers": [layer]
            })
            .to_string()
            .as_bytes(),
        )
    }

    /// Name `descriptor` `tag` in index.json.
    fn tag(&self, descriptor: &Value, tag: &str) {
        let mut d = descriptor.clone();
        d["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
        std::fs::write(
            self.dir.join("index.json"),
            json!({"schemaVersion": 2, "manifests": [d]}).to_string(),
        )
        .unwrap();
    }

    fn push(&self, registry: &Registry, name: &str, tag: &str) {
        let src = format!("oci:{}:{tag}", self.dir.display());
        let dest = format!("docker://{}/e2e/{name}:{tag}", registry.host());
        let out = Command::new("skopeo")
            .args([
                "--insecure-policy",
                "copy",
                "--all",
                "--preserve-digests",
                "--dest-tls-verify=false",
                &src,
                &dest,
            ])
            .output()
            .unwrap_or_else(|e| panic!("skopeo: {e} (apt-get install skopeo; .ci/run does)"));
        assert!(
            out.status.success(),
            "skopeo copy {src} {dest}: {}",
            text(&out.stderr)
        );
    }
}

fn pod(ns: &str, name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": ns, "name": name},
        "spec": {"containers": [{"name": "app", "image": image}]}
    })
}

/// What a kubelet would report: the container runs `image_id`.
async fn set_image_id(pods: &Api<Pod>, name: &str, image: &str, image_id: &str) {
    let status = json!({"status": {"containerStatuses": [{
        "name": "app", "image": image, "imageID": image_id, "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": "ContainerCreating"}}
    }]}});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap_or_else(|e| panic!("status of Pod {name}: {e}"));
}

#[tokio::test]
async fn inspection_reads_image_users_from_a_real_registry() {
    let work = std::env::temp_dir().join(format!("kp-e2e-images-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let registry = Registry::start(&work);
    let host = registry.host();

    // root:1, no User; user1000:1, User 1000; multi:1, an index whose linux/amd64 image runs
    // as root and whose linux/arm64 one as 1000 (so resolving the wrong platform shows).
    let root = Layout::new(work.join("root"));
    let root_manifest = root.image("", "amd64");
    root.tag(&root_manifest, "1");
    root.push(&registry, "root", "1");
    let user = Layout::new(work.join("user1000"));
    let user_manifest = user.image("1000", "amd64");
    user.tag(&user_manifest, "1");
    user.push(&registry, "user1000", "1");
    let multi = Layout::new(work.join("multi"));
    let mut amd64 = multi.image("", "amd64");
    amd64["platform"] = json!({"os": "linux", "architecture": "amd64"});
    let mut arm64 = multi.image("1000", "arm64");
    arm64["platform"] = json!({"os": "linux", "architecture": "arm64"});
    let index = multi.blob(
        "application/vnd.oci.image.index.v1+json",
        json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [arm64, amd64]
        })
        .to_string()
        .as_bytes(),
    );
    multi.tag(&index, "1");
    multi.push(&registry, "multi", "1");

    let ns = prefix("images");
    let client = admin().await;
    let unreachable = format!("127.0.0.1:{}/e2e/gone:1", free_port());
    let images = [
        ("root", format!("{host}/e2e/root:1")),
        ("user1000", format!("{host}/e2e/user1000:1")),
        ("multi", format!("{host}/e2e/multi:1")),
        ("gone", unreachable.clone()),
    ];
    let mut docs = vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})];
    docs.extend(images.iter().map(|(n, i)| pod(&ns, n, i)));
    apply(&client, &docs).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    // root and multi run by digest (multi's is the index's, as a kubelet records it);
    // user1000 has no imageID, so it is looked up by tag.
    let digest = |d: &Value| d["digest"].as_str().unwrap().to_string();
    set_image_id(
        &pods,
        "root",
        &images[0].1,
        &format!("{host}/e2e/root@{}", digest(&root_manifest)),
    )
    .await;
    set_image_id(
        &pods,
        "multi",
        &images[2].1,
        &format!("docker-pullable://{host}/e2e/multi@{}", digest(&index)),
    )
    .await;

    let policy = work.join("policy.yaml");
    std::fs::write(
        &policy,
        format!(
            "apiVersion: kubeposture.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {{name: images}}\n\
             spec:\n  checks: {{include: [WL-005, IMG-001]}}\n  namespaces: {{include: [{ns}]}}\n  \
             images: {{inspect: true}}\n"
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = kube_posture(&[
        "audit",
        "-o",
        "json",
        "-q",
        "--policy",
        policy.to_str().unwrap(),
        "--plain-http-registry",
        &host,
        "--registry-timeout",
        "10s",
    ]);
    let elapsed = started.elapsed();
    assert!(out.status.success(), "audit: {}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let findings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["resource"]["namespace"] == json!(ns))
        .collect();
    let find = |check: &str, name: &str| {
        findings
            .iter()
            .find(|f| f["check"] == check && f["resource"]["name"] == name)
            .copied()
    };

    let img = find("IMG-001", "root").unwrap_or_else(|| panic!("IMG-001 on root: {findings:#?}"));
    assert!(
        img["evidence"][0]
            .as_str()
            .unwrap()
            .contains("runs as root by default (config.User empty)"),
        "{img:#}"
    );
    let multi_img = find("IMG-001", "multi")
        .unwrap_or_else(|| panic!("IMG-001 on multi (linux/amd64 runs as root): {findings:#?}"));
    assert_eq!(multi_img["severity"], "medium");
    assert!(
        find("IMG-001", "user1000").is_none(),
        "USER 1000 is not root: {findings:#?}"
    );
    let wl = find("WL-005", "user1000").expect("WL-005 stays on user1000");
    assert_eq!(wl["severity"], "low", "{wl:#}");
    assert!(
        wl["evidence"][0]
            .as_str()
            .unwrap()
            .contains("image sets USER 1000 but the pod does not require non-root"),
        "{wl:#}"
    );
    assert_eq!(find("WL-005", "root").unwrap()["severity"], "medium");
    assert!(find("IMG-001", "gone").is_none());
    let not_assessed: Vec<&Value> = report["notAssessed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["category"] == "image")
        .collect();
    assert!(
        not_assessed.iter().any(|n| n["reason"]
            .as_str()
            .unwrap()
            .starts_with(&format!("image {unreachable}: "))
            && n["checks"] == json!(["IMG-001"])),
        "the unreachable registry is not assessed, with the reason: {not_assessed:#?}"
    );

    // The operator, with the same policy as a SecurityPolicy: Finding objects and status.
    let op = Operator::start_with(
        &ns,
        Options {
            extra: vec![
                "--plain-http-registry".into(),
                host.clone(),
                "--registry-timeout".into(),
                "10s".into(),
            ],
            ..Default::default()
        },
    )
    .await;
    let name = format!("{ns}-pol");
    create_policy(
        &client,
        &operator::policy(
            &ns,
            &name,
            json!({
                "checks": {"include": ["WL-005", "IMG-001"]},
                "namespaces": {"include": [ns]},
                "images": {"inspect": true}
            }),
        ),
    )
    .await;
    let reconciled = wait_reconciled(&client, &name).await;
    let objects = operator::findings(&client, &name).await;
    let of = |check: &str, target: &str| {
        objects
            .iter()
            .find(|f| f.spec.check == check && f.spec.resource.name == target)
    };
    let names: Vec<String> = objects
        .iter()
        .map(|f| format!("{} {}", f.spec.check, f.spec.resource.name))
        .collect();
    assert!(of("IMG-001", "root").is_some(), "{names:?}");
    assert!(of("IMG-001", "multi").is_some(), "{names:?}");
    assert!(of("IMG-001", "user1000").is_none(), "{names:?}");
    let low = of("WL-005", "user1000").expect("WL-005 Finding on user1000");
    assert_eq!(
        low.status.as_ref().and_then(|s| s.severity),
        Some(kube_posture::catalog::Severity::Low)
    );
    let status = reconciled.status.expect("status");
    assert!(
        status
            .not_assessed
            .iter()
            .any(|n| n.category == "image"
                && n.reason.starts_with(&format!("image {unreachable}: "))),
        "{:?}",
        status.not_assessed
    );
    drop(op);
    println!(
        "FIGURE images images_inspected=4 audit_seconds={:.2}",
        elapsed.as_secs_f64()
    );
    drop(registry);
    let _ = std::fs::remove_dir_all(&work);
}
