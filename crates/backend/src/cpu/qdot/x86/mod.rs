//! x86-64 SIMD versions of the dot kernels, picked at run time: AVX2 (+FMA, F16C) for every
//! type the scalar table handles, AVX-512 (F/BW/VL/VNNI) for the most used ones.
//!
//! Every kernel computes the same integer sums as its scalar twin in the parent module, exactly,
//! and from them the same f32 scale products: per 32-element block for the legacy and table
//! formats (`sumi * dx * dy` and so on, in the C expression's order), per super-block for the
//! K-quants (`(x.d * y.d) * isum`, where the scalar code splits `isum` into eight lanes before
//! that product: a difference of rounding; Q4_K and Q6_K round as llama.cpp's x86 kernels of
//! the [`Path`] asked for, see `kquants.rs`), per 32-element sub-block for IQ4_XS, per product
//! for the float types. Only the order in which those results are added differs, so a SIMD
//! result is within a few ulps of `sum |block result|` of the scalar one.
//!
//! The integer tricks (ggml's x86 ones, reworked) are exact for every input the activation
//! encoders produce. One needs that: Q8_0 x Q8_0 multiplies |x| by y with x's sign, which would
//! wrap for an activation quant of -128; `quantize_row` never writes one (|q| <= 127 for finite
//! input), and the other kernels are exact for any bytes.
//!
//! [`dot_kernel`] hands out a kernel only when the CPU has the features it was compiled for,
//! detected once. The environment variable `ROCMFORGE_CPU_SIMD` caps the level: `scalar` (or
//! `off`, `none`, `0`) keeps the scalar kernels, `avx2` stops short of AVX-512, `avx512` (the
//! default) takes the best the CPU has.

mod avx512;
mod float;
mod gemm;
mod iq4;
mod kquants;
mod legacy;
mod quantize;

use core::arch::x86_64::*;
use std::sync::OnceLock;

use gguf::GgmlType;

use super::{DotKernel, Path};

/// How far the CPU (and `ROCMFORGE_CPU_SIMD`) lets us go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Scalar,
    /// AVX2 + FMA + F16C.
    Avx2,
    /// Avx2 plus AVX-512 F/BW/VL/VNNI.
    Avx512,
}

fn detect() -> Level {
    let avx2 = std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c");
    let avx512 = std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("avx512vnni");
    match (avx2, avx512) {
        (true, true) => Level::Avx512,
        (true, false) => Level::Avx2,
        _ => Level::Scalar,
    }
}

/// The level in force: the CPU's, capped by `ROCMFORGE_CPU_SIMD`; decided once per process.
fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = match std::env::var("ROCMFORGE_CPU_SIMD").as_deref().map(str::trim) {
            Ok("scalar" | "off" | "none" | "0") => Level::Scalar,
            Ok("avx2") => Level::Avx2,
            _ => Level::Avx512,
        };
        detect().min(cap)
    })
}

/// The SIMD kernel for `weight`, or `None` where the CPU (or the cap) allows none or there is
/// no SIMD version; the caller falls back to the scalar table.
pub(super) fn dot_kernel(weight: GgmlType, path: Path) -> Option<DotKernel> {
    match level() {
        Level::Scalar => None,
        Level::Avx2 => avx2_kernel(weight, path),
        Level::Avx512 => avx512::kernel(weight, path).or_else(|| avx2_kernel(weight, path)),
    }
}

/// The GEMM flavour matching the per-dot kernels of the level in force (none at `Scalar`).
pub(super) fn gemm_flavor() -> Option<super::gemm::Flavor> {
    gemm::flavor(level())
}

pub(super) use gemm::run as gemm_run;

/// [`super::quantize_row_with`] built for AVX2 where the level allows it (`false`: not done).
pub(super) fn quantize_row_with(ty: super::ActType, x: &[f32], out: &mut [u8], rounding: super::Q8Rounding) -> bool {
    if level() == Level::Scalar {
        return false;
    }
    use super::{ActType, Q8Rounding};
    let (bs, bb) = (ty.block_size(), ty.block_bytes());
    let blocks = x.chunks_exact(bs).zip(out.chunks_exact_mut(bb));
    match (ty, rounding) {
        (ActType::Q8_0, Q8Rounding::X86Avx) => blocks.for_each(|(x, y)| {
            // SAFETY: AVX2, FMA and F16C were detected (level >= Avx2); whole blocks.
            if !unsafe { quantize::q8_0(x, y) } {
                super::quantize::q8_0_x86(x, y);
            }
        }),
        (ActType::Q8_K, _) => blocks.for_each(|(x, y)| {
            // SAFETY: as above.
            if !unsafe { quantize::q8_k(x, y) } {
                super::quantize::q8_k(x, y);
            }
        }),
        // SAFETY: the level is AVX2 or above, so AVX2, FMA and F16C were detected.
        _ => unsafe { quantize_avx2(ty, x, out, rounding) },
    }
    true
}

/// Safety: AVX2, FMA and F16C are available.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn quantize_avx2(ty: super::ActType, x: &[f32], out: &mut [u8], rounding: super::Q8Rounding) {
    super::quantize_row_impl(ty, x, out, rounding)
}

/// Safe `DotKernel`s around the `unsafe` target-feature kernels of `$module`. Each clamps the
/// block count to what both slices hold (as the scalar kernels' `chunks_exact().take(nb)`
/// does), so the kernels never read past the slices.
macro_rules! safe_kernels {
    ($features:literal, $module:ident: $($name:ident($wb:expr, $ab:expr)),* $(,)?) => {
        $(
            pub(super) fn $name(w: &[u8], a: &[u8], nb: usize) -> f32 {
                let nb = nb.min(w.len() / $wb).min(a.len() / $ab);
                // SAFETY: `dot_kernel` hands this function out only after `detect` found every
                // feature of `$features` (the kernel's `target_feature` set), and `nb` whole
                // blocks of both rows lie inside the slices, which is all the kernel reads.
                unsafe { $module::$name(w.as_ptr(), a.as_ptr(), nb) }
            }
        )*
    };
}
pub(crate) use safe_kernels;

mod avx2_safe {
    use super::{float, iq4, kquants, legacy};

    safe_kernels!("avx2,fma,f16c", legacy: q4_0_q8_0(18, 34), q4_1_q8_1(20, 36), q5_0_q8_0(22, 34),
        q5_1_q8_1(24, 36), q8_0_q8_0(34, 34));
    safe_kernels!("avx2,fma,f16c", kquants: q2_k_q8_k(84, 292), q3_k_q8_k(110, 292), q4_k_q8_k(144, 292),
        q4_k_q8_k_per64(144, 292), q5_k_q8_k(176, 292), q6_k_q8_k(210, 292), q6_k_q8_k_tiled(210, 292));
    safe_kernels!("avx2,fma,f16c", iq4: iq4_nl_q8_0(18, 34), iq4_xs_q8_k(136, 292), mxfp4_q8_0(17, 34));
    safe_kernels!("avx2,fma,f16c", float: f16_f16(2, 2), bf16_bf16(2, 2), f32_f32(4, 4));
}

fn avx2_kernel(weight: GgmlType, path: Path) -> Option<DotKernel> {
    use avx2_safe::*;
    use GgmlType::*;
    Some(match (weight, path) {
        (Q4_0, _) => q4_0_q8_0,
        (Q4_1, _) => q4_1_q8_1,
        (Q5_0, _) => q5_0_q8_0,
        (Q5_1, _) => q5_1_q8_1,
        (Q8_0, _) => q8_0_q8_0,
        (Q2_K, _) => q2_k_q8_k,
        (Q3_K, _) => q3_k_q8_k,
        (Q4_K, Path::Single) => q4_k_q8_k,
        (Q4_K, Path::Batched) => q4_k_q8_k_per64,
        (Q5_K, _) => q5_k_q8_k,
        (Q6_K, Path::Single) => q6_k_q8_k,
        (Q6_K, Path::Batched) => q6_k_q8_k_tiled,
        (IQ4_NL, _) => iq4_nl_q8_0,
        (IQ4_XS, _) => iq4_xs_q8_k,
        (MXFP4, _) => mxfp4_q8_0,
        (F16, _) => f16_f16,
        (BF16, _) => bf16_bf16,
        (F32, _) => f32_f32,
        _ => return None,
    })
}

// ---- Helpers shared by the AVX2 kernels (all inline into them). ----

/// The little-endian u16 at `p`.
///
/// Safety: `p..p + 2` is readable.
#[inline(always)]
unsafe fn rd_u16(p: *const u8) -> u16 {
    u16::from_le(p.cast::<u16>().read_unaligned())
}

/// The little-endian u32 at `p`.
///
/// Safety: `p..p + 4` is readable.
#[inline(always)]
unsafe fn rd_u32(p: *const u8) -> u32 {
    u32::from_le(p.cast::<u32>().read_unaligned())
}

/// The little-endian f32 at `p`.
///
/// Safety: `p..p + 4` is readable.
#[inline(always)]
unsafe fn rd_f32(p: *const u8) -> f32 {
    f32::from_bits(rd_u32(p))
}

/// The f16 at `p`, widened exactly.
///
/// Safety: `p..p + 2` is readable.
#[inline(always)]
unsafe fn rd_f16(p: *const u8) -> f32 {
    super::f16_to_f32(rd_u16(p))
}

/// 32 bytes at `p`.
///
/// Safety: `p..p + 32` is readable; AVX is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn load256(p: *const u8) -> __m256i {
    _mm256_loadu_si256(p.cast())
}

/// 16 bytes at `p`.
///
/// Safety: `p..p + 16` is readable; SSE2 is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn load128(p: *const u8) -> __m128i {
    _mm_loadu_si128(p.cast())
}

/// The f16 fields at `p`, `p + stride`, ... of `n` (at most 8) blocks, widened exactly to f32
/// lanes; lanes from `n` on are zero.
///
/// Safety: the `n` fields are readable; F16C and AVX are available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn f16x8(p: *const u8, stride: usize, n: usize) -> __m256 {
    // Four halves to a u64 in general-purpose registers, then two moves into the vector unit:
    // cheaper for the vector ports than eight word inserts.
    let r = |k: usize| if k < n { u64::from(rd_u16(p.add(k * stride))) } else { 0 };
    let four = |k: usize| (r(k) | (r(k + 1) << 16) | (r(k + 2) << 32) | (r(k + 3) << 48)) as i64;
    let h = _mm_set_epi64x(four(4), four(0));
    _mm256_cvtph_ps(h)
}

/// Eight vectors of i32 lanes in, one vector out whose lane k is the sum of `v[k]`'s lanes.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn reduce8(v: &[__m256i; 8]) -> __m256i {
    // hadd pairs lanes within each 128-bit half: after two rounds lane k of each half holds
    // that half's sum for vector k (k < 4 from the first four, in the other result the last
    // four); adding the halves across finishes it.
    let a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    let b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    let lo = _mm256_permute2x128_si256::<0x20>(a, b);
    let hi = _mm256_permute2x128_si256::<0x31>(a, b);
    _mm256_add_epi32(lo, hi)
}

/// The sum of the eight i32 lanes.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn hsum_i32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    hsum_i32x4(s)
}

/// The sum of the four i32 lanes.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn hsum_i32x4(s: __m128i) -> i32 {
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
    _mm_cvtsi128_si32(s)
}

/// The sum of the eight f32 lanes (in some order).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_movehdup_ps(s));
    _mm_cvtss_f32(s)
}

/// i32 lanes summing to `sum(x[i] * y[i])` over 32 signed bytes, for `x` never -128 (`y` any):
/// `|y|` as u8 times `x` with `y`'s sign, so no pair of i16 products can saturate
/// (2 * 128 * 127 < 2^15).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn dot_i8(x: __m256i, y: __m256i) -> __m256i {
    let p = _mm256_maddubs_epi16(_mm256_abs_epi8(y), _mm256_sign_epi8(x, y));
    _mm256_madd_epi16(p, _mm256_set1_epi16(1))
}

/// i32 lanes summing to `sum(x[i] * y[i])` over 32 bytes, `x` unsigned and at most 127.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn dot_u8(x: __m256i, y: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(x, y), _mm256_set1_epi16(1))
}

/// The 32 nibbles of the 16 bytes at `p`, one per byte in element order of the legacy blocks:
/// low nibbles (elements 0..16) in the low half, high nibbles (16..32) in the high half.
///
/// Safety: `p..p + 16` is readable; AVX2 is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn nibbles(p: *const u8) -> __m256i {
    let q = load128(p);
    let v = _mm256_set_m128i(_mm_srli_epi16::<4>(q), q);
    _mm256_and_si256(v, _mm256_set1_epi8(0x0F))
}

/// The dot of `nb` 32-element blocks in groups of eight: `block(i)` gives i32 lanes summing to
/// block `i`'s integer dot; `scale(i, n, sumi)` gives the f32 results of blocks `i..i + n`
/// from their sums (as f32, lane k for block i + k; lanes from `n` on are zero and must come
/// out zero). Returns the sum of the block results.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn blocks8(nb: usize, block: impl Fn(usize) -> __m256i, scale: impl Fn(usize, usize, __m256) -> __m256) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= nb {
        let s = [
            block(i),
            block(i + 1),
            block(i + 2),
            block(i + 3),
            block(i + 4),
            block(i + 5),
            block(i + 6),
            block(i + 7),
        ];
        acc = _mm256_add_ps(acc, scale(i, 8, _mm256_cvtepi32_ps(reduce8(&s))));
        i += 8;
    }
    if i + 4 <= nb {
        // Four blocks (28 = 3 * 8 + 4 per row of 896): a group of its own, its size known here.
        let z = _mm256_setzero_si256();
        let s = [block(i), block(i + 1), block(i + 2), block(i + 3), z, z, z, z];
        acc = _mm256_add_ps(acc, scale(i, 4, _mm256_cvtepi32_ps(reduce8(&s))));
        i += 4;
    }
    if i < nb {
        let n = nb - i;
        let mut s = [_mm256_setzero_si256(); 8];
        for (k, v) in s.iter_mut().enumerate().take(n) {
            *v = block(i + k);
        }
        acc = _mm256_add_ps(acc, scale(i, n, _mm256_cvtepi32_ps(reduce8(&s))));
    }
    hsum_ps(acc)
}
