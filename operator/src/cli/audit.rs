use super::CliError;
use super::input::{self, InputArgs};
use crate::catalog::Severity;
use crate::report::{self, Format};
use clap::Args;
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    input: InputArgs,
    #[arg(short, long, value_enum, default_value = "table")]
    output: Format,
    /// Exit 1 when an unsuppressed finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,
}

pub fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// One audit. Snapshot files that cannot be read do not stop it (see [`input::audit`]): the
/// report of the files that were read is printed, listing the others (`inputErrors` in JSON
/// and YAML, a NOT READ section and "incomplete" in the table, failed tool notifications in
/// SARIF), and the exit code is 2, whatever the findings. api.md makes 2 "unreadable/invalid
/// input" with a message naming the file: an incomplete audit must not pass a CI gate (0) nor
/// read as a findings verdict (1), and the partial report still shows what was found. When no
/// file at all could be read there is nothing to report: errors only, exit 2.
pub fn run(args: AuditArgs, cluster: &super::ClusterArgs) -> Result<ExitCode, CliError> {
    // Which file each object came from is read only by SARIF's locations.
    let sarif = args.output == Format::Sarif;
    let Some(audited) = input::audit(&args.input, cluster, &[], sarif)? else {
        return Ok(ExitCode::from(2));
    };
    // SARIF points at the object's line: each file with findings is located once, lazily.
    let located = std::cell::RefCell::default();
    let lines = sarif.then_some(&located);
    let source_of = |f: &crate::audit::Finding| audited.source_of(f, lines);
    let report = &audited.report;
    let ctx = report::Context {
        policy: &audited.policy_name,
        audit_time: audited.now,
        source_of: &source_of,
        color: args.output == Format::Table
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none(),
        input_errors: &audited.input_errors,
    };
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = report::render_to(report, args.output, &ctx, &mut out)
            .and_then(|()| std::io::Write::flush(&mut out));
    }
    // Unreadable input outranks findings: an audit of part of the snapshot cannot pass, and
    // its findings are in the report anyway.
    if !audited.input_errors.is_empty() {
        return Ok(ExitCode::from(2));
    }
    match args.fail_on {
        Some(threshold) if report.count_at_or_above(threshold) > 0 => Ok(ExitCode::from(1)),
        _ => Ok(ExitCode::SUCCESS),
    }
}
