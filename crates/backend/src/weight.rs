//! A borrowed view of a weight matrix in its file encoding (any ggml type with a reference
//! dequantization), rows contiguous: the layout every matmul reads.

use gguf::{GgmlType, TensorInfo};

#[derive(Debug, thiserror::Error)]
pub enum WeightError {
    #[error("tensor '{name}': type {ty} has no CPU kernel")]
    Unsupported { name: String, ty: GgmlType },
    #[error("tensor '{name}': {bytes} bytes do not hold {rows} rows of {cols} {ty} values")]
    Size { name: String, ty: GgmlType, rows: usize, cols: usize, bytes: usize },
}

/// `rows x cols` values of type `ty`; row `r` is `row_bytes` bytes at `r * row_bytes`.
#[derive(Clone, Copy, Debug)]
pub struct WeightView<'a> {
    pub ty: GgmlType,
    pub rows: usize,
    pub cols: usize,
    pub data: &'a [u8],
}

impl<'a> WeightView<'a> {
    /// A 1-D or 2-D tensor as a matrix (`cols` = ne0, `rows` = ne1; 1-D tensors have one row).
    pub fn new(info: &TensorInfo, data: &'a [u8]) -> Result<Self, WeightError> {
        let cols = info.dims[0] as usize;
        let rows = info.dims[1..].iter().product::<u64>() as usize;
        Self::from_parts(&info.name, info.ty, rows, cols, data)
    }

    pub fn from_parts(name: &str, ty: GgmlType, rows: usize, cols: usize, data: &'a [u8]) -> Result<Self, WeightError> {
        if !ty.has_reference_dequant() {
            return Err(WeightError::Unsupported { name: name.to_string(), ty });
        }
        let row_bytes = ty.bytes_for(cols as u64).map(|b| b as usize);
        if row_bytes.and_then(|b| b.checked_mul(rows)) != Some(data.len()) {
            return Err(WeightError::Size { name: name.to_string(), ty, rows, cols, bytes: data.len() });
        }
        Ok(WeightView { ty, rows, cols, data })
    }

    pub fn row_bytes(&self) -> usize {
        self.data.len() / self.rows.max(1)
    }

    pub fn row(&self, r: usize) -> &'a [u8] {
        let n = self.row_bytes();
        &self.data[r * n..(r + 1) * n]
    }
}
