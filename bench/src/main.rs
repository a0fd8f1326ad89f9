//! `kube-posture-bench`: synthetic clusters and the benchmarks in BENCHMARKS.md.
//! Benchmarks are programs, not tests: they print figures, they assert nothing.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod controller;
mod rng;
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
}

impl Size {
    fn sizes(self) -> synth::Sizes {
        match self {
            Size::Rbac => synth::Sizes::rbac(),
            Size::Small => synth::Sizes::small(),
            Size::Medium => synth::Sizes::medium(),
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
    /// change-to-Finding latency over N changes.
    Controller {
        #[arg(long, default_value_t = 20)]
        changes: usize,
    },
    /// Where parse time goes: YAML/JSON to values, values to typed objects.
    Parse { dir: PathBuf },
    /// RBAC at scale: parse time and RBAC audit time on 50k RoleBindings / 5k Roles / 20k SAs.
    Rbac {
        /// Reuse (or create) the snapshot here instead of a temporary directory.
        #[arg(long)]
        dir: Option<PathBuf>,
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
    match Cli::parse().command {
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
        Cmd::Rbac { dir } => rbac(dir)?,
        Cmd::Parse { dir } => parse(&dir)?,
        Cmd::Controller { changes } => {
            tokio::runtime::Runtime::new()?.block_on(controller::latency(changes))?
        }
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn rbac(dir: Option<PathBuf>) -> Result<()> {
    let dir = dir.unwrap_or_else(|| std::env::temp_dir().join("kube-posture-bench-rbac"));
    if !dir.join("rolebindings-0001.yaml").exists() {
        let (objects, bytes, took) = generate(Size::Rbac, 1, &dir, write::FileFormat::Yaml)?;
        println!(
            "generated {objects} objects ({:.1} MiB YAML) in {took:.1?}",
            bytes as f64 / 1048576.0
        );
    }
    let t = Instant::now();
    let (snapshot, stats) = kube_posture::snapshot::load_paths(std::slice::from_ref(&dir))?;
    let parse = t.elapsed();
    let policy = EffectivePolicy::default_policy();
    let now: jiff::Timestamp = "2026-11-28T12:00:00Z".parse()?;
    let mut times = Vec::new();
    let mut findings = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let report = run(&AuditInput {
            snapshot: &snapshot,
            policy: &policy,
            now,
            release_data: kube_posture::audit::nodes::ReleaseData::builtin(),
            probe: None,
        });
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
