use super::{CliError, runtime};
use clap::{Args, ValueEnum};
use std::path::Path;
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
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
    /// Serve /metrics, /healthz and /readyz here (`off` to disable).
    #[arg(long, default_value = "0.0.0.0:8080", value_name = "ADDR")]
    metrics_addr: String,
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

pub fn run(args: RunArgs, kubeconfig: Option<&Path>) -> Result<ExitCode, CliError> {
    init_logging(args.log_format);
    let instance = args.instance.clone().unwrap_or_else(host_name);
    let http_addr = match args.metrics_addr.as_str() {
        "off" | "" => None,
        a => Some(
            a.parse::<std::net::SocketAddr>()
                .map_err(|e| CliError::Usage(format!("--metrics-addr {a:?}: {e}")))?,
        ),
    };
    let debounce = crate::controller::schedule::Debounce::new(args.debounce, args.max_delay)
        .map_err(CliError::Usage)?;
    let inspector = crate::registry::Inspector::new(&args.registry.options())?;
    runtime().block_on(async {
        let config = super::config(kubeconfig).await?;
        tracing::info!(server = %config.cluster_url, %instance, "starting");
        crate::controller::run(crate::controller::RunOptions {
            config,
            instance,
            policy_selector: args.policy_selector,
            http_addr,
            debounce,
            inspector,
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
