//! Nodes (category `node`): kubelet end of life, version skew, container runtimes with known
//! escape CVEs. The dated tables ship with the program (`operator/data/release-data.yaml`) and
//! can be replaced by `audit --release-data FILE`.

mod data;

pub use data::{ReleaseData, ReleaseDataError};
