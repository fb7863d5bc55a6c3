//! Errors of the model crate: what in the file does not describe a model we can run.

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Gguf(#[from] gguf::GgufError),

    #[error("metadata '{key}': {why}")]
    BadHParam { key: String, why: String },

    #[error("tensor '{tensor}' has shape {found:?}, the hyperparameters say {expected:?}")]
    Shape { tensor: String, expected: Vec<u64>, found: Vec<u64> },

    #[error("{0}")]
    Weight(String),

    /// A GPU call failed (the message names the call, or what was being allocated).
    #[error(transparent)]
    Gpu(#[from] backend::gpu::GpuError),

    #[error("architecture '{0}' is not supported (supported: llama, qwen2, qwen3, gemma3)")]
    UnsupportedArch(String),

    #[error("invalid batch: {0}")]
    Batch(String),

    #[error("the context holds {n_ctx} tokens; {needed} are needed")]
    ContextFull { needed: usize, n_ctx: usize },

    #[error("KV cache: {0}")]
    KvCache(String),

    /// The tokenizer metadata is missing, malformed or inconsistent.
    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// A `tokenizer.ggml.model` / `tokenizer.ggml.pre` pair we do not implement.
    #[error("unsupported tokenizer: model '{model}', pre-tokenizer '{}'", pre.as_deref().unwrap_or("-"))]
    UnknownTokenizer { model: String, pre: Option<String> },
    /// A chat template that cannot be loaded or rendered (the text says why).
    #[error("chat template: {0}")]
    Template(String),
}
