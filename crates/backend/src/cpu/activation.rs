//! Gated feed-forward activations (in place on the gate half): SwiGLU and GeGLU.
//!
//! GeGLU's gelu is a function of an f16 input with an f16 result (llama.cpp's
//! GGML_GELU_FP16), so it is a table of 65536 halves, computed once from [`gelu`]; the lookup
//! gives the same bits as evaluating it, eight at a time with F16C where the CPU has it.

use std::sync::OnceLock;

use half::f16;

use super::vexp;

/// `ggml_silu_f32`: libm's exp (llama.cpp's scalar tail).
pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// `ggml_v_silu`: the vector build's exp.
#[inline(always)]
fn silu_v(x: f32) -> f32 {
    x / (1.0 + vexp::expf(0.0 - x))
}

/// tanh approximation, as ggml_gelu and PyTorch's gelu(approximate="tanh") that Gemma uses,
/// with `1 + a x^2` as one fused multiply-add: GCC contracts ggml_gelu_f32's expression so
/// (checked on llama.cpp's GeGLU output: 33 of 200,000 values differ without it).
pub fn gelu(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (0.044715 * x).mul_add(x, 1.0)).tanh())
}

/// gate = silu(gate) * up for one row, rounded as `ggml_vec_swiglu_f32` of llama.cpp's AVX-512
/// build: whole 16-element chunks from the row's start take the vector exp, the rest libm's.
pub fn swiglu(gate: &mut [f32], up: &[f32]) {
    let n = gate.len().min(up.len()) / 16 * 16;
    let (body, tail) = gate.split_at_mut(n);
    vexp::with_fma(|| body.iter_mut().zip(up).for_each(|(g, u)| *g = silu_v(*g) * u));
    tail.iter_mut().zip(&up[n..]).for_each(|(g, u)| *g = silu(*g) * u);
}

/// gate = gelu(gate) * up, with llama.cpp's CPU rounding (ggml_vec_geglu_f32 under
/// GGML_GELU_FP16): gelu of the f16-rounded input, rounded to f16; identity above 10, zero
/// below -10. Matching it keeps our logits within llama.cpp's at every position.
pub fn geglu(gate: &mut [f32], up: &[f32]) {
    let table = gelu_table();
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("f16c") {
        // SAFETY: AVX2 and F16C are present (checked just above).
        let done = unsafe { x86::geglu(gate, up, table) };
        return geglu_scalar(&mut gate[done..], &up[done.min(up.len())..], table);
    }
    geglu_scalar(gate, up, table)
}

fn geglu_scalar(gate: &mut [f32], up: &[f32], table: &[u16; 65536]) {
    gate.iter_mut().zip(up).for_each(|(g, u)| {
        let x = *g;
        *g = if x <= -10.0 {
            0.0
        } else if x >= 10.0 {
            x * u
        } else {
            f16::from_bits(table[usize::from(f16::from_f32(x).to_bits())]).to_f32() * u
        };
    });
}

/// `f16(gelu(h))` for every half `h`, by bits.
fn gelu_table() -> &'static [u16; 65536] {
    static TABLE: OnceLock<Box<[u16; 65536]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Box::new([0u16; 65536]);
        for (h, y) in t.iter_mut().enumerate() {
            *y = f16::from_f32(gelu(f16::from_bits(h as u16).to_f32())).to_bits();
        }
        t
    })
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    /// The GeGLU of the first multiple of eight elements (returned), as `geglu_scalar`.
    ///
    /// Safety: AVX2 and F16C are available.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn geglu(gate: &mut [f32], up: &[f32], table: &[u16; 65536]) -> usize {
        let n = gate.len().min(up.len()) / 8 * 8;
        let (lo, hi) = (_mm256_set1_ps(-10.0), _mm256_set1_ps(10.0));
        for i in (0..n).step_by(8) {
            let x = _mm256_loadu_ps(gate.as_ptr().add(i));
            // Round half to even, as half's f16::from_f32.
            let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(x);
            let mut k = [0u16; 8];
            _mm_storeu_si128(k.as_mut_ptr().cast(), h);
            let k = k.map(|b| table[usize::from(b)]);
            let y = _mm256_cvtph_ps(_mm_loadu_si128(k.as_ptr().cast()));
            // x >= 10: x itself; x <= -10: +0 (NaN takes the table, as the scalar code).
            let y = _mm256_blendv_ps(y, x, _mm256_cmp_ps::<_CMP_GE_OQ>(x, hi));
            let y = _mm256_mul_ps(y, _mm256_loadu_ps(up.as_ptr().add(i)));
            let y = _mm256_andnot_ps(_mm256_cmp_ps::<_CMP_LE_OQ>(x, lo), y);
            _mm256_storeu_ps(gate.as_mut_ptr().add(i), y);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table and the SIMD path give what evaluating gelu on the rounded input gives.
    #[test]
    fn geglu_matches_direct_evaluation() {
        let mut xs: Vec<f32> = (-2400..2400).map(|i| i as f32 * 0.00517).collect();
        xs.extend([-10.0, -9.999, 9.999, 10.0, 10.5, -10.5, 0.0, -0.0, 1e-8, -1e-8, 65504.0, -7e4, f32::NAN]);
        let up: Vec<f32> = xs.iter().enumerate().map(|(i, _)| 0.5 + (i % 7) as f32 * 0.37 - 1.0).collect();
        let mut got = xs.clone();
        geglu(&mut got, &up);
        for ((x, u), g) in xs.iter().zip(&up).zip(&got) {
            let want = if *x <= -10.0 {
                0.0
            } else if *x >= 10.0 {
                *x * u
            } else {
                f16::from_f32(gelu(f16::from_f32(*x).to_f32())).to_f32() * u
            };
            assert!(want.to_bits() == g.to_bits() || (want.is_nan() && g.is_nan()), "x {x}: {g} vs {want}");
        }
    }
}
