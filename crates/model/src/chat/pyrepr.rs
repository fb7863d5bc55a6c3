//! How `{{ value }}` prints, made to match jinja2, which prints Python's `str(value)`:
//! `True` / `False` / `None`, floats as `repr`, and lists and dicts as their Python repr
//! (`[{'type': 'text', 'text': 'hi'}]`). minijinja would print `true`, `none` and JSON-like
//! containers. Strings and integers print the same in both and go to the default formatter.
//!
//! Only direct output is covered: `~`, `|string` and `|join` still use minijinja's own
//! conversions (see the module docs of `chat`).

use std::fmt::Write as _;

use minijinja::value::ValueKind;
use minijinja::{escape_formatter, Error, ErrorKind, Output, State, Value};

use super::pyjson::py_float_repr;

/// Deeper containers print as `...` instead of recursing further (the walk is recursive).
const MAX_DEPTH: usize = 64;

pub fn format(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    match value.kind() {
        ValueKind::Bool | ValueKind::None | ValueKind::Seq | ValueKind::Map => {
            repr(out, value, 0, false).map_err(|_| write_failed())
        }
        ValueKind::Number if !value.is_integer() => repr(out, value, 0, false).map_err(|_| write_failed()),
        _ => escape_formatter(out, state, value),
    }
}

fn write_failed() -> Error {
    Error::new(ErrorKind::WriteFailure, "could not write template output")
}

/// Writes Python's repr of `v` piece by piece, so the output limit and the fuel for written
/// bytes stop a huge container early. `quoted`: strings inside containers are quoted.
fn repr(out: &mut Output, v: &Value, depth: usize, quoted: bool) -> std::fmt::Result {
    if depth > MAX_DEPTH {
        return out.write_str("...");
    }
    match v.kind() {
        ValueKind::Bool => out.write_str(if v.is_true() { "True" } else { "False" }),
        ValueKind::None => out.write_str("None"),
        ValueKind::Number if !v.is_integer() => {
            let mut s = String::new();
            py_float_repr(f64::try_from(v.clone()).unwrap_or(f64::NAN), &mut s);
            // Python's repr spells these differently from JSON.
            let s = match s.as_str() {
                "NaN" => "nan",
                "Infinity" => "inf",
                "-Infinity" => "-inf",
                other => other,
            };
            out.write_str(s)
        }
        ValueKind::String if quoted => repr_str(out, v.as_str().unwrap_or_default()),
        ValueKind::Seq => {
            out.write_char('[')?;
            for (i, item) in v.try_iter().map_err(|_| std::fmt::Error)?.enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                repr(out, &item, depth + 1, true)?;
            }
            out.write_char(']')
        }
        ValueKind::Map => {
            out.write_char('{')?;
            for (i, key) in v.try_iter().map_err(|_| std::fmt::Error)?.enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                repr(out, &key, depth + 1, true)?;
                out.write_str(": ")?;
                let item = v.get_item(&key).unwrap_or_default();
                repr(out, &item, depth + 1, true)?;
            }
            out.write_char('}')
        }
        _ => write!(out, "{v}"),
    }
}

/// Python's string repr: single quotes unless the text has `'` and no `"`, backslash escapes for
/// the quote, `\`, `\n`, `\r`, `\t`, and `\x..` / `\u....` for other control characters.
/// (Python also escapes some non-control unprintables, e.g. U+00A0; those pass through here.)
fn repr_str(out: &mut Output, s: &str) -> std::fmt::Result {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.write_char(quote)?;
    for c in s.chars() {
        match c {
            '\\' => out.write_str("\\\\")?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if c == quote => {
                out.write_char('\\')?;
                out.write_char(c)?;
            }
            c if (c as u32) < 0x100 && c.is_control() => write!(out, "\\x{:02x}", c as u32)?,
            c if c.is_control() => write!(out, "\\u{:04x}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    out.write_char(quote)
}
