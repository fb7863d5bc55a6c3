//! Reference (scalar) dequantization of ggml blocks to f32, and random valid blocks for
//! synthetic models.
//!
//! Every decoder mirrors the `dequantize_row_*` function of ggml's C reference
//! (`ggml/src/ggml-quants.c`) operation for operation: products are taken in the same order, in
//! f32, never fused into an FMA. That makes the output bit-identical to the `gguf` Python
//! package (`gguf.quants.dequantize`), which computes the same expressions in numpy float32;
//! `tests/dequant_golden.rs` checks it against fixtures written by
//! `scripts/gen_dequant_goldens.py`.

mod float;
mod iq4;
mod kquants;
mod legacy;
mod mxfp4;
mod packing;
mod random;

use crate::GgmlType;

pub use mxfp4::{e8m0_to_f32_half, KVALUES_MXFP4};
pub use random::random_blocks;

/// Why [`dequantize`] refused its input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DequantError {
    #[error("no reference dequantization for {0}")]
    Unsupported(GgmlType),
    #[error("{ty}: {len} bytes is not a whole number of {type_size}-byte blocks")]
    PartialBlock { ty: GgmlType, len: usize, type_size: usize },
    #[error("{ty}: {n_blocks} blocks hold {expected} elements, but the output has {actual}")]
    OutputLength { ty: GgmlType, n_blocks: usize, expected: usize, actual: usize },
}

/// Dequantize whole blocks of `ty` in `src` into `dst`; `dst.len()` must equal the number of
/// elements `src` holds.
pub fn dequantize(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<(), DequantError> {
    use GgmlType::*;
    check_lengths(ty, src.len(), dst.len())?;
    match ty {
        F32 => each_block(ty, src, dst, float::f32),
        F16 => each_block(ty, src, dst, float::f16),
        BF16 => each_block(ty, src, dst, float::bf16),
        Q4_0 => each_block(ty, src, dst, legacy::q4_0),
        Q4_1 => each_block(ty, src, dst, legacy::q4_1),
        Q5_0 => each_block(ty, src, dst, legacy::q5_0),
        Q5_1 => each_block(ty, src, dst, legacy::q5_1),
        Q8_0 => each_block(ty, src, dst, legacy::q8_0),
        Q2_K => each_block(ty, src, dst, kquants::q2_k),
        Q3_K => each_block(ty, src, dst, kquants::q3_k),
        Q4_K => each_block(ty, src, dst, kquants::q4_k),
        Q5_K => each_block(ty, src, dst, kquants::q5_k),
        Q6_K => each_block(ty, src, dst, kquants::q6_k),
        Q8_K => each_block(ty, src, dst, kquants::q8_k),
        IQ4_NL => each_block(ty, src, dst, iq4::iq4_nl),
        IQ4_XS => each_block(ty, src, dst, iq4::iq4_xs),
        MXFP4 => each_block(ty, src, dst, mxfp4::mxfp4),
        _ => return Err(DequantError::Unsupported(ty)),
    }
    Ok(())
}

/// [`dequantize`] into a new vector.
pub fn dequantize_to_vec(ty: GgmlType, src: &[u8]) -> Result<Vec<f32>, DequantError> {
    // Saturating: no addressable slice holds enough blocks to overflow the element count.
    let n_elements = count_blocks(ty, src.len())?.saturating_mul(ty.block_size());
    let mut dst = vec![0.0; n_elements];
    dequantize(ty, src, &mut dst)?;
    Ok(dst)
}

/// The number of blocks in `src_len` bytes, once `ty` is supported and the bytes are whole blocks.
fn count_blocks(ty: GgmlType, src_len: usize) -> Result<usize, DequantError> {
    if !ty.has_reference_dequant() {
        return Err(DequantError::Unsupported(ty));
    }
    let type_size = ty.type_size();
    let n_blocks = src_len / type_size;
    if n_blocks * type_size != src_len {
        return Err(DequantError::PartialBlock { ty, len: src_len, type_size });
    }
    Ok(n_blocks)
}

/// [`count_blocks`], and the output must have room for exactly the blocks' elements.
fn check_lengths(ty: GgmlType, src_len: usize, dst_len: usize) -> Result<(), DequantError> {
    let n_blocks = count_blocks(ty, src_len)?;
    let block_size = ty.block_size();
    if n_blocks.checked_mul(block_size) != Some(dst_len) {
        let expected = n_blocks.saturating_mul(block_size);
        return Err(DequantError::OutputLength { ty, n_blocks, expected, actual: dst_len });
    }
    Ok(())
}

/// Run the block decoder `decode(block bytes, block output)` over every block.
fn each_block(ty: GgmlType, src: &[u8], dst: &mut [f32], decode: impl Fn(&[u8], &mut [f32])) {
    let blocks = src.chunks_exact(ty.type_size());
    for (block, out) in blocks.zip(dst.chunks_exact_mut(ty.block_size())) {
        decode(block, out);
    }
}
