//! kube-posture: a Kubernetes security posture operator and offline auditor.
//!
//! The audit ([`audit::run`]) is a pure function of a [`snapshot::Snapshot`] and an
//! [`policy::EffectivePolicy`]; the CLI and the controller are shells around it.

pub mod api;
pub mod audit;
pub mod catalog;
pub mod cli;
pub mod compliance;
pub mod controller;
pub mod kubelets;
pub mod model;
pub mod outcome;
pub mod policy;
pub mod registry;
pub mod report;
pub mod snapshot;
pub mod yaml;
