//! Streaming documents: each object is turned into its typed form as soon as it is read,
//! including every item of a `kind: List` document (`kubectl get -o yaml` writes `items`
//! before `kind`). A whole file is never held as a tree of values: at 150,000 Pods that tree
//! and the typed objects interleaved in memory fragmented the heap to five times the size
//! of the data.
//!
//! serde drives the parsing (serde_json or serde-saphyr): [`Doc`] is a zero-sized document
//! whose visitor hands each object to the loader of the file being read, found in a
//! thread-local for the duration of one file. The items of a JSON List go to the loader as
//! their text ([`Object::Json`]), typed straight from it: building each item's tree of values
//! first took half of the time to read a large JSON snapshot (issue 16). A JSON List of the
//! usual items does not come here at all: it is read in one pass (`super::json_list`), and
//! only what that pass gives up on is read this way.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

/// An object as read: a tree of values, or the text of an item of a JSON List.
pub enum Object<'a> {
    Value(Value),
    Json(&'a str),
}

/// Receives each object with its location (`document 3`, `document 1, item 12`); an error
/// stops the parse.
pub type Sink = Box<dyn FnMut(&str, Object<'_>) -> Result<(), String>>;

struct State {
    documents: usize,
    /// The parser is serde_json's: a List's items are sent as text.
    json: bool,
    sink: Sink,
    /// The sink's own error, reported as is rather than as a parse error.
    error: Option<String>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

fn emit(location: &str, v: Object<'_>) -> Result<(), String> {
    STATE.with(|s| {
        let mut st = s.borrow_mut();
        let st = st.as_mut().ok_or("no document sink")?;
        (st.sink)(location, v).inspect_err(|e| st.error = Some(e.clone()))
    })
}

fn next_document() -> usize {
    STATE
        .with(|s| {
            s.borrow_mut().as_mut().map(|st| {
                st.documents += 1;
                st.documents
            })
        })
        .unwrap_or(0)
}

/// Run `parse` (on this thread) with `sink` receiving each object. Returns the parse result,
/// the error that stopped it if it came from a document rather than the syntax, and the number
/// of documents. `json`: `parse` runs serde_json's deserializer (List items are sent as text).
pub fn with_sink<R>(
    sink: Sink,
    json: bool,
    parse: impl FnOnce() -> R,
) -> (R, Option<String>, usize) {
    STATE.with(|s| {
        *s.borrow_mut() = Some(State {
            documents: 0,
            json,
            sink,
            error: None,
        })
    });
    let r = parse();
    let st = STATE.with(|s| s.borrow_mut().take());
    let (error, documents) = st.map(|s| (s.error, s.documents)).unwrap_or((None, 0));
    (r, error, documents)
}

/// One document of a stream, consumed as it is read.
pub struct Doc;

impl<'de> de::Deserialize<'de> for Doc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        let n = next_document();
        d.deserialize_any(DocVisitor {
            location: format!("document {n}"),
        })?;
        Ok(Doc)
    }
}

struct DocVisitor {
    location: String,
}

fn not_an_object(location: &str, what: &str) -> String {
    format!(
        "{location}: not a Kubernetes object (a {what}, not a mapping with apiVersion and kind)"
    )
}

impl<'de> Visitor<'de> for DocVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut fields = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                map.next_value_seed(Items {
                    location: &self.location,
                })?;
                streamed = true;
            } else {
                let v: Value = map.next_value()?;
                fields.insert(key, v);
            }
        }
        if streamed {
            let kind = fields.get("kind").and_then(Value::as_str).unwrap_or("");
            if !kind.ends_with("List") {
                let e = format!(
                    "{}: has items but kind {kind:?} is not a List",
                    self.location
                );
                return Err(de::Error::custom(emit_error(e)));
            }
            return Ok(());
        }
        emit(&self.location, Object::Value(Value::Object(fields))).map_err(de::Error::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(emit_error(not_an_object(
            &self.location,
            "string",
        ))))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(emit_error(not_an_object(
            &self.location,
            "boolean",
        ))))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(emit_error(not_an_object(
            &self.location,
            "number",
        ))))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(emit_error(not_an_object(
            &self.location,
            "number",
        ))))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(emit_error(not_an_object(
            &self.location,
            "number",
        ))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(emit_error(not_an_object(
            &self.location,
            "list",
        ))))
    }
}

/// Record a document-level error as the sink's, so it is reported as written.
fn emit_error(e: String) -> String {
    STATE.with(|s| {
        if let Some(st) = s.borrow_mut().as_mut() {
            st.error.get_or_insert(e.clone());
        }
    });
    e
}

struct Items<'a> {
    location: &'a str,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of Kubernetes objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let json = STATE.with(|s| s.borrow().as_ref().is_some_and(|st| st.json));
        let mut i = 0;
        loop {
            // Only serde_json's deserializer gives an item's text (`RawValue`).
            let item = if json {
                seq.next_element::<&'de RawValue>()?
                    .map(|raw| Object::Json(raw.get()))
            } else {
                seq.next_element::<Value>()?.map(Object::Value)
            };
            let Some(item) = item else {
                return Ok(());
            };
            i += 1;
            emit(&format!("{}, item {i}", self.location), item).map_err(de::Error::custom)?;
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(emit_error(format!(
            "{}: items must be a list",
            self.location
        ))))
    }
}

/// Read a YAML stream with the fast reader (`crate::yaml::fast`, issue 16), each object going to
/// the sink as [`Doc`] sends it, with the same locations and errors. `None`: the reader gave
/// up on this input, and the caller must drop what the sink received and read it again with
/// serde-saphyr.
pub fn read_fast(text: &str) -> Option<Result<(), String>> {
    use crate::yaml::fast::Halt;
    match read_fast_documents(text) {
        Ok(()) => Some(Ok(())),
        Err(Halt::Stop(e)) => Some(Err(e)),
        Err(Halt::Unsupported { line, what }) => {
            tracing::debug!("fast YAML reader: line {line}: {what}; reading with serde-saphyr");
            None
        }
    }
}

fn read_fast_documents(text: &str) -> Result<(), crate::yaml::fast::Halt> {
    use crate::yaml::fast::{Halt, Reader, Top};
    let mut reader = Reader::new(text)?;
    while let Some(top) = reader.next_document()? {
        if top == Top::Empty {
            continue;
        }
        let location = format!("document {}", next_document());
        let mut fields = Map::new();
        let mut streamed = false;
        while let Some(key) = reader.next_key()? {
            if fields.contains_key(&key) || (streamed && key == "items") {
                return Err(Halt::Unsupported {
                    line: 0,
                    what: "a duplicate key",
                });
            }
            if key == "items" {
                let mut i = 0;
                reader.each_item(&mut |v| {
                    i += 1;
                    emit(&format!("{location}, item {i}"), Object::Value(v))
                })?;
                streamed = true;
            } else {
                let v = reader.value()?;
                fields.insert(key, v);
            }
        }
        if streamed {
            let kind = fields.get("kind").and_then(Value::as_str).unwrap_or("");
            if !kind.ends_with("List") {
                let e = format!("{location}: has items but kind {kind:?} is not a List");
                return Err(Halt::Stop(emit_error(e)));
            }
            continue;
        }
        emit(&location, Object::Value(Value::Object(fields))).map_err(Halt::Stop)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
