//! The router on a tiny synthetic model with a byte-level tokenizer and the chatml template:
//! answers in OpenAI's shape with exact usage, SSE framing, structured output, and every
//! error status. Hermetic: no model file, no network, no sockets.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use backend::cpu::Cpu;
use engine::{Engine, EngineConfig};
use gguf::{Array, GgufFile, GgufWriter, Value};
use model::synth::{Preset, SynthOptions};
use model::{ChatTemplate, Model, Tokenizer};
use serde_json::{json, Value as Json};
use server::{AppState, ServerConfig};
use tower::ServiceExt;

const KEY: &str = "sk-unit";
const MODEL_ID: &str = "tiny";
const N_CTX: usize = 256;

/// GPT-2's byte-to-character table: printable bytes stand for themselves, the rest are moved
/// past U+00FF, so that every byte is one visible token text.
fn byte_char(b: u8) -> char {
    let printable = |b: u8| (33..=126).contains(&b) || (161..=172).contains(&b) || b >= 174;
    if printable(b) {
        return b as char;
    }
    let n = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(256 + n).unwrap_or('?')
}

/// 256 byte tokens, then `<|im_start|>` (256) and `<|im_end|>` (257, end of generation).
fn tiny_model() -> (Model, Tokenizer) {
    let mut tok = GgufWriter::new();
    tok.add_kv("tokenizer.ggml.model", Value::String("gpt2".into())).unwrap();
    tok.add_kv("tokenizer.ggml.pre", Value::String("qwen2".into())).unwrap();
    let mut tokens: Vec<String> = (0..=255u8).map(|b| byte_char(b).to_string()).collect();
    tokens.push("<|im_start|>".into());
    tokens.push("<|im_end|>".into());
    let mut types = vec![1i32; 256];
    types.extend([3, 3]);
    tok.add_kv("tokenizer.ggml.tokens", Value::Array(Array::String(tokens))).unwrap();
    tok.add_kv("tokenizer.ggml.token_type", Value::Array(Array::I32(types))).unwrap();
    tok.add_kv("tokenizer.ggml.merges", Value::Array(Array::String(vec![]))).unwrap();
    tok.add_kv("tokenizer.ggml.eos_token_id", Value::U32(257)).unwrap();
    let tok = GgufFile::from_bytes(tok.to_bytes().unwrap()).unwrap();
    let bytes = Preset::TinyLlama.writer(Some(&tok), SynthOptions { seed: 5, scale: 1.0 }).unwrap().to_bytes().unwrap();
    let m = Model::from_file(GgufFile::from_bytes(bytes).unwrap()).unwrap();
    let t = Tokenizer::from_metadata(&m.file.metadata).unwrap();
    (m, t)
}

fn app_with(cfg: EngineConfig) -> (Router, Arc<AppState>) {
    let (m, engine_tok) = tiny_model();
    let tok = Arc::new(Tokenizer::from_metadata(&m.file.metadata).unwrap());
    let n_vocab = m.vocab_size();
    let engine = Engine::start(m, Cpu::new(2).unwrap(), engine_tok, EngineConfig { n_ctx: N_CTX, ..cfg }).unwrap();
    let state = Arc::new(AppState::new(
        ServerConfig {
            model_id: MODEL_ID.into(),
            api_key: Some(KEY.into()),
            n_ctx: N_CTX,
            n_vocab,
            max_body_bytes: 64 << 10,
            shutdown_timeout: Duration::from_secs(5),
        },
        engine,
        tok,
        ChatTemplate::builtin("chatml").unwrap(),
    ));
    (server::router(state.clone()), state)
}

fn app() -> Router {
    app_with(EngineConfig { kv_tokens: 4096, ..EngineConfig::default() }).0
}

async fn call(
    app: &Router,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Vec<u8>>,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let mut req = Request::builder().method(method).uri(path).header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let req = req.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
    (status, bytes.to_vec(), headers)
}

async fn post(app: &Router, path: &str, body: Json) -> (StatusCode, Json) {
    let (s, b, _) = call(app, "POST", path, Some(KEY), Some(body.to_string().into_bytes())).await;
    (s, serde_json::from_slice(&b).unwrap_or(Json::Null))
}

fn chat(extra: Json) -> Json {
    let mut body = json!({"model": MODEL_ID, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5, "temperature": 0});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Checks the OpenAI error shape and returns the error object.
fn error_of(status: StatusCode, body: &Json, want: StatusCode) -> Json {
    assert_eq!(status, want, "{body}");
    let e = body["error"].clone();
    for k in ["message", "type", "param", "code"] {
        assert!(e.get(k).is_some(), "error without {k}: {body}");
    }
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_answers_with_exact_usage() {
    let app = app();
    let (s, r) = post(&app, "/v1/chat/completions", chat(json!({"ignore": "unknown fields are fine", "n": 2}))).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["object"], "chat.completion");
    // "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n": 2 specials per turn, 1 byte per character.
    let prompt = 3 + "user\nhello".len() + "\n".len() + "assistant\n".len();
    assert_eq!(r["usage"]["prompt_tokens"], prompt);
    let choices = r["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    // Cut by max_tokens: exactly 5 tokens each.
    if choices.iter().all(|c| c["finish_reason"] == "length") {
        assert_eq!(r["usage"]["completion_tokens"], 10);
    }
    // Greedy: both choices agree.
    assert_eq!(choices[0]["message"], choices[1]["message"]);
    assert_eq!(
        r["usage"]["total_tokens"],
        r["usage"]["prompt_tokens"].as_u64().unwrap() + r["usage"]["completion_tokens"].as_u64().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_take_text_and_token_ids() {
    let app = app();
    let body =
        json!({"model": MODEL_ID, "prompt": [[104, 105], [106]], "max_tokens": 3, "temperature": 0, "logprobs": 2});
    let (s, r) = post(&app, "/v1/completions", body).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["usage"]["prompt_tokens"], 3);
    let c = &r["choices"][0];
    let lp = &c["logprobs"];
    let n = lp["tokens"].as_array().unwrap().len();
    assert_eq!(n, lp["token_logprobs"].as_array().unwrap().len());
    assert_eq!(lp["text_offset"][0], 0);
    // The same prompt as text gives the same answer.
    let (_, text) = post(&app, "/v1/completions", json!({"prompt": "hi", "max_tokens": 3, "temperature": 0})).await;
    assert_eq!(text["choices"][0]["text"], c["text"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_json_frames_then_done() {
    let app = app();
    let body = chat(json!({"stream": true, "stream_options": {"include_usage": true}, "logprobs": true}));
    let (s, raw, headers) =
        call(&app, "POST", "/v1/chat/completions", Some(KEY), Some(body.to_string().into_bytes())).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/event-stream");
    let text = String::from_utf8(raw).unwrap();
    let frames: Vec<&str> = text.split("\n\n").filter(|f| !f.is_empty()).collect();
    assert_eq!(frames.last(), Some(&"data: [DONE]"));
    let chunks: Vec<Json> = frames[..frames.len() - 1]
        .iter()
        .map(|f| serde_json::from_str(f.strip_prefix("data: ").unwrap()).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(chunks.last().unwrap()["choices"], json!([]));
    let finish: Vec<&Json> = chunks
        .iter()
        .filter_map(|c| c["choices"].get(0))
        .map(|c| &c["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish.len(), 1);
    let with_logprobs = chunks.iter().filter(|c| c["choices"].get(0).is_some_and(|c| !c["logprobs"].is_null())).count();
    let completion = usage["completion_tokens"].as_u64().unwrap() as usize;
    // One logprobs entry per generated token; a final end-of-turn token is counted but not sent.
    assert!(with_logprobs == completion || with_logprobs + 1 == completion, "{with_logprobs} vs {completion}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_schema_is_enforced_even_on_random_weights() {
    let app = app();
    let schema = json!({"type": "object", "properties": {"answer": {"enum": ["yes", "no"]}}, "required": ["answer"], "additionalProperties": false});
    let body = chat(
        json!({"max_tokens": 40, "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}}),
    );
    let (s, r) = post(&app, "/v1/chat/completions", body).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let content = r["choices"][0]["message"]["content"].as_str().unwrap();
    let v: Json = serde_json::from_str(content).unwrap_or_else(|e| panic!("{content:?}: {e}"));
    assert!(v == json!({"answer": "yes"}) || v == json!({"answer": "no"}), "{v}");
    assert_eq!(r["choices"][0]["finish_reason"], "stop");
    // json_object: a parseable object or a cut-off prefix of one, never anything else.
    let (s, r) =
        post(&app, "/v1/chat/completions", chat(json!({"max_tokens": 12, "response_format": {"type": "json_object"}})))
            .await;
    assert_eq!(s, StatusCode::OK);
    assert!(r["choices"][0]["message"]["content"].as_str().unwrap().starts_with('{'), "{r}");
    let bad = chat(json!({"response_format": {"type": "json_schema", "json_schema": {"schema": {"type": 12}}}}));
    let (s, r) = post(&app, "/v1/chat/completions", bad).await;
    assert_eq!(error_of(s, &r, StatusCode::BAD_REQUEST)["param"], "response_format.json_schema.schema");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_has_the_openai_shape() {
    let app = app();
    // Malformed JSON.
    let (s, b, _) = call(&app, "POST", "/v1/chat/completions", Some(KEY), Some(b"{\"messages\":".to_vec())).await;
    let r: Json = serde_json::from_slice(&b).unwrap();
    assert_eq!(error_of(s, &r, StatusCode::BAD_REQUEST)["code"], "invalid_json");
    // A field of the wrong type, and one out of range.
    let (s, r) = post(&app, "/v1/chat/completions", chat(json!({"temperature": "hot"}))).await;
    assert_eq!(error_of(s, &r, StatusCode::BAD_REQUEST)["param"], "temperature");
    let (s, r) = post(&app, "/v1/chat/completions", chat(json!({"top_p": 7}))).await;
    assert_eq!(error_of(s, &r, StatusCode::BAD_REQUEST)["param"], "top_p");
    // Context overflow: both numbers.
    let (s, r) = post(&app, "/v1/chat/completions", chat(json!({"max_tokens": 300}))).await;
    let e = error_of(s, &r, StatusCode::BAD_REQUEST);
    assert_eq!(e["code"], "context_length_exceeded");
    assert!(
        e["message"].as_str().unwrap().contains("256")
            && e["message"].as_str().unwrap().contains("300 in the completion"),
        "{e}"
    );
    let (s, r) = post(&app, "/v1/completions", json!({"prompt": [9999], "max_tokens": 2})).await;
    assert_eq!(error_of(s, &r, StatusCode::BAD_REQUEST)["param"], "prompt[0]");
    // Keys.
    for key in [None, Some("sk-wrong"), Some("sk-unit2"), Some("")] {
        let (s, b, _) = call(&app, "GET", "/v1/models", key, None).await;
        error_of(s, &serde_json::from_slice(&b).unwrap(), StatusCode::UNAUTHORIZED);
    }
    let (s, _, _) = call(&app, "GET", "/health", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, page, _) = call(&app, "GET", "/", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(String::from_utf8(page).unwrap().contains("<title>ROCmForge chat</title>"));
    // Unknown model, unknown path, wrong method.
    let (s, r) = post(&app, "/v1/chat/completions", chat(json!({"model": "gpt-4"}))).await;
    assert_eq!(error_of(s, &r, StatusCode::NOT_FOUND)["code"], "model_not_found");
    let (s, b, _) = call(&app, "GET", "/v1/nothing", Some(KEY), None).await;
    error_of(s, &serde_json::from_slice(&b).unwrap(), StatusCode::NOT_FOUND);
    let (s, b, _) = call(&app, "GET", "/v1/chat/completions", Some(KEY), None).await;
    error_of(s, &serde_json::from_slice(&b).unwrap(), StatusCode::METHOD_NOT_ALLOWED);
    // Oversized body (the test server allows 64 KiB).
    let big = chat(json!({"messages": [{"role": "user", "content": "x".repeat(70 << 10)}]}));
    let (s, r) = post(&app, "/v1/chat/completions", big).await;
    assert_eq!(error_of(s, &r, StatusCode::PAYLOAD_TOO_LARGE)["code"], "request_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_refuses_new_requests_with_503() {
    let (app, state) = app_with(EngineConfig { kv_tokens: 4096, ..EngineConfig::default() });
    state.start_draining();
    let (s, r) = post(&app, "/v1/chat/completions", chat(json!({}))).await;
    let e = error_of(s, &r, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(e["code"], "shutting_down");
    let (s, _, _) = call(&app, "GET", "/health", None, None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_and_tokens() {
    let app = app();
    let (s, _) = post(&app, "/v1/chat/completions", chat(json!({"max_tokens": 3}))).await;
    assert_eq!(s, StatusCode::OK);
    let (_, r) = post(&app, "/v1/chat/completions", chat(json!({"n": 0}))).await;
    assert_eq!(r["error"]["param"], "n");
    let (s, b, _) = call(&app, "GET", "/metrics", Some(KEY), None).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(b).unwrap();
    for line in [
        "rocmforge_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 1",
        "rocmforge_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"} 1",
        "rocmforge_time_to_first_token_seconds_count 1",
        "rocmforge_queue_depth 0",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}
