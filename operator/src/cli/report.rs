//! `kube-posture report --framework ID`: compliance with a framework, control by control,
//! from the same audit as `audit` (offline with `--snapshot`, else the live cluster).

use super::CliError;
use super::audit::parse_severity;
use super::input::{self, InputArgs};
use crate::catalog::Severity;
use crate::catalog::frameworks;
use crate::report::frameworks::{FrameworkDocument, render_framework_table};
use clap::{Args, ValueEnum};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The framework: cis-1.12, nsa-cisa-1.2, pss-baseline or pss-restricted
    /// (`kube-posture frameworks` lists them).
    #[arg(long, value_name = "ID")]
    framework: String,
    #[command(flatten)]
    input: InputArgs,
    #[arg(short, long, value_enum, default_value = "table")]
    output: ReportFormat,
    /// Exit 1 when a failing control is at or above this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    Table,
    Json,
}

/// Exit codes as `audit`'s: 2 for bad usage or unreadable input, 1 for a failing control at
/// or above `--fail-on`, else 0. Without `--policy`, the checks the framework maps run too,
/// off-by-default ones included, so that its controls are assessed.
pub fn run(args: ReportArgs, cluster: &super::ClusterArgs) -> Result<ExitCode, CliError> {
    // Before reading anything: a typo should not cost a cluster read.
    let framework = frameworks::lookup(&args.framework).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown framework {:?} (expected one of: {})",
            args.framework,
            frameworks::ids()
        ))
    })?;
    let mapped: Vec<&'static str> = framework
        .controls
        .iter()
        .flat_map(|c| c.check_refs().map(|r| r.id))
        .collect();
    let Some(audited) = input::audit(&args.input, cluster, &mapped, false)? else {
        return Ok(ExitCode::from(2));
    };
    let result = crate::compliance::evaluate(framework, &audited.report);
    let text = match args.output {
        ReportFormat::Table => {
            render_framework_table(&result, &audited.input_errors, &audited.policy_name)
        }
        ReportFormat::Json => {
            let doc = FrameworkDocument {
                framework: &result,
                not_assessed: &audited.report.not_assessed,
                input_errors: &audited.input_errors,
                policy: &audited.policy_name,
                audit_time: audited.now.to_string(),
            };
            serde_json::to_string_pretty(&doc).expect("a framework report serialises") + "\n"
        }
    };
    super::print_stdout(&text);
    if !audited.input_errors.is_empty() {
        return Ok(ExitCode::from(2));
    }
    match args.fail_on {
        Some(threshold) if result.failing_at_or_above(threshold) > 0 => Ok(ExitCode::from(1)),
        _ => Ok(ExitCode::SUCCESS),
    }
}
