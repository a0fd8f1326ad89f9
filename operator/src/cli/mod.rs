//! The command line: parse, dispatch, map errors to exit codes (0 ok, 1 findings at or above
//! `--fail-on`, 2 bad usage or input).

mod audit;
mod findings;
mod input;
mod report;
mod run;
mod snapshot;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "kube-posture",
    version,
    about = "Kubernetes security posture: RBAC, control plane, etcd, workloads and security-agent coverage",
    long_about = "Audits a Kubernetes cluster, live or from YAML snapshots, against a catalog of security checks \
                  (see `kube-posture checks`), and runs as an operator that keeps Finding objects up to date."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    cluster: ClusterArgs,
}

/// Which cluster to read, as kubectl chooses it: the flags every command that reads a cluster
/// takes (kubectl passes them through to `kubectl posture`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster configuration).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the operator: reconcile SecurityPolicies into status, Findings and Events.
    Run(run::RunArgs),
    /// Audit once and exit: YAML/JSON snapshots with --snapshot, else the live cluster.
    Audit(audit::AuditArgs),
    /// Compliance with a framework (CIS, NSA/CISA, Pod Security Standards), control by control:
    /// the same audit as `audit`, from --snapshot or the live cluster.
    Report(report::ReportArgs),
    /// List the compliance frameworks `report --framework` knows.
    Frameworks {
        /// One framework (its controls), rather than the list.
        #[arg(value_name = "ID")]
        framework: Option<String>,
        #[arg(short, long, value_enum, default_value = "table")]
        output: ListFormat,
    },
    /// The Finding objects in the cluster (what the operator found), with a summary by
    /// severity and by layer.
    Findings(findings::FindingsArgs),
    /// Write the objects an audit reads from the live cluster to a directory, for offline audits.
    Snapshot(snapshot::SnapshotArgs),
    /// Print the check catalog.
    Checks {
        #[arg(short, long, value_enum, default_value = "table")]
        output: CatalogFormat,
    },
    /// Print the CustomResourceDefinitions (the same YAML as crds/).
    Crds,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum CatalogFormat {
    Table,
    Json,
    /// The documentation page (docs/checks.md).
    Markdown,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ListFormat {
    Table,
    /// Every framework (or the one named) with its controls and their mapped checks.
    Json,
    /// A framework's documentation page (docs/frameworks/ID.md); needs an ID.
    Markdown,
}

/// An error the user can fix, printed as `error: …` with exit code 2.
/// How image inspection (`spec.images.inspect`) reaches registries.
#[derive(clap::Args, Debug, Clone)]
pub struct RegistryArgs {
    /// A docker-config JSON file (`{"auths": {...}}`, as `docker login` writes it) with
    /// credentials for private registries, read when a policy sets `spec.images.inspect`.
    /// Mount it into the operator from a Secret you create: it never reads Secrets itself.
    #[arg(long, env = "KUBE_POSTURE_REGISTRY_CONFIG", value_name = "FILE")]
    registry_config: Option<PathBuf>,
    /// Reach this registry (`host:port`) over plain HTTP, e.g. a local test registry.
    #[arg(long, value_name = "HOST:PORT")]
    plain_http_registry: Vec<String>,
    /// The most time one image's manifest and config may take.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    registry_timeout: std::time::Duration,
}

impl RegistryArgs {
    pub fn options(&self) -> crate::registry::RegistryOptions {
        crate::registry::RegistryOptions {
            auth_file: self.registry_config.clone(),
            plain_http: self.plain_http_registry.clone(),
            timeout: self.registry_timeout,
            ..Default::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Load(#[from] crate::snapshot::LoadError),
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyFileError),
    #[error(transparent)]
    ReleaseData(#[from] crate::audit::nodes::ReleaseDataError),
    #[error("{0}")]
    Usage(String),
    #[error("cluster: {0}")]
    Kube(#[from] kube::Error),
    #[error("kubeconfig: {0}")]
    Config(String),
    #[error(transparent)]
    Run(#[from] crate::controller::RunError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The program name under which the binary acts as a kubectl plugin: kubectl runs
/// `kubectl-posture` from PATH for `kubectl posture …` (a symlink `make install` creates).
pub const PLUGIN_NAME: &str = "kubectl-posture";

/// Whether the binary was invoked as the kubectl plugin: its program name (argv[0]) is
/// `kubectl-posture`, with or without a directory or an extension such as `.exe`.
pub fn invoked_as_plugin(argv0: Option<&std::ffi::OsStr>) -> bool {
    argv0
        .and_then(|a| std::path::Path::new(a).file_stem())
        .is_some_and(|stem| stem == PLUGIN_NAME)
}

/// The command line; as a kubectl plugin, help and errors name it `kubectl posture`.
fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    if invoked_as_plugin(std::env::args_os().next().as_deref()) {
        command = command.name(PLUGIN_NAME).bin_name("kubectl posture");
    }
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Transparent huge pages off for this process. mimalloc asks for huge pages on its arenas
/// (`madvise`), and a fault in one zeroes 2 MiB: the audit, which allocates as it goes,
/// spent a third of its time in the kernel clearing pages, and a sparse arena counted whole
/// in RSS. Off: the audit of M 1.3 s → 1.0 s, kernel time 1.5 s → 0.7 s (BENCHMARKS.md).
/// Applies to mappings made before too (the flag is checked at each fault).
#[allow(unsafe_code)]
pub fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integers only and sets a flag of this process.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

pub fn main() -> ExitCode {
    no_transparent_huge_pages();
    let cli = parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args, &cli.cluster),
        Command::Audit(args) => audit::run(args, &cli.cluster),
        Command::Report(args) => report::run(args, &cli.cluster),
        Command::Findings(args) => findings::run(args, &cli.cluster),
        Command::Frameworks { framework, output } => frameworks(framework.as_deref(), output),
        Command::Snapshot(args) => snapshot::run(args, &cli.cluster).map(|()| ExitCode::SUCCESS),
        Command::Checks { output } => {
            let text = match output {
                CatalogFormat::Table => crate::report::render_catalog_table(),
                CatalogFormat::Markdown => crate::catalog::markdown(),
                CatalogFormat::Json => {
                    serde_json::to_string_pretty(crate::catalog::CHECKS)
                        .expect("catalog serialises")
                        + "\n"
                }
            };
            print_stdout(&text);
            Ok(ExitCode::SUCCESS)
        }
        Command::Crds => {
            print_stdout(&crate::api::crds_yaml());
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        // The controller could not start or stopped on an error: not a usage error.
        Err(e @ CliError::Run(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            // Messages quote file paths, names and parser excerpts of the input.
            eprintln!(
                "error: {}",
                crate::report::terminal::clean_lines(&e.to_string())
            );
            ExitCode::from(2)
        }
    }
}

/// `kube-posture frameworks [ID]`.
fn frameworks(id: Option<&str>, output: ListFormat) -> Result<ExitCode, CliError> {
    use crate::catalog::frameworks::{FRAMEWORKS, ids, lookup, markdown};
    let one = match id {
        Some(id) => Some(lookup(id).ok_or_else(|| {
            CliError::Usage(format!(
                "unknown framework {id:?} (expected one of: {})",
                ids()
            ))
        })?),
        None => None,
    };
    let text = match (output, one) {
        (ListFormat::Markdown, Some(f)) => markdown(f),
        (ListFormat::Markdown, None) => {
            return Err(CliError::Usage(format!(
                "-o markdown documents one framework: name it ({})",
                ids()
            )));
        }
        (ListFormat::Json, Some(f)) => {
            serde_json::to_string_pretty(f).expect("frameworks serialise") + "\n"
        }
        (ListFormat::Json, None) => {
            serde_json::to_string_pretty(FRAMEWORKS).expect("frameworks serialise") + "\n"
        }
        (ListFormat::Table, one) => crate::report::frameworks::render_frameworks_table(one),
    };
    print_stdout(&text);
    Ok(ExitCode::SUCCESS)
}

/// Print to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// The client configuration: `--kubeconfig` (else KUBECONFIG, ~/.kube/config) and
/// `--context` (else the current context); with neither flag, also the in-cluster
/// configuration, as `kube::Config::infer` finds it.
pub async fn config(cluster: &ClusterArgs) -> Result<kube::Config, CliError> {
    let options = kube::config::KubeConfigOptions {
        context: cluster.context.clone(),
        ..Default::default()
    };
    Ok(match (&cluster.kubeconfig, &cluster.context) {
        (Some(path), _) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| CliError::Config(format!("{}: {e}", path.display())))?
        }
        (None, Some(_)) => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| CliError::Config(e.to_string()))?,
        (None, None) => kube::Config::infer().await.map_err(|e| {
            CliError::Config(format!(
                "{e} (give --snapshot for an offline audit, or --kubeconfig / KUBECONFIG for a cluster)"
            ))
        })?,
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Accept `2026-11-28T12:00:00Z` or a date (its start, UTC).
pub fn parse_time(s: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            format!("{s:?} is not an RFC 3339 time (2026-11-28T12:00:00Z) or a date (2026-11-28)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn plugin_name_is_read_from_argv0() {
        for a in [
            "kubectl-posture",
            "/usr/local/bin/kubectl-posture",
            "./kubectl-posture.exe",
        ] {
            assert!(invoked_as_plugin(Some(OsStr::new(a))), "{a}");
        }
        for a in ["kube-posture", "/usr/bin/kubectl", "kubectl-posture-old"] {
            assert!(!invoked_as_plugin(Some(OsStr::new(a))), "{a}");
        }
        assert!(!invoked_as_plugin(None));
    }

    #[test]
    fn plugin_flags_parse() {
        let cli = Cli::try_parse_from([
            "kubectl-posture",
            "findings",
            "--kubeconfig",
            "/k",
            "--context",
            "prod",
            "-n",
            "team",
            "-l",
            "kubeposture.io/severity=critical",
            "-o",
            "wide",
        ])
        .expect("parses");
        assert_eq!(cli.cluster.context.as_deref(), Some("prod"));
        assert!(matches!(cli.command, Command::Findings(_)));
        assert!(
            Cli::try_parse_from(["kubectl-posture", "findings", "-A", "-n", "x"]).is_err(),
            "-A and -n conflict"
        );
        let cli = Cli::try_parse_from([
            "kubectl-posture",
            "--context",
            "c",
            "report",
            "--framework",
            "cis-1.12",
        ])
        .expect("global flags before the command");
        assert_eq!(cli.cluster.context.as_deref(), Some("c"));
    }
}
