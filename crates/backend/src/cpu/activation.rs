//! Gated feed-forward activations (in place on the gate half): SwiGLU and GeGLU.

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

/// gate = gelu(gate) * up
pub fn geglu(gate: &mut [f32], up: &[f32]) {
    gate.iter_mut().zip(up).for_each(|(g, u)| *g = gelu(*g) * u);
}
