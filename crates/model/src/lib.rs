//! Models: architectures as data, hyperparameters, and (later) weights, forward pass, tokenizer
//! and chat templates.

pub mod error;
pub mod hparams;
pub mod tokenizer;

pub use error::ModelError;
pub use hparams::{HParams, RopeScaling};
pub use tokenizer::{Detokenizer, Tokenizer};
