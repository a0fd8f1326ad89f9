//! Text from the cluster or from snapshot files (object names, annotation values, hostPath
//! paths, file paths, parser messages that quote input) made safe for a terminal.
//!
//! Issue 12: an object named `\e]8;;http://x\e\\` or an annotation holding `\e[2J` or `\r` would
//! otherwise reach the terminal raw and could rewrite what the user reads (hide a finding, forge a
//! "No findings" line, set the window title, plant a hyperlink). JSON and SARIF escape control
//! characters themselves; the table and stderr go through [`clean`].

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw: C0 and C1 control characters and DEL (escape
/// sequences all start with one), and the Unicode bidirectional controls, which reorder how a
/// line reads ("Trojan Source", CVE-2021-42574).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every unsafe character written as a visible Rust-style escape (`\u{1b}`, `\r`,
/// `\n`): nothing is dropped, so the reader still sees that something was there.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`clean`] for messages that may span lines (parser errors quote the offending line with a
/// caret under it): line breaks are kept, and every line after the first is indented, so no
/// line from the input can pose as a line of ours (`error: …`, a summary).
pub fn clean_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let lines: Vec<Cow<str>> = s.split('\n').map(clean).collect();
    Cow::Owned(lines.join("\n  "))
}

#[cfg(test)]
mod tests {
    use super::{clean, clean_lines};

    #[test]
    fn multi_line_messages_keep_their_lines_indented() {
        assert_eq!(clean_lines("one line"), "one line");
        assert_eq!(
            clean_lines("f.yaml: bad\n1 | x: \x1b[2J\nerror: forged"),
            "f.yaml: bad\n  1 | x: \\u{1b}[2J\n  error: forged"
        );
    }

    #[test]
    fn escape_sequences_and_controls_are_made_visible() {
        assert_eq!(clean("plain name-1.x"), "plain name-1.x");
        assert_eq!(clean("a\x1b[31mred\x1b[0m"), "a\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(
            clean("\x1b]8;;http://evil\x07link\x1b]8;;\x1b\\"),
            "\\u{1b}]8;;http://evil\\u{7}link\\u{1b}]8;;\\u{1b}\\"
        );
        assert_eq!(clean("ok\rNo findings\n"), "ok\\rNo findings\\n");
        assert_eq!(clean("\u{9b}2J del\u{7f}"), "\\u{9b}2J del\\u{7f}");
        assert_eq!(clean("abc\u{202e}cba"), "abc\\u{202e}cba");
        assert_eq!(clean("ünïcödé ✓"), "ünïcödé ✓", "printable Unicode is kept");
    }
}
