//! GGUF: read (mmap, zero-copy, every field of an untrusted file validated), write, the ggml type
//! table and reference (scalar) dequantization.

mod cursor;
pub mod error;
pub mod file;
pub mod quants;
pub mod read;
pub mod tensor;
pub mod types;
pub mod value;
pub mod write;

pub use error::{GgufError, Problem, Result};
pub use file::GgufFile;
pub use tensor::TensorInfo;
pub use types::{GgmlType, QK_K};
pub use value::{Array, Metadata, Value, ValueType};
pub use write::{GgufWriter, TensorData};
