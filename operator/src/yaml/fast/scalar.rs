//! Scalars for the fast reader: which plain scalars it resolves itself, and double-quoted
//! escapes.

use serde_json::Value;

/// Whether a plain scalar may start this way in block context (not with an indicator).
pub(super) fn plain_start(s: &str) -> bool {
    let b = s.as_bytes();
    if s.ends_with(':') || s.contains(": ") {
        return false;
    }
    match b.first() {
        None => false,
        Some(b'-' | b'?' | b':') => !matches!(b.get(1), None | Some(b' ')) && !s.starts_with("---"),
        Some(
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
            | b'"' | b'%' | b'@' | b'`',
        ) => false,
        Some(b'.') => !s.starts_with("..."),
        Some(_) => true,
    }
}

/// A plain scalar serde-saphyr reads as a string whatever its options: no null, boolean or
/// number spelling, and not starting like a number.
pub(super) fn is_plain_string(s: &str) -> bool {
    let b = s.as_bytes();
    let first = b[0];
    let looks_numeric = first.is_ascii_digit()
        || (matches!(first, b'+' | b'-' | b'.')
            && b.get(1).is_none_or(|c| c.is_ascii_digit() || *c == b'.'))
        || first == b'~';
    if looks_numeric {
        return !could_be_number(s);
    }
    let word = s.trim_start_matches(['+', '-', '.']);
    !matches!(
        word.to_ascii_lowercase().as_str(),
        "null"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "y"
            | "n"
            | "on"
            | "off"
            | "inf"
            | "infinity"
            | "nan"
    )
}

/// Whether serde-saphyr could read a plain scalar that starts like a number as one: YAML
/// numbers (decimal, `0x`, `0o`, `0b`, `_`, exponents, `.inf`, `.nan`) use only these
/// characters and a sign at the start or after an exponent. `512Mi`, `500m`, dates and UIDs
/// are strings (issue 16: asking serde-saphyr about each of those was slower than serde-saphyr).
fn could_be_number(s: &str) -> bool {
    let b = s.as_bytes();
    let signs = b
        .iter()
        .enumerate()
        .filter(|&(i, &c)| i > 0 && matches!(c, b'+' | b'-'))
        .count();
    let letters_ok = |c: &u8| {
        c.is_ascii_hexdigit()
            || matches!(
                c,
                b'x' | b'X'
                    | b'o'
                    | b'O'
                    | b'.'
                    | b'_'
                    | b'+'
                    | b'-'
                    | b':'
                    | b'~'
                    | b'i'
                    | b'n'
                    | b'I'
                    | b'N'
            )
    };
    signs <= 1 && b.iter().all(letters_ok)
}

/// The value of a plain scalar this reader resolves itself: strings, nulls, small decimal
/// integers. `None`: ask serde-saphyr.
pub(super) fn plain_value(s: &str) -> Option<Value> {
    match s {
        "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        // Booleans in YAML 1.1 and 1.2 alike; other spellings are serde-saphyr's to resolve.
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    if is_plain_string(s) {
        return Some(Value::String(s.to_string()));
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let simple = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" && !negative || !digits.starts_with('0'));
    if !simple {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(if negative {
        Value::from(-n)
    } else {
        Value::from(n)
    })
}

/// serde-saphyr's reading of one plain scalar, alone: the same as in context, since a plain
/// scalar without a tag resolves by its text only.
pub(super) fn resolve(s: &str) -> Option<Value> {
    crate::yaml::scalar(s)
}

/// A double-quoted escape (after the backslash): the character and how many bytes it took.
pub(super) fn unescape(s: &[u8]) -> Option<(char, usize)> {
    let simple = match s.first()? {
        b'0' => '\0',
        b'a' => '\x07',
        b'b' => '\x08',
        b't' | b'\t' => '\t',
        b'n' => '\n',
        b'v' => '\x0b',
        b'f' => '\x0c',
        b'r' => '\r',
        b'e' => '\x1b',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' => return hex(s, 2),
        b'u' => return hex(s, 4),
        b'U' => return hex(s, 8),
        _ => return None,
    };
    Some((simple, 1))
}

fn hex(s: &[u8], digits: usize) -> Option<(char, usize)> {
    let h = std::str::from_utf8(s.get(1..1 + digits)?).ok()?;
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(h, 16).ok()?)?;
    Some((c, 1 + digits))
}
