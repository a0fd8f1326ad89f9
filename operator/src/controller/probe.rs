//! API-033's live probe: does an unauthenticated request to the API server's `/api` succeed?
//! It works on managed clusters too, where the API server's flags cannot be seen.

use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub use crate::snapshot::ProbeResult;
use crate::snapshot::live::probe_anonymous;

/// How long a probe result is reused.
pub const PROBE_TTL: Duration = Duration::from_secs(60);

/// A probe result reused for [`PROBE_TTL`].
pub struct Prober {
    config: kube::Config,
    last: Mutex<Option<(Instant, ProbeResult)>>,
}

impl Prober {
    pub fn new(config: kube::Config) -> Prober {
        Prober {
            config,
            last: Mutex::new(None),
        }
    }

    pub async fn current(&self) -> Option<ProbeResult> {
        let mut last = self.last.lock().await;
        if let Some((at, r)) = last.as_ref()
            && at.elapsed() < PROBE_TTL
        {
            return Some(r.clone());
        }
        let r = probe_anonymous(&self.config).await;
        *last = Some((Instant::now(), r.clone()));
        Some(r)
    }
}
