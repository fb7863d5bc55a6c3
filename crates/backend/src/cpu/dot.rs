//! f32 dot product, with an AVX2+FMA build of the same loop chosen at run time (never
//! `-C target-cpu=native`).

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

/// Whether [`dot`] runs its FMA build.
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

#[cfg(test)]
mod tests {
    use super::*;

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
