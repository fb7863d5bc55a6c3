//! `POST /v1/chat/completions`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::FinishReason;
use model::Tokenizer;
use serde_json::{json, Value};

use crate::common::{self, blocking, check_model, token_bytes, token_text, usage, Prepared};
use crate::error::ApiError;
use crate::generate::{self, lp_json, Job, TokenLogprob};
use crate::params::{self, MAX_TOP_LOGPROBS};
use crate::prompt;
use crate::request::{fields, parse_json, ChatFields, CommonFields};
use crate::sse::{self, StreamShape};
use crate::state::AppState;

/// The `object` of every streamed chat chunk.
const CHUNK_OBJECT: &str = "chat.completion.chunk";

pub async fn handler(State(state): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Response {
    run(state, body).await.unwrap_or_else(IntoResponse::into_response)
}

async fn run(state: Arc<AppState>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let body = common::body(&state, body)?;
    let st = state.clone();
    let p = blocking(move || prepare(&st, &body)).await?;
    let running = generate::start(&state, p.jobs, "messages")?;
    let (id, created) = (common::response_id("chatcmpl-"), common::now_secs());
    let shape = ChatChunks { tok: state.tok.clone(), id, created, model: state.cfg.model_id.clone() };
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
                true => {
                    json!({ "content": r.logprobs.iter().map(|t| logprob_entry(&shape.tok, t)).collect::<Vec<_>>() })
                }
                false => Value::Null,
            };
            json!({
                "index": i,
                "message": { "role": "assistant", "content": r.text },
                "logprobs": logprobs,
                "finish_reason": r.finish.map(|f| f.as_openai()),
            })
        })
        .collect();
    let body = common::full_response(
        &shape.id,
        "chat.completion",
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
    let f: ChatFields = fields(&v)?;
    if f.tools.as_ref().and_then(Value::as_array).is_some_and(|t| !t.is_empty()) {
        return Err(ApiError::invalid("tools", "tool calling is not supported by this server"));
    }
    let logprobs = match (f.logprobs.unwrap_or(false), f.top_logprobs) {
        (false, Some(_)) => return Err(ApiError::invalid("top_logprobs", "'top_logprobs' requires 'logprobs': true")),
        (false, None) => None,
        (true, None) => Some(0),
        (true, Some(n)) if (0..=MAX_TOP_LOGPROBS as i64).contains(&n) => Some(n as usize),
        (true, Some(n)) => {
            return Err(ApiError::invalid(
                "top_logprobs",
                format!("'top_logprobs' must be between 0 and {MAX_TOP_LOGPROBS}, got {n}"),
            ))
        }
    };
    let max_tokens = match (f.max_completion_tokens, c.max_tokens) {
        (Some(m), _) => Some(("max_completion_tokens", m)),
        (None, Some(m)) => Some(("max_tokens", m)),
        (None, None) => None,
    };
    let opts = params::options(&c, max_tokens, logprobs, state.cfg.n_vocab)?;
    let messages = prompt::messages(&f.messages)?;
    let tokens = prompt::chat_tokens(&state.tok, &state.template, &messages)?;
    let max = prompt::fit("messages", tokens.len(), opts.max_tokens, state.cfg.n_ctx)?;
    let mut jobs = Vec::with_capacity(opts.n);
    for i in 0..opts.n {
        let mut params = opts.sampling.clone();
        params.max_tokens = Some(max);
        // Different choices must differ, and each must be reproducible from the seed.
        params.seed = params.seed.map(|s| s.wrapping_add(i as u64));
        let constraint = state.grammars.constraint(&opts.format)?;
        jobs.push(Job { prompt: tokens.clone(), params, constraint });
    }
    Ok(Prepared { prompt_tokens: tokens.len(), opts, jobs })
}

fn logprob_entry(tok: &Tokenizer, t: &TokenLogprob) -> Value {
    json!({
        "token": token_text(tok, t.id),
        "logprob": lp_json(t.logprob),
        "bytes": token_bytes(tok, t.id),
        "top_logprobs": t.top.iter().map(|&(id, lp)| json!({
            "token": token_text(tok, id),
            "logprob": lp_json(lp),
            "bytes": token_bytes(tok, id),
        })).collect::<Vec<_>>(),
    })
}

/// `chat.completion.chunk` objects.
struct ChatChunks {
    tok: Arc<Tokenizer>,
    id: String,
    created: u64,
    model: String,
}

impl ChatChunks {
    fn chunk(&self, choice: usize, delta: Value, logprobs: Value, finish: Option<&str>) -> Value {
        let choices = json!([{ "index": choice, "delta": delta, "logprobs": logprobs, "finish_reason": finish }]);
        common::chunk(&self.id, CHUNK_OBJECT, self.created, &self.model, choices)
    }
}

impl StreamShape for ChatChunks {
    fn opening(&mut self, n: usize) -> Vec<Value> {
        (0..n).map(|i| self.chunk(i, json!({"role": "assistant", "content": ""}), Value::Null, None)).collect()
    }

    fn token(&mut self, choice: usize, text: &str, logprob: Option<TokenLogprob>) -> Option<Value> {
        let lp = match logprob {
            Some(t) => json!({ "content": [logprob_entry(&self.tok, &t)] }),
            None if text.is_empty() => return None,
            None => Value::Null,
        };
        Some(self.chunk(choice, json!({ "content": text }), lp, None))
    }

    fn text(&mut self, choice: usize, text: &str) -> Value {
        self.chunk(choice, json!({ "content": text }), Value::Null, None)
    }

    fn finish(&mut self, choice: usize, reason: FinishReason) -> Value {
        self.chunk(choice, json!({}), Value::Null, Some(reason.as_openai()))
    }

    fn usage(&mut self, prompt_tokens: usize, completion_tokens: usize) -> Value {
        common::usage_chunk(&self.id, CHUNK_OBJECT, self.created, &self.model, prompt_tokens, completion_tokens)
    }
}
