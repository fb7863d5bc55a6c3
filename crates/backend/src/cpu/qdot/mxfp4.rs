//! MXFP4 against Q8_0 (`ggml_vec_dot_mxfp4_q8_0_generic`): 32 E2M1 values sharing an E8M0
//! power-of-two exponent.

use super::f16_at;

/// `kvalues_mxfp4` (ggml-common.h): the E2M1 values doubled to integers; the halving is in the
/// scale ([`e8m0_to_f32_half`]).
const KVALUES_MXFP4: [i32; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// `GGML_E8M0_TO_FP32_HALF`: 2^(e - 128) exactly, f32 subnormals for e = 0 and 1.
fn e8m0_to_f32_half(e: u8) -> f32 {
    let bits = if e < 2 { 0x0020_0000u32 << e } else { u32::from(e - 1) << 23 };
    f32::from_bits(bits)
}

// block_mxfp4: e u8 | qs [16]
//   d = y.d * 2^(e - 128);  sumf += d * (sumi1 + sumi2)
pub(super) fn mxfp4_q8_0(w: &[u8], a: &[u8], nb: usize) -> f32 {
    let mut sumf = 0f32;
    for (x, y) in w.chunks_exact(17).zip(a.chunks_exact(34)).take(nb) {
        let d = f16_at(y, 0) * e8m0_to_f32_half(x[0]);
        let (qs, q8) = (&x[1..17], &y[2..34]);
        let (mut s1, mut s2) = (0i32, 0i32);
        for j in 0..16 {
            s1 += i32::from(q8[j] as i8) * KVALUES_MXFP4[usize::from(qs[j] & 0xF)];
            s2 += i32::from(q8[j + 16] as i8) * KVALUES_MXFP4[usize::from(qs[j] >> 4)];
        }
        sumf += d * (s1 + s2) as f32;
    }
    sumf
}

#[cfg(test)]
mod tests {
    use super::e8m0_to_f32_half;

    #[test]
    fn e8m0_half() {
        for e in 0..=255u8 {
            assert_eq!(e8m0_to_f32_half(e), 2f64.powi(i32::from(e) - 128) as f32, "e = {e}");
        }
    }
}
