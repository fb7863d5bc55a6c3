//! Errors of the model crate: what in the file does not describe a model we can run.

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Gguf(#[from] gguf::GgufError),

    #[error("metadata '{key}': {why}")]
    BadHParam { key: String, why: String },

    /// A chat template that cannot be loaded or rendered (the text says why).
    #[error("chat template: {0}")]
    Template(String),
}
