//! Activation encoders: one block of f32 in, one encoded block out.
//!
//! Q8_0/Q8_1 follow `quantize_row_q8_{0,1}_ref` (ggml-quants.c) and the AVX path of
//! `quantize_row_q8_{0,1}` (ggml-cpu/arch/x86/quants.c); Q8_K follows `quantize_row_q8_K_ref`,
//! which x86 builds call as well; F16/BF16 follow `ggml_cpu_fp32_to_fp16` / `ggml_fp32_to_bf16`.

use half::f16;

/// The largest |x| of a Q8_0/Q8_1 block (`MAX(amax, fabsf(v))`, or `_mm256_max_ps` of the
/// absolute values: the same for finite input).
#[inline(always)]
fn block_amax(x: &[f32]) -> f32 {
    x.iter().fold(0f32, |m, v| if m > v.abs() { m } else { v.abs() })
}

/// `_mm256_cvtps_epi32` of an already rounded value (out of range or NaN gives `i32::MIN`),
/// then the saturating `_mm256_packs_epi32` / `_mm256_packs_epi16` down to i8.
#[inline(always)]
fn cvt_pack_i8(v: f32) -> i8 {
    let i = if v.abs() < 2_147_483_648.0 { v as i32 } else { i32::MIN };
    i.clamp(-128, 127) as i8
}

/// Fill `qs` (32 bytes) with the block's quants; returns (the f32 `d`, the sum of the quants).
/// x86 AVX: `id = 127 / amax`, round half to even.
#[inline(always)]
fn q8_block_x86(x: &[f32], qs: &mut [u8]) -> (f32, i32) {
    let amax = block_amax(x);
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    let mut sum = 0i32;
    for (q, &v) in qs.iter_mut().zip(x) {
        let r = (v * id).round_ties_even();
        // The AVX2 path sums the i32 lanes before packing; they are equal unless saturated.
        let lane = if r.abs() < 2_147_483_648.0 { r as i32 } else { i32::MIN };
        sum = sum.wrapping_add(lane);
        *q = cvt_pack_i8(r) as u8;
    }
    (d, sum)
}

/// Reference: `id = 1 / d`, `roundf` (half away from zero), stored as int8_t.
#[inline(always)]
fn q8_block_ref(x: &[f32], qs: &mut [u8]) -> (f32, i32) {
    let amax = block_amax(x);
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut sum = 0i32;
    for (q, &v) in qs.iter_mut().zip(x) {
        let r = (v * id).round() as i8;
        sum += i32::from(r);
        *q = r as u8;
    }
    (d, sum)
}

#[inline(always)]
fn put_f16(out: &mut [u8], at: usize, v: f32) {
    out[at..at + 2].copy_from_slice(&f16::from_f32(v).to_le_bytes());
}

// block_q8_0: d f16 | qs [32] i8
#[inline(always)]
pub(super) fn q8_0_x86(x: &[f32], y: &mut [u8]) {
    let (d, _) = q8_block_x86(x, &mut y[2..34]);
    put_f16(y, 0, d);
}

#[inline(always)]
pub(super) fn q8_0_ref(x: &[f32], y: &mut [u8]) {
    let (d, _) = q8_block_ref(x, &mut y[2..34]);
    put_f16(y, 0, d);
}

// block_q8_1: d f16 | s f16 | qs [32] i8, with s = d * sum(qs) computed from the f32 d.
#[inline(always)]
pub(super) fn q8_1_x86(x: &[f32], y: &mut [u8]) {
    let (d, sum) = q8_block_x86(x, &mut y[4..36]);
    put_f16(y, 0, d);
    put_f16(y, 2, d * sum as f32);
}

#[inline(always)]
pub(super) fn q8_1_ref(x: &[f32], y: &mut [u8]) {
    let (d, sum) = q8_block_ref(x, &mut y[4..36]);
    put_f16(y, 0, d);
    put_f16(y, 2, sum as f32 * d);
}

/// ggml's `nearest_int`: adding 1.5 * 2^23 rounds to an integer (ties to even) for
/// |v| <= 2^22, which is all a Q8_K block produces.
#[inline(always)]
fn nearest_int(v: f32) -> i32 {
    v.round_ties_even() as i32
}

// block_q8_K: d f32 | qs [256] i8 | bsums [16] i16
//   the signed value `max` of largest magnitude (first one on ties) maps to -127:
//   iscale = -127 / max, q = min(127, nearest_int(iscale * x)), d = 1 / iscale.
#[inline(always)]
pub(super) fn q8_k(x: &[f32], y: &mut [u8]) {
    let (mut max, mut amax) = (0f32, 0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax == 0.0 {
        // ggml leaves bsums as they were; zero is what they summarise.
        y.fill(0);
        return;
    }
    let iscale = -127.0 / max;
    let (head, bsums) = y.split_at_mut(260);
    for (q, &v) in head[4..].iter_mut().zip(x) {
        *q = nearest_int(iscale * v).min(127) as i8 as u8;
    }
    for (sum, group) in bsums.chunks_exact_mut(2).zip(head[4..].chunks_exact(16)) {
        let s: i32 = group.iter().map(|&q| i32::from(q as i8)).sum();
        sum.copy_from_slice(&(s as i16).to_le_bytes());
    }
    head[..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
}

// F16: round to nearest even (F16C `_mm256_cvtps_ph(x, 0)` and the scalar fallback agree).
#[inline(always)]
pub(super) fn f16_row(x: &[f32], out: &mut [u8]) {
    for (o, &v) in out.chunks_exact_mut(2).zip(x) {
        o.copy_from_slice(&f16::from_f32(v).to_le_bytes());
    }
}

/// `ggml_compute_fp32_to_bf16`: NaN stays a (quiet) NaN, everything else rounds to nearest
/// even on the top 16 bits.
#[inline(always)]
fn to_bf16_bits(v: f32) -> u16 {
    let u = v.to_bits();
    if (u & 0x7fff_ffff) > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    (u.wrapping_add(0x7fff + ((u >> 16) & 1)) >> 16) as u16
}

#[inline(always)]
pub(super) fn bf16_row(x: &[f32], out: &mut [u8]) {
    for (o, &v) in out.chunks_exact_mut(2).zip(x) {
        o.copy_from_slice(&to_bf16_bits(v).to_le_bytes());
    }
}

#[inline(always)]
pub(super) fn f32_row(x: &[f32], out: &mut [u8]) {
    for (o, &v) in out.chunks_exact_mut(4).zip(x) {
        o.copy_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bf16_rounds_to_nearest_even() {
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to the even (1.0).
        assert_eq!(to_bf16_bits(1.0 + 2f32.powi(-8)), 0x3f80);
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties to even (1 + 2^-6).
        assert_eq!(to_bf16_bits(1.0 + 3.0 * 2f32.powi(-8)), 0x3f82);
        assert_eq!(to_bf16_bits(-2.0), 0xc000);
        assert_eq!(to_bf16_bits(f32::INFINITY), 0x7f80);
        assert_eq!(to_bf16_bits(f32::NAN), 0x7fc0);
        // A signalling NaN whose payload is all in the low half stays a NaN.
        assert_eq!(to_bf16_bits(f32::from_bits(0x7f80_0001)), 0x7fc0);
    }

    #[test]
    fn nearest_int_is_the_magic_number_trick() {
        // The C expression: add 1.5 * 2^23 and read the low mantissa bits.
        let magic = |v: f32| ((v + 12_582_912.0).to_bits() & 0x007f_ffff) as i32 - 0x0040_0000;
        for i in -2000..=2000 {
            let v = i as f32 * 0.0625 + 0.03125 * (i % 3) as f32;
            assert_eq!(nearest_int(v), magic(v), "v = {v}");
        }
        for v in [0.5f32, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, -127.5, 126.99999] {
            assert_eq!(nearest_int(v), magic(v), "v = {v}");
        }
    }

    #[test]
    fn cvt_pack_saturates_like_avx2() {
        assert_eq!(cvt_pack_i8(127.0), 127);
        assert_eq!(cvt_pack_i8(300.0), 127);
        assert_eq!(cvt_pack_i8(-300.0), -128);
        assert_eq!(cvt_pack_i8(f32::INFINITY), -128);
        assert_eq!(cvt_pack_i8(f32::NAN), -128);
    }
}
