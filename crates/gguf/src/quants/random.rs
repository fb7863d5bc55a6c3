//! Random blocks that decode to finite values of a chosen magnitude: weights for synthetic
//! models, and inputs for testing kernels against the reference decoders.

use half::{bf16, f16};
use rand::Rng;

use super::DequantError;
use crate::GgmlType;

/// A scale field of a block layout: `(byte offset, reach)`. `reach` is the largest |decoded
/// value| the field can produce per unit of its own value (the product of the largest integer
/// factors it multiplies), doubled where a block has two fields; a field of magnitude
/// `scale / reach` keeps the block's weights within about ±scale.
#[derive(Clone, Copy)]
enum Field {
    Fp16(usize, f32),
    Fp32(usize, f32),
    /// MXFP4's shared exponent, decoding to the power of two 2^(e - 128).
    E8m0(usize, f32),
}

/// The scale fields of each block type; offsets as in the layout comments of the decoders.
fn scale_fields(ty: GgmlType) -> &'static [Field] {
    use Field::*;
    use GgmlType::*;
    match ty {
        Q4_0 => &[Fp16(0, 8.0)],                    // |q - 8| <= 8
        Q4_1 => &[Fp16(0, 30.0), Fp16(2, 2.0)],     // q <= 15; + m
        Q5_0 => &[Fp16(0, 16.0)],                   // |q - 16| <= 16
        Q5_1 => &[Fp16(0, 62.0), Fp16(2, 2.0)],     // q <= 31; + m
        Q8_0 => &[Fp16(0, 128.0)],                  // |q| <= 128
        Q2_K => &[Fp16(80, 90.0), Fp16(82, 30.0)],  // 15*3; min 15
        Q3_K => &[Fp16(108, 128.0)],                // |scale| <= 32, |q| <= 4
        Q4_K => &[Fp16(0, 1890.0), Fp16(2, 126.0)], // 63*15; min 63
        Q5_K => &[Fp16(0, 3906.0), Fp16(2, 126.0)], // 63*31; min 63
        Q6_K => &[Fp16(208, 4096.0)],               // |scale| <= 128, |q| <= 32
        Q8_K => &[Fp32(0, 128.0)],                  // |q| <= 128
        IQ4_NL => &[Fp16(0, 127.0)],                // |level| <= 127
        IQ4_XS => &[Fp16(0, 4064.0)],               // |scale| <= 32, |level| <= 127
        MXFP4 => &[E8m0(0, 12.0)],                  // |level| <= 12 (doubled E2M1)
        _ => &[],
    }
}

/// `n_blocks` random blocks of `ty` that decode to finite values: every byte is random except
/// the scale fields (f16 `d`/`dmin`/`m`, the f32 `d` of Q8_K, the E8M0 exponent of MXFP4), which
/// get a random sign and a magnitude between half and all of `scale / reach`, so decoded weights
/// lie roughly within ±`scale`. F32, F16 and BF16 elements are uniform in ±`scale`. Q8_K's
/// `bsums` are set to the sums they summarise, so its blocks are also valid for dot products.
///
/// A negative `scale` counts by its magnitude; a NaN or infinite one as `f32::MAX`. Fields are
/// clamped to their type's largest finite value. Panics only where a `Vec` of
/// `n_blocks * type_size` bytes could not be allocated.
pub fn random_blocks<R: Rng + ?Sized>(
    ty: GgmlType,
    n_blocks: usize,
    scale: f32,
    rng: &mut R,
) -> Result<Vec<u8>, DequantError> {
    if !ty.has_reference_dequant() {
        return Err(DequantError::Unsupported(ty));
    }
    let scale = scale.abs().min(f32::MAX);
    let type_size = ty.type_size();
    let mut out = vec![0u8; n_blocks.saturating_mul(type_size)];
    rng.fill_bytes(&mut out);
    for block in out.chunks_exact_mut(type_size) {
        match ty {
            GgmlType::F32 => block.copy_from_slice(&uniform(scale, rng).to_le_bytes()),
            GgmlType::F16 => {
                let v = f16::from_f32(uniform(scale.min(f16::MAX.to_f32()), rng));
                block.copy_from_slice(&v.to_le_bytes());
            }
            GgmlType::BF16 => {
                let v = bf16::from_f32(uniform(scale.min(bf16::MAX.to_f32()), rng));
                block.copy_from_slice(&v.to_le_bytes());
            }
            _ => {
                for &field in scale_fields(ty) {
                    set_field(block, field, scale, rng);
                }
            }
        }
        if ty == GgmlType::Q8_K {
            set_q8_k_bsums(block);
        }
    }
    Ok(out)
}

/// Uniform in [-scale, scale).
fn uniform<R: Rng + ?Sized>(scale: f32, rng: &mut R) -> f32 {
    scale * (2.0 * rng.gen::<f32>() - 1.0)
}

fn set_field<R: Rng + ?Sized>(block: &mut [u8], field: Field, scale: f32, rng: &mut R) {
    let fraction = 0.5 + 0.5 * rng.gen::<f32>();
    let sign = if rng.gen::<bool>() { -1.0 } else { 1.0 };
    match field {
        Field::Fp16(at, reach) => {
            let v = (scale / reach * fraction).min(f16::MAX.to_f32()) * sign;
            block[at..at + 2].copy_from_slice(&f16::from_f32(v).to_le_bytes());
        }
        Field::Fp32(at, reach) => {
            let v = scale / reach * fraction * sign;
            block[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }
        Field::E8m0(at, reach) => {
            // The largest e with reach * 2^(e - 128) <= the target; 252 is the largest whose
            // weights (up to 12 * 2^124) stay finite.
            let e = 128.0 + (scale / reach * fraction).log2().floor();
            block[at] = e.clamp(0.0, 252.0) as u8;
        }
    }
}

// block_q8_K: d f32 | qs [256] i8 | bsums [16] i16 (sum of each 16 quants)
fn set_q8_k_bsums(block: &mut [u8]) {
    let (head, bsums) = block.split_at_mut(260);
    for (sum, group) in bsums.chunks_exact_mut(2).zip(head[4..].chunks_exact(16)) {
        let s: i16 = group.iter().map(|&q| i16::from(q as i8)).sum();
        sum.copy_from_slice(&s.to_le_bytes());
    }
}
