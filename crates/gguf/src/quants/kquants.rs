//! The K-quants: 256-element super-blocks of 16- or 32-element sub-blocks, each sub-block with
//! its own small integer scale (and min) times the super-block's f16 `d` (and `dmin`).
//! Mirrors `dequantize_row_q2_K` ... `dequantize_row_q8_K` in ggml-quants.c; element `k` of the
//! block is read with the shared [`nibble`], [`crumb`] and [`bit`] readers, which reproduce the
//! loop order of those functions.

use super::packing::{bit, crumb, f16_at, nibble};

// block_q2_K (dequantize_row_q2_K):
//   scales [16] (per 16 elements: low nibble scale, high nibble min) | qs [64] 2-bit
//   | d f16 | dmin f16
//   y = (d * scale) * q - (dmin * min)
pub(super) fn q2_k(b: &[u8], y: &mut [f32]) {
    let (scales, qs) = (&b[..16], &b[16..80]);
    let (d, dmin) = (f16_at(b, 80), f16_at(b, 82));
    for (i, (sub, &sc)) in y.chunks_exact_mut(16).zip(scales).enumerate() {
        let dl = d * f32::from(sc & 0xF);
        let ml = dmin * f32::from(sc >> 4);
        for (l, out) in sub.iter_mut().enumerate() {
            *out = dl * f32::from(crumb(qs, 16 * i + l)) - ml;
        }
    }
}

/// The 16 signed 6-bit scales of Q3_K (the `aux`/`kmask` shuffle of `dequantize_row_q3_K`):
/// bytes 0..8 hold the low nibbles (scales 0..8 low, 8..16 high), bytes 8..12 the high 2 bits,
/// scale `i` in bits `2 * (i / 4)` of byte `8 + i % 4`. Stored with an offset of 32.
fn q3_k_scales(packed: &[u8]) -> [i32; 16] {
    std::array::from_fn(|i| {
        let low = (packed[i % 8] >> (4 * (i / 8))) & 0xF;
        let high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
        i32::from(low | (high << 4)) - 32
    })
}

// block_q3_K (dequantize_row_q3_K):
//   hmask [32] | qs [64] 2-bit | scales [12] (16 6-bit) | d f16
//   y = (d * scale) * (q - (hmask bit set ? 0 : 4))
pub(super) fn q3_k(b: &[u8], y: &mut [f32]) {
    let (hmask, qs) = (&b[..32], &b[32..96]);
    let scales = q3_k_scales(&b[96..108]);
    let d = f16_at(b, 108);
    for (i, (sub, &sc)) in y.chunks_exact_mut(16).zip(&scales).enumerate() {
        let dl = d * sc as f32;
        for (l, out) in sub.iter_mut().enumerate() {
            let k = 16 * i + l;
            let q = i32::from(crumb(qs, k)) - if bit(hmask, k) == 1 { 0 } else { 4 };
            *out = dl * q as f32;
        }
    }
}

/// Scale and min of sub-block `j` (0..8) from the 12 packed bytes of Q4_K/Q5_K
/// (`get_scale_min_k4`): sub-blocks 0..4 in the low 6 bits of bytes 0..4 (scale) and 4..8 (min);
/// sub-blocks 4..8 in the nibbles of bytes 8..12 plus the top 2 bits of bytes 0..8.
fn scale_min_k4(packed: &[u8], j: usize) -> (u8, u8) {
    if j < 4 {
        (packed[j] & 63, packed[j + 4] & 63)
    } else {
        let sc = (packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4);
        let m = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
        (sc, m)
    }
}

/// Q4_K and Q5_K share the header `d f16 | dmin f16 | scales [12]` and, per 32-element sub-block,
/// y = (d * scale) * q - (dmin * min); `quant(k)` reads the quant of element `k`.
fn q45_k(b: &[u8], y: &mut [f32], quant: impl Fn(usize) -> u8) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let packed = &b[4..16];
    for (j, sub) in y.chunks_exact_mut(32).enumerate() {
        let (sc, m) = scale_min_k4(packed, j);
        let dl = d * f32::from(sc);
        let ml = dmin * f32::from(m);
        for (l, out) in sub.iter_mut().enumerate() {
            *out = dl * f32::from(quant(32 * j + l)) - ml;
        }
    }
}

// block_q4_K (dequantize_row_q4_K): d f16 | dmin f16 | scales [12] | qs [128] 4-bit
pub(super) fn q4_k(b: &[u8], y: &mut [f32]) {
    let qs = &b[16..144];
    q45_k(b, y, |k| nibble(qs, 32, k));
}

// block_q5_K (dequantize_row_q5_K): d f16 | dmin f16 | scales [12] | qh [32] | qs [128] 4-bit
pub(super) fn q5_k(b: &[u8], y: &mut [f32]) {
    let (qh, qs) = (&b[16..48], &b[48..176]);
    q45_k(b, y, |k| nibble(qs, 32, k) | (bit(qh, k) << 4));
}

// block_q6_K (dequantize_row_q6_K):
//   ql [128] low 4 bits | qh [64] high 2 bits | scales [16] i8 | d f16
//   y = (d * scale) * (q - 32)
pub(super) fn q6_k(b: &[u8], y: &mut [f32]) {
    let (ql, qh, scales) = (&b[..128], &b[128..192], &b[192..208]);
    let d = f16_at(b, 208);
    for (i, (sub, &sc)) in y.chunks_exact_mut(16).zip(scales).enumerate() {
        let dl = d * f32::from(sc as i8);
        for (l, out) in sub.iter_mut().enumerate() {
            let k = 16 * i + l;
            let q = nibble(ql, 64, k) | (crumb(qh, k) << 4);
            *out = dl * (i32::from(q) - 32) as f32;
        }
    }
}

// block_q8_K (dequantize_row_q8_K): d f32 | qs [256] i8 | bsums [16] i16 (unused here)
//   y = d * q
pub(super) fn q8_k(b: &[u8], y: &mut [f32]) {
    let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    for (out, &q) in y.iter_mut().zip(&b[4..260]) {
        *out = d * f32::from(q as i8);
    }
}
