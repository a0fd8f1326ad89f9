//! A JSON List (`kubectl get -o json`, `kube-posture snapshot`'s files) read in one pass.
//!
//! The general reader ([`super::stream`] and `files::add_json`) scans each item three times:
//! to find where it ends (its text), to read its type and name, and to read it typed. Here an
//! item is read once, in place: its first two keys are its `apiVersion` and `kind` (as the
//! API server, kubectl and our own snapshots write them), which choose the typed form the
//! rest of the item is read into. At M (150,000 Pods, 663 MB of JSON) the two extra scans
//! were a fifth of the CPU of an offline audit (user time 4.3-4.5 s → 3.5-3.6 s).
//!
//! Only the usual is read here: a single document that is a List, each item an object of a
//! kind the audit reads in its current apiVersion (or of a kind it ignores), with a
//! non-empty name, and no key repeated where the general reader would notice. Anything else
//! (an error, a nested List, snapshot info, Secrets, older apiVersions, an item whose type is
//! not its first two keys, several documents) gives the file up: [`read`] says `false`, and
//! the caller drops what was read and reads the file again the general way. So what is
//! loaded, and every message, are the general reader's (`one_pass_reads_as_the_general_reader`).

use super::Snapshot;
use super::files::{LoadStats, Route, admit, ignore, loaded, route};
use serde::de::value::CowStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Read `text`, one JSON document, into `snapshot` and `stats` if it is a List of the usual
/// items. `false`: it is not, and what was added to either must be dropped.
pub(super) fn read(text: &str, snapshot: &mut Snapshot, stats: &mut LoadStats) -> bool {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut list = List { snapshot, stats };
    (&mut list).deserialize(&mut de).is_ok() && de.end().is_ok()
}

/// Why the one pass gave up (never shown: the general reader reads the file again).
fn give_up<E: de::Error>(why: &str) -> E {
    E::custom(why)
}

struct List<'a> {
    snapshot: &'a mut Snapshot,
    stats: &'a mut LoadStats,
}

impl<'de> DeserializeSeed<'de> for &mut List<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut List<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes List")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (mut items, mut kind) = (false, None::<Cow<'de, str>>);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match key.as_ref() {
                "items" if !items => {
                    map.next_value_seed(Items { list: &mut *self })?;
                    items = true;
                }
                "kind" if kind.is_none() => kind = Some(map.next_value()?),
                "items" | "kind" => return Err(give_up("a repeated key")),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if items && kind.is_some_and(|k| k.ends_with("List")) {
            Ok(())
        } else {
            Err(give_up("not a List"))
        }
    }
}

struct Items<'l, 'a> {
    list: &'l mut List<'a>,
}

impl<'de> DeserializeSeed<'de> for Items<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of Kubernetes objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Item {
                list: &mut *self.list,
            })?
            .is_some()
        {}
        Ok(())
    }
}

struct Item<'l, 'a> {
    list: &'l mut List<'a>,
}

impl<'de> DeserializeSeed<'de> for Item<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// One of an item's first two keys, with its value, which must be a string.
fn type_field<'de, A: MapAccess<'de>>(
    map: &mut A,
) -> Result<(Cow<'de, str>, Cow<'de, str>), A::Error> {
    let key = map
        .next_key::<Cow<'de, str>>()?
        .ok_or_else(|| give_up("an item without its type"))?;
    Ok((key, map.next_value()?))
}

impl<'de> Visitor<'de> for Item<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let first = type_field(&mut map)?;
        let second = type_field(&mut map)?;
        let (api_version, kind) = match (first.0.as_ref(), second.0.as_ref()) {
            ("apiVersion", "kind") => (first.1.clone(), second.1.clone()),
            ("kind", "apiVersion") => (second.1.clone(), first.1.clone()),
            _ => return Err(give_up("an item whose type is not its first two keys")),
        };
        let List { snapshot, stats } = self.list;
        let object_kind = match route(&api_version, &kind) {
            // Older versions are read as values and renamed, Secrets lose their data as
            // values, Lists and snapshot info are documents of their own.
            Route::Values => return Err(give_up("read as values")),
            Route::Ignore => {
                // The general reader ignores it whatever its other keys, unless its type is
                // repeated (read as values, the last one counts).
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "apiVersion" || key == "kind" {
                        return Err(give_up("a repeated type"));
                    }
                    map.next_value::<IgnoredAny>()?;
                }
                ignore(stats, &api_version, &kind);
                return Ok(());
            }
            Route::Typed(object_kind) => object_kind,
        };
        let rest = Typed {
            head: [Some(first), Some(second)],
            at: 0,
            value: None,
            rest: map,
        };
        snapshot
            .push_map_if(object_kind, rest, |meta| {
                let name = meta.name.as_deref();
                let types = (api_version.as_ref(), kind.as_ref());
                match admit(stats, types, object_kind, name, meta.namespace.as_deref()) {
                    None => (false, false),
                    Some((false, _)) => (false, true),
                    Some((true, namespace)) => {
                        loaded(stats, object_kind, namespace, name.unwrap_or_default());
                        (true, true)
                    }
                }
            })?
            .then_some(())
            .ok_or_else(|| give_up("an object without a name"))
    }
}

/// An item's map as its typed form reads it: the two type fields already read, then the rest.
struct Typed<'de, A> {
    head: [Option<(Cow<'de, str>, Cow<'de, str>)>; 2],
    at: usize,
    /// The value of the type field whose key was just given.
    value: Option<Cow<'de, str>>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Typed<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if let Some((key, value)) = self.head.get_mut(self.at).and_then(Option::take) {
            self.at += 1;
            self.value = Some(value);
            return seed.deserialize(CowStrDeserializer::new(key)).map(Some);
        }
        self.rest.next_key_seed(seed)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(CowStrDeserializer::new(value)),
            None => self.rest.next_value_seed(seed),
        }
    }
}
