//! The bridge between async handlers and the engine: submits one sequence per choice and
//! forwards each one's events from the engine's blocking channel into one async channel.
//!
//! Each sequence gets a blocking forwarder task. It waits for engine events with a short
//! time-out so it also notices when the reader is gone (the client disconnected, the response
//! was dropped): it then drops the request handle, which cancels the sequence in the engine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use engine::sampler::TokenConstraint;
use engine::{Event, FinishReason, RequestHandle, SamplingParams, SubmitError, Usage};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::state::{AppState, Inflight};

/// How often a waiting forwarder checks whether its reader is still there.
const POLL: Duration = Duration::from_millis(50);

/// One sequence to generate.
pub struct Job {
    pub prompt: Vec<u32>,
    pub params: SamplingParams,
    pub constraint: Option<Box<dyn TokenConstraint>>,
}

/// The sequences of one request, their events tagged with the choice index.
pub struct Running {
    pub events: mpsc::UnboundedReceiver<(usize, Event)>,
    pub n: usize,
    /// Keeps the request counted as in flight until the response has been sent.
    _inflight: Inflight,
}

fn submit_error(e: SubmitError, prompt_param: &str, n_ctx: usize) -> ApiError {
    match e {
        SubmitError::Overloaded { waiting } => {
            ApiError::overloaded(format!("the server is busy: {waiting} requests are already waiting; retry later"))
        }
        SubmitError::EmptyPrompt => ApiError::invalid(prompt_param, "the prompt is empty"),
        SubmitError::PromptTooLong { prompt, n_ctx } => ApiError::context_length(prompt_param, prompt, None, n_ctx),
        SubmitError::NeverFits { needed, capacity } => ApiError::invalid(
            prompt_param,
            format!(
                "the request needs {needed} tokens of KV cache but the server's whole cache holds {capacity} \
                 (context {n_ctx}); reduce the prompt or max_tokens"
            ),
        ),
        SubmitError::Invalid(m) => ApiError::invalid(prompt_param, m),
        SubmitError::EngineStopped => ApiError::shutting_down(),
    }
}

/// Submits every job; if one is refused, the ones already submitted are cancelled and the
/// refusal is the answer.
pub fn start(state: &Arc<AppState>, jobs: Vec<Job>, prompt_param: &str) -> Result<Running, ApiError> {
    if state.is_draining() {
        return Err(ApiError::shutting_down());
    }
    let inflight = state.inflight_guard();
    let mut handles = Vec::with_capacity(jobs.len());
    for job in jobs {
        let prompt_len = job.prompt.len();
        let h = state
            .engine
            .submit_constrained(job.prompt, job.params, job.constraint)
            .map_err(|e| submit_error(e, prompt_param, state.cfg.n_ctx))?;
        handles.push((h, prompt_len));
    }
    let n = handles.len();
    let (tx, rx) = mpsc::unbounded_channel();
    for (i, (h, prompt_len)) in handles.into_iter().enumerate() {
        let (tx, state) = (tx.clone(), state.clone());
        state.sequence_started();
        tokio::task::spawn_blocking(move || {
            forward(i, h, prompt_len, &tx, &state);
            state.sequence_ended();
        });
    }
    Ok(Running { events: rx, n, _inflight: inflight })
}

fn forward(
    i: usize,
    h: RequestHandle,
    prompt_len: usize,
    tx: &mpsc::UnboundedSender<(usize, Event)>,
    state: &AppState,
) {
    let mut last_token: Option<Instant> = None;
    let mut generated = 0;
    // Dropping `h` on return cancels the sequence if it is still running.
    let reader_gone = |generated| state.metrics.sequence(FinishReason::Cancelled.as_openai(), prompt_len, generated);
    loop {
        let ev = match h.recv_timeout(POLL) {
            Ok(ev) => ev,
            Err(false) if tx.is_closed() => return reader_gone(generated),
            Err(false) => continue,
            Err(true) => {
                // The engine went away without a word (it stops only with the server).
                let now = Instant::now();
                let usage = Usage {
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    cached_tokens: 0,
                    preemptions: 0,
                    submitted: now,
                    first_token: None,
                    finished: now,
                };
                let error = Some("the engine stopped".to_string());
                let _ = tx.send((i, Event::Finished { reason: FinishReason::Error, usage, error }));
                return;
            }
        };
        match &ev {
            Event::Token { .. } => {
                generated += 1;
                let now = Instant::now();
                if let Some(t) = last_token {
                    state.metrics.itl.observe(now - t);
                }
                last_token = Some(now);
            }
            Event::Text(_) => {}
            Event::Finished { reason, usage, .. } => {
                if let Some(ft) = usage.first_token {
                    state.metrics.ttft.observe(ft.saturating_duration_since(usage.submitted));
                }
                state.metrics.sequence(reason.as_openai(), usage.prompt_tokens, usage.completion_tokens);
            }
        }
        let last = matches!(ev, Event::Finished { .. });
        if tx.send((i, ev)).is_err() {
            if !last {
                reader_gone(generated);
            }
            return;
        }
        if last {
            return;
        }
    }
}

/// One generated token with its logprobs (when asked).
#[derive(Clone, Debug)]
pub struct TokenLogprob {
    pub id: u32,
    pub logprob: f32,
    pub top: Vec<(u32, f32)>,
}

/// What one choice produced, gathered for a non-streaming answer.
#[derive(Clone, Debug, Default)]
pub struct ChoiceResult {
    pub text: String,
    pub logprobs: Vec<TokenLogprob>,
    /// Character offset (in `text`) where each token's text starts.
    pub offsets: Vec<usize>,
    pub finish: Option<FinishReason>,
    pub completion_tokens: usize,
    pub error: Option<String>,
    /// Characters in `text`.
    chars: usize,
}

/// Waits for every choice to finish.
pub async fn collect(mut running: Running) -> Vec<ChoiceResult> {
    let mut out = vec![ChoiceResult::default(); running.n];
    let mut left = running.n;
    while left > 0 {
        let Some((i, ev)) = running.events.recv().await else { break };
        let Some(c) = out.get_mut(i) else { continue };
        match ev {
            Event::Token { id, text, logprob, top_logprobs } => {
                if let Some(lp) = logprob {
                    c.offsets.push(c.chars);
                    c.logprobs.push(TokenLogprob { id, logprob: lp, top: top_logprobs });
                }
                c.chars += text.chars().count();
                c.text.push_str(&text);
            }
            Event::Text(t) => {
                c.chars += t.chars().count();
                c.text.push_str(&t);
            }
            Event::Finished { reason, usage, error } => {
                c.finish = Some(reason);
                c.completion_tokens = usage.completion_tokens;
                c.error = error;
                left -= 1;
            }
        }
    }
    out
}

/// The error a non-streaming answer gives when a choice failed (`None`: all finished well).
pub fn failure(choices: &[ChoiceResult]) -> Option<ApiError> {
    choices.iter().find_map(|c| match c.finish {
        Some(FinishReason::Error) | None => {
            Some(ApiError::internal(c.error.clone().unwrap_or_else(|| "generation failed".into())))
        }
        Some(FinishReason::Cancelled) => Some(ApiError::shutting_down()),
        _ => None,
    })
}

/// A log-probability as JSON: OpenAI writes impossible tokens as -9999 (JSON has no -inf).
pub fn lp_json(lp: f32) -> f64 {
    if lp.is_finite() {
        lp as f64
    } else {
        -9999.0
    }
}
