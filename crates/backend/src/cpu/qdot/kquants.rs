//! The K-quants against Q8_K activations (`ggml_vec_dot_q{2..6}_K_q8_K_generic`).
//!
//! Q8_K block: d f32 | qs [256] i8 | bsums [16] i16 (sum of each 16 quants).
//!
//! Q3_K..Q6_K accumulate, per super-block, eight i32 lanes `aux32[l]` (lane = element index
//! mod 8) of `scale * q8 * q`, then add `d * aux32[l]` to eight f32 lane sums `sums[l]` that run
//! over the whole row; the row's result is `sumf` plus `sums[0]`, ..., `sums[7]` in that order.
//! Integer sums are exact, so only the lane assignment and the f32 steps need to match.

use super::{f16_at, f32_at};

const Q8K: usize = 292;

/// The 256 quants of a Q8_K block (raw bytes; each an i8).
#[inline(always)]
fn q8_quants(y: &[u8]) -> &[u8] {
    &y[4..260]
}

fn bsum(y: &[u8], j: usize) -> i32 {
    i32::from(i16::from_le_bytes([y[260 + 2 * j], y[261 + 2 * j]]))
}

/// The lane sums `t[l] = sum_c q8[8 c + l] * q[8 c + l]` over one sub-block of `LEN`
/// elements. They fit i16 for every K-quant (|q8| <= 128, |q| <= 32, at most 4 products per
/// lane), which keeps the products in 16-bit SIMD lanes.
#[inline(always)]
fn sub_lanes<const LEN: usize>(q8: &[u8], q: &[i8]) -> [i16; 8] {
    let (q8, q) = (&q8[..LEN], &q[..LEN]);
    let mut t = [0i16; 8];
    for (c8, cq) in q8.chunks_exact(8).zip(q.chunks_exact(8)) {
        for l in 0..8 {
            t[l] += i16::from(c8[l] as i8) * i16::from(cq[l]);
        }
    }
    t
}

/// `aux32[l] += scale * t[l]`: the C code's `aux32[l] += scale * aux16[l]` for each 8-element
/// chunk of the sub-block, summed (integers, so the grouping is free).
#[inline(always)]
fn lanes_add(aux32: &mut [i32; 8], t: &[i16; 8], scale: i32) {
    for l in 0..8 {
        aux32[l] += scale * i32::from(t[l]);
    }
}

/// Close a super-block: `sums[l] += d * aux32[l]`.
#[inline(always)]
fn lanes_close(sums: &mut [f32; 8], aux32: &[i32; 8], d: f32) {
    for l in 0..8 {
        sums[l] += d * aux32[l] as f32;
    }
}

/// `sumf + sums[0] + ... + sums[7]`, left to right.
fn lanes_finish(mut sumf: f32, sums: &[f32; 8]) -> f32 {
    for s in sums {
        sumf += s;
    }
    sumf
}

// block_q2_K: scales [16] (low nibble scale, high nibble min) | qs [64] 2-bit | d f16 | dmin f16
//   summs = sum_j bsums[j] * min[j];  isum = sum_j scale[j] * sum(q8 * q) over sub-block j;
//   dall = y.d * d, dmin = y.d * dmin;  sumf += dall * isum - dmin * summs
pub(super) fn q2_k_q8_k(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(84).zip(a.chunks_exact(Q8K)).take(nb) {
        let (sc, q2) = (&x[..16], &x[16..80]);
        let q8 = q8_quants(y);
        let mut summs = 0i32;
        for (j, &s) in sc.iter().enumerate() {
            summs += bsum(y, j) * i32::from(s >> 4);
        }
        let dy = f32_at(y, 0);
        let dall = dy * f16_at(x, 80);
        let dmin = dy * f16_at(x, 82);
        // Element e = 128 h + 32 s + l is bits 2s..2s+2 of q2[32 h + l]; sub-block e / 16.
        let mut isum = 0i32;
        for h in 0..2 {
            let q2h = &q2[32 * h..32 * h + 32];
            for s in 0..4 {
                let base = 128 * h + 32 * s;
                let q8s = &q8[base..base + 32];
                let (mut lo, mut hi) = (0i32, 0i32);
                for l in 0..16 {
                    lo += i32::from(q8s[l] as i8) * i32::from((q2h[l] >> (2 * s)) & 3);
                    hi += i32::from(q8s[16 + l] as i8) * i32::from((q2h[16 + l] >> (2 * s)) & 3);
                }
                isum += i32::from(sc[base / 16] & 0xF) * lo;
                isum += i32::from(sc[base / 16 + 1] & 0xF) * hi;
            }
        }
        sumf += dall * isum as f32 - dmin * summs as f32;
    }
    sumf
}

/// The 16 Q3_K scales (6-bit, stored with an offset of 32) from their 12 packed bytes: low
/// nibbles in bytes 0..8 (scales 0..8 low, 8..16 high), top 2 bits of scale `i` in bits
/// `2 * (i / 4)` of byte `8 + i % 4` (the `kmask1`/`kmask2` shuffle of the C code).
fn q3_k_scales(p: &[u8]) -> [i32; 16] {
    std::array::from_fn(|i| {
        let low = (p[i % 8] >> (4 * (i / 8))) & 0xF;
        let high = (p[8 + i % 4] >> (2 * (i / 4))) & 3;
        i32::from(low | (high << 4)) - 32
    })
}

// block_q3_K: hmask [32] | qs [64] 2-bit | scales [12] | d f16
//   q = crumb - (hmask bit set ? 0 : 4); per 16-element sub-block, scale - 32;
//   d = x.d * y.d
pub(super) fn q3_k_q8_k(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sums = [0f32; 8];
    for (x, y) in w.chunks_exact(110).zip(a.chunks_exact(Q8K)).take(nb) {
        let (hm, q3) = (&x[..32], &x[32..96]);
        let scales = q3_k_scales(&x[96..108]);
        let q8 = q8_quants(y);
        // Element e = 128 h + 32 s + l: bits 2s..2s+2 of q3[32 h + l], high bit 4h + s of hm[l].
        let mut q = [0i8; 256];
        for h in 0..2 {
            for s in 0..4 {
                let base = 128 * h + 32 * s;
                let m = 1u8 << (4 * h + s);
                for l in 0..32 {
                    let low = ((q3[32 * h + l] >> (2 * s)) & 3) as i8;
                    q[base + l] = low - if hm[l] & m != 0 { 0 } else { 4 };
                }
            }
        }
        let mut aux32 = [0i32; 8];
        for (j, &sc) in scales.iter().enumerate() {
            let t = sub_lanes::<16>(&q8[16 * j..], &q[16 * j..]);
            lanes_add(&mut aux32, &t, sc);
        }
        let d = f16_at(x, 108) * f32_at(y, 0);
        lanes_close(&mut sums, &aux32, d);
    }
    lanes_finish(0.0, &sums)
}

/// Scales and mins of the eight 32-element sub-blocks of Q4_K/Q5_K from their 12 packed bytes
/// (the `utmp`/`kmask` shuffle; same as `get_scale_min_k4`): sub-blocks 0..4 in the low 6
/// bits of bytes 0..4 (scale) and 4..8 (min); 4..8 in the nibbles of bytes 8..12 plus the top
/// 2 bits of bytes 0..4 (scale) and 4..8 (min).
fn k4_scales_mins(p: &[u8]) -> ([i32; 8], [i32; 8]) {
    let scales =
        std::array::from_fn(|j| i32::from(if j < 4 { p[j] & 63 } else { (p[j + 4] & 0xF) | ((p[j - 4] >> 6) << 4) }));
    let mins =
        std::array::from_fn(|j| i32::from(if j < 4 { p[j + 4] & 63 } else { (p[j + 4] >> 4) | ((p[j] >> 6) << 4) }));
    (scales, mins)
}

/// Shared tail of Q4_K and Q5_K: `q` holds the block's unsigned quants.
///   sumi = sum_j bsums[j] * min[j / 2];  lanes of scale[j] * q8 * q per 32-element sub-block;
///   sums[l] += (x.d * y.d) * aux32[l];  sumf -= (x.dmin * y.d) * sumi
#[inline(always)]
fn q45_k_block(x: &[u8], y: &[u8], q: &[i8; 256], sums: &mut [f32; 8], sumf: &mut f32) {
    let (scales, mins) = k4_scales_mins(&x[4..16]);
    let q8 = q8_quants(y);
    let mut sumi = 0i32;
    for j in 0..16 {
        sumi += bsum(y, j) * mins[j / 2];
    }
    let mut aux32 = [0i32; 8];
    for (j, &sc) in scales.iter().enumerate() {
        let t = sub_lanes::<32>(&q8[32 * j..], &q[32 * j..]);
        lanes_add(&mut aux32, &t, sc);
    }
    let dy = f32_at(y, 0);
    lanes_close(sums, &aux32, f16_at(x, 0) * dy);
    let dmin = f16_at(x, 2) * dy;
    *sumf -= dmin * sumi as f32;
}

// block_q4_K: d f16 | dmin f16 | scales [12] | qs [128] 4-bit
pub(super) fn q4_k_q8_k(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let (mut sums, mut sumf) = ([0f32; 8], 0f32);
    for (x, y) in w.chunks_exact(144).zip(a.chunks_exact(Q8K)).take(nb) {
        let q4 = &x[16..144];
        // Element 64 p + l (l < 32) is the low nibble of q4[32 p + l], 64 p + 32 + l the high.
        let mut q = [0i8; 256];
        for p in 0..4 {
            for l in 0..32 {
                q[64 * p + l] = (q4[32 * p + l] & 0xF) as i8;
                q[64 * p + 32 + l] = (q4[32 * p + l] >> 4) as i8;
            }
        }
        q45_k_block(x, y, &q, &mut sums, &mut sumf);
    }
    lanes_finish(sumf, &sums)
}

// block_q5_K: d f16 | dmin f16 | scales [12] | qh [32] | qs [128] 4-bit
//   element e adds 16 where bit e / 32 of qh[e % 32] is set
pub(super) fn q5_k_q8_k(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let (mut sums, mut sumf) = ([0f32; 8], 0f32);
    for (x, y) in w.chunks_exact(176).zip(a.chunks_exact(Q8K)).take(nb) {
        let (qh, q4) = (&x[16..48], &x[48..176]);
        let mut q = [0i8; 256];
        for p in 0..4 {
            let (m0, m1) = (1u8 << (2 * p), 1u8 << (2 * p + 1));
            for l in 0..32 {
                let h0 = if qh[l] & m0 != 0 { 16 } else { 0 };
                let h1 = if qh[l] & m1 != 0 { 16 } else { 0 };
                q[64 * p + l] = ((q4[32 * p + l] & 0xF) + h0) as i8;
                q[64 * p + 32 + l] = ((q4[32 * p + l] >> 4) + h1) as i8;
            }
        }
        q45_k_block(x, y, &q, &mut sums, &mut sumf);
    }
    lanes_finish(sumf, &sums)
}

// block_q6_K: ql [128] low 4 bits | qh [64] high 2 bits | scales [16] i8 | d f16
//   q = (low | high << 4) - 32; per 16-element sub-block, the i8 scale; d = x.d * y.d
pub(super) fn q6_k_q8_k(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sums = [0f32; 8];
    for (x, y) in w.chunks_exact(210).zip(a.chunks_exact(Q8K)).take(nb) {
        let (ql, qh, sc) = (&x[..128], &x[128..192], &x[192..208]);
        let q8 = q8_quants(y);
        let mut q = [0i8; 256];
        for h in 0..2 {
            let (ql, qh, base) = (&ql[64 * h..64 * h + 64], &qh[32 * h..32 * h + 32], 128 * h);
            for l in 0..32 {
                let hb = qh[l];
                q[base + l] = ((ql[l] & 0xF) | ((hb & 3) << 4)) as i8 - 32;
                q[base + 32 + l] = ((ql[l + 32] & 0xF) | (((hb >> 2) & 3) << 4)) as i8 - 32;
                q[base + 64 + l] = ((ql[l] >> 4) | (((hb >> 4) & 3) << 4)) as i8 - 32;
                q[base + 96 + l] = ((ql[l + 32] >> 4) | (((hb >> 6) & 3) << 4)) as i8 - 32;
            }
        }
        let mut aux32 = [0i32; 8];
        for (j, &s) in sc.iter().enumerate() {
            let t = sub_lanes::<16>(&q8[16 * j..], &q[16 * j..]);
            lanes_add(&mut aux32, &t, i32::from(s as i8));
        }
        let d = f16_at(x, 208) * f32_at(y, 0);
        lanes_close(&mut sums, &aux32, d);
    }
    lanes_finish(0.0, &sums)
}
