//! The 32-element formats against Q8_0 / Q8_1 activations
//! (`ggml_vec_dot_{q4_0,q5_0,q8_0}_q8_0_generic`, `ggml_vec_dot_{q4_1,q5_1}_q8_1_generic`).
//!
//! Byte `j` of a 4-bit `qs` holds element `j` (low nibble) and `j + 16` (high nibble); the 5th
//! bit of element `j` is bit `j` of the little-endian u32 `qh`. Each block's integer sum is
//! exact; the f32 scale products are taken in the C expression's order and summed block by
//! block into one f32.

use super::f16_at;

fn i8_at(b: &[u8], at: usize) -> i32 {
    i32::from(b[at] as i8)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// `sum(lo[j] * y[j] + hi[j] * y[j + 16])` over the 16 bytes of `qs`, the quants offset by
/// `off` (8 for Q4_0, 0 for Q4_1).
#[inline(always)]
fn nibble_dot(qs: &[u8], y: &[u8], off: i32) -> i32 {
    let (qs, y) = (&qs[..16], &y[..32]);
    let (mut s0, mut s1) = (0i32, 0i32);
    for j in 0..16 {
        s0 += (i32::from(qs[j] & 0xF) - off) * i32::from(y[j] as i8);
        s1 += (i32::from(qs[j] >> 4) - off) * i32::from(y[j + 16] as i8);
    }
    s0 + s1
}

/// As [`nibble_dot`] with the 5th bit of each quant taken from `qh`.
#[inline(always)]
fn quint_dot(qs: &[u8], qh: u32, y: &[u8], off: i32) -> i32 {
    let (qs, y) = (&qs[..16], &y[..32]);
    let (mut s0, mut s1) = (0i32, 0i32);
    for j in 0..16 {
        let h0 = ((qh >> j) & 1) as u8;
        let h1 = ((qh >> (j + 16)) & 1) as u8;
        let x0 = i32::from((qs[j] & 0xF) | (h0 << 4)) - off;
        let x1 = i32::from((qs[j] >> 4) | (h1 << 4)) - off;
        s0 += x0 * i32::from(y[j] as i8);
        s1 += x1 * i32::from(y[j + 16] as i8);
    }
    s0 + s1
}

// block_q4_0: d f16 | qs [16]; block_q8_0: d f16 | qs [32] i8
//   sumf += sumi * dx * dy   (left to right: (sumi * dx) * dy)
pub(super) fn q4_0_q8_0(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(18).zip(a.chunks_exact(34)).take(nb) {
        let sumi = nibble_dot(&x[2..18], &y[2..34], 8);
        sumf += sumi as f32 * f16_at(x, 0) * f16_at(y, 0);
    }
    sumf
}

// block_q4_1: d f16 | m f16 | qs [16]; block_q8_1: d f16 | s f16 | qs [32] i8
//   sumf += (dx * dy) * sumi + mx * sy
pub(super) fn q4_1_q8_1(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(20).zip(a.chunks_exact(36)).take(nb) {
        let sumi = nibble_dot(&x[4..20], &y[4..36], 0);
        sumf += (f16_at(x, 0) * f16_at(y, 0)) * sumi as f32 + f16_at(x, 2) * f16_at(y, 2);
    }
    sumf
}

// block_q5_0: d f16 | qh u32 | qs [16]
//   sumf += (dx * dy) * sumi
pub(super) fn q5_0_q8_0(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(22).zip(a.chunks_exact(34)).take(nb) {
        let sumi = quint_dot(&x[6..22], u32_at(x, 2), &y[2..34], 16);
        sumf += (f16_at(x, 0) * f16_at(y, 0)) * sumi as f32;
    }
    sumf
}

// block_q5_1: d f16 | m f16 | qh u32 | qs [16]
//   sumf += (dx * dy) * sumi + mx * sy
pub(super) fn q5_1_q8_1(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(24).zip(a.chunks_exact(36)).take(nb) {
        let sumi = quint_dot(&x[8..24], u32_at(x, 4), &y[4..36], 0);
        sumf += (f16_at(x, 0) * f16_at(y, 0)) * sumi as f32 + f16_at(x, 2) * f16_at(y, 2);
    }
    sumf
}

// block_q8_0 x block_q8_0
//   sumf += sumi * (dx * dy)
pub(super) fn q8_0_q8_0(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(34).zip(a.chunks_exact(34)).take(nb) {
        let (qx, qy) = (&x[2..34], &y[2..34]);
        let mut sumi = 0i32;
        for j in 0..32 {
            sumi += i8_at(qx, j) * i8_at(qy, j);
        }
        sumf += sumi as f32 * (f16_at(x, 0) * f16_at(y, 0));
    }
    sumf
}
