//! `kube-posture-bench`: synthetic clusters and the benchmarks in BENCHMARKS.md.
//! Benchmarks are programs, not tests: they print figures, they assert nothing.

#[global_allocator]
static GLOBAL: counting::Counting = counting::Counting;

/// mimalloc, counting the bytes live (for `bench sizes`: what the model holds per object).
/// A global allocator is unsafe to implement by definition: the one exception to the
/// workspace's `unsafe_code = "deny"`, in the benchmark only.
#[allow(unsafe_code)]
mod counting {
    use std::alloc::{GlobalAlloc, Layout};
    use std::sync::atomic::{AtomicIsize, Ordering};
    pub static LIVE: AtomicIsize = AtomicIsize::new(0);
    pub struct Counting;
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
            // SAFETY: forwarded as is.
            unsafe { mimalloc::MiMalloc.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
            // SAFETY: forwarded as is.
            unsafe { mimalloc::MiMalloc.dealloc(p, l) }
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
            // SAFETY: forwarded as is.
            unsafe { mimalloc::MiMalloc.alloc_zeroed(l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
            // SAFETY: forwarded as is.
            unsafe { mimalloc::MiMalloc.realloc(p, l, new) }
        }
    }
    pub fn live() -> isize {
        LIVE.load(Ordering::Relaxed)
    }
}

mod changes;
mod controller;
mod load;
mod offline;
mod rng;
mod runtime;
mod synth;
mod write;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use kube_posture::audit::{AuditInput, run};
use kube_posture::catalog::Category;
use kube_posture::policy::EffectivePolicy;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Synthetic clusters and benchmarks for kube-posture")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Size {
    /// Issue 2's RBAC scale: 50,000 RoleBindings, 5,000 Roles, 20,000 ServiceAccounts.
    Rbac,
    /// S: 1k nodes, 30k pods, 10k RoleBindings.
    Small,
    /// M: 5k nodes, 150k pods, 10k namespaces, 50k RoleBindings (Kubernetes' limits).
    Medium,
    /// About 10,000 objects: what checkov is compared on.
    Checkov,
}

impl Size {
    fn sizes(self) -> synth::Sizes {
        match self {
            Size::Rbac => synth::Sizes::rbac(),
            Size::Small => synth::Sizes::small(),
            Size::Medium => synth::Sizes::medium(),
            Size::Checkov => synth::Sizes::checkov(),
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Write a synthetic cluster to a snapshot directory.
    Gen {
        #[arg(long, value_enum, default_value = "small")]
        size: Size,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum, default_value = "yaml")]
        format: write::FileFormat,
    },
    /// The operator against a real API server (E2E_KUBECONFIG): first audit, writes, and
    /// change-to-Finding latency over N changes. With --size, a synthetic cluster of that size
    /// is loaded into the API server first and the policy covers the whole cluster.
    Controller {
        #[arg(long, default_value_t = 20)]
        changes: usize,
        #[arg(long, value_enum)]
        size: Option<Size>,
        /// The synthetic cluster is already in the API server (an earlier run's).
        #[arg(long)]
        skip_load: bool,
    },
    /// Is the runtime free while audits run back to back? /healthz latency and Lease renewals
    /// of the operator under a CPU limit (the Deployment's: 1 CPU), a change every 100 ms.
    Runtime {
        #[arg(long, value_enum)]
        size: Option<Size>,
        /// The synthetic cluster is already in the API server (an earlier run's).
        #[arg(long)]
        skip_load: bool,
        /// How long to measure.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// CPUs the operator may use (a cgroup quota; needs root); 0: no limit.
        #[arg(long, default_value_t = 1.0)]
        cpu_limit: f64,
    },
    /// `kube-posture audit --snapshot` (the release binary, its own process) on a generated
    /// cluster: parse and audit time, wall time, peak RSS.
    Offline {
        #[arg(long, value_enum, default_value = "small")]
        size: Size,
        #[arg(long, value_enum, default_values = ["yaml", "json"], value_delimiter = ',')]
        formats: Vec<write::FileFormat>,
        /// Where generated snapshots are kept and reused.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// kube-posture and checkov on the same ~10,000-object snapshot: wall, peak RSS, ratios,
    /// and what each reports.
    Checkov {
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "checkov")]
        size: Size,
    },
    /// Bytes the snapshot model holds per object, by kind (heap and inline, after trimming;
    /// the operator's caches hold the same types).
    Sizes {
        #[arg(long, value_enum, default_value = "small")]
        size: Size,
    },
    /// Where parse time goes: YAML/JSON to values, values to typed objects.
    Parse { dir: PathBuf },
    /// What one change costs the incremental audit: a generated cluster (JSON) audited once,
    /// then changed one object at a time, each kind of change `--per-kind` times.
    Changes {
        #[arg(long, value_enum, default_value = "small")]
        size: Size,
        #[arg(long, default_value_t = 20)]
        per_kind: usize,
        /// Audits of the unchanged state after the changes (their median is reported; many
        /// make a profile of what every audit pays).
        #[arg(long, default_value_t = 5)]
        unchanged: usize,
        /// Where generated snapshots are kept and reused.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Audit this snapshot directory instead of a generated one.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Only the kinds of change whose name holds this text (case-insensitive), for a
        /// profile of one kind: `--only ClusterRoleBinding`.
        #[arg(long)]
        only: Option<String>,
    },
    /// RBAC at scale: parse time and RBAC audit time on 50k RoleBindings / 5k Roles / 20k SAs.
    Rbac {
        /// Where generated snapshots are kept and reused.
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

fn generate(
    size: Size,
    seed: u64,
    out: &Path,
    format: write::FileFormat,
) -> Result<(usize, u64, Duration)> {
    let t = Instant::now();
    let mut sizes = size.sizes();
    sizes.seed = seed;
    let mut sink = write::DirSink::new(out, format).with_context(|| out.display().to_string())?;
    synth::generate(&sizes, &mut sink);
    let (objects, bytes) = sink.finish().with_context(|| out.display().to_string())?;
    Ok((objects, bytes, t.elapsed()))
}

fn main() -> Result<()> {
    // As the product's binary runs (the in-process benchmarks measure what it would do).
    kube_posture::cli::no_transparent_huge_pages();
    let command = Cli::parse().command;
    if matches!(command, Cmd::Controller { .. } | Cmd::Runtime { .. })
        && std::env::var_os("KUBE_POSTURE_BIN").is_none()
    {
        // The operator these benchmarks start is the release build beside this binary, not
        // the e2e tests' default (the debug build, several times slower: a controller run by
        // hand measured it by mistake).
        kube_posture_e2e::use_binary(offline::kube_posture_release()?);
    }
    match command {
        Cmd::Gen {
            size,
            seed,
            out,
            format,
        } => {
            let (objects, bytes, took) = generate(size, seed, &out, format)?;
            println!(
                "wrote {objects} objects ({:.1} MiB) to {} in {:.1?}",
                bytes as f64 / 1048576.0,
                out.display(),
                took
            );
        }
        Cmd::Rbac { data } => rbac(&data_dir(data))?,
        Cmd::Changes {
            size,
            per_kind,
            unchanged,
            data,
            dir,
            only,
        } => {
            let dir = match dir {
                Some(d) => d,
                None => snapshot_dir(size, write::FileFormat::Json, &data_dir(data))?.0,
            };
            changes::run(
                &dir,
                &format!("{size:?}"),
                per_kind,
                unchanged.max(1),
                only.as_deref(),
            )?
        }
        Cmd::Parse { dir } => parse(&dir)?,
        Cmd::Sizes { size } => sizes_table(size)?,
        Cmd::Controller {
            changes,
            size,
            skip_load,
        } => tokio::runtime::Runtime::new()?.block_on(controller::latency(
            changes,
            size.map(Size::sizes),
            skip_load,
        ))?,
        Cmd::Runtime {
            size,
            skip_load,
            seconds,
            cpu_limit,
        } => tokio::runtime::Runtime::new()?.block_on(runtime::runtime(
            size.map(Size::sizes),
            skip_load,
            seconds,
            cpu_limit,
        ))?,
        Cmd::Offline {
            size,
            formats,
            data,
        } => offline_table(size, &formats, &data_dir(data))?,
        Cmd::Checkov { data, size } => checkov_table(size, &data_dir(data))?,
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rbac(data: &Path) -> Result<()> {
    let (dir, _) = snapshot_dir(Size::Rbac, write::FileFormat::Yaml, data)?;
    let t = Instant::now();
    let (snapshot, stats) = kube_posture::snapshot::load_paths(std::slice::from_ref(&dir))?;
    let parse = t.elapsed();
    let policy = EffectivePolicy::default_policy();
    let now: jiff::Timestamp = "2026-11-28T12:00:00Z".parse()?;
    let mut times = Vec::new();
    let mut findings = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let report = run(&AuditInput::offline(&snapshot, &policy, now));
        times.push(t.elapsed());
        findings = report
            .findings
            .iter()
            .filter(|f| f.category == Category::Rbac)
            .count();
    }
    println!("| what | figure |");
    println!("|---|---|");
    println!(
        "| snapshot | {} RoleBindings, {} Roles, {} ClusterRoles, {} ClusterRoleBindings, {} ServiceAccounts ({} files) |",
        snapshot.role_bindings.len(),
        snapshot.roles.len(),
        snapshot.cluster_roles.len(),
        snapshot.cluster_role_bindings.len(),
        snapshot.service_accounts.len(),
        stats.files
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("| parse (YAML, {threads} threads) | {parse:.2?} |");
    println!(
        "| RBAC audit, median of 5 (min {:.1?}, max {:.1?}) | {:.1?} |",
        times.iter().min().unwrap(),
        times.iter().max().unwrap(),
        median(times.clone())
    );
    println!("| RBAC findings | {findings} |");
    Ok(())
}

fn parse(dir: &Path) -> Result<()> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let t = Instant::now();
    let texts: Vec<(PathBuf, String)> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).map(|t| (f.clone(), t)))
        .collect::<Result<_, _>>()?;
    let read = t.elapsed();
    let bytes: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let t = Instant::now();
    let mut docs = 0;
    for (p, text) in &texts {
        let values: Vec<serde_json::Value> = if p.extension().is_some_and(|e| e == "json") {
            vec![serde_json::from_str(text)?]
        } else {
            kube_posture::yaml::from_str_multi(text).map_err(anyhow::Error::msg)?
        };
        docs += values.len();
    }
    let to_values = t.elapsed();
    let t = Instant::now();
    let (snapshot, _) = kube_posture::snapshot::load_paths(&[dir.to_path_buf()])?;
    let full = t.elapsed();
    println!(
        "{:.1} MiB in {} files, {docs} documents, {} objects: read {read:.2?}, text→values {to_values:.2?} ({:.1} MiB/s), full load {full:.2?} (values→typed ≈ {:.2?})",
        bytes as f64 / 1048576.0,
        texts.len(),
        snapshot.len(),
        bytes as f64 / 1048576.0 / to_values.as_secs_f64(),
        full.saturating_sub(to_values).saturating_sub(read)
    );
    Ok(())
}

/// Bump when the generator changes, so cached snapshots are regenerated.
const GENERATOR_VERSION: u32 = 1;

/// Generated snapshots live under the workspace's `target/bench/data` (not under a hidden
/// directory such as `~/.cache`: checkov skips every path with a component starting with `.`).
fn data_dir(data: Option<PathBuf>) -> PathBuf {
    data.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
            .join("bench/data")
    })
}

/// The snapshot directory for `size` in `format`, generated once and reused.
fn snapshot_dir(size: Size, format: write::FileFormat, data: &Path) -> Result<(PathBuf, u64)> {
    let name = format!("{size:?}-{format:?}-g{GENERATOR_VERSION}").to_lowercase();
    std::fs::create_dir_all(data)?;
    // checkov finds nothing under a path with `..` in it.
    let dir = data.canonicalize()?.join(name);
    let done = dir.join(".complete");
    if !done.exists() {
        std::fs::remove_dir_all(&dir).ok();
        let (objects, bytes, took) = generate(size, 1, &dir, format)?;
        eprintln!(
            "generated {objects} objects ({:.0} MiB) in {} in {took:.1?}",
            bytes as f64 / 1048576.0,
            dir.display()
        );
        std::fs::write(&done, bytes.to_string())?;
    }
    let bytes = std::fs::read_to_string(&done)?.trim().parse().unwrap_or(0);
    Ok((dir, bytes))
}

fn offline_table(size: Size, formats: &[write::FileFormat], data: &Path) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "| offline audit, {size:?} | objects | input | parse ({threads} threads) | audit | wall | peak RSS | findings |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &format in formats {
        let (dir, bytes) = snapshot_dir(size, format, data)?;
        let r = offline::audit(&dir)?;
        println!(
            "| {format:?} | {} | {:.0} MiB | {} | {} | {:.2} s | {} | {} |",
            r.objects,
            bytes as f64 / 1048576.0,
            offline::secs(r.parse),
            offline::secs(r.audit),
            r.m.wall.as_secs_f64(),
            offline::mib(r.m.peak_rss_kib),
            r.findings
        );
    }
    Ok(())
}

fn checkov_table(size: Size, data: &Path) -> Result<()> {
    let Some(checkov) = offline::checkov_bin() else {
        anyhow::bail!(
            "checkov not found (PATH, $CHECKOV, ~/.cache/kube-posture/checkov-venv): `make bench` installs it"
        );
    };
    let (dir, bytes) = snapshot_dir(size, write::FileFormat::Yaml, data)?;
    eprintln!("kube-posture on {} ...", dir.display());
    let kp = offline::audit(&dir)?;
    eprintln!("checkov on the same directory (minutes) ...");
    let ck = offline::checkov(&checkov, &dir)?;
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    println!(
        "| same snapshot: {} objects, {:.1} MiB YAML | kube-posture | checkov | ratio |",
        kp.objects,
        bytes as f64 / 1048576.0
    );
    println!("|---|---|---|---|");
    println!(
        "| wall | {:.2} s | {:.1} s | {:.0}× faster |",
        kp.m.wall.as_secs_f64(),
        ck.m.wall.as_secs_f64(),
        ratio(ck.m.wall.as_secs_f64(), kp.m.wall.as_secs_f64())
    );
    println!(
        "| peak RSS | {} | {} | {:.1}× less |",
        offline::mib(kp.m.peak_rss_kib),
        offline::mib(ck.m.peak_rss_kib),
        ratio(ck.m.peak_rss_kib as f64, kp.m.peak_rss_kib as f64)
    );
    println!(
        "| results | {} findings over {} checks | {} failed checks over {} check IDs ({} resources) | |",
        kp.findings,
        kp.findings_by_check.len(),
        ck.failed,
        ck.failed_by_check.len(),
        ck.resources
    );
    println!();
    println!("| kube-posture check | findings |");
    println!("|---|---|");
    for (c, n) in &kp.findings_by_check {
        println!("| {c} | {n} |");
    }
    println!();
    println!("| checkov check | name | failed |");
    println!("|---|---|---|");
    for (c, (name, n)) in &ck.failed_by_check {
        println!("| {c} | {name} | {n} |");
    }
    Ok(())
}

fn sizes_table(size: Size) -> Result<()> {
    let mut all = synth::ByKind::default();
    synth::generate(&size.sizes(), &mut all);
    println!(
        "| kind | objects | JSON bytes/object (as served) | bytes held/object (model, trimmed) |"
    );
    println!("|---|---|---|---|");
    let (mut total_n, mut total_held) = (0usize, 0isize);
    for (kind, items) in all.0 {
        let n = items.len();
        let text = serde_json::to_string(
            &serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items}),
        )?;
        drop(items);
        let before = counting::live();
        let mut snapshot = kube_posture::snapshot::Snapshot::default();
        let mut stats = kube_posture::snapshot::LoadStats::default();
        kube_posture::snapshot::load_str(
            Path::new("sizes.json"),
            &text,
            &mut snapshot,
            &mut stats,
        )?;
        drop(stats);
        let held = counting::live() - before;
        total_n += n;
        total_held += held;
        println!(
            "| {kind} | {n} | {} | {} |",
            text.len() / n.max(1),
            held / n.max(1) as isize
        );
        drop(snapshot);
    }
    println!(
        "| all | {total_n} | | {} |",
        total_held / total_n.max(1) as isize
    );
    Ok(())
}
