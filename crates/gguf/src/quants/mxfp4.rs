//! MXFP4 (OCP microscaling FP4): 32 E2M1 values sharing one E8M0 power-of-two exponent
//! (`dequantize_row_mxfp4` in ggml-quants.c).

use super::packing::nibble;

/// `kvalues_mxfp4` (ggml-common.h): the E2M1 values, doubled so they are integers; the
/// halving is folded into the scale (`GGML_E8M0_TO_FP32_HALF`).
pub const KVALUES_MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// `ggml_e8m0_to_fp32_half` (ggml-impl.h): 2^(e - 128), exactly, including e = 0 and 1 (f32
/// subnormals) and e = 255 (2^127: ggml has no NaN encoding here, unlike the OCP spec).
pub fn e8m0_to_f32_half(e: u8) -> f32 {
    let bits = if e < 2 { 0x0020_0000u32 << e } else { u32::from(e - 1) << 23 };
    f32::from_bits(bits)
}

// block_mxfp4 (dequantize_row_mxfp4): e u8 (E8M0) | qs [16]
//   y = level * 2^(e - 128)
pub(super) fn mxfp4(b: &[u8], y: &mut [f32]) {
    let d = e8m0_to_f32_half(b[0]);
    let qs = &b[1..17];
    for (k, out) in y.iter_mut().enumerate() {
        *out = f32::from(KVALUES_MXFP4[usize::from(nibble(qs, 16, k))]) * d;
    }
}

#[cfg(test)]
mod tests {
    use super::e8m0_to_f32_half;

    #[test]
    fn e8m0_half_is_two_to_the_e_minus_128() {
        for e in 0..=255u8 {
            assert_eq!(e8m0_to_f32_half(e), 2f64.powi(i32::from(e) - 128) as f32, "e = {e}");
        }
    }
}
