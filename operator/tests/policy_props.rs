//! Any SecurityPolicy spec, however wrong: values of the wrong type, huge lists, bad globs and
//! durations, unknown check IDs, expired or unparsable dates, unicode, empty strings. Read as
//! `--policy FILE` reads it, deserialized, compiled and (when it compiles) audited against a
//! small fixed snapshot: never a panic, every error names its `spec.` field, compiling takes a
//! bounded time, and what compiles is safe for the controller and the audit to use.

use kube_posture::api::SecurityPolicySpec;
use kube_posture::audit::{AuditInput, run};
use kube_posture::policy::{
    EffectivePolicy, MAX_INTERVAL, MIN_INTERVAL, PolicyErrors, PolicyFileError, load_policy_file,
};
use kube_posture::snapshot::{LoadStats, Snapshot, load_paths, load_str};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Sanity cap on compiling one spec: a hang or a blow-up, not a benchmark.
const SANITY: Duration = Duration::from_secs(10);

/// The spec's fields, as error paths name them.
const SPEC_FIELDS: &[&str] = &[
    "checks",
    "severityOverrides",
    "namespaces",
    "requiredDaemonSets",
    "exceptions",
    "remediation",
    "failureThreshold",
    "interval",
    "findingLimit",
    "images",
];

/// Near misses and hostile values, tried in every string field.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "RBAC-999",
    "rbac-001",
    "RBAC-0001",
    "API-",
    "Critical",
    "urgent",
    "29s",
    "0s",
    "-1h",
    "1y",
    "1h 30m",
    "PT10M",
    "8761h",
    "10000000000000000000s",
    "18446744073709551616s",
    "99999999999999999999999h",
    "2027-02-30",
    "2027-13-01",
    "2026-11-28T12:00:00Z",
    "9999-12-31T23:59:59Z",
    "-009999-01-01T00:00:00Z",
    "+999999-01-01",
    "2027-03-31T25:00:00Z",
    "next year",
    "[",
    "a[b",
    "{a,b",
    "{a,{b,c}}",
    "**/x",
    "[z-a]",
    "[!]",
    "a\\",
    "\\",
    "\u{0}",
    "\u{202e}x",
    "🦀",
    "é",
];

// What each field expects, so that many generated specs compile and reach the audit.
const SELECTORS: &[&str] = &[
    "RBAC-001",
    "RBAC-030",
    "API-001",
    "API-015",
    "WL-001",
    "WL-006",
    "WL-013",
    "POL-001",
    "POL-002",
    "DS-001",
    "ETCD-008",
    "rbac",
    "workload",
    "workload-restricted",
    "policy",
    "daemonset",
    "node",
    "apiserver",
];
const IDS: &[&str] = &[
    "RBAC-001", "RBAC-030", "API-001", "API-015", "WL-001", "WL-006", "WL-013", "POL-001",
    "POL-002", "DS-001", "ETCD-008", "CM-001",
];
const WAIVED: &[&str] = &["*", "RBAC-001", "WL-001", "WL-013", "POL-002", "API-015"];
const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info"];
const NAMESPACES: &[&str] = &[
    "app",
    "team-*",
    "kube-*",
    "*",
    "{app,team-a}",
    "te?m-a",
    "[a-z]*",
];
const NAMES: &[&str] = &[
    "web",
    "api",
    "break-glass-*",
    "falco",
    "cp1",
    "*",
    "kube-apiserver-*",
];
const KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "ClusterRoleBinding",
    "RoleBinding",
    "Node",
];
const DATES: &[&str] = &[
    "2027-03-31T00:00:00Z",
    "2027-03-31",
    "2020-01-01",
    "2026-11-28",
];
const INTERVALS: &[&str] = &["10m", "30s", "1h30m", "8760h", "45s500ms"];

/// One of `valid`; outside `Mode::Valid`, sometimes any hostile string.
fn word(mode: Mode, valid: &'static [&'static str]) -> BoxedStrategy<String> {
    let valid = prop::sample::select(valid).prop_map(String::from);
    match mode {
        Mode::Valid => valid.boxed(),
        _ => prop_oneof![6 => valid, 1 => text()].boxed(),
    }
}

/// Hostile strings of every kind, some thousands of characters long.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        7 => short_text(),
        1 => (prop::sample::select(SELECTORS), 0..3000usize).prop_map(|(s, n)| s.repeat(n)),
    ]
    .boxed()
}

/// Hostile strings short enough to be YAML keys (at most 1024 characters).
fn short_text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => prop::sample::select(HOSTILE).prop_map(String::from),
        2 => any::<String>(),
        2 => "[a-z0-9*?{},!\\[\\]\\\\-]{0,16}",
    ]
    .boxed()
}

/// Any JSON value: what a field of the wrong type holds.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(short_text(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// How wrong a generated spec may be: not at all (though its lists may be long, its globs and
/// durations odd), in its values, or in its shape too (wrong types, missing required fields,
/// fields the schema does not know).
#[derive(Clone, Copy, Debug)]
enum Mode {
    Valid,
    Typed,
    Chaos,
}

/// An optional field: usually of the expected shape, sometimes absent, and in chaos mode
/// sometimes anything at all.
fn field(mode: Mode, expected: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    match mode {
        Mode::Valid | Mode::Typed => {
            prop_oneof![1 => Just(None), 4 => expected.prop_map(Some)].boxed()
        }
        Mode::Chaos => prop_oneof![
            1 => Just(None),
            4 => expected.prop_map(Some),
            2 => any_json().prop_map(Some),
        ]
        .boxed(),
    }
}

/// A required field: present and well-typed unless in chaos mode.
fn required(mode: Mode, expected: BoxedStrategy<Value>) -> BoxedStrategy<Option<Value>> {
    match mode {
        Mode::Valid | Mode::Typed => expected.prop_map(Some).boxed(),
        Mode::Chaos => field(mode, expected),
    }
}

/// An object of the given fields; in chaos mode, now and then with one more.
fn object(
    mode: Mode,
    fields: Vec<(&'static str, BoxedStrategy<Option<Value>>)>,
) -> BoxedStrategy<Value> {
    let (names, values): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
    let extra = match mode {
        Mode::Valid | Mode::Typed => Just(None).boxed(),
        Mode::Chaos => prop::option::weighted(0.1, (short_text(), any_json())).boxed(),
    };
    (values, extra)
        .prop_map(move |(values, extra)| {
            let mut map = Map::new();
            for (name, value) in names.iter().zip(values) {
                if let Some(v) = value {
                    map.insert(name.to_string(), v);
                }
            }
            if let Some((k, v)) = extra {
                map.insert(k, v);
            }
            Value::Object(map)
        })
        .boxed()
}

/// A list: mostly short, sometimes hundreds long.
fn list(item: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![
        8 => prop::collection::vec(item.clone(), 0..5),
        1 => prop::collection::vec(item, 0..400),
    ]
    .prop_map(Value::from)
    .boxed()
}

fn string(mode: Mode, valid: &'static [&'static str]) -> BoxedStrategy<Value> {
    word(mode, valid).prop_map(Value::from).boxed()
}

fn spec_in(mode: Mode) -> BoxedStrategy<Value> {
    let selection = |valid| {
        object(
            mode,
            vec![
                ("include", field(mode, list(string(mode, valid)))),
                ("exclude", field(mode, list(string(mode, valid)))),
            ],
        )
    };
    let severity_override = object(
        mode,
        vec![
            ("check", required(mode, string(mode, IDS))),
            ("severity", required(mode, string(mode, SEVERITIES))),
        ],
    );
    let key =
        prop_oneof![6 => prop::sample::select(NAMES).prop_map(String::from), 1 => short_text()];
    let labels = prop::collection::btree_map(key, word(mode, NAMES), 0..3)
        .prop_map(|m| json!(m))
        .boxed();
    let daemon_set = object(
        mode,
        vec![
            ("namespace", required(mode, string(mode, NAMESPACES))),
            ("name", required(mode, string(mode, NAMES))),
            ("nodeSelector", field(mode, labels)),
        ],
    );
    let resource = object(
        mode,
        vec![
            ("kind", field(mode, string(mode, KINDS))),
            ("namespace", field(mode, string(mode, NAMESPACES))),
            ("name", field(mode, string(mode, NAMES))),
        ],
    );
    let exception = object(
        mode,
        vec![
            ("check", required(mode, string(mode, WAIVED))),
            ("resource", field(mode, resource)),
            ("reason", required(mode, string(mode, NAMES))),
            ("expires", field(mode, string(mode, DATES))),
        ],
    );
    let remediation = object(
        mode,
        vec![(
            "events",
            field(mode, any::<bool>().prop_map(Value::from).boxed()),
        )],
    );
    let finding_limit = match mode {
        Mode::Valid => (0..=10_000u32).prop_map(Value::from).boxed(),
        _ => prop_oneof![
            4 => (0..12_000u32).prop_map(Value::from),
            1 => Just(Value::from(u32::MAX)),
        ]
        .boxed(),
    };
    object(
        mode,
        vec![
            ("checks", field(mode, selection(SELECTORS))),
            ("severityOverrides", field(mode, list(severity_override))),
            ("namespaces", field(mode, selection(NAMESPACES))),
            ("requiredDaemonSets", field(mode, list(daemon_set))),
            ("exceptions", field(mode, list(exception))),
            ("remediation", field(mode, remediation)),
            ("failureThreshold", field(mode, string(mode, SEVERITIES))),
            ("interval", field(mode, string(mode, INTERVALS))),
            ("findingLimit", field(mode, finding_limit)),
        ],
    )
}

fn spec() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => spec_in(Mode::Valid),
        2 => spec_in(Mode::Typed),
        1 => spec_in(Mode::Chaos),
    ]
}

/// A small cluster with something for most check families to find.
static SNAPSHOT: LazyLock<Snapshot> = LazyLock::new(|| {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kubeadm-1.30");
    let (mut snapshot, _) = load_paths(&[fixtures]).expect("kubeadm fixtures load");
    let extra = r#"
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: app}}
- {apiVersion: v1, kind: Namespace, metadata: {name: team-a}}
- {apiVersion: v1, kind: Node, metadata: {name: cp1, labels: {kubernetes.io/os: linux}}}
- apiVersion: v1
  kind: Pod
  metadata: {name: web, namespace: app}
  spec: {containers: [{name: c, image: nginx, securityContext: {privileged: true}}]}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: api, namespace: team-a}
  spec:
    selector: {matchLabels: {a: b}}
    template:
      metadata: {labels: {a: b}}
      spec: {hostNetwork: true, containers: [{name: c, image: 'api:1'}]}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata: {name: break-glass-ops}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
  subjects: [{kind: ServiceAccount, name: default, namespace: app}]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata: {name: edit, namespace: team-a}
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
  subjects: [{kind: User, name: bob, apiGroup: rbac.authorization.k8s.io}]
"#;
    let mut stats = LoadStats::default();
    load_str(Path::new("extra.yaml"), extra, &mut snapshot, &mut stats).expect("extra loads");
    snapshot
});

fn now() -> jiff::Timestamp {
    "2026-11-28T12:00:00Z".parse().expect("timestamp")
}

fn policy_file(spec: &Value) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("kp-policy-props-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{}.yaml", NEXT.fetch_add(1, Ordering::Relaxed)));
    let manifest = json!({
        "apiVersion": "kubeposture.io/v1alpha1",
        "kind": "SecurityPolicy",
        "metadata": {"name": "generated"},
        "spec": spec,
    });
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&manifest).expect("JSON"),
    )
    .expect("write");
    path
}

/// `spec.<one of the spec's fields>…`
fn names_a_spec_field(text: &str) -> bool {
    // An unknown field is named by its path (an empty key as `spec.""`).
    if let Some((_, fields)) = text.split_once("unknown field(s) ") {
        return fields
            .split(", ")
            .all(|f| f.strip_prefix("spec.").is_some_and(|rest| !rest.is_empty()));
    }
    text.match_indices("spec.").any(|(i, _)| {
        let rest = &text[i + "spec.".len()..];
        SPEC_FIELDS.iter().any(|f| {
            rest.strip_prefix(f)
                .is_some_and(|r| r.is_empty() || r.starts_with(['.', '[', ':', ' ', ',']))
        })
    })
}

fn longest_key(v: &Value) -> usize {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| k.chars().count().max(longest_key(v)))
            .max()
            .unwrap_or(0),
        Value::Array(a) => a.iter().map(longest_key).max().unwrap_or(0),
        _ => 0,
    }
}

fn assert_fields_named(errors: &PolicyErrors) {
    assert!(!errors.0.is_empty());
    for e in &errors.0 {
        assert!(names_a_spec_field(&e.field), "unnamed field in {e}");
    }
}

fn compile_bounded(spec: &SecurityPolicySpec) -> Result<EffectivePolicy, PolicyErrors> {
    let start = Instant::now();
    let result = EffectivePolicy::compile("generated", spec);
    let took = start.elapsed();
    assert!(took < SANITY, "compile took {took:?}");
    result
}

/// What the controller and the audit rely on in a compiled policy.
fn assert_usable(policy: &EffectivePolicy) {
    assert!((MIN_INTERVAL..=MAX_INTERVAL).contains(&policy.interval));
    assert!(Instant::now().checked_add(policy.interval).is_some());
    assert!(policy.finding_limit <= 10_000);
    let report = run(&AuditInput::offline(&SNAPSHOT, policy, now()));
    let s = &report.summary;
    assert_eq!(s.total + s.suppressed, report.findings.len() as u64);
    assert_eq!(s.critical + s.high + s.medium + s.low + s.info, s.total);
    assert!(report.score <= 100);
    for f in &report.findings {
        assert!(
            policy.is_enabled(f.check),
            "{} reported but not enabled",
            f.check
        );
        assert!(!f.suppressed || !policy.exceptions.is_empty());
    }
}

fn check_spec(spec: &Value) {
    // (a) As the controller's client would: straight from JSON.
    let direct = serde_json::from_value::<SecurityPolicySpec>(spec.clone());

    // (b) As `--policy FILE` does: YAML parse, unknown fields refused, compile.
    let path = policy_file(spec);
    let from_file = load_policy_file(&path);
    std::fs::remove_file(&path).expect("remove");
    match &from_file {
        Ok((_, policy)) => assert_usable(policy),
        Err(PolicyFileError::Invalid { errors, .. }) => assert_fields_named(errors),
        // The file is JSON, which YAML reads, except keys over YAML's 1024-character limit
        // on implicit keys (no field or label key comes near it).
        Err(e @ PolicyFileError::Parse { message, .. })
            if message.starts_with("not valid YAML or JSON") =>
        {
            assert!(longest_key(spec) > 1024, "{e}")
        }
        Err(e @ PolicyFileError::Parse { .. }) => {
            assert!(names_a_spec_field(&e.to_string()), "unnamed field in {e}")
        }
        Err(e) => panic!("{e}"),
    }

    // (c) Compiled and audited.
    if let Ok(spec) = direct {
        match compile_bounded(&spec) {
            Ok(policy) => assert_usable(&policy),
            Err(errors) => {
                assert_fields_named(&errors);
                assert!(from_file.is_err(), "the file's copy compiled: {errors}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_spec_is_refused_naming_its_field_or_audited(spec in spec()) {
        check_spec(&spec);
    }
}

/// Lists four times the CRD's `maxItems` (a `--policy` file has no such limit). Compiling is
/// linear in them (an exception's glob is one matcher): the sanity cap is far off.
#[test]
fn huge_lists_compile_in_bounded_time() {
    let n = 2000;
    let ids: Vec<&str> = SELECTORS.iter().chain(HOSTILE).copied().collect();
    let pick = |i: usize| ids[i % ids.len()];
    let spec = json!({
        "checks": {"include": (0..n).map(pick).collect::<Vec<_>>(),
                   "exclude": (0..n).map(|i| pick(i + 1)).collect::<Vec<_>>()},
        "severityOverrides": (0..n).map(|i| json!({"check": pick(i), "severity": "low"})).collect::<Vec<_>>(),
        "namespaces": {"include": (0..n).map(|i| format!("team-{i}-*")).collect::<Vec<_>>(),
                       "exclude": (0..n).map(|i| format!("{{a,b}}-{i}-[0-9]?")).collect::<Vec<_>>()},
        "requiredDaemonSets": (0..n).map(|i| json!({"namespace": "ns", "name": format!("ds-{}", i % 1000)})).collect::<Vec<_>>(),
        "exceptions": (0..n).map(|i| json!({"check": pick(i), "resource": {"name": format!("{}*", pick(i))}, "reason": pick(i + 2), "expires": pick(i + 3)})).collect::<Vec<_>>(),
    });
    let spec: SecurityPolicySpec = serde_json::from_value(spec).expect("well-typed");
    let errors = compile_bounded(&spec).expect_err("duplicates and unknown IDs");
    assert_fields_named(&errors);
    // Every duplicate DaemonSet and every unknown override is named, none dropped.
    let duplicates = errors
        .0
        .iter()
        .filter(|e| e.field.starts_with("spec.requiredDaemonSets[") && e.message.contains("twice"))
        .count();
    assert_eq!(duplicates, 1000);
}

/// The same lists, all valid: compiled, then used by the audit.
#[test]
fn huge_valid_lists_compile_and_audit() {
    let n = 2000;
    let spec = json!({
        "checks": {"include": ["rbac", "workload", "policy"]},
        "namespaces": {"include": (0..n).map(|i| format!("team-{i}*")).chain(["app".to_string()]).collect::<Vec<_>>()},
        "exceptions": (0..n).map(|i| json!({"check": "*", "resource": {"name": format!("x-{i}-*")}, "reason": "r", "expires": "2030-01-01"})).collect::<Vec<_>>(),
    });
    let spec: SecurityPolicySpec = serde_json::from_value(spec).expect("well-typed");
    let policy = compile_bounded(&spec).expect("valid");
    assert!(policy.namespaces.contains("team-42a") && !policy.namespaces.contains("dev"));
    assert_usable(&policy);
}
