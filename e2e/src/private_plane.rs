//! A control plane of one test's own (etcd + kube-apiserver + kube-controller-manager, started
//! with `e2e/scripts/control-plane.sh up`), for tests that stop the API server or etcd, delete
//! a CRD, or load the cluster heavily: what they do must not disturb the tests sharing
//! `E2E_KUBECONFIG`. Torn down (`down`) when dropped, also on panic (then `KEEP=1`: the
//! directory with the component logs stays for diagnosis).

use crate::operator::Options;
use crate::{client_for, prefix, repo};
use kube::Client;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct PrivatePlane {
    pub dir: PathBuf,
    script: PathBuf,
    pub admin_kubeconfig: PathBuf,
    pub operator_kubeconfig: PathBuf,
}

/// The control-plane script, or `None` when the tests run against a cluster the user gave
/// (`E2E_KUBECONFIG` set without `E2E_CONTROL_PLANE_SCRIPT`): then there are no binaries to
/// start a private plane with, and the faults must not be injected into the user's cluster.
pub fn script() -> Option<PathBuf> {
    match std::env::var_os("E2E_CONTROL_PLANE_SCRIPT") {
        Some(s) => Some(PathBuf::from(s)),
        None if std::env::var_os("E2E_KUBECONFIG").is_some() => None,
        None => Some(repo().join("e2e/scripts/control-plane.sh")),
    }
}

impl PrivatePlane {
    /// Start a private control plane for `test`. Panics when there is no control-plane script
    /// (the tests run against a cluster the user gave): a fault test that cannot inject its
    /// fault fails, it does not pass. Exclude them there (`-E 'not test(/^f_|private/)'`, see
    /// the README) or set `E2E_CONTROL_PLANE_SCRIPT`.
    pub fn up(test: &str) -> PrivatePlane {
        Self::up_with(test, &[])
    }

    /// [`PrivatePlane::up`], with extra kube-apiserver flags (an audit log, say).
    pub fn up_with(test: &str, apiserver_args: &[String]) -> PrivatePlane {
        let Some(script) = script() else {
            panic!(
                "{test} needs a private control plane (it injects faults), and the tests run \
                 against an existing cluster (E2E_KUBECONFIG without E2E_CONTROL_PLANE_SCRIPT): \
                 set E2E_CONTROL_PLANE_SCRIPT=e2e/scripts/control-plane.sh, or leave this test out"
            );
        };
        let dir = std::env::temp_dir().join(format!("kp-e2e-plane-{}", prefix(test)));
        let t0 = Instant::now();
        let out = Command::new(&script)
            .arg("up")
            .arg(&dir)
            .env_remove("KEEP")
            .env("E2E_APISERVER_EXTRA_ARGS", apiserver_args.join(" "))
            .output()
            .expect("control-plane.sh runs");
        assert!(
            out.status.success(),
            "private control plane for {test} did not start (logs in {}):\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!(
            "private control plane for {test} up in {:.1}s: {}",
            t0.elapsed().as_secs_f64(),
            dir.display()
        );
        PrivatePlane {
            admin_kubeconfig: dir.join("admin.kubeconfig"),
            operator_kubeconfig: dir.join("operator.kubeconfig"),
            dir,
            script,
        }
    }

    pub async fn admin(&self) -> Client {
        client_for(&self.admin_kubeconfig)
            .await
            .expect("admin client of the private plane")
    }

    /// Operator options for this plane: its admin installs, the operator identity runs.
    pub fn options(&self) -> Options {
        Options {
            kubeconfig: Some(self.operator_kubeconfig.clone()),
            admin_kubeconfig: Some(self.admin_kubeconfig.clone()),
            ..Default::default()
        }
    }

    fn ctl(&self, args: &[&str]) -> Duration {
        let t0 = Instant::now();
        let out = Command::new(&self.script)
            .arg(args[0])
            .arg(&self.dir)
            .args(&args[1..])
            .output()
            .expect("control-plane.sh runs");
        assert!(
            out.status.success(),
            "control-plane.sh {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t0.elapsed()
    }

    /// `stop-<component> DIR --kill` (a crash: no graceful wait for open watches).
    pub fn kill(&self, component: &str) -> Duration {
        self.ctl(&[&format!("stop-{component}"), "--kill"])
    }

    /// `start-<component> DIR`: returns once it is healthy again.
    pub fn start(&self, component: &str) -> Duration {
        self.ctl(&[&format!("start-{component}")])
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PrivatePlane {
    fn drop(&mut self) {
        let keep = std::thread::panicking();
        if keep {
            eprintln!(
                "keeping the private control plane's logs in {}",
                self.dir.display()
            );
        }
        let _ = Command::new(&self.script)
            .arg("down")
            .arg(&self.dir)
            .env("KEEP", if keep { "1" } else { "0" })
            .output();
    }
}

/// The API server's own request counters (`apiserver_request_total`), summed over the lines
/// whose labels contain every one of `labels` (e.g. `resource="findings"`, `verb="PATCH"`).
pub async fn apiserver_requests(client: &Client, labels: &[&str]) -> u64 {
    let req = kube::core::Request::new("")
        .get("metrics", &Default::default())
        .expect("request");
    let Ok(text) = client.request_text(req).await else {
        return 0;
    };
    text.lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Mutating requests (POST, PATCH, PUT, DELETE) on `resource`, as the API server counts them.
pub async fn apiserver_writes(client: &Client, resource: &str) -> u64 {
    let mut n = 0;
    for verb in ["POST", "PATCH", "PUT", "DELETE"] {
        n += apiserver_requests(
            client,
            &[
                &format!("resource=\"{resource}\""),
                &format!("verb=\"{verb}\""),
            ],
        )
        .await;
    }
    n
}
