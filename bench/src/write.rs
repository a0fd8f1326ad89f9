//! Writing a generated cluster to a snapshot directory: one file per kind and chunk of 5,000
//! objects, multi-document YAML (what people keep in git) or JSON lists (`kubectl -o json`).

use crate::synth::Sink;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const CHUNK: usize = 5_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    Yaml,
    Json,
}

pub struct DirSink {
    dir: PathBuf,
    format: FileFormat,
    pending: BTreeMap<&'static str, Vec<Value>>,
    chunks: BTreeMap<&'static str, usize>,
    pub objects: usize,
    pub bytes: u64,
    pub error: Option<std::io::Error>,
}

impl DirSink {
    pub fn new(dir: &Path, format: FileFormat) -> std::io::Result<DirSink> {
        std::fs::create_dir_all(dir)?;
        Ok(DirSink {
            dir: dir.to_path_buf(),
            format,
            pending: BTreeMap::new(),
            chunks: BTreeMap::new(),
            objects: 0,
            bytes: 0,
            error: None,
        })
    }

    fn flush_kind(&mut self, kind: &'static str) -> std::io::Result<()> {
        let Some(items) = self.pending.remove(kind) else {
            return Ok(());
        };
        if items.is_empty() {
            return Ok(());
        }
        let n = self.chunks.entry(kind).or_default();
        *n += 1;
        let ext = if self.format == FileFormat::Yaml {
            "yaml"
        } else {
            "json"
        };
        let path = self.dir.join(format!("{kind}-{n:04}.{ext}"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        match self.format {
            FileFormat::Yaml => {
                for item in &items {
                    f.write_all(b"---\n")?;
                    let text =
                        kube_posture::yaml::to_string(item).map_err(std::io::Error::other)?;
                    f.write_all(text.as_bytes())?;
                }
            }
            FileFormat::Json => {
                let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
                serde_json::to_writer(&mut f, &list)?;
            }
        }
        f.flush()?;
        self.bytes += std::fs::metadata(&path)?.len();
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<(usize, u64)> {
        let kinds: Vec<&'static str> = self.pending.keys().copied().collect();
        for k in kinds {
            self.flush_kind(k)?;
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok((self.objects, self.bytes)),
        }
    }
}

impl Sink for DirSink {
    fn object(&mut self, kind: &'static str, obj: Value) {
        self.objects += 1;
        let list = self.pending.entry(kind).or_default();
        list.push(obj);
        if list.len() >= CHUNK
            && let Err(e) = self.flush_kind(kind)
        {
            self.error.get_or_insert(e);
        }
    }
}
