//! Snapshot files as they come (issue 12, item 7): extensions in any case, symbolic link loops,
//! files that are not UTF-8 or too large, and object names that carry terminal escape sequences.
//! A file that cannot be read is skipped and named (stderr, the report's `inputErrors`, the
//! table's NOT READ section); the rest is audited and the exit code is 2.

use kube_posture::snapshot::{LoadError, LoadOptions, load_paths_with};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kube-posture"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory for one test.
fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kp-input-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A privileged Pod: one WL-001 finding named `name`.
fn privileged_pod(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: app}}\n\
         spec: {{containers: [{{name: c, image: x, securityContext: {{privileged: true}}}}]}}\n"
    )
}

/// `audit --snapshot DIR -o json` and its extra arguments.
fn audit(dir: &Path, extra: &[&str]) -> Output {
    bin()
        .args(["audit", "-q", "-o", "json", "--snapshot"])
        .arg(dir)
        .args(extra)
        .env_remove("KUBE_POSTURE_MAX_FILE_BYTES")
        .output()
        .expect("kube-posture runs")
}

fn report(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("JSON report ({e}); stderr: {}", stderr(o)))
}

/// Names of the Pods with WL-001.
fn privileged(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "WL-001")
        .map(|f| f["resource"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// `(file name, error)` of each entry of `inputErrors`.
fn input_errors(report: &Value) -> Vec<(String, String)> {
    report["inputErrors"]
        .as_array()
        .expect("inputErrors is always present")
        .iter()
        .map(|e| {
            let file = Path::new(e["file"].as_str().unwrap());
            (
                file.file_name().unwrap().to_string_lossy().into_owned(),
                e["error"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The skipped file (one) and the good file's finding, through the binary and the library.
fn assert_skipped_and_rest_audited(d: &Path, bad: &str, why: &str, extra: &[&str]) {
    let o = audit(d, extra);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{bad}: {why}")) && err.starts_with("error: "),
        "stderr names the file and why: {err}"
    );
    let r = report(&o);
    assert_eq!(privileged(&r), ["good"], "the good file is still audited");
    let errors = input_errors(&r);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, bad);
    assert!(errors[0].1.starts_with(why), "{errors:?}");
}

#[test]
fn extensions_are_read_in_any_case() {
    let d = dir("case");
    for (i, ext) in ["YAML", "Yml", "JSON", "yaml", "Json"].iter().enumerate() {
        let text = if ext.eq_ignore_ascii_case("json") {
            format!(
                r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p{i}","namespace":"app"}},
                   "spec":{{"containers":[{{"name":"c","securityContext":{{"privileged":true}}}}]}}}}"#
            )
        } else {
            privileged_pod(&format!("p{i}"))
        };
        std::fs::write(d.join(format!("{i}.{ext}")), text).unwrap();
    }
    std::fs::write(d.join("notes.txt"), "not a manifest").unwrap();
    let o = audit(&d, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report(&o);
    assert_eq!(privileged(&r), ["p0", "p1", "p2", "p3", "p4"]);
    assert!(input_errors(&r).is_empty());
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_named_and_the_rest_audited() {
    use std::os::unix::fs::symlink;
    let d = dir("loop");
    std::fs::write(d.join("good.yaml"), privileged_pod("good")).unwrap();
    symlink("loop.yaml", d.join("loop.yaml")).unwrap();
    assert_skipped_and_rest_audited(&d, "loop.yaml", "symbolic link loop", &[]);

    // A directory linking back to its parent: each file read once, the link named.
    std::fs::remove_file(d.join("loop.yaml")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    symlink("..", d.join("sub/up")).unwrap();
    assert_skipped_and_rest_audited(&d, "up", "symbolic link loop (leads back to", &[]);

    let loaded = load_paths_with(std::slice::from_ref(&d), &LoadOptions::default());
    assert_eq!(loaded.snapshot.pods.len(), 1);
    assert!(matches!(
        loaded.skipped.as_slice(),
        [LoadError::SymlinkLoop {
            back_to: Some(_),
            ..
        }]
    ));
}

/// A FIFO named like a manifest would block the loader forever if it were opened.
#[cfg(unix)]
#[test]
fn a_fifo_is_named_and_never_opened() {
    let d = dir("fifo");
    std::fs::write(d.join("good.yaml"), privileged_pod("good")).unwrap();
    let made = Command::new("mkfifo")
        .arg(d.join("pipe.yaml"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    assert_skipped_and_rest_audited(&d, "pipe.yaml", "not a regular file or directory", &[]);
}

#[test]
fn a_file_that_is_not_utf8_is_named_and_the_rest_audited() {
    let d = dir("utf8");
    std::fs::write(d.join("good.yaml"), privileged_pod("good")).unwrap();
    let prefix = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: caf";
    let mut latin1 = prefix.to_vec();
    latin1.extend([0xe9, b'}', b'\n']);
    std::fs::write(d.join("latin1.yaml"), &latin1).unwrap();
    let why = format!("not UTF-8 text (invalid byte at offset {})", prefix.len());
    assert_skipped_and_rest_audited(&d, "latin1.yaml", &why, &[]);

    // What PowerShell 5's `kubectl get -o yaml > x.yaml` writes.
    std::fs::remove_file(d.join("latin1.yaml")).unwrap();
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            "kind: Namespace\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    std::fs::write(d.join("utf16.yaml"), utf16).unwrap();
    let o = audit(&d, &[]);
    assert!(
        stderr(&o).contains("UTF-16 byte-order mark"),
        "{}",
        stderr(&o)
    );

    // A UTF-8 byte-order mark is not an error.
    std::fs::remove_file(d.join("utf16.yaml")).unwrap();
    std::fs::write(
        d.join("bom.json"),
        "\u{feff}{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"bom\"}}",
    )
    .unwrap();
    let o = audit(&d, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_file_over_the_size_cap_is_named_and_the_rest_audited() {
    let d = dir("size");
    std::fs::write(d.join("good.yaml"), privileged_pod("good")).unwrap();
    let mut big = privileged_pod("big");
    big.push_str(&format!("# {}\n", "x".repeat(2048)));
    std::fs::write(d.join("big.yaml"), &big).unwrap();
    let why = format!("{} bytes, over the limit of 2048", big.len());
    assert_skipped_and_rest_audited(&d, "big.yaml", &why, &["--max-file-bytes", "2KiB"]);

    // The environment variable sets the cap too; the default (256 MiB) reads both.
    let o = bin()
        .args(["audit", "-q", "-o", "json", "--snapshot"])
        .arg(&d)
        .env("KUBE_POSTURE_MAX_FILE_BYTES", "2048")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(input_errors(&report(&o)).len(), 1);
    let o = audit(&d, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(privileged(&report(&o)), ["big", "good"]);

    let o = audit(&d, &["--max-file-bytes", "lots"]);
    assert_eq!(o.status.code(), Some(2), "bad usage");
}

#[test]
fn unreadable_input_outranks_findings_and_shows_in_every_format() {
    let d = dir("formats");
    std::fs::write(d.join("good.yaml"), privileged_pod("good")).unwrap();
    std::fs::write(d.join("broken.yaml"), "key: [unclosed\n").unwrap();
    // --fail-on would give 1: the incomplete input gives 2.
    let o = audit(&d, &["--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(2));

    let o = bin()
        .args(["audit", "-q", "--snapshot"])
        .arg(&d)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("NOT READ"), "{table}");
    assert!(table.contains("broken.yaml: not valid YAML"), "{table}");
    assert!(table.contains("incomplete: 1 file not read"), "{table}");
    assert!(table.contains("WL-001  Pod app/good"), "{table}");

    let o = bin()
        .args(["audit", "-q", "-o", "sarif", "--snapshot"])
        .arg(&d)
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&o.stdout).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let note = &invocation["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "error");
    assert!(
        note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("broken.yaml")
    );
}

#[test]
fn nothing_readable_prints_no_report() {
    let d = dir("none");
    std::fs::write(d.join("broken.yaml"), "key: [unclosed\n").unwrap();
    let o = audit(&d, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty(), "no report of an empty snapshot");
    assert!(stderr(&o).contains("broken.yaml: not valid YAML"));
}

/// Escape sequences in names, paths and annotations never reach the terminal raw: the table
/// and stderr show them escaped.
#[test]
fn escape_sequences_from_the_input_are_shown_escaped() {
    let d = dir("escapes");
    std::fs::write(
        d.join("evil.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: \"evil\\e]0;pwned\\a\\e[2J\", namespace: app}\n\
         spec:\n  securityContext: {sysctls: [{name: kernel.msgmax, value: \"1\\rNo findings\\x9b2J\"}]}\n  \
         containers: [{name: c, image: x, securityContext: {privileged: true}}]\n  \
         volumes: [{name: h, hostPath: {path: \"/etc/\\e[8mhidden\\u202e\"}}]\n",
    )
    .unwrap();
    // A file whose name carries an escape sequence, and that does not parse.
    std::fs::write(d.join("bad\x1b[2J.yaml"), "key: [unclosed\n").unwrap();
    let o = bin()
        .args(["audit", "--snapshot"])
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let table = String::from_utf8(o.stdout.clone()).unwrap();
    let raw: Vec<char> = table
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}')
        .collect();
    assert!(
        raw.is_empty(),
        "raw control characters {raw:?} in:\n{table}"
    );
    for escaped in [
        "Pod app/evil\\u{1b}]0;pwned\\u{7}\\u{1b}[2J",
        "/etc/\\u{1b}[8mhidden\\u{202e}",
        "1\\rNo findings\\u{9b}2J",
        "bad\\u{1b}[2J.yaml",
    ] {
        assert!(table.contains(escaped), "{escaped} in:\n{table}");
    }
    let err = stderr(&o);
    assert!(!err.contains('\x1b'), "{err}");
    assert!(err.contains("bad\\u{1b}[2J.yaml: not valid YAML"), "{err}");
}

/// Which file each object came from is kept only when asked (SARIF's locations read it): the
/// same objects either way, and with it every object found in its own file, from YAML and
/// from JSON (both readers, and the fast YAML reader's own stats).
#[test]
fn sources_are_kept_only_when_asked() {
    let d = dir("sources");
    std::fs::write(d.join("a.yaml"), privileged_pod("a")).unwrap();
    std::fs::write(
        d.join("b.json"),
        r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b","namespace":"app"}}]}"#,
    )
    .unwrap();
    let with = load_paths_with(std::slice::from_ref(&d), &LoadOptions::default());
    let without = load_paths_with(
        std::slice::from_ref(&d),
        &LoadOptions {
            sources: false,
            ..LoadOptions::default()
        },
    );
    for loaded in [&with, &without] {
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        assert_eq!(loaded.snapshot.pods.len(), 2);
        assert_eq!(loaded.stats.files, 2);
    }
    assert!(without.stats.sources.is_empty());
    assert_eq!(without.stats.source_of("Pod", Some("app"), "a"), None);
    assert_eq!(with.stats.sources.len(), 2);
    assert_eq!(
        with.stats.source_of("Pod", Some("app"), "a"),
        Some(d.join("a.yaml").as_path())
    );
    assert_eq!(
        with.stats.source_of("Pod", Some("app"), "b"),
        Some(d.join("b.json").as_path())
    );
}
