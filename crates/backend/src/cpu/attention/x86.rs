//! One attention row (a token's head) with AVX2, FMA and F16C, for head sizes that are a
//! multiple of 8: the plain computation's arithmetic (`dot` of the f16-rounded query with each
//! K row, `softmax`, `o += w * v` per element in position order), with K and V widened in
//! registers and the output kept in registers across positions.

use core::arch::x86_64::*;

use half::f16;

/// Eight halves at `p`, widened.
///
/// Safety: `p..p + 8` is readable; F16C is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn load8(p: *const f16) -> __m256 {
    _mm256_cvtph_ps(_mm_loadu_si128(p.cast()))
}

/// `x` rounded to f16 and back (half to even, as `f16::from_f32`), eight at a time.
///
/// Safety: F16C is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn round_f16(x: &mut [f32]) {
    let n = x.len() / 8 * 8;
    for c in (0..n).step_by(8) {
        let p = x.as_mut_ptr().add(c);
        _mm256_storeu_ps(p, _mm256_cvtph_ps(_mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm256_loadu_ps(p))));
    }
    for v in &mut x[n..] {
        *v = f16::from_f32(*v).to_f32();
    }
}

/// The output `o` ([hd]) of query `q` ([hd]) over the K/V rows at element offsets `slots`, of
/// keys `first ..`.
/// `qh` ([hd]) and `scores` are scratch.
///
/// Safety: AVX2, FMA and F16C are available; `hd` is a multiple of 8; every `slot + hd` is
/// within `k` and `v`; `q`, `qh` and `o` hold `hd` values.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn row(
    q: &[f32],
    k: &[f16],
    v: &[f16],
    slots: &[usize],
    first: usize,
    scale: f32,
    softcap: Option<f32>,
    qh: &mut [f32],
    scores: &mut Vec<f32>,
    o: &mut [f32],
) {
    let hd = qh.len();
    qh.copy_from_slice(&q[..hd]);
    round_f16(qh);
    scores.clear();
    scores.extend(slots.iter().map(|&s| {
        // `dot`'s FMA build: lane i accumulates elements i, i + 8, ...; then its lane sum.
        let kp = k.as_ptr().add(s);
        let mut acc = _mm256_setzero_ps();
        for c in (0..hd).step_by(8) {
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(qh.as_ptr().add(c)), load8(kp.add(c)), acc);
        }
        let mut l = [0f32; 8];
        _mm256_storeu_ps(l.as_mut_ptr(), acc);
        let x = ((l[0] + l[4]) + (l[1] + l[5]) + ((l[2] + l[6]) + (l[3] + l[7]))) * scale;
        softcap.map_or(x, |c| c * (x / c).tanh())
    }));
    super::softmax(scores, first);
    round_f16(scores);
    // 32 output elements at a time in registers, positions in order.
    for c0 in (0..hd).step_by(32) {
        let n = ((hd - c0) / 8).min(4);
        let mut acc = [_mm256_setzero_ps(); 4];
        for (&s, &w) in slots.iter().zip(scores.iter()) {
            let (w, vp) = (_mm256_set1_ps(w), v.as_ptr().add(s + c0));
            for (i, a) in acc.iter_mut().enumerate().take(n) {
                *a = _mm256_add_ps(*a, _mm256_mul_ps(w, load8(vp.add(8 * i))));
            }
        }
        for (i, a) in acc.iter().enumerate().take(n) {
            _mm256_storeu_ps(o.as_mut_ptr().add(c0 + 8 * i), *a);
        }
    }
}
