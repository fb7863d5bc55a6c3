//! The plain float types, one element per "block". ggml converts them with the scalar helpers of
//! `ggml-impl.h`; all three widenings to f32 are exact.

use super::packing::f16_at;

/// F32: 4 bytes, little-endian.
pub(super) fn f32(b: &[u8], y: &mut [f32]) {
    y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
}

/// F16: IEEE binary16, little-endian (`ggml_fp16_to_fp32`).
pub(super) fn f16(b: &[u8], y: &mut [f32]) {
    y[0] = f16_at(b, 0);
}

/// BF16: the high half of an f32, little-endian (`ggml_bf16_to_fp32`: bits << 16).
pub(super) fn bf16(b: &[u8], y: &mut [f32]) {
    y[0] = f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16);
}
