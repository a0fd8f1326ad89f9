//! Dockerfiles among the `audit --snapshot` inputs (IMG-001). They have their own walker so the
//! manifest loader ([`super::files`]) stays about Kubernetes objects; parsing is left to the
//! `dockerfile-parser` crate and only what IMG-001 reads is kept ([`FinalStage`]).

use super::{LoadError, LoadOptions, Loaded, load_paths_with};
use crate::model::{Dockerfile, DockerfileError, FinalStage, StageInstruction};
use dockerfile_parser::Instruction;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Whether a file name is a Dockerfile's: `Dockerfile`, `Containerfile`, `*.Dockerfile`,
/// `Dockerfile.*` (and the same with `Containerfile`), in any case. BuildKit's per-Dockerfile
/// ignore files (`Dockerfile.dockerignore`) are not Dockerfiles.
pub fn is_dockerfile_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if name.ends_with(".dockerignore") {
        return false;
    }
    ["dockerfile", "containerfile"].iter().any(|base| {
        name == *base
            || name
                .strip_suffix(base)
                .is_some_and(|stem| stem.len() > 1 && stem.ends_with('.'))
            || name
                .strip_prefix(base)
                .is_some_and(|tail| tail.len() > 1 && tail.starts_with('.'))
    })
}

fn file_name_is_dockerfile(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_dockerfile_name)
}

/// Where Dockerfiles were found, and which arguments are nothing but them.
#[derive(Debug, Default)]
pub struct Found {
    /// (path read, name relative to its argument), in a stable order.
    pub files: Vec<(PathBuf, String)>,
    /// Arguments that are Dockerfiles themselves (not manifests to load).
    pub file_arguments: Vec<PathBuf>,
    /// Directory arguments holding at least one Dockerfile.
    pub directories_with_dockerfiles: Vec<PathBuf>,
}

/// Find the Dockerfiles under `paths` (files or directories, recursively). Paths that cannot
/// be read are left to the manifest loader, which reports them.
pub fn find(paths: &[PathBuf]) -> Found {
    let mut found = Found::default();
    for arg in paths {
        if arg.is_file() {
            if file_name_is_dockerfile(arg) {
                found.files.push((arg.clone(), arg.display().to_string()));
                found.file_arguments.push(arg.clone());
            }
            continue;
        }
        let mut files = Vec::new();
        walk(arg, &mut files);
        if !files.is_empty() {
            found.directories_with_dockerfiles.push(arg.clone());
        }
        for f in files {
            let name = f
                .strip_prefix(arg)
                .unwrap_or(&f)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            found.files.push((f, name));
        }
    }
    found
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, out);
        } else if file_name_is_dockerfile(&entry) {
            out.push(entry);
        }
    }
}

/// Load `paths` as `audit --snapshot` reads them: manifests through [`load_paths`], and the
/// Dockerfiles among them into [`Snapshot::dockerfiles`]. A directory holding Dockerfiles but
/// no manifests is not an error; an argument that is a Dockerfile is not read as a manifest.
pub fn load_inputs(paths: &[PathBuf], options: &LoadOptions) -> Loaded {
    let found = find(paths);
    let manifests: Vec<PathBuf> = paths
        .iter()
        .filter(|p| !found.file_arguments.contains(p))
        .cloned()
        .collect();
    let mut loaded = if manifests.is_empty() {
        Loaded::default()
    } else {
        load_paths_with(&manifests, options)
    };
    loaded.skipped.retain(|e| {
        !matches!(e, LoadError::NoFiles { path } if found.directories_with_dockerfiles.contains(path))
    });
    loaded.snapshot.dockerfiles = load(&found.files);
    loaded
}

/// Read and parse each Dockerfile. A file that cannot be read or parsed is kept with its
/// error: the audit reports it as not assessed and goes on with the rest.
pub fn load(files: &[(PathBuf, String)]) -> Vec<Arc<Dockerfile>> {
    files
        .iter()
        .map(|(file, name)| {
            let content = match std::fs::read_to_string(file) {
                Ok(text) => parse(&text),
                Err(e) => Err(DockerfileError {
                    line: None,
                    message: format!("cannot read: {e}"),
                }),
            };
            Arc::new(Dockerfile {
                name: name.clone(),
                file: file.clone(),
                content,
            })
        })
        .collect()
}

/// Parse a Dockerfile's text into what decides its default user.
pub fn parse(text: &str) -> Result<FinalStage, DockerfileError> {
    let parsed = dockerfile_parser::Dockerfile::parse(text).map_err(|e| match e {
        dockerfile_parser::Error::ParseError { source } => {
            let line = match source.line_col {
                pest::error::LineColLocation::Pos((l, _))
                | pest::error::LineColLocation::Span((l, _), _) => Some(l as u32),
            };
            DockerfileError {
                line,
                message: format!("not a valid Dockerfile: {}", source.variant.message()),
            }
        }
        other => DockerfileError {
            line: None,
            message: format!("not a valid Dockerfile: {other}"),
        },
    })?;
    let line_of = |offset: usize| -> u32 {
        let end = offset.min(parsed.content.len());
        parsed.content.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u32
            + 1
    };
    let global_args = parsed
        .global_args
        .iter()
        .map(|a| {
            (
                a.name.content.clone(),
                a.value.as_ref().map(|v| v.content.clone()),
            )
        })
        .collect();
    let stages = parsed.stages();
    let Some(last) = stages.stages.last() else {
        return Ok(FinalStage {
            global_args,
            from_line: None,
            instructions: Vec::new(),
        });
    };
    let mut from_line = None;
    let mut instructions = Vec::new();
    for ins in &last.instructions {
        match ins {
            Instruction::From(f) => from_line = Some(line_of(f.span.start)),
            Instruction::Arg(a) => instructions.push(StageInstruction::Arg {
                name: a.name.content.clone(),
                default: a.value.as_ref().map(|v| v.content.clone()),
            }),
            Instruction::Env(e) => {
                for v in &e.vars {
                    instructions.push(StageInstruction::Env {
                        name: v.key.content.clone(),
                        value: v.value.to_string().trim().to_string(),
                    });
                }
            }
            Instruction::Misc(m) if m.instruction.content.eq_ignore_ascii_case("user") => {
                instructions.push(StageInstruction::User {
                    value: m.arguments.to_string().trim().to_string(),
                    line: line_of(m.span.start),
                });
            }
            _ => {}
        }
    }
    Ok(FinalStage {
        global_args,
        from_line,
        instructions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_variants() {
        for yes in [
            "Dockerfile",
            "Containerfile",
            "api.Dockerfile",
            "Dockerfile.prod",
            "DOCKERFILE",
            "containerfile.dev",
            "web.containerfile",
        ] {
            assert!(is_dockerfile_name(yes), "{yes}");
        }
        for no in [
            "Dockerfile.dockerignore",
            "dockerfile.yaml.bak.dockerignore",
            "Dockerfiles",
            "mydockerfile",
            ".dockerfile",
            "Dockerfile.",
            "deploy.yaml",
        ] {
            assert!(!is_dockerfile_name(no), "{no}");
        }
    }

    #[test]
    fn final_stage_only_with_lines() {
        let text = "ARG BASE=debian\nFROM golang AS build\nUSER builder\nRUN make\n\nFROM ${BASE}\nENV APP=1 HOME=/app\nARG UID=10001\nUSER $UID\n";
        let s = parse(text).unwrap();
        assert_eq!(s.global_args, [("BASE".to_string(), Some("debian".into()))]);
        assert_eq!(s.from_line, Some(6));
        assert_eq!(
            s.instructions,
            [
                StageInstruction::Env {
                    name: "APP".into(),
                    value: "1".into()
                },
                StageInstruction::Env {
                    name: "HOME".into(),
                    value: "/app".into()
                },
                StageInstruction::Arg {
                    name: "UID".into(),
                    default: Some("10001".into())
                },
                StageInstruction::User {
                    value: "$UID".into(),
                    line: 9
                },
            ]
        );
    }

    #[test]
    fn lower_case_instructions_are_read() {
        let s = parse("from alpine\nuser 0:0\n").unwrap();
        assert_eq!(
            s.instructions,
            [StageInstruction::User {
                value: "0:0".into(),
                line: 2
            }]
        );
    }

    #[test]
    fn parse_errors_name_the_line() {
        let e = parse("FROM alpine\nRUN echo hi\nENV\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e:?}");
        assert!(e.message.starts_with("not a valid Dockerfile"), "{e:?}");
    }

    #[test]
    fn directories_are_walked_with_names_relative_to_the_argument() {
        let dir = std::env::temp_dir().join(format!("kp-dockerfiles-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("svc/api")).unwrap();
        for f in [
            "Dockerfile",
            "svc/api/api.Dockerfile",
            "svc/DOCKERFILE",
            "svc/x.yaml",
        ] {
            std::fs::write(dir.join(f), "FROM alpine\n").unwrap();
        }
        let found = find(std::slice::from_ref(&dir));
        let names: Vec<&str> = found.files.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(
            names,
            ["Dockerfile", "svc/DOCKERFILE", "svc/api/api.Dockerfile"]
        );
        assert_eq!(
            found.directories_with_dockerfiles,
            std::slice::from_ref(&dir)
        );
        let single = find(&[dir.join("Dockerfile")]);
        assert_eq!(single.file_arguments, [dir.join("Dockerfile")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn inputs_mix_manifests_and_dockerfiles() {
        let dir = std::env::temp_dir().join(format!("kp-inputs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("only-docker")).unwrap();
        std::fs::create_dir_all(dir.join("manifests")).unwrap();
        std::fs::write(dir.join("only-docker/Containerfile"), "FROM alpine\n").unwrap();
        std::fs::write(
            dir.join("manifests/ns.yaml"),
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
        )
        .unwrap();
        std::fs::write(dir.join("manifests/Dockerfile"), "FROM alpine\nUSER 1\n").unwrap();
        let loaded = load_inputs(
            &[
                dir.join("only-docker"),
                dir.join("manifests"),
                dir.join("manifests/Dockerfile"),
            ],
            &LoadOptions::default(),
        );
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        let (s, stats) = (loaded.snapshot, loaded.stats);
        assert_eq!(s.namespaces.len(), 1);
        assert_eq!(stats.files, 1);
        let names: Vec<&str> = s.dockerfiles.iter().map(|d| d.name.as_str()).collect();
        let explicit = dir.join("manifests/Dockerfile").display().to_string();
        assert_eq!(names, ["Containerfile", "Dockerfile", explicit.as_str()]);
        // A directory with neither is still refused.
        std::fs::create_dir_all(dir.join("empty")).unwrap();
        let empty = load_inputs(&[dir.join("empty")], &LoadOptions::default());
        assert!(matches!(empty.skipped[..], [LoadError::NoFiles { .. }]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
