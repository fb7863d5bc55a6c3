//! Engine: the per-request pieces that turn logits into text.
//!
//! - [`sampler`]: sampling parameters and the sampler (logit bias, repetition/presence/frequency
//!   penalties, temperature, top-k, top-p, min-p, logprobs), seeded and allocation-free per step.
//! - [`stop`]: the stop-string matcher for streamed text.
//! - [`finish`]: why a sequence ended.
//! - [`block_manager`]: ownership of the paged KV cache's blocks, with prefix reuse (LRU).
//! - [`scheduler`]: continuous batching: decode tokens plus chunked prefill per step, FCFS,
//!   preemption by recompute, a bounded queue.
//! - [`engine`]: the engine thread and request handles that stream token events.
//! - [`step_times`]: where the engine thread's time goes, by phase.

pub mod block_manager;
pub mod engine;
pub mod finish;
pub mod generate;
pub mod sampler;
pub mod scheduler;
pub mod step_times;
pub mod stop;

pub use engine::{Completion, Engine, EngineConfig, EngineError, Event, RequestHandle, Usage};
pub use finish::FinishReason;
pub use generate::{generate, GenStats, GenerateError};
pub use sampler::{ParamError, SampledToken, Sampler, SamplerError, SamplingParams};
pub use scheduler::{Scheduler, SchedulerConfig, SubmitError};
pub use step_times::StepTimes;
pub use stop::{StopMatcher, StopPush};
