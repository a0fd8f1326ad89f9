//! `docs/frameworks/<id>.md`, generated from the rows so the documentation cannot drift from
//! the mapping (a test compares the files with this output; `make docs` rewrites them).

use super::{Coverage, Framework};
use std::fmt::Write;

pub fn markdown(f: &Framework) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "# {} {} (`{}`)\n\n\
         Generated from the catalog by `make docs` (`kube-posture frameworks -o markdown {}`); \
         do not edit by hand.\n\n\
         Source: [{}]({}). Run it with `kube-posture report --framework {}` (offline with \
         `--snapshot DIR`); the operator keeps a summary in each SecurityPolicy's \
         `status.frameworks`.\n\n",
        f.name, f.version, f.id, f.id, f.document, f.url, f.id
    );
    let (full, partial, manual) = [Coverage::Full, Coverage::Partial, Coverage::Manual]
        .map(|k| f.controls.iter().filter(|c| c.coverage == k).count())
        .into();
    let _ = write!(
        out,
        "{} controls: {full} decided by checks, {partial} partly covered, {manual} manual.\n\n\
         A control **fails** when a mapped check has an unwaived finding, **passes** when at \
         least one mapped check ran and none failed (coverage *full* only), is **manual** when \
         no check judges it or the checks can only fail it (coverage *partial*), and is \
         **not-assessed** when none of its checks ran or they had nothing to examine (no workload \
         in the input, say). A check written `WL-002 (hostPID)` \
         counts only findings whose evidence mentions `hostPID`. Check IDs are documented in \
         [checks.md](../checks.md).\n\n",
        f.controls.len()
    );
    out.push_str("| ID | Severity | Control | Coverage | Checks | Cited from |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for c in f.controls {
        let checks: Vec<String> = c
            .check_refs()
            .map(|r| match r.evidence {
                Some(w) => format!("{} ({w})", r.id),
                None => r.id.to_string(),
            })
            .collect();
        let coverage = match c.coverage {
            Coverage::Full => "full",
            Coverage::Partial => "partial",
            Coverage::Manual => "manual",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {coverage} | {} | {} |",
            c.id,
            c.severity,
            c.title.replace('|', "\\|"),
            if checks.is_empty() {
                "—".to_string()
            } else {
                checks.join(", ")
            },
            c.section.replace('|', "\\|")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::FRAMEWORKS;

    #[test]
    fn docs_frameworks_are_up_to_date() {
        for f in FRAMEWORKS {
            let path = format!(
                "{}/../docs/frameworks/{}.md",
                env!("CARGO_MANIFEST_DIR"),
                f.id
            );
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == super::markdown(f),
                "{path} is out of date: run `make docs`"
            );
        }
    }
}
