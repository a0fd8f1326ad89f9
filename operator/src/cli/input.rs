//! What `audit` and `report` share: reading the input (snapshot files or the live cluster),
//! the policy and the release tables, and running the audit once. Each command renders the
//! [`Audited`] its own way.

use super::{CliError, parse_time, runtime};
use crate::audit::nodes::ReleaseData;
use crate::audit::{AuditInput, Finding, Report};
use crate::policy::{EffectivePolicy, load_policy_file};
use crate::report::InputError;
use crate::report::terminal::clean_lines;
use crate::snapshot::{DEFAULT_MAX_FILE_BYTES, LoadOptions, LoadStats};
use clap::Args;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct InputArgs {
    /// YAML/JSON files or directories (recursive) to audit instead of the live cluster.
    /// Multi-document YAML, `kind: List` and `kubectl get -o yaml|json` output are accepted.
    /// Dockerfiles and Containerfiles found there are audited too (IMG-001).
    #[arg(long, value_name = "PATH")]
    snapshot: Vec<PathBuf>,
    /// A SecurityPolicy manifest (default: every default check, default severities).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The audit's "now", for exception expiry and end-of-life dates (RFC 3339 or a date).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    as_of: Option<jiff::Timestamp>,
    /// Replace the built-in release tables (Kubernetes end-of-life dates, container runtime
    /// advisories) with this file's; see operator/data/release-data.yaml for the format.
    #[arg(long, value_name = "FILE")]
    release_data: Option<PathBuf>,
    /// Skip snapshot files larger than this (bytes, or with a KiB, MiB or GiB suffix) as
    /// unreadable input.
    #[arg(long, value_name = "BYTES", env = "KUBE_POSTURE_MAX_FILE_BYTES",
          default_value_t = DEFAULT_MAX_FILE_BYTES, value_parser = parse_bytes)]
    max_file_bytes: u64,
    /// Audit namespaced objects (workloads, RoleBindings, Services, the Namespace) in this
    /// namespace only, within the policy's own `spec.namespaces`; cluster-scoped checks
    /// (control plane, ClusterRoleBindings, nodes) still run.
    #[arg(short, long, value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// No progress messages on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    registry: super::RegistryArgs,
}

/// `1048576`, `1024KiB`, `1MiB`, `1GiB`.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let shift = match unit {
        "" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        _ => {
            return Err(format!(
                "{s:?}: a number of bytes, optionally with KiB, MiB or GiB"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("{s:?}: a number of bytes, optionally with KiB, MiB or GiB"))
}

/// One audit's result, and what renderers need to say where it came from.
pub struct Audited {
    pub report: Report,
    pub policy_name: String,
    pub now: jiff::Timestamp,
    /// Where each object was read from (snapshot audits).
    pub stats: LoadStats,
    /// Snapshot files that could not be read: the report covers the others only.
    pub input_errors: Vec<InputError>,
}

impl Audited {
    /// The file a finding's target was read from, for SARIF locations; with `lines`, also the
    /// line of its `metadata.name` (each file with findings is located once, into `located`).
    pub fn source_of(
        &self,
        f: &Finding,
        located: Option<&RefCell<HashMap<PathBuf, HashMap<String, u32>>>>,
    ) -> Option<crate::report::Source> {
        let (ns, name) = (f.resource.namespace.as_deref(), &f.resource.name);
        let path = self.stats.source_of(&f.resource.kind, ns, name)?;
        let line = located.and_then(|located| {
            let mut located = located.borrow_mut();
            let lines = located
                .entry(path.to_path_buf())
                .or_insert_with(|| crate::snapshot::locate::object_lines(path));
            lines
                .get(&format!("{}/{}/{name}", f.resource.kind, ns.unwrap_or("")))
                .copied()
        });
        Some(crate::report::Source {
            file: path.display().to_string(),
            line,
        })
    }
}

/// Read the input and audit it. Without `--policy`, the default policy runs, plus `extra`
/// checks (those a compliance framework maps); a policy file is applied as written.
///
/// Snapshot files that cannot be read (I/O error, symbolic link loop, not UTF-8, over
/// `--max-file-bytes`, not valid YAML/JSON, a document that is not an object) do not stop it:
/// each is named on stderr (`error: PATH: why`, even with `--quiet`) and listed in
/// `input_errors`. `None` when no file at all could be read: there is nothing to report, and
/// an empty report would read as a clean cluster. With `sources`, `stats` remembers which
/// file each object came from ([`Audited::source_of`]).
pub fn audit(
    args: &InputArgs,
    cluster: &super::ClusterArgs,
    extra: &[&'static str],
    sources: bool,
) -> Result<Option<Audited>, CliError> {
    let (policy_name, mut policy) = match &args.policy {
        Some(path) => {
            let (_, effective) = load_policy_file(path)?;
            (effective.name.clone(), effective)
        }
        None => {
            let mut policy = EffectivePolicy::default_policy();
            policy.also_enable(extra);
            ("default".to_string(), policy)
        }
    };
    if let Some(ns) = &args.namespace {
        policy.namespaces.restrict_to(ns);
    }
    let progress = |msg: String| {
        if !args.quiet {
            eprintln!("{msg}");
        }
    };
    let started = Instant::now();
    let mut input_errors: Vec<InputError> = Vec::new();
    let (snapshot, stats, probe, images, kubelets) = if args.snapshot.is_empty() {
        let (snapshot, probe, images, kubelets) = runtime().block_on(async {
            let config = super::config(cluster).await?;
            let client = kube::Client::try_from(config.clone()).map_err(CliError::Kube)?;
            let snapshot = crate::snapshot::live::load_live(&client)
                .await
                .map_err(CliError::Kube)?;
            let probe = crate::snapshot::live::probe_anonymous(&config).await;
            // Image configs from registries, when the policy asks (spec.images.inspect).
            let images = if policy.inspect_images {
                let inspector = crate::registry::Inspector::new(&args.registry.options())?;
                let requests = crate::audit::images::requests(&snapshot, &policy);
                Some(inspector.inspect(&requests).await)
            } else {
                None
            };
            // The kubelets themselves, when the policy asks (spec.kubelet, spec.probes).
            let kubelets = if policy.kubelet_configz || policy.probe_kubelets {
                let reader = crate::kubelets::KubeletReader::new(client.clone())
                    .map_err(|e| CliError::Usage(e.to_string()))?;
                Some(
                    reader
                        .read(
                            &snapshot.nodes,
                            policy.kubelet_configz,
                            policy.probe_kubelets,
                        )
                        .await,
                )
            } else {
                None
            };
            Ok::<_, CliError>((snapshot, probe, images, kubelets))
        })?;
        progress(format!(
            "read {} objects from the cluster in {:.1?}",
            snapshot.len(),
            started.elapsed()
        ));
        (
            snapshot,
            LoadStats::default(),
            Some(probe),
            images,
            kubelets,
        )
    } else {
        let loaded = crate::snapshot::dockerfiles::load_inputs(
            &args.snapshot,
            &LoadOptions {
                max_file_bytes: args.max_file_bytes,
                sources,
            },
        );
        // Every file not read is an error on stderr, even with --quiet.
        for e in &loaded.skipped {
            eprintln!("error: {}", clean_lines(&e.to_string()));
        }
        if loaded.stats.files == 0 && loaded.snapshot.dockerfiles.is_empty() {
            return Ok(None);
        }
        input_errors = loaded
            .skipped
            .iter()
            .map(|e| InputError {
                file: e.path().display().to_string(),
                error: e.reason(),
            })
            .collect();
        let (mut snapshot, stats) = (loaded.snapshot, loaded.stats);
        let absent = snapshot.mark_absent_kinds();
        if !absent.is_empty() {
            let names: Vec<&str> = absent.iter().map(|k| k.plural()).collect();
            progress(format!(
                "the input holds no {}: the checks that need them are reported as not assessed",
                names.join(", ")
            ));
        }
        let ignored: usize = stats.ignored.values().sum();
        progress(format!(
            "read {} objects from {} file{}{} in {:.1?}{}{}",
            snapshot.len(),
            stats.files,
            if stats.files == 1 { "" } else { "s" },
            match snapshot.dockerfiles.len() {
                0 => String::new(),
                1 => " and 1 Dockerfile".to_string(),
                n => format!(" and {n} Dockerfiles"),
            },
            started.elapsed(),
            if ignored > 0 {
                format!(" ({ignored} of kinds the audit does not use ignored)")
            } else {
                String::new()
            },
            match input_errors.len() {
                0 => String::new(),
                n => format!("; {n} not read (exit code 2)"),
            }
        ));
        (snapshot, stats, None, None, None)
    };
    let now = args.as_of.unwrap_or_else(jiff::Timestamp::now);
    let custom_release_data = match &args.release_data {
        Some(path) => Some(ReleaseData::from_file(path)?),
        None => None,
    };
    let release_data = custom_release_data
        .as_ref()
        .unwrap_or_else(|| ReleaseData::builtin());
    let audit_started = Instant::now();
    let report = crate::audit::run(&AuditInput {
        snapshot: &snapshot,
        policy: &policy,
        now,
        release_data,
        probe: probe.as_ref(),
        images: images.as_ref(),
        kubelet: kubelets.as_ref(),
    });
    progress(format!(
        "audited in {:.1?}: {} findings",
        audit_started.elapsed(),
        report.findings.len()
    ));
    // The snapshot is no longer needed: its memory goes back while the report is rendered
    // (freeing 330,000 objects takes a quarter of a second at M: on the other core).
    std::thread::spawn(move || drop(snapshot));
    Ok(Some(Audited {
        report,
        policy_name,
        now,
        stats,
        input_errors,
    }))
}
