//! MXFP4 against Q8_0 (`ggml_vec_dot_mxfp4_q8_0_generic`): 32 E2M1 values sharing an E8M0
//! power-of-two exponent.

// The E2M1 values doubled to integers (`kvalues_mxfp4`); the halving is in the scale.
use gguf::quants::{e8m0_to_f32_half, KVALUES_MXFP4};

use super::f16_at;

// block_mxfp4: e u8 | qs [16]
//   d = y.d * 2^(e - 128);  sumf += d * (sumi1 + sumi2)
pub(super) fn mxfp4_q8_0(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(17).zip(a.chunks_exact(34)).take(nb) {
        let d = f16_at(y, 0) * e8m0_to_f32_half(x[0]);
        let (qs, q8) = (&x[1..17], &y[2..34]);
        let (mut s1, mut s2) = (0i32, 0i32);
        for j in 0..16 {
            s1 += i32::from(q8[j] as i8) * i32::from(KVALUES_MXFP4[usize::from(qs[j] & 0xF)]);
            s2 += i32::from(q8[j + 16] as i8) * i32::from(KVALUES_MXFP4[usize::from(qs[j] >> 4)]);
        }
        sumf += d * (s1 + s2) as f32;
    }
    sumf
}
