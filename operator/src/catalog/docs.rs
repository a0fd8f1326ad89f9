//! `docs/checks.md`, generated from the catalog so the documentation cannot drift from the
//! checks (a test compares the file with this output; `make docs` rewrites it).

use super::{CHECKS, Category, Scope};
use std::fmt::Write;

const INTRO: &str = "# Checks\n\n\
Generated from the catalog by `make docs` (`kube-posture checks -o markdown`); do not edit by hand.\n\
The firing rules are specified in the check catalog (`shared/spec/checks.md`); *Notes* record the\n\
interpretation kube-posture chose where the catalog left room.\n";

pub fn markdown() -> String {
    let mut out = String::from(INTRO);
    for cat in Category::ALL {
        let _ = write!(out, "\n## {}\n", cat.as_str());
        for c in CHECKS.iter().filter(|c| c.category == cat) {
            let severity = match c.reduced_severity {
                Some(r) => format!("{} (narrower case: {r})", c.severity),
                None => c.severity.to_string(),
            };
            let default = match (c.scope, c.default) {
                (Scope::LiveOnly, _) => "on, live clusters only",
                (_, true) => "on",
                (_, false) => "off (name it, or its group, in `checks.include`)",
            };
            let _ = write!(
                out,
                "\n### {} — {}\n\n- Severity: {severity}\n- Default: {default}\n- Why: {}\n- Fix: {}\n",
                c.id,
                c.title,
                c.rationale,
                c.general_remediation()
            );
            if !c.references.is_empty() {
                let _ = writeln!(out, "- References: {}", c.references.join(", "));
            }
            if !c.notes.is_empty() {
                let _ = writeln!(out, "- Notes: {}", c.notes);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_checks_md_is_up_to_date() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/checks.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == super::markdown(),
            "docs/checks.md is out of date: run `make docs`"
        );
    }
}
