//! AVX2 kernels for the table formats: IQ4_NL and MXFP4 against Q8_0, IQ4_XS against Q8_K
//! (scalar twins in `qdot/iq4.rs` and `qdot/mxfp4.rs`). A 16-entry table of i8 levels sits in
//! each half of a register and `pshufb` maps the nibbles to levels; no level is -128, so the
//! `|y|`-times-signed-level product of [`dot_i8`] is exact.

use core::arch::x86_64::*;

use super::{blocks8, dot_i8, f16x8, load256, nibbles, rd_f16, rd_f32, rd_u16, rd_u32, reduce8};

/// `kvalues_iq4nl` (ggml-common.h).
const IQ4NL: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/// `kvalues_mxfp4` (ggml-common.h): the E2M1 values doubled.
const MXFP4: [i8; 16] = gguf::quants::KVALUES_MXFP4;

/// The table in both halves of a register.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn table(t: &[i8; 16]) -> __m256i {
    // SAFETY: `t` is 16 readable bytes.
    _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(t.as_ptr().cast()) })
}

/// The 32 levels of a 16-byte `qs` at `p` (element order as `nibbles`).
///
/// Safety: `p..p + 16` is readable; AVX2 is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn levels(lut: __m256i, p: *const u8) -> __m256i {
    _mm256_shuffle_epi8(lut, nibbles(p))
}

// block_iq4_nl: d f16 | qs [16]
//   block = (dy * dx) * sumi
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn iq4_nl_q8_0(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let lut = table(&IQ4NL);
    blocks8(
        nb,
        |i| dot_i8(levels(lut, w.add(18 * i + 2)), load256(a.add(34 * i + 2))),
        |i, n, s| _mm256_mul_ps(_mm256_mul_ps(f16x8(a.add(34 * i), 34, n), f16x8(w.add(18 * i), 18, n)), s),
    )
}

/// `GGML_E8M0_TO_FP32_HALF` of the exponent bytes at `p`, `p + stride`, ... of `n` (at most
/// 8) blocks: 2^(e - 128) exactly (subnormal for e < 2). Lanes from `n` on hold 2^-128; their
/// activation scale is zero.
///
/// Safety: the `n` bytes are readable; AVX2 is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn e8m0_half_x8(p: *const u8, stride: usize, n: usize) -> __m256 {
    let r = |k: usize| if k < n { i32::from(*p.add(k * stride)) } else { 0 };
    let e = _mm256_setr_epi32(r(0), r(1), r(2), r(3), r(4), r(5), r(6), r(7));
    let normal = _mm256_slli_epi32::<23>(_mm256_sub_epi32(e, _mm256_set1_epi32(1)));
    let subnormal = _mm256_sllv_epi32(_mm256_set1_epi32(0x0020_0000), e);
    let small = _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e);
    _mm256_castsi256_ps(_mm256_blendv_epi8(normal, subnormal, small))
}

// block_mxfp4: e u8 | qs [16]
//   block = (dy * 2^(e - 128)) * sumi
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn mxfp4_q8_0(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let lut = table(&MXFP4);
    blocks8(
        nb,
        |i| dot_i8(levels(lut, w.add(17 * i + 1)), load256(a.add(34 * i + 2))),
        |i, n, s| _mm256_mul_ps(_mm256_mul_ps(f16x8(a.add(34 * i), 34, n), e8m0_half_x8(w.add(17 * i), 17, n)), s),
    )
}

// block_iq4_xs: d f16 | scales_h u16 | scales_l [4] | qs [128]
//   sub-block ib (32 elements, qs[16 ib..16 ib + 16]) has the 6-bit scale
//   (nibble ib % 2 of scales_l[ib / 2]) | (bits 2 ib..2 ib + 2 of scales_h) << 4;
//   per sub-block: sumf += (x.d * y.d * (ls - 32)) * sumi
/// The eight sub-block products are formed in f32 lanes exactly as the scalar code forms each.
///
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn iq4_xs_q8_k(w: *const u8, a: *const u8, nb: usize) -> f32 {
    let lut = table(&IQ4NL);
    let mut acc = _mm256_setzero_ps();
    for i in 0..nb {
        let (x, y) = (w.add(136 * i), a.add(292 * i));
        let d4d8 = rd_f16(x) * rd_f32(y);
        // Scales: low nibbles of scales_l interleaved (ib even: low nibble), then the high
        // crumbs of scales_h by a variable shift per lane.
        let sl = rd_u32(x.add(4));
        let low = _mm_unpacklo_epi8(
            _mm_cvtsi32_si128((sl & 0x0F0F_0F0F) as i32),
            _mm_cvtsi32_si128(((sl >> 4) & 0x0F0F_0F0F) as i32),
        );
        let high = _mm256_srlv_epi32(
            _mm256_set1_epi32(i32::from(rd_u16(x.add(2)))),
            _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14),
        );
        let high = _mm256_slli_epi32::<4>(_mm256_and_si256(high, _mm256_set1_epi32(3)));
        let ls = _mm256_sub_epi32(_mm256_or_si256(_mm256_cvtepu8_epi32(low), high), _mm256_set1_epi32(32));
        let dl = _mm256_mul_ps(_mm256_set1_ps(d4d8), _mm256_cvtepi32_ps(ls));
        let sub = |ib: usize| dot_i8(levels(lut, x.add(8 + 16 * ib)), load256(y.add(4 + 32 * ib)));
        let s = [sub(0), sub(1), sub(2), sub(3), sub(4), sub(5), sub(6), sub(7)];
        acc = _mm256_add_ps(acc, _mm256_mul_ps(dl, _mm256_cvtepi32_ps(reduce8(&s))));
    }
    super::hsum_ps(acc)
}
