//! IMG-001 offline: the final stage of a Dockerfile leaves the image running as root.

use crate::audit::{Ctx, Finding, ObjectRef, Sink};
use crate::catalog::Category;
use crate::catalog::CheckId;
use crate::model::{Dockerfile, FinalStage, StageInstruction};
use std::collections::HashMap;

/// Who an image built from a Dockerfile runs as by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefaultUser {
    /// A non-root user (the `USER` value after substitution).
    NonRoot(String),
    /// Root: `why` for the message, `line` of the final `FROM` or the offending `USER`.
    Root { why: String, line: u32 },
    /// Cannot be told from the file alone.
    Unknown(String),
}

/// The default user of the final stage. A `USER` in an earlier stage does not count: only the
/// final stage is the image.
pub fn default_user(stage: &FinalStage) -> DefaultUser {
    let Some(from_line) = stage.from_line else {
        return DefaultUser::Unknown("no FROM instruction".to_string());
    };
    let globals: HashMap<&str, Option<&str>> = stage
        .global_args
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_deref()))
        .collect();
    // What the stage can see, `None` when declared without a known value. ENV wins over an
    // ARG of the same name whatever their order, as in the builder.
    let mut args: HashMap<String, Option<String>> = HashMap::new();
    let mut envs: HashMap<String, Option<String>> = HashMap::new();
    let visible = |args: &HashMap<String, Option<String>>,
                   envs: &HashMap<String, Option<String>>| {
        let mut v = args.clone();
        v.extend(envs.iter().map(|(k, x)| (k.clone(), x.clone())));
        v
    };
    let mut last_user = None;
    for ins in &stage.instructions {
        match ins {
            StageInstruction::Arg { name, default } => {
                let value = match default {
                    Some(d) => expand(d, &visible(&args, &envs)).ok(),
                    // `ARG NAME` in a stage takes the global default, if there is one.
                    None => globals
                        .get(name.as_str())
                        .copied()
                        .flatten()
                        .map(str::to_string),
                };
                args.insert(name.clone(), value);
            }
            StageInstruction::Env { name, value } => {
                let v = expand(value, &visible(&args, &envs)).ok();
                envs.insert(name.clone(), v);
            }
            StageInstruction::User { value, line } => {
                last_user = Some((expand(value, &visible(&args, &envs)), value, *line));
            }
        }
    }
    match last_user {
        None => DefaultUser::Root {
            why: "the final stage has no USER instruction".to_string(),
            line: from_line,
        },
        Some((Err(var), written, _)) => DefaultUser::Unknown(format!(
            "USER {written}: ${var} has no value known from ARG or ENV defaults"
        )),
        Some((Ok(user), written, line)) => {
            if is_root(&user) {
                let shown = if user == *written {
                    user
                } else {
                    format!("{written} (= {user})")
                };
                DefaultUser::Root {
                    why: format!("the final stage's last USER is {shown}"),
                    line,
                }
            } else {
                DefaultUser::NonRoot(user)
            }
        }
    }
}

/// `root`, `0`, `root:…` or `0:…`.
pub(super) fn is_root(user: &str) -> bool {
    let name = user.trim().split(':').next().unwrap_or("");
    name == "root" || (!name.is_empty() && name.bytes().all(|b| b == b'0'))
}

/// Substitute `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` as the Dockerfile
/// builder does. `Err(NAME)` for the first variable without a known value.
fn expand(text: &str, vars: &HashMap<String, Option<String>>) -> Result<String, String> {
    let lookup = |name: &str| -> Result<String, String> {
        vars.get(name)
            .cloned()
            .flatten()
            .ok_or_else(|| name.to_string())
    };
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(['$', '\\']) {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if rest.as_bytes()[i] == b'\\' {
            // `\$` is a literal dollar; other escapes are kept as written.
            match after.strip_prefix('$') {
                Some(tail) => {
                    out.push('$');
                    rest = tail;
                }
                None => {
                    out.push('\\');
                    rest = after;
                }
            }
            continue;
        }
        if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                out.push('$');
                rest = after;
                continue;
            };
            let inner = &body[..end];
            rest = &body[end + 1..];
            if let Some((name, word)) = inner.split_once(":-") {
                let v = lookup(name)?;
                out.push_str(if v.is_empty() { word } else { &v });
            } else if let Some((name, word)) = inner.split_once(":+") {
                let v = lookup(name)?;
                out.push_str(if v.is_empty() { "" } else { word });
            } else {
                out.push_str(&lookup(inner)?);
            }
            continue;
        }
        let len = after.find(|c| !is_name_char(c)).unwrap_or(after.len());
        if len == 0 {
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(&lookup(&after[..len])?);
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

pub fn audit(ctx: &Ctx, sink: &mut Sink) {
    for d in &ctx.snapshot.dockerfiles {
        match &d.content {
            Err(e) => {
                let at = e.line.map(|l| format!(" line {l}")).unwrap_or_default();
                sink.not_assessed_checks(
                    Category::Image,
                    format!("Dockerfile {}{at}: {}", d.name, e.message),
                    &[CheckId::Img001],
                );
            }
            Ok(stage) => match default_user(stage) {
                DefaultUser::NonRoot(_) => {}
                DefaultUser::Unknown(why) => sink.not_assessed_checks(
                    Category::Image,
                    format!("Dockerfile {}: {why}", d.name),
                    &[CheckId::Img001],
                ),
                DefaultUser::Root { why, line } => sink.push(root_image(d, &why, line)),
            },
        }
    }
}

fn root_image(d: &Dockerfile, why: &str, line: u32) -> Finding {
    Finding::new(
        CheckId::Img001,
        ObjectRef::other("", "Dockerfile", None, &d.name),
        format!(
            "Dockerfile {}: {why}: the image runs as root by default",
            d.name
        ),
    )
    .evidence([format!("{}:{line}", d.name)])
    .location(d.file.display().to_string(), line)
    .fill(&[
        ("dockerfile", &d.name),
        ("workload", "the pods that run the image"),
    ])
}

#[cfg(test)]
mod expand_tests {
    use super::*;

    fn vars(pairs: &[(&str, Option<&str>)]) -> HashMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn substitution_forms() {
        let v = vars(&[("U", Some("app")), ("E", Some("")), ("N", None)]);
        assert_eq!(expand("$U", &v).unwrap(), "app");
        assert_eq!(expand("${U}:grp", &v).unwrap(), "app:grp");
        assert_eq!(expand("${E:-root}", &v).unwrap(), "root");
        assert_eq!(expand("${U:+x}${E:+y}", &v).unwrap(), "x");
        assert_eq!(expand(r"\$U", &v).unwrap(), "$U");
        assert_eq!(expand("$N", &v).unwrap_err(), "N");
        assert_eq!(expand("${MISSING}", &v).unwrap_err(), "MISSING");
        assert_eq!(expand("a$", &v).unwrap(), "a$");
    }

    #[test]
    fn root_forms() {
        for u in ["root", "0", "0:0", "root:wheel", "00", "0:1000"] {
            assert!(is_root(u), "{u}");
        }
        for u in ["1000", "app", "10001:0", "rootless", ""] {
            assert!(!is_root(u), "{u}");
        }
    }
}
