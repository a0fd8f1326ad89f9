//! Loading snapshots from files: YAML (multi-document) or JSON, single objects, `kind: List`
//! and `kubectl get -o yaml|json` output alike. Bad input is an error naming the file and the
//! document; nothing is dropped silently.
//!
//! A file that cannot be used (unreadable, a symbolic link loop, not UTF-8, over the size cap,
//! not valid YAML or JSON, a document that is not an object) is skipped whole and listed in
//! [`Loaded::skipped`]; the other files are still loaded ([`load_paths_with`]). What the caller
//! does with a partial load is its contract: `audit` prints the report of what it read, names
//! each skipped file and exits 2 (cli/audit.rs).

use super::paths::{Walk, read_text};
use super::stream::{Doc, Object};
use super::{ObjectKind, Snapshot};
use serde_json::Value;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no .yaml, .yml or .json files found")]
    NoFiles { path: PathBuf },
    #[error("{path}: not valid YAML: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error("{path}: not valid JSON: {message}")]
    Json { path: PathBuf, message: String },
    #[error("{path}: {location}: {message}")]
    Document {
        path: PathBuf,
        location: String,
        message: String,
    },
    #[error("{path}: symbolic link loop{}", .back_to.as_ref().map(|d| format!(" (leads back to {})", d.display())).unwrap_or_default())]
    SymlinkLoop {
        path: PathBuf,
        /// The directory a link leads back to, when the loop is a directory cycle.
        back_to: Option<PathBuf>,
    },
    #[error("{path}: not a regular file or directory (FIFOs, sockets and devices are not read)")]
    NotRegular { path: PathBuf },
    #[error(
        "{path}: {size} bytes, over the limit of {limit} (--max-file-bytes, KUBE_POSTURE_MAX_FILE_BYTES)"
    )]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{path}: not UTF-8 text (invalid byte at offset {offset}){}", if *.utf16 { "; it starts with a UTF-16 byte-order mark: save it as UTF-8" } else { "" })]
    NotUtf8 {
        path: PathBuf,
        offset: usize,
        utf16: bool,
    },
}

impl LoadError {
    /// The file or directory the error is about.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Io { path, .. }
            | LoadError::NoFiles { path }
            | LoadError::Yaml { path, .. }
            | LoadError::Json { path, .. }
            | LoadError::Document { path, .. }
            | LoadError::SymlinkLoop { path, .. }
            | LoadError::NotRegular { path }
            | LoadError::TooLarge { path, .. }
            | LoadError::NotUtf8 { path, .. } => path,
        }
    }

    /// What went wrong, without the path the message starts with.
    pub fn reason(&self) -> String {
        let message = self.to_string();
        let prefix = format!("{}: ", self.path().display());
        match message.strip_prefix(&prefix) {
            Some(rest) => rest.to_string(),
            None => message,
        }
    }
}

/// The default cap on a snapshot file's size: 1 GiB. Large enough for one file per kind of
/// the largest cluster we size for (BENCHMARKS.md, M: 150,000 Pods, 731 MiB of YAML in all;
/// `kube-posture snapshot` writes all Pods to one file, `kubectl get pods -A -o yaml` too),
/// small enough that parsing it (a small multiple of its size: 1.15 GiB at peak for the 731 MiB
/// of M) fits a machine that can audit such a cluster. A larger file is refused unread.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1 << 30;

/// How [`load_paths_with`] reads files.
#[derive(Clone, Copy, Debug)]
pub struct LoadOptions {
    /// Files larger than this are skipped with [`LoadError::TooLarge`].
    pub max_file_bytes: u64,
    /// Remember which file each object came from ([`LoadStats::source_of`]): one key per
    /// object (328,000 at M, about 36 MB and a formatted string each), which only SARIF's
    /// locations read; `audit` without `-o sarif` does not ask for them.
    pub sources: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            sources: true,
        }
    }
}

/// The result of [`load_paths_with`]: the snapshot of every file that could be read, and the
/// files (or paths) that could not, in path order.
#[derive(Debug, Default)]
pub struct Loaded {
    pub snapshot: Snapshot,
    pub stats: LoadStats,
    pub skipped: Vec<LoadError>,
}

/// What a load read, for progress messages.
#[derive(Debug, Default, Clone)]
pub struct LoadStats {
    pub files: usize,
    pub documents: usize,
    pub objects: BTreeMap<ObjectKind, usize>,
    /// Objects of kinds the audit does not use, by `apiVersion/kind`.
    pub ignored: BTreeMap<String, usize>,
    /// The files read, in order.
    pub paths: Vec<PathBuf>,
    /// Which file each object came from (`Kind/namespace/name` → index into `paths`). One key
    /// per object (328,000 at M), hashed on insert, on merge and per finding located: foldhash,
    /// not SipHash (4 % of an offline audit's CPU at M), as the audit's own maps. Empty when
    /// the load was asked not to keep it ([`LoadOptions::sources`]).
    pub sources: foldhash::HashMap<String, usize>,
    /// Do not fill `sources`.
    without_sources: bool,
}

impl LoadStats {
    /// Append another load's figures (its files come after ours).
    fn merge(&mut self, other: LoadStats) {
        let offset = self.paths.len();
        self.files += other.files;
        self.documents += other.documents;
        for (k, n) in other.objects {
            *self.objects.entry(k).or_default() += n;
        }
        for (k, n) in other.ignored {
            *self.ignored.entry(k).or_default() += n;
        }
        self.paths.extend(other.paths);
        self.sources.reserve(other.sources.len());
        self.sources
            .extend(other.sources.into_iter().map(|(k, i)| (k, i + offset)));
    }

    /// The file an object was read from.
    pub fn source_of(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&Path> {
        self.sources
            .get(&source_key(kind, namespace, name))
            .map(|&i| self.paths[i].as_path())
    }
}

pub(super) fn source_key(kind: &str, namespace: Option<&str>, name: &str) -> String {
    format!("{kind}/{}/{name}", namespace.unwrap_or(""))
}

/// Load every `*.yaml`, `*.yml` and `*.json` file under `paths` (files or directories,
/// recursively, in a stable order) into one snapshot; the first file that cannot be read is an
/// error. [`load_paths_with`] reads the others too.
pub fn load_paths(paths: &[PathBuf]) -> Result<(Snapshot, LoadStats), LoadError> {
    let loaded = load_paths_with(paths, &LoadOptions::default());
    match loaded.skipped.into_iter().next() {
        Some(e) => Err(e),
        None => Ok((loaded.snapshot, loaded.stats)),
    }
}

/// Load every `*.yaml`, `*.yml` and `*.json` file (any case: `.YAML`, `.Json`) under `paths`,
/// as [`load_paths`] does, skipping the files that cannot be read and listing them with why.
pub fn load_paths_with(paths: &[PathBuf], options: &LoadOptions) -> Loaded {
    let mut walk = Walk::default();
    for p in paths {
        walk.top(p);
    }
    let files = walk.files;
    // Files are parsed in parallel (YAML parsing dominates a large audit), then merged in
    // file order so the result does not depend on scheduling.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut parts: Vec<Option<Result<(Snapshot, LoadStats), LoadError>>> = Vec::new();
    parts.resize_with(files.len(), || None);
    let parts = std::sync::Mutex::new(parts);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let result = load_file(file, options);
                    parts.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    let mut loaded = Loaded {
        skipped: walk.skipped,
        ..Loaded::default()
    };
    for part in parts.into_inner().unwrap_or_else(|e| e.into_inner()) {
        match part {
            Some(Ok((s, st))) => {
                loaded.snapshot.merge(s);
                loaded.stats.merge(st);
            }
            Some(Err(e)) => loaded.skipped.push(e),
            None => {}
        }
    }
    // Walk errors and file errors, in path order.
    loaded.skipped.sort_by(|a, b| a.path().cmp(b.path()));
    loaded
}

fn load_file(file: &Path, options: &LoadOptions) -> Result<(Snapshot, LoadStats), LoadError> {
    let text = read_text(file, options.max_file_bytes)?;
    let mut snapshot = Snapshot::default();
    let mut stats = LoadStats {
        without_sources: !options.sources,
        ..LoadStats::default()
    };
    load_str(file, &text, &mut snapshot, &mut stats)?;
    Ok((snapshot, stats))
}

/// Parse one file's text (YAML or JSON, chosen by extension; JSON is also valid YAML) and add
/// its objects to `snapshot`.
pub fn load_str(
    path: &Path,
    text: &str,
    snapshot: &mut Snapshot,
    stats: &mut LoadStats,
) -> Result<(), LoadError> {
    // JSON is YAML too, and parses ten times faster: take that path for .json files and for
    // YAML files that hold JSON (`kubectl get -o json > x.yaml`).
    let is_json = super::paths::is_json(path) || text.trim_start().starts_with('{');
    let fresh = || {
        (
            Snapshot::default(),
            LoadStats {
                without_sources: stats.without_sources,
                ..LoadStats::default()
            },
        )
    };
    if is_json {
        // A List of the usual items is read in one pass; anything else, again the general
        // way (`super::json_list`).
        let (mut s, mut st) = fresh();
        st.files = 1;
        st.documents = 1;
        st.paths.push(path.to_path_buf());
        if super::json_list::read(text, &mut s, &mut st) {
            snapshot.merge(s);
            stats.merge(st);
            return Ok(());
        }
    }
    if !is_json && crate::yaml::fast_enabled() {
        // The fast reader may give up part way: it fills a snapshot of its own, kept only if
        // it read the whole file.
        let mut fast = fresh();
        if let Some(result) = read_file(path, text, Reader::FastYaml, &mut fast.0, &mut fast.1) {
            snapshot.merge(fast.0);
            stats.merge(fast.1);
            return result;
        }
    }
    let reader = if is_json { Reader::Json } else { Reader::Yaml };
    read_file(path, text, reader, snapshot, stats)
        .unwrap_or_else(|| unreachable!("only the fast YAML reader gives up"))
}

#[derive(Clone, Copy, PartialEq)]
enum Reader {
    Json,
    /// serde-saphyr.
    Yaml,
    /// `crate::yaml::fast`, which may give up (`None`).
    FastYaml,
}

fn read_file(
    path: &Path,
    text: &str,
    reader: Reader,
    snapshot: &mut Snapshot,
    stats: &mut LoadStats,
) -> Option<Result<(), LoadError>> {
    stats.files += 1;
    stats.paths.push(path.to_path_buf());
    // The loader's state, shared with the sink that the parser calls for each object.
    let shared = Rc::new(RefCell::new((
        std::mem::take(snapshot),
        std::mem::take(stats),
        None::<LoadError>,
    )));
    let inner = shared.clone();
    let file = path.to_path_buf();
    let sink: super::stream::Sink = Box::new(move |location, object| {
        let mut st = inner.borrow_mut();
        let (snap, stats, error) = &mut *st;
        let added = match object {
            Object::Value(value) => add_document(&file, location, value, snap, stats),
            Object::Json(text) => add_json(&file, location, text, snap, stats),
        };
        added.map_err(|e| {
            let message = e.to_string();
            *error = Some(e);
            message
        })
    });
    let (parsed, document_error, documents) =
        super::stream::with_sink(sink, reader == Reader::Json, || match reader {
            // `kubectl get -o json` writes one object; tools that stream write several.
            Reader::Json => Some(
                serde_json::Deserializer::from_str(text)
                    .into_iter::<Doc>()
                    .try_for_each(|d| d.map(|_| ()))
                    .map_err(|e| e.to_string()),
            ),
            Reader::Yaml => Some(crate::yaml::from_str_multi::<Doc>(text).map(|_| ())),
            Reader::FastYaml => super::stream::read_fast(text),
        });
    let parsed = parsed?;
    let (snap, st, load_error) = match Rc::try_unwrap(shared) {
        Ok(cell) => cell.into_inner(),
        Err(rc) => {
            let mut st = rc.borrow_mut();
            (
                std::mem::take(&mut st.0),
                std::mem::take(&mut st.1),
                st.2.take(),
            )
        }
    };
    *snapshot = snap;
    *stats = st;
    stats.documents += documents;
    if let Some(e) = load_error {
        return Some(Err(e));
    }
    if let Some(message) = document_error {
        let (location, message) = message.split_once(": ").unwrap_or(("document", &message));
        return Some(Err(LoadError::Document {
            path: path.to_path_buf(),
            location: location.to_string(),
            message: message.to_string(),
        }));
    }
    Some(parsed.map_err(|message| {
        if reader == Reader::Json {
            LoadError::Json {
                path: path.to_path_buf(),
                message,
            }
        } else {
            LoadError::Yaml {
                path: path.to_path_buf(),
                message,
            }
        }
    }))
}

fn add_document(
    path: &Path,
    location: &str,
    mut doc: Value,
    snapshot: &mut Snapshot,
    stats: &mut LoadStats,
) -> Result<(), LoadError> {
    let err = |message: String| LoadError::Document {
        path: path.to_path_buf(),
        location: location.to_string(),
        message,
    };
    if doc.is_null() {
        return Ok(());
    }
    let Some(obj) = doc.as_object() else {
        return Err(err(format!(
            "not a Kubernetes object (a {}, not a mapping with apiVersion and kind)",
            json_type(&doc)
        )));
    };
    let api_version = obj
        .get("apiVersion")
        .and_then(Value::as_str)
        .map(str::to_string);
    let kind = obj.get("kind").and_then(Value::as_str).map(str::to_string);
    let (Some(api_version), Some(kind)) = (api_version, kind) else {
        return Err(err(
            "not a Kubernetes object (apiVersion and kind must be strings)".to_string(),
        ));
    };
    if kind.ends_with("List") && obj.contains_key("items") {
        let items = match doc.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) => Vec::new(),
            _ => return Err(err(format!("{kind}: items must be a list"))),
        };
        for (j, item) in items.into_iter().enumerate() {
            let item_location = format!("{location}, item {}", j + 1);
            add_document(path, &item_location, item, snapshot, stats)?;
        }
        return Ok(());
    }
    if super::info::is_info(&api_version, &kind) {
        return super::info::apply(doc, snapshot).map_err(err);
    }
    let Some(object_kind) = ObjectKind::from_type_meta(&api_version, &kind) else {
        ignore(stats, &api_version, &kind);
        return Ok(());
    };
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Err(err(format!("{kind} without metadata.name")));
    };
    let namespace = doc
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .filter(|_| object_kind.namespaced())
        .map(str::to_string);
    // Of ConfigMaps, only kubeadm's kubelet baseline is read (KUBELET-*): the registry's
    // filter, the same as the live reads'.
    if !object_kind.info().keeps(namespace.as_deref(), &name) {
        ignore(stats, &api_version, &kind);
        return Ok(());
    }
    trim_value(&mut doc, object_kind);
    // Older versions of the same kind (batch/v1beta1 CronJobs, rbac v1beta1, extensions
    // workloads) have the fields the audit reads in the same places: read them as the current
    // version, whose typed form insists on its own apiVersion.
    doc["apiVersion"] = Value::from(object_kind.api_version());
    // The typed object is trimmed of what the checks do not read (the same trim as the live
    // caches: argv outside kube-system, volumes other than hostPath, unread annotations...).
    snapshot
        .push_value(object_kind, doc)
        .map_err(|e| err(format!("{kind} {name}: {e}")))?;
    loaded(stats, object_kind, namespace.as_deref(), &name);
    Ok(())
}

/// Count an object of a kind the audit does not read (or, of ConfigMaps, does not keep).
pub(super) fn ignore(stats: &mut LoadStats, api_version: &str, kind: &str) {
    *stats
        .ignored
        .entry(format!("{api_version}/{kind}"))
        .or_default() += 1;
}

/// Count an object loaded, and remember its file.
pub(super) fn loaded(stats: &mut LoadStats, kind: ObjectKind, namespace: Option<&str>, name: &str) {
    *stats.objects.entry(kind).or_default() += 1;
    if stats.without_sources {
        return;
    }
    let file_index = stats.paths.len() - 1;
    stats
        .sources
        .insert(source_key(kind.name(), namespace, name), file_index);
}

/// What [`add_json`] reads of an item before choosing how to read it: its type and name.
#[derive(Default)]
struct Head<'a> {
    api_version: Option<Cow<'a, str>>,
    kind: Option<Cow<'a, str>>,
    metadata: Option<HeadMeta<'a>>,
    /// All three were read: the walk was ended on purpose.
    read: bool,
}

#[derive(serde::Deserialize)]
struct HeadMeta<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<Cow<'a, str>>,
}

impl<'a> Head<'a> {
    /// Read `apiVersion`, `kind` and `metadata`'s name and namespace, and stop there: the rest
    /// of the item (its spec and status, most of its text) is not scanned, since the typed
    /// read that follows scans it anyway (that second scan was a fifth of reading M's JSON).
    /// `None` when the item is not an object, one of the three is of the wrong type or
    /// repeated before all three were seen; the caller then reads the item as values, as
    /// it would any unusual item. A key repeated after them is refused by the typed read.
    fn read(text: &'a str) -> Option<Head<'a>> {
        let mut head = Head::default();
        let mut de = serde_json::Deserializer::from_str(text);
        match serde::de::DeserializeSeed::deserialize(&mut head, &mut de) {
            Ok(()) => de.end().ok().map(|()| head),
            Err(_) if head.read => Some(head),
            Err(_) => None,
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for &mut Head<'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for &mut Head<'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Kubernetes object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error;
        let (mut api_version, mut kind, mut metadata) = (false, false, false);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let seen = match key.as_ref() {
                "apiVersion" => {
                    self.api_version = map.next_value()?;
                    std::mem::replace(&mut api_version, true)
                }
                "kind" => {
                    self.kind = map.next_value()?;
                    std::mem::replace(&mut kind, true)
                }
                "metadata" => {
                    self.metadata = map.next_value()?;
                    std::mem::replace(&mut metadata, true)
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    false
                }
            };
            if seen {
                return Err(A::Error::custom(format!("duplicate field `{key}`")));
            }
            if api_version && kind && metadata {
                // An error ends the walk: the rest of the item is not scanned.
                self.read = true;
                return Err(A::Error::custom("the head of the item is read"));
            }
        }
        Ok(())
    }
}

/// How an object of this type is read when it comes typed from JSON (a List item): the rule
/// both JSON readers follow (`add_json`, and `super::json_list`, which reads items in one pass).
pub(super) enum Route {
    /// As values, through [`add_document`]: nested Lists, snapshot info, older versions (read
    /// as the current one), Secrets (whose data the values' trim drops).
    Values,
    /// Not a kind the audit reads: counted, not kept.
    Ignore,
    /// Typed, as this kind.
    Typed(ObjectKind),
}

pub(super) fn route(api_version: &str, kind: &str) -> Route {
    if kind.ends_with("List") || super::info::is_info(api_version, kind) {
        return Route::Values;
    }
    match ObjectKind::from_type_meta(api_version, kind) {
        None => Route::Ignore,
        Some(k) if k.api_version() != api_version || k == ObjectKind::Secret => Route::Values,
        Some(k) => Route::Typed(k),
    }
}

/// Whether a typed object of `object_kind` with this name and namespace is kept: `None`
/// without a name (read as values, which says so); `Some(false)` when the registry does not
/// keep it (of ConfigMaps, all but the kubelet's baseline), counted as ignored; `Some(true)`
/// with its namespace when it is kept, to be counted by [`loaded`] once added.
pub(super) fn admit<'n>(
    stats: &mut LoadStats,
    (api_version, kind): (&str, &str),
    object_kind: ObjectKind,
    name: Option<&str>,
    namespace: Option<&'n str>,
) -> Option<(bool, Option<&'n str>)> {
    let name = name.filter(|n| !n.is_empty())?;
    let namespace = namespace.filter(|_| object_kind.namespaced());
    let keep = object_kind.info().keeps(namespace, name);
    if !keep {
        ignore(stats, api_version, kind);
    }
    Some((keep, namespace))
}

/// An item of a JSON List, given as its text. An object of a kind the audit reads, in that
/// kind's current apiVersion (nearly every item), is typed straight from the text: no tree of
/// values is built. Anything else (older versions, nested lists, snapshot info, Secrets,
/// whose data the tree's trim drops, and every item that does not read) goes the way of
/// every other document, through [`add_document`], so that what is loaded and every message
/// are the same either way (`json_items_load_as_values_do`).
fn add_json(
    path: &Path,
    location: &str,
    text: &str,
    snapshot: &mut Snapshot,
    stats: &mut LoadStats,
) -> Result<(), LoadError> {
    if let Some(Head {
        api_version: Some(api_version),
        kind: Some(kind),
        metadata,
        ..
    }) = Head::read(text)
    {
        match route(&api_version, &kind) {
            Route::Values => {}
            Route::Ignore => {
                ignore(stats, &api_version, &kind);
                return Ok(());
            }
            Route::Typed(object_kind) => {
                let (name, namespace) = metadata.map(|m| (m.name, m.namespace)).unwrap_or_default();
                let (name, namespace) = (name.as_deref(), namespace.as_deref());
                match admit(stats, (&api_version, &kind), object_kind, name, namespace) {
                    Some((false, _)) => return Ok(()),
                    Some((true, namespace)) if snapshot.push_json(object_kind, text).is_ok() => {
                        loaded(stats, object_kind, namespace, name.unwrap_or_default());
                        return Ok(());
                    }
                    // No name, or not typed: read as values, which says why.
                    _ => {}
                }
            }
        }
    }
    let doc: Value = serde_json::from_str(text).map_err(|e| LoadError::Document {
        path: path.to_path_buf(),
        location: location.to_string(),
        message: e.to_string(),
    })?;
    add_document(path, location, doc, snapshot, stats)
}

/// Drop what the audit never reads and what makes objects heavy: managedFields, the
/// last-applied annotation, and Secret data.
fn trim_value(doc: &mut Value, kind: ObjectKind) {
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        if let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    if kind == ObjectKind::Secret
        && let Some(obj) = doc.as_object_mut()
    {
        obj.remove("data");
        obj.remove("stringData");
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One item read both ways: as text (`add_json`) and as a tree of values
    /// (`add_document`, what every item was read as before): the objects, the figures and
    /// the message must be the same.
    fn both_ways(item: &str) -> (String, String) {
        let path = Path::new("list.json");
        let run = |as_text: bool| {
            let (mut s, mut st) = (Snapshot::default(), LoadStats::default());
            st.paths.push(path.to_path_buf());
            let r = if as_text {
                add_json(path, "document 1, item 1", item, &mut s, &mut st)
            } else {
                let doc: Value = serde_json::from_str(item).expect("valid JSON");
                add_document(path, "document 1, item 1", doc, &mut s, &mut st)
            };
            let r = r.map_err(|e| e.to_string());
            format!(
                "{s:?}\n{:?} {:?} {:?}\n{r:?}",
                st.objects, st.ignored, st.sources
            )
        };
        (run(true), run(false))
    }

    #[test]
    fn json_items_load_as_values_do() {
        let items = [
            // Typed from the text: a Pod with what the trim drops (argv, managedFields,
            // unread annotations, a second owner's room).
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a","annotations":{"x":"y","kubectl.kubernetes.io/last-applied-configuration":"{}","container.apparmor.security.beta.kubernetes.io/c":"unconfined"},"managedFields":[{"manager":"m"}],"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"r","uid":"u","controller":true}]},"spec":{"containers":[{"name":"c","image":"i","command":["sh"],"ports":[{"containerPort":80}],"securityContext":{"capabilities":{"add":["NET_ADMIN"]}}}],"tolerations":[{"operator":"Exists"}]},"status":{"phase":"Running"}}"#,
            r#"{"kind":"Node","apiVersion":"v1","metadata":{"name":"n","namespace":"ignored"},"status":{"addresses":[{"type":"Hostname","address":"h"},{"type":"InternalIP","address":"10.0.0.1"}]}}"#,
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r","namespace":"a"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]}"#,
            // Read as values: older versions, Secrets, snapshot info, nested lists.
            r#"{"apiVersion":"batch/v1beta1","kind":"CronJob","metadata":{"name":"c","namespace":"a"},"spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}}}"#,
            r#"{"apiVersion":"extensions/v1beta1","kind":"Deployment","metadata":{"name":"d","namespace":"a"},"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}"#,
            r#"{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token","metadata":{"name":"s","namespace":"a"},"data":{"token":"c2VjcmV0"}}"#,
            r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}]}"#,
            // Ignored: unknown kinds, ConfigMaps other than the kubelet's baseline.
            r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":"not even an object"}"#,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"other","namespace":"kube-system"},"data":{"k":"v"}}"#,
            // Errors, with their messages: no name, an empty name, a field of the wrong type,
            // no kind, a duplicate key, not an object.
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"a"}}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":""}}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"},"spec":{"hostPID":"yes"}}"#,
            r#"{"apiVersion":"v1","metadata":{"name":"p"}}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","name":"q","namespace":"a"}}"#,
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n","namespace":7}}"#,
            // Repeated keys after the head (which the head's reader does not scan) and
            // before it; a head in another order; the head's fields of the wrong type.
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"},"kind":"Node"}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"},"spec":{},"apiVersion":"apps/v1"}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"},"metadata":{"name":"q"}}"#,
            r#"{"kind":"Pod","kind":"Node","apiVersion":"v1","metadata":{"name":"p","namespace":"a"}}"#,
            r#"{"spec":{"containers":[{"name":"c","image":"i"}]},"metadata":{"name":"p","namespace":"a"},"kind":"Pod","apiVersion":"v1"}"#,
            r#"{"apiVersion":1,"kind":"Pod","metadata":{"name":"p","namespace":"a"}}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":[]}"#,
            r#"[1, 2]"#,
            r#"null"#,
        ];
        for item in items {
            let (text, values) = both_ways(item);
            assert_eq!(text, values, "item: {item}");
        }
        // The first items are typed straight from the text, and kept.
        assert!(both_ways(items[0]).0.contains("NET_ADMIN"));
        assert!(!both_ways(items[0]).0.contains("managedFields: Some"));
    }

    /// A JSON file read by `load_str` (a List of usual items in one pass, anything else the
    /// general way) and by the general reader alone: the objects, the figures and the message
    /// must be the same. With whether the one pass read it.
    fn one_pass_and_general(text: &str) -> (String, String, bool) {
        let path = Path::new("list.json");
        let dump = |s: Snapshot, st: LoadStats, r: Result<(), LoadError>| {
            format!(
                "{s:?}\n{} {} {:?} {:?} {:?} {:?}\n{:?}",
                st.files,
                st.documents,
                st.paths,
                st.objects,
                st.ignored,
                st.sources.iter().collect::<BTreeMap<_, _>>(),
                r.map_err(|e| e.to_string())
            )
        };
        let (mut s, mut st) = (Snapshot::default(), LoadStats::default());
        let r = load_str(path, text, &mut s, &mut st);
        let loaded = dump(s, st, r);
        let (mut s, mut st) = (Snapshot::default(), LoadStats::default());
        let r = read_file(path, text, Reader::Json, &mut s, &mut st).expect("read");
        let general = dump(s, st, r);
        let (mut s, mut st) = (Snapshot::default(), LoadStats::default());
        st.paths.push(path.to_path_buf());
        let one_pass = super::super::json_list::read(text, &mut s, &mut st);
        (loaded, general, one_pass)
    }

    #[test]
    fn one_pass_reads_as_the_general_reader() {
        let usual = [
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a","annotations":{"x":"y","container.apparmor.security.beta.kubernetes.io/c":"unconfined"},"managedFields":[{"manager":"m"}],"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"r","uid":"u","controller":true}]},"spec":{"containers":[{"name":"c","image":"i","command":["sh"],"ports":[{"containerPort":80}],"securityContext":{"capabilities":{"add":["NET_ADMIN"]}}}],"tolerations":[{"operator":"Exists"}]},"status":{"phase":"Running"}}"#,
            r#"{"kind":"Node","apiVersion":"v1","metadata":{"name":"n","namespace":"ignored"},"status":{"addresses":[{"type":"Hostname","address":"h"},{"type":"InternalIP","address":"10.0.0.1"}]}}"#,
            r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r","namespace":"a"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]}"#,
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x","labels":{"a":"b"}}}"#,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kubelet-config","namespace":"kube-system"},"data":{"kubelet":"x","other":"y"}}"#,
            // k8s-openapi's types take a type field repeated with the same value, whichever
            // way they are read.
            r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n"},"kind":"Namespace"}"#,
            // Ignored, as the general reader ignores them.
            r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":"not even an object"}"#,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"other","namespace":"kube-system"},"data":{"k":"v"}}"#,
        ];
        let unusual = [
            // A ConfigMap the general reader ignores without reading it, and the one pass
            // cannot type.
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"other","namespace":"kube-system"},"data":7}"#,
            // Read as values by the general reader: older versions, Secrets, nested lists,
            // snapshot info.
            r#"{"apiVersion":"batch/v1beta1","kind":"CronJob","metadata":{"name":"c","namespace":"a"},"spec":{"schedule":"* * * * *","jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}}}"#,
            r#"{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/service-account-token","metadata":{"name":"s","namespace":"a"},"data":{"token":"c2VjcmV0"}}"#,
            r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}]}"#,
            r#"{"apiVersion":"kubeposture.io/v1alpha1","kind":"SnapshotInfo","read":["pods"]}"#,
            // Errors: no name, an empty name, a field of the wrong type, no kind, not an
            // object.
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"a"}}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":""}}"#,
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":""}}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"},"spec":{"hostPID":"yes"}}"#,
            r#"{"apiVersion":"v1","metadata":{"name":"p"}}"#,
            r#"{"apiVersion":1,"kind":"Pod","metadata":{"name":"p","namespace":"a"}}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":[]}"#,
            r#"[1, 2]"#,
            r#"null"#,
            // The type not first, or repeated: read as values, the last one counts.
            r#"{"spec":{"containers":[{"name":"c","image":"i"}]},"metadata":{"name":"p","namespace":"a"},"kind":"Pod","apiVersion":"v1"}"#,
            r#"{"apiVersion":"v1","metadata":{"name":"p","namespace":"a"},"kind":"Pod"}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"},"kind":"Node"}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"},"spec":{},"apiVersion":"apps/v1"}"#,
            r#"{"kind":"Pod","kind":"Node","apiVersion":"v1","metadata":{"name":"p","namespace":"a"}}"#,
            r#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{},"kind":"Pod"}"#,
        ];
        let list = |items: &[&str]| {
            format!(
                r#"{{"apiVersion":"v1","items":[{}],"kind":"List","metadata":{{"resourceVersion":""}}}}"#,
                items.join(",")
            )
        };
        let check = |text: &str, one_pass: bool| {
            let (loaded, general, read) = one_pass_and_general(text);
            assert_eq!(loaded, general, "{text}");
            assert_eq!(read, one_pass, "read in one pass: {text}");
        };
        check(&list(&usual), true);
        for item in usual {
            check(&list(&[item]), true);
        }
        for item in unusual {
            check(&list(&[item]), false);
            // Among usual items, at the start, in the middle and at the end.
            check(&list(&[item, usual[0], usual[1]]), false);
            check(&list(&[usual[0], item, usual[1]]), false);
            check(&list(&[usual[0], usual[1], item]), false);
        }
        // The document around the items.
        let items = usual[..2].join(",");
        for (text, one_pass) in [
            (format!(r#"{{"kind":"PodList","items":[{items}]}}"#), true),
            (
                format!(r#"{{"items":[{items}],"apiVersion":"v1","kind":"List"}}"#),
                true,
            ),
            (r#"{"kind":"List","items":[]}"#.to_string(), true),
            (r#"{"kind":"List","items":null}"#.to_string(), false),
            (format!(r#"{{"kind":"Pod","items":[{items}]}}"#), false),
            (format!(r#"{{"items":[{items}]}}"#), false),
            (
                format!(r#"{{"kind":"List","items":[{items}],"items":[{items}]}}"#),
                false,
            ),
            (
                format!(r#"{{"kind":"List","kind":"Pod","items":[{items}]}}"#),
                false,
            ),
            (
                format!(r#"{{"kind":"List","items":[{items}]}} {{"kind":"List","items":[]}}"#),
                false,
            ),
            (format!(r#"{{"kind":"List","items":[{items}]}} x"#), false),
            (format!(r#"{{"kind":"List","items":[{items}"#), false),
            (
                format!(r#"{{"kind":"List","items":{{"a":{items}}}}}"#),
                false,
            ),
            (usual[0].to_string(), false),
            (String::new(), false),
        ] {
            check(&text, one_pass);
        }
    }

    /// The head reader stops after `apiVersion`, `kind` and `metadata`: what follows is not
    /// scanned (here it would not even parse), and a head not complete reads the whole item.
    #[test]
    fn the_head_is_read_without_the_rest() {
        let head =
            Head::read(r#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"},"spec":{"#)
                .expect("the head is read");
        assert_eq!(head.kind.as_deref(), Some("Pod"));
        assert_eq!(head.metadata.and_then(|m| m.name).as_deref(), Some("p"));
        assert!(Head::read(r#"{"kind":"Pod","apiVersion":"v1","spec":{"#).is_none());
        let head = Head::read(r#"{"kind":"Pod","apiVersion":"v1"}"#).expect("an object");
        assert!(head.metadata.is_none() && head.api_version.is_some());
        assert!(Head::read("[1]").is_none());
    }

    /// What serde_json reads grows by doubling (room for 4 of each list): the trim cuts every
    /// kept list to its length, whichever way the object was read.
    #[test]
    fn lists_read_from_json_are_cut_to_their_length() {
        let text = format!(
            r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
            [
                r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a","ownerReferences":[{"apiVersion":"apps/v1","kind":"DaemonSet","name":"d","uid":"u"}]},"spec":{"containers":[{"name":"c","ports":[{"containerPort":80,"hostPort":80}],"volumeMounts":[{"name":"h","mountPath":"/h"}],"securityContext":{"capabilities":{"drop":["ALL"]}}}],"volumes":[{"name":"h","hostPath":{"path":"/"}}],"tolerations":[{"operator":"Exists"}]},"status":{"conditions":[{"type":"Ready","status":"True"}],"containerStatuses":[{"name":"c","imageID":"sha256:1"}]}}"#,
                r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"r"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}"#,
                r#"{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"b","namespace":"a"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"},"subjects":[{"kind":"User","name":"u"}]}"#,
                r#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n"},"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}],"conditions":[{"type":"Ready","status":"True"}]}}"#,
            ]
            .join(",")
        );
        let (s, _) = load("list.json", &text).expect("loads");
        fn exact<T>(v: &[T], capacity: usize) {
            assert_eq!((v.len(), capacity), (1, 1));
        }
        let pod = &s.pods[0];
        let refs = pod.metadata.owner_references.as_ref().unwrap();
        exact(refs, refs.capacity());
        let spec = pod.spec.as_ref().unwrap();
        exact(&spec.containers, spec.containers.capacity());
        let t = spec.tolerations.as_ref().unwrap();
        exact(t, t.capacity());
        let c = &spec.containers[0];
        let ports = c.ports.as_ref().unwrap();
        exact(ports, ports.capacity());
        let mounts = c.volume_mounts.as_ref().unwrap();
        exact(mounts, mounts.capacity());
        let caps = c.security_context.as_ref().unwrap().capabilities.as_ref();
        let drop = caps.unwrap().drop.as_ref().unwrap();
        exact(drop, drop.capacity());
        let status = pod.status.as_ref().unwrap();
        let cs = status.container_statuses.as_ref().unwrap();
        exact(cs, cs.capacity());
        let rules = s.cluster_roles[0].rules.as_ref().unwrap();
        exact(rules, rules.capacity());
        exact(&rules[0].verbs, rules[0].verbs.capacity());
        let subjects = s.role_bindings[0].subjects.as_ref().unwrap();
        exact(subjects, subjects.capacity());
        let st = s.nodes[0].status.as_ref().unwrap();
        let addresses = st.addresses.as_ref().unwrap();
        exact(addresses, addresses.capacity());
        let conditions = st.conditions.as_ref().unwrap();
        exact(conditions, conditions.capacity());
    }

    fn load(name: &str, text: &str) -> Result<(Snapshot, LoadStats), LoadError> {
        let mut s = Snapshot::default();
        let mut st = LoadStats::default();
        load_str(Path::new(name), text, &mut s, &mut st).map(|_| (s, st))
    }

    #[test]
    fn multi_document_yaml_with_lists_and_unknown_kinds() {
        let text = r#"
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: sa, namespace: a}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: cm, namespace: a}
---
# empty document is fine
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: x
  managedFields: [{manager: kubectl}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
"#;
        let (s, st) = load("a.yaml", text).unwrap();
        assert_eq!(s.namespaces.len(), 1);
        assert_eq!(s.service_accounts.len(), 1);
        assert_eq!(s.cluster_role_bindings.len(), 1);
        assert!(s.cluster_role_bindings[0].metadata.managed_fields.is_none());
        assert_eq!(st.ignored.get("v1/ConfigMap"), Some(&1));
    }

    #[test]
    fn kubectl_json_list() {
        let text = r#"{"apiVersion":"v1","kind":"PodList","items":[
            {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"d"},"spec":{"containers":[{"name":"c"}]}}],
            "metadata":{"resourceVersion":""}}"#;
        let (s, _) = load("pods.json", text).unwrap();
        assert_eq!(s.pods.len(), 1);
    }

    #[test]
    fn older_api_versions_of_a_kind_are_read() {
        let text = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: c, namespace: d}\nspec:\n  schedule: '* * * * *'\n  jobTemplate: {spec: {template: {spec: {containers: [{name: c}]}}}}\n---\napiVersion: rbac.authorization.k8s.io/v1beta1\nkind: ClusterRole\nmetadata: {name: r}\nrules: []\n";
        let (s, _) = load("old.yaml", text).unwrap();
        assert_eq!((s.cron_jobs.len(), s.cluster_roles.len()), (1, 1));
    }

    #[test]
    fn secrets_lose_their_data() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: d}\ntype: kubernetes.io/service-account-token\ndata: {token: c2VjcmV0}\n";
        let (s, _) = load("s.yaml", text).unwrap();
        assert!(s.secrets[0].data.is_none());
    }

    #[test]
    fn a_document_that_is_not_an_object_is_an_error_naming_file_and_document() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\njust a string\n";
        let e = load("bad.yaml", text).unwrap_err().to_string();
        assert!(
            e.starts_with("bad.yaml: document 2: not a Kubernetes object"),
            "{e}"
        );
        let e = load("bad.yaml", "foo: bar\n").unwrap_err().to_string();
        assert!(
            e.contains("document 1") && e.contains("apiVersion and kind"),
            "{e}"
        );
    }

    #[test]
    fn invalid_yaml_and_json_name_the_file() {
        let e = load("broken.yaml", "a: [1, 2\n").unwrap_err().to_string();
        assert!(e.starts_with("broken.yaml: not valid YAML"), "{e}");
        let e = load("broken.json", "{\"a\": ").unwrap_err().to_string();
        assert!(e.starts_with("broken.json: not valid JSON"), "{e}");
    }

    #[test]
    fn wrongly_typed_field_names_object_and_item() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec: {hostPID: maybe, containers: []}\n";
        let e = load("l.yaml", text).unwrap_err().to_string();
        assert!(e.starts_with("l.yaml: document 1, item 1: Pod p:"), "{e}");
    }

    #[test]
    fn objects_without_a_name_are_errors() {
        let e = load("n.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Pod without metadata.name"), "{e}");
    }

    #[test]
    fn directories_are_walked_and_empty_ones_refused() {
        let dir = std::env::temp_dir().join(format!("kp-load-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("sub/ns.yml"),
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
        )
        .unwrap();
        std::fs::write(dir.join("README.md"), "not a manifest").unwrap();
        let (s, st) = load_paths(std::slice::from_ref(&dir)).unwrap();
        assert_eq!((s.namespaces.len(), st.files), (1, 1));
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let e = load_paths(std::slice::from_ref(&empty))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no .yaml, .yml or .json files"), "{e}");
        let e = load_paths(&[dir.join("missing")]).unwrap_err().to_string();
        assert!(e.contains("missing"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
