//! Chat templates: turn a conversation into the prompt string a model was trained on.
//!
//! Templates are Jinja, as in `tokenizer.chat_template` of a GGUF file, rendered the way
//! transformers' `apply_chat_template` renders them (jinja2 with `trim_blocks`, `lstrip_blocks`,
//! loop controls, Python string/dict methods, `raise_exception`, `strftime_now` and its own
//! `tojson`). The template sees `messages`, `tools` (none when not given), `documents` (none),
//! `add_generation_prompt`, `bos_token`, `eos_token` and any extra keyword arguments.
//!
//! Templates are untrusted input: every render runs under [`Limits`] (fuel, recursion depth,
//! output size) and fails with [`ModelError::Template`] instead of hanging or exhausting memory.
//!
//! Known differences from jinja2 (tests/fixtures/chat/goldens.json pins the agreement):
//! - `{{ value }}` prints like Python (`True`, `None`, `['a']`), but `~`, `|string` and `|join`
//!   convert with minijinja's rules (`true`, `none`, `["a"]`).
//! - minijinja has no `{% generation %}` tag (a transformers extension) and lacks a few jinja2
//!   filters and Python methods (`truncate`, `wordwrap`, `str.center`, ...): such templates
//!   fail to compile or render; a model template that fails to compile falls back to a built-in.
//! - Python has no budgets; a template needing more than [`Limits`] allow fails here.
//! - An absent optional message field (e.g. `content: None`) is left out, so the template sees
//!   it as undefined rather than `none`.

mod builtin;
mod limits;
mod message;
mod methods;
mod pyjson;
mod pyrepr;
mod render;
mod scan;

use std::collections::BTreeMap;
use std::path::PathBuf;

use minijinja::value::Serde;
use minijinja::{Environment, Value};

pub use builtin::{builtin_names, builtin_source, detect_from_source, for_architecture, DEFAULT_BUILTIN};
pub use limits::Limits;
pub use message::{Content, ContentPart, FunctionCall, Message, ToolCall};

use crate::error::ModelError;

/// GGUF metadata keys read by [`ChatTemplate::for_gguf`].
pub const GGUF_TEMPLATE_KEY: &str = "tokenizer.chat_template";
const GGUF_ARCH_KEY: &str = "general.architecture";

/// Where the template in use came from (worth telling the user when it is a fallback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateOrigin {
    /// Given as source text.
    Source,
    /// A built-in chosen by name.
    Builtin(&'static str),
    /// Read from a file the user named.
    File(PathBuf),
    /// The model's own `tokenizer.chat_template`.
    Gguf,
    /// A built-in picked because the model's template was missing or unusable; `reason` says why.
    Fallback { builtin: &'static str, reason: String },
}

/// Everything one render needs; [`ChatTemplate::render`] is the common shorthand.
#[derive(Clone, Debug, Default)]
pub struct ChatRequest<'a> {
    pub messages: &'a [Message],
    /// Tool definitions (usually a list of OpenAI function schemas); `None` renders as `none`.
    pub tools: Option<&'a serde_json::Value>,
    pub add_generation_prompt: bool,
    pub bos_token: &'a str,
    pub eos_token: &'a str,
    /// Extra template variables (e.g. `enable_thinking`, `documents`, `date_string`). They may
    /// override `bos_token`, `eos_token` and `documents` but not the other variables.
    pub kwargs: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// A compiled chat template with its limits.
pub struct ChatTemplate {
    env: Environment<'static>,
    /// Kept beside the environment, which only lends it out through a temporary handle.
    source: String,
    limits: Limits,
    origin: TemplateOrigin,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("origin", &self.origin)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Variables the caller's kwargs may not replace (transformers passes them explicitly).
const RESERVED: &[&str] = &["messages", "tools", "add_generation_prompt"];

impl ChatTemplate {
    /// Compiles Jinja source; syntax errors are reported here, not at render time.
    pub fn from_source(source: &str) -> Result<ChatTemplate, ModelError> {
        Self::compile(source, TemplateOrigin::Source)
    }

    /// A built-in template by name (see [`builtin_names`]).
    pub fn builtin(name: &str) -> Result<ChatTemplate, ModelError> {
        let (name, source) =
            builtin_names().find(|n| *n == name).and_then(|n| builtin_source(n).map(|s| (n, s))).ok_or_else(|| {
                ModelError::Template(format!(
                    "unknown built-in chat template '{name}' (built-ins: {})",
                    builtin_names().collect::<Vec<_>>().join(", ")
                ))
            })?;
        Self::compile(source, TemplateOrigin::Builtin(name))
    }

    /// Picks the template for a run:
    /// 1. `choice` (from the user): a built-in name, else a path to a Jinja file;
    /// 2. else the model's template (`gguf_template`), if it compiles;
    /// 3. else a built-in recognized from the model's template, or known for `arch`, or chatml.
    ///
    /// An unknown name, an unreadable file or a file that does not compile is an error: the
    /// user asked for it explicitly. The model's template only ever degrades to a fallback.
    pub fn resolve(
        choice: Option<&str>,
        gguf_template: Option<&str>,
        arch: Option<&str>,
    ) -> Result<ChatTemplate, ModelError> {
        if let Some(choice) = choice {
            return Self::from_choice(choice);
        }
        let gguf_template = gguf_template.filter(|s| !s.trim().is_empty());
        let (detected, reason) = match gguf_template {
            Some(src) => match Self::compile(src, TemplateOrigin::Gguf) {
                Ok(t) => return Ok(t),
                Err(e) => (detect_from_source(src), format!("the model's chat template is unusable: {e}")),
            },
            None => (None, "the model has no chat template".to_string()),
        };
        let builtin = detected.or_else(|| arch.and_then(for_architecture)).unwrap_or(DEFAULT_BUILTIN);
        let source = builtin_source(builtin).unwrap_or_default();
        Self::compile(source, TemplateOrigin::Fallback { builtin, reason })
    }

    /// [`resolve`](Self::resolve) with the template and architecture read from a GGUF file.
    pub fn for_gguf(choice: Option<&str>, file: &gguf::GgufFile) -> Result<ChatTemplate, ModelError> {
        let template = file.metadata.opt_str(GGUF_TEMPLATE_KEY)?;
        let arch = file.metadata.opt_str(GGUF_ARCH_KEY)?;
        Self::resolve(choice, template, arch)
    }

    fn from_choice(choice: &str) -> Result<ChatTemplate, ModelError> {
        if let Some(name) = builtin_names().find(|n| *n == choice) {
            return Self::builtin(name);
        }
        let path = PathBuf::from(choice);
        let source = std::fs::read_to_string(&path).map_err(|e| {
            ModelError::Template(format!(
                "chat template '{choice}' is neither a built-in ({}) nor a readable file: {e}",
                builtin_names().collect::<Vec<_>>().join(", ")
            ))
        })?;
        Self::compile(&source, TemplateOrigin::File(path.clone()))
            .map_err(|e| ModelError::Template(format!("chat template file {}: {e}", path.display())))
    }

    fn compile(source: &str, origin: TemplateOrigin) -> Result<ChatTemplate, ModelError> {
        let limits = Limits::default();
        let env = limits::on_render_thread(limits.stack_size, || render::environment(source, &limits))?;
        Ok(ChatTemplate { env, source: source.to_string(), limits, origin })
    }

    /// Replaces the default [`Limits`].
    pub fn with_limits(mut self, limits: Limits) -> ChatTemplate {
        render::apply_limits(&mut self.env, &limits);
        self.limits = limits;
        self
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn origin(&self) -> &TemplateOrigin {
        &self.origin
    }

    /// The Jinja source in use.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders a conversation; `bos` / `eos` are the tokenizer's special tokens as text.
    pub fn render(
        &self,
        messages: &[Message],
        tools: Option<&serde_json::Value>,
        add_generation_prompt: bool,
        bos: &str,
        eos: &str,
    ) -> Result<String, ModelError> {
        self.render_request(&ChatRequest {
            messages,
            tools,
            add_generation_prompt,
            bos_token: bos,
            eos_token: eos,
            kwargs: None,
        })
    }

    /// Renders with every option, extra keyword arguments included.
    pub fn render_request(&self, req: &ChatRequest<'_>) -> Result<String, ModelError> {
        let mut ctx: BTreeMap<String, Value> = BTreeMap::new();
        ctx.insert("bos_token".into(), Value::from(req.bos_token));
        ctx.insert("eos_token".into(), Value::from(req.eos_token));
        ctx.insert("documents".into(), Value::from(()));
        for (key, value) in req.kwargs.into_iter().flatten() {
            if RESERVED.contains(&key.as_str()) {
                return Err(ModelError::Template(format!(
                    "extra template argument '{key}' would replace a built-in variable"
                )));
            }
            ctx.insert(key.clone(), Value::from(Serde(value)));
        }
        ctx.insert("messages".into(), Value::from(Serde(req.messages)));
        let tools = req.tools.map(|t| Value::from(Serde(t))).unwrap_or(Value::from(()));
        ctx.insert("tools".into(), tools);
        ctx.insert("add_generation_prompt".into(), Value::from(req.add_generation_prompt));
        let ctx = Value::from(ctx);
        let max_output = self.limits.max_output;
        limits::on_render_thread(self.limits.stack_size, || render::render(&self.env, ctx, max_output))
    }
}
