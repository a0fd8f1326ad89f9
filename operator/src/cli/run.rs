use super::{CliError, runtime};
use clap::{Args, ValueEnum};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `--reports`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReportsArg {
    /// OpenReports if its API is served, else the legacy wgpolicyk8s.io group, else none.
    Auto,
    /// `openreports.io/v1alpha1` Report and ClusterReport.
    Openreports,
    /// The legacy `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport.
    Wgpolicy,
    /// No policy reports.
    None,
}

impl From<ReportsArg> for crate::controller::reports::ReportsMode {
    fn from(a: ReportsArg) -> Self {
        use crate::controller::reports::ReportsMode;
        match a {
            ReportsArg::Auto => ReportsMode::Auto,
            ReportsArg::Openreports => ReportsMode::OpenReports,
            ReportsArg::Wgpolicy => ReportsMode::WgPolicy,
            ReportsArg::None => ReportsMode::None,
        }
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Log format.
    #[arg(
        long,
        value_enum,
        default_value = "text",
        env = "KUBE_POSTURE_LOG_FORMAT"
    )]
    log_format: LogFormat,
    /// This replica's name in Events and the leader Lease (default: $POD_NAME, else the host name).
    #[arg(long, env = "POD_NAME")]
    instance: Option<String>,
    /// Reconcile only the SecurityPolicies matching this label selector (`team=payments`).
    #[arg(long, value_name = "SELECTOR")]
    policy_selector: Option<String>,
    /// Elect a leader with this Lease (only the leader writes). Off: run without election.
    #[arg(long, default_value = "kube-posture", value_name = "NAME")]
    lease_name: String,
    /// The Lease's namespace (default: $POD_NAMESPACE, else kube-posture-system).
    #[arg(long, env = "POD_NAMESPACE", default_value = "kube-posture-system")]
    lease_namespace: String,
    /// How long the Lease is valid without renewal; a successor takes over after it.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    lease_duration: std::time::Duration,
    /// Run without leader election (a single replica).
    #[arg(long)]
    no_leader_election: bool,
    /// After a change to a watched object, audit once nothing changed for this long...
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    debounce: std::time::Duration,
    /// ...but at the latest this long after the first change of a burst.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    max_delay: std::time::Duration,
    /// Serve /metrics here (`off` to disable).
    #[arg(long, default_value = "0.0.0.0:8443", value_name = "ADDR")]
    metrics_addr: String,
    /// Serve /metrics over HTTPS, only to callers whose bearer token the API server
    /// authenticates (TokenReview) and authorizes for `get /metrics` (SubjectAccessReview).
    /// `--metrics-secure=false` serves plain HTTP to anyone who can connect.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    metrics_secure: bool,
    /// A directory with `tls.crt` and `tls.key` for /metrics (reloaded when they change);
    /// without it, a self-signed certificate made at start.
    #[arg(long, value_name = "DIR")]
    metrics_cert_dir: Option<std::path::PathBuf>,
    /// Serve /healthz and /readyz here, over plain HTTP (`off` to disable).
    #[arg(long, default_value = "0.0.0.0:8081", value_name = "ADDR")]
    health_addr: String,
    /// Write a policy report per audited resource (for Policy Reporter and other tools).
    #[arg(long, value_enum, default_value = "auto", value_name = "API")]
    reports: ReportsArg,
    /// The most results one policy report holds (tests lower it to reach the cap quickly).
    #[arg(
        long,
        hide = true,
        default_value_t = 500,
        env = "KUBE_POSTURE_REPORT_MAX_RESULTS"
    )]
    report_max_results: usize,
    #[command(flatten)]
    registry: super::RegistryArgs,
}

fn init_logging(format: LogFormat) {
    // An empty RUST_LOG means "not set", not "errors only".
    let directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        // Targets match by prefix: `kube=` would also silence `kube_posture`.
        .unwrap_or_else(|| "info,kube_client=warn,kube_runtime=warn".to_string());
    let filter = tracing_subscriber::EnvFilter::new(directives);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "kube-posture".to_string())
}

/// A listen address, or `None` for `off`.
fn address(flag: &str, value: &str) -> Result<Option<std::net::SocketAddr>, CliError> {
    match value {
        "off" | "" => Ok(None),
        a => a
            .parse()
            .map(Some)
            .map_err(|e| CliError::Usage(format!("{flag} {a:?}: {e}"))),
    }
}

pub fn run(args: RunArgs, cluster: &super::ClusterArgs) -> Result<ExitCode, CliError> {
    init_logging(args.log_format);
    let instance = args.instance.clone().unwrap_or_else(host_name);
    let metrics = address("--metrics-addr", &args.metrics_addr)?.map(|addr| {
        crate::controller::MetricsServing {
            addr,
            secure: args.metrics_secure,
            cert_dir: args.metrics_cert_dir.clone(),
        }
    });
    let health_addr = address("--health-addr", &args.health_addr)?;
    let debounce = crate::controller::schedule::Debounce::new(args.debounce, args.max_delay)
        .map_err(CliError::Usage)?;
    let inspector = crate::registry::Inspector::new(&args.registry.options())?;
    runtime().block_on(async {
        let config = super::config(cluster).await?;
        tracing::info!(server = %config.cluster_url, %instance, "starting");
        crate::controller::run(crate::controller::RunOptions {
            config,
            instance,
            policy_selector: args.policy_selector,
            health_addr,
            metrics,
            debounce,
            inspector,
            reports: args.reports.into(),
            report_budget: crate::controller::reports::Budget {
                max_results: args.report_max_results.max(1),
                ..Default::default()
            },
            lease: (!args.no_leader_election).then_some((
                args.lease_namespace,
                args.lease_name,
                args.lease_duration,
            )),
        })
        .await?;
        Ok(ExitCode::SUCCESS)
    })
}
