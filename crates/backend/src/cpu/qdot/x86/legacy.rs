//! AVX2 kernels for the 32-element formats (scalar twins in `qdot/legacy.rs`).
//!
//! Each block's integer dot is exact. Q5_0 and Q8_0 follow llama.cpp's x86 arithmetic ([`lanes8`]);
//! the other formats go eight blocks at a time through [`blocks8`], which
//! turns their sums into f32 lanes, and the scale products are taken per lane in the scalar
//! kernel's order, so every block result is the scalar one.

use core::arch::x86_64::*;

use super::{blocks8, dot_i8, dot_u8, f16x8, hsum_ps, load256, nibbles, rd_u32};

/// 0xFF in byte `j` where bit `j` of the little-endian u32 at `p` is set, else 0.
///
/// Safety: `p..p + 4` is readable; AVX2 is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) unsafe fn bits_to_bytes(p: *const u8) -> __m256i {
    let v = _mm256_set1_epi32(rd_u32(p) as i32);
    // Byte j takes source byte j / 8 (pshufb indexes within each 128-bit half, and every half
    // holds all four bytes), then keeps bit j % 8.
    let spread = _mm256_setr_epi64x(0, 0x0101_0101_0101_0101, 0x0202_0202_0202_0202, 0x0303_0303_0303_0303);
    let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    let b = _mm256_and_si256(_mm256_shuffle_epi8(v, spread), bit);
    _mm256_cmpeq_epi8(b, bit)
}

// block_q4_0: d f16 | qs [16]; block_q8_0: d f16 | qs [32] i8.
//   block = sumi * dx * dy
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q4_0_q8_0(w: *const u8, a: *const u8, nb: usize) -> f32 {
    blocks8(
        nb,
        |i| {
            let x = _mm256_sub_epi8(nibbles(w.add(18 * i + 2)), _mm256_set1_epi8(8));
            dot_i8(x, load256(a.add(34 * i + 2)))
        },
        |i, n, s| _mm256_mul_ps(_mm256_mul_ps(s, f16x8(w.add(18 * i), 18, n)), f16x8(a.add(34 * i), 34, n)),
    )
}

// block_q4_1: d f16 | m f16 | qs [16]; block_q8_1: d f16 | s f16 | qs [32] i8.
//   block = (dx * dy) * sumi + mx * sy
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q4_1_q8_1(w: *const u8, a: *const u8, nb: usize) -> f32 {
    blocks8(
        nb,
        |i| dot_u8(nibbles(w.add(20 * i + 4)), load256(a.add(36 * i + 4))),
        |i, n, s| {
            let (x, y) = (w.add(20 * i), a.add(36 * i));
            let dd = _mm256_mul_ps(f16x8(x, 20, n), f16x8(y, 36, n));
            let ms = _mm256_mul_ps(f16x8(x.add(2), 20, n), f16x8(y.add(2), 36, n));
            _mm256_add_ps(_mm256_mul_ps(dd, s), ms)
        },
    )
}

// block_q5_0: d f16 | qh u32 | qs [16].
//   lane k = fma(dx * dy, sum of elements 4k..4k+4, lane k) over the blocks; hsum_ps
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q5_0_q8_0(w: *const u8, a: *const u8, nb: usize) -> f32 {
    lanes8(
        nb,
        |i, n| _mm256_mul_ps(f16x8(w.add(22 * i), 22, n), f16x8(a.add(34 * i), 34, n)),
        |i| {
            let x = w.add(22 * i);
            // nibble - 16 where the 5th bit is clear: OR-ing 0xF0 into a nibble makes it that
            // in two's complement. Quants lie in [-16, 15].
            let high = _mm256_andnot_si256(bits_to_bytes(x.add(2)), _mm256_set1_epi8(0xF0u8 as i8));
            dot_i8(_mm256_or_si256(nibbles(x.add(6)), high), load256(a.add(34 * i + 2)))
        },
    )
}

// block_q5_1: d f16 | m f16 | qh u32 | qs [16].
//   block = (dx * dy) * sumi + mx * sy
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q5_1_q8_1(w: *const u8, a: *const u8, nb: usize) -> f32 {
    blocks8(
        nb,
        |i| {
            let x = w.add(24 * i);
            let high = _mm256_and_si256(bits_to_bytes(x.add(4)), _mm256_set1_epi8(0x10));
            dot_u8(_mm256_or_si256(nibbles(x.add(8)), high), load256(a.add(36 * i + 4)))
        },
        |i, n, s| {
            let (x, y) = (w.add(24 * i), a.add(36 * i));
            let dd = _mm256_mul_ps(f16x8(x, 24, n), f16x8(y, 36, n));
            let ms = _mm256_mul_ps(f16x8(x.add(2), 24, n), f16x8(y.add(2), 36, n));
            _mm256_add_ps(_mm256_mul_ps(dd, s), ms)
        },
    )
}

// block_q8_0 x block_q8_0.
//   as Q5_0
/// The weight quants may be any byte (|x| as u8 is exact even for -128); the activation quants
/// must not be -128, which `quantize_row` never writes (|q| <= 127).
///
/// Safety: AVX2, FMA and F16C are available; `nb` blocks of each row are readable.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn q8_0_q8_0(w: *const u8, a: *const u8, nb: usize) -> f32 {
    lanes8(
        nb,
        |i, n| _mm256_mul_ps(f16x8(w.add(34 * i), 34, n), f16x8(a.add(34 * i), 34, n)),
        |i| {
            let (x, y) = (load256(w.add(34 * i + 2)), load256(a.add(34 * i + 2)));
            let p = _mm256_maddubs_epi16(_mm256_abs_epi8(x), _mm256_sign_epi8(y, x));
            _mm256_madd_epi16(p, _mm256_set1_epi16(1))
        },
    )
}

/// llama.cpp's x86 Q5_0 / Q8_0 dot (`ggml_vec_dot_q{5,8}_0_q8_0` and tinyBLAS_Q0_AVX, one
/// arithmetic for one token or many): `d(i, n)` gives the scale products `dx * dy` of blocks
/// `i..i + n` (n <= 8, F16C-widened eight at a time), `block(i)` block i's eight i32 lanes, lane
/// k the integer sum over elements 4k..4k+4; each lane accumulates `fma(dx * dy, lane, acc)`
/// block by block, and the lanes are added as `hsum_ps`.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
fn lanes8(nb: usize, d: impl Fn(usize, usize) -> __m256, block: impl Fn(usize) -> __m256i) -> f32 {
    let mut acc = _mm256_setzero_ps();
    by_eight(nb, d, |i, ds| {
        for (k, &dk) in ds.iter().enumerate() {
            acc = _mm256_fmadd_ps(_mm256_set1_ps(dk), _mm256_cvtepi32_ps(block(i + k)), acc);
        }
    });
    hsum_ps(acc)
}

/// Blocks `0..nb` in groups of up to eight: `group(i, ds)` for blocks `i..i + ds.len()`, `ds`
/// their scale products from `d(i, n)` (lane k: block i + k), widened eight at a time.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
pub(super) fn by_eight(nb: usize, d: impl Fn(usize, usize) -> __m256, mut group: impl FnMut(usize, &[f32])) {
    let mut i = 0;
    while i < nb {
        let n = (nb - i).min(8);
        let mut ds = [0f32; 8];
        // SAFETY: `ds` holds eight f32.
        unsafe { _mm256_storeu_ps(ds.as_mut_ptr(), d(i, n)) };
        group(i, &ds[..n]);
        i += n;
    }
}
