//! Models: architectures as data, hyperparameters, weights, the forward pass over a BatchPlan
//! with a paged KV cache, and synthetic models.

pub mod arch;
pub mod batch;
pub mod chat;
pub mod compute;
pub mod device;
pub mod error;
mod forward;
pub mod hparams;
pub mod kv_cache;
mod llm;
pub mod session;
pub mod step_logits;
pub mod synth;
pub mod tokenizer;
pub mod weights;

pub use arch::ArchSpec;
pub use backend::KvType;
pub use batch::BatchPlan;
pub use chat::{ChatTemplate, Message};
pub use device::{Device, DeviceKv};
pub use error::ModelError;
pub use hparams::{HParams, RopeScaling};
pub use kv_cache::KvCache;
pub use llm::Model;
pub use session::Session;
pub use step_logits::{Logits, Row, RowNeed, StepLogits};
pub use tokenizer::{Detokenizer, Tokenizer};
