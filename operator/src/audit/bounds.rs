//! Bounds on what one finding carries (issue 12, "never a false all-clear"): a Role with
//! thousands of rules, a Pod with hundreds of containers or a flag with a megabyte of value
//! must not make a Finding object, a status or an Event too large for the API server to take,
//! for then the operator would write nothing at all.
//!
//! The budget, in bytes of UTF-8 (the unit of the API server's limits):
//!
//! | field | at most |
//! |---|---|
//! | `message` | [`MAX_MESSAGE`] (1 KiB) |
//! | `remediation` | [`MAX_REMEDIATION`] (2 KiB) |
//! | `evidence` | [`MAX_EVIDENCE`] (20) entries of [`MAX_ENTRY`] (512) bytes, then one `… and N more` |
//! | `container` | [`MAX_NAMES`] (20) names, then `… and N more`; [`MAX_MESSAGE`] bytes in all |
//! | `reason`, `suppressedBy` | [`MAX_ENTRY`] bytes, [`MAX_MESSAGE`] bytes |
//!
//! so a finding's details stay under 16 KiB ([`MAX_DETAILS`]). Lists are capped with
//! `… and N more` and strings cut on a character boundary with `… (N more bytes)`: nothing is
//! dropped without saying so. The identity fields (check, resource, subject, DaemonSet, node)
//! are never cut: cutting them could merge two findings into one. Kubernetes bounds the names
//! of objects to 253 characters.
//!
//! The bounds apply to every finding as it enters the report ([`bounded`], in
//! [`super::Sink`] and wherever the audit adds a finding), so every output (table, JSON, YAML, SARIF, Finding objects, status, Events) shows the same evidence:
//! the offline audit and the operator never disagree, and a CI job's JSON or SARIF stays small
//! enough for code-scanning uploads. The count in `… and N more` says what the object itself
//! holds in full (`kubectl get role … -o yaml`).

use super::Finding;
use std::sync::Arc;

/// Evidence entries kept before `… and N more`.
pub const MAX_EVIDENCE: usize = 20;
/// Bytes of one evidence entry (also `reason`).
pub const MAX_ENTRY: usize = 512;
/// Bytes of a message (and of an Event's note, the API server's own limit).
pub const MAX_MESSAGE: usize = 1024;
/// Bytes of a remediation: it may quote an exception's reason (up to 1 KiB) besides a command.
pub const MAX_REMEDIATION: usize = 2048;
/// Names listed (containers of a workload) before `… and N more`.
pub const MAX_NAMES: usize = 20;
/// What [`bounded`] guarantees for the non-identity fields of one finding, in bytes.
pub const MAX_DETAILS: usize = MAX_MESSAGE
    + MAX_REMEDIATION
    + (MAX_EVIDENCE + 1) * MAX_ENTRY
    + MAX_MESSAGE // container
    + MAX_ENTRY // reason
    + MAX_MESSAGE; // suppressedBy
/// A Finding object as the API server returns it (metadata with managedFields, spec, status)
/// stays within this: [`MAX_DETAILS`], the title, identity fields of Kubernetes-sized names and
/// the server's own metadata. (Text JSON must escape, control characters in a flag's value,
/// can take up to six times its bytes; the API server's limit is 1.5 MiB.)
pub const MAX_FINDING_OBJECT: usize = 24 * 1024;
const _: () = assert!(MAX_DETAILS <= 16 * 1024, "a finding's details fit 16 KiB");

pub const MORE: &str = "… and ";

/// `… and N more`.
pub fn more(n: usize) -> String {
    format!("{MORE}{n} more")
}

/// The first `max` of `items`, formatted by `show`, then `… and N more` for the rest. Only
/// the shown items are formatted, so a check may call it on thousands of rules.
pub fn capped<T>(
    items: impl IntoIterator<Item = T>,
    max: usize,
    show: impl FnMut(T) -> String,
) -> Vec<String> {
    let mut items = items.into_iter();
    let mut out: Vec<String> = items.by_ref().take(max).map(show).collect();
    let rest = items.count();
    if rest > 0 {
        out.push(more(rest));
    }
    out
}

/// `names` joined by `sep`: at most [`MAX_NAMES`] of them and `max_bytes` in all, then
/// `… and N more`.
pub fn join_names(names: &[&str], sep: &str, max_bytes: usize) -> String {
    // Room for the separator and `… and N more` whenever a name may follow.
    let reserve = sep.len() + more(names.len()).len();
    let mut out = String::new();
    let mut shown = 0;
    for (i, n) in names.iter().enumerate().take(MAX_NAMES) {
        let sep = if i == 0 { "" } else { sep };
        let room = if i + 1 == names.len() {
            max_bytes
        } else {
            max_bytes.saturating_sub(reserve)
        };
        if out.len() + sep.len() + n.len() > room {
            if i == 0 {
                out = truncated(n, room);
                shown = 1;
            }
            break;
        }
        out.push_str(sep);
        out.push_str(n);
        shown += 1;
    }
    if shown < names.len() {
        if shown > 0 {
            out.push_str(sep);
        }
        out.push_str(&more(names.len() - shown));
    }
    out
}

/// Cut `s` to at most `max` bytes on a character boundary, ending with `… (N more bytes)`.
pub fn truncate(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    // The marker's length depends on N; N's digits are at most those of s.len().
    let marker_len = "… ( more bytes)".len() + s.len().to_string().len();
    let mut end = max.saturating_sub(marker_len);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut = s.len() - end;
    s.truncate(end);
    s.push_str(&format!("… ({cut} more bytes)"));
}

/// [`truncate`], on a copy.
pub fn truncated(s: &str, max: usize) -> String {
    let mut s = s.to_string();
    truncate(&mut s, max);
    s
}

/// Cap a list of lines to `max` entries plus `… and N more`. A list a check already capped
/// to exactly that shape is left alone.
pub fn cap_lines(lines: &mut Vec<String>, max: usize) {
    let already = lines.len() == max + 1 && lines[max].starts_with(MORE);
    if lines.len() <= max || already {
        return;
    }
    let rest = lines.len() - max;
    lines.truncate(max);
    lines.push(more(rest));
}

/// Bring one finding within the budget (see the module documentation).
pub fn bound(f: &mut Finding) {
    truncate(&mut f.message, MAX_MESSAGE);
    if f.remediation.len() > MAX_REMEDIATION {
        truncate(f.remediation.to_mut(), MAX_REMEDIATION);
    }
    cap_lines(&mut f.evidence, MAX_EVIDENCE);
    for e in &mut f.evidence {
        truncate(e, MAX_ENTRY);
    }
    if let Some(c) = &mut f.container {
        let names: Vec<&str> = c.split(',').collect();
        if names.len() > MAX_NAMES + 1 {
            *c = join_names(&names, ",", MAX_MESSAGE);
        }
        truncate(c, MAX_MESSAGE);
    }
    if let Some(r) = &mut f.reason
        && r.len() > MAX_ENTRY
    {
        *r = truncated(r, MAX_ENTRY).into_boxed_str();
    }
    if let Some(s) = &mut f.suppressed_by {
        truncate(s, MAX_MESSAGE);
    }
}

/// A finding within the budget, ready to be shared. Every finding enters a report through
/// here (a check's, a held one, a hygiene one) and [`bound`] is idempotent, so a report's
/// findings are bounded without a pass over them, and a finding kept by an incremental engine
/// is never copied to be bounded again.
pub fn bounded(mut f: Finding) -> Arc<Finding> {
    bound(&mut f);
    Arc::new(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::ObjectRef;
    use crate::catalog::CheckId;
    use crate::snapshot::ObjectKind;

    fn details(f: &Finding) -> usize {
        f.message.len()
            + f.remediation.len()
            + f.evidence.iter().map(String::len).sum::<usize>()
            + f.container.as_ref().map_or(0, String::len)
            + f.reason.as_ref().map_or(0, |r| r.len())
            + f.suppressed_by.as_ref().map_or(0, String::len)
    }

    #[test]
    fn truncation_cuts_on_a_char_boundary_and_says_how_much() {
        let mut s = "é".repeat(1000); // 2,000 bytes
        truncate(&mut s, 1024);
        assert!(s.len() <= 1024, "{}", s.len());
        assert!(s.ends_with(" more bytes)"), "{s}");
        let head = s.split('…').next().unwrap();
        let cut: usize = s
            .rsplit('(')
            .next()
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(head.len() + cut, 2000, "the marker counts what was cut");
        let mut short = "short".to_string();
        truncate(&mut short, 1024);
        assert_eq!(short, "short");
        for max in 0..40 {
            let mut s = "ü".repeat(30);
            truncate(&mut s, max.max(24));
            assert!(s.len() <= max.max(24));
        }
    }

    #[test]
    fn lists_say_how_many_more() {
        let v = capped(0..3000, MAX_EVIDENCE, |i| format!("rule {i}"));
        assert_eq!(v.len(), MAX_EVIDENCE + 1);
        assert_eq!(v[MAX_EVIDENCE], "… and 2980 more");
        assert_eq!(capped(0..20, MAX_EVIDENCE, |i| i.to_string()).len(), 20);
        let mut again = v.clone();
        cap_lines(&mut again, MAX_EVIDENCE);
        assert_eq!(again, v, "an already capped list stays as it is");
        let names: Vec<String> = (0..300).map(|i| format!("c{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let joined = join_names(&names, ", ", MAX_MESSAGE);
        assert!(joined.starts_with("c0, c1, "));
        assert!(joined.ends_with("c19, … and 280 more"), "{joined}");
        let long: Vec<String> = (0..300)
            .map(|i| format!("{i:03}{}", "n".repeat(60)))
            .collect();
        let long: Vec<&str> = long.iter().map(String::as_str).collect();
        let joined = join_names(&long, ",", MAX_MESSAGE);
        assert!(joined.len() <= MAX_MESSAGE, "{}", joined.len());
        assert!(
            joined.ends_with(",… and 285 more"),
            "bytes bound the list too: {joined}"
        );
        assert_eq!(join_names(&["a", "b"], ",", MAX_MESSAGE), "a,b");
        assert_eq!(join_names(&[], ",", MAX_MESSAGE), "");
    }

    /// A Role of 3,000 rules, a Pod of 300 containers with 63-character names, 1 MiB flags:
    /// every field within its bound, and the whole within MAX_DETAILS.
    #[test]
    fn a_finding_at_the_sizes_of_issue_12_stays_within_the_budget() {
        let name = |i: usize| format!("{i:03}-{}", "c".repeat(59));
        let names: Vec<String> = (0..300).map(name).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut f = Finding::new(
            CheckId::Wl001,
            ObjectRef::new(ObjectKind::Pod, Some("ns"), "p"),
            format!("Pod ns/p runs privileged containers: {}", names.join(", ")),
        )
        .container(&names)
        .then(&"x".repeat(100_000))
        .evidence((0..3000).map(|i| format!("rule {i}: {}", "v".repeat(2000))))
        .reason("r".repeat(1 << 20));
        f.suppressed_by = Some("s".repeat(5000));
        bound(&mut f);
        assert!(f.message.len() <= MAX_MESSAGE);
        assert!(f.remediation.len() <= MAX_REMEDIATION);
        assert_eq!(f.evidence.len(), MAX_EVIDENCE + 1);
        assert_eq!(f.evidence[MAX_EVIDENCE], "… and 2980 more");
        assert!(f.evidence.iter().all(|e| e.len() <= MAX_ENTRY));
        let c = f.container.as_deref().unwrap();
        assert!(c.len() <= MAX_MESSAGE, "{}", c.len());
        assert!(c.ends_with("… and 285 more"), "{c}");
        assert!(f.reason.as_ref().unwrap().len() <= MAX_ENTRY);
        assert!(
            details(&f) <= MAX_DETAILS,
            "{} > {MAX_DETAILS}",
            details(&f)
        );
    }

    #[test]
    fn small_findings_are_untouched() {
        let f = Finding::new(
            CheckId::Wl001,
            ObjectRef::new(ObjectKind::Pod, Some("ns"), "p"),
            "Pod ns/p runs privileged containers: a, b",
        )
        .container(&["a", "b"])
        .evidence(vec!["one".to_string(); 20]);
        let mut g = f.clone();
        bound(&mut g);
        assert_eq!(f, g);
    }
}
