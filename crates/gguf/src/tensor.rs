//! Tensor descriptions as the header gives them, validated.

use crate::types::GgmlType;

/// One tensor of a GGUF file. Its data is `n_bytes` bytes at absolute file offset `start`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub ty: GgmlType,
    /// ggml order: `dims[0]` is the contiguous row length (ne0), then ne1, ne2, ne3.
    pub dims: Vec<u64>,
    /// Offset relative to the data section, as written in the file.
    pub offset: u64,
    pub n_elements: u64,
    pub n_bytes: u64,
    /// Absolute file offset of the first data byte.
    pub start: u64,
}

impl TensorInfo {
    /// Row length (ne0).
    pub fn row_len(&self) -> u64 {
        self.dims[0]
    }

    /// Number of rows (product of ne1..ne3).
    pub fn n_rows(&self) -> u64 {
        self.n_elements / self.dims[0]
    }

    /// The shape the way PyTorch/NumPy print it (outermost first): `[ne3, ne2, ne1, ne0]`.
    pub fn shape_outer_first(&self) -> Vec<u64> {
        self.dims.iter().rev().copied().collect()
    }
}
