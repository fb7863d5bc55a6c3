//! Pieces both generation endpoints use: the body, the model check, ids, token strings and
//! usage objects.

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use model::Tokenizer;
use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// The body bytes, or the error for a body that could not be read (too large: 413).
pub fn body(state: &AppState, body: Result<axum::body::Bytes, BytesRejection>) -> Result<axum::body::Bytes, ApiError> {
    body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(state.cfg.max_body_bytes),
        _ => ApiError::malformed(format!("cannot read the request body: {e}")),
    })
}

/// `model` must be absent or the served model's id.
pub fn check_model(state: &AppState, model: Option<&str>) -> Result<(), ApiError> {
    match model {
        Some(m) if m != state.cfg.model_id => Err(ApiError::model_not_found(m, &state.cfg.model_id)),
        _ => Ok(()),
    }
}

/// A response id: `prefix` and 24 random letters and digits.
pub fn response_id(prefix: &str) -> String {
    let tail: String = rand::thread_rng().sample_iter(&Alphanumeric).take(24).map(char::from).collect();
    format!("{prefix}{tail}")
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A token's text for logprobs: lossy when the token is part of a character (its exact bytes
/// go in `bytes`).
pub fn token_text(tok: &Tokenizer, id: u32) -> String {
    String::from_utf8_lossy(tok.token_piece(id)).into_owned()
}

pub fn token_bytes(tok: &Tokenizer, id: u32) -> Vec<u8> {
    tok.token_piece(id).to_vec()
}

/// A request checked and turned into engine jobs (one per choice).
pub struct Prepared {
    pub opts: crate::params::Options,
    pub jobs: Vec<crate::generate::Job>,
    pub prompt_tokens: usize,
}

/// A whole (not streamed) response: the envelope around its choices, with usage.
pub fn full_response(id: &str, object: &str, created: u64, model: &str, choices: Vec<Value>, usage: Value) -> Value {
    let mut r = chunk(id, object, created, model, Value::Array(choices));
    r["usage"] = usage;
    r
}

/// A streamed chunk: the fields every chunk of a response repeats, around its `choices`.
pub fn chunk(id: &str, object: &str, created: u64, model: &str, choices: Value) -> Value {
    json!({
        "id": id,
        "object": object,
        "created": created,
        "model": model,
        "system_fingerprint": crate::FINGERPRINT,
        "choices": choices,
    })
}

/// The final usage chunk of a stream (`stream_options.include_usage`): no choices.
pub fn usage_chunk(id: &str, object: &str, created: u64, model: &str, prompt: usize, completion: usize) -> Value {
    let mut c = chunk(id, object, created, model, json!([]));
    c["usage"] = usage(prompt, completion);
    c
}

pub fn usage(prompt_tokens: usize, completion_tokens: usize) -> Value {
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    })
}

/// Runs blocking preparation work (JSON, templates, tokenizing, grammar compilation) off the
/// async workers.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(format!("request preparation failed: {e}")))?
}
