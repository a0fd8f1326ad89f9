//! `kubectl posture findings` (also `kube-posture findings`): the Finding objects in the
//! cluster, with a summary by severity and by layer.

use super::{CliError, ClusterArgs, runtime};
use crate::api::Finding;
use crate::report::findings as render;
use clap::{Args, ValueEnum};
use kube::api::{Api, ListParams};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct FindingsArgs {
    /// Only Findings about objects in this namespace (and about the Namespace itself).
    /// Finding objects are cluster-scoped: this selects by what they are about, and the
    /// default is every namespace and cluster-scoped targets alike.
    #[arg(short, long, value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Every namespace and cluster-scoped targets (the default; kubectl's flag, accepted).
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    all_namespaces: bool,
    /// A label selector, as kubectl's: `kubeposture.io/severity=critical`,
    /// `kubeposture.io/check in (RBAC-001,RBAC-002)`, `kubeposture.io/category=workload`.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    selector: Option<String>,
    /// Only the Findings of this SecurityPolicy.
    #[arg(long, value_name = "NAME")]
    policy: Option<String>,
    /// The default is a table and a summary; `wide` adds suppressed Findings and more columns;
    /// `name` prints `finding.kubeposture.io/NAME`; `json` and `yaml` print a `List` of the
    /// Finding objects, as `kubectl get -o json|yaml` does.
    #[arg(short, long, value_enum, default_value = "table")]
    output: FindingsFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FindingsFormat {
    Table,
    Wide,
    Name,
    Json,
    Yaml,
}

/// Pages of at most 500, as every list the operator makes.
const PAGE_SIZE: u32 = 500;

pub fn run(args: FindingsArgs, cluster: &ClusterArgs) -> Result<ExitCode, CliError> {
    let mut selector: Vec<String> = args.selector.iter().cloned().collect();
    if let Some(p) = &args.policy {
        selector.push(format!("{}={}", crate::api::labels::POLICY, p));
    }
    let mut findings = runtime().block_on(async {
        let client = kube::Client::try_from(super::config(cluster).await?)?;
        let api: Api<Finding> = Api::all(client);
        let mut lp = ListParams::default().limit(PAGE_SIZE);
        if !selector.is_empty() {
            lp = lp.labels(&selector.join(","));
        }
        let mut all = Vec::new();
        loop {
            let page = api.list(&lp).await.map_err(|e| match e {
                // The CRD is not installed: say so, rather than a bare 404.
                kube::Error::Api(s) if s.code == 404 => CliError::Usage(format!(
                    "this cluster does not serve findings.{} (is the kube-posture operator \
                     installed? see docs/install.md); `kubectl posture audit` works without it",
                    crate::api::GROUP
                )),
                e => CliError::Kube(e),
            })?;
            all.extend(page.items);
            match page.metadata.continue_ {
                Some(token) if !token.is_empty() => lp = lp.continue_token(&token),
                _ => break,
            }
        }
        Ok::<_, CliError>(all)
    })?;
    if let Some(ns) = &args.namespace {
        findings.retain(|f| render::about_namespace(f, ns));
    }
    render::sort(&mut findings);
    let text = match args.output {
        FindingsFormat::Table => render::render_table(&findings, false, jiff::Timestamp::now()),
        FindingsFormat::Wide => render::render_table(&findings, true, jiff::Timestamp::now()),
        FindingsFormat::Name => render::render_names(&findings),
        FindingsFormat::Json => {
            serde_json::to_string_pretty(&list(&findings)).expect("Findings serialise") + "\n"
        }
        FindingsFormat::Yaml => {
            crate::yaml::to_string(&list(&findings)).expect("Findings serialise")
        }
    };
    super::print_stdout(&text);
    Ok(ExitCode::SUCCESS)
}

/// A `v1` `List`, the shape `kubectl get -o json` prints for several objects.
fn list(findings: &[Finding]) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": findings,
    })
}
