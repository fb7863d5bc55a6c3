//! The original 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0
//! (`dequantize_row_q4_0` ... `dequantize_row_q8_0` in ggml-quants.c).
//!
//! In the 4- and 5-bit formats byte `j` of `qs` holds element `j` in its low nibble and element
//! `j + 16` in its high nibble (see [`nibble`]); the 5th bit of element `j` is bit `j` of the
//! little-endian u32 `qh`.

use super::packing::{f16_at, nibble};

/// The 5-bit quant of element `k`: its nibble in `qs`, and bit `k` of `qh` as the 5th bit.
fn quint(qs: &[u8], qh: u32, k: usize) -> u8 {
    nibble(qs, 16, k) | (((qh >> k) & 1) as u8) << 4
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

// block_q4_0 (dequantize_row_q4_0): d f16 | qs [16]
//   y = d * (q - 8)
pub(super) fn q4_0(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let qs = &b[2..18];
    for (k, out) in y.iter_mut().enumerate() {
        *out = d * (i32::from(nibble(qs, 16, k)) - 8) as f32;
    }
}

// block_q4_1 (dequantize_row_q4_1): d f16 | m f16 | qs [16]
//   y = d * q + m
pub(super) fn q4_1(b: &[u8], y: &mut [f32]) {
    let (d, m) = (f16_at(b, 0), f16_at(b, 2));
    let qs = &b[4..20];
    for (k, out) in y.iter_mut().enumerate() {
        *out = d * f32::from(nibble(qs, 16, k)) + m;
    }
}

// block_q5_0 (dequantize_row_q5_0): d f16 | qh u32 | qs [16]
//   y = d * (q - 16)
pub(super) fn q5_0(b: &[u8], y: &mut [f32]) {
    let (d, qh, qs) = (f16_at(b, 0), u32_at(b, 2), &b[6..22]);
    for (k, out) in y.iter_mut().enumerate() {
        *out = d * (i32::from(quint(qs, qh, k)) - 16) as f32;
    }
}

// block_q5_1 (dequantize_row_q5_1): d f16 | m f16 | qh u32 | qs [16]
//   y = d * q + m
pub(super) fn q5_1(b: &[u8], y: &mut [f32]) {
    let (d, m, qh, qs) = (f16_at(b, 0), f16_at(b, 2), u32_at(b, 4), &b[8..24]);
    for (k, out) in y.iter_mut().enumerate() {
        *out = d * f32::from(quint(qs, qh, k)) + m;
    }
}

// block_q8_0 (dequantize_row_q8_0): d f16 | qs [32] i8
//   y = q * d
pub(super) fn q8_0(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    for (out, &q) in y.iter_mut().zip(&b[2..34]) {
        *out = f32::from(q as i8) * d;
    }
}
