//! f32 dot product, with an AVX2+FMA build of the same loop chosen at run time (never
//! `-C target-cpu=native`), and its twins on f16 rows (the KV cache) that attention runs: the
//! same arithmetic on the widened values, F16C widening eight at a time.

use half::f16;

/// Eight independent accumulators let the compiler keep a full vector register busy. `madd`
/// is a fused multiply-add where the CPU has one, else a plain multiply and add (a software
/// fma per element would be slow).
#[inline(always)]
fn dot_with(a: &[f32], b: &[f32], madd: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let n = a.len().min(b.len());
    let mut acc = [0f32; 8];
    let (ac, bc) = (a[..n].chunks_exact(8), b[..n].chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] = madd(x[i], y[i], acc[i]);
        }
    }
    let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ar.iter().zip(br) {
        s = madd(*x, *y, s);
    }
    s
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_with(a, b, f32::mul_add)
}

fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    dot_with(a, b, |x, y, s| x * y + s)
}

/// Sum of `a[i] * b[i]` over the shorter length.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above; the check is cached by std).
        return unsafe { dot_avx2(a, b) };
    }
    dot_portable(a, b)
}

/// Whether [`dot`] runs its FMA build (and the f16 twins their F16C one).
#[inline]
fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn has_f16c() -> bool {
    std::is_x86_feature_detected!("f16c")
}

/// The f16-row kernels attention runs, chosen once per call site: `dot(a, b)` equals
/// [`dot`] of `a` and `b` widened, bit for bit; `axpy(acc, w, v)` is `acc[i] += w * v[i]`
/// (a multiply, then an add: no fused rounding), both over the shorter length.
#[derive(Clone, Copy)]
pub struct F16Kernels {
    pub dot: fn(&[f32], &[f16]) -> f32,
    pub axpy: fn(&mut [f32], f32, &[f16]),
}

/// The fastest [`F16Kernels`] the CPU runs (F16C and FMA builds where present).
pub fn f16_kernels() -> F16Kernels {
    #[cfg(target_arch = "x86_64")]
    if has_fma() && has_f16c() {
        return F16Kernels { dot: x86::dot_f16_safe, axpy: x86::axpy_f16_safe };
    }
    F16Kernels { dot: dot_f16_portable, axpy: axpy_f16_portable }
}

fn dot_f16_portable(a: &[f32], b: &[f16]) -> f32 {
    let n = a.len().min(b.len());
    let wide: Vec<f32> = b[..n].iter().map(|v| v.to_f32()).collect();
    dot(&a[..n], &wide)
}

fn axpy_f16_portable(acc: &mut [f32], w: f32, v: &[f16]) {
    for (a, x) in acc.iter_mut().zip(v) {
        *a += w * x.to_f32();
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
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

    /// [`super::dot_avx2`] on `b` widened: lane `i` of the accumulator is `acc[i]` there (the
    /// same fused multiply-adds), then the same sum of the lanes and the same tail.
    ///
    /// Safety: AVX2, FMA and F16C are available.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn dot_f16(a: &[f32], b: &[f16]) -> f32 {
        let n = a.len().min(b.len());
        let mut acc = _mm256_setzero_ps();
        let mut i = 0;
        while i + 8 <= n {
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(a.as_ptr().add(i)), load8(b.as_ptr().add(i)), acc);
            i += 8;
        }
        let mut l = [0f32; 8];
        _mm256_storeu_ps(l.as_mut_ptr(), acc);
        let mut s = (l[0] + l[4]) + (l[1] + l[5]) + ((l[2] + l[6]) + (l[3] + l[7]));
        for k in i..n {
            s = a[k].mul_add(b[k].to_f32(), s);
        }
        s
    }

    /// Handed out by `f16_kernels` only where AVX2, FMA and F16C were detected.
    pub(super) fn dot_f16_safe(a: &[f32], b: &[f16]) -> f32 {
        // SAFETY: `f16_kernels` hands this out only after detecting AVX2, FMA and F16C.
        unsafe { dot_f16(a, b) }
    }

    /// As [`dot_f16_safe`].
    pub(super) fn axpy_f16_safe(acc: &mut [f32], w: f32, v: &[f16]) {
        // SAFETY: as `dot_f16_safe`.
        unsafe { axpy_f16(acc, w, v) }
    }

    /// `acc[i] += w * v[i]`, eight at a time.
    ///
    /// Safety: AVX2 and F16C are available.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn axpy_f16(acc: &mut [f32], w: f32, v: &[f16]) {
        let n = acc.len().min(v.len());
        let wv = _mm256_set1_ps(w);
        let mut i = 0;
        while i + 8 <= n {
            let p = acc.as_mut_ptr().add(i);
            _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), _mm256_mul_ps(wv, load8(v.as_ptr().add(i)))));
            i += 8;
        }
        for k in i..n {
            acc[k] += w * v[k].to_f32();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f16 twins give exactly what the f32 code gives on the widened row.
    #[test]
    fn f16_twins_are_bit_identical() {
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 256, 259] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0).collect();
            let h: Vec<f16> = (0..n).map(|i| f16::from_f32(((i * 53 % 89) as f32 - 44.0) / 13.0)).collect();
            let b: Vec<f32> = h.iter().map(|v| v.to_f32()).collect();
            let k = f16_kernels();
            assert_eq!((k.dot)(&a, &h).to_bits(), dot(&a, &b).to_bits(), "n={n}");
            assert_eq!(dot_f16_portable(&a, &h).to_bits(), dot(&a, &b).to_bits(), "n={n}");
            let (mut x, mut y, mut z) = (a.clone(), a.clone(), a.clone());
            (k.axpy)(&mut x, 0.37, &h);
            axpy_f16_portable(&mut z, 0.37, &h);
            assert!(x.iter().zip(&z).all(|(p, q)| p.to_bits() == q.to_bits()), "n={n}");
            for (y, b) in y.iter_mut().zip(&b) {
                *y += 0.37 * b;
            }
            assert!(x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()), "n={n}");
        }
    }

    #[test]
    fn simd_and_portable_agree_with_f64_reference() {
        for n in [0, 1, 7, 8, 9, 63, 64, 65, 1000] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 53 % 89) as f32 - 44.0) / 13.0).collect();
            let want: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let tol = 1e-5 * (1.0 + a.iter().zip(&b).map(|(x, y)| (x * y).abs() as f64).sum::<f64>());
            assert!((dot(&a, &b) as f64 - want).abs() <= tol, "n={n}");
            assert!((dot_portable(&a, &b) as f64 - want).abs() <= tol, "n={n}");
        }
    }
}
