//! Policy reports where Policy Reporter and other tools read them (reports.md, "OpenReports"):
//! one `Report` per audited resource that has results (`ClusterReport` for cluster-scoped
//! objects, `kube-posture-cluster` for results about no object), built from the Finding
//! objects by a pure [`build`] and written by [`sync`].

pub mod build;
pub mod flavor;
pub mod sync;
#[cfg(test)]
mod tests;

pub use build::Budget;
pub use flavor::{Flavor, ReportsMode};
pub use sync::Reports;
