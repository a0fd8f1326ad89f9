//! IMG-001 on Dockerfiles and IMG-002 on pod specs.

use super::{DefaultUser, default_user};
use crate::api::{CheckSelection, SecurityPolicySpec};
use crate::audit::testutil::{audit_with, now, snapshot};
use crate::audit::{AuditInput, Report, run};
use crate::model::Dockerfile;
use crate::policy::EffectivePolicy;
use crate::snapshot::dockerfiles::parse;
use std::path::PathBuf;
use std::sync::Arc;

fn user_of(text: &str) -> DefaultUser {
    default_user(&parse(text).expect("parses"))
}

fn root_line(text: &str) -> u32 {
    match user_of(text) {
        DefaultUser::Root { line, .. } => line,
        other => panic!("expected root, got {other:?}"),
    }
}

#[test]
fn no_user_in_the_final_stage_is_root_at_its_from() {
    assert_eq!(root_line("FROM alpine\nRUN apk add curl\n"), 1);
    // A USER in an earlier stage does not count.
    let multi = "FROM golang:1.22 AS build\nUSER 1000\nRUN go build\n\nFROM alpine\nCOPY --from=build /app /app\n";
    assert_eq!(root_line(multi), 5);
}

#[test]
fn root_users_fail_on_the_user_line() {
    for user in ["root", "0", "0:0", "root:grp", "ROOT"] {
        let text = format!("FROM alpine\nUSER 1000\nUSER {user}\nCMD [\"x\"]\n");
        if user == "ROOT" {
            // User names are case-sensitive: ROOT is some other user.
            assert_eq!(user_of(&text), DefaultUser::NonRoot("ROOT".into()));
        } else {
            assert_eq!(root_line(&text), 3, "{user}");
        }
    }
}

#[test]
fn a_non_root_last_user_passes_even_after_root() {
    let text = "FROM debian\nUSER root\nRUN apt-get update\nUSER 10001:10001\n";
    assert_eq!(user_of(text), DefaultUser::NonRoot("10001:10001".into()));
    // An earlier stage running as root while the final one does not.
    let multi = "FROM rust AS build\nUSER root\nFROM gcr.io/distroless/cc:nonroot\nUSER nonroot\n";
    assert_eq!(user_of(multi), DefaultUser::NonRoot("nonroot".into()));
}

#[test]
fn user_from_arg_and_env_defaults() {
    assert_eq!(
        user_of("FROM alpine\nARG UID=1000\nUSER $UID\n"),
        DefaultUser::NonRoot("1000".into())
    );
    assert_eq!(root_line("FROM alpine\nARG UID=0\nUSER ${UID}:${UID}\n"), 3);
    // A global ARG is seen by a stage that declares it again.
    assert_eq!(
        root_line("ARG RUNAS=root\nFROM alpine\nARG RUNAS\nUSER $RUNAS\n"),
        4
    );
    // ENV wins over an ARG of the same name, and can build on ARGs.
    assert_eq!(
        user_of("FROM alpine\nARG U=0\nENV U=app\nUSER $U\n"),
        DefaultUser::NonRoot("app".into())
    );
    assert_eq!(
        user_of("FROM alpine\nARG ID=7\nENV APP_UID=100${ID}\nUSER ${APP_UID}\n"),
        DefaultUser::NonRoot("1007".into())
    );
}

#[test]
fn unresolvable_variables_are_not_assessed() {
    // A global ARG is not visible without `ARG NAME` in the stage.
    for text in [
        "ARG RUNAS=app\nFROM alpine\nUSER $RUNAS\n",
        "FROM alpine\nARG UID\nUSER $UID\n",
        "FROM alpine\nUSER ${APP_USER}\n",
    ] {
        assert!(
            matches!(user_of(text), DefaultUser::Unknown(ref why) if why.contains("no value known")),
            "{text}: {:?}",
            user_of(text)
        );
    }
}

fn dockerfile(name: &str, text: &str) -> Arc<Dockerfile> {
    Arc::new(Dockerfile {
        name: name.to_string(),
        file: PathBuf::from("repo").join(name),
        content: parse(text),
    })
}

fn audit_dockerfiles(files: Vec<Arc<Dockerfile>>) -> Report {
    let mut snap = snapshot("apiVersion: v1\nkind: Namespace\nmetadata: {name: default}\n");
    snap.dockerfiles = files;
    run(&AuditInput {
        snapshot: &snap,
        policy: &EffectivePolicy::default_policy(),
        now: now(),
        release_data: crate::audit::nodes::ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    })
}

#[test]
fn findings_point_at_the_dockerfile_and_line_and_bad_files_do_not_stop_the_rest() {
    let r = audit_dockerfiles(vec![
        dockerfile(
            "api/Dockerfile",
            "FROM golang AS b\nUSER 1000\nFROM alpine\nCOPY --from=b /a /a\n",
        ),
        dockerfile("web/Dockerfile.prod", "FROM nginx\nUSER 0:0\n"),
        dockerfile("ok.Dockerfile", "FROM alpine\nUSER 65532\n"),
        dockerfile("broken/Containerfile", "FROM alpine\nENV\nUSER root\n"),
        dockerfile("vars/Dockerfile", "FROM alpine\nUSER $WHO\n"),
    ]);
    let img: Vec<_> = r.findings.iter().filter(|f| f.check == "IMG-001").collect();
    let got: Vec<(String, String, u32)> = img
        .iter()
        .map(|f| {
            let loc = f.location.as_ref().expect("a location");
            (f.resource.name.clone(), loc.file.clone(), loc.line)
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "api/Dockerfile".to_string(),
                "repo/api/Dockerfile".to_string(),
                3
            ),
            (
                "web/Dockerfile.prod".to_string(),
                "repo/web/Dockerfile.prod".to_string(),
                2
            ),
        ]
    );
    assert!(
        img.iter()
            .all(|f| f.resource.kind == "Dockerfile" && f.resource.namespace.is_none())
    );
    assert!(
        img[0].message.contains("no USER instruction"),
        "{}",
        img[0].message
    );
    let na: Vec<&str> = r
        .not_assessed
        .iter()
        .filter(|n| n.category == "image")
        .map(|n| n.reason.as_str())
        .collect();
    assert_eq!(na.len(), 2, "{na:?}");
    assert!(
        na.iter().any(
            |n| n.starts_with("Dockerfile broken/Containerfile line 2: not a valid Dockerfile")
        ),
        "{na:?}"
    );
    assert!(
        na.iter()
            .any(|n| n.starts_with("Dockerfile vars/Dockerfile: USER $WHO")),
        "{na:?}"
    );
    assert!(
        r.not_assessed
            .iter()
            .filter(|n| n.category == "image")
            .all(|n| n.checks == ["IMG-001"])
    );
}

#[test]
fn the_repository_dockerfile_runs_as_non_root() {
    let text = include_str!("../../../../Dockerfile");
    assert_eq!(user_of(text), DefaultUser::NonRoot("65532:65532".into()));
}

const PODS: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {namespace: shop, name: tagged}
spec:
  selector: {matchLabels: {app: t}}
  template:
    metadata: {labels: {app: t}}
    spec:
      initContainers: [{name: init, image: busybox}]
      containers:
      - {name: app, image: 'registry.example/shop/app:1.4'}
      - {name: pinned, image: 'registry.example/shop/side@sha256:0123abcd'}
---
apiVersion: v1
kind: Pod
metadata: {namespace: shop, name: digest-only}
spec:
  containers:
  - {name: a, image: 'nginx:1.27@sha256:feedbeef'}
  - {name: b, image: 'localhost:5000/b@sha256:beef'}
";

fn img002_policy() -> EffectivePolicy {
    EffectivePolicy::compile(
        "p",
        &SecurityPolicySpec {
            checks: CheckSelection {
                include: vec!["IMG-002".to_string()],
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .expect("valid policy")
}

#[test]
fn img002_lists_tagged_and_untagged_containers_once_per_workload() {
    let r = audit_with(PODS, &img002_policy());
    let f: Vec<_> = r.findings.iter().filter(|f| f.check == "IMG-002").collect();
    assert_eq!(f.len(), 1, "{:?}", r.findings);
    assert_eq!(f[0].resource.name, "tagged");
    assert_eq!(f[0].container.as_deref(), Some("init,app"));
    assert_eq!(
        f[0].evidence,
        ["init: busybox", "app: registry.example/shop/app:1.4"]
    );
}

#[test]
fn img002_is_off_by_default() {
    let r = audit_with(PODS, &EffectivePolicy::default_policy());
    assert!(r.findings.iter().all(|f| f.check != "IMG-002"));
}

#[test]
fn digest_references() {
    use super::tags::is_pinned;
    assert!(is_pinned("nginx@sha256:abc"));
    assert!(is_pinned("localhost:5000/x:1@sha256:abc"));
    assert!(!is_pinned("localhost:5000/x:1"));
    assert!(!is_pinned("nginx"));
    assert!(!is_pinned("nginx@"));
}

#[test]
fn sarif_and_json_carry_the_dockerfile_line() {
    let r = audit_dockerfiles(vec![dockerfile(
        "svc/Dockerfile",
        "FROM alpine\nUSER root\n",
    )]);
    let none = |_: &crate::audit::Finding| None;
    let ctx = crate::report::Context {
        policy: "default",
        audit_time: now(),
        source_of: &none,
        color: false,
        input_errors: &[],
    };
    let sarif: serde_json::Value = serde_json::from_str(&crate::report::render(
        &r,
        crate::report::Format::Sarif,
        &ctx,
    ))
    .unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "IMG-001");
    let physical = &result["locations"][0]["physicalLocation"];
    assert_eq!(physical["artifactLocation"]["uri"], "repo/svc/Dockerfile");
    assert_eq!(physical["region"]["startLine"], 2);
    let json: serde_json::Value = serde_json::from_str(&crate::report::render(
        &r,
        crate::report::Format::Json,
        &ctx,
    ))
    .unwrap();
    let f = &json["findings"][0];
    assert_eq!(f["resource"]["kind"], "Dockerfile");
    assert_eq!(f["resource"]["name"], "svc/Dockerfile");
    assert_eq!(f["location"]["line"], 2);
}

const RUNNING: &str = "
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {nodeInfo: {kubeletVersion: v1.30.2, containerRuntimeVersion: 'containerd://1.7.20', architecture: arm64, operatingSystem: linux, osImage: x, kernelVersion: x, bootID: x, machineID: x, systemUUID: x, kubeProxyVersion: x}}
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: rooty}
spec:
  nodeName: n1
  containers: [{name: c, image: 'reg.local/root:1'}]
status:
  containerStatuses: [{name: c, ready: true, restartCount: 0, image: 'reg.local/root:1', imageID: 'reg.local/root@sha256:aaa'}]
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: user1000}
spec:
  containers: [{name: c, image: 'reg.local/u1000:1'}]
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: gone}
spec:
  containers: [{name: c, image: 'down.local/x:1'}]
---
apiVersion: v1
kind: Pod
metadata: {namespace: app, name: safe}
spec:
  securityContext: {runAsNonRoot: true}
  containers: [{name: c, image: 'reg.local/root:1'}]
";

fn req(reference: &str, arch: &str) -> super::ImageRequest {
    super::ImageRequest {
        reference: reference.to_string(),
        os: "linux".to_string(),
        architecture: arch.to_string(),
    }
}

#[test]
fn inspection_requests_use_the_running_digest_and_the_node_platform() {
    let snap = snapshot(RUNNING);
    let got = super::requests(&snap, &EffectivePolicy::default_policy());
    assert_eq!(
        got,
        [
            req("down.local/x:1", "amd64"),
            req("reg.local/root@sha256:aaa", "arm64"),
            req("reg.local/u1000:1", "amd64"),
        ],
        "the runAsNonRoot pod is not inspected"
    );
}

#[test]
fn inspected_images_decide_img001_and_wl005_severity() {
    use super::{ImageConfig, ImageConfigs};
    let snap = snapshot(RUNNING);
    let configs = ImageConfigs {
        configs: [
            (
                req("reg.local/root@sha256:aaa", "arm64"),
                ImageConfig::User(String::new()),
            ),
            (
                req("reg.local/u1000:1", "amd64"),
                ImageConfig::User("1000".into()),
            ),
            (
                req("down.local/x:1", "amd64"),
                ImageConfig::Unavailable("cannot read the manifest: connection refused".into()),
            ),
        ]
        .into_iter()
        .collect(),
    };
    let policy = EffectivePolicy::default_policy();
    let r = run(&AuditInput {
        snapshot: &snap,
        policy: &policy,
        now: now(),
        release_data: crate::audit::nodes::ReleaseData::builtin(),
        probe: None,
        images: Some(&configs),
        kubelet: None,
    });
    let img: Vec<_> = r.findings.iter().filter(|f| f.check == "IMG-001").collect();
    assert_eq!(img.len(), 1, "{:?}", r.findings);
    assert_eq!(img[0].resource.name, "rooty");
    assert_eq!(img[0].resource.kind, "Pod");
    assert!(
        img[0].evidence[0].contains("config.User empty"),
        "{:?}",
        img[0].evidence
    );
    let wl = |name: &str| {
        r.findings
            .iter()
            .find(|f| f.check == "WL-005" && f.resource.name == name)
            .unwrap_or_else(|| panic!("WL-005 on {name}"))
    };
    assert_eq!(wl("user1000").severity, crate::catalog::Severity::Low);
    assert!(
        wl("user1000").evidence[0]
            .contains("image sets USER 1000 but the pod does not require non-root"),
        "{:?}",
        wl("user1000").evidence
    );
    assert_eq!(wl("rooty").severity, crate::catalog::Severity::Medium);
    assert!(wl("rooty").evidence[0].contains("image runs as root by default"));
    assert_eq!(wl("gone").severity, crate::catalog::Severity::Medium);
    let na: Vec<_> = r
        .not_assessed
        .iter()
        .filter(|n| n.category == "image")
        .collect();
    assert_eq!(na.len(), 1, "{na:?}");
    assert_eq!(
        na[0].reason,
        "image down.local/x:1: cannot read the manifest: connection refused"
    );
}

#[test]
fn the_trim_keeps_image_ids_only() {
    let mut p: crate::model::Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "p", "namespace": "a"},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "c", "ready": true, "restartCount": 3, "image": "i", "imageID": "r/i@sha256:1"},
            {"name": "d", "ready": false, "restartCount": 0, "image": "j", "imageID": ""}]}
    }))
    .unwrap();
    crate::snapshot::trim::pod(&mut p);
    let st = p.status.expect("imageIDs kept");
    assert!(st.phase.is_none());
    let cs = st.container_statuses.unwrap();
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0].image_id.as_deref(), Some("r/i@sha256:1"));
    assert_eq!(cs[0].restart_count, 0);
}
