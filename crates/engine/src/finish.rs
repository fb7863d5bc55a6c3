//! Why a sequence stopped generating.

use serde::{Deserialize, Serialize};

/// The reason a sequence ended, precise enough for logs and for vLLM's `stop_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model produced one of its end-of-generation tokens.
    Eos,
    /// A token from the request's `stop_token_ids` was produced (the id).
    StopToken(u32),
    /// The text reached one of the request's stop strings (its index in `stop`).
    StopString(usize),
    /// `max_tokens` were generated or the context is full.
    Length,
    /// The client went away or cancelled.
    Cancelled,
    /// The request failed (e.g. nothing could be sampled).
    Error,
}

impl FinishReason {
    /// The `finish_reason` string of the OpenAI API (`"abort"`/`"error"` as vLLM reports the
    /// cases OpenAI has no word for).
    pub fn as_openai(&self) -> &'static str {
        match self {
            FinishReason::Eos | FinishReason::StopToken(_) | FinishReason::StopString(_) => "stop",
            FinishReason::Length => "length",
            FinishReason::Cancelled => "abort",
            FinishReason::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_strings() {
        assert_eq!(FinishReason::Eos.as_openai(), "stop");
        assert_eq!(FinishReason::StopToken(7).as_openai(), "stop");
        assert_eq!(FinishReason::StopString(0).as_openai(), "stop");
        assert_eq!(FinishReason::Length.as_openai(), "length");
        assert_eq!(FinishReason::Cancelled.as_openai(), "abort");
    }
}
