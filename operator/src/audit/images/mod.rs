//! The image layer (category `image`): who a container runs as, read from the Dockerfiles in
//! an offline input (IMG-001), and how pod specs name their images (IMG-002).

mod dockerfile;
pub(crate) mod tags;
#[cfg(test)]
mod tests;

pub use dockerfile::{DefaultUser, default_user};

use crate::audit::{Ctx, Sink};

pub fn audit(ctx: &Ctx, sink: &mut Sink) {
    if ctx.enabled("IMG-001") {
        dockerfile::audit(ctx, sink);
    }
    if ctx.enabled("IMG-002") {
        tags::audit(ctx, sink);
    }
}
