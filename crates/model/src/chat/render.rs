//! The minijinja environment set up the way transformers' `apply_chat_template` sets up jinja2,
//! plus the limits that make a hostile template fail fast instead of hanging or eating memory.

use std::fmt::Write as _;
use std::io;

use chrono::format::{Item, StrftimeItems};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Rest, ValueOrKwargs};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, Value};

use super::limits::Limits;
use super::{methods, pyjson, pyrepr, scan};
use crate::error::ModelError;

/// Name of the single template in each environment (shows up in error locations).
pub(crate) const TEMPLATE_NAME: &str = "chat_template";

/// Real chat templates are a few KiB to a few tens of KiB. The cap also bounds how deeply
/// nested a parsed expression can get (`a|f|f|f...`), which compiling walks recursively.
pub(crate) const MAX_SOURCE: usize = 256 << 10;

/// The message carried by `raise_exception(msg)`, found again in the error's source chain.
#[derive(Debug)]
struct Raised(String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

/// Compiles `source` into a fresh environment configured like transformers' jinja2 one.
pub(crate) fn environment(source: &str, limits: &Limits) -> Result<Environment<'static>, ModelError> {
    if source.len() > MAX_SOURCE {
        return Err(ModelError::Template(format!(
            "template source is {} bytes; the limit is {MAX_SOURCE}",
            source.len()
        )));
    }
    scan::check_tag_complexity(source)
        .map_err(|why| ModelError::Template(format!("template is too complex to compile safely: {why}")))?;
    let mut env = Environment::new();
    let syntax =
        SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build().map_err(|e| template_error(&e))?;
    env.set_syntax(syntax);
    // transformers renders without autoescaping; minijinja would escape by file extension.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // `.strip()`, `.startswith()`, `.items()`, ... as in Python.
    env.set_unknown_method_callback(methods::unknown_method);
    // `{{ flag }}` prints `True` as in Python, not minijinja's `true`.
    env.set_formatter(pyrepr::format);
    env.add_function("raise_exception", raise_exception);
    env.add_function("strftime_now", strftime_now);
    apply_limits(&mut env, limits);
    env.add_template_owned(TEMPLATE_NAME, source.to_string())
        .map_err(|e| ModelError::Template(format!("template does not compile: {}", describe(&e))))?;
    Ok(env)
}

/// Sets the budgets; `tojson` is re-registered because it caps its result at the output limit.
pub(crate) fn apply_limits(env: &mut Environment<'static>, limits: &Limits) {
    env.set_fuel(Some(limits.fuel));
    env.set_recursion_limit(limits.max_recursion);
    let max_len = limits.max_output;
    env.add_filter("tojson", move |state: &State, value: &Value, args: Rest<ValueOrKwargs>| {
        pyjson::tojson(state, value, &args.into_values(), max_len)
    });
}

/// Renders the environment's template with `ctx`, stopping once the output passes `max_output`.
pub(crate) fn render(env: &Environment<'static>, ctx: Value, max_output: usize) -> Result<String, ModelError> {
    let template = env.get_template(TEMPLATE_NAME).map_err(|e| template_error(&e))?;
    let mut out = CappedWriter { buf: Vec::new(), cap: max_output, overflowed: false };
    if let Err(e) = template.render_captured_to(ctx, &mut out) {
        if out.overflowed {
            return Err(ModelError::Template(format!(
                "rendered prompt exceeds the output limit of {max_output} bytes"
            )));
        }
        return Err(template_error(&e));
    }
    String::from_utf8(out.buf).map_err(|_| ModelError::Template("rendered prompt is not valid UTF-8".to_string()))
}

/// Collects output and fails the write that would take it past `cap`, which aborts the render.
struct CappedWriter {
    buf: Vec<u8>,
    cap: usize,
    overflowed: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.cap {
            self.overflowed = true;
            return Err(io::Error::other("output limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(crate) fn template_error(e: &Error) -> ModelError {
    ModelError::Template(describe(e))
}

/// A one-line description: the template's own message for `raise_exception`, else minijinja's
/// (which names the kind of error and the template line).
fn describe(e: &Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(raised) = s.downcast_ref::<Raised>() {
            return format!("template raised an exception: {raised}");
        }
        source = s.source();
    }
    match e.kind() {
        ErrorKind::OutOfFuel => format!(
            "template exceeded its work budget (fuel) and was stopped{}",
            e.line().map(|l| format!(" at line {l}")).unwrap_or_default()
        ),
        _ => e.to_string(),
    }
}

/// Templates pass a string, but Python would accept anything printable.
fn raise_exception(msg: Value) -> Result<Value, Error> {
    let msg = msg.to_string();
    Err(Error::new(ErrorKind::InvalidOperation, msg.clone()).with_source(Raised(msg)))
}

/// Python's `datetime.now().strftime(fmt)`: local time, C strftime codes.
fn strftime_now(fmt: &str) -> Result<String, Error> {
    const MAX_FORMAT: usize = 256;
    if fmt.len() > MAX_FORMAT {
        return Err(Error::new(ErrorKind::InvalidOperation, "strftime_now: format string too long"));
    }
    let items: Vec<Item> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(Error::new(ErrorKind::InvalidOperation, format!("strftime_now: unsupported format {fmt:?}")));
    }
    let mut out = String::new();
    write!(out, "{}", chrono::Local::now().format_with_items(items.into_iter()))
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "strftime_now: cannot format time"))?;
    Ok(out)
}
