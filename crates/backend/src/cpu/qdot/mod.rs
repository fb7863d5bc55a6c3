//! Quantized dot products with llama.cpp's CPU rounding.
//!
//! ggml's CPU matmul never multiplies a quantized weight row by f32 activations: it first
//! encodes each activation row in the weight type's `vec_dot_type` (`type_traits_cpu` in
//! ggml-cpu.c), an 8-bit block format for the quantized types, then takes a dot product that
//! sums integer products per (sub-)block and applies the block scales in f32. Logits that are to
//! match llama.cpp's must round the same way, so this module provides both halves:
//!
//! * [`quantize_row`] encodes an f32 row as [`ActType`] (Q8_0, Q8_1, Q8_K, F16, BF16 or F32);
//! * [`vec_dot`] dots a weight row with an encoded activation row, with the integer sums and
//!   the f32 scale products in the order of ggml's scalar `ggml_vec_dot_*_generic` functions
//!   (ggml-cpu/quants.c, and vec.cpp for the float types). ggml's SIMD builds compute the same
//!   integer sums and the same per-block scales; only the order of the f32 accumulation (and FMA
//!   contraction) differs, so results agree to a few ulps of the sum.
//!
//! Q8_0 and Q8_1 activations have two encodings in ggml that can differ by one in a quant (see
//! [`Q8Rounding`]); [`quantize_row`] uses the one llama.cpp's x86 builds run.

mod float;
pub mod gemm;
mod iq4;
mod kquants;
mod legacy;
mod mxfp4;
mod quantize;
#[cfg(target_arch = "x86_64")]
mod x86;

use gguf::{GgmlType, QK_K};

pub use gemm::{gemm_kernel, gemm_kernel_for, Gemm, GroupMut, PackedActs, GEMM_TYPES};

/// Every weight type the CPU multiplies (each has a [`dot_kernel`]), in a fixed order that
/// synthetic models rotate through.
pub const WEIGHT_TYPES: [GgmlType; 16] = [
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::IQ4_NL,
    GgmlType::IQ4_XS,
    GgmlType::MXFP4,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::F32,
];

/// The activation encoding llama.cpp pairs with each weight type
/// (`type_traits_cpu[].vec_dot_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum ActType {
    /// block_q8_0: `d` f16 | `qs` [32] i8 (34 bytes per 32 values).
    Q8_0,
    /// block_q8_1: `d` f16 | `s` f16 (= d * sum of qs) | `qs` [32] i8 (36 bytes per 32 values).
    Q8_1,
    /// block_q8_K: `d` f32 | `qs` [256] i8 | `bsums` [16] i16 (292 bytes per 256 values).
    Q8_K,
    /// IEEE half, little-endian, rounded to nearest even.
    F16,
    /// bfloat16 (the high half of an f32), little-endian, rounded to nearest even.
    BF16,
    /// The f32 values themselves, little-endian.
    F32,
}

impl ActType {
    /// Values per block.
    pub fn block_size(self) -> usize {
        match self {
            ActType::Q8_0 | ActType::Q8_1 => 32,
            ActType::Q8_K => QK_K,
            ActType::F16 | ActType::BF16 | ActType::F32 => 1,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            ActType::Q8_0 => 34,
            ActType::Q8_1 => 36,
            ActType::Q8_K => 292,
            ActType::F16 | ActType::BF16 => 2,
            ActType::F32 => 4,
        }
    }
}

/// How Q8_0 and Q8_1 activations are rounded. ggml has two encoders for them:
///
/// * `quantize_row_q8_0_ref` / `quantize_row_q8_1_ref` (ggml-quants.c), which the generic
///   (non-SIMD) CPU build calls: `d = amax / 127`, `id = 1 / d`, `q = roundf(x * id)` (ties away
///   from zero);
/// * the AVX/AVX2 `quantize_row_q8_0` / `quantize_row_q8_1` of ggml-cpu/arch/x86/quants.c, which
///   every x86 build of llama.cpp with AVX runs: the same `d`, but `id = 127 / amax` and
///   `_mm256_round_ps(_MM_ROUND_NEAREST)` (ties to even).
///
/// The two give the same quant except where `x * id` lies within an ulp of a half-integer.
/// Q8_K has a single encoder (`quantize_row_q8_K_ref`, used by x86 too), so this setting does
/// not affect it, nor the float encodings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Q8Rounding {
    /// llama.cpp on x86 with AVX/AVX2 (the default).
    #[default]
    X86Avx,
    /// ggml's scalar reference encoder.
    Reference,
}

/// The activation encoding ggml's CPU backend uses with `weight`, or `None` for a weight type
/// [`vec_dot`] does not handle.
pub fn act_type_for(weight: GgmlType) -> Option<ActType> {
    use GgmlType::*;
    Some(match weight {
        Q4_0 | Q5_0 | Q8_0 | IQ4_NL | MXFP4 => ActType::Q8_0,
        Q4_1 | Q5_1 => ActType::Q8_1,
        Q2_K | Q3_K | Q4_K | Q5_K | Q6_K | IQ4_XS => ActType::Q8_K,
        F16 => ActType::F16,
        BF16 => ActType::BF16,
        F32 => ActType::F32,
        _ => return None,
    })
}

/// Bytes of one activation row of `cols` values in this encoding (`cols` is expected to be a
/// multiple of the block size; a partial block is counted as a whole one).
pub fn act_row_bytes(ty: ActType, cols: usize) -> usize {
    cols.div_ceil(ty.block_size()) * ty.block_bytes()
}

/// Encode one f32 row into `out` exactly as llama.cpp's x86 CPU backend does
/// ([`Q8Rounding::X86Avx`]; see [`quantize_row_with`]).
///
/// Panics if `x.len()` is not a multiple of the block size or `out` is not
/// `act_row_bytes(ty, x.len())` bytes long.
pub fn quantize_row(ty: ActType, x: &[f32], out: &mut [u8]) {
    quantize_row_with(ty, x, out, Q8Rounding::X86Avx);
}

/// Encode one f32 row into `out`, with the chosen Q8_0/Q8_1 rounding. Block layouts are those
/// of [`ActType`]; an all-zero block gets `d = 0` and zero quants (and zero `bsums`).
///
/// Panics if `x.len()` is not a multiple of the block size or `out` is not
/// `act_row_bytes(ty, x.len())` bytes long.
pub fn quantize_row_with(ty: ActType, x: &[f32], out: &mut [u8], rounding: Q8Rounding) {
    let bs = ty.block_size();
    assert!(
        x.len().is_multiple_of(bs),
        "quantize_row: {} values is not a whole number of {ty:?} blocks of {bs}",
        x.len()
    );
    assert_eq!(out.len(), act_row_bytes(ty, x.len()), "quantize_row: output length for {} {ty:?} values", x.len());
    #[cfg(target_arch = "x86_64")]
    if x86::quantize_row_with(ty, x, out, rounding) {
        return;
    }
    quantize_row_impl(ty, x, out, rounding);
}

/// The body of [`quantize_row_with`] (shapes checked), inlined into a build for the SIMD level
/// in force where there is one: the same operations, rounding instructions instead of `rintf`
/// calls.
#[inline(always)]
fn quantize_row_impl(ty: ActType, x: &[f32], out: &mut [u8], rounding: Q8Rounding) {
    let bs = ty.block_size();
    let blocks = x.chunks_exact(bs).zip(out.chunks_exact_mut(ty.block_bytes()));
    match (ty, rounding) {
        (ActType::Q8_0, Q8Rounding::X86Avx) => blocks.for_each(|(x, y)| quantize::q8_0_x86(x, y)),
        (ActType::Q8_0, Q8Rounding::Reference) => blocks.for_each(|(x, y)| quantize::q8_0_ref(x, y)),
        (ActType::Q8_1, Q8Rounding::X86Avx) => blocks.for_each(|(x, y)| quantize::q8_1_x86(x, y)),
        (ActType::Q8_1, Q8Rounding::Reference) => blocks.for_each(|(x, y)| quantize::q8_1_ref(x, y)),
        (ActType::Q8_K, _) => blocks.for_each(|(x, y)| quantize::q8_k(x, y)),
        (ActType::F16, _) => quantize::f16_row(x, out),
        (ActType::BF16, _) => quantize::bf16_row(x, out),
        (ActType::F32, _) => quantize::f32_row(x, out),
    }
}

/// Which of llama.cpp's two x86 kernels for a weight type a product rounds as. They differ for
/// Q4_K and Q6_K only (ARCHITECTURE.md, "Goldens against llama.cpp"), where `cpu::InBatch`
/// picks one per token; for every other type both are the same kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Path {
    /// The one-token kernel: Q6_K's `vec_dot` (eight f32 lanes, `fma(d, lane, acc)` per
    /// super-block, then `hsum_float_8`), the repacked Q4_K's GEMV (per super-block).
    #[default]
    Single,
    /// The batched kernel: Q6_K's tiled K-quant kernel (`fma(isum * dx, dy, acc)` per
    /// super-block), the repacked Q4_K's GEMM (per 64 elements).
    Batched,
}

/// A dot-product kernel: `(weight row, activation row, number of blocks) -> dot`. The slices
/// hold at least that many blocks of the weight type and of its [`ActType`].
pub type DotKernel = fn(&[u8], &[u8], usize) -> f32;

/// The kernel for `weight` (with activations in `act_type_for(weight)`), or `None` for a type
/// [`vec_dot`] does not handle. Callers that dot many rows can look it up once.
///
/// Where the CPU has the features (detected once per process; on x86-64 the environment
/// variable `ROCMFORGE_CPU_SIMD=scalar|avx2|avx512` caps the level), this is a SIMD kernel
/// with the same integer sums and per-block scale products as [`scalar_dot_kernel`]'s; only
/// the order in which block results are added differs.
pub fn dot_kernel(weight: GgmlType) -> Option<DotKernel> {
    dot_kernel_for(weight, Path::Single)
}

/// [`dot_kernel`] rounding as llama.cpp's kernel on `path`. The SIMD levels follow the path;
/// the scalar kernels (ggml's generic code) have one rounding for both.
pub fn dot_kernel_for(weight: GgmlType, path: Path) -> Option<DotKernel> {
    #[cfg(target_arch = "x86_64")]
    if let Some(kernel) = x86::dot_kernel(weight, path) {
        return Some(kernel);
    }
    scalar_dot_kernel(weight)
}

/// The portable scalar kernel for `weight` (what [`vec_dot`] runs), the reference the SIMD
/// kernels of [`dot_kernel`] are tested against.
pub fn scalar_dot_kernel(weight: GgmlType) -> Option<DotKernel> {
    use GgmlType::*;
    Some(match weight {
        Q4_0 => legacy::q4_0_q8_0,
        Q4_1 => legacy::q4_1_q8_1,
        Q5_0 => legacy::q5_0_q8_0,
        Q5_1 => legacy::q5_1_q8_1,
        Q8_0 => legacy::q8_0_q8_0,
        Q2_K => kquants::q2_k_q8_k,
        Q3_K => kquants::q3_k_q8_k,
        Q4_K => kquants::q4_k_q8_k,
        Q5_K => kquants::q5_k_q8_k,
        Q6_K => kquants::q6_k_q8_k,
        IQ4_NL => iq4::iq4_nl_q8_0,
        IQ4_XS => iq4::iq4_xs_q8_k,
        MXFP4 => mxfp4::mxfp4_q8_0,
        F16 => float::f16_f16,
        BF16 => float::bf16_bf16,
        F32 => float::f32_f32,
        _ => return None,
    })
}

/// dot(weight row, activation row) over `cols` values, with ggml's arithmetic for the pair.
/// `act_row` is a row encoded by [`quantize_row`] as `act_type_for(weight)`. This is the
/// reference: it runs the [`scalar_dot_kernel`], rounding bit for bit as ggml's generic code.
///
/// Panics if `weight` has no kernel (`act_type_for(weight)` is `None`), `cols` is not a
/// multiple of the weight's block size, or either row is shorter than `cols` values.
pub fn vec_dot(weight: GgmlType, w_row: &[u8], act_row: &[u8], cols: usize) -> f32 {
    let (Some(act), Some(kernel)) = (act_type_for(weight), scalar_dot_kernel(weight)) else {
        panic!("vec_dot: no quantized dot product for {weight}");
    };
    let bs = weight.block_size();
    assert!(cols.is_multiple_of(bs), "vec_dot: {cols} columns is not a whole number of {weight} blocks");
    let n_blocks = cols / bs;
    assert!(
        w_row.len() >= n_blocks * weight.type_size(),
        "vec_dot: {weight} row of {} bytes holds fewer than {cols} values",
        w_row.len()
    );
    assert!(
        act_row.len() >= act_row_bytes(act, cols),
        "vec_dot: {act:?} row of {} bytes holds fewer than {cols} values",
        act_row.len()
    );
    kernel(w_row, act_row, n_blocks)
}

/// IEEE half to f32, exactly (`GGML_CPU_FP16_TO_FP32`), in integer operations only: a float
/// multiply here gets vectorised by LLVM with unused lanes that can hold denormals, and each
/// denormal operand costs a microcode assist.
#[inline(always)]
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let e = u32::from(h >> 10) & 0x1f;
    let m = u32::from(h & 0x3ff);
    let bits = if e == 0x1f {
        // Infinity; a NaN keeps its payload and comes out quiet, as from F16C's vcvtph2ps.
        0x7f80_0000 | (m << 13) | if m != 0 { 0x0040_0000 } else { 0 }
    } else if e != 0 {
        ((e + 112) << 23) | (m << 13) // rebias 15 -> 127
    } else if m == 0 {
        0
    } else {
        // Subnormal: m * 2^-24 with the top set bit of m at position p becomes a normal f32.
        let p = 31 - m.leading_zeros();
        ((p + 103) << 23) | ((m << (23 - p)) & 0x007f_ffff)
    };
    f32::from_bits(sign | bits)
}

/// The little-endian f16 at byte `at`, widened (exactly) to f32.
#[inline(always)]
fn f16_at(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// The little-endian f32 at byte `at`.
#[inline(always)]
fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;
    use half::f16;

    #[test]
    fn f16_widening_is_exact_for_every_half() {
        for h in 0..=u16::MAX {
            let want = f16::from_bits(h).to_f32();
            let got = f16_to_f32(h);
            if want.is_nan() {
                // half quiets NaNs where it uses F16C, not in its software path.
                assert_eq!(got.to_bits(), want.to_bits() | 0x0040_0000, "{h:#06x}");
            } else {
                assert_eq!(got.to_bits(), want.to_bits(), "{h:#06x}");
            }
        }
    }
}
