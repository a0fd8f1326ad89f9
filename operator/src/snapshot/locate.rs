//! Where in a snapshot file each object is: the line of its `metadata.name`, for SARIF results
//! that code scanning can annotate (a finding on a Deployment points at that Deployment in the
//! manifest, not at line 1 of the file).
//!
//! A second, light parse of only the files that have findings, after the audit: the loader
//! streams objects into the model without positions, and keeping a position per object would
//! cost memory on every audit for the one output that needs it. JSON is read by the same YAML
//! parser (JSON is YAML 1.2 for the documents kubectl writes).

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::path::Path;

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<Meta>,
    /// `kind: List` and `kubectl get -o yaml` output.
    #[serde(default)]
    items: Option<Vec<Doc>>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    namespace: Option<String>,
}

/// `Kind/namespace/name` (namespace empty for cluster-scoped objects) → 1-based line of the
/// object's `metadata.name`. Empty when the file cannot be read or parsed (the audit already
/// reported such a file; a missing line only makes the SARIF location less precise).
pub fn object_lines(path: &Path) -> HashMap<String, u32> {
    let mut lines = HashMap::new();
    let Ok(text) = std::fs::read_to_string(path) else {
        return lines;
    };
    let Ok(docs) = crate::yaml::from_str_multi::<Option<Doc>>(&text) else {
        return lines;
    };
    fn walk(doc: &Doc, lines: &mut HashMap<String, u32>) {
        if let (Some(kind), Some(meta)) = (&doc.kind, &doc.metadata)
            && let Some(name) = &meta.name
        {
            // Files over 4 billion lines are refused by the size cap long before.
            let line = u32::try_from(name.referenced.line()).unwrap_or(0);
            if line > 0 {
                lines
                    .entry(super::files::source_key(
                        kind,
                        meta.namespace.as_deref(),
                        &name.value,
                    ))
                    .or_insert(line);
            }
        }
        for item in doc.items.iter().flatten() {
            walk(item, lines);
        }
    }
    for doc in docs.iter().flatten() {
        walk(doc, &mut lines);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::object_lines;

    fn lines_of(text: &str, ext: &str) -> std::collections::HashMap<String, u32> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "kp-locate-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("objects.{ext}"));
        std::fs::write(&path, text).unwrap();
        let lines = object_lines(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        lines
    }

    #[test]
    fn lines_count_across_documents_and_list_items() {
        let yaml = "\
apiVersion: v1
kind: Namespace
metadata:
  name: prod
---
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    namespace: prod
    name: web
- kind: Service
  metadata:
    name: web
    namespace: prod
";
        let lines = lines_of(yaml, "yaml");
        assert_eq!(lines["Namespace//prod"], 4);
        assert_eq!(lines["Deployment/prod/web"], 13);
        assert_eq!(lines["Service/prod/web"], 16);
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn json_files_are_located_too() {
        let json = "{\n  \"kind\": \"Pod\",\n  \"metadata\": {\n    \"name\": \"p\",\n    \"namespace\": \"ns\"\n  }\n}\n";
        assert_eq!(lines_of(json, "json")["Pod/ns/p"], 4);
    }

    #[test]
    fn unparsable_files_give_no_lines_not_an_error() {
        assert!(lines_of("kind: [unclosed", "yaml").is_empty());
    }
}
