//! AVX2 activation encoders for Q8_0 (x86 rounding) and Q8_K, bit-identical to the scalar ones
//! in `qdot/quantize.rs` for every block of finite values; a block holding a NaN or an infinity
//! (where the scalar code's order of `max` steps and its casts would matter) is left to the
//! scalar encoder: each function returns `false` without writing.

use core::arch::x86_64::*;

/// Eight f32 at `p`.
///
/// Safety: `p..p + 8` is readable; AVX is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn ld(p: *const f32) -> __m256 {
    _mm256_loadu_ps(p)
}

/// |v| lane by lane.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn abs(v: __m256) -> __m256 {
    _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff)))
}

/// The largest lane (any order: `max` is exact and the lanes are not NaN).
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn hmax(v: __m256) -> f32 {
    let m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)))
}

/// Lanes that are infinite or NaN (|v| not below infinity), as a bit mask.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn non_finite(v: __m256) -> i32 {
    _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_NLT_UQ>(abs(v), _mm256_set1_ps(f32::INFINITY)))
}

/// Four vectors of i32 (elements 0..8, 8..16, 16..24, 24..32) narrowed with saturation to 32
/// i8 in element order.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn pack32(q: [__m256i; 4]) -> __m256i {
    // packs work per 128-bit half: the result holds 4-element runs in order 0 2 4 6 1 3 5 7.
    let p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

/// `q8_0_x86`: d = amax / 127, q = round-half-even(x * (127 / amax)) saturated to i8.
/// `x`: 32 values; `y`: the 34-byte block.
///
/// Safety: AVX2, FMA and F16C are available; `x` has 32 values and `y` 34 bytes.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q8_0(x: &[f32], y: &mut [u8]) -> bool {
    let p = x.as_ptr();
    let v = [ld(p), ld(p.add(8)), ld(p.add(16)), ld(p.add(24))];
    if (non_finite(v[0]) | non_finite(v[1]) | non_finite(v[2]) | non_finite(v[3])) != 0 {
        return false;
    }
    let m = _mm256_max_ps(_mm256_max_ps(abs(v[0]), abs(v[1])), _mm256_max_ps(abs(v[2]), abs(v[3])));
    let amax = hmax(m);
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    let idv = _mm256_set1_ps(id);
    // cvtps rounds half to even (the default MXCSR mode), as `_mm256_round_ps` then cvt does.
    let mut q = [_mm256_setzero_si256(); 4];
    for (q, &v) in q.iter_mut().zip(&v) {
        *q = _mm256_cvtps_epi32(_mm256_mul_ps(v, idv));
    }
    _mm256_storeu_si256(y.as_mut_ptr().add(2).cast(), pack32(q));
    let h = _mm_extract_epi16::<0>(_mm_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm_set_ss(d))) as u16;
    y[..2].copy_from_slice(&h.to_le_bytes());
    true
}

/// `q8_k`: the value `max` of largest magnitude (the first on ties) maps to -127:
/// iscale = -127 / max, q = round-half-even(iscale * x), d = 1 / iscale, bsums of 16.
/// `x`: 256 values; `y`: the 292-byte block.
///
/// Safety: AVX2, FMA and F16C are available; `x` has 256 values and `y` 292 bytes.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q8_k(x: &[f32], y: &mut [u8]) -> bool {
    let p = x.as_ptr();
    let mut m = _mm256_setzero_ps();
    let mut bad = 0;
    for k in 0..32 {
        let v = ld(p.add(8 * k));
        bad |= non_finite(v);
        m = _mm256_max_ps(m, abs(v));
    }
    if bad != 0 {
        return false;
    }
    let amax = hmax(m);
    if amax == 0.0 {
        y.fill(0);
        return true;
    }
    // The first value whose magnitude is amax.
    let target = _mm256_set1_ps(amax);
    let mut first = 0;
    for k in 0..32 {
        let hit = _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_EQ_OQ>(abs(ld(p.add(8 * k))), target));
        if hit != 0 {
            first = 8 * k + hit.trailing_zeros() as usize;
            break;
        }
    }
    let iscale = -127.0 / x[first];
    if !iscale.is_finite() {
        return false;
    }
    // Every |iscale * x| <= 127 (up to rounding below 127.5): the scalar `min(127)` and its
    // truncating cast change nothing, and the i32 lanes narrow without saturating.
    let s = _mm256_set1_ps(iscale);
    let mut sums = [_mm256_setzero_si256(); 16];
    for c in 0..8 {
        let mut q = [_mm256_setzero_si256(); 4];
        for (k, q) in q.iter_mut().enumerate() {
            *q = _mm256_cvtps_epi32(_mm256_mul_ps(s, ld(p.add(32 * c + 8 * k))));
        }
        _mm256_storeu_si256(y.as_mut_ptr().add(4 + 32 * c).cast(), pack32(q));
        sums[2 * c] = _mm256_add_epi32(q[0], q[1]);
        sums[2 * c + 1] = _mm256_add_epi32(q[2], q[3]);
    }
    let lo = super::reduce8(&[sums[0], sums[1], sums[2], sums[3], sums[4], sums[5], sums[6], sums[7]]);
    let hi = super::reduce8(&[sums[8], sums[9], sums[10], sums[11], sums[12], sums[13], sums[14], sums[15]]);
    // |bsum| <= 16 * 127: packs keeps it; per-half interleave undone by the permute.
    let b = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packs_epi32(lo, hi));
    _mm256_storeu_si256(y.as_mut_ptr().add(260).cast(), b);
    y[..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
    true
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::super::super::quantize as scalar;

    /// Blocks of every kind: random with outliers, ties at half-steps, zeros, denormals, huge,
    /// and blocks with NaN or infinities (which go to the scalar encoder).
    fn blocks(n: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..400)
            .map(|k| {
                let mut x: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
                match k % 10 {
                    1 => x.fill(0.0),
                    2 => x.iter_mut().for_each(|v| *v = (*v * 8.0).round() / 8.0 * 127.0 / 64.0), // ties
                    3 => x.iter_mut().for_each(|v| *v *= 1e-40),                                  // denormals
                    4 => x.iter_mut().for_each(|v| *v *= 3e38),
                    5 => x[rng.gen_range(0..n)] = f32::NAN,
                    6 => x[rng.gen_range(0..n)] = f32::INFINITY,
                    7 => {
                        // The largest magnitude twice, both signs: the first wins (Q8_K).
                        let (i, j) = (rng.gen_range(0..n / 2), rng.gen_range(n / 2..n));
                        x[i] = -2.0;
                        x[j] = 2.0;
                    }
                    8 => x.iter_mut().for_each(|v| *v = if *v < 0.0 { -0.0 } else { 0.0 }),
                    9 => x.iter_mut().for_each(|v| *v *= 1e-30),
                    _ => {}
                }
                x
            })
            .collect()
    }

    #[test]
    fn simd_encoders_are_bit_identical_to_scalar() {
        if !(std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c"))
        {
            return;
        }
        for x in blocks(32, 1) {
            let (mut a, mut b) = ([0u8; 34], [0u8; 34]);
            // SAFETY: the features were detected above; whole blocks.
            if unsafe { super::q8_0(&x, &mut a) } {
                scalar::q8_0_x86(&x, &mut b);
                assert_eq!(a, b, "{x:?}");
            } else {
                assert!(x.iter().any(|v| !v.is_finite()));
            }
        }
        for x in blocks(256, 2) {
            let (mut a, mut b) = ([0u8; 292], [0u8; 292]);
            // SAFETY: as above.
            if unsafe { super::q8_k(&x, &mut a) } {
                scalar::q8_k(&x, &mut b);
                assert_eq!(a, b, "{x:?}");
            } else {
                assert!(x.iter().any(|v| !v.is_finite()) || x.iter().any(|v| *v != 0.0 && v.abs() < 1e-37));
            }
        }
    }
}
