//! The image layer (category `image`): who a container runs as, read from the Dockerfiles in
//! an offline input or from the image configs a live audit fetched (IMG-001), and how pod
//! specs name their images (IMG-002).

mod dockerfile;
mod inspect;
pub(crate) mod tags;
#[cfg(test)]
mod tests;

pub use dockerfile::{DefaultUser, default_user};
pub use inspect::{ImageConfig, ImageConfigs, ImageRequest, RunningImages, inspected, requests};

use crate::audit::workloads::{containers, root_reason};
use crate::audit::{Ctx, Finding, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;

pub fn audit(ctx: &Ctx, sink: &mut Sink) {
    if ctx.enabled(CheckId::Img001) {
        dockerfile::audit(ctx, sink);
        if ctx.images.is_some() {
            running_as_root(ctx, sink);
        }
    }
    if ctx.enabled(CheckId::Img002) {
        tags::audit(ctx, sink);
    }
}

/// IMG-001 live: the containers WL-005 reports whose image (as the registry describes it) runs
/// as root by default; an image whose config could not be read is not assessed, with why.
fn running_as_root(ctx: &Ctx, sink: &mut Sink) {
    for w in &ctx.workloads {
        if ctx.is_control_plane(w) || w.spec.is_windows() {
            continue;
        }
        let mut names = Vec::new();
        let mut evidence = Vec::new();
        for c in containers(w.spec) {
            if root_reason(w, &c).is_none() {
                continue;
            }
            let image = c.image.unwrap_or_default();
            match inspected(ctx, w, &c) {
                Some(ImageConfig::User(u)) if inspect::user_is_root(u) => {
                    names.push(c.name);
                    evidence.push(format!(
                        "{}: image {image} runs as root by default (config.User {})",
                        c.name,
                        if u.is_empty() { "empty" } else { u }
                    ));
                }
                Some(ImageConfig::Unavailable(why)) => sink.not_assessed_checks(
                    Category::Image,
                    format!("image {image}: {why}"),
                    &[CheckId::Img001],
                ),
                _ => {}
            }
        }
        if names.is_empty() {
            continue;
        }
        sink.push(
            Finding::new(
                CheckId::Img001,
                w.object_ref(),
                format!(
                    "{w} runs images that run as root by default: {}",
                    names.join(", ")
                ),
            )
            .container(&names)
            .evidence(evidence)
            .fill(&[
                ("dockerfile", "each image's Dockerfile"),
                ("workload", &w.to_string()),
            ]),
        );
    }
}
