//! When to audit after watch events: a pure function of the burst's times, tested without a
//! cluster or a clock. The loop in `mod.rs` only records changes and sleeps until `due`.

use std::time::Duration;
use tokio::time::Instant;

/// How bursts of watch events are coalesced into one audit: after `quiet` without a change,
/// and at the latest `max_delay` after the burst's first change (a cluster that never goes
/// quiet is still audited that often).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Debounce {
    pub quiet: Duration,
    pub max_delay: Duration,
}

impl Default for Debounce {
    fn default() -> Self {
        Debounce {
            quiet: Duration::from_millis(500),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl Debounce {
    /// A setting that makes sense: a quiet period no longer than the maximum delay.
    pub fn new(quiet: Duration, max_delay: Duration) -> Result<Debounce, String> {
        if quiet > max_delay {
            return Err(format!(
                "--debounce ({quiet:?}) must not exceed --max-delay ({max_delay:?})"
            ));
        }
        Ok(Debounce { quiet, max_delay })
    }
}

/// The changes seen since the last audit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Burst {
    first: Option<Instant>,
    last: Option<Instant>,
}

impl Burst {
    /// A watched object changed at `at`.
    pub fn change(&mut self, at: Instant) {
        self.first.get_or_insert(at);
        self.last = Some(at);
    }

    /// When the burst is to be audited; `None` without a change.
    pub fn due(&self, d: &Debounce) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        Some((last + d.quiet).min(first + d.max_delay))
    }

    /// Whether the burst is due at `now`; if so, it is over (the audit covers it).
    pub fn take_if_due(&mut self, now: Instant, d: &Debounce) -> bool {
        let due = self.due(d).is_some_and(|t| t <= now);
        if due {
            *self = Burst::default();
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_single_change_waits_for_quiet() {
        let d = Debounce::default();
        let t0 = Instant::now();
        let mut b = Burst::default();
        assert_eq!(b.due(&d), None);
        b.change(t0);
        assert_eq!(b.due(&d), Some(t0 + 500 * MS));
        assert!(!b.take_if_due(t0 + 499 * MS, &d));
        assert!(b.take_if_due(t0 + 500 * MS, &d));
        assert_eq!(b.due(&d), None, "the audit covers the burst");
    }

    #[test]
    fn a_storm_is_audited_at_the_latest_after_max_delay() {
        let d = Debounce::default();
        let t0 = Instant::now();
        let mut b = Burst::default();
        // A change every 100 ms for 10 s: never quiet.
        for i in 0..100 {
            let t = t0 + i * 100 * MS;
            b.change(t);
            if b.take_if_due(t, &d) {
                assert!(
                    t - t0 >= d.max_delay - 100 * MS && t - t0 <= d.max_delay,
                    "{:?}",
                    t - t0
                );
                return;
            }
        }
        panic!("never audited during the storm");
    }

    #[test]
    fn settings_are_checked() {
        assert!(Debounce::new(Duration::from_secs(3), Duration::from_secs(2)).is_err());
        assert!(Debounce::new(Duration::ZERO, Duration::ZERO).is_ok());
    }
}
