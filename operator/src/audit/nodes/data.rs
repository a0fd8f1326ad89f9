use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The dated tables the node checks read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseData {
    /// When the tables were last reviewed (shown in messages, so a stale table is visible).
    #[serde(default)]
    pub reviewed: String,
    /// Kubernetes minor releases and their end-of-life dates (NODE-001).
    #[serde(default)]
    pub kubernetes: Vec<KubernetesRelease>,
    /// Supported kubelet → API server skew, in minor versions (NODE-002).
    #[serde(default)]
    pub kubelet_skew: Vec<SkewRule>,
    /// Container runtime releases with known container-escape vulnerabilities (NODE-003).
    #[serde(default)]
    pub runtimes: Vec<RuntimeAdvisory>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubernetesRelease {
    /// `1.30`
    pub minor: String,
    /// End of life (RFC 3339 date, `2025-06-28`).
    pub end_of_life: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SkewRule {
    /// API server minor versions from which this rule applies (`1.28`).
    pub since: String,
    /// How many minor versions older the kubelet may be.
    pub kubelet_older: u32,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeAdvisory {
    /// The runtime as `containerRuntimeVersion` names it: `containerd`, `cri-o`, `docker`.
    pub runtime: String,
    /// Affected: versions at or above `from` (inclusive) and below `fixed` (exclusive).
    pub from: String,
    pub fixed: String,
    pub cve: String,
    pub summary: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseDataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

static BUILTIN: LazyLock<ReleaseData> = LazyLock::new(|| {
    crate::yaml::from_str(include_str!("../../../data/release-data.yaml"))
        .expect("embedded release data parses")
});

impl ReleaseData {
    /// The tables shipped with this build.
    pub fn builtin() -> &'static ReleaseData {
        &BUILTIN
    }

    /// Tables from a file (same format as `operator/data/release-data.yaml`). Sections the
    /// file leaves out keep the built-in rows.
    pub fn from_file(path: &Path) -> Result<ReleaseData, ReleaseDataError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReleaseDataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut data: ReleaseData =
            crate::yaml::from_str(&text).map_err(|message| ReleaseDataError::Parse {
                path: path.to_path_buf(),
                message,
            })?;
        let builtin = ReleaseData::builtin();
        if data.kubernetes.is_empty() {
            data.kubernetes = builtin.kubernetes.clone();
        }
        if data.kubelet_skew.is_empty() {
            data.kubelet_skew = builtin.kubelet_skew.clone();
        }
        if data.runtimes.is_empty() {
            data.runtimes = builtin.runtimes.clone();
        }
        Ok(data)
    }
}
