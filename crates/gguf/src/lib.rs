//! GGUF: read (mmap, zero-copy, every field of an untrusted file validated), write, the ggml type
//! table and reference (scalar) dequantization.

pub mod quants;
pub mod types;

pub use types::{GgmlType, QK_K};
