//! `kubectl posture …` as a user types it: the real kubectl finds `kubectl-posture` (a symlink
//! to the kube-posture binary) on PATH and runs it against the API server, choosing the
//! cluster by `--kubeconfig` and `--context`.

use kube::api::{Api, Patch, PatchParams, PostParams};
use kube_posture::api::{Finding, FindingSpec, TargetRef, labels};
use kube_posture_e2e::{admin, admin_kubeconfig, install_crds, kube_posture_bin, prefix, text};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A PATH directory holding only `kubectl-posture -> kube-posture`.
fn plugin_dir(p: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kp-e2e-plugin-{p}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(kube_posture_bin(), dir.join("kubectl-posture")).unwrap();
    dir
}

/// The real kubectl, with the plugin directory first on PATH and no KUBECONFIG: the cluster
/// comes from the flags alone.
fn kubectl(dir: &Path, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("kubectl")
        .args(args)
        .env("PATH", path)
        .env_remove("KUBECONFIG")
        .output()
        .unwrap_or_else(|e| panic!("kubectl {}: {e} (kubectl is required)", args.join(" ")))
}

/// A kubeconfig whose current context points at a closed port, with the admin's real context
/// beside it: only `--context REAL` reaches the API server. Returns its path and REAL.
fn kubeconfig_with_a_wrong_default(dir: &Path) -> (PathBuf, String) {
    let mut kc = kube::config::Kubeconfig::read_from(admin_kubeconfig()).unwrap();
    let real = kc.current_context.clone().expect("current context");
    let mut dead = kc.clusters[0].clone();
    dead.name = "unreachable".into();
    dead.cluster.as_mut().unwrap().server = Some("https://127.0.0.1:1".into());
    kc.clusters.push(dead);
    let mut ctx = kc.contexts.iter().find(|c| c.name == real).unwrap().clone();
    ctx.name = "unreachable".into();
    ctx.context.as_mut().unwrap().cluster = "unreachable".into();
    kc.contexts.push(ctx);
    kc.current_context = Some("unreachable".into());
    let path = dir.join("kubeconfig");
    // JSON is YAML: kubectl and kube-rs read it alike.
    std::fs::write(&path, serde_json::to_vec(&kc).unwrap()).unwrap();
    (path, real)
}

/// A Finding as the operator writes it: labels, spec, then status through its subresource.
async fn create_finding(
    api: &Api<Finding>,
    policy: &str,
    name: &str,
    check: &str,
    (kind, namespace, target): (&str, &str, &str),
    severity: &str,
    suppressed: bool,
) {
    let mut f = Finding::new(
        name,
        FindingSpec {
            policy: policy.into(),
            check: check.into(),
            resource: TargetRef {
                api_version: "v1".into(),
                kind: kind.into(),
                namespace: namespace.into(),
                name: target.into(),
            },
        },
    );
    f.metadata.labels = Some(
        [
            (labels::POLICY, policy),
            (labels::CHECK, check),
            (labels::SEVERITY, severity),
            (labels::TARGET_NAMESPACE, namespace),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    api.create(&PostParams::default(), &f)
        .await
        .expect("create Finding");
    let status = json!({"status": {"severity": severity, "message": format!("{check} on {target}"),
                                   "suppressed": suppressed}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("Finding status");
}

#[tokio::test]
async fn kubectl_posture_findings_summarises_by_severity_and_layer() {
    let client = admin().await;
    install_crds(&client).await.unwrap();
    let p = prefix("plugin");
    let api: Api<Finding> = Api::all(client.clone());
    let team = format!("{p}-team");
    for (name, check, target, sev, suppressed) in [
        (
            "admin",
            "RBAC-001",
            ("ClusterRoleBinding", "", "ci-admin"),
            "critical",
            false,
        ),
        (
            "priv",
            "WL-001",
            ("Deployment", team.as_str(), "api"),
            "high",
            false,
        ),
        (
            "root",
            "WL-005",
            ("Deployment", team.as_str(), "api"),
            "medium",
            true,
        ),
        ("eol", "NODE-001", ("Node", "", "n1"), "high", false),
        (
            "ns",
            "WL-013",
            ("Namespace", "", team.as_str()),
            "medium",
            false,
        ),
    ] {
        let name = format!("{p}-{name}");
        create_finding(&api, &p, &name, check, target, sev, suppressed).await;
    }

    let dir = plugin_dir(&p);
    let list = kubectl(&dir, &["plugin", "list"]);
    assert!(
        text(&list.stdout).contains(&dir.join("kubectl-posture").display().to_string()),
        "kubectl finds the plugin: {}{}",
        text(&list.stdout),
        text(&list.stderr)
    );

    let (kc, real) = kubeconfig_with_a_wrong_default(&dir);
    let kc = kc.to_str().unwrap();
    let selector = format!("{}={p}", labels::POLICY);
    let base = [
        "posture",
        "findings",
        "--kubeconfig",
        kc,
        "-l",
        selector.as_str(),
    ];

    // The kubeconfig's current context cannot be reached: without --context, an error.
    let o = kubectl(&dir, &base);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("error:"), "{}", text(&o.stderr));

    let with = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(["--context", real.as_str()]);
        args.extend_from_slice(extra);
        let o = kubectl(&dir, &args);
        assert!(
            o.status.success(),
            "kubectl {}: {}",
            args.join(" "),
            text(&o.stderr)
        );
        text(&o.stdout)
    };

    let out = with(&[]);
    assert!(
        out.contains("BY SEVERITY  critical 1 · high 2 · medium 1 · low 0 · info 0 · suppressed 1"),
        "{out}"
    );
    for line in [
        "  identity  critical 1 · high 0 · medium 0 · low 0 · info 0\n",
        "  host      critical 0 · high 1 · medium 0 · low 0 · info 0\n",
        "  workload  critical 0 · high 1 · medium 1 · low 0 · info 0 · suppressed 1\n",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    assert!(
        out.ends_with("4 findings (1 suppressed, listed by -o wide) from 1 policy\n"),
        "{out}"
    );
    let rows: Vec<&str> = out.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 4, "unsuppressed rows, most severe first: {out}");
    assert!(
        rows[0].starts_with("critical   RBAC-001   identity"),
        "{out}"
    );

    // -n: Findings about that namespace's objects, and about the Namespace itself.
    let out = with(&["-n", &team]);
    assert!(
        out.contains("BY SEVERITY  critical 0 · high 1 · medium 1 · low 0 · info 0 · suppressed 1"),
        "{out}"
    );
    assert!(!out.contains("identity"), "{out}");

    // -o name: every selected object, suppressed ones too, as kubectl names them.
    let out = with(&["-o", "name"]);
    let mut names: Vec<&str> = out.lines().collect();
    names.sort();
    let mut expected: Vec<String> = ["admin", "eol", "ns", "priv", "root"]
        .iter()
        .map(|n| format!("finding.kubeposture.io/{p}-{n}"))
        .collect();
    expected.sort();
    assert_eq!(names, expected);

    // -o wide: the suppressed one listed, with the policy and message columns.
    let out = with(&["-o", "wide"]);
    assert!(out.lines().next().unwrap().contains("SUPPRESSED"), "{out}");
    assert!(out.contains("WL-005 on api"), "{out}");

    // -o json: a List of the Finding objects, as `kubectl get -o json`.
    let out = with(&["-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"].as_array().unwrap().len(), 5);
    assert_eq!(v["items"][0]["kind"], "Finding");
    assert_eq!(v["items"][0]["status"]["severity"], "critical");

    std::fs::remove_dir_all(&dir).ok();
}

/// A cluster without kube-posture's CRDs (a control plane of this test's own): `findings`
/// says what is missing, exit 2, rather than a bare 404.
#[test]
fn findings_on_a_cluster_without_the_crds_says_so() {
    let plane = kube_posture_e2e::private_plane::PrivatePlane::up("plugin-nocrd");
    let dir = plugin_dir(&prefix("nocrd"));
    let kc = plane.admin_kubeconfig.to_str().unwrap();
    let o = kubectl(&dir, &["posture", "findings", "--kubeconfig", kc]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    assert!(
        err.contains("does not serve findings.kubeposture.io") && err.contains("installed"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
