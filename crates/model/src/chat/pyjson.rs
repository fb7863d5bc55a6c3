//! `tojson` as transformers defines it: Python's `json.dumps(x, ensure_ascii=False, indent=None,
//! separators=None, sort_keys=False)`.
//!
//! minijinja's own `tojson` differs in ways a prompt notices (it escapes `<`, `>`, `&`, `'` for
//! HTML and spaces differently), and tool schemas go through `tojson` in most tool-calling
//! templates, so the byte layout of Python's encoder is reproduced here: `", "` / `": "`
//! separators, `repr`-style floats, `NaN` / `Infinity`, and its string escapes.

use std::fmt::Write as _;

use minijinja::value::{from_args, Kwargs, ValueKind};
use minijinja::{Error, ErrorKind, State, Value};

/// Python raises RecursionError near 1000 frames; a template can nest lists far deeper cheaply,
/// and this walk is recursive, so it stops well before the native stack could.
const MAX_DEPTH: usize = 128;

/// No real template indents by more; a huge count would allocate before any output check.
const MAX_INDENT: i64 = 1024;

/// Options of Python's `json.dumps` that transformers' `tojson` exposes.
struct Style {
    ensure_ascii: bool,
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
}

/// The `tojson` filter. `max_len` caps the result (and the memory built up while producing it).
pub fn tojson(state: &State, value: &Value, args: &[Value], max_len: usize) -> Result<Value, Error> {
    let style = parse_style(args)?;
    let mut out = Encoder { out: String::new(), style: &style, max_len };
    out.value(value, 0)?;
    // Charge like minijinja's own serializer does: walking a value costs more than copying it.
    state.consume_fuel((out.out.len() as u64) / 4)?;
    Ok(Value::from(out.out))
}

/// Positional order follows transformers' signature: ensure_ascii, indent, separators, sort_keys.
fn parse_style(args: &[Value]) -> Result<Style, Error> {
    let (pos, kwargs): (&[Value], Kwargs) = from_args(args)?;
    if pos.len() > 4 {
        return Err(Error::from(ErrorKind::TooManyArguments));
    }
    let arg = |i: usize, name: &str| -> Result<Option<Value>, Error> {
        let kw: Option<Value> = kwargs.get(name)?;
        match (pos.get(i), kw) {
            (Some(_), Some(_)) => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("tojson got multiple values for argument '{name}'"),
            )),
            (Some(v), None) => Ok(Some(v.clone())),
            (None, kw) => Ok(kw.filter(|v| !v.is_none() && !v.is_undefined())),
        }
    };
    let ensure_ascii = arg(0, "ensure_ascii")?.is_some_and(|v| v.is_true());
    let indent = match arg(1, "indent")? {
        None => None,
        Some(v) => Some(indent_string(&v)?),
    };
    let (item_sep, key_sep) = match arg(2, "separators")? {
        Some(v) => separators(&v)?,
        // Python drops the space after ',' once lines are indented.
        None if indent.is_some() => (",".to_string(), ": ".to_string()),
        None => (", ".to_string(), ": ".to_string()),
    };
    let sort_keys = arg(3, "sort_keys")?.is_some_and(|v| v.is_true());
    kwargs.assert_all_used()?;
    Ok(Style { ensure_ascii, indent, item_sep, key_sep, sort_keys })
}

fn indent_string(v: &Value) -> Result<String, Error> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_string());
    }
    match v.as_i64() {
        // Python: ' ' * n, so n <= 0 means newlines without indentation.
        Some(n) if v.kind() == ValueKind::Number && n <= MAX_INDENT => Ok(" ".repeat(n.max(0) as usize)),
        Some(_) if v.kind() == ValueKind::Number => Err(invalid("tojson: indent is too large")),
        _ => Err(invalid("tojson: indent must be an integer or a string")),
    }
}

fn separators(v: &Value) -> Result<(String, String), Error> {
    let items: Vec<Value> = v.try_iter().map(|it| it.collect()).unwrap_or_default();
    match items.as_slice() {
        [a, b] if a.as_str().is_some() && b.as_str().is_some() => Ok((a.to_string(), b.to_string())),
        _ => Err(invalid("tojson: separators must be a pair of strings")),
    }
}

fn invalid(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.to_string())
}

struct Encoder<'a> {
    out: String,
    style: &'a Style,
    max_len: usize,
}

impl Encoder<'_> {
    fn value(&mut self, v: &Value, depth: usize) -> Result<(), Error> {
        if depth > MAX_DEPTH {
            return Err(invalid("tojson: value nested too deeply"));
        }
        match v.kind() {
            ValueKind::None => self.out.push_str("null"),
            ValueKind::Bool => self.out.push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => self.number(v),
            ValueKind::String => self.string(v.as_str().unwrap_or_default()),
            ValueKind::Seq | ValueKind::Iterable => self.seq(v, depth)?,
            ValueKind::Map => self.map(v, depth)?,
            kind => return Err(invalid(&format!("tojson: object of type {kind} is not JSON serializable"))),
        }
        self.check_len()
    }

    fn check_len(&self) -> Result<(), Error> {
        if self.out.len() > self.max_len {
            return Err(invalid(&format!("tojson: result exceeds {} bytes", self.max_len)));
        }
        Ok(())
    }

    fn number(&mut self, v: &Value) {
        if v.is_integer() {
            let _ = write!(self.out, "{v}");
        } else {
            let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
            py_float_repr(f, &mut self.out);
        }
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(self.out, "\\u{:04x}", c as u32);
                }
                c if self.style.ensure_ascii && (c as u32) > 0x7e => {
                    // DEL (0x7f) is ASCII and Python leaves it alone.
                    if c as u32 == 0x7f {
                        self.out.push(c);
                    } else {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            let _ = write!(self.out, "\\u{u:04x}");
                        }
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    /// Newline plus indentation for `depth` levels, or nothing when not indenting.
    fn newline(&mut self, depth: usize) -> Result<(), Error> {
        if let Some(ind) = &self.style.indent {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str(ind);
                self.check_len()?;
            }
        }
        Ok(())
    }

    fn seq(&mut self, v: &Value, depth: usize) -> Result<(), Error> {
        let items = v.try_iter()?;
        self.out.push('[');
        let mut first = true;
        for item in items {
            if !first {
                let sep = &self.style.item_sep;
                self.out.push_str(sep);
            }
            self.newline(depth + 1)?;
            first = false;
            self.value(&item, depth + 1)?;
        }
        if !first {
            self.newline(depth)?;
        }
        self.out.push(']');
        Ok(())
    }

    fn map(&mut self, v: &Value, depth: usize) -> Result<(), Error> {
        let mut entries = Vec::new();
        for key in v.try_iter()? {
            let value = v.get_item(&key)?;
            entries.push((key_string(&key)?, value));
        }
        if self.style.sort_keys {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
        }
        self.out.push('{');
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 {
                let sep = &self.style.item_sep;
                self.out.push_str(sep);
            }
            self.newline(depth + 1)?;
            self.string(key);
            let sep = &self.style.key_sep;
            self.out.push_str(sep);
            self.value(value, depth + 1)?;
        }
        if !entries.is_empty() {
            self.newline(depth)?;
        }
        self.out.push('}');
        Ok(())
    }
}

/// Python converts these key types to strings; anything else is a TypeError.
fn key_string(k: &Value) -> Result<String, Error> {
    match k.kind() {
        ValueKind::String => Ok(k.as_str().unwrap_or_default().to_string()),
        ValueKind::None => Ok("null".to_string()),
        ValueKind::Bool => Ok(if k.is_true() { "true" } else { "false" }.to_string()),
        ValueKind::Number if k.is_integer() => Ok(k.to_string()),
        ValueKind::Number => {
            let mut s = String::new();
            py_float_repr(f64::try_from(k.clone()).unwrap_or(f64::NAN), &mut s);
            Ok(s)
        }
        kind => Err(invalid(&format!("tojson: keys must be str, int, float, bool or None, not {kind}"))),
    }
}

/// Python's `repr(float)` (what `json.dumps` writes): the shortest round-tripping digits, in
/// positional notation when the decimal exponent is in -4..16, else as `d.ddde+XX`.
pub fn py_float_repr(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // Rust's `{:e}` gives the same shortest digits: "-1.25e-7", "1e16", "0e0".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::py_float_repr;

    fn repr(f: f64) -> String {
        let mut s = String::new();
        py_float_repr(f, &mut s);
        s
    }

    #[test]
    fn floats_match_python_repr() {
        // Expected strings are what CPython's repr() prints for each value.
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789.125, "123456789.125"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (f, want) in cases {
            assert_eq!(repr(f), want, "{f:e}");
        }
    }
}
