//! Per-request sampling parameters: a plain, serde-friendly struct and its range checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Most top-logprob alternatives a request may ask for (OpenAI's limit).
pub const MAX_LOGPROBS: usize = 20;

/// Temperatures below this are greedy (as vLLM does): dividing by them would overflow to `inf`.
pub const GREEDY_BELOW: f32 = 1e-5;

/// Presence and frequency penalties are limited to OpenAI's documented range.
pub const MAX_ABS_OPENAI_PENALTY: f32 = 2.0;

/// How a request wants its tokens chosen and when it wants generation to end.
///
/// The defaults are neutral, as in the OpenAI API: temperature 1 and every filter and penalty off,
/// so an API request that sets nothing samples the model's own distribution.
/// [`SamplingParams::llama_cpp`] gives llama.cpp's command-line defaults instead.
///
/// Every field has a default, so a JSON object may name any subset of them. `logit_bias` keys
/// may be written as strings (`{"logit_bias": {"42": -100}}`), as OpenAI clients send them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// Softmax temperature; `0` (anything below [`GREEDY_BELOW`]) means greedy: argmax, ties to
    /// the lowest id. Must be finite and `>= 0`.
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens. `0` or `-1` = off (llama.cpp uses `<= 0`, vLLM
    /// `-1`; both are accepted); anything below `-1` is rejected.
    pub top_k: i32,
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches
    /// `top_p`. In `(0, 1]`; `1` = off.
    pub top_p: f32,
    /// Drop tokens whose probability is below `min_p` times the most likely token's. In `[0, 1]`;
    /// `0` = off.
    pub min_p: f32,
    /// llama.cpp's repetition penalty: a positive logit of a token seen in the window is divided
    /// by it, a negative one multiplied. Applied once per distinct token. Must be finite, `> 0`;
    /// `1` = off.
    pub repetition_penalty: f32,
    /// OpenAI presence penalty: subtracted once from the logit of every token seen in the window.
    /// In `[-2, 2]`; `0` = off.
    pub presence_penalty: f32,
    /// OpenAI frequency penalty: subtracted from a token's logit once per occurrence in the window.
    /// In `[-2, 2]`; `0` = off.
    pub frequency_penalty: f32,
    /// How many of the most recent history tokens the three penalties look at: `n > 0` the last
    /// `n`, `0` none (penalties off), `-1` the whole history passed to the sampler (as llama.cpp's
    /// `-1` means the whole context). Default 64, as llama.cpp.
    pub penalty_last_n: i32,
    /// Whether the engine counts the prompt in the penalties' history (llama.cpp's way) or only
    /// the generated tokens (how the OpenAI API defines presence and frequency penalties).
    pub penalize_prompt: bool,
    /// Added to the logit of each listed token before anything else. `-inf` bans a token; `+inf`
    /// forces it (among all forced tokens, uniformly). NaN is rejected.
    pub logit_bias: BTreeMap<u32, f32>,
    /// Seed of the sampler's RNG: the same seed and inputs give the same tokens. `None` = a random
    /// seed from the operating system.
    pub seed: Option<u64>,
    /// Most tokens to generate; `None` = until the context is full. Must be `>= 1` when set.
    pub max_tokens: Option<u32>,
    /// Generation ends when the text contains one of these; the stop string itself is not
    /// returned. Empty strings are rejected.
    pub stop: Vec<String>,
    /// Token ids that end generation in addition to the model's end-of-generation tokens.
    pub stop_token_ids: Vec<u32>,
    /// Keep generating after the model's end-of-generation tokens (they may still be sampled;
    /// `stop_token_ids` still stop).
    pub ignore_eos: bool,
    /// Report log-probabilities: `None` = none, `Some(n)` = the sampled token's plus the `n` most
    /// likely alternatives (`0..=20`).
    pub logprobs: Option<usize>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repetition_penalty: 1.0,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            penalty_last_n: 64,
            penalize_prompt: true,
            logit_bias: BTreeMap::new(),
            seed: None,
            max_tokens: None,
            stop: Vec::new(),
            stop_token_ids: Vec::new(),
            ignore_eos: false,
            logprobs: None,
        }
    }
}

/// A parameter outside its allowed range; `field` is the field's name as in JSON.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid sampling parameter `{field}`: {reason}")]
pub struct ParamError {
    pub field: &'static str,
    pub reason: String,
}

fn bad(field: &'static str, reason: String) -> Result<(), ParamError> {
    Err(ParamError { field, reason })
}

impl SamplingParams {
    /// Greedy decoding: argmax at every step, everything else neutral.
    pub fn greedy() -> Self {
        Self { temperature: 0.0, ..Self::default() }
    }

    /// llama.cpp's command-line defaults (`--temp 0.8 --top-k 40 --top-p 0.95 --min-p 0.05`).
    pub fn llama_cpp() -> Self {
        Self { temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, ..Self::default() }
    }

    /// Whether tokens are chosen by argmax.
    pub fn is_greedy(&self) -> bool {
        self.temperature < GREEDY_BELOW
    }

    /// `top_k` as a count, `None` when off.
    pub fn top_k_count(&self) -> Option<usize> {
        usize::try_from(self.top_k).ok().filter(|&k| k > 0)
    }

    /// Checks every range; the error names the first offending field.
    pub fn validate(&self) -> Result<(), ParamError> {
        let t = self.temperature;
        if !t.is_finite() || t < 0.0 {
            return bad("temperature", format!("must be finite and >= 0, got {t}"));
        }
        if self.top_k < -1 {
            return bad("top_k", format!("must be >= 0 (0 or -1 = off), got {}", self.top_k));
        }
        // Written so that NaN fails too.
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", format!("must be in (0, 1], got {}", self.top_p));
        }
        if !(self.min_p >= 0.0 && self.min_p <= 1.0) {
            return bad("min_p", format!("must be in [0, 1], got {}", self.min_p));
        }
        let r = self.repetition_penalty;
        if !(r.is_finite() && r > 0.0) {
            return bad("repetition_penalty", format!("must be finite and > 0 (1 = off), got {r}"));
        }
        for (field, v) in [("presence_penalty", self.presence_penalty), ("frequency_penalty", self.frequency_penalty)] {
            if v.is_nan() || v.abs() > MAX_ABS_OPENAI_PENALTY {
                return bad(field, format!("must be in [-2, 2], got {v}"));
            }
        }
        if self.penalty_last_n < -1 {
            return bad(
                "penalty_last_n",
                format!("must be >= -1 (-1 = whole history, 0 = off), got {}", self.penalty_last_n),
            );
        }
        if let Some((id, b)) = self.logit_bias.iter().find(|(_, b)| b.is_nan()) {
            return bad("logit_bias", format!("bias of token {id} is NaN ({b})"));
        }
        if self.max_tokens == Some(0) {
            return bad("max_tokens", "must be >= 1 when set, got 0".to_string());
        }
        if let Some(i) = self.stop.iter().position(String::is_empty) {
            return bad("stop", format!("stop string {i} is empty"));
        }
        if let Some(n) = self.logprobs.filter(|&n| n > MAX_LOGPROBS) {
            return bad("logprobs", format!("at most {MAX_LOGPROBS} alternatives, got {n}"));
        }
        Ok(())
    }
}
