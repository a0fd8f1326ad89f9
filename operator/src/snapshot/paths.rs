//! Which files a snapshot path names, and reading one safely: symbolic link loops, FIFOs and
//! devices, files too large or not UTF-8 are errors naming the path, never a hang, an endless
//! walk or an allocation the size of whatever the path points at (issue 12).

use super::LoadError;
use std::path::{Path, PathBuf};

/// ELOOP, "too many levels of symbolic links" (`io::ErrorKind::FilesystemLoop` is unstable).
fn is_symlink_loop(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    const ELOOP: i32 = 40;
    // macOS and the BSDs.
    #[cfg(not(target_os = "linux"))]
    const ELOOP: i32 = 62;
    cfg!(unix) && e.raw_os_error() == Some(ELOOP)
}

fn io_error(path: &Path, source: std::io::Error) -> LoadError {
    if is_symlink_loop(&source) {
        LoadError::SymlinkLoop {
            path: path.to_path_buf(),
            back_to: None,
        }
    } else {
        LoadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The files to read, found by walking the paths given, and the paths that could not be walked.
#[derive(Default)]
pub(super) struct Walk {
    pub files: Vec<PathBuf>,
    pub skipped: Vec<LoadError>,
    /// The directories being walked (canonical), to refuse a link back to one of them: it
    /// would walk the same files again until the path is too long.
    ancestors: Vec<PathBuf>,
}

impl Walk {
    /// A path given by the user: a file is read whatever its name, a directory must hold
    /// manifests.
    pub fn top(&mut self, path: &Path) {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => return self.skipped.push(io_error(path, e)),
        };
        if meta.is_file() {
            self.files.push(path.to_path_buf());
        } else if meta.is_dir() {
            let before = (self.files.len(), self.skipped.len());
            self.dir(path);
            if (self.files.len(), self.skipped.len()) == before {
                self.skipped.push(LoadError::NoFiles {
                    path: path.to_path_buf(),
                });
            }
        } else {
            self.skipped.push(LoadError::NotRegular {
                path: path.to_path_buf(),
            });
        }
    }

    fn dir(&mut self, dir: &Path) {
        let canonical = match std::fs::canonicalize(dir) {
            Ok(c) => c,
            Err(e) => return self.skipped.push(io_error(dir, e)),
        };
        if self.ancestors.contains(&canonical) {
            return self.skipped.push(LoadError::SymlinkLoop {
                path: dir.to_path_buf(),
                back_to: Some(canonical),
            });
        }
        let entries: Result<Vec<PathBuf>, std::io::Error> =
            std::fs::read_dir(dir).and_then(|it| it.map(|e| e.map(|e| e.path())).collect());
        let mut entries = match entries {
            Ok(e) => e,
            Err(e) => return self.skipped.push(io_error(dir, e)),
        };
        entries.sort();
        self.ancestors.push(canonical);
        for entry in entries {
            match std::fs::metadata(&entry) {
                Ok(m) if m.is_dir() => self.dir(&entry),
                Ok(m) if has_manifest_extension(&entry) => {
                    if m.is_file() {
                        self.files.push(entry);
                    } else {
                        self.skipped.push(LoadError::NotRegular { path: entry });
                    }
                }
                Ok(_) => {}
                // A loop may hide a directory of manifests: always say so. Other errors
                // (a dangling link) only matter for what would be read.
                Err(e) if is_symlink_loop(&e) || has_manifest_extension(&entry) => {
                    self.skipped.push(io_error(&entry, e))
                }
                Err(_) => {}
            }
        }
        self.ancestors.pop();
    }
}

/// The file's text: at most `limit` bytes (checked before reading, and while reading in case it
/// grows), UTF-8, without a byte-order mark.
pub(super) fn read_text(file: &Path, limit: u64) -> Result<String, LoadError> {
    use std::io::Read;
    let f = std::fs::File::open(file).map_err(|e| io_error(file, e))?;
    let meta = f.metadata().map_err(|e| io_error(file, e))?;
    if !meta.is_file() {
        return Err(LoadError::NotRegular {
            path: file.to_path_buf(),
        });
    }
    let too_large = |size| LoadError::TooLarge {
        path: file.to_path_buf(),
        size,
        limit,
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(file, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    let mut text = String::from_utf8(bytes).map_err(|e| LoadError::NotUtf8 {
        path: file.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
        utf16: e.as_bytes().starts_with(&[0xff, 0xfe]) || e.as_bytes().starts_with(&[0xfe, 0xff]),
    })?;
    // Editors on Windows write a UTF-8 byte-order mark; it is not part of the YAML.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// `.yaml`, `.yml` or `.json`, in any case.
fn has_manifest_extension(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["yaml", "yml", "json"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

/// JSON, by its extension in any case (`.json`, `.JSON`).
pub(super) fn is_json(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}
