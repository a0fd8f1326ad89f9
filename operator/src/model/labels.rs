//! A Pod's labels and a workload selector's `matchLabels`, held compactly: a sorted slice of
//! (key, value) pairs whose strings are interned, so that the replicas of a workload (and every
//! Pod naming `app.kubernetes.io/name`) share them.
//!
//! k8s-openapi holds labels as a `BTreeMap<String, String>`: one 536-byte B-tree node per
//! object whatever the number of labels, and a heap string per key and per value. Pods are
//! most of a cluster's objects and their labels the largest thing a Pod holds after trimming
//! (a heap profile of the operator at S: 32 MB of 242 MB live). Here a Pod with two labels
//! holds a 64-byte slice; its strings exist once in the process.
//!
//! Interned strings live while some object holds them: the table drops the strings no one
//! holds any more each time it has doubled since it last did, so that a long-running operator
//! (Pods come and go, each rollout brings new `pod-template-hash` values) does not grow
//! without bound, at an amortised cost of one table walk per doubling.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};

/// Labels, sorted by key, each key once: what a `BTreeMap` of them iterates.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Labels(Box<[(Arc<str>, Arc<str>)]>);

impl Labels {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(key))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    /// Every (key, value), sorted by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The labels of a map read as k8s-openapi reads them (`None`: no labels).
    pub fn from_map(map: Option<BTreeMap<String, String>>) -> Labels {
        // A BTreeMap iterates sorted and without repeated keys.
        Labels(
            map.into_iter()
                .flatten()
                .map(|(k, v)| (intern(&k), intern(&v)))
                .collect(),
        )
    }

    /// As k8s-openapi holds them: `None` when there are none.
    pub fn to_map(&self) -> Option<BTreeMap<String, String>> {
        (!self.is_empty()).then(|| {
            self.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Read as a `BTreeMap<String, String>` reads: a map of strings, the last of a repeated key
/// wins; `null` is no labels.
impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Labels, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_unit<E>(self) -> Result<Labels, E> {
                Ok(Labels::default())
            }
            fn visit_none<E>(self) -> Result<Labels, E> {
                Ok(Labels::default())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Labels, D::Error> {
                d.deserialize_map(V)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, Cow<'de, str>>()? {
                    pairs.push((intern(&k), intern(&v)));
                }
                // Stable: of a repeated key, the last read stays last, and is kept.
                pairs.sort_by(|a, b| a.0.cmp(&b.0));
                let mut kept: Vec<(Arc<str>, Arc<str>)> = Vec::with_capacity(pairs.len());
                for p in pairs {
                    match kept.last_mut() {
                        Some(last) if last.0 == p.0 => *last = p,
                        _ => kept.push(p),
                    }
                }
                Ok(Labels(kept.into_boxed_slice()))
            }
        }
        d.deserialize_option(V)
    }
}

/// A label selector (`spec.selector` of a workload controller), its `matchLabels` held as
/// [`Labels`]: k8s-openapi's `LabelSelector` holds them in a `BTreeMap` (a 536-byte node and
/// a string per key and value for each of a large cluster's 39,000 Deployments).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub match_labels: Labels,
}

impl Selector {
    /// Whether labels found by `get` match (see [`selector_matches`]).
    pub fn matches<'l>(&self, get: impl Fn(&str) -> Option<&'l str>) -> bool {
        let exprs = self.match_expressions.as_deref().unwrap_or_default();
        selector_matches(self.match_labels.iter(), exprs, get)
    }
}

/// Label selector semantics: every `matchLabels` pair and every `matchExpressions` entry must
/// hold; an empty selector matches everything. `get` is the labels' lookup (a Role's map, a
/// Pod's [`Labels`]).
pub fn selector_matches<'a, 'l>(
    match_labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    match_expressions: &[LabelSelectorRequirement],
    get: impl Fn(&str) -> Option<&'l str>,
) -> bool {
    let labels_ok = match_labels.into_iter().all(|(k, v)| get(k) == Some(v));
    let exprs_ok = match_expressions.iter().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" => get(&e.key).is_some_and(|v| values.iter().any(|x| x == v)),
            "NotIn" => get(&e.key).is_none_or(|v| !values.iter().any(|x| x == v)),
            "Exists" => get(&e.key).is_some(),
            "DoesNotExist" => get(&e.key).is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

struct Interned {
    strings: foldhash::HashSet<Arc<str>>,
    /// Drop the unheld strings when the table reaches this size.
    sweep_at: usize,
}

/// The smallest table size at which unheld strings are dropped.
const SWEEP_MIN: usize = 4096;

static INTERNED: LazyLock<Mutex<Interned>> = LazyLock::new(|| Mutex::new(Interned::new()));

impl Interned {
    fn new() -> Interned {
        Interned {
            strings: Default::default(),
            sweep_at: SWEEP_MIN,
        }
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strings.get(s) {
            return a.clone();
        }
        if self.strings.len() >= self.sweep_at {
            // Held only by the table: no object has it any more.
            self.strings.retain(|a| Arc::strong_count(a) > 1);
            self.sweep_at = (self.strings.len() * 2).max(SWEEP_MIN);
        }
        let a: Arc<str> = Arc::from(s);
        self.strings.insert(a.clone());
        a
    }
}

/// The one shared copy of `s`.
fn intern(s: &str) -> Arc<str> {
    INTERNED.lock().unwrap_or_else(|e| e.into_inner()).intern(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read from text and from values as a `BTreeMap` reads them: sorted, the last of a
    /// repeated key, `null` and absent as none; written back as the same map.
    #[test]
    fn reads_and_writes_as_a_btree_map() {
        for text in [
            r#"{"b":"2","a":"1","c":"3"}"#,
            r#"{"a":"1","a":"2"}"#,
            r#"{"k":"x","j":"y","k":"z","a":""}"#,
            r#"{}"#,
            r#"null"#,
        ] {
            let map: Option<BTreeMap<String, String>> = serde_json::from_str(text).unwrap();
            let labels: Labels = serde_json::from_str(text).unwrap();
            assert_eq!(
                labels.to_map(),
                map.clone().filter(|m| !m.is_empty()),
                "{text}"
            );
            assert_eq!(labels, Labels::from_map(map.clone()), "{text}");
            for (k, v) in map.iter().flatten() {
                assert_eq!(labels.get(k), Some(v.as_str()), "{text}");
            }
            assert_eq!(labels.get("absent"), None);
            let written = serde_json::to_string(&labels).unwrap();
            let back: BTreeMap<String, String> = serde_json::from_str(&written).unwrap();
            assert_eq!(back, map.unwrap_or_default(), "{text}");
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::from_value::<Labels>(value).unwrap(), labels);
        }
        for bad in [r#"{"a":1}"#, r#"["a"]"#, r#""a""#] {
            let map = serde_json::from_str::<Option<BTreeMap<String, String>>>(bad);
            let labels = serde_json::from_str::<Labels>(bad);
            assert!(map.is_err() && labels.is_err(), "{bad}");
        }
    }

    /// A selector reads what k8s-openapi's `LabelSelector` reads and matches as the
    /// selector of the same text.
    #[test]
    fn a_selector_reads_and_matches_as_a_label_selector() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
        let texts = [
            r#"{"matchLabels":{"app":"web","tier":"fe"}}"#,
            r#"{"matchExpressions":[{"key":"env","operator":"In","values":["prod","stage"]},{"key":"gone","operator":"DoesNotExist"}]}"#,
            r#"{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"env","operator":"NotIn","values":["dev"]}]}"#,
            r#"{"matchLabels":null}"#,
            r#"{}"#,
        ];
        let pods: [&[(&str, &str)]; 4] = [
            &[("app", "web"), ("tier", "fe"), ("env", "prod")],
            &[("app", "web"), ("env", "dev")],
            &[("env", "stage"), ("gone", "x")],
            &[],
        ];
        for text in texts {
            let theirs: LabelSelector = serde_json::from_str(text).unwrap();
            let ours: Selector = serde_json::from_str(text).unwrap();
            let written: LabelSelector =
                serde_json::from_value(serde_json::to_value(&ours).unwrap()).unwrap();
            let empty_as_none = |mut s: LabelSelector| {
                s.match_labels = s.match_labels.filter(|m| !m.is_empty());
                s
            };
            assert_eq!(written, empty_as_none(theirs.clone()), "{text}");
            for pod in pods {
                let get = |k: &str| pod.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v);
                let labels = theirs.match_labels.iter().flatten();
                let expected = selector_matches(
                    labels.map(|(k, v)| (k.as_str(), v.as_str())),
                    theirs.match_expressions.as_deref().unwrap_or_default(),
                    get,
                );
                assert_eq!(ours.matches(get), expected, "{text} on {pod:?}");
            }
        }
    }

    /// Two objects' equal strings are one allocation; strings no object holds are dropped
    /// when the table has grown enough.
    #[test]
    fn strings_are_shared_and_dropped_when_unheld() {
        let a: Labels = serde_json::from_str(r#"{"interning-test/app":"web"}"#).unwrap();
        let b: Labels = serde_json::from_str(r#"{"interning-test/app":"web"}"#).unwrap();
        assert!(Arc::ptr_eq(&a.0[0].0, &b.0[0].0) && Arc::ptr_eq(&a.0[0].1, &b.0[0].1));
        // A table of its own (the process's is shared by the tests running beside this one).
        let mut t = Interned::new();
        let held = t.intern("app");
        let unheld = |i: usize| format!("unheld-{i}");
        for i in 0..SWEEP_MIN - 1 {
            drop(t.intern(&unheld(i)));
        }
        assert_eq!(t.strings.len(), SWEEP_MIN, "no sweep below the minimum");
        // The next new string sweeps: only what someone holds stays.
        let next = t.intern("next");
        assert_eq!(t.strings.len(), 2);
        assert!(Arc::ptr_eq(t.strings.get("app").unwrap(), &held));
        assert!(Arc::ptr_eq(&t.intern("next"), &next));
        assert_eq!(t.sweep_at, SWEEP_MIN);
        // A table that holds many: the next sweep waits until it has doubled.
        let many: Vec<_> = (0..SWEEP_MIN * 3)
            .map(|i| t.intern(&format!("held-{i}")))
            .collect();
        assert_eq!(t.strings.len(), many.len() + 2);
        assert!(
            t.sweep_at >= many.len(),
            "swept while every string was held"
        );
    }
}
