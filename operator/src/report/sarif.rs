//! SARIF 2.1.0, one rule per check ID, for GitHub code scanning and other SARIF consumers.

use super::Context;
use crate::audit::{Finding, Report};
use crate::catalog::CheckId;
use crate::catalog::{self, Severity};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool,
    ToolComponent,
};
use std::collections::BTreeMap;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

/// GitHub's `security-severity` (0-10) ranks code-scanning alerts.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn text(s: impl Into<String>) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(s.into()).build()
}

fn rules() -> Vec<ReportingDescriptor> {
    catalog::CHECKS
        .iter()
        .map(|c| {
            let mut props = BTreeMap::new();
            props.insert(
                "security-severity".to_string(),
                serde_json::json!(security_severity(c.severity)),
            );
            props.insert(
                "category".to_string(),
                serde_json::json!(c.category.as_str()),
            );
            props.insert("references".to_string(), serde_json::json!(c.references));
            let mut tags = vec!["security".to_string(), c.category.as_str().to_string()];
            tags.extend(c.references.iter().map(|r| r.to_string()));
            ReportingDescriptor::builder()
                .id(c.id)
                .name(c.event_reason)
                .short_description(text(c.title))
                .full_description(text(c.rationale))
                .help(text(format!(
                    "{} Fix: {}",
                    c.rationale,
                    c.general_remediation()
                )))
                .default_configuration(
                    ReportingConfiguration::builder()
                        .level(serde_json::to_value(level(c.severity)).expect("level"))
                        .build(),
                )
                .properties(
                    PropertyBag::builder()
                        .tags(tags)
                        .additional_properties(props)
                        .build(),
                )
                .build()
        })
        .collect()
}

fn logical_name(f: &Finding) -> String {
    match &f.resource.namespace {
        Some(ns) => format!("{}/{ns}/{}", f.resource.kind, f.resource.name),
        None => format!("{}/{}", f.resource.kind, f.resource.name),
    }
}

pub fn render(report: &Report, ctx: &Context) -> String {
    let index: BTreeMap<CheckId, i64> = catalog::CHECKS
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id, i as i64))
        .collect();
    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| {
            // Code scanning needs a file: the snapshot file the object came from, else a
            // stable pseudo-path naming the object.
            // Findings on a line of a file (a Dockerfile's USER) say which.
            let physical = match &f.location {
                Some(loc) => PhysicalLocation::builder()
                    .artifact_location(ArtifactLocation::builder().uri(loc.file.clone()).build())
                    .region(Region::builder().start_line(i64::from(loc.line)).build())
                    .build(),
                None => match (ctx.source_of)(f) {
                    // An object read from a file: that file, at its `metadata.name` line.
                    Some(source) => {
                        let artifact = ArtifactLocation::builder().uri(source.file).build();
                        match source.line {
                            Some(line) => PhysicalLocation::builder()
                                .artifact_location(artifact)
                                .region(Region::builder().start_line(i64::from(line)).build())
                                .build(),
                            None => PhysicalLocation::builder()
                                .artifact_location(artifact)
                                .build(),
                        }
                    }
                    None => PhysicalLocation::builder()
                        .artifact_location(
                            ArtifactLocation::builder()
                                .uri(format!("cluster/{}", logical_name(f)))
                                .build(),
                        )
                        .build(),
                },
            };
            let location = Location::builder()
                .physical_location(physical)
                .logical_locations(vec![
                    LogicalLocation::builder()
                        .fully_qualified_name(logical_name(f))
                        .kind(f.resource.kind.clone())
                        .build(),
                ])
                .build();
            let mut message = f.message.clone();
            if !f.evidence.is_empty() {
                message.push_str(&format!(" (evidence: {})", f.evidence.join("; ")));
            }
            message.push_str(&format!(" Fix: {}", f.remediation));
            let mut fingerprints = BTreeMap::new();
            fingerprints.insert("kubePostureIdentity/v1".to_string(), f.identity());
            let mut props = BTreeMap::new();
            props.insert("severity".to_string(), serde_json::json!(f.severity));
            let builder = SarifResult::builder()
                .rule_id(f.check)
                .rule_index(index[&f.check])
                .level(level(f.severity))
                .message(Message::builder().text(message).build())
                .locations(vec![location])
                .partial_fingerprints(fingerprints)
                .properties(PropertyBag::builder().additional_properties(props).build());
            if f.suppressed {
                builder
                    .suppressions(vec![
                        Suppression::builder()
                            .kind(serde_json::json!("external"))
                            .justification(f.suppressed_by.clone().unwrap_or_default())
                            .build(),
                    ])
                    .build()
            } else {
                builder.build()
            }
        })
        .collect();
    let driver = ToolComponent::builder()
        .name("kube-posture")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/kube-posture/kube-posture")
        .rules(rules())
        .build();
    // Skipped snapshot files are tool execution errors: SARIF consumers show them, and an
    // invocation that did not read all its input is not successful.
    let notifications: Vec<Notification> = ctx
        .input_errors
        .iter()
        .map(|e| {
            Notification::builder()
                .level(serde_json::json!("error"))
                .message(Message::builder().text(e.error.clone()).build())
                .locations(vec![
                    Location::builder()
                        .physical_location(
                            PhysicalLocation::builder()
                                .artifact_location(
                                    ArtifactLocation::builder().uri(e.file.clone()).build(),
                                )
                                .build(),
                        )
                        .build(),
                ])
                .build()
        })
        .collect();
    let invocation = Invocation::builder()
        .execution_successful(notifications.is_empty())
        .tool_execution_notifications(notifications)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .results(results)
        .build();
    let sarif = Sarif::builder()
        .schema(SCHEMA)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut s = serde_json::to_string_pretty(&sarif).expect("SARIF serialises");
    s.push('\n');
    s
}
