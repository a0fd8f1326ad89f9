//! Arbitrary text through the snapshot loader, read as YAML and as JSON; whatever loads is
//! audited with the default policy and rendered in every output format. Nothing may panic,
//! overflow the stack or run away (libFuzzer's `-timeout` and `-rss_limit_mb` catch the last).
#![no_main]

use kube_posture::audit::nodes::ReleaseData;
use kube_posture::audit::{AuditInput, Finding, run};
use kube_posture::policy::EffectivePolicy;
use kube_posture::report::{Context, Format, render};
use kube_posture::snapshot::{LoadStats, Snapshot, load_str};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::LazyLock;

static POLICY: LazyLock<EffectivePolicy> = LazyLock::new(EffectivePolicy::default_policy);

fuzz_target!(|data: &[u8]| {
    // Files are read with `read_to_string`: input that is not UTF-8 never reaches the parsers.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut audited = false;
    // `.json` takes the JSON parser; `.yaml` takes YAML unless the text starts with `{`.
    for name in ["fuzz.yaml", "fuzz.json"] {
        let mut snapshot = Snapshot::default();
        let mut stats = LoadStats::default();
        if load_str(Path::new(name), text, &mut snapshot, &mut stats).is_ok() && !audited {
            audit_and_render(&snapshot);
            audited = true;
        }
    }
});

fn audit_and_render(snapshot: &Snapshot) {
    let now: jiff::Timestamp = "2026-11-28T12:00:00Z".parse().expect("timestamp");
    let report = run(&AuditInput {
        snapshot,
        policy: &POLICY,
        now,
        release_data: ReleaseData::builtin(),
        probe: None,
        images: None,
        kubelet: None,
    });
    let source_of = |_: &Finding| None;
    let ctx = Context {
        policy: "fuzz",
        audit_time: now,
        source_of: &source_of,
        color: false,
        input_errors: &[],
    };
    for format in [Format::Table, Format::Json, Format::Yaml, Format::Sarif] {
        render(&report, format, &ctx);
    }
}
