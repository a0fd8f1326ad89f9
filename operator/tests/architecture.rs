//! The import rules of docs/architecture.md, checked on the sources: the model, the audit and
//! the outcome values never reach up to the client's runtime, the controller, the CLI or the
//! reports. A `use` that breaks a rule fails here, naming the file and the line.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The product code's lines under `paths` (files or directories under operator/src): test
/// files, `#[cfg(test)]` modules (at the end of a file) and comments aside. (file, line, text)
fn product_lines(paths: &[&str]) -> Vec<(PathBuf, usize, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for p in paths {
        let p = src.join(p);
        if p.is_dir() {
            sources(&p, &mut files);
        } else {
            files.push(p);
        }
    }
    let mut out = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if name == "tests.rs"
            || name.ends_with("_tests.rs")
            || f.components().any(|c| c.as_os_str() == "tests")
        {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            if !line.trim_start().starts_with("//") {
                out.push((f.clone(), i + 1, line.to_string()));
            }
        }
    }
    out
}

/// The product lines of `paths` that name any of `forbidden`.
fn offending(paths: &[&str], forbidden: &[&str]) -> Vec<String> {
    product_lines(paths)
        .into_iter()
        .filter(|(_, _, line)| forbidden.iter().any(|x| line.contains(x)))
        .map(|(f, i, line)| format!("{}:{i}: {}", f.display(), line.trim()))
        .collect()
}

#[test]
fn the_model_depends_on_neither_the_audit_nor_the_clients_runtime() {
    let bad = offending(
        &[
            "model",
            "snapshot/mod.rs",
            "snapshot/kinds.rs",
            "snapshot/trim.rs",
            "snapshot/probe.rs",
        ],
        &[
            "crate::audit",
            "crate::controller",
            "crate::cli",
            "crate::report",
            "crate::api",
            "kube::runtime",
            "kube_runtime",
        ],
    );
    assert!(bad.is_empty(), "{bad:#?}");
    let loaders = offending(
        &[
            "snapshot/files.rs",
            "snapshot/live.rs",
            "snapshot/info.rs",
            "snapshot/stream.rs",
            "snapshot/json_list.rs",
        ],
        &[
            "crate::audit",
            "crate::controller",
            "crate::cli",
            "crate::report",
            "kube::runtime",
        ],
    );
    assert!(loaders.is_empty(), "{loaders:#?}");
}

#[test]
fn the_audit_is_pure() {
    let bad = offending(
        &["audit"],
        &[
            "crate::controller",
            "crate::cli",
            "crate::report",
            "crate::kubelets",
            "kube::runtime",
            "kube::Client",
            "kube::Api",
            "tokio::",
            "reqwest",
        ],
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

/// The audit reads the policy as `EffectivePolicy` and writes `outcome` values: of the CRD
/// module it names only `API_VERSION` (the SecurityPolicy an exception finding is on).
#[test]
fn the_audit_does_not_depend_on_the_crd_types() {
    let bad: Vec<String> = offending(&["audit"], &["crate::api"])
        .into_iter()
        .filter(|l| !l.contains("crate::api::API_VERSION"))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_outcome_values_are_a_leaf() {
    let bad = offending(
        &["outcome.rs"],
        &[
            "crate::audit",
            "crate::api",
            "crate::snapshot",
            "crate::policy",
            "crate::controller",
            "kube",
        ],
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

/// Check code names checks by the generated `CheckId` (`CheckId::Wl001`), never by a string:
/// a typo would otherwise surface only at run time. The catalog's framework tables (data,
/// checked against the catalog by their own tests) are the one place IDs are text.
#[test]
fn check_code_names_checks_by_type_not_by_string() {
    let families = [
        "RBAC", "API", "ETCD", "CM", "SCH", "DS", "NODE", "KUBELET", "WL", "IMG", "XL", "POL",
    ];
    let mut strings = Vec::new();
    let mut typed = 0;
    for (f, i, line) in product_lines(&["."]) {
        if f.components().any(|c| c.as_os_str() == "frameworks") {
            continue;
        }
        typed += line.matches("CheckId::").count();
        for piece in line.split('"').skip(1).step_by(2) {
            let Some((family, number)) = piece.split_once('-') else {
                continue;
            };
            if families.contains(&family)
                && number.len() == 3
                && number.bytes().all(|b| b.is_ascii_digit())
            {
                strings.push(format!("{}:{i}: {piece}", f.display()));
            }
        }
    }
    assert!(
        typed > 300,
        "the scan found only {typed} typed IDs: it no longer reads the code"
    );
    assert!(
        strings.is_empty(),
        "check IDs written as strings (use CheckId): {strings:#?}"
    );
}

/// A remediation's text lives only in the catalog: check code fills its placeholders
/// (`Finding::fill`) or appends facts after it (`then`, `clause`), and never assigns a
/// remediation of its own.
#[test]
fn remediations_are_written_only_in_the_catalog() {
    let mut own = Vec::new();
    let mut filled = 0;
    for (f, i, line) in product_lines(&["."]) {
        if f.ends_with("audit/finding.rs") {
            continue;
        }
        filled += line.matches(".fill(&").count();
        // (Restoring a stored Finding's remediation, `f.remediation = r.clone()`, is not
        // writing one.)
        if line.contains(".remediation(")
            || line.contains("let remediation")
            || line.contains("remediation = format!")
        {
            own.push(format!("{}:{i}: {}", f.display(), line.trim()));
        }
    }
    assert!(
        filled >= 10,
        "only {filled} fills: the scan no longer reads the code"
    );
    assert!(own.is_empty(), "remediations written in code: {own:#?}");
}
