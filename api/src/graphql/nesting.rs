//! A bound on how deeply a GraphQL document nests, checked on the raw text before any parser
//! sees it. The parser recurses once per level of `{`, `[` and `(` (selection sets, lists,
//! input objects, arguments), so a few kilobytes of brackets would overflow a worker's stack
//! and abort the process; counting brackets costs one pass and no allocation.

/// At most this many open brackets at once. Real screens stay far below: selections are
/// limited to [`super::MAX_DEPTH`] levels, and arguments add a few more.
pub const MAX_NESTING: usize = 64;

/// Whether `document` opens more than `limit` brackets at once, counting `{`, `[` and `(`
/// together and ignoring those inside strings, block strings and comments.
///
/// Where the text is malformed (an unterminated string, a stray closing bracket) the count
/// errs towards more nesting, never less: the parser refuses such text anyway, and the
/// scanner must not be talked into skipping brackets the parser would read.
pub fn exceeds(document: &str, limit: usize) -> bool {
    let bytes = document.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'#' => i = line_end(bytes, i + 1),
            b'"' if bytes[i..].starts_with(b"\"\"\"") => i = block_string_end(bytes, i + 3),
            b'"' => i = string_end(bytes, i + 1),
            _ => i += 1,
        }
    }
    false
}

/// The index of the line terminator that ends a comment (or the end of the text).
fn line_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The index just past the closing quote of a string whose body starts at `i`. A string
/// cannot span lines, so a line terminator ends it too (the parser will refuse the text, and
/// scanning resumes as code).
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            b'\\' if i + 1 < bytes.len() && !matches!(bytes[i + 1], b'\n' | b'\r') => i += 2,
            _ => i += 1,
        }
    }
    i
}

/// The index just past the closing `"""` of a block string whose body starts at `i`; `\"""`
/// is an escaped delimiter, not the end.
fn block_string_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"\\\"\"\"") {
            i += 4;
        } else if rest.starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(document: &str) -> usize {
        (0..=MAX_NESTING * 4)
            .find(|&limit| !exceeds(document, limit))
            .expect("a depth within the test's range")
    }

    #[test]
    fn counts_every_kind_of_bracket_together() {
        assert_eq!(depth("{ me { id } }"), 2);
        assert_eq!(depth(r#"{ child(id: "x") { id } }"#), 2);
        assert_eq!(depth("query($a: [[Int]]) { a(x: [{ b: [1] }]) { c } }"), 5);
        assert_eq!(depth("{ a } { b } { c }"), 1, "siblings do not add up");
    }

    #[test]
    fn refuses_the_crash_payloads_at_once() {
        let list = format!(
            "{{ child(id: {}\"x\"{}) {{ id }} }}",
            "[".repeat(2_000),
            "]".repeat(2_000)
        );
        assert!(exceeds(&list, MAX_NESTING));
        let object = format!(
            "{{ child(id: {}1{}) {{ id }} }}",
            "{a:".repeat(2_000),
            "}".repeat(2_000)
        );
        assert!(exceeds(&object, MAX_NESTING));
        // Unclosed brackets count as open: a truncated document is no way around the bound.
        assert!(exceeds(&"[".repeat(MAX_NESTING + 1), MAX_NESTING));
        assert!(!exceeds(&"[]".repeat(10_000), MAX_NESTING));
    }

    #[test]
    fn ignores_brackets_in_strings_with_escaped_quotes() {
        let s = format!(r#"{{ a(s: "\"{}\\") }}"#, "[".repeat(100));
        assert_eq!(depth(&s), 2);
        // The escaped backslash ends the escape; the quote after it closes the string.
        assert_eq!(depth(r#"{ a(s: "\\") { b(t: "[[[") { c } } }"#), 3);
        assert_eq!(depth(r#"{ a(s: "\u005B[") }"#), 2);
    }

    #[test]
    fn ignores_brackets_in_block_strings() {
        let s = format!(
            "{{ a(s: \"\"\"\n{}\n\\\"\"\" still inside {}\n\"\"\") }}",
            "{[(".repeat(100),
            "\"".repeat(2)
        );
        assert_eq!(depth(&s), 2);
        assert_eq!(
            depth(r#"{ a(s: """""") { b { c } } }"#),
            3,
            "an empty block string"
        );
    }

    #[test]
    fn ignores_brackets_in_comments() {
        let s = format!("{{ # {}\n me {{ id }} # ]]]]\n}}", "[{(".repeat(100));
        assert_eq!(depth(&s), 2);
        assert_eq!(
            depth("{ a # [[[\r b { c } }"),
            2,
            "a carriage return ends a comment"
        );
        // A `#` inside a string is text, not a comment.
        assert_eq!(depth("{ a(s: \"#\") { b { c } } }"), 3);
    }

    #[test]
    fn a_string_cannot_hide_brackets_across_lines() {
        // An unterminated string ends at the line break, and what follows is counted.
        let s = format!("{{ a(s: \"oops\n{}", "[".repeat(MAX_NESTING));
        assert!(exceeds(&s, MAX_NESTING));
        // A backslash before the line break does not carry the string over it.
        let s = format!("{{ a(s: \"oops\\\n{}", "[".repeat(MAX_NESTING));
        assert!(exceeds(&s, MAX_NESTING));
    }
}
