//! A Dockerfile as IMG-001 reads it: the final build stage's `ARG`, `ENV` and `USER`
//! instructions with their lines, and the global `ARG`s declared before the first `FROM`.
//! Everything else a Dockerfile says does not decide who the image runs as.

use std::path::PathBuf;

/// One Dockerfile found in the audit's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dockerfile {
    /// The path relative to the `--snapshot` argument it was found under (the file's own
    /// path, as given, when the argument was the file): the name findings use.
    pub name: String,
    /// The path it was read from, for SARIF locations.
    pub file: PathBuf,
    pub content: Result<FinalStage, DockerfileError>,
}

/// Why a Dockerfile could not be read: its 1-based line when the parser names one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerfileError {
    pub line: Option<u32>,
    pub message: String,
}

/// What decides the default user of the image a Dockerfile builds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FinalStage {
    /// `ARG`s before the first `FROM` and their defaults; a stage sees them only when it
    /// declares them again (`ARG NAME` without a value).
    pub global_args: Vec<(String, Option<String>)>,
    /// The line of the final stage's `FROM`; `None` when the file has no `FROM` at all.
    pub from_line: Option<u32>,
    /// The final stage's `ARG`, `ENV` and `USER` instructions, in order.
    pub instructions: Vec<StageInstruction>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StageInstruction {
    Arg {
        name: String,
        default: Option<String>,
    },
    Env {
        name: String,
        value: String,
    },
    User {
        /// The argument as written, variables unexpanded.
        value: String,
        line: u32,
    },
}
