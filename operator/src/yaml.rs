//! YAML in and out, through serde-saphyr (what kube itself moved to), with parse budgets sized
//! for whole-cluster snapshots rather than the library's config-file defaults.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_saphyr::granit_parser::{Event, Parser};
use std::collections::HashMap;

pub mod fast;

/// Whether the fast reader is tried first (`KUBE_POSTURE_YAML_FAST=0` turns it off: every
/// input is then read by serde-saphyr alone).
pub fn fast_enabled() -> bool {
    std::env::var_os("KUBE_POSTURE_YAML_FAST").is_none_or(|v| v != "0")
}

/// Parse budget: large enough for `kubectl get pods -A -o yaml` of a 150,000-pod cluster in one
/// file, still bounded against alias bombs and nesting storms.
fn options(max_aliases: usize) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 2_000_000_000,
            max_nodes: 1_000_000_000,
            max_documents: 10_000_000,
            max_depth: MAX_DEPTH,
            max_aliases: max_aliases,
            max_total_scalar_bytes: 16 * 1024 * 1024 * 1024,
            max_reader_input_bytes: None,
        },
    }
}

const MAX_DEPTH: usize = 256;
/// serde-saphyr's own default.
const MAX_ALIASES: usize = 50_000;

/// serde-saphyr deserializes recursively: about 22 KiB of stack per level of nesting in a debug
/// build (4 KiB in release), so `MAX_DEPTH` levels overflow a spawned thread's 2 MiB stack
/// before the budget can refuse them. Parsing gets a stack of this size when less is left.
const PARSE_STACK: usize = 64 * 1024 * 1024;

/// The budget counts the events of the input, not the copies an alias makes: one 10 MB scalar
/// aliased a thousand times is 10 GB of `Value`. Expanded documents may be this many times the
/// size of the input (or 64 MiB, whichever is more).
const MAX_EXPANSION: usize = 4;

/// Every document of a multi-document YAML stream; empty documents are skipped.
pub fn from_str_multi<T: DeserializeOwned>(input: &str) -> Result<Vec<T>, String> {
    parse(input, |o| {
        serde_saphyr::from_multiple_with_options(input, o)
    })
}

/// One YAML document.
pub fn from_str<T: DeserializeOwned>(input: &str) -> Result<T, String> {
    parse(input, |o| serde_saphyr::from_str_with_options(input, o))
}

/// One plain scalar, alone: no alias, no nesting, so no budget or stack to set up (the fast
/// reader asks about a few scalars per object).
fn scalar(text: &str) -> Option<serde_json::Value> {
    serde_saphyr::from_str_with_options(text, options(0)).ok()
}

pub fn to_string<T: Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}

/// Input that may hold an alias is measured with its aliases expanded first
/// (`check_expansion`); any other input is parsed with aliases refused, so that a miss of
/// `may_have_alias` is an error, never a blow-up. One parse either way: the snapshot loader
/// streams objects out of it as they are read.
fn parse<T>(
    input: &str,
    parse_with: impl FnOnce(serde_saphyr::Options) -> Result<T, serde_saphyr::Error>,
) -> Result<T, String> {
    let max_aliases = if may_have_alias(input) {
        check_expansion(input)?;
        MAX_ALIASES
    } else {
        0
    };
    stacker::maybe_grow(PARSE_STACK, PARSE_STACK, || {
        parse_with(options(max_aliases)).map_err(|e| e.to_string())
    })
}

/// Whether a `*` stands where a node can start, as an alias (`*name`) must. Kubernetes
/// objects and kubectl's output have none: RBAC's `'*'` and `"*"` are quoted.
fn may_have_alias(input: &str) -> bool {
    let bytes = input.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        b == b'*'
            && (i == 0
                || matches!(
                    bytes[i - 1],
                    b' ' | b'\t' | b'\n' | b'\r' | b'[' | b'{' | b',' | b':'
                ))
    })
}

/// Refuse input whose aliases expand it beyond `MAX_EXPANSION` times its size, measured on the
/// parser's events (no values are built). Syntax errors are left for the real parse to report.
fn check_expansion(input: &str) -> Result<(), String> {
    let limit = input.len().saturating_mul(MAX_EXPANSION).max(64 << 20);
    // Bytes produced so far with aliases expanded (a node costs its scalar bytes plus one), the
    // size of each anchored node, and where each open collection started.
    let mut produced = 0usize;
    let mut anchored: HashMap<usize, usize> = HashMap::new();
    let mut open: Vec<(usize, usize)> = Vec::new();
    for event in Parser::new_from_str(input) {
        let Ok((event, span)) = event else {
            return Ok(());
        };
        match event {
            Event::Scalar(value, _, anchor, _) => {
                let size = value.len().saturating_add(1);
                produced = produced.saturating_add(size);
                if anchor != 0 {
                    anchored.insert(anchor, size);
                }
            }
            Event::Alias(anchor) => {
                let size = anchored.get(&anchor).copied().unwrap_or(1);
                produced = produced.saturating_add(size);
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                open.push((anchor, produced));
                produced = produced.saturating_add(1);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, start)) = open.pop()
                    && anchor != 0
                {
                    anchored.insert(anchor, produced - start);
                }
            }
            _ => continue,
        }
        if produced > limit {
            return Err(format!(
                "line {}: aliases expand this input beyond {limit} bytes ({MAX_EXPANSION} times \
                 its size): refused as an alias bomb",
                span.start.line()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_looked_for_only_where_a_node_starts() {
        assert!(may_have_alias("a: *x\n") && may_have_alias("[*x]") && may_have_alias("*x"));
        assert!(!may_have_alias("verbs: ['*', \"*\"]\nhost: a.*.example\n"));
    }

    #[test]
    fn input_with_aliases_of_ordinary_size_parses() {
        let v: serde_json::Value = from_str("a: &x {b: 1}\nc: *x\n").unwrap();
        assert_eq!(v["c"]["b"], 1);
    }

    #[test]
    fn input_without_a_node_starting_with_star_is_parsed_with_aliases_refused() {
        let r = serde_saphyr::from_str_with_options::<serde_json::Value>(
            "a: &x 1\nb: *x\n",
            options(0),
        );
        assert!(r.is_err());
    }
}
