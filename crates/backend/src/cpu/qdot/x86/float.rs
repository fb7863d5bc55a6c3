//! AVX2 kernels for the float types (scalar twins in `qdot/float.rs`): every product is taken
//! in f32 exactly as there, widened to f64 and summed in f64 lanes; the total is rounded to
//! f32 at the end.

use core::arch::x86_64::*;

use super::{load128, rd_f16, rd_f32, rd_u16};

/// Sum of `n` f32 products `x(k) * y(k)` in f64, 16 at a time (`prod(k)` gives those of
/// elements `k..k + 8`), the rest one by one through `one(k)`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn sum_products(n: usize, prod: impl Fn(usize) -> __m256, one: impl Fn(usize) -> f32) -> f32 {
    let mut acc = [_mm256_setzero_pd(); 4];
    let mut k = 0;
    while k + 16 <= n {
        let (p0, p1) = (prod(k), prod(k + 8));
        acc[0] = _mm256_add_pd(acc[0], _mm256_cvtps_pd(_mm256_castps256_ps128(p0)));
        acc[1] = _mm256_add_pd(acc[1], _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(p0)));
        acc[2] = _mm256_add_pd(acc[2], _mm256_cvtps_pd(_mm256_castps256_ps128(p1)));
        acc[3] = _mm256_add_pd(acc[3], _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(p1)));
        k += 16;
    }
    let v = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
    let v = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
    let mut sum = _mm_cvtsd_f64(_mm_add_sd(v, _mm_unpackhi_pd(v, v)));
    for k in k..n {
        sum += f64::from(one(k));
    }
    sum as f32
}

/// Safety: AVX2, FMA and F16C are available; `n` elements of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn f16_f16(w: *const u8, a: *const u8, n: usize) -> f32 {
    let h = |p: *const u8| _mm256_cvtph_ps(load128(p));
    let f = |p: *const u8| rd_f16(p);
    sum_products(n, |k| _mm256_mul_ps(h(w.add(2 * k)), h(a.add(2 * k))), |k| f(w.add(2 * k)) * f(a.add(2 * k)))
}

/// Safety: AVX2, FMA and F16C are available; `n` elements of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn bf16_bf16(w: *const u8, a: *const u8, n: usize) -> f32 {
    let h = |p: *const u8| _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(load128(p))));
    let f = |p: *const u8| f32::from_bits(u32::from(rd_u16(p)) << 16);
    sum_products(n, |k| _mm256_mul_ps(h(w.add(2 * k)), h(a.add(2 * k))), |k| f(w.add(2 * k)) * f(a.add(2 * k)))
}

/// Safety: AVX2, FMA and F16C are available; `n` elements of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn f32_f32(w: *const u8, a: *const u8, n: usize) -> f32 {
    let h = |p: *const u8| _mm256_loadu_ps(p.cast());
    sum_products(
        n,
        |k| _mm256_mul_ps(h(w.add(4 * k)), h(a.add(4 * k))),
        |k| rd_f32(w.add(4 * k)) * rd_f32(a.add(4 * k)),
    )
}
