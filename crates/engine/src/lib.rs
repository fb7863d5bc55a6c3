//! Engine: the per-request pieces that turn logits into text.
//!
//! - [`sampler`]: sampling parameters and the sampler (logit bias, repetition/presence/frequency
//!   penalties, temperature, top-k, top-p, min-p, logprobs), seeded and allocation-free per step.
//! - [`stop`]: the stop-string matcher for streamed text.
//! - [`finish`]: why a sequence ended.
//!
//! The paged KV cache, the scheduler and request handles will join this crate later.

pub mod finish;
pub mod generate;
pub mod sampler;
pub mod stop;

pub use finish::FinishReason;
pub use generate::{generate, GenStats, GenerateError};
pub use sampler::{ParamError, SampledToken, Sampler, SamplerError, SamplingParams};
pub use stop::{StopMatcher, StopPush};
