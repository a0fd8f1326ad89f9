use super::{CliError, runtime};
use crate::snapshot::info::{self, SnapshotInfo};
use crate::snapshot::{Kind, KindVisitor, Snapshot, visit_kinds};
use clap::Args;
use kube::Resource;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// Directory to write `<kind>.yaml` files into (created if missing).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
}

pub fn run(args: SnapshotArgs, cluster: &super::ClusterArgs) -> Result<(), CliError> {
    let taken_at = jiff::Timestamp::now();
    let (snapshot, server) = runtime().block_on(async {
        let config = super::config(cluster).await?;
        let server = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).map_err(CliError::Kube)?;
        let s = crate::snapshot::live::load_live(&client)
            .await
            .map_err(CliError::Kube)?;
        Ok::<_, CliError>((s, server))
    })?;
    std::fs::create_dir_all(&args.output).map_err(|source| CliError::Write {
        path: args.output.clone(),
        source,
    })?;
    let written = write_snapshot(&snapshot, &args.output)?;
    // What was read and what could not be, in the snapshot itself: an audit of it reports the
    // unreadable kinds' checks as not assessed instead of clean.
    let info = SnapshotInfo::describe(&snapshot, Some(server), Some(taken_at.to_string()));
    let path = args.output.join(info::FILE_NAME);
    let text = crate::yaml::to_string(&info).map_err(CliError::Usage)?;
    std::fs::write(&path, text).map_err(|source| CliError::Write { path, source })?;
    for u in &snapshot.unavailable {
        eprintln!(
            "warning: {} could not be read ({}): recorded in {}; an audit of this snapshot reports its checks as not assessed",
            u.kind.plural(),
            // The API server's message may quote names an object author chose.
            crate::report::terminal::clean(&u.reason),
            info::FILE_NAME
        );
    }
    eprintln!("wrote {written} objects to {}", args.output.display());
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List {
    api_version: &'static str,
    kind: &'static str,
    items: Vec<serde_json::Value>,
}

/// An object with its apiVersion and kind (the slim model's types do not carry them).
fn typed<T: Serialize + Resource<DynamicType = ()>>(o: &T) -> serde_json::Value {
    let mut v = serde_json::to_value(o).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), T::api_version(&()).as_ref().into());
        m.insert("kind".into(), T::kind(&()).as_ref().into());
    }
    v
}

fn write_kind<T: Serialize + Resource<DynamicType = ()>>(
    dir: &Path,
    plural: &str,
    items: &[Arc<T>],
) -> Result<usize, CliError> {
    let path = dir.join(format!("{plural}.yaml"));
    let list = List {
        api_version: "v1",
        kind: "List",
        items: items.iter().map(|i| typed(&**i)).collect(),
    };
    let text =
        crate::yaml::to_string(&list).map_err(|e| CliError::Usage(format!("{plural}: {e}")))?;
    std::fs::write(&path, text).map_err(|source| CliError::Write { path, source })?;
    Ok(items.len())
}

/// Write one `kind: List` file (`<plural>.yaml`) per kind the registry says is read live, in
/// registry order.
pub fn write_snapshot(s: &Snapshot, dir: &Path) -> Result<usize, CliError> {
    struct Writer<'a> {
        s: &'a Snapshot,
        dir: &'a Path,
        written: Result<usize, CliError>,
    }
    impl KindVisitor for Writer<'_> {
        fn visit<K: Kind>(&mut self) {
            let info = K::KIND.info();
            if let (true, Ok(n)) = (info.is_read_live(), &self.written) {
                let n = *n;
                self.written = write_kind(self.dir, info.plural, K::objects(self.s)).map(|m| n + m);
            }
        }
    }
    let mut w = Writer {
        s,
        dir,
        written: Ok(0),
    };
    visit_kinds(&mut w);
    w.written
}
