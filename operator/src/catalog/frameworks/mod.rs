//! Compliance frameworks as data: each control of a benchmark or guide, the checks that judge
//! it and where the document says it. `compliance::evaluate` reads these rows; the CLI's
//! `frameworks` and `report --framework`, the SecurityPolicy status and `docs/frameworks/`
//! all come from them.

mod cis;
mod docs;
mod nsa_cisa;
mod pss;

pub use docs::markdown;

use super::Severity;
use serde::Serialize;

/// A benchmark or guide, and every control of it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Framework {
    /// What `report --framework` takes: `cis-1.12`.
    pub id: &'static str,
    pub name: &'static str,
    pub version: &'static str,
    /// The document every control's section is cited from.
    pub document: &'static str,
    pub url: &'static str,
    pub controls: &'static [Control],
}

/// How far kube-posture's checks judge a control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Coverage {
    /// The mapped checks decide it: no finding means the control passes.
    Full,
    /// The mapped checks can fail it, but cannot show that it holds: without a finding it
    /// still needs a person to review it (status `manual`).
    Partial,
    /// No check covers it (host files, kubelet flags, process): always `manual`.
    Manual,
}

/// One control of a framework.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Control {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub coverage: Coverage,
    /// Check IDs, each optionally qualified by a word its findings' evidence must contain
    /// (`WL-002:hostPID`): one check may cover several controls, each through part of what
    /// it reports. See [`CheckRef`].
    pub checks: &'static [&'static str],
    /// Where the document states the control.
    pub section: &'static str,
}

/// A mapping row, for the framework tables.
pub(super) const fn row(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    coverage: Coverage,
    checks: &'static [&'static str],
    section: &'static str,
) -> Control {
    Control {
        id,
        title,
        severity,
        coverage,
        checks,
        section,
    }
}

/// A mapped check, split from its evidence qualifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckRef {
    pub id: &'static str,
    /// Only findings whose evidence mentions this (case-insensitively) count for the control.
    pub evidence: Option<&'static str>,
}

impl Control {
    pub fn check_refs(&self) -> impl Iterator<Item = CheckRef> + '_ {
        self.checks.iter().map(|c| match c.split_once(':') {
            Some((id, word)) => CheckRef {
                id,
                evidence: Some(word),
            },
            None => CheckRef {
                id: c,
                evidence: None,
            },
        })
    }

    /// `CIS Kubernetes Benchmark v1.12.0, 1.2.1`.
    pub fn citation(&self, framework: &Framework) -> String {
        format!("{}, {}", framework.document, self.section)
    }
}

/// Every framework, in the order `kube-posture frameworks` lists them.
pub static FRAMEWORKS: &[&Framework] = &[
    &cis::CIS,
    &nsa_cisa::NSA_CISA,
    &pss::BASELINE,
    &pss::RESTRICTED,
];

pub fn lookup(id: &str) -> Option<&'static Framework> {
    FRAMEWORKS.iter().copied().find(|f| f.id == id)
}

/// The IDs, for error messages: `cis-1.12, nsa-cisa-1.2, …`.
pub fn ids() -> String {
    FRAMEWORKS
        .iter()
        .map(|f| f.id)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use std::collections::HashSet;

    #[test]
    fn every_mapped_check_exists_and_ids_are_unique() {
        let mut frameworks = HashSet::new();
        for f in FRAMEWORKS {
            assert!(frameworks.insert(f.id), "framework {} twice", f.id);
            let mut ids = HashSet::new();
            for c in f.controls {
                assert!(ids.insert(c.id), "{}: control {} twice", f.id, c.id);
                assert!(!c.title.is_empty() && !c.section.is_empty(), "{}", c.id);
                for r in c.check_refs() {
                    assert!(
                        catalog::lookup(r.id).is_some(),
                        "{} {} maps to unknown check {}",
                        f.id,
                        c.id,
                        r.id
                    );
                    assert!(r.evidence.is_none_or(|w| !w.is_empty()), "{}", c.id);
                }
                // Manual means no check; a mapped control is never manual.
                assert_eq!(
                    c.coverage == Coverage::Manual,
                    c.checks.is_empty(),
                    "{} {}",
                    f.id,
                    c.id
                );
            }
        }
    }

    /// The catalog's own `CIS x.y.z` references and the CIS rows say the same thing.
    #[test]
    fn catalog_cis_references_agree_with_the_cis_rows() {
        // RBAC-002 cites 5.1.1 in the catalog, but anonymous grants are not cluster-admin use:
        // the CIS rows leave it out of 5.1.1 (it is NSA/CISA's authentication control).
        // NODE-004 cites section 4.1 as a whole (worker node hygiene), not one of its rows.
        let loose = [("RBAC-002", "5.1.1"), ("NODE-004", "4.1")];
        for check in catalog::CHECKS {
            for r in check.references {
                // `CIS Docker 4.1` is another benchmark.
                let Some(number) = r
                    .strip_prefix("CIS ")
                    .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
                else {
                    continue;
                };
                if loose.contains(&(check.id.as_str(), number)) {
                    continue;
                }
                let control = cis::CIS
                    .controls
                    .iter()
                    .find(|c| c.id == number)
                    .unwrap_or_else(|| panic!("{} cites CIS {number}, not a row", check.id));
                assert!(
                    control.check_refs().any(|r| r.id == check.id),
                    "{} cites CIS {number}, whose row does not map it",
                    check.id
                );
            }
        }
    }

    #[test]
    fn cis_lists_every_section_of_the_benchmark() {
        let prefixes: HashSet<&str> = cis::CIS
            .controls
            .iter()
            .map(|c| c.id.rsplit_once('.').map_or(c.id, |(p, _)| p))
            .collect();
        for p in [
            "1.1", "1.2", "1.3", "1.4", "2", "3.1", "3.2", "4.1", "4.2", "4.3", "5.1", "5.2",
            "5.3", "5.4", "5.5", "5.6",
        ] {
            assert!(prefixes.contains(p), "no CIS {p}.x");
        }
        assert_eq!(cis::CIS.controls.len(), 131);
    }

    #[test]
    fn restricted_holds_every_baseline_control() {
        for c in pss::BASELINE.controls {
            let r = pss::RESTRICTED
                .controls
                .iter()
                .find(|r| r.id == c.id)
                .unwrap_or_else(|| panic!("restricted lacks {}", c.id));
            for check in c.checks {
                assert!(r.checks.contains(check), "{}: {check}", c.id);
            }
        }
    }

    #[test]
    fn qualifiers_split_from_ids() {
        let c = cis::CIS.controls.iter().find(|c| c.id == "5.2.3").unwrap();
        assert_eq!(
            c.check_refs().collect::<Vec<_>>(),
            [CheckRef {
                id: "WL-002",
                evidence: Some("hostPID")
            }]
        );
        assert_eq!(
            c.citation(&cis::CIS),
            "CIS Kubernetes Benchmark v1.12.0, 5.2.3"
        );
    }
}
