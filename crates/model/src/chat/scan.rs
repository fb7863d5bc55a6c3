//! A lexical check run before compiling: it bounds the work minijinja's compiler does.
//!
//! Compiling is not metered by fuel, and minijinja folds constants by re-evaluating the whole
//! subtree under every operator node, so an expression with n operators costs O(n²) to compile
//! (a 256 KiB `{{ 1 ~ 1 ~ 1 ~ ... }}` would take hours). Real chat templates put a handful of
//! operators in one tag, a few dozen at most; capping operators per tag and the source size
//! caps compile time at a fraction of a second.

/// Operator tokens allowed in one `{{ ... }}` or `{% ... %}` tag.
pub(crate) const MAX_TAG_OPS: usize = 128;

/// Returns an error message naming the line of the first tag with too many operators.
pub(crate) fn check_tag_complexity(source: &str) -> Result<(), String> {
    let bytes = source.as_bytes();
    let mut i = 0;
    let mut line = 1;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'{', Some(b'{')) | (b'{', Some(b'%')) => {
                let close = if bytes[i + 1] == b'{' { b'}' } else { b'%' };
                let start_line = line;
                let (end, ops, lines) = scan_tag(bytes, i + 2, close);
                if ops > MAX_TAG_OPS {
                    return Err(format!(
                        "the tag at line {start_line} has {ops} operators; the limit is {MAX_TAG_OPS}"
                    ));
                }
                line += lines;
                i = end;
            }
            (b'{', Some(b'#')) => {
                let end = find(bytes, i + 2, b"#}").unwrap_or(bytes.len());
                line += count_lines(&bytes[i..end]);
                i = end;
            }
            (b'\n', _) => {
                line += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Scans a tag body from `i` to its closing `close}`; returns (index after it, operators, newlines).
fn scan_tag(bytes: &[u8], mut i: usize, close: u8) -> (usize, usize, usize) {
    let (mut ops, mut lines, mut braces) = (0, 0, 0usize);
    let mut word_start = None;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() || b == b'_' {
            word_start.get_or_insert(i);
            i += 1;
            continue;
        }
        if let Some(start) = word_start.take() {
            ops += usize::from(matches!(&bytes[start..i], b"and" | b"or" | b"not" | b"in"));
        }
        match b {
            b'\n' => lines += 1,
            b'\'' | b'"' => {
                // String literal: skip to the unescaped closing quote.
                i += 1;
                while i < bytes.len() && bytes[i] != b {
                    lines += usize::from(bytes[i] == b'\n');
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'~' | b'<' | b'>' | b'=' | b'!' | b',' => {
                if b == close && bytes.get(i + 1) == Some(&b'}') {
                    return (i + 2, ops, lines);
                }
                ops += 1;
            }
            // Dict literals nest braces inside `{{ }}`; only an unnested `}}` closes the tag.
            b'{' => braces += 1,
            b'}' if braces > 0 => braces -= 1,
            b'}' if close == b'}' && bytes.get(i + 1) == Some(&b'}') => return (i + 2, ops, lines),
            _ => {}
        }
        i += 1;
    }
    (bytes.len(), ops, lines)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p + needle.len())
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_operators_outside_strings() {
        assert!(check_tag_complexity("{{ 'a+b+c' ~ x }} {% if a and b %}").is_ok());
        let many = format!("\n{{{{ 1{} }}}}", "+1".repeat(MAX_TAG_OPS + 1));
        let err = check_tag_complexity(&many).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        // Operators in text, strings and comments do not count.
        let text = "+".repeat(10 * MAX_TAG_OPS);
        let ok = format!("{text}{{{{ '{text}' }}}}{{# {{{{ {text} #}}{{% set x = \"{text}\" %}}");
        assert!(check_tag_complexity(&ok).is_ok());
    }
}
