//! AVX2 tile kernels: `R` weight rows x `T` groups of 8 tokens. `maddubs` multiplies four
//! unsigned weight quants (broadcast) with four quants of each of 8 tokens into i16 pair sums,
//! which `madd` widens into the token's i32 lane: per k4-step for the 32-element formats
//! (one f32 lane per step, as below), after adding them in i16 for as many steps as cannot
//! overflow for the K-quants. The f32 steps reproduce the AVX2 per-dot kernels
//! (`x86/legacy.rs`, `x86/kquants.rs`).

use core::arch::x86_64::*;

use gguf::GgmlType;

use super::{Dst, Tile, R};
use crate::cpu::qdot::gemm::{blocks_per_row, fix_per_block, Flavor, PackedActs};
use crate::cpu::qdot::x86::rd_u32;
use crate::cpu::qdot::Path;

/// Tokens per group.
const G: usize = 8;

/// One tile: rows of `tile` against token groups `g0 .. g0 + T` of `a`, into `res`.
pub(super) fn tile<const T: usize>(ty: GgmlType, path: Path, tile: &Tile, a: &PackedActs, g0: usize, dst: &mut Dst) {
    let nb = blocks_per_row(ty, a.cols);
    super::check_groups(a, G, g0 + T, nb, fix_per_block(a.act));
    // The AVX2 unpacking (its Q5_0/Q8_0 signs live in `sgn`, which only it allocates).
    assert!(tile.flavor == Flavor::Avx2, "GEMM: tile unpacked for another flavour");
    // SAFETY: `gemm_flavor` handed out a GEMM only after detecting AVX2, FMA and F16C; the
    // tile was filled for `nb` blocks of `ty` by the AVX2 unpacking (its vectors are sized so;
    // checked above), and groups g0 .. g0 + T lie inside the packed activations (checked above).
    unsafe {
        match ty {
            // Two lanes per pass: measured fastest (gemm_speed) of one, two, four and eight.
            GgmlType::Q5_0 | GgmlType::Q8_0 => legacy::<T, 2>(tile, a, g0, nb, dst),
            GgmlType::Q4_K if path == Path::Single => q4_k::<T, false>(tile, a, g0, nb, dst),
            GgmlType::Q4_K => q4_k::<T, true>(tile, a, g0, nb, dst),
            GgmlType::Q6_K if path == Path::Single => q6_k_lanes::<T, 8>(tile, a, g0, nb, dst),
            GgmlType::Q6_K => q6_k::<T>(tile, a, g0, nb, dst),
            _ => unreachable!("no GEMM for {ty}"),
        }
    }
}

/// Row `r` of token `(g0 + t) * G + c` = lane `c` of `v[r][t]`, into `dst`.
///
/// Safety: AVX is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn put<const T: usize>(dst: &mut Dst, g0: usize, v: &[[__m256; T]; R]) {
    let tok0 = g0 * G;
    if dst.n == R && tok0 + T * G <= dst.out.len() {
        // Four rows of 8 tokens transposed into 8 runs of four rows, one store per token.
        let by_group: [[_; R]; T] = core::array::from_fn(|t| core::array::from_fn(|r| v[r][t]));
        for (t, &[v0, v1, v2, v3]) in by_group.iter().enumerate() {
            let (a, b) = (_mm256_unpacklo_ps(v0, v1), _mm256_unpackhi_ps(v0, v1));
            let (c, d) = (_mm256_unpacklo_ps(v2, v3), _mm256_unpackhi_ps(v2, v3));
            let pd = _mm256_castps_pd;
            let four = [
                _mm256_castpd_ps(_mm256_unpacklo_pd(pd(a), pd(c))),
                _mm256_castpd_ps(_mm256_unpackhi_pd(pd(a), pd(c))),
                _mm256_castpd_ps(_mm256_unpacklo_pd(pd(b), pd(d))),
                _mm256_castpd_ps(_mm256_unpackhi_pd(pd(b), pd(d))),
            ];
            // four[k] holds tokens 4 L + k in its 128-bit lanes L.
            for (k, &x) in four.iter().enumerate() {
                let lanes = [_mm256_castps256_ps128(x), _mm256_extractf128_ps::<1>(x)];
                for (l, &y) in lanes.iter().enumerate() {
                    let o = &mut dst.out[tok0 + t * G + 4 * l + k][dst.col..dst.col + R];
                    _mm_storeu_ps(o.as_mut_ptr(), y);
                }
            }
        }
        return;
    }
    let mut res = [[[0f32; G]; T]; R];
    for (rr, vr) in res.iter_mut().zip(v) {
        for (o, x) in rr.iter_mut().zip(vr) {
            _mm256_storeu_ps(o.as_mut_ptr(), *x);
        }
    }
    dst.put(&res, g0);
}

/// 32 bytes at `p`.
///
/// Safety: `p..p + 32` is readable; AVX is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn ld(p: *const u8) -> __m256i {
    _mm256_loadu_si256(p.cast())
}

/// The u32 at `p` in every lane.
///
/// Safety: `p..p + 4` is readable; AVX is available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn bcast(p: *const u8) -> __m256i {
    _mm256_set1_epi32(rd_u32(p) as i32)
}

/// `acc[r][t] += dot(row r's quants, token group t)` over `steps` k4-steps (a multiple of
/// `N16`): weights at `u + 32 r + 4 s`, activations at `x[t] + 32 s`. Pair sums are added in
/// i16 over `N16` steps, which the caller guarantees cannot overflow.
///
/// Safety: AVX2 is available; every address read is inside its buffer.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn dots<const T: usize, const N16: usize>(
    acc: &mut [[__m256i; T]; R],
    u: *const u8,
    x: [*const u8; T],
    steps: usize,
) {
    let ones = _mm256_set1_epi16(1);
    for s0 in (0..steps).step_by(N16) {
        let mut p16 = [[_mm256_setzero_si256(); T]; R];
        for s in s0..s0 + N16 {
            let xs: [__m256i; T] = core::array::from_fn(|t| ld(x[t].add(32 * s)));
            for (r, pr) in p16.iter_mut().enumerate() {
                let w = bcast(u.add(32 * r + 4 * s));
                for (p, &xt) in pr.iter_mut().zip(&xs) {
                    *p = _mm256_add_epi16(*p, _mm256_maddubs_epi16(w, xt));
                }
            }
        }
        for (ar, pr) in acc.iter_mut().zip(&p16) {
            for (a, &p) in ar.iter_mut().zip(pr) {
                *a = _mm256_add_epi32(*a, _mm256_madd_epi16(p, ones));
            }
        }
    }
}

/// Each (row, token group)'s eight f32 lanes added as `hsum_ps` (llama.cpp's `hsum_float_8`)
/// does: `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`.
///
/// Safety: the features are available.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn hsum_lanes<const T: usize>(lanes: &[[[__m256; T]; R]; 8]) -> [[__m256; T]; R] {
    let add = _mm256_add_ps;
    core::array::from_fn(|r| {
        core::array::from_fn(|t| {
            let l = |m: usize| lanes[m][r][t];
            add(add(add(l(0), l(4)), add(l(2), l(6))), add(add(l(1), l(5)), add(l(3), l(7))))
        })
    })
}

// Q5_0 / Q8_0 (llama.cpp's arithmetic, `lanes8` of `x86/legacy.rs`): k4-step 8 b + k of a row
// is lane k of block b, the exact integer dot over its four elements, `madd` of
// `maddubs(|q|, y with q's sign)` (pair sums <= 2 * 128 * 127 fit an i16); lane k runs
// `acc = fma(dx * dy, lane, acc)` over the blocks in order, and the eight lanes are added as
// `hsum_ps` does. `NL` lanes per pass over the row, so their accumulators stay in registers.
/// Safety: as [`tile`]'s block.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn legacy<const T: usize, const NL: usize>(tile: &Tile, a: &PackedActs, g0: usize, nb: usize, dst: &mut Dst) {
    let (gq, gd) = (a.cols * G, nb * G);
    let qs: [*const u8; T] = core::array::from_fn(|t| a.qs.as_ptr().add((g0 + t) * gq));
    let dy: [*const f32; T] = core::array::from_fn(|t| a.dy.as_ptr().add((g0 + t) * gd));
    let (u, sgn, d) = (tile.u.as_ptr(), tile.sgn.as_ptr(), tile.d.as_ptr());
    let ones = _mm256_set1_epi16(1);
    let mut lanes = [[[_mm256_setzero_ps(); T]; R]; 8];
    for k0 in (0..8).step_by(NL) {
        let mut acc = [[[_mm256_setzero_ps(); T]; R]; NL];
        for b in 0..nb {
            let y: [__m256; T] = core::array::from_fn(|t| _mm256_loadu_ps(dy[t].add(b * G)));
            let dd: [[__m256; T]; R] = core::array::from_fn(|r| {
                let dx = _mm256_set1_ps(*d.add(b * R + r));
                core::array::from_fn(|t| _mm256_mul_ps(dx, y[t]))
            });
            for (l, al) in acc.iter_mut().enumerate() {
                let k = k0 + l;
                let x: [__m256i; T] = core::array::from_fn(|t| ld(qs[t].add((8 * b + k) * 32)));
                for (r, (ar, ddr)) in al.iter_mut().zip(&dd).enumerate() {
                    let at = (b * R + r) * 32 + 4 * k;
                    let (w, ws) = (bcast(u.add(at)), bcast(sgn.add(at)));
                    for ((f, &dt), &xt) in ar.iter_mut().zip(ddr).zip(&x) {
                        let p = _mm256_maddubs_epi16(w, _mm256_sign_epi8(xt, ws));
                        *f = _mm256_fmadd_ps(dt, _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), *f);
                    }
                }
            }
        }
        lanes[k0..k0 + NL].copy_from_slice(&acc);
    }
    put::<T>(dst, g0, &hsum_lanes(&lanes));
}

// Q4_K: isum = sum_j sc_j * dot(nibbles_j, y_j) (eight steps of pair sums <= 2 * 15 * 128
// fit an i16), summins = sum_j min_j * P_j (i16 pairs, madd); sums = fma(isum, d * dy, sums),
// mins = fma(summins, dmin * dy, mins) per super-block, or per 64 elements (`PER64`: the
// `Batched` path); sums - mins.
/// Safety: as [`tile`]'s block.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q4_k<const T: usize, const PER64: bool>(tile: &Tile, a: &PackedActs, g0: usize, nb: usize, dst: &mut Dst) {
    let (gq, gd, gf) = (a.cols * G, nb * G, nb * 20 * G);
    let qs: [*const u8; T] = core::array::from_fn(|t| a.qs.as_ptr().add((g0 + t) * gq));
    let dy: [*const f32; T] = core::array::from_fn(|t| a.dy.as_ptr().add((g0 + t) * gd));
    let fix: [*const i32; T] = core::array::from_fn(|t| a.fix.as_ptr().add((g0 + t) * gf));
    let u = tile.u.as_ptr();
    // The f32 `sums` and `mins` (`msum`; `mins` is the block's integer summins).
    let (mut sums, mut msum) = ([[_mm256_setzero_ps(); T]; R], [[_mm256_setzero_ps(); T]; R]);
    for b in 0..nb {
        let y: [__m256; T] = core::array::from_fn(|t| _mm256_loadu_ps(dy[t].add(b * G)));
        // Integer sums per 64-element quarter m (sub-blocks 2m, 2m + 1), rounded per quarter
        // (`PER64`) or summed over the super-block first.
        let mut isum = [[_mm256_setzero_si256(); T]; R];
        let mut mins = [[_mm256_setzero_si256(); T]; R];
        for m in 0..4 {
            for j in 2 * m..2 * m + 2 {
                let c = 8 * b + j;
                let mut acc = [[_mm256_setzero_si256(); T]; R];
                dots::<T, 8>(&mut acc, u.add(c * R * 32), core::array::from_fn(|t| qs[t].add(8 * c * 32)), 8);
                for (r, (ir, ar)) in isum.iter_mut().zip(&acc).enumerate() {
                    let sc = _mm256_set1_epi32(tile.sc[c * R + r]);
                    for (i, &s) in ir.iter_mut().zip(ar) {
                        *i = _mm256_add_epi32(*i, _mm256_mullo_epi32(s, sc));
                    }
                }
            }
            let p: [__m256i; T] =
                core::array::from_fn(|t| _mm256_loadu_si256(fix[t].add((20 * b + 16 + m) * G).cast()));
            for (r, mr) in mins.iter_mut().enumerate() {
                let mn = _mm256_set1_epi32(tile.mn[(4 * b + m) * R + r]);
                for (x, &pt) in mr.iter_mut().zip(&p) {
                    *x = _mm256_add_epi32(*x, _mm256_madd_epi16(pt, mn));
                }
            }
            if PER64 || m == 3 {
                for r in 0..R {
                    let (d, dmin) = (_mm256_set1_ps(tile.d[b * R + r]), _mm256_set1_ps(tile.dmin[b * R + r]));
                    for t in 0..T {
                        let (s, mm) = (&mut sums[r][t], &mut msum[r][t]);
                        *s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[r][t]), _mm256_mul_ps(d, y[t]), *s);
                        *mm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mins[r][t]), _mm256_mul_ps(dmin, y[t]), *mm);
                    }
                }
                isum = [[_mm256_setzero_si256(); T]; R];
                mins = [[_mm256_setzero_si256(); T]; R];
            }
        }
    }
    let res: [[_; T]; R] = core::array::from_fn(|r| core::array::from_fn(|t| _mm256_sub_ps(sums[r][t], msum[r][t])));
    put::<T>(dst, g0, &res);
}

// Q6_K: isum = sum_j sc_j * (dot(q + 32, y_j) - 32 * bsum_j) over 16-element sub-blocks (two
// steps of pair sums <= 2 * 63 * 128 fit an i16); sumf = fma(isum * d, dy, sumf) (the
// `Batched` path: llama.cpp's tiled kernel).
/// Safety: as [`tile`]'s block.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6_k<const T: usize>(tile: &Tile, a: &PackedActs, g0: usize, nb: usize, dst: &mut Dst) {
    let (gq, gd, gf) = (a.cols * G, nb * G, nb * 20 * G);
    let qs: [*const u8; T] = core::array::from_fn(|t| a.qs.as_ptr().add((g0 + t) * gq));
    let dy: [*const f32; T] = core::array::from_fn(|t| a.dy.as_ptr().add((g0 + t) * gd));
    let fix: [*const i32; T] = core::array::from_fn(|t| a.fix.as_ptr().add((g0 + t) * gf));
    let u = tile.u.as_ptr();
    let mut sumf = [[_mm256_setzero_ps(); T]; R];
    for b in 0..nb {
        let mut isum = [[_mm256_setzero_si256(); T]; R];
        for j in 0..16 {
            let init: [__m256i; T] = core::array::from_fn(|t| _mm256_loadu_si256(fix[t].add((20 * b + j) * G).cast()));
            let mut acc = [init; R];
            let w = u.add((8 * b + j / 2) * R * 32 + 16 * (j % 2));
            dots::<T, 2>(&mut acc, w, core::array::from_fn(|t| qs[t].add((64 * b + 4 * j) * 32)), 4);
            for (r, (ir, ar)) in isum.iter_mut().zip(&acc).enumerate() {
                let sc = _mm256_set1_epi32(tile.sc[(16 * b + j) * R + r]);
                for (i, &s) in ir.iter_mut().zip(ar) {
                    *i = _mm256_add_epi32(*i, _mm256_mullo_epi32(s, sc));
                }
            }
        }
        let y: [__m256; T] = core::array::from_fn(|t| _mm256_loadu_ps(dy[t].add(b * G)));
        for r in 0..R {
            let d = _mm256_set1_ps(tile.d[b * R + r]);
            for t in 0..T {
                let f = &mut sumf[r][t];
                *f = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(isum[r][t]), d), y[t], *f);
            }
        }
    }
    put::<T>(dst, g0, &sumf);
}

// Q6_K on the `Single` path (llama.cpp's vec_dot, `q6_k` of `x86/kquants.rs`): lane l of a
// super-block is `sum_c sc_(2c + l / 4) * dot(k4-step 8c + l) - 32 (bsum_2l sc_2l + bsum_2l+1
// sc_2l+1)`, exactly (a step's two pair sums <= 2 * 63 * 128 fit an i16); lane l runs
// `acc = fma(y.d * x.d, lane, acc)` over the super-blocks, and the eight lanes are added as
// `hsum_ps` does. `NL` lanes per pass over the row.
/// Safety: as [`tile`]'s block.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q6_k_lanes<const T: usize, const NL: usize>(
    tile: &Tile,
    a: &PackedActs,
    g0: usize,
    nb: usize,
    dst: &mut Dst,
) {
    const { assert!(8 % NL == 0, "NL lanes per pass divide the eight") };
    let (gq, gd, gf) = (a.cols * G, nb * G, nb * 20 * G);
    let qs: [*const u8; T] = core::array::from_fn(|t| a.qs.as_ptr().add((g0 + t) * gq));
    let dy: [*const f32; T] = core::array::from_fn(|t| a.dy.as_ptr().add((g0 + t) * gd));
    let fix: [*const i32; T] = core::array::from_fn(|t| a.fix.as_ptr().add((g0 + t) * gf));
    let u = tile.u.as_ptr();
    let mut lanes = [[[_mm256_setzero_ps(); T]; R]; 8];
    for l0 in (0..8).step_by(NL) {
        let mut acc = [[[_mm256_setzero_ps(); T]; R]; NL];
        for b in 0..nb {
            let y: [__m256; T] = core::array::from_fn(|t| _mm256_loadu_ps(dy[t].add(b * G)));
            let dd: [[__m256; T]; R] = core::array::from_fn(|r| {
                let dx = _mm256_set1_ps(tile.d[b * R + r]);
                core::array::from_fn(|t| _mm256_mul_ps(y[t], dx))
            });
            for (i, al) in acc.iter_mut().enumerate() {
                let l = l0 + i;
                // -32 bsum_j of the lane's offset sub-blocks j = 2l, 2l + 1, per token.
                let off: [[__m256i; T]; 2] = core::array::from_fn(|m| {
                    core::array::from_fn(|t| _mm256_loadu_si256(fix[t].add((20 * b + 2 * l + m) * G).cast()))
                });
                let x: [[__m256i; T]; 8] =
                    core::array::from_fn(|c| core::array::from_fn(|t| ld(qs[t].add((64 * b + 8 * c + l) * 32))));
                for (r, (ar, ddr)) in al.iter_mut().zip(&dd).enumerate() {
                    let sc = |j: usize| tile.sc[(16 * b + j) * R + r];
                    for (t, (f, &dt)) in ar.iter_mut().zip(ddr).enumerate() {
                        let (s0, s1) = (_mm256_set1_epi32(sc(2 * l)), _mm256_set1_epi32(sc(2 * l + 1)));
                        let mut lane =
                            _mm256_add_epi32(_mm256_mullo_epi32(off[0][t], s0), _mm256_mullo_epi32(off[1][t], s1));
                        for (c, xc) in x.iter().enumerate() {
                            // Both i16 pair sums of the step times the scale.
                            let w = bcast(u.add(((8 * b + c) * R + r) * 32 + 4 * l));
                            let s16 = _mm256_set1_epi16(sc(2 * c + l / 4) as i16);
                            lane = _mm256_add_epi32(lane, _mm256_madd_epi16(_mm256_maddubs_epi16(w, xc[t]), s16));
                        }
                        *f = _mm256_fmadd_ps(dt, _mm256_cvtepi32_ps(lane), *f);
                    }
                }
            }
        }
        lanes[l0..l0 + NL].copy_from_slice(&acc);
    }
    put::<T>(dst, g0, &hsum_lanes(&lanes));
}
