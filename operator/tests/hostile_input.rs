//! Hostile cluster objects through the loader and the audit: huge values, deep nesting, alias
//! bombs, enormous lists, pathological flags and names. Each must give an error naming the file
//! or a report: never a panic, a stack overflow or memory out of proportion to the input.
//!
//! Bounds are counts: bytes allocated at the peak (a counting allocator below), findings,
//! objects. The only clock is a sanity cap of 10 s per case, far above what any case takes.

use kube_posture::audit::nodes::ReleaseData;
use kube_posture::audit::{AuditInput, Finding, Report, run};
use kube_posture::policy::EffectivePolicy;
use kube_posture::report::{Context, Format, render};
use kube_posture::snapshot::{LoadError, LoadStats, Snapshot, load_paths, load_str};
use serde_json::{Value, json};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Counts the bytes each thread has allocated and not freed, and the peak of that count.
struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to `System`; the bookkeeping never allocates.
// (A counting allocator measures memory bounds: the one place this test needs unsafe code.)
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Run `f` on this thread and return the most bytes it held allocated at once.
fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    let peak = PEAK.with(Cell::get) - base;
    (out, peak.max(0) as usize)
}

const MIB: usize = 1024 * 1024;
/// Sanity cap on a case's wall time: a hang or a quadratic blow-up, not a benchmark.
const SANITY: Duration = Duration::from_secs(10);

/// Run a case on a thread with a 2 MiB stack, as the loader's workers and tokio's have, and
/// check the sanity cap.
fn bounded<T: Send>(what: &str, f: impl FnOnce() -> T + Send) -> T {
    let start = Instant::now();
    let out = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name(what.to_string())
            .stack_size(2 * MIB)
            .spawn_scoped(s, f)
            .expect("spawn")
            .join()
            .unwrap_or_else(|_| panic!("{what}: panicked"))
    });
    let took = start.elapsed();
    assert!(took < SANITY, "{what}: {took:?}");
    out
}

fn load(name: &str, text: &str) -> Result<Snapshot, LoadError> {
    let mut snapshot = Snapshot::default();
    let mut stats = LoadStats::default();
    load_str(Path::new(name), text, &mut snapshot, &mut stats).map(|_| snapshot)
}

fn now() -> jiff::Timestamp {
    "2026-11-28T12:00:00Z".parse().expect("timestamp")
}

/// The default-policy audit.
fn audit(snapshot: &Snapshot) -> Report {
    let policy = EffectivePolicy::default_policy();
    run(&AuditInput {
        snapshot,
        policy: &policy,
        now: now(),
        release_data: ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    })
}

/// The audit, rendered in every format: the renderers see the hostile values too.
fn audit_and_render(snapshot: &Snapshot) -> Report {
    let report = audit(snapshot);
    let source_of = |_: &Finding| {
        Some(kube_posture::report::Source {
            file: "hostile.yaml".to_string(),
            line: Some(1),
        })
    };
    let ctx = Context {
        policy: "default",
        audit_time: now(),
        source_of: &source_of,
        color: true,
        input_errors: &[],
    };
    for format in [
        Format::Table,
        Format::Json,
        Format::Yaml,
        Format::Sarif,
        Format::Junit,
    ] {
        assert!(!render(&report, format, &ctx).is_empty());
    }
    report
}

fn count(report: &Report, check: &str) -> usize {
    report.findings.iter().filter(|f| f.check == check).count()
}

fn json_text(v: &Value) -> String {
    serde_json::to_string(v).expect("JSON")
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kp-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

// --- Huge values -----------------------------------------------------------------------------

#[test]
fn a_10_mb_annotation_loads_and_audits_in_proportionate_memory() {
    let big = "x".repeat(10 * MIB);
    let pod = |name: &str| {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "app", "annotations": {
                "big": big,
                "kubectl.kubernetes.io/last-applied-configuration": big,
            }},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                                     "securityContext": {"privileged": true}}]},
        })
    };
    let json = json_text(&pod("p"));
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: app\n  annotations:\n    big: {big}\n    other: \"{big}\"\nspec:\n  containers: [{{name: c, image: 'nginx:1.27', securityContext: {{privileged: true}}}}]\n"
    );
    for (name, text) in [("big.json", &json), ("big.yaml", &yaml)] {
        let (report, peak) = bounded(name, || {
            peak_bytes(|| audit_and_render(&load(name, text).expect("loads")))
        });
        assert_eq!(count(&report, "WL-001"), 1, "{name}");
        assert!(
            peak < 8 * text.len(),
            "{name}: {peak} bytes at peak for {} of input",
            text.len()
        );
    }
}

// --- Nesting ---------------------------------------------------------------------------------

/// A Namespace whose unknown field `spec.x` is nested `depth` deep, in flow or block style.
fn nested_yaml(depth: usize, flow: bool) -> String {
    let mut y = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: deep}\nspec:\n");
    if flow {
        let _ = writeln!(y, "  x: {}{}", "[".repeat(depth), "]".repeat(depth));
    } else {
        for i in 0..depth {
            let _ = writeln!(y, "{}k{i}:", "  ".repeat(i + 1));
        }
    }
    y
}

#[test]
fn yaml_nested_200_deep_loads_on_a_2_mib_stack() {
    for flow in [true, false] {
        let text = nested_yaml(200, flow);
        let report = bounded("nested 200", || {
            audit_and_render(&load("deep.yaml", &text).expect("loads"))
        });
        assert_eq!(report.findings.len(), count(&report, "WL-013"));
    }
}

#[test]
fn yaml_deeper_than_the_budget_is_an_error_naming_the_file() {
    for (depth, flow) in [(257, false), (256, true), (300, false), (100_000, true)] {
        let text = nested_yaml(depth, flow);
        let path = temp_file("deep.yaml", &text);
        let e =
            bounded("too deep", || load_paths(std::slice::from_ref(&path))).expect_err("refused");
        assert!(matches!(e, LoadError::Yaml { .. }), "{e}");
        assert!(
            e.to_string().starts_with(&path.display().to_string()),
            "{e}"
        );
    }
}

#[test]
fn an_annotation_nested_instead_of_a_string_is_an_error_naming_the_object() {
    let mut text = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: app\n  annotations:\n    a:\n",
    );
    for i in 0..200 {
        let _ = writeln!(text, "{}k{i}:", "  ".repeat(i + 3));
    }
    let e = bounded("nested annotation", || load("ann.yaml", &text)).expect_err("refused");
    assert!(
        e.to_string()
            .starts_with("ann.yaml: document 1: Pod p: invalid type: map"),
        "{e}"
    );
}

#[test]
fn json_nested_beyond_serde_json_limit_is_an_error_naming_the_file() {
    let mut text =
        String::from(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"d"},"x":"#);
    text.push_str(&"[".repeat(100_000));
    text.push_str(&"]".repeat(100_000));
    text.push('}');
    let e = bounded("deep json", || load("deep.json", &text)).expect_err("refused");
    assert!(
        e.to_string().starts_with("deep.json: not valid JSON"),
        "{e}"
    );
}

// --- Alias bombs -----------------------------------------------------------------------------

#[test]
fn billion_laughs_is_refused_in_bounded_memory() {
    let mut text =
        String::from("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: lol\n  a0: &a0 lol\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        let _ = writeln!(text, "  a{i}: &a{i} [{refs}]");
    }
    text.push_str("  bomb: [*a9, *a9, *a9, *a9, *a9, *a9, *a9, *a9, *a9, *a9]\n");
    let (result, peak) = bounded("laughs", || peak_bytes(|| load("laughs.yaml", &text)));
    let e = result.expect_err("refused");
    assert!(
        e.to_string().starts_with("laughs.yaml: not valid YAML"),
        "{e}"
    );
    assert!(peak < 256 * MIB, "{peak} bytes at peak");
}

#[test]
fn one_big_scalar_aliased_many_times_is_refused_before_it_is_copied() {
    // 10 MiB anchored once and aliased 5,000 times (with enough anchors to pass the
    // alias/anchor ratio) would be 50 GB of strings.
    let mut text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: big\n  x: &big {}\n",
        "y".repeat(10 * MIB)
    );
    for i in 0..500 {
        let _ = writeln!(text, "  a{i}: &a{i} z");
    }
    let _ = writeln!(text, "  bomb: [{}]", vec!["*big"; 5000].join(","));
    let (result, peak) = bounded("big alias", || peak_bytes(|| load("amplify.yaml", &text)));
    let e = result.expect_err("refused").to_string();
    assert!(
        e.starts_with("amplify.yaml: not valid YAML") && e.contains("alias"),
        "{e}"
    );
    assert!(peak < 4 * text.len() + 64 * MIB, "{peak} bytes at peak");
}

#[test]
fn a_few_aliases_of_ordinary_size_still_load() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: rbac.authorization.k8s.io/v1\n  kind: ClusterRole\n  metadata: {name: a, labels: &l {team: a}}\n  rules: [{apiGroups: [''], resources: &r [pods, secrets], verbs: [get]}, {apiGroups: [apps], resources: *r, verbs: [list]}]\n- apiVersion: rbac.authorization.k8s.io/v1\n  kind: ClusterRole\n  metadata: {name: b, labels: *l}\n  rules: []\n";
    let s = load("anchors.yaml", text).expect("loads");
    assert_eq!(s.cluster_roles.len(), 2);
    assert_eq!(
        s.cluster_roles[1].metadata.labels,
        s.cluster_roles[0].metadata.labels
    );
    let rules = s.cluster_roles[0].rules.as_deref().unwrap_or_default();
    assert_eq!(rules[0].resources, rules[1].resources);
}

// --- Enormous lists --------------------------------------------------------------------------

#[test]
fn a_pod_with_10000_containers_is_one_finding_naming_the_first_and_counting_the_rest() {
    let containers: Vec<Value> = (0..10_000)
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx:1.27", "securityContext": {"privileged": true}}))
        .collect();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "wide", "namespace": "app"},
                     "spec": {"containers": containers}});
    let text = json_text(&pod);
    let report = bounded("10000 containers", || {
        audit(&load("wide.json", &text).expect("loads"))
    });
    // One finding per (check, workload), naming the first containers and counting the rest
    // (issue 12: a finding stays within its bounds, nothing is dropped unsaid).
    let wl001: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.check == "WL-001")
        .collect();
    assert_eq!(wl001.len(), 1);
    let (message, container) = (&wl001[0].message, wl001[0].container.as_deref().unwrap());
    assert!(
        message.contains("c0, c1,") && message.ends_with(", c19, … and 9980 more"),
        "{message}"
    );
    assert!(container.ends_with(",c19,… and 9980 more"), "{container}");
}

#[test]
fn a_role_binding_with_10000_subjects_reports_each_one() {
    let subjects: Vec<Value> = (0..10_000)
        .map(|i| match i % 3 {
            0 => json!({"kind": "ServiceAccount", "name": format!("sa{i}")}),
            1 => json!({"kind": "User", "name": format!("user{i}"), "apiGroup": "rbac.authorization.k8s.io"}),
            _ => json!({"kind": "Group", "name": format!("group{i}"), "apiGroup": "rbac.authorization.k8s.io"}),
        })
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "everyone", "namespace": "app"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": subjects},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "pods-everywhere"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
         "subjects": subjects},
    ]});
    let text = json_text(&list);
    let report = bounded("10000 subjects", || {
        audit(&load("subjects.json", &text).expect("loads"))
    });
    let everyone = report
        .findings
        .iter()
        .filter(|f| f.check == "RBAC-001" && f.resource.name == "everyone")
        .count();
    assert_eq!(everyone, 10_000);
}

/// ClusterRoles aggregating each other: `ring` (each the next), `clique` (each all others).
fn aggregation(n: usize, shape: &str) -> String {
    let mut y = String::new();
    for i in 0..n {
        let (label, selector) = match shape {
            "ring" => (format!("r{i}"), format!("r{}", (i + 1) % n)),
            "chain" => (format!("r{i}"), format!("r{}", i + 1)),
            _ => ("all".to_string(), "all".to_string()),
        };
        let rule = if i == n - 1 {
            "[{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]"
        } else {
            "[]"
        };
        let _ = write!(
            y,
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: role-{i}, labels: {{agg: '{label}'}}}}\naggregationRule: {{clusterRoleSelectors: [{{matchLabels: {{agg: '{selector}'}}}}]}}\nrules: {rule}\n"
        );
    }
    y.push_str("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: role-0}\nsubjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]\n");
    y
}

#[test]
fn cyclic_aggregation_among_100_cluster_roles_terminates() {
    for shape in ["ring", "clique"] {
        let text = aggregation(100, shape);
        let report = bounded(shape, || audit(&load("agg.yaml", &text).expect("loads")));
        // role-0 reaches role-99's `*` rule through the selectors, whatever the cycle.
        let alice =
            |f: &&std::sync::Arc<Finding>| f.subject.as_ref().is_some_and(|s| s.name == "alice");
        assert!(
            report
                .findings
                .iter()
                .filter(alice)
                .any(|f| f.check == "RBAC-001"),
            "{shape}"
        );
    }
}

#[test]
fn an_aggregation_chain_1000_long_does_not_exhaust_the_stack() {
    let text = aggregation(1000, "chain");
    let report = bounded("chain", || {
        audit(&load("chain.yaml", &text).expect("loads"))
    });
    assert_eq!(count(&report, "RBAC-001"), 1);
}

// --- Control-plane flags ---------------------------------------------------------------------

fn apiserver(args: Vec<String>, env: Vec<Value>) -> String {
    json_text(&json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kube-apiserver-cp1", "namespace": "kube-system",
                     "labels": {"component": "kube-apiserver"}},
        "spec": {"nodeName": "cp1", "containers": [{
            "name": "kube-apiserver", "image": "registry.k8s.io/kube-apiserver:v1.30.4",
            "command": ["kube-apiserver"], "args": args, "env": env}]},
    }))
}

#[test]
fn pathological_flag_strings_are_parsed_in_bounded_time() {
    let mut args: Vec<String> = vec!["--x".to_string(); 100_000];
    args.extend(
        [
            "=",
            "==",
            "--=",
            "--=x",
            "-",
            "---",
            "",
            " ",
            "--\u{0}",
            "-=-",
            "--é=ü",
            "--anonymous-auth=ｆａｌｓｅ",
            "--🦀",
            "--\u{202e}x=y",
            "--a=b=c",
            "--profiling=",
        ]
        .map(String::from),
    );
    args.push(format!(
        "--tls-cipher-suites={}",
        "TLS_RSA_WITH_RC4_128_SHA,".repeat(MIB / 25)
    ));
    args.push(format!("--bind-address={}", "9".repeat(MIB)));
    args.push(format!("--enable-admission-plugins={}", ",".repeat(MIB)));
    args.push(format!("--authorization-mode={}", "Node,".repeat(MIB / 5)));
    // The last occurrence wins, whatever came before.
    args.push("--anonymous-auth=false".to_string());
    let env = (0..10_000)
        .map(|i| json!({"name": format!("ETCD_X{i}"), "value": "é"}))
        .collect();
    let text = apiserver(args, env);
    let report = bounded("flags", || {
        audit_and_render(&load("flags.json", &text).expect("loads"))
    });
    assert_eq!(count(&report, "API-001"), 0, "--anonymous-auth=false read");
    assert!(count(&report, "API-002") <= 1);
}

#[test]
fn a_shell_script_of_100000_words_is_parsed_in_bounded_time() {
    let script = format!(
        "exec kube-apiserver {} --anonymous-auth=false",
        "--x ".repeat(100_000)
    );
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "kube-apiserver-cp1", "namespace": "kube-system"},
        "spec": {"containers": [{"name": "a", "command": ["/bin/sh", "-c", script]}]},
    });
    let text = json_text(&pod);
    let report = bounded("script", || {
        audit(&load("script.json", &text).expect("loads"))
    });
    assert_eq!(count(&report, "API-001"), 0);
}

// --- Names -----------------------------------------------------------------------------------

#[test]
fn lone_surrogates_are_an_error_naming_the_file() {
    let json = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a\ud800b"}}"#;
    let e = load("surrogate.json", json).expect_err("refused");
    assert!(
        e.to_string().starts_with("surrogate.json: not valid JSON"),
        "{e}"
    );
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: \"a\\ud800b\"}\n";
    let e = load("surrogate.yaml", yaml).expect_err("refused");
    assert!(e.to_string().starts_with("surrogate.yaml: "), "{e}");
}

#[test]
fn names_with_control_characters_emoji_and_maximum_length_are_reported_as_written() {
    let names = [
        "ctl-\u{1}\u{7f}\u{9b}-x".to_string(),
        "new\nline\r\ttab".to_string(),
        "🦀-emoji-👩‍👩‍👧".to_string(),
        "\u{202e}reversed".to_string(),
        "\u{feff}bom".to_string(),
        "a".repeat(253),
        "é".repeat(10_000),
        "\"quoted\" 'single' `back` <html> &amp; {{template}}".to_string(),
    ];
    let items: Vec<Value> = names
        .iter()
        .flat_map(|n| {
            [
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}),
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": n, "namespace": n},
                       "spec": {"containers": [{"name": n, "image": n, "securityContext": {"privileged": true}}]}}),
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                       "metadata": {"name": n},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                       "subjects": [{"kind": "ServiceAccount", "name": n, "namespace": n}]}),
            ]
        })
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let json = json_text(&list);
    let yaml = kube_posture::yaml::to_string(&list).expect("YAML");
    for (file, text) in [("names.json", &json), ("names.yaml", &yaml)] {
        let report = bounded(file, || audit_and_render(&load(file, text).expect("loads")));
        for n in &names {
            let by_name = |check: &str| {
                report
                    .findings
                    .iter()
                    .any(|f| f.check == check && &f.resource.name == n)
            };
            assert!(by_name("WL-001") && by_name("RBAC-001"), "{file}: {n:?}");
        }
    }
}
