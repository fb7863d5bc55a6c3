//! AVX-512 (F/BW/VL/VNNI) kernels for the most used types: two 32-element blocks, or 64
//! elements of a K-quant super-block, per 512-bit register.
//!
//! The integer work is exact as in the AVX2 kernels, with VNNI's `vpdpbusd` (u8 x i8, four
//! products into an i32, no saturation) in place of `maddubs` + `madd`, and `vpdpwssd` to apply
//! the K-quant sub-block scales to the `maddubs` pair sums. Per-block scale products are the
//! scalar ones again. Types without a kernel here use the AVX2 ones (for Q4_1 and Q5_1 a
//! 512-bit version measured no faster: their four scale fields per block dominate).

use core::arch::x86_64::*;

use gguf::GgmlType;

use super::super::{DotKernel, Path};
use super::kquants::k4_prologue;
use super::{hsum_i32, hsum_i32x4, hsum_ps, load128, load256, rd_f16, rd_f32, rd_u16, rd_u32, safe_kernels};

/// i32 lanes summing to `sum(u[i] * y[i])`: `u` unsigned bytes, `y` signed.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
fn dot_u8(u: __m512i, y: __m512i) -> __m512i {
    _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, y)
}

/// i32 lanes summing to `sum((u[i] - off) * y[i])`, `u` unsigned bytes: the offset comes off
/// through a second dot with `off` in every byte.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
fn dot_u8_off(u: __m512i, y: __m512i, off: u8) -> __m512i {
    _mm512_sub_epi32(dot_u8(u, y), dot_u8(_mm512_set1_epi8(off as i8), y))
}

/// 64 bytes at `p`.
///
/// Safety: `p..p + 64` is readable; AVX-512F is available.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn load512(p: *const u8) -> __m512i {
    _mm512_loadu_si512(p.cast())
}

/// 32 bytes at `p0` in the low half, 32 at `p1` in the high half.
///
/// Safety: both ranges are readable; AVX-512F is available.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn load2x256(p0: *const u8, p1: *const u8) -> __m512i {
    _mm512_inserti64x4::<1>(_mm512_castsi256_si512(load256(p0)), load256(p1))
}

/// The 32 nibbles of each of two 16-byte `qs` (at `p0`, `p1`), in element order: block 0's low
/// nibbles, its high nibbles, then block 1's.
///
/// Safety: both ranges are readable; AVX-512F/BW are available.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn nibbles2(p0: *const u8, p1: *const u8) -> __m512i {
    let q = _mm512_inserti32x4::<2>(_mm512_castsi128_si512(load128(p0)), load128(p1));
    // [qs0, qs0, qs1, qs1], then the copies in 128-bit lanes 1 and 3 shifted down a nibble.
    let q = _mm512_shuffle_i64x2::<0b10_10_00_00>(q, q);
    let q = _mm512_mask_srli_epi16::<4>(q, 0xFF00_FF00, q);
    _mm512_and_si512(q, _mm512_set1_epi8(0x0F))
}

/// The 64-bit mask of two blocks' 32 high bits (Q5_0 `qh`): bit j of the u32 at `p0`,
/// then of the u32 at `p1`, one per element.
///
/// Safety: both u32 are readable.
#[inline(always)]
unsafe fn qh2(p0: *const u8, p1: *const u8) -> u64 {
    u64::from(rd_u32(p0)) | (u64::from(rd_u32(p1)) << 32)
}

/// `q` with 16 added to the bytes whose bit is set in `k`.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
fn add16_where(q: __m512i, k: u64) -> __m512i {
    _mm512_mask_add_epi8(q, _cvtu64_mask64(k), q, _mm512_set1_epi8(16))
}

/// Four vectors, each with block `2k` in i32 lanes 0..8 and block `2k + 1` in 8..16, in; the
/// eight block sums out, in lane order [0, 2, 4, 6, 1, 3, 5, 7] (see [`ORDER`]).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
fn reduce_pairs(v: &[__m512i; 4]) -> __m256i {
    // Per 128-bit lane L: t01 = [v0 0+2, v1 0+2, v0 1+3, v1 1+3], then u = the lane sums
    // [v0, v1, v2, v3] of lane L; lanes 0 + 1 are the even blocks, 2 + 3 the odd ones.
    let t01 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[0], v[1]), _mm512_unpackhi_epi32(v[0], v[1]));
    let t23 = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2], v[3]), _mm512_unpackhi_epi32(v[2], v[3]));
    let u = _mm512_add_epi32(_mm512_unpacklo_epi64(t01, t23), _mm512_unpackhi_epi64(t01, t23));
    let w = _mm512_add_epi32(u, _mm512_shuffle_i64x2::<0b10_11_00_01>(u, u));
    _mm512_castsi512_si256(_mm512_shuffle_i64x2::<0b00_00_10_00>(w, w))
}

/// The block (relative to the first of eight) of each f32 lane after [`reduce_pairs`].
const ORDER: [usize; 8] = [0, 2, 4, 6, 1, 3, 5, 7];

/// As `super::f16x8`, in [`ORDER`]: lane k holds the field of block `ORDER[k]` (zero where that
/// is `n` or more).
///
/// Safety: the `n` fields are readable; F16C and AVX are available.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn f16x8(p: *const u8, stride: usize, n: usize) -> __m256 {
    // Four halves to a u64 in general-purpose registers, then two moves into the vector unit:
    // cheaper for the vector ports than eight word inserts.
    let r = |k: usize| if k < n { u64::from(rd_u16(p.add(k * stride))) } else { 0 };
    let four = |o: &[usize]| (r(o[0]) | (r(o[1]) << 16) | (r(o[2]) << 32) | (r(o[3]) << 48)) as i64;
    _mm256_cvtph_ps(_mm_set_epi64x(four(&ORDER[4..]), four(&ORDER[..4])))
}

/// As `super::blocks8`, two blocks per register: `pair(i, j)` gives i32 lanes 0..8 summing to
/// block `i`'s integer dot and 8..16 to block `j`'s; `scale(i, n, sumi)` the f32 results of
/// blocks `i..i + n` with lanes in [`ORDER`] (lanes of blocks from `n` on come out zero).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
fn pairs8(nb: usize, pair: impl Fn(usize, usize) -> __m512i, scale: impl Fn(usize, usize, __m256) -> __m256) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= nb {
        let v = [pair(i, i + 1), pair(i + 2, i + 3), pair(i + 4, i + 5), pair(i + 6, i + 7)];
        acc = _mm256_add_ps(acc, scale(i, 8, _mm256_cvtepi32_ps(reduce_pairs(&v))));
        i += 8;
    }
    if i + 4 <= nb {
        // Four blocks (28 = 3 * 8 + 4 per row of 896): a group of its own, its size known here.
        let v = [pair(i, i + 1), pair(i + 2, i + 3), _mm512_setzero_si512(), _mm512_setzero_si512()];
        acc = _mm256_add_ps(acc, scale(i, 4, _mm256_cvtepi32_ps(reduce_pairs(&v))));
        i += 4;
    }
    if i < nb {
        let n = nb - i;
        let mut v = [_mm512_setzero_si512(); 4];
        for (k, v) in v.iter_mut().enumerate().take(n.div_ceil(2)) {
            let b = i + 2 * k;
            // A lone last block is read twice and its copy's lanes dropped.
            *v = if b + 1 < nb { pair(b, b + 1) } else { _mm512_maskz_mov_epi32(0x00FF, pair(b, b)) };
        }
        acc = _mm256_add_ps(acc, scale(i, n, _mm256_cvtepi32_ps(reduce_pairs(&v))));
    }
    hsum_ps(acc)
}

// block_q4_0 x block_q8_0: block = sumi * dx * dy, quants nibble - 8.
/// Safety: the features above are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q4_0_q8_0(w: *const u8, a: *const u8, nb: usize) -> f32 {
    pairs8(
        nb,
        |i, j| {
            let u = nibbles2(w.add(18 * i + 2), w.add(18 * j + 2));
            dot_u8_off(u, load2x256(a.add(34 * i + 2), a.add(34 * j + 2)), 8)
        },
        |i, n, s| _mm256_mul_ps(_mm256_mul_ps(s, f16x8(w.add(18 * i), 18, n)), f16x8(a.add(34 * i), 34, n)),
    )
}

// block_q5_0 x block_q8_0: llama.cpp's lanes (see `lanes16`), quants (nibble | bit << 4) - 16.
/// Safety: the features above are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q5_0_q8_0(w: *const u8, a: *const u8, nb: usize) -> f32 {
    lanes16(
        nb,
        |i, j| {
            let (x0, x1) = (w.add(22 * i), w.add(22 * j));
            let u = add16_where(nibbles2(x0.add(6), x1.add(6)), qh2(x0.add(2), x1.add(2)));
            dot_u8_off(u, load2x256(a.add(34 * i + 2), a.add(34 * j + 2)), 16)
        },
        |i, n| _mm256_mul_ps(super::f16x8(w.add(22 * i), 22, n), super::f16x8(a.add(34 * i), 34, n)),
    )
}

// block_q8_0 x block_q8_0: llama.cpp's lanes. |x| (exact as u8 even for -128) times y negated
// where x < 0; y must not be -128 (`quantize_row` never writes it).
/// Safety: the features above are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q8_0_q8_0(w: *const u8, a: *const u8, nb: usize) -> f32 {
    lanes16(
        nb,
        |i, j| {
            let x = load2x256(w.add(34 * i + 2), w.add(34 * j + 2));
            let y = load2x256(a.add(34 * i + 2), a.add(34 * j + 2));
            let sy = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(x), _mm512_setzero_si512(), y);
            dot_u8(_mm512_abs_epi8(x), sy)
        },
        |i, n| _mm256_mul_ps(super::f16x8(w.add(34 * i), 34, n), super::f16x8(a.add(34 * i), 34, n)),
    )
}

/// llama.cpp's x86 Q5_0 / Q8_0 arithmetic (the AVX2 `lanes8`), two blocks per register:
/// `pair(i, j)` gives block i's eight i32 lanes (lane k: elements 4k..4k+4) then block j's,
/// `d(i, n)` the scale products `dx * dy` of blocks `i..i + n` (n <= 8); each lane accumulates
/// `fma(d, lane, acc)` block by block.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
fn lanes16(nb: usize, pair: impl Fn(usize, usize) -> __m512i, d: impl Fn(usize, usize) -> __m256) -> f32 {
    let mut acc = _mm256_setzero_ps();
    super::legacy::by_eight(nb, d, |i, ds| {
        for k in (0..ds.len()).step_by(2) {
            // A lone last block is read twice and its copy dropped.
            let b = i + k;
            let s = _mm512_cvtepi32_ps(pair(b, (b + 1).min(nb - 1)));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(ds[k]), _mm512_castps512_ps256(s), acc);
            if k + 1 < ds.len() {
                let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(s)));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(ds[k + 1]), hi, acc);
            }
        }
    });
    hsum_ps(acc)
}

// block_iq4_nl x block_q8_0: block = (dy * dx) * sumi. The table holds level + 128 (1..=241,
// unsigned), the 128 * sum(y) coming off afterwards.
/// Safety: the features above are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn iq4_nl_q8_0(w: *const u8, a: *const u8, nb: usize) -> f32 {
    const LEVELS: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
    let biased = LEVELS.map(|l| (i16::from(l) + 128) as u8);
    // SAFETY: `biased` is 16 readable bytes.
    let lut = _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(biased.as_ptr().cast()) });
    pairs8(
        nb,
        |i, j| {
            let u = _mm512_shuffle_epi8(lut, nibbles2(w.add(18 * i + 2), w.add(18 * j + 2)));
            dot_u8_off(u, load2x256(a.add(34 * i + 2), a.add(34 * j + 2)), 128)
        },
        |i, n, s| _mm256_mul_ps(_mm256_mul_ps(f16x8(a.add(34 * i), 34, n), f16x8(w.add(18 * i), 18, n)), s),
    )
}

/// `vpermw` indexes for sub-block scales: i16 lane m takes scale `first + m / group`, with
/// `group` 8 (16-element sub-blocks, one per 128-bit lane) or 16 (32-element ones, one per
/// 256-bit half).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
fn scale_index(first: usize, group: usize) -> __m512i {
    // 64-bit lane k holds i16 lanes 4k..4k + 4, all taking scale first + 4k / group.
    let q = |k: usize| 0x0001_0001_0001_0001 * (first + 4 * k / group) as i64;
    _mm512_set_epi64(q(7), q(6), q(5), q(4), q(3), q(2), q(1), q(0))
}

/// `acc + scale * maddubs(u, q8)` with the scales per i16 lane: exact (pair sums within i16,
/// see the AVX2 kernels).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
fn scaled_dot(acc: __m512i, u: __m512i, q8: __m512i, scales: __m512i) -> __m512i {
    _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(u, q8), scales)
}

/// Bytes of a Q8_K block; its quants start at byte 4, its 16 i16 `bsums` at byte 260.
const Q8K: usize = 292;

// block_q4_K / block_q5_K (see the AVX2 kernels): 64 elements (two 32-element sub-blocks) per
// register; Q5_K adds 16 where its high bit is set. Q4_K rounds as the AVX2 kernel on the same
// path: per super-block, or per 64 elements (`PER64`, llama.cpp's repacked GEMM).
/// Safety: the features above are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn q45_k<const Q5: bool, const PER64: bool>(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let (bytes, qs_at) = if Q5 { (176, 48) } else { (144, 16) };
    // Q5_K subtracts its mins from `sumf` as it goes; Q4_K keeps them apart until the end.
    let (mut sumf, mut mins) = (0f32, 0f32);
    for i in 0..nb {
        let (x, y) = (w.add(bytes * i), a.add(Q8K * i));
        let (quarter_mins, scales) = k4_prologue(x.add(4), y);
        let summins = hsum_i32x4(quarter_mins);
        let quarter_mins: [i32; 4] = core::mem::transmute(quarter_mins);
        let scales = _mm512_castsi256_si512(scales);
        let dy = rd_f32(y);
        let (d, dmin) = (rd_f16(x) * dy, rd_f16(x.add(2)) * dy);
        // qh in both halves; bit 2p (elements 64 p + l) and 2p + 1 (64 p + 32 + l) of qh[l].
        let qh = if Q5 { _mm512_broadcast_i64x4(load256(x.add(16))) } else { _mm512_setzero_si512() };
        let mut acc = _mm512_setzero_si512();
        for half in 0..2 {
            // Bytes 32 p + l of qs hold elements 64 p + l (low nibble) and 64 p + 32 + l.
            let z = load512(x.add(qs_at + 64 * half));
            let lo = _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
            let hi = _mm512_and_si512(_mm512_srli_epi16::<4>(z), _mm512_set1_epi8(0x0F));
            let u = [_mm512_shuffle_i64x2::<0b01_00_01_00>(lo, hi), _mm512_shuffle_i64x2::<0b11_10_11_10>(lo, hi)];
            for (k, &u) in u.iter().enumerate() {
                let p = 2 * half + k;
                let u = if Q5 {
                    let bits = _mm512_inserti64x4::<1>(
                        _mm512_castsi256_si512(_mm256_set1_epi8((1u8 << (2 * p)) as i8)),
                        _mm256_set1_epi8((1u8 << (2 * p + 1)) as i8),
                    );
                    _mm512_mask_add_epi8(u, _mm512_test_epi8_mask(qh, bits), u, _mm512_set1_epi8(16))
                } else {
                    u
                };
                let sc = _mm512_permutexvar_epi16(scale_index(2 * p, 16), scales);
                if PER64 {
                    let quarter =
                        _mm512_reduce_add_epi32(scaled_dot(_mm512_setzero_si512(), u, load512(y.add(4 + 64 * p)), sc));
                    sumf = (quarter as f32).mul_add(d, sumf);
                    mins = (quarter_mins[p] as f32).mul_add(dmin, mins);
                } else {
                    acc = scaled_dot(acc, u, load512(y.add(4 + 64 * p)), sc);
                }
            }
        }
        if Q5 {
            sumf += d * _mm512_reduce_add_epi32(acc) as f32;
            sumf -= dmin * summins as f32;
        } else if !PER64 {
            // The repacked Q4_K arithmetic of llama.cpp (see the AVX2 kernel).
            sumf = (_mm512_reduce_add_epi32(acc) as f32).mul_add(d, sumf);
            mins = (summins as f32).mul_add(dmin, mins);
        }
    }
    sumf - mins
}

/// Safety: as [`q45_k`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q4_k_q8_k(w: *const u8, a: *const u8, nb: usize) -> f32 {
    q45_k::<false, false>(w, a, nb)
}

/// Safety: as [`q45_k`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q4_k_q8_k_per64(w: *const u8, a: *const u8, nb: usize) -> f32 {
    q45_k::<false, true>(w, a, nb)
}

/// Safety: as [`q45_k`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q5_k_q8_k(w: *const u8, a: *const u8, nb: usize) -> f32 {
    q45_k::<true, false>(w, a, nb)
}

// block_q6_K (see the AVX2 kernel): 64 elements (four 16-element sub-blocks) per register. An
// i32 lane j holds elements 4 j .. 4 j + 4 of a 64-element run, so the AVX2 kernel's lane l is
// lanes l and l + 8 here; both paths round as that kernel does.
/// Safety: the features above are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
#[inline]
unsafe fn q6_k<const TILED: bool>(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let (mut lanes, mut sumf) = (_mm256_setzero_ps(), 0f32);
    for i in 0..nb {
        let (x, y) = (w.add(210 * i), a.add(Q8K * i));
        let scales16 = _mm256_cvtepi8_epi16(load128(x.add(192)));
        let offset = _mm256_slli_epi32::<5>(_mm256_madd_epi16(load256(y.add(260)), scales16));
        let scales = _mm512_castsi256_si512(scales16);
        let mut acc = _mm512_setzero_si512();
        for h in 0..2 {
            // Elements 128 h + l (l < 64): low nibble of ql[64 h + l], bits 2 (l / 32) .. + 2
            // of qh[32 h + l % 32]; elements 128 h + 64 + l: the high nibble, bits 4 + ...
            let ql = load512(x.add(64 * h));
            let qh = load256(x.add(128 + 32 * h));
            let qh = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(qh), _mm256_srli_epi16::<2>(qh));
            let m = |v: u8| _mm512_set1_epi8(v as i8);
            let u = [
                _mm512_or_si512(_mm512_and_si512(ql, m(0x0F)), _mm512_slli_epi16::<4>(_mm512_and_si512(qh, m(0x03)))),
                _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16::<4>(ql), m(0x0F)), _mm512_and_si512(qh, m(0x30))),
            ];
            for (k, &u) in u.iter().enumerate() {
                let e = 128 * h + 64 * k;
                let sc = _mm512_permutexvar_epi16(scale_index(e / 16, 8), scales);
                acc = scaled_dot(acc, u, load512(y.add(4 + e)), sc);
            }
        }
        let (dx, dy) = (rd_f16(x.add(208)), rd_f32(y));
        if TILED {
            let isum = _mm512_reduce_add_epi32(acc) - hsum_i32(offset);
            sumf = (isum as f32 * dx).mul_add(dy, sumf);
        } else {
            let eight = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64::<1>(acc));
            let eight = _mm256_sub_epi32(eight, offset);
            lanes = _mm256_fmadd_ps(_mm256_set1_ps(dy * dx), _mm256_cvtepi32_ps(eight), lanes);
        }
    }
    if TILED {
        sumf
    } else {
        hsum_ps(lanes)
    }
}

/// Safety: as [`q6_k`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q6_k_q8_k(w: *const u8, a: *const u8, nb: usize) -> f32 {
    q6_k::<false>(w, a, nb)
}

/// Safety: as [`q6_k`].
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn q6_k_q8_k_tiled(w: *const u8, a: *const u8, nb: usize) -> f32 {
    q6_k::<true>(w, a, nb)
}

mod safe {
    use super::safe_kernels;

    safe_kernels!("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni", super: q4_0_q8_0(18, 34),
        q5_0_q8_0(22, 34), q8_0_q8_0(34, 34), iq4_nl_q8_0(18, 34), q4_k_q8_k(144, 292),
        q4_k_q8_k_per64(144, 292), q5_k_q8_k(176, 292), q6_k_q8_k(210, 292), q6_k_q8_k_tiled(210, 292));
}

/// The AVX-512 kernel for `weight`, if there is one.
pub(super) fn kernel(weight: GgmlType, path: Path) -> Option<DotKernel> {
    use safe::*;
    use GgmlType::*;
    Some(match (weight, path) {
        (Q4_0, _) => q4_0_q8_0,
        (Q5_0, _) => q5_0_q8_0,
        (Q8_0, _) => q8_0_q8_0,
        (IQ4_NL, _) => iq4_nl_q8_0,
        (Q4_K, Path::Single) => q4_k_q8_k,
        (Q4_K, Path::Batched) => q4_k_q8_k_per64,
        (Q5_K, _) => q5_k_q8_k,
        (Q6_K, Path::Single) => q6_k_q8_k,
        (Q6_K, Path::Batched) => q6_k_q8_k_tiled,
        _ => return None,
    })
}
