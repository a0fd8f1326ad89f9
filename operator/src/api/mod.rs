//! The custom resources of `kubeposture.io/v1alpha1`: `SecurityPolicy` and `Finding`.
//!
//! Doc comments on spec fields become the CRD's OpenAPI descriptions, shown by
//! `kubectl explain`: they are written for users.

mod finding;
mod policy;

/// Shared with the audit and the reports (see [`crate::outcome`]).
pub use crate::outcome::{LayerStatus, NamespacedName, NotAssessed, SubjectRef, Summary};
pub use finding::*;
pub use policy::*;

use kube::CustomResourceExt;

pub const GROUP: &str = "kubeposture.io";
pub const VERSION: &str = "v1alpha1";
pub const API_VERSION: &str = "kubeposture.io/v1alpha1";

/// Label keys on Finding objects.
pub mod labels {
    pub const POLICY: &str = "kubeposture.io/policy";
    pub const CHECK: &str = "kubeposture.io/check";
    pub const SEVERITY: &str = "kubeposture.io/severity";
    pub const CATEGORY: &str = "kubeposture.io/category";
    pub const TARGET_NAMESPACE: &str = "kubeposture.io/target-namespace";
}

/// The CRDs, with schemas every supported API server accepts.
pub fn crds() -> Vec<serde_json::Value> {
    [SecurityPolicy::crd(), Finding::crd()]
        .into_iter()
        .map(|crd| {
            let mut v = serde_json::to_value(crd).expect("CRD serialises");
            drop_null_enum_values(&mut v);
            v
        })
        .collect()
}

/// An optional enum's schema lists `null` among its values; `nullable: true` already says
/// that, and 1.20 API servers (and kubectl's client-side validation) reject `null` in `enum`.
/// Likewise a `default: null` is refused for a non-nullable string.
fn drop_null_enum_values(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Array(values)) = map.get_mut("enum") {
                values.retain(|x| !x.is_null());
            }
            if map.get("default").is_some_and(serde_json::Value::is_null) {
                map.remove("default");
            }
            map.values_mut().for_each(drop_null_enum_values);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_null_enum_values),
        _ => {}
    }
}

/// The CRDs as one multi-document YAML stream, as written to `crds/`.
pub fn crds_yaml() -> String {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&crate::yaml::to_string(&crd).expect("CRD serialises to YAML"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `crds/` must hold exactly what `kube-posture crds` prints (run `make crds` after editing
    /// the types).
    #[test]
    fn checked_in_crds_match_the_types() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds/crds.yaml");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == crds_yaml(),
            "crds/crds.yaml is out of date with src/api: run `make crds`"
        );
    }
}
