//! Little readers for the packed fields that several block layouts share. `k` is always the index
//! of an element within the block (or within the run of elements the packed slice covers).

use half::f16;

/// The little-endian f16 at byte `at`, widened exactly to f32 (`GGML_FP16_TO_FP32`).
pub(super) fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// The 4-bit quant of element `k` in ggml's nibble packing: each `run` bytes hold `2 * run`
/// elements, the first `run` in the low nibbles and the next `run` in the high nibbles.
/// `run` is 16 for the 32-element blocks (Q4_0, IQ4_NL, ... and IQ4_XS sub-blocks), 32 for the
/// `qs` of Q4_K/Q5_K and 64 for the `ql` of Q6_K.
pub(super) fn nibble(qs: &[u8], run: usize, k: usize) -> u8 {
    let byte = qs[run * (k / (2 * run)) + k % run];
    (byte >> (4 * ((k / run) % 2))) & 0xF
}

/// The 2-bit field of element `k` in the K-quant crumb packing: each 32 bytes hold 128 elements
/// in four runs of 32, run `s` in bits `2s..2s+2`. Used by `qs` of Q2_K/Q3_K and `qh` of Q6_K.
pub(super) fn crumb(qs: &[u8], k: usize) -> u8 {
    let byte = qs[32 * (k / 128) + k % 32];
    (byte >> (2 * ((k / 32) % 4))) & 3
}

/// The high bit of element `k` in the K-quant bit-mask packing: 32 bytes for 256 elements,
/// element `k` in bit `k / 32` of byte `k % 32`. Used by `hmask` of Q3_K and `qh` of Q5_K.
pub(super) fn bit(mask: &[u8], k: usize) -> u8 {
    (mask[k % 32] >> (k / 32)) & 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nibble_order_matches_ggml_loops() {
        // 32-element block: y[j] = qs[j] & 0xF, y[j + 16] = qs[j] >> 4.
        let qs: Vec<u8> = (0..16).map(|j| (j as u8) | ((15 - j as u8) << 4)).collect();
        for j in 0..16 {
            assert_eq!(nibble(&qs, 16, j), j as u8);
            assert_eq!(nibble(&qs, 16, j + 16), 15 - j as u8);
        }
        // Q4_K: 64 elements per 32 bytes.
        let qs: Vec<u8> = (0..128).map(|j| j as u8).collect();
        assert_eq!(nibble(&qs, 32, 64 + 5), (32 + 5) & 0xF);
        assert_eq!(nibble(&qs, 32, 64 + 32 + 5), (32 + 5) >> 4);
    }

    #[test]
    fn crumb_and_bit_order() {
        let mut qs = [0u8; 64];
        qs[32 + 3] = 0b1100_0000; // second half, fourth run, l = 3
        assert_eq!(crumb(&qs, 128 + 96 + 3), 3);
        assert_eq!(crumb(&qs, 128 + 3), 0);
        let mut mask = [0u8; 32];
        mask[7] = 1 << 5;
        assert_eq!(bit(&mask, 5 * 32 + 7), 1);
        assert_eq!(bit(&mask, 7), 0);
    }
}
