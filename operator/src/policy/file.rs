//! `--policy FILE`: a SecurityPolicy manifest read from disk, with unknown fields reported
//! (the API server would prune them silently; a typo such as `exeptions` must not be).

use super::{EffectivePolicy, PolicyErrors};
use crate::api::SecurityPolicy;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: invalid policy: {errors}")]
    Invalid { path: PathBuf, errors: PolicyErrors },
}

/// Read and compile a SecurityPolicy manifest (YAML or JSON; exactly one SecurityPolicy).
pub fn load_policy_file(path: &Path) -> Result<(SecurityPolicy, EffectivePolicy), PolicyFileError> {
    let parse_err = |message: String| PolicyFileError::Parse {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|source| PolicyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let docs: Vec<Value> = crate::yaml::from_str_multi(&text)
        .map_err(|m| parse_err(format!("not valid YAML or JSON: {m}")))?;
    let mut policies = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        let kind = doc.get("kind").and_then(Value::as_str);
        if kind == Some("SecurityPolicy") {
            policies.push((i + 1, doc));
        }
    }
    let (index, doc) = match policies.len() {
        1 => policies.pop().expect("one policy"),
        0 => return Err(parse_err("no SecurityPolicy document found".to_string())),
        n => {
            return Err(parse_err(format!(
                "{n} SecurityPolicy documents found; give one per --policy"
            )));
        }
    };
    let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if api_version != crate::api::API_VERSION {
        return Err(parse_err(format!(
            "document {index}: apiVersion {api_version:?} is not {}",
            crate::api::API_VERSION
        )));
    }
    let mut unknown = Vec::new();
    let mut on_unknown = |p: serde_ignored::Path| unknown.push(p.to_string());
    // The path names the field of a value of the wrong type (`spec.findingLimit: invalid
    // value: integer -1, expected u32`), as compile errors do.
    let policy: SecurityPolicy =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(doc, &mut on_unknown))
            .map_err(|e| parse_err(format!("document {index}: {}: {}", e.path(), e.inner())))?;
    // An empty key would print as `spec.`, naming nothing: quote it.
    let unknown: Vec<_> = unknown
        .into_iter()
        .filter(|p| p.starts_with("spec"))
        .map(|p| {
            let quoted = p.replace("..", ".\"\".");
            if quoted.ends_with('.') {
                format!("{quoted}\"\"")
            } else {
                quoted
            }
        })
        .collect();
    if !unknown.is_empty() {
        return Err(parse_err(format!(
            "document {index}: unknown field(s) {}",
            unknown.join(", ")
        )));
    }
    let name = policy
        .metadata
        .name
        .clone()
        .unwrap_or_else(|| "policy".to_string());
    let effective = EffectivePolicy::compile(&name, &policy.spec).map_err(|errors| {
        PolicyFileError::Invalid {
            path: path.to_path_buf(),
            errors,
        }
    })?;
    Ok((policy, effective))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CheckId;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kp-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_a_policy() {
        let p = write(
            "ok.yaml",
            "apiVersion: kubeposture.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {name: base}\nspec:\n  checks: {exclude: [RBAC-017]}\n  failureThreshold: critical\n",
        );
        let (_, eff) = load_policy_file(&p).unwrap();
        assert_eq!(eff.name, "base");
        assert!(!eff.is_enabled(CheckId::Rbac017));
    }

    #[test]
    fn unknown_fields_and_bad_ids_are_errors_naming_the_file() {
        let p = write(
            "typo.yaml",
            "apiVersion: kubeposture.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {name: base}\nspec:\n  exeptions: []\n",
        );
        let e = load_policy_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("typo.yaml") && e.contains("spec.exeptions"),
            "{e}"
        );
        // An empty key is named too (it used to print as `spec.`).
        let p = write(
            "empty-key.yaml",
            "apiVersion: kubeposture.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {name: base}\nspec:\n  '': 1\n",
        );
        let e = load_policy_file(&p).unwrap_err().to_string();
        assert!(e.ends_with("unknown field(s) spec.\"\""), "{e}");
        let p = write(
            "bad.yaml",
            "apiVersion: kubeposture.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {name: base}\nspec:\n  checks: {include: [RBAC-999]}\n",
        );
        let e = load_policy_file(&p).unwrap_err().to_string();
        assert!(
            e.contains("bad.yaml") && e.contains("spec.checks.include[0]"),
            "{e}"
        );
        let p = write(
            "none.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
        );
        assert!(
            load_policy_file(&p)
                .unwrap_err()
                .to_string()
                .contains("no SecurityPolicy")
        );
        let p = write(
            "sev.yaml",
            "apiVersion: kubeposture.io/v1alpha1\nkind: SecurityPolicy\nmetadata: {name: base}\nspec:\n  failureThreshold: urgent\n",
        );
        let e = load_policy_file(&p).unwrap_err().to_string();
        assert!(e.contains("sev.yaml") && e.contains("urgent"), "{e}");
        assert!(e.contains("spec.failureThreshold: unknown variant"), "{e}");
    }
}
