//! `kubectl posture findings`: Finding objects read back from a cluster, as a list and a
//! summary grouped by severity and by layer. Pure: the objects and "now" in, text out.

use super::terminal::clean;
use crate::api::Finding;
use crate::catalog::{self, Layer, Severity};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The severity a Finding counts under: its status' (the policy's judgement, overrides
/// applied); while the operator has not written the status yet, the check's default severity
/// from the catalog, so that a new finding is counted rather than dropped. `None` only for a
/// check this version does not know, with no status.
pub fn severity_of(f: &Finding) -> Option<Severity> {
    f.status
        .as_ref()
        .and_then(|s| s.severity)
        .or_else(|| catalog::lookup(&f.spec.check).map(|c| c.severity))
}

pub fn is_suppressed(f: &Finding) -> bool {
    f.status.as_ref().is_some_and(|s| s.suppressed)
}

/// Whether a Finding is about an object in `namespace`: its target's namespace, or the
/// Namespace itself (WL-013 points at the Namespace, a cluster-scoped object). Finding
/// objects are cluster-scoped, so `-n` selects by what they are about.
pub fn about_namespace(f: &Finding, namespace: &str) -> bool {
    let r = &f.spec.resource;
    r.namespace == namespace || (r.kind == "Namespace" && r.name == namespace)
}

/// Unsuppressed counts per severity, and suppressed ones, for a set of Findings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub by_severity: BTreeMap<Severity, u64>,
    pub suppressed: u64,
    /// Findings of a check this version does not know, with no status yet.
    pub unknown: u64,
}

impl Counts {
    fn add(&mut self, f: &Finding) {
        if is_suppressed(f) {
            self.suppressed += 1;
            return;
        }
        match severity_of(f) {
            Some(s) => *self.by_severity.entry(s).or_default() += 1,
            None => self.unknown += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.by_severity.values().sum::<u64>() + self.unknown
    }

    pub fn of(&self, s: Severity) -> u64 {
        self.by_severity.get(&s).copied().unwrap_or(0)
    }

    /// `critical 2 · high 1 · medium 0 · low 0 · info 0`, every severity named so that the
    /// line reads the same whatever is found (and scripts can pick a number out of it).
    fn line(&self) -> String {
        let mut parts: Vec<String> = Severity::ALL
            .iter()
            .map(|s| format!("{s} {}", self.of(*s)))
            .collect();
        if self.unknown > 0 {
            parts.push(format!("unknown {}", self.unknown));
        }
        if self.suppressed > 0 {
            parts.push(format!("suppressed {}", self.suppressed));
        }
        parts.join(" · ")
    }
}

/// The whole set's counts and each layer's, layers in [`Layer::ALL`] order, only those with
/// a Finding.
pub fn summarize(findings: &[Finding]) -> (Counts, Vec<(Layer, Counts)>) {
    let mut all = Counts::default();
    let mut layers: BTreeMap<Layer, Counts> = BTreeMap::new();
    for f in findings {
        all.add(f);
        layers
            .entry(catalog::layer_of(&f.spec.check))
            .or_default()
            .add(f);
    }
    let layers = Layer::ALL
        .into_iter()
        .filter_map(|l| layers.remove(&l).map(|c| (l, c)))
        .collect();
    (all, layers)
}

/// Most severe first, then check, target namespace and name, then object name.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |f: &Finding| {
            (
                std::cmp::Reverse(severity_of(f)),
                f.spec.check.clone(),
                f.spec.resource.namespace.clone(),
                f.spec.resource.name.clone(),
                f.metadata.name.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
}

/// `finding.kubeposture.io/NAME`, one a line, as `kubectl get -o name` prints.
pub fn render_names(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let _ = writeln!(
            out,
            "finding.{}/{}",
            crate::api::GROUP,
            clean(f.metadata.name.as_deref().unwrap_or(""))
        );
    }
    out
}

/// The list (unsuppressed Findings; `wide` adds suppressed ones and more columns), then the
/// summary by severity and by layer.
pub fn render_table(findings: &[Finding], wide: bool, now: jiff::Timestamp) -> String {
    let mut header = vec!["SEVERITY", "CHECK", "LAYER", "TARGET", "AGE"];
    if wide {
        header.extend(["POLICY", "SUPPRESSED", "NAME", "MESSAGE"]);
    }
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for f in findings.iter().filter(|f| wide || !is_suppressed(f)) {
        let r = &f.spec.resource;
        let target = if r.namespace.is_empty() {
            format!("{} {}", r.kind, r.name)
        } else {
            format!("{} {}/{}", r.kind, r.namespace, r.name)
        };
        let mut row = vec![
            severity_of(f)
                .map_or("unknown", Severity::as_str)
                .to_string(),
            f.spec.check.clone(),
            catalog::layer_of(&f.spec.check).as_str().to_string(),
            target,
            age(f, now),
        ];
        if wide {
            let status = f.status.as_ref();
            row.extend([
                f.spec.policy.clone(),
                if is_suppressed(f) { "yes" } else { "no" }.to_string(),
                f.metadata.name.clone().unwrap_or_default(),
                status.and_then(|s| s.message.clone()).unwrap_or_default(),
            ]);
        }
        rows.push(row.into_iter().map(|c| clean(&c).into_owned()).collect());
    }
    let mut out = String::new();
    if rows.len() > 1 {
        out.push_str(&columns(&rows));
        out.push('\n');
    }
    let (all, layers) = summarize(findings);
    let _ = writeln!(out, "BY SEVERITY  {}", all.line());
    if !layers.is_empty() {
        let _ = writeln!(out, "BY LAYER");
        let width = layers
            .iter()
            .map(|(l, _)| l.as_str().len())
            .max()
            .unwrap_or(0);
        for (l, c) in &layers {
            let _ = writeln!(out, "  {:<width$}  {}", l.as_str(), c.line());
        }
    }
    let policies: std::collections::BTreeSet<&str> =
        findings.iter().map(|f| f.spec.policy.as_str()).collect();
    let _ = writeln!(
        out,
        "{} finding{}{} from {} polic{}",
        all.total(),
        if all.total() == 1 { "" } else { "s" },
        match all.suppressed {
            0 => String::new(),
            n if wide => format!(" ({n} suppressed)"),
            n => format!(" ({n} suppressed, listed by -o wide)"),
        },
        policies.len(),
        if policies.len() == 1 { "y" } else { "ies" }
    );
    out
}

/// Columns padded to their widest cell, three spaces apart, as kubectl prints them.
fn columns(rows: &[Vec<String>]) -> String {
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                let _ = write!(line, "{cell}{}   ", " ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// kubectl's short age: `45s`, `12m`, `5h`, `3d`; `<unknown>` without a creation time.
fn age(f: &Finding, now: jiff::Timestamp) -> String {
    let Some(created) = &f.metadata.creation_timestamp else {
        return "<unknown>".to_string();
    };
    let secs = now.as_second().saturating_sub(created.0.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 2 * 3600 => format!("{}m", s / 60),
        s if s < 2 * 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{FindingSpec, FindingStatus, TargetRef};

    fn finding(
        name: &str,
        check: &str,
        sev: Option<Severity>,
        ns: &str,
        suppressed: bool,
    ) -> Finding {
        let mut f = Finding::new(
            name,
            FindingSpec {
                policy: "default".into(),
                check: check.into(),
                resource: TargetRef {
                    api_version: "v1".into(),
                    kind: if ns.is_empty() { "Node" } else { "Pod" }.into(),
                    namespace: ns.into(),
                    name: "x".into(),
                },
            },
        );
        f.status = sev.map(|s| FindingStatus {
            severity: Some(s),
            suppressed,
            message: Some("m".into()),
            ..Default::default()
        });
        f
    }

    fn sample() -> Vec<Finding> {
        vec![
            finding("a", "RBAC-001", Some(Severity::Critical), "", false),
            finding("b", "RBAC-006", Some(Severity::High), "team", false),
            finding("c", "WL-001", Some(Severity::Low), "team", false),
            finding("d", "WL-001", Some(Severity::High), "team", true),
            // No status yet: the catalog's severity (WL-002 is high).
            finding("e", "WL-002", None, "team", false),
        ]
    }

    #[test]
    fn counts_by_severity_and_layer() {
        let (all, layers) = summarize(&sample());
        assert_eq!(all.of(Severity::Critical), 1);
        assert_eq!(all.of(Severity::High), 2);
        assert_eq!(all.of(Severity::Low), 1);
        assert_eq!(all.suppressed, 1);
        assert_eq!(all.total(), 4);
        let names: Vec<&str> = layers.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(names, ["identity", "workload"]);
        assert_eq!(layers[1].1.of(Severity::High), 1);
        assert_eq!(layers[1].1.suppressed, 1);
    }

    #[test]
    fn table_lists_unsuppressed_and_summarises() {
        let mut f = sample();
        sort(&mut f);
        let now = "2026-12-05T12:00:00Z".parse().unwrap();
        let out = render_table(&f, false, now);
        let first = out.lines().nth(1).unwrap();
        assert!(
            first.starts_with("critical   RBAC-001   identity   Node x"),
            "{out}"
        );
        assert_eq!(
            out.matches("WL-001").count(),
            1,
            "the suppressed one is not listed: {out}"
        );
        assert!(
            out.contains(
                "BY SEVERITY  critical 1 · high 2 · medium 0 · low 1 · info 0 · suppressed 1"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "  workload  critical 0 · high 1 · medium 0 · low 1 · info 0 · suppressed 1"
            ),
            "{out}"
        );
        assert!(
            out.ends_with("4 findings (1 suppressed, listed by -o wide) from 1 policy\n"),
            "{out}"
        );
        let wide = render_table(&f, true, now);
        assert_eq!(wide.matches("WL-001").count(), 2, "{wide}");
        assert!(wide.lines().next().unwrap().ends_with("NAME   MESSAGE"));
    }

    #[test]
    fn names_as_kubectl_prints_them() {
        assert_eq!(
            render_names(&sample()[..2]),
            "finding.kubeposture.io/a\nfinding.kubeposture.io/b\n"
        );
    }

    #[test]
    fn namespace_selects_targets_and_the_namespace_itself() {
        let mut ns = finding("n", "WL-013", Some(Severity::Medium), "", false);
        ns.spec.resource.kind = "Namespace".into();
        ns.spec.resource.name = "team".into();
        assert!(about_namespace(&ns, "team"));
        assert!(about_namespace(&sample()[1], "team"));
        assert!(!about_namespace(&sample()[0], "team"));
    }
}
