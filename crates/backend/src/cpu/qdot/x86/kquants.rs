//! AVX2 kernels for the K-quants against Q8_K (scalar twins in `qdot/kquants.rs`).
//!
//! Per super-block the whole integer sum `sum_j scale_j * dot_j` is formed exactly in i32
//! lanes (`maddubs` of unsigned quants with the Q8_K bytes, then `madd` with the sub-block
//! scale); offsets are taken out through the Q8_K `bsums` instead of per element: Q6_K's -32
//! and Q3_K's -4 become `32 * sum_j scale_j * bsum_j` (resp. 4 *), the Q4_K/Q5_K/Q2_K mins are
//! `sum_j min_j * bsum_j` as in the scalar code. The f32 steps are those of llama.cpp's x86
//! kernels: for Q4_K and Q6_K on each [`Path`](super::super::Path) (see the kernels), for the
//! others the scalar kernel's `d * isum` (and `dmin * mins`) per super-block, which the scalar
//! code splits into eight lane products, a difference of rounding.
//!
//! Ranges: quants at most 63 (unsigned) times |q8| <= 128 keep each `maddubs` pair within
//! 2 * 63 * 128 < 2^15; every i32 sum stays far below 2^31.

use core::arch::x86_64::*;

use super::{hsum_i32, hsum_i32x4, hsum_ps, load128, load256, rd_f16, rd_f32, rd_u32};

/// Bytes of a Q8_K block; its quants start at byte 4, its 16 i16 `bsums` at byte 260.
const Q8K: usize = 292;

/// 0x0F in every byte.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn low4() -> __m256i {
    _mm256_set1_epi8(0x0F)
}

/// `pshufb` indexes that put i16 lane `lo` of a 128-bit half in every i16 lane of the low half
/// and i16 lane `hi` in every lane of the high half.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn splat_i16_mask(lo: usize, hi: usize) -> __m256i {
    let pair = |e: usize| (((2 * e + 1) << 8) | (2 * e)) as i16;
    _mm256_set_m128i(_mm_set1_epi16(pair(hi)), _mm_set1_epi16(pair(lo)))
}

/// For the 16-element sub-blocks of Q2_K, Q3_K and Q6_K: from 16 i16 scales, the i16 lanes
/// that multiply the `maddubs` result of 32-element chunk `c` (sub-blocks `2c`, `2c + 1`):
/// scale `2c` in the low half, `2c + 1` in the high half.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn chunk_scales(scales: __m256i, c: usize) -> __m256i {
    // Both halves holding scales 0..8 (c < 4) or 8..16, then a per-half splat.
    let src = if c < 4 {
        _mm256_permute4x64_epi64::<0b01_00_01_00>(scales)
    } else {
        _mm256_permute4x64_epi64::<0b11_10_11_10>(scales)
    };
    _mm256_shuffle_epi8(src, splat_i16_mask((2 * c) % 8, (2 * c + 1) % 8))
}

/// `sum(scale * maddubs(u, q8))` lanes for one 32-element chunk.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn scaled_dot(u: __m256i, q8: __m256i, scale: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, q8), scale)
}

// block_q2_K: scales [16] (low nibble scale, high nibble min) | qs [64] | d f16 | dmin f16
//   sumf += dall * isum - dmin * summs, dall = y.d * d, dmin = y.d * dmin
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q2_k_q8_k(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let mut sumf = 0f32;
    for i in 0..nb {
        let (x, y) = (w.add(84 * i), a.add(Q8K * i));
        let sc = load128(x);
        let scales = _mm256_cvtepu8_epi16(_mm_and_si128(sc, _mm_set1_epi8(0x0F)));
        let mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16::<4>(sc), _mm_set1_epi8(0x0F)));
        let summs = hsum_i32(_mm256_madd_epi16(load256(y.add(260)), mins));
        // Element 128 h + 32 s + l: bits 2s..2s+2 of qs[32 h + l]; chunk c = 4 h + s.
        let mut acc = _mm256_setzero_si256();
        for h in 0..2 {
            let mut q = load256(x.add(16 + 32 * h));
            for s in 0..4 {
                let c = 4 * h + s;
                let u = _mm256_and_si256(q, _mm256_set1_epi8(3));
                q = _mm256_srli_epi16::<2>(q);
                acc = _mm256_add_epi32(acc, scaled_dot(u, load256(y.add(4 + 32 * c)), chunk_scales(scales, c)));
            }
        }
        let isum = hsum_i32(acc);
        let dy = rd_f32(y);
        let dall = dy * rd_f16(x.add(80));
        let dmin = dy * rd_f16(x.add(82));
        sumf += dall * isum as f32 - dmin * summs as f32;
    }
    sumf
}

/// The 16 Q3_K scales, still offset by 32 (0..64), as bytes of four u32 from their 12 packed
/// bytes: scale `i` has its low nibble in byte `i % 8` (nibble `i / 8`) and its top two bits
/// at bit `2 * (i / 4)` of byte `8 + i % 4`.
#[inline(always)]
fn q3_k_scales(w0: u32, w1: u32, w2: u32) -> [u32; 4] {
    let at = |low: u32, sh: u32| (low & 0x0F0F_0F0F) | (((w2 >> sh) & 0x0303_0303) << 4);
    [at(w0, 0), at(w1, 2), at(w0 >> 4, 4), at(w1 >> 4, 6)]
}

// block_q3_K: hmask [32] | qs [64] | scales [12] | d f16
//   q = low2 - (hmask bit set ? 0 : 4) = u - 4 with u = low2 + 4 * bit in 0..8;
//   isum = sum_j scale_j * (dot(u) - 4 * bsum_j);  sums += (x.d * y.d) * isum
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q3_k_q8_k(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let mut sumf = 0f32;
    for i in 0..nb {
        let (x, y) = (w.add(110 * i), a.add(Q8K * i));
        let p = x.add(96);
        let s = q3_k_scales(rd_u32(p), rd_u32(p.add(4)), rd_u32(p.add(8)));
        let s8 = _mm_setr_epi32(s[0] as i32, s[1] as i32, s[2] as i32, s[3] as i32);
        let scales = _mm256_cvtepi8_epi16(_mm_sub_epi8(s8, _mm_set1_epi8(32)));
        let offset = _mm256_madd_epi16(load256(y.add(260)), scales);
        let mut acc = _mm256_slli_epi32::<2>(_mm256_sub_epi32(_mm256_setzero_si256(), offset));
        // Element 128 h + 32 s + l: bits 2s..2s+2 of qs[32 h + l], high bit 4 h + s of hmask[l].
        let mut hb = load256(x);
        for h in 0..2 {
            let mut q = load256(x.add(32 + 32 * h));
            for s in 0..4 {
                let c = 4 * h + s;
                let low = _mm256_and_si256(q, _mm256_set1_epi8(3));
                q = _mm256_srli_epi16::<2>(q);
                let high = _mm256_and_si256(_mm256_slli_epi16::<2>(hb), _mm256_set1_epi8(4));
                hb = _mm256_srli_epi16::<1>(hb);
                let u = _mm256_or_si256(low, high);
                acc = _mm256_add_epi32(acc, scaled_dot(u, load256(y.add(4 + 32 * c)), chunk_scales(scales, c)));
            }
        }
        let d = rd_f16(x.add(108)) * rd_f32(y);
        sumf += d * hsum_i32(acc) as f32;
    }
    sumf
}

/// Scales and mins (8 bytes each, as u64) of the eight 32-element sub-blocks of Q4_K/Q5_K
/// from their 12 packed bytes: sub-blocks 0..4 in the low 6 bits of bytes 0..4 (scale) and
/// 4..8 (min); 4..8 in the nibbles of bytes 8..12, with their top 2 bits from the top 2 bits
/// of bytes 0..4 (scale) and 4..8 (min).
#[inline(always)]
pub(super) fn k4_scales_mins(w0: u32, w1: u32, w2: u32) -> (u64, u64) {
    let m6 = 0x3F3F_3F3F;
    let m4 = 0x0F0F_0F0F;
    let top = 0x3030_3030; // bits 6..8 of each byte, moved down to 4..6
    let sc_hi = (w2 & m4) | ((w0 >> 2) & top);
    let mn_hi = ((w2 >> 4) & m4) | ((w1 >> 2) & top);
    (u64::from(w0 & m6) | (u64::from(sc_hi) << 32), u64::from(w1 & m6) | (u64::from(mn_hi) << 32))
}

/// The shared part of Q4_K and Q5_K: the mins sums `sum_j bsum_j * min_(j / 2)` of each
/// 64-element quarter (lane m: sub-blocks 2m and 2m + 1; their total is the block's) and the
/// scales (as i16, broadcast to both halves) of a block whose 12 scale bytes are at `p`.
///
/// Safety: `p..p + 12` and the Q8_K block at `y` are readable; AVX2 is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) unsafe fn k4_prologue(p: *const u8, y: *const u8) -> (__m128i, __m256i) {
    let (sc, mn) = k4_scales_mins(rd_u32(p), rd_u32(p.add(4)), rd_u32(p.add(8)));
    let mins = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(mn as i64));
    let bsums = load256(y.add(260));
    // bsums 2j and 2j+1 share min j: add them first (|pair| <= 4096 fits i16).
    let pairs = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256::<1>(bsums));
    let summins = _mm_madd_epi16(pairs, mins);
    let scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(sc as i64)));
    (summins, scales)
}

/// i16 lanes all holding scale `j` of a broadcast 8-scale vector.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn splat_scale(scales: __m256i, j: usize) -> __m256i {
    _mm256_shuffle_epi8(scales, splat_i16_mask(j, j))
}

// block_q4_K: d f16 | dmin f16 | scales [12] | qs [128]
//   element 64 p + l (l < 32) is the low nibble of qs[32 p + l], 64 p + 32 + l the high one;
//   the arithmetic of llama.cpp's repacked Q4_K: its GEMV (`Path::Single`) per super-block
//   `sums = fma(isum, x.d * y.d, sums)`, `mins = fma(summins, x.dmin * y.d, mins)`, its GEMM
//   (`Path::Batched`) the same per 64-element quarter; `sums - mins`.
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn q4_k<const PER64: bool>(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let (mut sums, mut mins) = (0f32, 0f32);
    for i in 0..nb {
        let (x, y) = (w.add(144 * i), a.add(Q8K * i));
        let (summins, scales) = k4_prologue(x.add(4), y);
        let dy = rd_f32(y);
        let (d, dmin) = (rd_f16(x) * dy, rd_f16(x.add(2)) * dy);
        let quarter_mins: [i32; 4] = core::mem::transmute(summins);
        let mut acc = _mm256_setzero_si256();
        for (p, &quarter_min) in quarter_mins.iter().enumerate() {
            let q = load256(x.add(16 + 32 * p));
            let lo = _mm256_and_si256(q, low4());
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(q), low4());
            let q8 = y.add(4 + 64 * p);
            let quarter = _mm256_add_epi32(
                scaled_dot(lo, load256(q8), splat_scale(scales, 2 * p)),
                scaled_dot(hi, load256(q8.add(32)), splat_scale(scales, 2 * p + 1)),
            );
            if PER64 {
                sums = (hsum_i32(quarter) as f32).mul_add(d, sums);
                mins = (quarter_min as f32).mul_add(dmin, mins);
            } else {
                acc = _mm256_add_epi32(acc, quarter);
            }
        }
        if !PER64 {
            sums = (hsum_i32(acc) as f32).mul_add(d, sums);
            mins = (hsum_i32x4(summins) as f32).mul_add(dmin, mins);
        }
    }
    sums - mins
}

/// Safety: as [`q4_k`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q4_k_q8_k(w: *const u8, a: *const u8, nb: usize) -> f32 {
    q4_k::<false>(w, a, nb)
}

/// Safety: as [`q4_k`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q4_k_q8_k_per64(w: *const u8, a: *const u8, nb: usize) -> f32 {
    q4_k::<true>(w, a, nb)
}

// block_q5_K: d f16 | dmin f16 | scales [12] | qh [32] | qs [128]
//   as Q4_K, element 64 p + l adding 16 where bit 2p of qh[l] is set, 64 p + 32 + l where
//   bit 2p + 1 is
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q5_k_q8_k(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let mut sumf = 0f32;
    for i in 0..nb {
        let (x, y) = (w.add(176 * i), a.add(Q8K * i));
        let (summins, scales) = k4_prologue(x.add(4), y);
        let summins = hsum_i32x4(summins);
        let mut hb = load256(x.add(16));
        let mut acc = _mm256_setzero_si256();
        for p in 0..4 {
            let q = load256(x.add(48 + 32 * p));
            // Bits 0 and 1 of each byte of hb are bits 2p and 2p + 1 of qh; move them to bit 4.
            let h0 = _mm256_and_si256(_mm256_slli_epi16::<4>(hb), _mm256_set1_epi8(0x10));
            let h1 = _mm256_and_si256(_mm256_slli_epi16::<3>(hb), _mm256_set1_epi8(0x10));
            hb = _mm256_srli_epi16::<2>(hb);
            let lo = _mm256_or_si256(_mm256_and_si256(q, low4()), h0);
            let hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(q), low4()), h1);
            let q8 = y.add(4 + 64 * p);
            acc = _mm256_add_epi32(acc, scaled_dot(lo, load256(q8), splat_scale(scales, 2 * p)));
            acc = _mm256_add_epi32(acc, scaled_dot(hi, load256(q8.add(32)), splat_scale(scales, 2 * p + 1)));
        }
        let dy = rd_f32(y);
        sumf += rd_f16(x) * dy * hsum_i32(acc) as f32;
        sumf -= rd_f16(x.add(2)) * dy * summins as f32;
    }
    sumf
}

// block_q6_K: ql [128] | qh [64] | scales [16] i8 | d f16
//   q = (low4 | high2 << 4) - 32 = u - 32;  isum = sum_j scale_j * (dot(u) - 32 * bsum_j),
//   formed in eight i32 lanes (lane l: elements 4 l .. 4 l + 4 of each 32-element chunk, and
//   sub-blocks 2 l, 2 l + 1 of the offset), the lanes of llama.cpp's AVX2 vec_dot. Its rounding
//   (`Path::Single`): `lanes = fma(y.d * x.d, lane, lanes)` per super-block, then `hsum_ps`; the
//   tiled kernel's (`Path::Batched`): `sumf = fma(isum * x.d, y.d, sumf)`.
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn q6_k<const TILED: bool>(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let (mut lanes, mut sumf) = (_mm256_setzero_ps(), 0f32);
    for i in 0..nb {
        let (x, y) = (w.add(210 * i), a.add(Q8K * i));
        let scales = _mm256_cvtepi8_epi16(load128(x.add(192)));
        let offset = _mm256_madd_epi16(load256(y.add(260)), scales);
        let mut acc = _mm256_slli_epi32::<5>(_mm256_sub_epi32(_mm256_setzero_si256(), offset));
        for h in 0..2 {
            // Elements 128 h + 32 k + l from ql[64 h + l] (k = 0, 2: low, high nibble),
            // ql[64 h + 32 + l] (k = 1, 3), high bits 2k..2k+2 of qh[32 h + l].
            let qa = load256(x.add(64 * h));
            let qb = load256(x.add(64 * h + 32));
            let hb = load256(x.add(128 + 32 * h));
            let m = |v: u8| _mm256_set1_epi8(v as i8);
            let u = [
                _mm256_or_si256(_mm256_and_si256(qa, low4()), _mm256_slli_epi16::<4>(_mm256_and_si256(hb, m(0x03)))),
                _mm256_or_si256(_mm256_and_si256(qb, low4()), _mm256_slli_epi16::<2>(_mm256_and_si256(hb, m(0x0C)))),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16::<4>(qa), low4()), _mm256_and_si256(hb, m(0x30))),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16::<4>(qb), low4()),
                    _mm256_srli_epi16::<2>(_mm256_and_si256(hb, m(0xC0))),
                ),
            ];
            for (k, &u) in u.iter().enumerate() {
                let c = 4 * h + k;
                acc = _mm256_add_epi32(acc, scaled_dot(u, load256(y.add(4 + 32 * c)), chunk_scales(scales, c)));
            }
        }
        let (dx, dy) = (rd_f16(x.add(208)), rd_f32(y));
        if TILED {
            sumf = (hsum_i32(acc) as f32 * dx).mul_add(dy, sumf);
        } else {
            lanes = _mm256_fmadd_ps(_mm256_set1_ps(dy * dx), _mm256_cvtepi32_ps(acc), lanes);
        }
    }
    if TILED {
        sumf
    } else {
        hsum_ps(lanes)
    }
}

/// Safety: as [`q6_k`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q6_k_q8_k(w: *const u8, a: *const u8, nb: usize) -> f32 {
    q6_k::<false>(w, a, nb)
}

/// Safety: as [`q6_k`].
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q6_k_q8_k_tiled(w: *const u8, a: *const u8, nb: usize) -> f32 {
    q6_k::<true>(w, a, nb)
}
