//! Leader election with a `coordination.k8s.io/v1` Lease. Only the leader writes.
//!
//! Written here rather than taken from kube-lease-manager, which trusts the duration it reads
//! from the Lease (a stale or hostile holder that writes a huge `leaseDurationSeconds` would
//! block every takeover) and guards with server-side-apply conflicts. Here every update is a
//! replace guarded by the object's resourceVersion, a duration read from the Lease is clamped
//! to the local setting, and a leader that cannot renew within its own duration steps down at
//! once. On shutdown the holder releases the Lease so a successor takes over without waiting.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, PostParams};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct LeaderConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// How long a Lease is valid after its last renewal.
    pub duration: Duration,
    /// How often the leader renews (a third of the duration).
    pub renew_every: Duration,
    /// How often a follower looks at the Lease.
    pub retry_every: Duration,
}

impl LeaderConfig {
    pub fn new(namespace: &str, name: &str, identity: &str, duration: Duration) -> LeaderConfig {
        LeaderConfig {
            namespace: namespace.to_string(),
            name: name.to_string(),
            identity: identity.to_string(),
            duration,
            renew_every: duration / 3,
            retry_every: (duration / 5).max(Duration::from_millis(500)),
        }
    }
}

/// What the Lease says, judged with our clock and our duration.
#[derive(Debug, PartialEq, Eq)]
pub enum Holder {
    Us,
    Other {
        identity: String,
    },
    /// Nobody, or a holder whose renewal is older than the (clamped) duration.
    Free,
}

/// Who holds `spec` at `now`. The duration the Lease states is clamped to `local`.
pub fn holder(spec: Option<&LeaseSpec>, me: &str, local: Duration, now: Timestamp) -> Holder {
    let Some(spec) = spec else {
        return Holder::Free;
    };
    let Some(identity) = spec.holder_identity.as_deref().filter(|h| !h.is_empty()) else {
        return Holder::Free;
    };
    let stated = spec
        .lease_duration_seconds
        .map(|s| Duration::from_secs(s.max(0) as u64))
        .unwrap_or(local);
    let duration = SignedDuration::try_from(stated.min(local)).unwrap_or(SignedDuration::ZERO);
    let renewed = spec
        .renew_time
        .as_ref()
        .or(spec.acquire_time.as_ref())
        .map(|t| t.0);
    let expired = renewed.is_none_or(|t| t.checked_add(duration).is_ok_and(|until| until < now));
    if identity == me {
        // Our own Lease, expired or not: renewing it is ours to do.
        return Holder::Us;
    }
    if expired {
        Holder::Free
    } else {
        Holder::Other {
            identity: identity.to_string(),
        }
    }
}

fn spec_for(
    cfg: &LeaderConfig,
    now: Timestamp,
    prev: Option<&LeaseSpec>,
    acquiring: bool,
) -> LeaseSpec {
    let transitions = prev.and_then(|p| p.lease_transitions).unwrap_or(0);
    LeaseSpec {
        holder_identity: Some(cfg.identity.clone()),
        lease_duration_seconds: Some(cfg.duration.as_secs().max(1) as i32),
        acquire_time: if acquiring {
            Some(MicroTime(now))
        } else {
            prev.and_then(|p| p.acquire_time.clone())
                .or(Some(MicroTime(now)))
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(if acquiring {
            transitions + 1
        } else {
            transitions
        }),
        ..Default::default()
    }
}

/// One step: look at the Lease and acquire or renew it if we may. Returns whether we lead.
async fn step(api: &Api<Lease>, cfg: &LeaderConfig) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let current = match api.get_opt(&cfg.name).await? {
        Some(l) => l,
        None => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(cfg.name.clone()),
                    namespace: Some(cfg.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(spec_for(cfg, now, None, true)),
            };
            return match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        }
    };
    let acquiring = match holder(current.spec.as_ref(), &cfg.identity, cfg.duration, now) {
        Holder::Other { .. } => return Ok(false),
        Holder::Us => false,
        Holder::Free => true,
    };
    let mut next = current.clone();
    next.spec = Some(spec_for(cfg, now, current.spec.as_ref(), acquiring));
    // The replace carries the resourceVersion we read: a concurrent writer makes it fail (409).
    match api.replace(&cfg.name, &PostParams::default(), &next).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Give the Lease up (on shutdown) if we hold it.
pub async fn release(client: &Client, cfg: &LeaderConfig) -> Result<bool, kube::Error> {
    let api: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    let Some(current) = api.get_opt(&cfg.name).await? else {
        return Ok(false);
    };
    let ours = current
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        == Some(cfg.identity.as_str());
    if !ours {
        return Ok(false);
    }
    let mut next = current.clone();
    if let Some(spec) = next.spec.as_mut() {
        spec.holder_identity = None;
        spec.renew_time = Some(MicroTime(Timestamp::now()));
    }
    match api.replace(&cfg.name, &PostParams::default(), &next).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Run the election until `stop` is set; `leading` says whether we may write. Leadership is
/// dropped at once when a renewal is refused, and when no renewal succeeded for a whole
/// duration.
pub async fn run(
    client: Client,
    cfg: LeaderConfig,
    leading: watch::Sender<bool>,
    mut stop: watch::Receiver<bool>,
) {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    let mut last_renewal: Option<tokio::time::Instant> = None;
    loop {
        let result = step(&api, &cfg).await;
        let now = tokio::time::Instant::now();
        let lead = match result {
            Ok(true) => {
                last_renewal = Some(now);
                true
            }
            Ok(false) => {
                last_renewal = None;
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, lease = %cfg.name, "lease update failed");
                // Keep leading only while our last renewal is still valid.
                last_renewal.is_some_and(|t| now < t + cfg.duration)
            }
        };
        if *leading.borrow() != lead {
            tracing::info!(leading = lead, identity = %cfg.identity, lease = %cfg.name, "leadership changed");
            let _ = leading.send(lead);
        }
        let wait = if lead {
            cfg.renew_every
        } else {
            cfg.retry_every
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            let _ = leading.send(false);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(holder: Option<&str>, duration: i32, renewed: &str) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_string),
            lease_duration_seconds: Some(duration),
            renew_time: Some(MicroTime(renewed.parse().unwrap())),
            ..Default::default()
        }
    }

    const NOW: &str = "2026-11-28T12:00:30Z";

    #[test]
    fn a_valid_lease_of_another_holder_is_respected() {
        let s = spec(Some("b"), 15, "2026-11-28T12:00:20Z");
        assert_eq!(
            holder(Some(&s), "a", Duration::from_secs(15), NOW.parse().unwrap()),
            Holder::Other {
                identity: "b".into()
            }
        );
    }

    #[test]
    fn an_expired_or_empty_lease_is_free() {
        let s = spec(Some("b"), 15, "2026-11-28T12:00:00Z");
        assert_eq!(
            holder(Some(&s), "a", Duration::from_secs(15), NOW.parse().unwrap()),
            Holder::Free
        );
        let s = spec(None, 15, "2026-11-28T12:00:29Z");
        assert_eq!(
            holder(Some(&s), "a", Duration::from_secs(15), NOW.parse().unwrap()),
            Holder::Free
        );
        assert_eq!(
            holder(None, "a", Duration::from_secs(15), NOW.parse().unwrap()),
            Holder::Free
        );
    }

    #[test]
    fn a_huge_stated_duration_is_clamped_to_ours() {
        // Renewed 20 s ago, claims a year: with our 15 s it has expired.
        let s = spec(Some("b"), i32::MAX, "2026-11-28T12:00:10Z");
        assert_eq!(
            holder(Some(&s), "a", Duration::from_secs(15), NOW.parse().unwrap()),
            Holder::Free
        );
    }

    #[test]
    fn our_own_lease_is_ours_to_renew() {
        let s = spec(Some("a"), 15, "2026-11-28T12:00:00Z");
        assert_eq!(
            holder(Some(&s), "a", Duration::from_secs(15), NOW.parse().unwrap()),
            Holder::Us
        );
    }

    #[test]
    fn acquiring_counts_a_transition() {
        let cfg = LeaderConfig::new("ns", "l", "a", Duration::from_secs(15));
        let prev = spec(Some("b"), 15, "2026-11-28T12:00:00Z");
        let next = spec_for(&cfg, NOW.parse().unwrap(), Some(&prev), true);
        assert_eq!(next.lease_transitions, Some(1));
        assert_eq!(next.holder_identity.as_deref(), Some("a"));
        let renewed = spec_for(&cfg, NOW.parse().unwrap(), Some(&next), false);
        assert_eq!(renewed.lease_transitions, Some(1));
    }
}
