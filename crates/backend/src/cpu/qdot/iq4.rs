//! IQ4_NL against Q8_0 and IQ4_XS against Q8_K (`ggml_vec_dot_iq4_nl_q8_0_generic`,
//! `ggml_vec_dot_iq4_xs_q8_K_generic`): 4-bit indices into a fixed table of int8 levels.

use super::{f16_at, f32_at};

/// `kvalues_iq4nl` (ggml-common.h).
const KVALUES_IQ4NL: [i32; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/// `sum(level(lo[j]) * y[j]) + sum(level(hi[j]) * y[j + 16])` over 16 bytes of `qs`.
#[inline(always)]
fn levels_dot(qs: &[u8], y: &[u8]) -> i32 {
    let (qs, y) = (&qs[..16], &y[..32]);
    let (mut s1, mut s2) = (0i32, 0i32);
    for j in 0..16 {
        s1 += i32::from(y[j] as i8) * KVALUES_IQ4NL[usize::from(qs[j] & 0xF)];
        s2 += i32::from(y[j + 16] as i8) * KVALUES_IQ4NL[usize::from(qs[j] >> 4)];
    }
    s1 + s2
}

// block_iq4_nl: d f16 | qs [16]
//   d = y.d * x.d;  sumf += d * (sumi1 + sumi2)
pub(super) fn iq4_nl_q8_0(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(18).zip(a.chunks_exact(34)).take(nb) {
        let d = f16_at(y, 0) * f16_at(x, 0);
        sumf += d * levels_dot(&x[2..18], &y[2..34]) as f32;
    }
    sumf
}

// block_iq4_xs: d f16 | scales_h u16 | scales_l [4] | qs [128]
//   sub-block ib (32 elements, qs[16 ib..16 ib + 16]) has the 6-bit scale
//   (nibble ib % 2 of scales_l[ib / 2]) | (bits 2 ib..2 ib + 2 of scales_h) << 4;
//   d4d8 = x.d * y.d;  per sub-block: sumf += (d4d8 * (ls - 32)) * sumi
pub(super) fn iq4_xs_q8_k(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(136).zip(a.chunks_exact(292)).take(nb) {
        let d4d8 = f16_at(x, 0) * f32_at(y, 0);
        let scales_h = u16::from_le_bytes([x[2], x[3]]);
        let (scales_l, qs, q8) = (&x[4..8], &x[8..136], &y[4..260]);
        for ib in 0..8 {
            let low = (scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
            let high = ((scales_h >> (2 * ib)) & 3) as u8;
            let dl = d4d8 * (i32::from(low | (high << 4)) - 32) as f32;
            let sumi = levels_dot(&qs[16 * ib..16 * ib + 16], &q8[32 * ib..32 * ib + 32]);
            sumf += dl * sumi as f32;
        }
    }
    sumf
}
