//! IQ4_NL and IQ4_XS: 4-bit indices into a fixed non-linear table of int8 levels
//! (`dequantize_row_iq4_nl` and `dequantize_row_iq4_xs` in ggml-quants.c).

use super::packing::{f16_at, nibble};

/// `kvalues_iq4nl` (ggml-common.h).
pub(super) const KVALUES_IQ4NL: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

// block_iq4_nl (dequantize_row_iq4_nl): d f16 | qs [16]
//   y = d * level
pub(super) fn iq4_nl(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let qs = &b[2..18];
    for (k, out) in y.iter_mut().enumerate() {
        *out = d * f32::from(KVALUES_IQ4NL[usize::from(nibble(qs, 16, k))]);
    }
}

// block_iq4_xs (dequantize_row_iq4_xs):
//   d f16 | scales_h u16 | scales_l [4] | qs [128]
//   sub-block `j` (32 elements, qs[16 j..16 j + 16]) has the 6-bit scale
//   (nibble j % 2 of scales_l[j / 2]) | (bits 2j..2j+2 of scales_h) << 4, offset by 32;
//   y = (d * scale) * level
pub(super) fn iq4_xs(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let scales_h = u16::from_le_bytes([b[2], b[3]]);
    let (scales_l, qs) = (&b[4..8], &b[8..136]);
    for (j, sub) in y.chunks_exact_mut(32).enumerate() {
        let low = (scales_l[j / 2] >> (4 * (j % 2))) & 0xF;
        let high = ((scales_h >> (2 * j)) & 3) as u8;
        let dl = d * (i32::from(low | (high << 4)) - 32) as f32;
        for (l, out) in sub.iter_mut().enumerate() {
            *out = dl * f32::from(KVALUES_IQ4NL[usize::from(nibble(qs, 16, 32 * j + l))]);
        }
    }
}
