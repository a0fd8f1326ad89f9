//! Offline benchmarks: `kube-posture audit --snapshot` on a generated cluster, as a user runs it
//! (the release binary in its own process), with wall time and peak RSS from `/usr/bin/time`;
//! and the same snapshot through checkov, side by side.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// What one measured process did.
pub struct Measured {
    pub wall: Duration,
    pub peak_rss_kib: u64,
    pub stderr: String,
    pub status: std::process::ExitStatus,
}

/// Run `cmd` under `/usr/bin/time`, stdout to `stdout_to`.
pub fn measure(cmd: Command, stdout_to: &Path) -> Result<Measured> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        bail!("/usr/bin/time is needed for peak RSS (Debian: apt-get install time)");
    }
    let figures = tempfile_path("time");
    let mut timed = Command::new(time);
    timed
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(&figures)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        timed.current_dir(d);
    }
    let out = timed
        .stdout(std::fs::File::create(stdout_to)?)
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    let text = std::fs::read_to_string(&figures)?;
    std::fs::remove_file(&figures).ok();
    // Last line: "<seconds> <maxrss KiB>" (earlier lines may be "Command exited with ...").
    let last = text
        .lines()
        .last()
        .context("no figures from /usr/bin/time")?;
    let mut it = last.split_whitespace();
    let wall: f64 = it.next().context("wall")?.parse()?;
    let rss: u64 = it.next().context("rss")?.parse()?;
    Ok(Measured {
        wall: Duration::from_secs_f64(wall),
        peak_rss_kib: rss,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        status: out.status,
    })
}

fn tempfile_path(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "kube-posture-bench-{what}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ))
}

/// A duration as Rust's `{:.1?}` prints it (`812.3ms`, `12.4s`, `950.0µs`).
fn parse_debug_duration(s: &str) -> Option<Duration> {
    let s = s.trim().trim_end_matches([':', ',']);
    let (num, unit) = s.split_at(s.find(|c: char| c.is_alphabetic() || c == 'µ')?);
    let v: f64 = num.parse().ok()?;
    let secs = match unit {
        "s" => v,
        "ms" => v / 1e3,
        "µs" | "us" => v / 1e6,
        "ns" => v / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// The release `kube-posture` binary next to this benchmark's own executable.
pub fn kube_posture_release() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("KUBE_POSTURE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe()?;
    let bin = me.with_file_name("kube-posture");
    if !bin.exists() {
        bail!(
            "{} not found: build it first (`cargo build --release -p kube-posture`; `make bench` does)",
            bin.display()
        );
    }
    Ok(bin)
}

/// One `kube-posture audit --snapshot DIR -o json` run.
pub struct AuditRun {
    pub m: Measured,
    pub objects: usize,
    pub parse: Option<Duration>,
    pub audit: Option<Duration>,
    pub findings_by_check: BTreeMap<String, usize>,
    pub findings: usize,
}

pub fn audit(dir: &Path) -> Result<AuditRun> {
    let bin = kube_posture_release()?;
    let out = tempfile_path("report");
    let mut cmd = Command::new(&bin);
    cmd.args(["audit", "--snapshot"]).arg(dir).args([
        "-o",
        "json",
        "--as-of",
        "2026-11-28T12:00:00Z",
    ]);
    let m = measure(cmd, &out)?;
    if !m.status.success() && m.status.code() != Some(1) {
        bail!("kube-posture audit failed: {}", m.stderr);
    }
    // "read N objects from F files in 12.3s" / "audited in 1.2s: N findings"
    let mut objects = 0;
    let mut parse = None;
    let mut audit = None;
    for line in m.stderr.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("read ") {
            objects = words.get(1).and_then(|w| w.parse().ok()).unwrap_or(0);
            if let Some(i) = words.iter().position(|w| *w == "in") {
                parse = words.get(i + 1).and_then(|w| parse_debug_duration(w));
            }
        } else if line.starts_with("audited in ") {
            audit = words.get(2).and_then(|w| parse_debug_duration(w));
        }
    }
    let report: serde_json::Value =
        serde_json::from_reader(std::io::BufReader::new(std::fs::File::open(&out)?))
            .context("kube-posture's JSON report")?;
    std::fs::remove_file(&out).ok();
    let mut findings_by_check = BTreeMap::new();
    let mut findings = 0;
    for f in report["findings"].as_array().into_iter().flatten() {
        if f["suppressed"].as_bool() == Some(true) {
            continue;
        }
        findings += 1;
        *findings_by_check
            .entry(f["check"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
    }
    Ok(AuditRun {
        m,
        objects,
        parse,
        audit,
        findings_by_check,
        findings,
    })
}

/// One checkov run over the same directory.
pub struct CheckovRun {
    pub m: Measured,
    pub failed_by_check: BTreeMap<String, (String, usize)>,
    pub failed: usize,
    pub resources: usize,
}

/// checkov: `CHECKOV` or the first found of PATH and the cache venv.
pub fn checkov_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHECKOV") {
        return Some(PathBuf::from(p));
    }
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v checkov"])
        .output()
        && out.status.success()
    {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !p.is_empty() {
            return Some(PathBuf::from(p));
        }
    }
    let home = std::env::var_os("HOME")?;
    let venv = PathBuf::from(home).join(".cache/kube-posture/checkov-venv/bin/checkov");
    venv.exists().then_some(venv)
}

pub fn checkov(bin: &Path, dir: &Path) -> Result<CheckovRun> {
    let out = tempfile_path("checkov");
    let mut cmd = Command::new(bin);
    cmd.args(["-d"])
        .arg(dir)
        .args(["--framework", "kubernetes", "-o", "json", "--quiet"])
        .args(["--skip-download", "--compact"]);
    let m = measure(cmd, &out)?;
    let text = std::fs::read_to_string(&out)?;
    std::fs::remove_file(&out).ok();
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("checkov's JSON ({} bytes): {}", text.len(), m.stderr))?;
    // One report object, or a list of them (one per framework).
    let reports: Vec<&serde_json::Value> = match &v {
        serde_json::Value::Array(a) => a.iter().collect(),
        o => vec![o],
    };
    let mut failed_by_check: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut failed = 0;
    let mut resources = 0;
    for r in reports {
        resources += r["summary"]["resource_count"].as_u64().unwrap_or(0) as usize;
        for c in r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            failed += 1;
            let e = failed_by_check
                .entry(c["check_id"].as_str().unwrap_or("?").to_string())
                .or_insert_with(|| (c["check_name"].as_str().unwrap_or("").to_string(), 0));
            e.1 += 1;
        }
    }
    Ok(CheckovRun {
        m,
        failed_by_check,
        failed,
        resources,
    })
}

pub fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

pub fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "n/a".into(), |d| format!("{:.2} s", d.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_durations_parse() {
        assert_eq!(
            parse_debug_duration("12.5s"),
            Some(Duration::from_millis(12500))
        );
        assert_eq!(
            parse_debug_duration("812.0ms:"),
            Some(Duration::from_millis(812))
        );
        assert!(parse_debug_duration("x").is_none());
    }
}
