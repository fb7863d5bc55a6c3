//! The exponential and the 16-lane sum of llama.cpp's AVX-512 CPU build (`ggml_v_expf`,
//! `_mm512_reduce_add_ps`), evaluated in scalar code: softmax and SiLU round as llama.cpp's do
//! (its goldens come from that build), on any CPU.

/// `f32` from its bits: the constants of `ggml_v_expf` are hexadecimal floats.
const fn c(bits: u32) -> f32 {
    f32::from_bits(bits)
}

/// `ggml_v_expf` (AVX-512 version), one lane: n = round(x / ln 2), a degree-5 polynomial in the
/// remainder b = x - n ln 2 (ln 2 split in two), scaled by 2^n (`vscalefps`, one rounding).
/// |n| > 192 gives 0 or infinity. Call it inside [`with_fma`]: without the FMA instruction
/// each `mul_add` is a libm call.
#[inline(always)]
pub fn expf(x: f32) -> f32 {
    let shift = c(0x4b40_0000); // 0x1.8p23: adding it rounds to an integer
    let z = x.mul_add(c(0x3fb8_aa3b), shift);
    let n = z - shift;
    let b = (-n).mul_add(c(0x35bf_be8e), (-n).mul_add(c(0x3f31_7200), x));
    let u = b * b;
    let hi = c(0x3c07_2010).mul_add(b, c(0x3d2b_9f17));
    let lo = c(0x3e2a_af33).mul_add(b, c(0x3eff_fedb));
    let j = hi.mul_add(u, lo).mul_add(u, c(0x3f7f_fff6).mul_add(b, 1.0));
    if n.abs() > 192.0 {
        return if n <= 0.0 { 0.0 } else { f32::INFINITY };
    }
    scale_pow2(j, n)
}

/// `f()` compiled for AVX2 and FMA where the CPU has them, so that the `mul_add`s of
/// [`expf`] (inlined into `f`) are single instructions and loops vectorize 8 wide; the
/// results are the same either way.
#[inline(always)]
pub fn with_fma<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("fma") && std::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn run<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU has AVX2 and FMA (checked just above), the features `run` enables.
        return unsafe { run(f) };
    }
    f()
}

/// `j * 2^n` rounded once, as `vscalefps` (n integral, |n| <= 192, or NaN).
#[inline(always)]
fn scale_pow2(j: f32, n: f32) -> f32 {
    if (-126.0..=127.0).contains(&n) {
        // 2^n is a normal f32: one product, one rounding.
        j * f32::from_bits(((n as i32 + 127) as u32) << 23)
    } else {
        // The f64 product is exact; narrowing rounds once (to a subnormal or infinity).
        (f64::from(j) * 2f64.powi(n as i32)) as f32
    }
}

/// `_mm512_reduce_add_ps` of 16 lanes: halves added (256, 128 bits), then lanes 0 + 2 and
/// 1 + 3, then those two.
pub fn reduce16(v: &[f32; 16]) -> f32 {
    let t8: [f32; 8] = core::array::from_fn(|i| v[i + 8] + v[i]);
    let t4: [f32; 4] = core::array::from_fn(|i| t8[i + 4] + t8[i]);
    (t4[0] + t4[2]) + (t4[1] + t4[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Close to libm's expf (ggml states 1.45 ulp + 0.5) and exact on its special cases.
    #[test]
    fn expf_is_accurate_and_saturates() {
        for i in -8700..8800 {
            let x = i as f32 * 0.01;
            let (got, want) = (expf(x), x.exp());
            if want.is_normal() {
                assert!(((got - want) / want).abs() < 3.0 * f32::EPSILON, "x {x}: {got} vs {want}");
            }
        }
        assert_eq!(expf(0.0), 1.0);
        assert_eq!(expf(f32::NEG_INFINITY), 0.0);
        assert_eq!(expf(-200.0), 0.0);
        assert_eq!(expf(200.0), f32::INFINITY);
        assert!(expf(-100.0) > 0.0 && expf(-100.0) < f32::MIN_POSITIVE, "subnormal results are kept");
        assert!(expf(f32::NAN).is_nan());
    }

    #[test]
    fn reduce16_adds_in_the_tree_order() {
        // Two half-ulps of 1 survive only if they meet before meeting the 1: lanes 1 and 3 are
        // added together (lanes 0 and 2 hold 1 and 0), a left-to-right sum would lose both.
        let mut v = [0f32; 16];
        v[0] = 1.0;
        v[1] = f32::EPSILON / 2.0;
        v[3] = f32::EPSILON / 2.0;
        assert_eq!(reduce16(&v), 1.0 + f32::EPSILON);
        assert_eq!(v.iter().sum::<f32>(), 1.0);
        assert_eq!(reduce16(&core::array::from_fn(|i| i as f32)), 120.0);
    }
}
