//! Gated feed-forward activations (in place on the gate half): SwiGLU and GeGLU.

use half::f16;

pub fn silu(x: f32) -> f32 {
    x / (1.0 + (-x).exp())
}

/// tanh approximation, as ggml_gelu and PyTorch's gelu(approximate="tanh") that Gemma uses.
pub fn gelu(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + 0.044715 * x * x)).tanh())
}

/// gate = silu(gate) * up
pub fn swiglu(gate: &mut [f32], up: &[f32]) {
    gate.iter_mut().zip(up).for_each(|(g, u)| *g = silu(*g) * u);
}

/// gate = gelu(gate) * up, with llama.cpp's CPU rounding (ggml_vec_geglu_f32 under
/// GGML_GELU_FP16): gelu of the f16-rounded input, rounded to f16; identity above 10, zero
/// below -10. Matching it keeps our logits within llama.cpp's at every position.
pub fn geglu(gate: &mut [f32], up: &[f32]) {
    gate.iter_mut().zip(up).for_each(|(g, u)| {
        let x = *g;
        let y = if x <= -10.0 {
            0.0
        } else if x >= 10.0 {
            x
        } else {
            f16::from_f32(gelu(f16::from_f32(x).to_f32())).to_f32()
        };
        *g = y * u;
    });
}
