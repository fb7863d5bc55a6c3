//! The x86 GEMM kernels (see `qdot/gemm.rs` for the contract): weight rows are unpacked
//! [`R`] at a time into a [`Tile`] of unsigned 8-bit quants plus their scales, then multiplied
//! with the packed activations of one to three token groups per call, tokens in SIMD lanes.

mod avx2;
mod avx512;

use core::arch::x86_64::*;
use std::ops::Range;

use gguf::GgmlType;

use super::kquants::k4_scales_mins;
use super::legacy::bits_to_bytes;
use super::{load256, nibbles, rd_u16, rd_u32};
use crate::cpu::qdot::gemm::{blocks_per_row, Flavor, Gemm, PackedActs};
use crate::cpu::qdot::Path;
use crate::WeightView;

/// Weight rows per tile.
pub(super) const R: usize = 4;

/// `R` weight rows unpacked (rows past the matrix's end are zero). A "chunk" is 32 elements
/// (a block of the 32-element formats, a sub-block of Q4_K, two sub-blocks of Q6_K).
pub(super) struct Tile {
    /// `[chunks][R][32]` unsigned quants: Q5_0 `q + 16` and Q8_0 `q + 128` (AVX-512) or `|q|`
    /// (AVX2); Q4_K the nibbles; Q6_K `q + 32`.
    u: Vec<u8>,
    /// `[chunks][R][32]` AVX2 Q5_0 / Q8_0 only: the signed quants, whose signs go onto the
    /// activations.
    sgn: Vec<u8>,
    /// `[blocks][R]` the f32 weight scale (`d` of the block or super-block).
    d: Vec<f32>,
    /// `[blocks][R]` Q4_K `dmin`.
    dmin: Vec<f32>,
    /// Q4_K `[blocks][8][R]` sub-block scales; Q6_K `[blocks][16][R]`.
    sc: Vec<i32>,
    /// Q4_K `[blocks][4][R]` the sub-block mins as i16 pairs `(min_2m, min_2m+1)`.
    mn: Vec<i32>,
    /// The flavour the tile is unpacked for.
    flavor: Flavor,
}

impl Tile {
    fn new(ty: GgmlType, cols: usize, flavor: Flavor) -> Tile {
        let (chunks, blocks) = (cols / 32, blocks_per_row(ty, cols));
        let per = |n: usize| vec![0; blocks * n * R];
        let signed = flavor == Flavor::Avx2 && matches!(ty, GgmlType::Q5_0 | GgmlType::Q8_0);
        Tile {
            u: vec![0; chunks * R * 32],
            sgn: vec![0; if signed { chunks * R * 32 } else { 0 }],
            d: vec![0.0; blocks * R],
            dmin: vec![0.0; if ty == GgmlType::Q4_K { blocks * R } else { 0 }],
            sc: per(match ty {
                GgmlType::Q4_K => 8,
                GgmlType::Q6_K => 16,
                _ => 0,
            }),
            mn: per(if ty == GgmlType::Q4_K { 4 } else { 0 }),
            flavor,
        }
    }

    /// Unpack rows `r0 .. r0 + R` of `w` (those below `end`; the others become zeros).
    fn fill(&mut self, w: &WeightView, r0: usize, end: usize) {
        let nb = blocks_per_row(w.ty, w.cols);
        for r in 0..R {
            if r0 + r >= end {
                self.zero_row(r);
                continue;
            }
            let row = w.row(r0 + r);
            assert!(row.len() >= nb * w.ty.type_size(), "GEMM: short weight row");
            assert!(self.u.len() == (w.cols / 32) * R * 32, "GEMM: tile made for another shape");
            // SAFETY: the features were detected before this GEMM was handed out
            // (`gemm_flavor`), `row` holds `nb` blocks (checked above), the tile was made by
            // `Tile::new` for this type and width (checked above), and r < R.
            unsafe { self.fill_row(w.ty, row, nb, r) }
        }
    }

    fn zero_row(&mut self, r: usize) {
        self.u.chunks_exact_mut(32).skip(r).step_by(R).for_each(|c| c.fill(0));
        self.sgn.chunks_exact_mut(32).skip(r).step_by(R).for_each(|c| c.fill(0));
        for v in [&mut self.d, &mut self.dmin] {
            v.iter_mut().skip(r).step_by(R).for_each(|x| *x = 0.0);
        }
        for v in [&mut self.sc, &mut self.mn] {
            v.iter_mut().skip(r).step_by(R).for_each(|x| *x = 0);
        }
    }

    /// Safety: AVX2 and F16C are available; `row` holds `nb` blocks of `ty`; the tile was
    /// made by `Tile::new` for rows of `nb` blocks of `ty`; `r < R`.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn fill_row(&mut self, ty: GgmlType, row: &[u8], nb: usize, r: usize) {
        let (p, flavor) = (row.as_ptr(), self.flavor);
        let (u, sgn) = (self.u.as_mut_ptr(), self.sgn.as_mut_ptr());
        // Chunk c of this row: 32 bytes at (c * R + r) * 32.
        let put = |v: *mut u8, c: usize, x: __m256i| {
            // SAFETY: `Tile::new` sized the buffer for every chunk of every tile row.
            unsafe { _mm256_storeu_si256(v.add((c * R + r) * 32).cast(), x) }
        };
        let (d, dmin, sc, mn) = (&mut self.d, &mut self.dmin, &mut self.sc, &mut self.mn);
        match ty {
            GgmlType::Q5_0 => {
                for b in 0..nb {
                    let x = p.add(22 * b);
                    let high = _mm256_and_si256(bits_to_bytes(x.add(2)), _mm256_set1_epi8(0x10));
                    let q16 = _mm256_or_si256(nibbles(x.add(6)), high);
                    if flavor == Flavor::Avx512 {
                        put(u, b, q16);
                    } else {
                        let q = _mm256_sub_epi8(q16, _mm256_set1_epi8(16));
                        put(u, b, _mm256_abs_epi8(q));
                        put(sgn, b, q);
                    }
                    d[b * R + r] = f16c(x);
                }
            }
            GgmlType::Q8_0 => {
                for b in 0..nb {
                    let x = p.add(34 * b);
                    let q = load256(x.add(2));
                    if flavor == Flavor::Avx512 {
                        put(u, b, _mm256_xor_si256(q, _mm256_set1_epi8(-128)));
                    } else {
                        put(u, b, _mm256_abs_epi8(q));
                        put(sgn, b, q);
                    }
                    d[b * R + r] = f16c(x);
                }
            }
            GgmlType::Q4_K => {
                for b in 0..nb {
                    let x = p.add(144 * b);
                    d[b * R + r] = f16c(x);
                    dmin[b * R + r] = f16c(x.add(2));
                    let (s, m) = k4_scales_mins(rd_u32(x.add(4)), rd_u32(x.add(8)), rd_u32(x.add(12)));
                    let (s, m) = (s.to_le_bytes(), m.to_le_bytes());
                    for j in 0..8 {
                        sc[(b * 8 + j) * R + r] = i32::from(s[j]);
                    }
                    for k in 0..4 {
                        mn[(b * 4 + k) * R + r] = i32::from(m[2 * k]) | (i32::from(m[2 * k + 1]) << 16);
                    }
                    // Sub-block 2q: low nibbles of qs[32 q ..], 2q + 1: the high ones.
                    let low4 = _mm256_set1_epi8(0x0F);
                    for q in 0..4 {
                        let v = load256(x.add(16 + 32 * q));
                        put(u, 8 * b + 2 * q, _mm256_and_si256(v, low4));
                        put(u, 8 * b + 2 * q + 1, _mm256_and_si256(_mm256_srli_epi16::<4>(v), low4));
                    }
                }
            }
            GgmlType::Q6_K => {
                for b in 0..nb {
                    let x = p.add(210 * b);
                    d[b * R + r] = f16c(x.add(208));
                    for j in 0..16 {
                        sc[(b * 16 + j) * R + r] = i32::from(*x.add(192 + j) as i8);
                    }
                    // Elements 128 h + 32 k + l (chunk 4 h + k): as the AVX2 per-dot kernel.
                    let m = |v: u8| _mm256_set1_epi8(v as i8);
                    let low4 = m(0x0F);
                    for h in 0..2 {
                        let qa = load256(x.add(64 * h));
                        let qb = load256(x.add(64 * h + 32));
                        let hb = load256(x.add(128 + 32 * h));
                        let v = [
                            _mm256_or_si256(
                                _mm256_and_si256(qa, low4),
                                _mm256_slli_epi16::<4>(_mm256_and_si256(hb, m(0x03))),
                            ),
                            _mm256_or_si256(
                                _mm256_and_si256(qb, low4),
                                _mm256_slli_epi16::<2>(_mm256_and_si256(hb, m(0x0C))),
                            ),
                            _mm256_or_si256(
                                _mm256_and_si256(_mm256_srli_epi16::<4>(qa), low4),
                                _mm256_and_si256(hb, m(0x30)),
                            ),
                            _mm256_or_si256(
                                _mm256_and_si256(_mm256_srli_epi16::<4>(qb), low4),
                                _mm256_srli_epi16::<2>(_mm256_and_si256(hb, m(0xC0))),
                            ),
                        ];
                        for (k, &v) in v.iter().enumerate() {
                            put(u, 8 * b + 4 * h + k, v);
                        }
                    }
                }
            }
            _ => unreachable!("no GEMM for {ty}"),
        }
    }
}

/// The f16 at `p`, widened (exactly) by F16C.
///
/// Safety: `p..p + 2` is readable; F16C is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn f16c(p: *const u8) -> f32 {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(rd_u16(p)))))
}

/// Which GEMM the SIMD level in force runs, if any.
pub(in crate::cpu::qdot) fn flavor(level: super::Level) -> Option<Flavor> {
    match level {
        super::Level::Scalar => None,
        super::Level::Avx2 => Some(Flavor::Avx2),
        super::Level::Avx512 => Some(Flavor::Avx512),
    }
}

/// Panics unless groups `0 .. end` of `a` (packed for `g` tokens per group, `nb` blocks per
/// row, `fix_per_block` corrections per block and token) lie inside its buffers: what the tile kernels' pointer arithmetic relies on.
fn check_groups(a: &PackedActs, g: usize, end: usize, nb: usize, fix_per_block: usize) {
    assert!(
        a.g == g
            && end <= a.groups()
            && a.qs.len() == a.groups() * a.cols * g
            && a.dy.len() == a.groups() * nb * g
            && a.fix.len() == a.groups() * nb * fix_per_block * g,
        "GEMM tile: activations packed for another shape"
    );
}

/// Where a tile's results go: row `col + r` (r < `n`) of token `c` is `out[c][col + r]`.
pub(super) struct Dst<'a, 'b> {
    out: &'a mut [&'b mut [f32]],
    col: usize,
    n: usize,
}

impl Dst<'_, '_> {
    /// `res[r][t][c]` to row `r` of token `(g0 + t) * G + c`, for the rows and tokens there are.
    fn put<const G: usize, const T: usize>(&mut self, res: &[[[f32; G]; T]; R], g0: usize) {
        for (i, o) in self.out.iter_mut().skip(g0 * G).take(T * G).enumerate() {
            let (t, c) = (i / G, i % G);
            for (r, d) in o[self.col..][..self.n].iter_mut().enumerate() {
                *d = res[r][t][c];
            }
        }
    }
}

/// Hints the cache to fetch rows `r0 .. r0 + R` (those below `end`) of `w`: the next tile's,
/// loaded while this one computes.
fn prefetch_rows(w: &WeightView, r0: usize, end: usize) {
    for r in r0..(r0 + R).min(end) {
        for line in w.row(r).chunks(64) {
            // SAFETY: prefetching has no architectural effect; the address is inside the row.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(line.as_ptr().cast()) };
        }
    }
}

/// The whole product for `rows` (see `Gemm::run`, which checked the shapes).
pub(in crate::cpu::qdot) fn run(
    gemm: &Gemm,
    w: &WeightView,
    rows: Range<usize>,
    acts: &PackedActs,
    out: &mut [&mut [f32]],
) {
    let mut tile = Tile::new(w.ty, w.cols, gemm.flavor);
    let groups = acts.groups();
    let mut r0 = rows.start;
    while r0 < rows.end {
        tile.fill(w, r0, rows.end);
        prefetch_rows(w, r0 + R, rows.end);
        let mut dst = Dst { out: &mut *out, col: r0 - rows.start, n: (rows.end - r0).min(R) };
        match gemm.flavor {
            Flavor::Avx512 => {
                // Token groups per call, by measurement (qdot_gemm's gemm_speed on the dev
                // VMs): three for the K-quants (Q6_K +23%), one for the 32-element formats,
                // whose 16 f32 lane accumulators per pass (see `avx512::legacy`) leave no
                // registers for a second group.
                let mut g0 = 0;
                // Q6_K's eight lanes per token (the `Single` path) fill the registers alone.
                let lanes = w.ty == GgmlType::Q6_K && gemm.path == Path::Single;
                if matches!(w.ty, GgmlType::Q4_K | GgmlType::Q6_K) && !lanes {
                    while g0 + 3 <= groups {
                        avx512::tile::<3>(w.ty, gemm.path, &tile, acts, g0, &mut dst);
                        g0 += 3;
                    }
                    while g0 + 2 <= groups {
                        avx512::tile::<2>(w.ty, gemm.path, &tile, acts, g0, &mut dst);
                        g0 += 2;
                    }
                }
                for g0 in g0..groups {
                    avx512::tile::<1>(w.ty, gemm.path, &tile, acts, g0, &mut dst);
                }
            }
            Flavor::Avx2 => {
                for g0 in 0..groups {
                    avx2::tile::<1>(w.ty, gemm.path, &tile, acts, g0, &mut dst);
                }
            }
        }
        r0 += R;
    }
}
