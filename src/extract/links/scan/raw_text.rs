//! Raw text: where `script` (with its escaped states), `style`, `title`
//! and the other raw text and RCDATA elements end.

use memchr::{memchr, memchr2};

use super::Scanner;

/// Where script data is: its states that decide where `</script` ends it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ScriptState {
    Data,
    Escaped,
    DoubleEscaped,
}

impl Scanner<'_> {
    /// RAWTEXT or RCDATA: text up to `</name` followed by a delimiter.
    pub(super) fn raw_text(&mut self, name: &str) {
        self.at = self.find_end_tag(self.at, name).unwrap_or(self.bytes.len());
    }

    /// Script data with its escaped and double-escaped states (`<!--` inside
    /// a script can hide `</script>` behind a `<script>`).
    pub(super) fn script_data(&mut self) {
        let mut state = ScriptState::Data;
        let mut at = self.at;
        loop {
            // Dashes matter only in the escaped states.
            let next = if state == ScriptState::Data {
                memchr(b'<', &self.bytes[at..])
            } else {
                memchr2(b'<', b'-', &self.bytes[at..])
            };
            let Some(offset) = next else {
                self.at = self.bytes.len();
                return;
            };
            at += offset;
            let rest = &self.bytes[at..];
            if rest[0] == b'-' {
                let ends_escape = state != ScriptState::Data && rest.starts_with(b"-->");
                if ends_escape {
                    state = ScriptState::Data;
                }
                at += if ends_escape { 3 } else { 1 };
            } else if state == ScriptState::Data && rest.starts_with(b"<!--") {
                (at, state) = self.script_comment_open(at + 4);
            } else if rest.len() > 1 && rest[1] == b'/' && self.is_end_tag_at(at + 2, "script") {
                if state != ScriptState::DoubleEscaped {
                    self.at = at;
                    return;
                }
                state = ScriptState::Escaped;
                at += 9;
            } else if state == ScriptState::Escaped && self.is_end_tag_at(at + 1, "script") {
                state = ScriptState::DoubleEscaped;
                at += 8;
            } else {
                at += 1;
            }
        }
    }

    /// After `<!--` in script data (at `at`): `<!-->`, `<!--->` … leave
    /// the data state; anything else escapes.
    fn script_comment_open(&self, at: usize) -> (usize, ScriptState) {
        let dashes = self.bytes[at..]
            .iter()
            .take_while(|&&byte| byte == b'-')
            .count();
        if self.bytes.get(at + dashes) == Some(&b'>') {
            (at + dashes + 1, ScriptState::Data)
        } else {
            (at, ScriptState::Escaped)
        }
    }

    /// The offset of the `<` of the first `</name` + delimiter at or after `from`.
    pub(super) fn find_end_tag(&self, mut from: usize, name: &str) -> Option<usize> {
        while let Some(offset) = memchr::memmem::find(&self.bytes[from..], b"</") {
            let at = from + offset;
            if self.is_end_tag_at(at + 2, name) {
                return Some(at);
            }
            from = at + 2;
        }
        None
    }

    /// Whether `name` (any case) followed by whitespace, `/` or `>` starts at `at`.
    pub(super) fn is_end_tag_at(&self, at: usize, name: &str) -> bool {
        let end = at + name.len();
        self.bytes
            .get(at..end)
            .is_some_and(|text| text.eq_ignore_ascii_case(name.as_bytes()))
            && matches!(
                self.bytes.get(end),
                Some(b'\t' | b'\n' | b'\r' | b'\x0C' | b' ' | b'/' | b'>')
            )
    }
}
