//! One attention row over an f16 cache with llama.cpp's CPU arithmetic (AVX-512 build, flash
//! attention off), which depends on how many tokens llama.cpp runs in the batch:
//!
//! * two or more ("batch", tinyBLAS f16 GEMM): a K.Q dot keeps 16 lanes, element d in lane
//!   d % 16, added in order, then `reduce16`; an output element sums `w_j * v_j` over keys in 16
//!   lanes by key index (from key 0) the same way;
//! * one ("single", `ggml_vec_dot_f16`): element e goes to lane e % 16 of accumulator
//!   (e / 16) % 4; then accumulators 0 + 2 and 1 + 3, those two, and `reduce16`.
//!
//! Q and the softmax weights are rounded to f16 (mul_mat converts them to the cache's type),
//! so every product is exact in f32 and the order of the sums is all there is to match.

use half::f16;

use super::super::vexp::reduce16;

/// Which of llama.cpp's two f16 dot products a token's attention follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DotOrder {
    Batch,
    Single,
}

/// Scratch of one worker: the output lanes.
#[derive(Default)]
pub struct Scratch {
    lanes: Vec<f32>,
}

/// `out[i] = sum(q[d] * k[slots[i] + d])` in `order` (the products are exact in f32: f16
/// times f16). The batch order needs a length that is a multiple of 16 (tinyBLAS declines
/// others, and llama.cpp falls back to the single order).
fn dots(q: &[f32], k: &[f16], slots: &[usize], order: DotOrder, out: &mut Vec<f32>) {
    let n = q.len();
    let batch = order == DotOrder::Batch && n.is_multiple_of(16);
    assert!(slots.iter().all(|&at| at + n <= k.len()), "attention: a key row outside the cache");
    out.clear();
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // SAFETY: AVX2, FMA and F16C are available (checked just above); q holds n values and
        // every key row n values (asserted above).
        return unsafe { x86::dots(q.as_ptr(), k.as_ptr(), n, slots, batch, out) };
    }
    dots_portable(q, k, slots, batch, out);
}

/// [`dots`] in plain code (`batch`: the 16-lane order, checked by the caller).
fn dots_portable(q: &[f32], k: &[f16], slots: &[usize], batch: bool, out: &mut Vec<f32>) {
    let n = q.len();
    out.extend(slots.iter().map(|&at| {
        let k = &k[at..at + n];
        if batch {
            let mut l = [0f32; 16];
            for (i, (x, y)) in q.iter().zip(k).enumerate() {
                l[i % 16] += x * y.to_f32();
            }
            return reduce16(&l);
        }
        let whole = n / 64 * 64;
        let mut acc = [[0f32; 16]; 4];
        for (i, (x, y)) in q[..whole].iter().zip(k).enumerate() {
            acc[(i / 16) % 4][i % 16] += x * y.to_f32();
        }
        single_total(&acc, q[whole..].iter().zip(&k[whole..]).map(|(x, y)| x * y.to_f32()))
    }));
}

/// `ggml_vec_dot_f16`'s finish: accumulators 0 + 2 and 1 + 3, those two, `reduce16` into an
/// f64, then the products past the last whole 64 added to it one at a time.
fn single_total(acc: &[[f32; 16]; 4], tail: impl Iterator<Item = f32>) -> f32 {
    let l: [f32; 16] = core::array::from_fn(|k| (acc[0][k] + acc[2][k]) + (acc[1][k] + acc[3][k]));
    tail.fold(f64::from(reduce16(&l)), |sum, p| sum + f64::from(p)) as f32
}

/// `lanes[(first + i) % period][:] += weights[i] * v[slots[i]..][..hd]` for every key i, keys
/// in order within a lane (exact products, so fused and separate adds round alike); `lanes` is
/// [period, hd].
fn accumulate(lanes: &mut [f32], hd: usize, weights: &[f32], v: &[f16], slots: &[usize], first: usize, period: usize) {
    assert!(slots.iter().all(|&at| at + hd <= v.len()), "attention: a value row outside the cache");
    assert!(lanes.len() >= period * hd && weights.len() >= slots.len(), "attention: scratch too small");
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // SAFETY: AVX2, FMA and F16C are available (checked just above); every value row read
        // and every lane row written holds hd values (asserted above).
        return unsafe { x86::accumulate(lanes.as_mut_ptr(), hd, weights, v.as_ptr(), slots, first, period) };
    }
    accumulate_portable(lanes, hd, weights, v, slots, first, period);
}

/// [`accumulate`] in plain code.
fn accumulate_portable(
    lanes: &mut [f32],
    hd: usize,
    weights: &[f32],
    v: &[f16],
    slots: &[usize],
    first: usize,
    period: usize,
) {
    for (i, (&at, &w)) in slots.iter().zip(weights).enumerate() {
        let l = (first + i) % period;
        let acc = &mut lanes[l * hd..(l + 1) * hd];
        acc.iter_mut().zip(&v[at..at + hd]).for_each(|(a, x)| *a += w * x.to_f32());
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use half::f16;

    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
            && std::is_x86_feature_detected!("f16c")
    }

    /// Eight halves at `p`, widened. Safety: `p..p + 8` is readable; F16C is available.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn h8(p: *const f16) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(p.cast()))
    }

    /// [`super::dots`] (`batch`: the 16-lane order). Safety: the features are available; `q`
    /// holds `n` values and so does every `k + slots[i]`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dots(
        q: *const f32,
        k: *const f16,
        n: usize,
        slots: &[usize],
        batch: bool,
        out: &mut Vec<f32>,
    ) {
        out.extend(
            slots.iter().map(|&at| if batch { dot_batch(q, k.add(at), n) } else { dot_single(q, k.add(at), n) }),
        );
    }

    /// The 16-lane order (lanes 0..8 and 8..16 in two registers). Safety: the features are
    /// available; `q` and `k` hold `n` values, `n` a multiple of 16.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn dot_batch(q: *const f32, k: *const f16, n: usize) -> f32 {
        let (mut a, mut b) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        for c in (0..n).step_by(16) {
            a = _mm256_fmadd_ps(_mm256_loadu_ps(q.add(c)), h8(k.add(c)), a);
            b = _mm256_fmadd_ps(_mm256_loadu_ps(q.add(c + 8)), h8(k.add(c + 8)), b);
        }
        let mut l = [0f32; 16];
        _mm256_storeu_ps(l.as_mut_ptr(), a);
        _mm256_storeu_ps(l.as_mut_ptr().add(8), b);
        super::reduce16(&l)
    }

    /// The 4 x 16-lane order. Safety: the features are available; `q` and `k` hold `n` values.
    #[target_feature(enable = "avx2,fma,f16c")]
    #[inline]
    unsafe fn dot_single(q: *const f32, k: *const f16, n: usize) -> f32 {
        let whole = n / 64 * 64;
        let mut acc = [_mm256_setzero_ps(); 8];
        for c in (0..whole).step_by(64) {
            for (j, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(_mm256_loadu_ps(q.add(c + 8 * j)), h8(k.add(c + 8 * j)), *a);
            }
        }
        let mut l = [[0f32; 16]; 4];
        for (j, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(l[j / 2].as_mut_ptr().add(8 * (j % 2)), *a);
        }
        let tail = (whole..n).map(|i| *q.add(i) * (*k.add(i)).to_f32());
        super::single_total(&l, tail)
    }

    /// [`super::accumulate`], a lane at a time: its keys (every `period`-th) summed into up to
    /// 64 outputs held in registers. Safety: the features are available; every `v + slots[i]`
    /// holds hd values and `lanes` period * hd.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn accumulate(
        lanes: *mut f32,
        hd: usize,
        weights: &[f32],
        v: *const f16,
        slots: &[usize],
        first: usize,
        period: usize,
    ) {
        let (n, whole) = (slots.len(), hd / 8 * 8);
        for s0 in 0..period.min(n) {
            let row = lanes.add(((first + s0) % period) * hd);
            for c in (0..whole).step_by(64) {
                let m = ((whole - c) / 8).min(8);
                let mut acc = [_mm256_setzero_ps(); 8];
                for (r, a) in acc.iter_mut().enumerate().take(m) {
                    *a = _mm256_loadu_ps(row.add(c + 8 * r));
                }
                for i in (s0..n).step_by(period) {
                    let (w, vp) = (_mm256_set1_ps(weights[i]), v.add(slots[i] + c));
                    for (r, a) in acc.iter_mut().enumerate().take(m) {
                        *a = _mm256_fmadd_ps(w, h8(vp.add(8 * r)), *a);
                    }
                }
                for (r, a) in acc.iter().enumerate().take(m) {
                    _mm256_storeu_ps(row.add(c + 8 * r), *a);
                }
            }
            for i in (s0..n).step_by(period) {
                for d in whole..hd {
                    *row.add(d) += weights[i] * (*v.add(slots[i] + d)).to_f32();
                }
            }
        }
    }
}

/// The output `o` ([hd]) of the f16-rounded query `qh` ([hd]) over the K/V rows at element
/// offsets `slots` (keys `first ..`), `weights` being filled with the softmax weights.
#[allow(clippy::too_many_arguments)]
pub fn row(
    qh: &[f32],
    k: &[f16],
    v: &[f16],
    slots: &[usize],
    first: usize,
    order: DotOrder,
    scale: f32,
    softcap: Option<f32>,
    weights: &mut Vec<f32>,
    s: &mut Scratch,
    o: &mut [f32],
) {
    let hd = qh.len();
    dots(qh, k, slots, order, weights);
    for x in weights.iter_mut() {
        *x *= scale;
        *x = softcap.map_or(*x, |c| c * (*x / c).tanh());
    }
    super::softmax(weights, first);
    weights.iter_mut().for_each(|w| *w = f16::from_f32(*w).to_f32());
    // lanes: [16 (Batch) or 64 (Single)][hd]; key j adds into lane j % 16 (of accumulator
    // (j / 16) % 4). tinyBLAS takes the weights.V product only for head sizes of 4k.
    let order = if hd.is_multiple_of(4) { order } else { DotOrder::Single };
    let n_lanes = if order == DotOrder::Batch { 16 } else { 64 };
    s.lanes.clear();
    s.lanes.resize(n_lanes * hd, 0.0);
    // Single's lane 16 * ((j / 16) % 4) + j % 16 is j % 64.
    accumulate(&mut s.lanes, hd, weights, v, slots, first, n_lanes);
    // Each output element's lanes summed as the dot products sum theirs.
    let lane = |l: usize, d: usize| s.lanes[l * hd + d];
    for (d, out) in o.iter_mut().enumerate() {
        *out = match order {
            DotOrder::Batch => reduce16(&core::array::from_fn(|k| lane(k, d))),
            DotOrder::Single => {
                let acc: [[f32; 16]; 4] = core::array::from_fn(|a| core::array::from_fn(|k| lane(16 * a + k, d)));
                single_total(&acc, std::iter::empty())
            }
        };
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    /// The SIMD kernels give the plain code's bits: head sizes with and without 8-, 16- and
    /// 64-element tails, keys starting off a lane boundary, more keys than lanes.
    #[test]
    fn x86_kernels_match_the_plain_code() {
        if !x86::available() {
            return eprintln!("skipped: no AVX2/FMA/F16C");
        }
        let h = |i: usize, salt: usize| f16::from_f32((((i * 37 + salt * 11) % 97) as f32 - 48.0) / 19.0);
        for hd in [16, 20, 64, 80, 96, 256] {
            let n_keys = 70;
            let k: Vec<f16> = (0..n_keys * hd).map(|i| h(i, 1)).collect();
            let v: Vec<f16> = (0..n_keys * hd).map(|i| h(i, 2)).collect();
            let q: Vec<f32> = (0..hd).map(|i| h(i, 3).to_f32()).collect();
            let w: Vec<f32> = (0..n_keys).map(|i| h(i, 4).to_f32().abs() / 4.0).collect();
            for first in [0, 3, 17] {
                let slots: Vec<usize> = (first..n_keys).map(|j| j * hd).collect();
                for batch in [true, false] {
                    let batch = batch && hd.is_multiple_of(16);
                    let (mut fast, mut plain) = (Vec::new(), Vec::new());
                    // SAFETY: the features were detected above; every row holds hd values.
                    unsafe { x86::dots(q.as_ptr(), k.as_ptr(), hd, &slots, batch, &mut fast) };
                    dots_portable(&q, &k, &slots, batch, &mut plain);
                    let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&fast), bits(&plain), "dots hd {hd} first {first} batch {batch}");
                    let period = if batch { 16 } else { 64 };
                    let (mut fast, mut plain) = (vec![0f32; period * hd], vec![0f32; period * hd]);
                    // SAFETY: as above; `fast` holds period * hd values.
                    unsafe { x86::accumulate(fast.as_mut_ptr(), hd, &w, v.as_ptr(), &slots, first, period) };
                    accumulate_portable(&mut plain, hd, &w, &v, &slots, first, period);
                    assert_eq!(bits(&fast), bits(&plain), "accumulate hd {hd} first {first} batch {batch}");
                }
            }
        }
    }
}
