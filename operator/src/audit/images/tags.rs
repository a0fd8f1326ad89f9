//! IMG-002: a pod spec names an image by a tag (or no tag) rather than a digest, so what runs
//! can change without the spec changing.

use crate::audit::workloads::containers;
use crate::audit::{Ctx, Finding, Sink};
use crate::catalog::CheckId;

/// Whether an image reference pins a digest (`name@sha256:…`, with or without a tag).
pub fn is_pinned(image: &str) -> bool {
    image.split_once('@').is_some_and(|(_, digest)| {
        digest
            .split_once(':')
            .is_some_and(|(_, hex)| !hex.is_empty())
    })
}

pub fn audit(ctx: &Ctx, sink: &mut Sink) {
    for w in &ctx.workloads {
        // Control-plane static Pods are named by their installer, as for the WL-* checks.
        if ctx.is_control_plane(w) {
            continue;
        }
        let mut names = Vec::new();
        let mut evidence = Vec::new();
        for c in containers(w.spec) {
            let Some(image) = c.image.filter(|i| !i.is_empty()) else {
                continue;
            };
            if !is_pinned(image) {
                names.push(c.name);
                evidence.push(format!("{}: {image}", c.name));
            }
        }
        if names.is_empty() {
            continue;
        }
        sink.push(
            Finding::new(
                CheckId::Img002,
                w.object_ref(),
                format!(
                    "{w} names images by tag rather than digest: {}",
                    names.join(", ")
                ),
            )
            .container(&names)
            .evidence(evidence)
            .fill(&[("workload", &w.to_string())]),
        );
    }
}
