//! Server-sent events: each frame is `data: <one JSON object>\n\n`, the stream ends with
//! `data: [DONE]`. Text reaches a frame only as whole characters (the engine's detokenizer
//! holds back a token that ends inside one), so every frame is valid JSON in valid UTF-8.
//!
//! Dropping the response (the client went away) drops the event receiver, which the
//! forwarders notice: the engine cancels the sequences.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use engine::{Event, FinishReason};
use serde_json::Value;

use crate::error::ApiError;
use crate::generate::{Running, TokenLogprob};

/// How one endpoint writes its chunks.
pub trait StreamShape: Send + 'static {
    /// Frames before any token (the chat endpoint announces the assistant role).
    fn opening(&mut self, n: usize) -> Vec<Value>;
    /// A token's text (possibly empty) and its logprobs when asked; `None` sends nothing.
    fn token(&mut self, choice: usize, text: &str, logprob: Option<TokenLogprob>) -> Option<Value>;
    /// Held-back text released at the end.
    fn text(&mut self, choice: usize, text: &str) -> Value;
    fn finish(&mut self, choice: usize, reason: FinishReason) -> Value;
    /// The usage chunk (`stream_options.include_usage`).
    fn usage(&mut self, prompt_tokens: usize, completion_tokens: usize) -> Value;
}

fn frame(v: &Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

struct State<S> {
    running: Running,
    shape: S,
    queue: VecDeque<Bytes>,
    left: usize,
    completion_tokens: usize,
    prompt_tokens: usize,
    include_usage: bool,
    done: bool,
}

impl<S: StreamShape> State<S> {
    fn on_event(&mut self, i: usize, ev: Event) {
        match ev {
            Event::Token { id, text, logprob, top_logprobs } => {
                let lp = logprob.map(|logprob| TokenLogprob { id, logprob, top: top_logprobs });
                if let Some(v) = self.shape.token(i, &text, lp) {
                    self.queue.push_back(frame(&v));
                }
            }
            Event::Text(t) => {
                let v = self.shape.text(i, &t);
                self.queue.push_back(frame(&v));
            }
            Event::Finished { reason, usage, error } => {
                self.left = self.left.saturating_sub(1);
                self.completion_tokens += usage.completion_tokens;
                let v = match reason {
                    FinishReason::Error => {
                        ApiError::internal(error.unwrap_or_else(|| "generation failed".into())).body()
                    }
                    _ => self.shape.finish(i, reason),
                };
                self.queue.push_back(frame(&v));
            }
        }
    }

    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        loop {
            if let Some(b) = self.queue.pop_front() {
                return Some((Ok(b), self));
            }
            if self.done {
                return None;
            }
            if self.left == 0 {
                if self.include_usage {
                    let v = self.shape.usage(self.prompt_tokens, self.completion_tokens);
                    self.queue.push_back(frame(&v));
                }
                self.queue.push_back(Bytes::from_static(b"data: [DONE]\n\n"));
                self.done = true;
                continue;
            }
            match self.running.events.recv().await {
                Some((i, ev)) => self.on_event(i, ev),
                // Every forwarder ends with a Finished event; this is only a safety net.
                None => self.left = 0,
            }
        }
    }
}

/// The streaming response for a running request.
pub fn response<S: StreamShape>(running: Running, mut shape: S, include_usage: bool, prompt_tokens: usize) -> Response {
    let n = running.n;
    let queue = shape.opening(n).iter().map(frame).collect();
    let state =
        State { running, shape, queue, left: n, completion_tokens: 0, prompt_tokens, include_usage, done: false };
    let stream = futures_util::stream::unfold(state, State::next);
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Reverse proxies must not buffer the stream.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}
