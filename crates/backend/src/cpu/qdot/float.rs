//! The float types (`ggml_vec_dot_f16`, `ggml_vec_dot_bf16`, `ggml_vec_dot_f32` in vec.cpp,
//! scalar paths): each product is taken in f32 and summed in f64 (`ggml_float`), the total
//! rounded to f32 at the end.

use super::{f16_at, f32_at};

/// `ggml_bf16_to_fp32`: the bits shifted into the high half of an f32.
fn bf16_at(b: &[u8], at: usize) -> f32 {
    f32::from_bits(u32::from(u16::from_le_bytes([b[at], b[at + 1]])) << 16)
}

pub(super) fn f16_f16(w: &[u8], a: &[u8], n: usize) -> f32 {
    let mut sumf = 0f64;
    for (x, y) in w.chunks_exact(2).zip(a.chunks_exact(2)).take(n) {
        sumf += f64::from(f16_at(x, 0) * f16_at(y, 0));
    }
    sumf as f32
}

pub(super) fn bf16_bf16(w: &[u8], a: &[u8], n: usize) -> f32 {
    let mut sumf = 0f64;
    for (x, y) in w.chunks_exact(2).zip(a.chunks_exact(2)).take(n) {
        sumf += f64::from(bf16_at(x, 0) * bf16_at(y, 0));
    }
    sumf as f32
}

pub(super) fn f32_f32(w: &[u8], a: &[u8], n: usize) -> f32 {
    let mut sumf = 0f64;
    for (x, y) in w.chunks_exact(4).zip(a.chunks_exact(4)).take(n) {
        sumf += f64::from(f32_at(x, 0) * f32_at(y, 0));
    }
    sumf as f32
}
