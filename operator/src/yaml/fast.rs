//! A fast reader for the block YAML that kubectl and serde-saphyr write, building
//! `serde_json::Value` directly (issue 16: serde-saphyr reads about 12 MB/s per core, most of a
//! YAML audit's time).
//!
//! It reads a strict subset: block mappings and sequences, plain and single-line quoted scalars,
//! `|` and `>` block scalars, `{}` and `[]`, comments. On anything else (anchors, aliases, tags,
//! flow collections, multi-line plain or quoted scalars, directives, duplicate keys, tabs or
//! carriage returns outside scalars, invalid YAML) it gives up with [`Halt::Unsupported`], and
//! the caller reads the whole input again with serde-saphyr: what this reader accepts, it reads
//! as serde-saphyr does, and everything else is serde-saphyr's to read or refuse. Plain scalars
//! that are not plainly strings, nulls or small decimal integers are resolved by serde-saphyr
//! itself, one scalar at a time, so YAML 1.1 booleans, octal, floats and `.inf` agree by
//! construction.

use scalar::{is_plain_string, plain_start, plain_value, resolve, unescape};
use serde_json::{Map, Value};

mod scalar;

/// Why reading stopped.
#[derive(Debug, PartialEq)]
pub enum Halt {
    /// The input uses YAML this reader does not read (at this 1-based line).
    Unsupported { line: usize, what: &'static str },
    /// The consumer of the objects refused one: its message, reported as is.
    Stop(String),
}

type R<T> = Result<T, Halt>;

/// Deeper input is left to serde-saphyr, whose budget refuses it with its own message
/// (Kubernetes objects nest about 15 levels).
const MAX_DEPTH: usize = 100;

/// What a document holds at its top.
#[derive(Debug, PartialEq)]
pub enum Top {
    /// Nothing but comments.
    Empty,
    /// A block mapping, read key by key with [`Reader::next_key`].
    Mapping,
}

pub struct Reader<'a> {
    src: &'a [u8],
    /// Start of the line being read.
    pos: usize,
    /// Its end (its `\n`, or the end of input).
    end: usize,
    /// 1-based number of that line.
    line: usize,
    depth: usize,
    started: bool,
    /// Where the value of the key [`Reader::next_key`] returned starts.
    after_key: usize,
}

/// Bytes the reader refuses anywhere: C0 controls other than tab and line feed (so `\r` too),
/// DEL; multi-byte C1 controls, U+FEFF and U+FFFE/U+FFFF are checked in [`Reader::new`].
fn refused_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a str) -> R<Self> {
        let src = input.as_bytes();
        let mut line = 1;
        for (i, &b) in src.iter().enumerate() {
            let what = if refused_byte(b) {
                "a control character or carriage return"
            } else if b == b'\n' {
                line += 1;
                continue;
            } else if (b == 0xc2 && matches!(src.get(i + 1), Some(0x80..=0x9f)))
                || (b == 0xef && src.get(i + 1) == Some(&0xbb) && src.get(i + 2) == Some(&0xbf))
                || (b == 0xef
                    && src.get(i + 1) == Some(&0xbf)
                    && matches!(src.get(i + 2), Some(0xbe | 0xbf)))
            {
                "a non-printable character or byte-order mark"
            } else {
                continue;
            };
            return Err(Halt::Unsupported { line, what });
        }
        Ok(Reader {
            src,
            pos: 0,
            end: line_end(src, 0),
            line: 1,
            depth: 0,
            started: false,
            after_key: 0,
        })
    }

    fn unsupported<T>(&self, what: &'static str) -> R<T> {
        Err(Halt::Unsupported {
            line: self.line,
            what,
        })
    }

    fn next_line(&mut self) {
        self.pos = (self.end + 1).min(self.src.len());
        self.end = line_end(self.src, self.pos);
        self.line += 1;
    }

    fn spaces(&self, from: usize) -> usize {
        self.src[from..].iter().take_while(|&&b| b == b' ').count()
    }

    /// Skip blank and comment lines; the indentation of the next line with content, or `None`
    /// at the end of input or of the document (`---` or `...` at column 0).
    fn peek(&mut self) -> R<Option<usize>> {
        loop {
            if self.pos >= self.src.len() {
                return Ok(None);
            }
            let n = self.spaces(self.pos);
            match self.src.get(self.pos + n) {
                None | Some(b'\n' | b'#') => self.next_line(),
                Some(b'\t') => return self.unsupported("a tab outside a scalar"),
                Some(_) if n == 0 && self.at_marker() => return Ok(None),
                Some(_) => return Ok(Some(n)),
            }
        }
    }

    /// A document marker (`---` or `...`) at the start of the current line.
    fn at_marker(&self) -> bool {
        let s = &self.src[self.pos..];
        (s.starts_with(b"---") || s.starts_with(b"..."))
            && matches!(s.get(3), None | Some(b' ' | b'\n' | b'\t'))
    }

    /// A sequence entry (`-` then a space or the end of line) at column `col` of this line.
    fn at_dash(&self, col: usize) -> bool {
        let i = self.pos + col;
        self.src.get(i) == Some(&b'-') && matches!(self.src.get(i + 1), None | Some(b' ' | b'\n'))
    }

    /// Start the next document of the stream; `None` after the last.
    pub fn next_document(&mut self) -> R<Option<Top>> {
        if self.peek()?.is_none() && self.pos >= self.src.len() {
            return Ok(None);
        }
        if self.at_marker() {
            if self.src[self.pos..].starts_with(b"...") {
                return self.unsupported("a document end marker");
            }
            // `---` alone, or followed by a comment: anything else starts a node on its line.
            let rest = self.rest(self.pos + 3);
            if !rest.is_empty() {
                return self.unsupported("content after ---");
            }
            self.next_line();
        } else if self.started {
            return self.unsupported("content after a document's end");
        } else if self.src[self.pos] == b'%' {
            return self.unsupported("a directive");
        }
        self.started = true;
        match self.peek()? {
            None => Ok(Some(Top::Empty)),
            Some(0) if !self.at_dash(0) => {
                self.after_key = usize::MAX;
                Ok(Some(Top::Mapping))
            }
            Some(_) => self.unsupported("a document that is not a block mapping at column 0"),
        }
    }

    /// The next key of the document's top mapping, `None` at its end; read its value with
    /// [`Reader::value`] or [`Reader::each_item`] before asking for the next key.
    pub fn next_key(&mut self) -> R<Option<String>> {
        if self.after_key != usize::MAX {
            match self.peek()? {
                Some(0) if !self.at_dash(0) => {}
                None => return Ok(None),
                Some(_) => return self.unsupported("a line indented unlike its mapping"),
            }
        }
        let (key, after) = self.key(self.pos)?;
        self.after_key = after;
        Ok(Some(key))
    }

    /// The value of the key just read.
    pub fn value(&mut self) -> R<Value> {
        self.value_after_key(0, self.after_key)
    }

    /// Each item of the list that is the value of the key just read, as it is read (an empty
    /// value or `[]` has none); any other value is left to serde-saphyr.
    pub fn each_item(&mut self, f: &mut dyn FnMut(Value) -> Result<(), String>) -> R<()> {
        let after = self.after_key;
        if self.rest(after).is_empty() {
            self.next_line();
            if let Some(m) = self.peek()?
                && self.at_dash(m)
            {
                return self.sequence(m, &mut |v| f(v).map_err(Halt::Stop));
            }
            return Ok(());
        }
        match self.value_after_key(0, after)? {
            Value::Array(items) => items.into_iter().try_for_each(|v| f(v).map_err(Halt::Stop)),
            _ => self.unsupported("items that are not a block sequence or []"),
        }
    }

    /// The rest of the line from `at`, without the spaces around it and a trailing comment;
    /// empty when it holds nothing else.
    fn rest(&self, at: usize) -> &'a [u8] {
        let src: &'a [u8] = self.src;
        let end = self.end;
        let mut s = &src[at.min(end)..end];
        while let [b' ', tail @ ..] = s {
            s = tail;
        }
        if s.first() == Some(&b'#') {
            return &[];
        }
        if let Some(i) = s.windows(2).position(|w| w == b" #") {
            s = &s[..i];
        }
        while let [head @ .., b' '] = s {
            s = head;
        }
        s
    }

    /// A mapping key starting at `at` on this line: the key and where its value starts.
    fn key(&self, at: usize) -> R<(String, usize)> {
        let end = self.end;
        let (key, colon) =
            match self.src[at] {
                b'"' | b'\'' => {
                    let (key, close) = self.quoted(at)?;
                    let colon = close + self.spaces(close);
                    (key, colon)
                }
                _ => {
                    let line = &self.src[at..end];
                    let Some(i) = line.iter().enumerate().position(|(i, &b)| {
                        b == b':' && matches!(line.get(i + 1), None | Some(b' '))
                    }) else {
                        return self.unsupported("a line that is not a mapping entry");
                    };
                    let text = trim_end(&line[..i]);
                    if text.windows(2).any(|w| w == b" #") || text.contains(&b'\t') {
                        return self.unsupported("a comment or tab in a key");
                    }
                    let text = self.utf8(text)?;
                    if !plain_start(text) || text == "<<" || !is_plain_string(text) {
                        return self.unsupported("a key that is not plainly a string");
                    }
                    (text.to_string(), at + i)
                }
            };
        if self.src.get(colon) != Some(&b':')
            || !matches!(self.src.get(colon + 1), None | Some(b' ' | b'\n'))
        {
            return self.unsupported("a key without `: `");
        }
        Ok((key, colon + 1))
    }

    fn utf8(&self, b: &'a [u8]) -> R<&'a str> {
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s),
            Err(_) => self.unsupported("a scalar split inside a character"),
        }
    }

    /// The value after `key:` (at `at`) of an entry of a mapping indented by `indent`.
    fn value_after_key(&mut self, indent: usize, at: usize) -> R<Value> {
        let rest = self.rest(at);
        if !rest.is_empty() {
            if rest[0] == b'-' && matches!(rest.get(1), None | Some(b' ')) {
                return self.unsupported("a sequence entry after a key");
            }
            let at = at + self.spaces(at);
            return self.inline(indent, at, false);
        }
        self.next_line();
        match self.peek()? {
            Some(m) if m >= indent && self.at_dash(m) => self.nested(|r| r.array(m)),
            Some(m) if m > indent => {
                let at = self.pos + m;
                self.nested(|r| r.mapping(m, at))
            }
            _ => Ok(Value::Null),
        }
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self) -> R<Value>) -> R<Value> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.unsupported("nesting deeper than the fast reader reads");
        }
        let v = f(self);
        self.depth -= 1;
        v
    }

    /// A block mapping whose first key starts at `at` on this line, indented by `indent`.
    fn mapping(&mut self, indent: usize, mut at: usize) -> R<Value> {
        let mut map = Map::new();
        loop {
            let (key, after) = self.key(at)?;
            let value = self.value_after_key(indent, after)?;
            if map.insert(key, value).is_some() {
                return self.unsupported("a duplicate key");
            }
            match self.peek()? {
                Some(m) if m == indent && !self.at_dash(m) => at = self.pos + m,
                Some(m) if m >= indent => {
                    return self.unsupported("a line indented unlike its mapping");
                }
                _ => return Ok(Value::Object(map)),
            }
        }
    }

    /// A block sequence whose entries are at column `indent`, the first on this line.
    fn sequence(&mut self, indent: usize, f: &mut dyn FnMut(Value) -> R<()>) -> R<()> {
        loop {
            let at = self.pos + indent + 1;
            let v = if self.rest(at).is_empty() {
                self.next_line();
                match self.peek()? {
                    Some(m) if m > indent => self.nested(|r| r.block_node(m))?,
                    _ => Value::Null,
                }
            } else {
                let at = at + self.spaces(at);
                self.nested(|r| r.inline(indent, at, true))?
            };
            f(v)?;
            match self.peek()? {
                Some(m) if m == indent && self.at_dash(m) => {}
                Some(m) if m > indent => {
                    return self.unsupported("a line indented unlike its sequence");
                }
                _ => return Ok(()),
            }
        }
    }

    /// A block sequence at column `indent`, the first entry on this line, as one value.
    fn array(&mut self, indent: usize) -> R<Value> {
        let mut items = Vec::new();
        self.sequence(indent, &mut |v| {
            items.push(v);
            Ok(())
        })?;
        Ok(Value::Array(items))
    }

    /// A node that starts on its own line, indented by `m`.
    fn block_node(&mut self, m: usize) -> R<Value> {
        if self.at_dash(m) {
            return self.array(m);
        }
        let at = self.pos + m;
        self.mapping(m, at)
    }

    /// A node that starts at `at`, after `key: ` or `- `, inside a node indented by `parent`.
    /// In a sequence entry it may be a mapping or a sequence of its own (`- a: 1`, `- - x`).
    fn inline(&mut self, parent: usize, at: usize, in_entry: bool) -> R<Value> {
        let col = at - self.pos;
        let rest = self.rest(at);
        match rest[0] {
            b'-' if in_entry && matches!(rest.get(1), None | Some(b' ')) => {
                return self.array(col);
            }
            b'|' | b'>' => return self.block_scalar(parent, at),
            b'"' | b'\'' => {
                let (s, close) = self.quoted(at)?;
                if self.rest(close).is_empty() && (close == self.end || self.src[close] == b' ') {
                    self.next_line();
                    return self.after_scalar(parent, Value::String(s));
                }
                if in_entry {
                    return self.mapping(col, at);
                }
                return self.unsupported("text after a quoted scalar");
            }
            _ => {}
        }
        if matches!(rest, b"{}" | b"[]") {
            let v = if rest[0] == b'{' {
                Value::Object(Map::new())
            } else {
                Value::Array(Vec::new())
            };
            self.next_line();
            return self.after_scalar(parent, v);
        }
        let is_key = rest
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b':' && matches!(rest.get(i + 1), None | Some(b' ')));
        if is_key {
            if in_entry {
                return self.mapping(col, at);
            }
            return self.unsupported("a mapping after a key on the same line");
        }
        let text = self.utf8(rest)?;
        if !plain_start(text) || rest.contains(&b'\t') {
            return self.unsupported("a node this reader does not read");
        }
        let v = plain_value(text).or_else(|| resolve(text));
        let Some(v) = v else {
            return self.unsupported("a scalar serde-saphyr refuses on its own");
        };
        self.next_line();
        self.after_scalar(parent, v)
    }

    /// A scalar's lines are over: the next line must not continue it (a multi-line plain
    /// scalar, or invalid YAML).
    fn after_scalar(&mut self, parent: usize, v: Value) -> R<Value> {
        match self.peek()? {
            Some(m) if m > parent => self.unsupported("a scalar continued on the next line"),
            _ => Ok(v),
        }
    }

    /// A single-line quoted scalar opening at `at`: its text and the index after its closing
    /// quote.
    fn quoted(&self, at: usize) -> R<(String, usize)> {
        let end = self.end;
        let quote = self.src[at];
        let mut out: Vec<u8> = Vec::new();
        let mut i = at + 1;
        while i < end {
            let b = self.src[i];
            if b == quote {
                if quote == b'\'' && self.src.get(i + 1) == Some(&b'\'') {
                    out.push(b'\'');
                    i += 2;
                    continue;
                }
                let s = String::from_utf8(out).map_err(|_| Halt::Unsupported {
                    line: self.line,
                    what: "a scalar split inside a character",
                })?;
                return Ok((s, i + 1));
            }
            if b == b'\\' && quote == b'"' {
                let Some((c, len)) = unescape(&self.src[i + 1..end]) else {
                    return self.unsupported("an escape this reader does not read");
                };
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 1 + len;
                continue;
            }
            out.push(b);
            i += 1;
        }
        self.unsupported("a quoted scalar over several lines")
    }

    /// A `|` or `>` block scalar whose header is at `at`, inside a node indented by `parent`.
    fn block_scalar(&mut self, parent: usize, at: usize) -> R<Value> {
        let header = self.rest(at);
        let folded = header[0] == b'>';
        let (mut chomp, mut explicit) = (b' ', None);
        for &b in &header[1..] {
            match b {
                b'-' | b'+' if chomp == b' ' => chomp = b,
                b'1'..=b'9' if explicit.is_none() => explicit = Some(usize::from(b - b'0')),
                _ => return self.unsupported("a block scalar header this reader does not read"),
            }
        }
        self.next_line();
        // Leading empty lines, then the first line with content sets the indentation.
        let start = (self.pos, self.line);
        let mut leading_max = 0;
        let indent = loop {
            if self.pos >= self.src.len() {
                return self.unsupported("an empty block scalar");
            }
            let n = self.spaces(self.pos);
            match self.src.get(self.pos + n) {
                None | Some(b'\n') => {
                    leading_max = leading_max.max(n);
                    self.next_line();
                }
                Some(b'\t') => return self.unsupported("a tab in a block scalar's indentation"),
                Some(_) => break explicit.map_or(n, |e| parent + e),
            }
        };
        if indent <= parent || leading_max > indent || self.spaces(self.pos) < indent {
            return self.unsupported("a block scalar indented unlike its parent");
        }
        (self.pos, self.line) = start;
        self.end = line_end(self.src, self.pos);
        let mut out = String::new();
        // Empty lines not yet written: they become line feeds if content follows.
        let mut pending = 0usize;
        let mut any = false;
        let mut last_had_newline = true;
        loop {
            if self.pos >= self.src.len() {
                break;
            }
            let end = self.end;
            let n = self.spaces(self.pos);
            let line = &self.src[self.pos..end];
            if n == line.len() {
                if n > indent {
                    return self.unsupported("a block scalar line of spaces only");
                }
                pending += 1;
                self.next_line();
                continue;
            }
            if n < indent {
                if line[n] == b'\t' {
                    return self.unsupported("a tab in a block scalar's indentation");
                }
                break;
            }
            let text = self.utf8(&line[indent..])?;
            if folded {
                if matches!(text.as_bytes()[0], b' ' | b'\t') {
                    return self.unsupported("a more-indented line in a folded scalar");
                }
                if any && pending == 0 {
                    out.push(' ');
                }
            } else if any {
                out.push('\n');
            }
            out.extend(std::iter::repeat_n('\n', pending));
            pending = 0;
            out.push_str(text);
            any = true;
            last_had_newline = end < self.src.len();
            self.next_line();
        }
        if !last_had_newline || (chomp == b'+' && self.pos >= self.src.len()) {
            return self.unsupported("a block scalar at the end of input without a line feed");
        }
        match chomp {
            b'-' => {}
            b'+' => out.extend(std::iter::repeat_n('\n', 1 + pending)),
            _ => out.push('\n'),
        }
        match self.peek()? {
            Some(m) if m > parent => {
                self.unsupported("a line indented unlike a block scalar's parent")
            }
            _ => Ok(Value::String(out)),
        }
    }
}

/// End of the line starting at `from` (its `\n`, or the end of input).
fn line_end(src: &[u8], from: usize) -> usize {
    src[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(src.len(), |i| from + i)
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [head @ .., b' '] = s {
        s = head;
    }
    s
}

/// Every document of `input` as values, or why the fast reader gave up: for tests and for
/// [`super::from_str_multi`]'s callers that want whole documents.
pub fn documents(input: &str) -> R<Vec<Value>> {
    let mut r = Reader::new(input)?;
    let mut docs = Vec::new();
    while let Some(top) = r.next_document()? {
        if top == Top::Empty {
            continue;
        }
        let mut map = Map::new();
        while let Some(key) = r.next_key()? {
            let v = r.value()?;
            if map.insert(key, v).is_some() {
                return r.unsupported("a duplicate key");
            }
        }
        docs.push(Value::Object(map));
    }
    Ok(docs)
}

#[cfg(test)]
mod tests;
