//! Errors of the model crate: what in the file does not describe a model we can run.

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Gguf(#[from] gguf::GgufError),

    #[error("metadata '{key}': {why}")]
    BadHParam { key: String, why: String },

    /// The tokenizer metadata is missing, malformed or inconsistent.
    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// A `tokenizer.ggml.model` / `tokenizer.ggml.pre` pair we do not implement.
    #[error("unsupported tokenizer: model '{model}', pre-tokenizer '{}'", pre.as_deref().unwrap_or("-"))]
    UnknownTokenizer { model: String, pre: Option<String> },
}
