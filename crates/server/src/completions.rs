//! `POST /v1/completions`: one or more prompts (text or token ids), `n` choices each; choice
//! `p * n + i` is prompt `p`'s `i`-th.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::FinishReason;
use model::Tokenizer;
use serde_json::{json, Map, Value};

use crate::common::{self, blocking, check_model, token_text, usage, Prepared};
use crate::error::ApiError;
use crate::generate::{self, lp_json, Job, TokenLogprob};
use crate::params::{self, MAX_CHOICES, MAX_TOP_LOGPROBS};
use crate::prompt;
use crate::request::{fields, parse_json, CommonFields, CompletionFields};
use crate::sse::{self, StreamShape};
use crate::state::AppState;

/// The `object` of completions and of their streamed chunks.
const OBJECT: &str = "text_completion";

pub async fn handler(State(state): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Response {
    run(state, body).await.unwrap_or_else(IntoResponse::into_response)
}

async fn run(state: Arc<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let body = common::body(&state, body)?;
    let st = state.clone();
    let p = blocking(move || prepare(&st, &body)).await?;
    let n_choices = p.jobs.len();
    let running = generate::start(&state, p.jobs, "prompt")?;
    let shape = CompletionChunks {
        tok: state.tok.clone(),
        id: common::response_id("cmpl-"),
        created: common::now_secs(),
        model: state.cfg.model_id.clone(),
        offsets: vec![0; n_choices],
    };
    if p.opts.stream {
        return Ok(sse::response(running, shape, p.opts.include_usage, p.prompt_tokens));
    }
    let results = generate::collect(running).await;
    if let Some(e) = generate::failure(&results) {
        return Err(e);
    }
    let want_logprobs = p.opts.sampling.logprobs.is_some();
    let completion: usize = results.iter().map(|r| r.completion_tokens).sum();
    let choices: Vec<Value> = results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let logprobs = match want_logprobs {
                true => shape.logprobs(&r.logprobs, &r.offsets),
                false => Value::Null,
            };
            json!({ "index": i, "text": r.text, "logprobs": logprobs, "finish_reason": r.finish.map(|f| f.as_openai()) })
        })
        .collect();
    let body = common::full_response(
        &shape.id,
        OBJECT,
        shape.created,
        &shape.model,
        choices,
        usage(p.prompt_tokens, completion),
    );
    Ok(Json(body).into_response())
}

fn prepare(state: &AppState, body: &[u8]) -> Result<Prepared, ApiError> {
    let v = parse_json(body)?;
    let c: CommonFields = fields(&v)?;
    check_model(state, c.model.as_deref())?;
    let f: CompletionFields = fields(&v)?;
    // Fields whose silent loss would change the answer.
    if f.echo == Some(true) {
        return Err(ApiError::invalid("echo", "'echo' is not supported by this server"));
    }
    if f.suffix.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(ApiError::invalid("suffix", "'suffix' is not supported by this server"));
    }
    if f.best_of.is_some_and(|b| Some(b) != c.n && b != 1) {
        return Err(ApiError::invalid("best_of", "'best_of' other than 'n' is not supported by this server"));
    }
    let logprobs = match f.logprobs {
        None => None,
        Some(n) if (0..=MAX_TOP_LOGPROBS as i64).contains(&n) => Some(n as usize),
        Some(n) => {
            return Err(ApiError::invalid(
                "logprobs",
                format!("'logprobs' must be between 0 and {MAX_TOP_LOGPROBS}, got {n}"),
            ))
        }
    };
    let opts = params::options(&c, c.max_tokens.map(|m| ("max_tokens", m)), logprobs, state.cfg.n_vocab)?;
    let prompts = prompt::completion_prompts(&state.tok, f.prompt.as_ref(), state.cfg.n_vocab)?;
    if prompts.len() * opts.n > MAX_CHOICES {
        return Err(ApiError::invalid(
            "n",
            format!("{} prompts times n = {} is more than {MAX_CHOICES} choices", prompts.len(), opts.n),
        ));
    }
    let mut jobs = Vec::with_capacity(prompts.len() * opts.n);
    for (pi, tokens) in prompts.iter().enumerate() {
        let field = if prompts.len() == 1 { "prompt".to_string() } else { format!("prompt[{pi}]") };
        let max = prompt::fit(&field, tokens.len(), opts.max_tokens, state.cfg.n_ctx)?;
        for i in 0..opts.n {
            let mut params = opts.sampling.clone();
            params.max_tokens = Some(max);
            params.seed = params.seed.map(|s| s.wrapping_add(i as u64));
            let constraint = state.grammars.constraint(&opts.format)?;
            jobs.push(Job { prompt: tokens.clone(), params, constraint });
        }
    }
    Ok(Prepared { prompt_tokens: prompts.iter().map(Vec::len).sum(), opts, jobs })
}

/// `text_completion` chunks.
struct CompletionChunks {
    tok: Arc<Tokenizer>,
    id: String,
    created: u64,
    model: String,
    /// Characters streamed so far per choice (for `text_offset`).
    offsets: Vec<usize>,
}

impl CompletionChunks {
    /// The legacy logprobs object: parallel lists of tokens, their logprobs, the top
    /// alternatives as `{token: logprob}` and each token's character offset.
    fn logprobs(&self, tokens: &[TokenLogprob], offsets: &[usize]) -> Value {
        let top = |t: &TokenLogprob| -> Value {
            let m: Map<String, Value> =
                t.top.iter().map(|&(id, lp)| (token_text(&self.tok, id), json!(lp_json(lp)))).collect();
            Value::Object(m)
        };
        json!({
            "tokens": tokens.iter().map(|t| token_text(&self.tok, t.id)).collect::<Vec<_>>(),
            "token_logprobs": tokens.iter().map(|t| lp_json(t.logprob)).collect::<Vec<_>>(),
            "top_logprobs": tokens.iter().map(top).collect::<Vec<_>>(),
            "text_offset": offsets,
        })
    }

    fn chunk(&self, choice: usize, text: &str, logprobs: Value, finish: Option<&str>) -> Value {
        let choices = json!([{ "index": choice, "text": text, "logprobs": logprobs, "finish_reason": finish }]);
        common::chunk(&self.id, OBJECT, self.created, &self.model, choices)
    }

    fn advance(&mut self, choice: usize, text: &str) -> usize {
        let at = self.offsets.get(choice).copied().unwrap_or(0);
        if let Some(o) = self.offsets.get_mut(choice) {
            *o += text.chars().count();
        }
        at
    }
}

impl StreamShape for CompletionChunks {
    fn opening(&mut self, _n: usize) -> Vec<Value> {
        Vec::new()
    }

    fn token(&mut self, choice: usize, text: &str, logprob: Option<TokenLogprob>) -> Option<Value> {
        let at = self.advance(choice, text);
        let lp = match logprob {
            Some(t) => self.logprobs(&[t], &[at]),
            None if text.is_empty() => return None,
            None => Value::Null,
        };
        Some(self.chunk(choice, text, lp, None))
    }

    fn text(&mut self, choice: usize, text: &str) -> Value {
        self.advance(choice, text);
        self.chunk(choice, text, Value::Null, None)
    }

    fn finish(&mut self, choice: usize, reason: FinishReason) -> Value {
        self.chunk(choice, "", Value::Null, Some(reason.as_openai()))
    }

    fn usage(&mut self, prompt_tokens: usize, completion_tokens: usize) -> Value {
        common::usage_chunk(&self.id, OBJECT, self.created, &self.model, prompt_tokens, completion_tokens)
    }
}
