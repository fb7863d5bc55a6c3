//! Models: architectures as data, hyperparameters, and (later) weights, forward pass, tokenizer
//! and chat templates.

pub mod chat;
pub mod error;
pub mod hparams;

pub use chat::{ChatTemplate, Message};
pub use error::ModelError;
pub use hparams::{HParams, RopeScaling};
