//! The fast reader against serde-saphyr: whatever it reads, it must read as serde-saphyr does;
//! and it must read what kubectl and serde-saphyr write, or it is no faster.

use super::{Halt, documents};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::Path;

/// serde-saphyr's documents, as the loader sees them (empty documents skipped).
fn saphyr(input: &str) -> Result<Vec<Value>, String> {
    crate::yaml::from_str_multi::<Value>(input)
        .map(|docs| docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Whether the fast reader read `input`; when it did, serde-saphyr reads the same documents.
fn same_as_saphyr(input: &str) -> bool {
    match documents(input) {
        Ok(fast) => {
            assert_eq!(Ok(fast), saphyr(input), "input:\n{input}");
            true
        }
        Err(Halt::Unsupported { .. }) => false,
        Err(e) => panic!("{e:?}"),
    }
}

#[track_caller]
fn read_fast(input: &str) {
    assert!(
        same_as_saphyr(input),
        "the fast reader gave up ({:?}) on:\n{input}",
        documents(input)
    );
}

#[track_caller]
fn left_to_saphyr(input: &str) {
    assert!(
        matches!(documents(input), Err(Halt::Unsupported { .. })),
        "the fast reader read, but should have left to serde-saphyr:\n{input}"
    );
}

const KUBECTL: &str = r#"apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"v1","kind":"Pod"}
      note: 'it''s # not a comment'
    creationTimestamp: "2024-01-02T03:04:05Z"
    labels:
      app.kubernetes.io/name: web
    name: web-0
    namespace: default
    resourceVersion: "123"
  spec:
    containers:
    - args:
      - --port=8080
      - -v
      command: ["/bin/sh"]
      env: []
      image: nginx:1.25
      name: web
      ports:
      - containerPort: 8080
        protocol: TCP
      resources: {}
      securityContext:
        privileged: true
        runAsUser: 0
    volumes:
    - emptyDir: {}
      name: tmp
  status:
    phase: Running
kind: List
metadata:
  resourceVersion: ""
"#;

#[test]
fn kubectl_output_is_read_fast_and_the_same() {
    // Flow sequences with content are serde-saphyr's; without that line, the fast reader's.
    left_to_saphyr(KUBECTL);
    read_fast(&KUBECTL.replace("      command: [\"/bin/sh\"]\n", ""));
}

#[test]
fn scalars_resolve_as_serde_saphyr_resolves_them() {
    let words = [
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "y",
        "Y",
        "n",
        "N",
        "on",
        "On",
        "off",
        "OFF",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "null",
        "Null",
        "NULL",
        "nULL",
        "~",
        "0",
        "-0",
        "+0",
        "007",
        "-007",
        "12",
        "-12",
        "+12",
        "0o17",
        "0O17",
        "0x1F",
        "0X1F",
        "0b101",
        "1_000",
        "1e3",
        "1E3",
        "-1.5",
        "1.",
        ".5",
        "+.5",
        ".inf",
        "-.inf",
        "+.inf",
        ".Inf",
        ".INF",
        ".nan",
        ".NaN",
        "-.nan",
        "inf",
        "infinity",
        "nan",
        "NaN",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "123456789012345678",
        "1:20",
        "1-2",
        "1.2.3",
        "2024-01-02",
        "2024-01-02T03:04:05Z",
        "12:30:00",
        "0.5",
        "500m",
        "1Gi",
        "e3",
        "E",
        ".",
        "-x",
        "+x",
        "_",
        "a b",
        "a:b",
        "a#b",
        "http://x/y?z=1#f",
        "=",
        "<<",
        "\\",
    ];
    for w in words {
        same_as_saphyr(&format!("k: {w}\n"));
        same_as_saphyr(&format!("k:\n- {w}\n"));
        same_as_saphyr(&format!("{w}: v\n"));
    }
    // Found by the proptest below: a key, not a scalar.
    assert!(!super::plain_start("-:"));
    for w in [
        "a b",
        "a:b",
        "web",
        "nginx:1.25",
        "-x",
        "500m",
        "_",
        "a#b",
        "null",
        "~",
        "12",
    ] {
        read_fast(&format!("k: {w}\n"));
    }
}

#[test]
fn quoted_and_block_scalars() {
    for input in [
        "k: \"a\\tb\\n\\\"c\\\"\\\\ \\x41\\u00e9\\U0001F600 \\/ \\0 \\_\"\n",
        "k: 'single ''quoted'' # not a comment'\n",
        "k: \"\"\nl: ''\n",
        "\"quoted key\": 1\n'single': 2\n\"\": 3\n",
        "k: |\n  line 1\n\n  line 3\n",
        "k: |-\n  no final newline\n",
        "k: |+\n  keep\n\n\nnext: 1\n",
        "k: >\n  folded\n  lines\n\n  para\n",
        "k: >-\n  folded\n  strip\n",
        "k: |\n\n  leading empty line\n",
        "k: |2\n   one extra space\n",
        "k: | # comment\n  text\n  # not a comment\n# a comment\nl: 2\n",
        "l:\n- |\n  in a sequence\n- >\n  folded\n  in a sequence\n",
        "m:\n  - a: |\n      nested\n    b: 1\n",
        "k: |\n  tab\tinside\n",
        "k: \"tab\tinside\"\n",
        "k: é\nü: ß\n",
    ] {
        read_fast(input);
    }
}

#[test]
fn structure_and_documents() {
    for input in [
        "",
        "# only a comment\n",
        "---\n",
        "---\na: 1\n---\n---\nb: 2\n...\n",
        "a: 1\n---\nb: 2\n",
        "--- # comment\na: 1\n",
        "a: 1 # comment\nb:\n  # comment\n  c: 2\n    # odd comment\n",
        "a:\n- 1\n- - 2\n  - 3\n-\n- x: 1\n  w:\n  - z\n",
        "a:\n  - 1\n  -\n    b: 2\n",
        "a:\nb: ~\nc: null\n",
        "a: {}\nb: []\n",
        "a: 1\nb: 2",
    ] {
        same_as_saphyr(input);
    }
    read_fast("a: 1\n---\nb: 2\n");
    read_fast("a:\n- 1\n- - 2\n  - 3\n-\n- x: 1\n  w:\n  - z\n");
}

#[test]
fn what_the_fast_reader_leaves_to_serde_saphyr() {
    for input in [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: {b: 1}\n",
        "a: [1, 2]\n",
        "a: multi\n  line\n",
        "a: \"multi\n  line\"\n",
        "a: 1\r\nb: 2\r\n",
        "a:\t1\n",
        "\tb: 1\n",
        "a: 1\na: 2\n",
        "<<:\n  b: 1\n",
        "? a\n: 1\n",
        "- a\n- b\n",
        "just a scalar\n",
        "a: b: c\n",
        "a: 1\n  b: 2\n",
        "\u{feff}a: 1\n",
        "a: 1e999\n",
        "a: |\n  x",
    ] {
        left_to_saphyr(input);
        // And serde-saphyr reads or refuses it as before.
        let _ = saphyr(input);
    }
}

#[test]
fn hostile_nesting_is_left_to_serde_saphyr_budget() {
    let mut deep = String::new();
    for i in 0..300 {
        deep.push_str(&" ".repeat(i));
        deep.push_str("a:\n");
    }
    left_to_saphyr(&deep);
    assert!(saphyr(&deep).is_err());
}

/// Every YAML fixture of the repository: read as serde-saphyr reads it, and most read fast.
#[test]
fn repository_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in [
        "e2e/fixtures",
        "operator/tests/fixtures",
        "config",
        "manifests",
    ] {
        collect_yaml(&root.join(dir), &mut files);
    }
    assert!(files.len() >= 29, "{files:?}");
    let mut slow = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        // Hand-written flow collections (`labels: {a: b}`) are serde-saphyr's.
        let flow = text
            .as_bytes()
            .windows(2)
            .any(|w| matches!(w, [b'{', c] if *c != b'}') || matches!(w, [b'[', c] if *c != b']'));
        if !same_as_saphyr(&text) && !flow {
            slow.push((f.clone(), documents(&text)));
        }
    }
    assert!(slow.is_empty(), "not read fast: {slow:#?}");
}

fn collect_yaml(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_yaml(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
}

#[test]
fn what_serde_saphyr_writes_is_read_fast() {
    let v = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"a": "1", "b": "yes", "c": "", "d": "null"}},
        "data": {"script": "#!/bin/sh\necho hi\n", "n": 5, "f": 1.5, "t": true, "z": null},
        "list": [{"x": [1, [2, 3], {}]}, "s", [], {"y": {"z": "w"}}],
    });
    let text = crate::yaml::to_string(&v).expect("serializes");
    read_fast(&text);
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z0-9 ._:/#'\"\\\\-]{0,12}".prop_map(Value::from),
        "(yes|no|on|off|y|n|~|null|true|0o17|0x1F|1e3|.inf|-.nan|012|1_0|- a|a: b|#c| a|a )"
            .prop_map(Value::from),
        "[\\t\\n é\\u{2028}a]{0,6}".prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z0-9 ._/:-]{1,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Plain scalars that look like numbers: resolved here only when serde-saphyr agrees.
    #[test]
    fn number_like_scalars_resolve_as_serde_saphyr(s in "[-+0-9a-fA-FxXoObB._:~inINmMGi]{1,9}") {
        if super::plain_start(&s)
            && let Some(v) = super::plain_value(&s)
        {
            prop_assert_eq!(Some(v), super::resolve(&s), "{}", s);
        }
    }

    #[test]
    fn written_by_serde_saphyr_read_back_the_same(
        doc in prop::collection::btree_map("[a-z]{1,6}", value(), 1..5)
    ) {
        let doc = Value::Object(doc.into_iter().collect());
        let text = crate::yaml::to_string(&doc).expect("serializes");
        if let Ok(fast) = documents(&text) {
            prop_assert_eq!(Ok(fast), saphyr(&text), "{}", text);
        }
    }
}
