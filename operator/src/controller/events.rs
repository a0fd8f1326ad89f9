//! Remediation Events (events.k8s.io/v1), one recorder shared by every reconcile.
//!
//! At most one Event per (target, reason) per six minutes: a repeat within that window updates
//! the first Event's series (count, last observed time) instead of creating another. Events
//! about cluster-scoped objects go to `kube-system`, which every supported API server accepts
//! (1.20 refuses `default` for them).

use crate::audit::bounds;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use std::collections::HashMap;
use tokio::sync::Mutex;

pub const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);
pub const CONTROLLER: &str = "kubeposture.io/kube-posture";
/// The API server refuses an Event whose note passes 1 KiB (bytes); longer notes are cut on a
/// character boundary with `… (N more bytes)`.
pub const MAX_NOTE: usize = bounds::MAX_MESSAGE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// What to say.
pub struct Note {
    pub type_: EventType,
    pub reason: String,
    pub note: String,
    pub action: &'static str,
    pub related: Option<ObjectReference>,
}

/// Repeats are judged per target, reason and related object: two different findings resolved
/// on one policy are two Events, the same one flapping is one Event's series.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    target: (String, String, String, String),
    reason: String,
    related: Option<(String, String, String)>,
}

struct Sent {
    namespace: String,
    name: String,
    first: Timestamp,
    count: i32,
}

pub struct Recorder {
    client: Client,
    instance: String,
    sent: Mutex<HashMap<Key, Sent>>,
}

/// Event names are `<target>.<hex time>`: unique, and within the 253-character limit.
fn event_name(target: &str, now: Timestamp) -> String {
    let base: String = target
        .chars()
        .take(200)
        .collect::<String>()
        .to_lowercase()
        .replace([':', '/'], "-");
    format!("{base}.{:x}", now.as_nanosecond())
}

impl Recorder {
    pub fn new(client: Client, instance: String) -> Recorder {
        Recorder {
            client,
            instance,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// Publish `note` about `target`. Returns whether an API write was made.
    pub async fn publish(
        &self,
        note: &Note,
        target: &ObjectReference,
    ) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let key = Key {
            target: (
                target.api_version.clone().unwrap_or_default(),
                target.kind.clone().unwrap_or_default(),
                target.namespace.clone().unwrap_or_default(),
                target.name.clone().unwrap_or_default(),
            ),
            reason: note.reason.clone(),
            related: note.related.as_ref().map(|r| {
                (
                    r.kind.clone().unwrap_or_default(),
                    r.namespace.clone().unwrap_or_default(),
                    r.name.clone().unwrap_or_default(),
                )
            }),
        };
        let mut sent = self.sent.lock().await;
        sent.retain(|_, s| s.first + SERIES_WINDOW > now);
        let namespace = target
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "kube-system".to_string());
        if let Some(prev) = sent.get_mut(&key) {
            prev.count += 1;
            let patch = serde_json::json!({
                "series": EventSeries { count: prev.count, last_observed_time: MicroTime(now) }
            });
            let api: Api<Event> = Api::namespaced(self.client.clone(), &prev.namespace);
            api.patch(&prev.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            return Ok(true);
        }
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let name = event_name(target.name.as_deref().unwrap_or("object"), now);
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            event_time: Some(MicroTime(now)),
            action: Some(note.action.to_string()),
            reason: Some(note.reason.chars().take(128).collect()),
            note: Some(bounds::truncated(&note.note, MAX_NOTE)),
            regarding: Some(target.clone()),
            related: note.related.clone(),
            reporting_controller: Some(CONTROLLER.to_string()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(match note.type_ {
                EventType::Normal => "Normal".into(),
                EventType::Warning => "Warning".into(),
            }),
            ..Default::default()
        };
        api.create(&PostParams::default(), &event).await?;
        sent.insert(
            key,
            Sent {
                namespace,
                name,
                first: now,
                count: 1,
            },
        );
        Ok(true)
    }

    /// Events sent in the current window, for tests and metrics.
    pub async fn tracked(&self) -> usize {
        self.sent.lock().await.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_notes_fit_the_api_limits() {
        let n = event_name(&"x".repeat(400), Timestamp::UNIX_EPOCH);
        assert!(n.len() <= 253);
        let s = "é".repeat(1000);
        assert!(bounds::truncated(&s, MAX_NOTE).len() <= 1024);
        assert_eq!(bounds::truncated("short", MAX_NOTE), "short");
    }
}
