//! Errors of the gguf crate. A malformed file always names the field and the byte offset where
//! reading went wrong, so a user can tell a truncated download from a broken converter.

use std::io;
use std::path::PathBuf;

use crate::quants::DequantError;
use crate::types::GgmlType;

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The OS error is part of the message, not a `source`, so error chains print it once.
    #[error("cannot read {path}: {cause}")]
    Io { path: PathBuf, cause: io::Error },

    #[error("malformed GGUF at byte {offset}: {field}: {problem}")]
    Malformed { offset: u64, field: String, problem: Problem },

    #[error("metadata key '{key}' is missing")]
    MissingKey { key: String },

    #[error("metadata key '{key}' holds {found}, expected {expected}")]
    WrongType { key: String, expected: &'static str, found: String },

    #[error("tensor '{name}' is missing")]
    MissingTensor { name: String },

    #[error("unsupported tensor type {ty} in tensor '{tensor}'")]
    UnsupportedType { tensor: String, ty: GgmlType },

    #[error("tensor '{tensor}': {source}")]
    Dequant { tensor: String, source: DequantError },

    #[error("cannot write GGUF: {0}")]
    Write(String),
}

/// What is wrong with a field of a malformed file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("file ends at byte {file_len}, {needed} more bytes needed")]
    Truncated { needed: u64, file_len: u64 },
    #[error("magic {0:02x?} is not \"GGUF\"; not a GGUF file")]
    BadMagic([u8; 4]),
    #[error("version {0} is not supported (2 and 3 are)")]
    Version(u32),
    #[error("big-endian GGUF files are not supported")]
    BigEndian,
    #[error("count {count} cannot fit in the {bytes_left} bytes left in the file")]
    CountTooLarge { count: u64, bytes_left: u64 },
    #[error("length {len} exceeds the limit of {limit}")]
    TooLong { len: u64, limit: u64 },
    #[error("string is not valid UTF-8")]
    Utf8,
    #[error("empty name")]
    Empty,
    #[error("unknown metadata value type {0}")]
    UnknownValueType(u32),
    #[error("arrays of arrays are not supported")]
    NestedArray,
    #[error("bool byte {0} is neither 0 nor 1")]
    BadBool(u8),
    #[error("duplicate metadata key '{0}'")]
    DuplicateKey(String),
    #[error("duplicate tensor name '{0}'")]
    DuplicateTensor(String),
    #[error("n_dims {0} is outside 1..=4")]
    Dims(u32),
    #[error("dimension {index} is {value}; dimensions must be in 1..=2^63-1")]
    BadDim { index: usize, value: u64 },
    #[error("element or byte count overflows")]
    Overflow,
    #[error("unknown ggml type id {0}")]
    UnknownTensorType(u32),
    #[error("row length {ne0} is not a multiple of {ty}'s block size {block}")]
    PartialBlock { ne0: u64, ty: GgmlType, block: usize },
    #[error("alignment {0} is not a non-zero power of two")]
    Alignment(u64),
    #[error("general.alignment must be a u32, found {0}")]
    AlignmentType(String),
    #[error("offset {offset} is not a multiple of the alignment {alignment}")]
    Misaligned { offset: u64, alignment: u64 },
    #[error("data bytes [{start}, {end}) lie outside the {file_len}-byte file")]
    OutOfBounds { start: u64, end: u64, file_len: u64 },
    #[error("data overlaps tensor '{0}'")]
    Overlap(String),
}

impl GgufError {
    pub(crate) fn malformed(offset: u64, field: impl Into<String>, problem: Problem) -> Self {
        GgufError::Malformed { offset, field: field.into(), problem }
    }

    /// The problem, when this is a malformed-file error (tests match on it).
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            GgufError::Malformed { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

pub type Result<T, E = GgufError> = std::result::Result<T, E>;
