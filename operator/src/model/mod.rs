//! The objects the audit reads, as slim typed structs: only the fields some check reads.
//!
//! k8s-openapi's types hold every field inline (a `Volume` is 3 KiB whatever its source, a
//! `Container` 2 KiB), which made a trimmed Pod cost about 16 KiB in memory; these types skip
//! what no check reads while deserializing, so a Pod costs a few KiB, in files, live lists and
//! the controller's caches alike. Field names and shapes follow the Kubernetes API, and the
//! nested types that are small (affinity, tolerations, conditions) are k8s-openapi's own; a
//! Pod's labels and workload selectors hold their strings interned ([`Labels`]). Each
//! top-level type implements `kube::Resource` by inheriting it from k8s-openapi's, so it works
//! with `Api` and watchers.

mod dockerfile;
mod labels;
pub mod meta;
mod pod;
mod workloads;

pub use dockerfile::*;
pub use labels::{Labels, Selector, selector_matches};
pub use pod::*;
pub use workloads::*;
