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
    /// How long a Lease is valid after its last renewal: a successor may take over then.
    pub duration: Duration,
    /// How long after its last successful renewal the leader may still write. Shorter than
    /// `duration`, so a leader that cannot renew stops writing before anyone may take over
    /// (client-go: 10 s of a 15 s lease); the difference absorbs clock skew and in-flight writes.
    pub renew_deadline: Duration,
    /// How often the leader renews and a follower looks at the Lease (client-go: 2 s).
    pub retry_every: Duration,
}

impl LeaderConfig {
    /// client-go's proportions: a 15 s lease gives a 10 s renew deadline and a 2 s retry.
    pub fn new(namespace: &str, name: &str, identity: &str, duration: Duration) -> LeaderConfig {
        LeaderConfig {
            namespace: namespace.to_string(),
            name: name.to_string(),
            identity: identity.to_string(),
            duration,
            renew_deadline: duration * 2 / 3,
            retry_every: (duration * 2 / 15).max(Duration::from_millis(500)),
        }
    }

    /// The longest one election step (a get, then a create or update) may take: a step that
    /// hangs must not keep the loop from stepping down in time.
    pub fn step_timeout(&self) -> Duration {
        self.retry_every.max(Duration::from_secs(1))
    }
}

/// Until when this replica may write: the start of its last successful renewal plus the renew
/// deadline, on the monotonic clock (which goes on while the process is frozen, so a replica
/// resumed after SIGSTOP sees at once that its tenure is over). Shared by the election, which
/// extends it, and every writer, which checks it right before each write.
#[derive(Clone, Debug, Default)]
pub struct Tenure {
    until: std::sync::Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    /// Times this replica stopped leading because it could not renew in time.
    pub step_downs: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Tenure {
    /// A tenure without end: no election (a single replica).
    pub fn unlimited() -> Tenure {
        let t = Tenure::default();
        t.set(Some(
            std::time::Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600),
        ));
        t
    }

    fn set(&self, until: Option<std::time::Instant>) {
        *self.until.lock().unwrap_or_else(|e| e.into_inner()) = until;
    }

    fn until(&self) -> Option<std::time::Instant> {
        *self.until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a write may go out now.
    pub fn valid(&self) -> bool {
        self.valid_at(std::time::Instant::now())
    }

    fn valid_at(&self, now: std::time::Instant) -> bool {
        self.until().is_some_and(|t| now < t)
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

/// What the election does after a step, given how it went: pure, so that the rules are
/// tested without an API server.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// We hold the Lease until the given instant.
    Lead(std::time::Instant),
    /// Someone else holds it, or we may not.
    Follow,
    /// The step failed (error or timeout): we keep leading only while the last tenure lasts.
    Unknown,
}

/// Whether we lead after `verdict`, given the tenure so far, at `now`; and whether that ends a
/// leadership because no renewal succeeded within the renew deadline (a step-down to report).
pub fn decide(verdict: &Verdict, tenure: &Tenure, now: std::time::Instant) -> (bool, bool) {
    match verdict {
        Verdict::Lead(until) => {
            tenure.set(Some(*until));
            (now < *until, false)
        }
        Verdict::Follow => {
            tenure.set(None);
            (false, false)
        }
        Verdict::Unknown => {
            let had = tenure.until().is_some();
            let lead = tenure.valid_at(now);
            if !lead {
                tenure.set(None);
            }
            (lead, had && !lead)
        }
    }
}

/// Run the election until `stop` is set. `leading` says whether we lead (for the main loop to
/// react); `tenure` bounds every write in time. Leadership ends at once when a renewal is
/// refused, and when no renewal succeeded within the renew deadline. `renewed` is told how
/// long each successful acquisition or renewal took (for the renewal-latency histogram).
pub async fn run(
    client: Client,
    cfg: LeaderConfig,
    leading: watch::Sender<bool>,
    tenure: Tenure,
    mut stop: watch::Receiver<bool>,
    renewed: impl Fn(Duration) + Send + 'static,
) {
    let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
    loop {
        let started = std::time::Instant::now();
        let verdict = match tokio::time::timeout(cfg.step_timeout(), step(&api, &cfg)).await {
            Ok(Ok(true)) => {
                renewed(started.elapsed());
                Verdict::Lead(started + cfg.renew_deadline)
            }
            Ok(Ok(false)) => Verdict::Follow,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, lease = %cfg.name, "lease update failed");
                Verdict::Unknown
            }
            Err(_) => {
                tracing::warn!(lease = %cfg.name, timeout = ?cfg.step_timeout(), "lease update timed out");
                Verdict::Unknown
            }
        };
        let (lead, stepped_down) = decide(&verdict, &tenure, std::time::Instant::now());
        if stepped_down {
            tenure
                .step_downs
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(
                lease = %cfg.name,
                renew_deadline = ?cfg.renew_deadline,
                "no lease renewal within the renew deadline: stepping down, writes stop"
            );
        }
        if *leading.borrow() != lead {
            tracing::info!(leading = lead, identity = %cfg.identity, lease = %cfg.name, "leadership changed");
            let _ = leading.send(lead);
        }
        // A leader retries in time to renew before its tenure ends.
        let wait = match tenure.until() {
            Some(until) if lead => cfg
                .retry_every
                .min(until.saturating_duration_since(std::time::Instant::now())),
            _ => cfg.retry_every,
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            tenure.set(None);
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
    fn client_go_proportions() {
        let cfg = LeaderConfig::new("ns", "l", "a", Duration::from_secs(15));
        assert_eq!(cfg.renew_deadline, Duration::from_secs(10));
        assert_eq!(cfg.retry_every, Duration::from_secs(2));
        assert!(cfg.renew_deadline < cfg.duration);
    }

    #[test]
    fn a_leader_that_cannot_renew_stops_before_the_lease_ends() {
        let t0 = std::time::Instant::now();
        let tenure = Tenure::default();
        let deadline = Duration::from_secs(10);
        assert!(!tenure.valid_at(t0));
        assert_eq!(
            decide(&Verdict::Lead(t0 + deadline), &tenure, t0),
            (true, false)
        );
        // Failed renewals keep us leading only while the tenure lasts.
        let t5 = t0 + Duration::from_secs(5);
        assert_eq!(decide(&Verdict::Unknown, &tenure, t5), (true, false));
        assert!(tenure.valid_at(t5));
        let t10 = t0 + deadline;
        assert!(
            !tenure.valid_at(t10),
            "writes stop at the renew deadline on their own"
        );
        assert_eq!(
            decide(&Verdict::Unknown, &tenure, t10),
            (false, true),
            "a step-down"
        );
        assert_eq!(
            decide(&Verdict::Unknown, &tenure, t10),
            (false, false),
            "reported once"
        );
        // Another holder: follow at once.
        decide(&Verdict::Lead(t10 + deadline), &tenure, t10);
        assert_eq!(decide(&Verdict::Follow, &tenure, t10), (false, false));
        assert!(!tenure.valid_at(t10));
    }

    #[test]
    fn an_unlimited_tenure_is_always_valid() {
        assert!(Tenure::unlimited().valid());
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
