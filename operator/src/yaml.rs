//! YAML in and out, through serde-saphyr (what kube itself moved to), with parse budgets sized
//! for whole-cluster snapshots rather than the library's config-file defaults.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Parse budget: large enough for `kubectl get pods -A -o yaml` of a 150,000-pod cluster in one
/// file, still bounded against alias bombs and nesting storms.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 2_000_000_000,
            max_nodes: 1_000_000_000,
            max_documents: 10_000_000,
            max_depth: 256,
            max_total_scalar_bytes: 16 * 1024 * 1024 * 1024,
            max_reader_input_bytes: None,
        },
    }
}

/// Every document of a multi-document YAML stream; empty documents are skipped.
pub fn from_str_multi<T: DeserializeOwned>(input: &str) -> Result<Vec<T>, String> {
    serde_saphyr::from_multiple_with_options(input, options()).map_err(|e| e.to_string())
}

/// One YAML document.
pub fn from_str<T: DeserializeOwned>(input: &str) -> Result<T, String> {
    serde_saphyr::from_str_with_options(input, options()).map_err(|e| e.to_string())
}

pub fn to_string<T: Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}
