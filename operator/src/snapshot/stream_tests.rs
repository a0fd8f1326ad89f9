//! The fast YAML reader sends the loader what serde-saphyr sends it: the same objects at the
//! same locations, the same document count, the same errors (issue 16).

use super::{Doc, read_fast, with_sink};
use serde_json::Value;
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Debug, PartialEq)]
struct Sent {
    objects: Vec<(String, Value)>,
    ok: bool,
    document_error: Option<String>,
    documents: usize,
}

/// What the sink receives, refusing the object at `refuse` (1-based) if given.
fn sent(input: &str, fast: bool, refuse: Option<usize>) -> Option<Sent> {
    let objects = Rc::new(RefCell::new(Vec::new()));
    let inner = objects.clone();
    let sink: super::Sink = Box::new(move |location, v| {
        let mut o = inner.borrow_mut();
        let super::Object::Value(v) = v else {
            panic!("YAML items are sent as values")
        };
        o.push((location.to_string(), v));
        match refuse {
            Some(n) if o.len() == n => Err(format!("{location}: refused")),
            _ => Ok(()),
        }
    });
    let (parsed, document_error, documents) = with_sink(sink, false, || {
        if fast {
            read_fast(input)
        } else {
            Some(crate::yaml::from_str_multi::<Doc>(input).map(|_| ()))
        }
    });
    let parsed = parsed?;
    let objects = objects.take();
    Some(Sent {
        objects,
        ok: parsed.is_ok(),
        document_error,
        documents,
    })
}

#[track_caller]
fn same(input: &str, refuse: Option<usize>) -> bool {
    let Some(fast) = sent(input, true, refuse) else {
        return false;
    };
    assert_eq!(Some(fast), sent(input, false, refuse), "input:\n{input}");
    true
}

const CASES: &[&str] = &[
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n",
    "---\napiVersion: v1\nkind: Pod\n---\n---\n# c\n---\napiVersion: v1\nkind: Node\n",
    "apiVersion: v1\nitems:\n- kind: Pod\n  apiVersion: v1\n- kind: Node\nkind: List\n",
    "kind: PodList\nitems: []\n",
    "kind: PodList\nitems:\n",
    "items:\n- a: 1\nkind: Pod\n",
    "items:\n- a: 1\n",
    "a: 1\n---\nb: 2\n---\nitems:\n- x: 1\n- y: 2\n- z: 3\nkind: List\n---\nc: 3\n",
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n",
];

#[test]
fn objects_locations_and_errors_match_serde_saphyr() {
    let mut fast = 0;
    for input in CASES {
        for refuse in [None, Some(1), Some(2), Some(4)] {
            fast += usize::from(same(input, refuse));
        }
    }
    assert!(fast >= 28, "{fast} cases read fast");
}

#[test]
fn a_reader_that_gives_up_late_is_not_half_read() {
    // The first document is read and sent before the anchor: the caller drops it.
    assert!(sent("a: 1\n---\nb: &x 2\n", true, None).is_none());
}
