//! Quantized GEMM for prefill: many activation rows (tokens) against each weight row, every
//! weight block unpacked once per tile of rows and multiplied with `G` tokens at a time.
//!
//! The contract is bit-identity with [`super::dot_kernel`]: every `(row, token)` result equals
//! what the per-dot kernel of the same SIMD level returns for that pair. Integer block sums are
//! exact whichever way they are formed, so the GEMM forms them its own way (tokens in SIMD
//! lanes, no horizontal sums); the f32 part is that kernel's, operation for operation:
//!
//! * 32-element formats (Q5_0, Q8_0): llama.cpp's x86 arithmetic. Lane `k` of block `b` is
//!   the integer dot over elements `4 k .. 4 k + 4`, exactly one k4-step of the GEMM; eight f32
//!   lanes run `acc_k = fma(dx * dy, lane_k, acc_k)` over the blocks in order and finish with
//!   `hsum_ps`, i.e. `((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7))`. A lane's additions
//!   depend only on its own steps, so the GEMM runs a few lanes at a time along the row.
//! * K-quants, the same at the AVX2 and AVX-512 levels, on the kernel's [`Path`]: Q6_K
//!   `sumf = fma(isum * d, dy, sumf)` per super-block (`Batched`, llama.cpp's tiled kernel) or
//!   eight lanes per super-block as the 32-element formats' (`Single`, its vec_dot); Q4_K
//!   `sums = fma(isum, d * dy, sums)` and `mins = fma(summins, dmin * dy, mins)` per
//!   super-block (`Single`) or per 64 elements (`Batched`), then `sums - mins`.
//!
//! Activations are packed per group of `G` tokens (16 for AVX-512, 8 for AVX2): the quants of
//! four consecutive elements of each token side by side (`[k4][G][4]` bytes, one SIMD register
//! per `k4` step), next to each token's f32 block scale and, for Q8_K, the integer
//! corrections the K-quant weights' unsigned encodings need (see [`PackedActs`]).

use std::ops::Range;

use gguf::{GgmlType, QK_K};

use super::{act_row_bytes, act_type_for, f16_at, f32_at, quantize_row, ActType, Path};
use crate::WeightView;

/// The weight types with a GEMM kernel (at the AVX2 and AVX-512 levels).
pub const GEMM_TYPES: [GgmlType; 4] = [GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q5_0, GgmlType::Q8_0];

/// The SIMD flavour of a [`Gemm`]: which per-dot kernels it reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// AVX2 (maddubs), 8 tokens per group.
    Avx2,
    /// AVX-512 VNNI (vpdpbusd), 16 tokens per group.
    Avx512,
}

/// A GEMM for one weight type at the SIMD level in force, from [`gemm_kernel_for`].
#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    pub(crate) ty: GgmlType,
    pub(crate) flavor: Flavor,
    /// The rounding it follows (that of `dot_kernel_for(ty, path)`).
    pub(crate) path: Path,
}

/// The GEMM for `weight` on the `Single` path (see [`gemm_kernel_for`]).
pub fn gemm_kernel(weight: GgmlType) -> Option<Gemm> {
    gemm_kernel_for(weight, Path::Single)
}

/// The GEMM rounding as `dot_kernel_for(weight, path)`, where the SIMD level in force has one
/// for that type; `None` elsewhere (callers then use the per-dot kernel).
pub fn gemm_kernel_for(weight: GgmlType, path: Path) -> Option<Gemm> {
    if !GEMM_TYPES.contains(&weight) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        super::x86::gemm_flavor().map(|flavor| Gemm { ty: weight, flavor, path })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// Activations of `t` tokens encoded and packed for the GEMMs of one activation type (Q8_0 or
/// Q8_K) and SIMD flavour: every weight type with that activation type runs on the same pack.
/// Per group of `G` tokens (the last one padded with zero tokens):
///
/// * `qs`: `[steps][G][4]` i8, `steps = cols / 4`: the quants of elements `4 s .. 4 s + 4`;
/// * `dy`: the f32 activation scale, `[blocks][G]` (32-element blocks for Q8_0, 256-element
///   ones for Q8_K);
/// * `fix`: Q8_K only (empty for Q8_0), the integer corrections for the weights' unsigned
///   encodings, i32 `[blocks][20][G]`: `-32 * bsum_j` for the 16 sub-blocks (Q6_K as
///   `q + 32`), then four i16 pairs `(P_2m, P_2m+1)` with `P_j = bsum_2j + bsum_2j+1`, the
///   32-element sums the Q4_K mins multiply.
pub struct PackedActs {
    pub(crate) act: ActType,
    pub(crate) g: usize,
    pub(crate) t: usize,
    pub(crate) cols: usize,
    pub(crate) qs: Vec<u8>,
    pub(crate) dy: Vec<f32>,
    pub(crate) fix: Vec<i32>,
}

/// One group's slices of a [`PackedActs`], to be filled by [`Gemm::pack_group`].
pub struct GroupMut<'a> {
    qs: &'a mut [u8],
    dy: &'a mut [f32],
    fix: &'a mut [i32],
}

impl PackedActs {
    pub fn tokens(&self) -> usize {
        self.t
    }

    /// Tokens per group.
    pub fn group(&self) -> usize {
        self.g
    }

    pub(crate) fn groups(&self) -> usize {
        self.t.div_ceil(self.g)
    }

    /// Every group's slices, in token order (for filling groups in parallel).
    pub fn groups_mut(&mut self) -> Vec<GroupMut<'_>> {
        let n = self.groups();
        let (q, d, f) = (self.qs.len() / n, self.dy.len() / n, self.fix.len() / n);
        // Q8_0 packs have no corrections: every group's `fix` is empty.
        let mut fix = self.fix.chunks_mut(f.max(1));
        self.qs
            .chunks_mut(q)
            .zip(self.dy.chunks_mut(d))
            .map(|(qs, dy)| GroupMut { qs, dy, fix: fix.next().unwrap_or_default() })
            .collect()
    }
}

impl Gemm {
    pub fn weight_type(&self) -> GgmlType {
        self.ty
    }

    /// Tokens per group: results come `G` tokens per SIMD register.
    pub fn group(&self) -> usize {
        match self.flavor {
            Flavor::Avx2 => 8,
            Flavor::Avx512 => 16,
        }
    }

    /// The activation encoding this GEMM's packs hold; GEMMs that share it (and the SIMD
    /// flavour, see [`Gemm::group`]) can share a pack.
    pub fn act_type(&self) -> ActType {
        act_type_for(self.ty).expect("GEMM types have an activation type")
    }

    fn act(&self) -> ActType {
        self.act_type()
    }

    /// Room for `t` tokens of `cols` values, zeroed (so padding tokens are zero).
    ///
    /// Panics if `cols` is not a whole number of the weight's blocks.
    pub fn alloc(&self, t: usize, cols: usize) -> PackedActs {
        let act = self.act();
        let bs = act.block_size();
        assert!(
            cols.is_multiple_of(bs) && cols.is_multiple_of(self.ty.block_size()),
            "GEMM: {cols} columns is not a whole number of {} blocks",
            self.ty
        );
        let g = self.group();
        let groups = t.div_ceil(g).max(1);
        let blocks = cols / bs;
        let fix_per_block = fix_per_block(act);
        PackedActs {
            act,
            g,
            t,
            cols,
            qs: vec![0; groups * cols * g],
            dy: vec![0.0; groups * blocks * g],
            fix: vec![0; groups * blocks * fix_per_block * g],
        }
    }

    /// Encode (as [`quantize_row`] does) and pack the rows `x` ([n, cols], n <= G) of one group.
    pub fn pack_group(&self, x: &[f32], cols: usize, dst: GroupMut<'_>) {
        let g = self.group();
        let act = self.act();
        let n = x.len() / cols;
        assert!(n <= g && x.len() == n * cols, "GEMM pack: {} values are not up to {g} rows of {cols}", x.len());
        let mut enc = vec![0u8; act_row_bytes(act, cols)];
        let mut dst = dst;
        for (c, xr) in x.chunks_exact(cols).enumerate() {
            quantize_row(act, xr, &mut enc);
            self.pack_token(&enc, c, &mut dst);
        }
    }

    /// Pack encoded rows (`acts`: [n, act_row_bytes]) whole.
    pub fn pack_encoded(&self, acts: &[u8], t: usize, cols: usize) -> PackedActs {
        let mut p = self.alloc(t, cols);
        let bytes = act_row_bytes(self.act(), cols);
        let g = self.group();
        for (gi, mut dst) in p.groups_mut().into_iter().enumerate() {
            for c in 0..g.min(t.saturating_sub(gi * g)) {
                let tok = gi * g + c;
                self.pack_token(&acts[tok * bytes..(tok + 1) * bytes], c, &mut dst);
            }
        }
        p
    }

    /// Token `c` of a group, from its encoded row `enc`.
    fn pack_token(&self, enc: &[u8], c: usize, dst: &mut GroupMut<'_>) {
        let g = self.group();
        // Element 4 s .. 4 s + 4 of this token goes to qs[(s * g + c) * 4 ..].
        let mut put4 = |s: usize, src: &[u8]| dst.qs[(s * g + c) * 4..][..4].copy_from_slice(src);
        match self.act() {
            ActType::Q8_0 => {
                for (b, blk) in enc.chunks_exact(34).enumerate() {
                    let qs = &blk[2..34];
                    for (k, four) in qs.chunks_exact(4).enumerate() {
                        put4(8 * b + k, four);
                    }
                    dst.dy[b * g + c] = f16_at(blk, 0);
                }
            }
            ActType::Q8_K => {
                for (b, blk) in enc.chunks_exact(292).enumerate() {
                    for (k, four) in blk[4..260].chunks_exact(4).enumerate() {
                        put4(64 * b + k, four);
                    }
                    dst.dy[b * g + c] = f32_at(blk, 0);
                    let bsum = |j: usize| i32::from(i16::from_le_bytes([blk[260 + 2 * j], blk[261 + 2 * j]]));
                    for j in 0..16 {
                        dst.fix[(b * 20 + j) * g + c] = -32 * bsum(j);
                    }
                    // |P_j| <= 32 * 128 fits an i16.
                    let p = |j: usize| (bsum(2 * j) + bsum(2 * j + 1)) as i16 as u16 as u32;
                    for m in 0..4 {
                        dst.fix[(b * 20 + 16 + m) * g + c] = (p(2 * m) | (p(2 * m + 1) << 16)) as i32;
                    }
                }
            }
            _ => unreachable!("GEMM types use Q8_0 or Q8_K activations"),
        }
    }

    /// `out[c][r - rows.start] = dot(W[r], token c)` for every `r` in `rows` and every packed
    /// token `c`, bit for bit what the per-dot kernel gives.
    ///
    /// Panics if `w` is not this GEMM's type, the shapes disagree, `rows` is out of range or
    /// `out` does not hold `acts.tokens()` slices of at least `rows.len()` values.
    pub fn run(&self, w: &WeightView, rows: Range<usize>, acts: &PackedActs, out: &mut [&mut [f32]]) {
        assert_eq!(w.ty, self.ty, "GEMM for {} given a {} weight", self.ty, w.ty);
        assert_eq!(w.cols, acts.cols, "GEMM: weight has {} columns, activations {}", w.cols, acts.cols);
        assert!(rows.start <= rows.end && rows.end <= w.rows, "GEMM: rows {rows:?} of {}", w.rows);
        assert!(
            acts.g == self.group() && acts.act == self.act(),
            "GEMM: activations packed for another SIMD level or encoding"
        );
        assert!(out.len() == acts.t, "GEMM: {} output rows for {} tokens", out.len(), acts.t);
        assert!(out.iter().all(|o| o.len() >= rows.len()), "GEMM: output rows shorter than {}", rows.len());
        if rows.is_empty() || acts.t == 0 {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        super::x86::gemm_run(self, w, rows, acts, out);
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("no GEMM is handed out off x86-64");
    }
}

/// i32 corrections per block and token in [`PackedActs::fix`].
pub(crate) fn fix_per_block(act: ActType) -> usize {
    match act {
        ActType::Q8_K => 20,
        _ => 0,
    }
}

/// Super-blocks (K-quants) or blocks per row of `cols` values of `ty`.
pub(crate) fn blocks_per_row(ty: GgmlType, cols: usize) -> usize {
    cols / ty.block_size()
}

const _: () = assert!(QK_K == 256);
