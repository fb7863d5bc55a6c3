//! Matrix products with a quantized weight: `out[t, r] = dot(x[t, :], W[r, :])`.
//!
//! As llama.cpp's CPU backend does, the activations are first encoded in the weight type's
//! activation format (8-bit blocks for quantized weights, see [`super::qdot`]) and every
//! product is an integer dot per block scaled in f32: fast, and rounded as llama.cpp rounds.
//!
//! Each token's product rounds as llama.cpp's kernel for the batch the token names
//! ([`InBatch`]: Q4_K and Q6_K have a one-token and a batched rounding, [`Path`]); a matrix
//! whose tokens take both is run once per path on the tokens of that path. Per path, three
//! ways of computing, each giving every (row, token) the same bits (see `qdot::gemm`):
//! * prefill (t >= [`gemm_min_tokens`], a type with a GEMM): activations packed once per
//!   encoding, tasks of weight rows against all tokens through the GEMM, written in place;
//! * decode (t = 1): one encoding per activation type, tasks of weight rows through the
//!   per-dot kernel;
//! * otherwise each weight row is dotted with every token and the result transposed.
//!
//! [`Cpu::matmuls_in`] runs several matrices on one input (Q/K/V, gate/up) as one parallel
//! job: one encoding for all of them and one fork/join instead of one each (a matrix split by
//! path runs apart).

use gguf::GgmlType;
use rayon::prelude::*;

use super::qdot::{
    act_row_bytes, act_type_for, dot_kernel_for, gemm_kernel_for, quantize_row, ActType, Gemm, PackedActs, Path,
};
use super::{Cpu, InBatch};
use crate::WeightView;

/// Rows per task: enough work to amortise scheduling, small enough to balance 2..64 threads.
const ROWS_PER_TASK: usize = 16;

/// Rows per GEMM task (a multiple of the GEMM's row tile; each task unpacks its rows once).
const GEMM_ROWS_PER_TASK: usize = 32;

/// From this many tokens on, a matmul with a GEMM kernel uses it: about the single-thread
/// crossover with the per-dot kernels on the dev VM (qdot_gemm's `gemm_speed`, AVX-512 and
/// AVX2 levels): 4 tokens for Q5_0, 5 to 6 for Q4_K, Q6_K (batched path) and Q8_0, 8 to 16
/// for Q6_K's eight-lane path, whose per-dot kernel is the fastest of all.
fn gemm_min_tokens(ty: GgmlType, path: Path) -> usize {
    match (ty, path) {
        (GgmlType::Q5_0, _) => 4,
        (GgmlType::Q6_K, Path::Single) => 16,
        _ => 6,
    }
}

/// One parallel task of a fused product.
enum Task<'o> {
    /// Rows `r0 ..` of matrix `k` through its GEMM; `parts[c]` is token c's slice of them.
    Gemm { k: usize, r0: usize, parts: Vec<&'o mut [f32]> },
    /// Rows `r0 .. r0 + out.len()` of matrix `k` for the single token (decode).
    Dot { k: usize, r0: usize, out: &'o mut [f32] },
}

impl Cpu {
    /// x: [t, w.cols] row-major; out: [t, w.rows] row-major: the t tokens as one llama.cpp batch.
    pub fn matmul(&self, x: &[f32], t: usize, w: &WeightView, out: &mut [f32]) {
        self.matmuls_in(x, &InBatch::whole(t), std::slice::from_ref(w), &mut [out]);
    }

    /// `outs[k] = x W_k^T` for matrices that share the input: x: [t, cols] with t = at.len();
    /// `outs[k]`: [t, ws[k].rows]; token i rounds as llama.cpp in `at[i]`. Each token's results
    /// depend on its row of x and its `at` only.
    // hot: every projection of every layer.
    pub fn matmuls_in(&self, x: &[f32], at: &[InBatch], ws: &[WeightView], outs: &mut [&mut [f32]]) {
        let t = at.len();
        assert_eq!(ws.len(), outs.len(), "matmuls: {} matrices, {} outputs", ws.len(), outs.len());
        for (w, out) in ws.iter().zip(outs.iter()) {
            assert_eq!(x.len(), t * w.cols, "matmul: activations are not [{t}, {}]", w.cols);
            assert_eq!(out.len(), t * w.rows, "matmul: output is not [{t}, {}]", w.rows);
        }
        // Matrices whose tokens all take one path run together; the others split by path.
        let (mut one_ws, mut one_paths, mut one_outs) = (Vec::new(), Vec::new(), Vec::new());
        for (w, out) in ws.iter().zip(outs.iter_mut()) {
            let path = |b: &InBatch| b.path(w.ty, w.rows);
            let first = at.first().map(path).unwrap_or_default();
            if at.iter().all(|b| path(b) == first) {
                one_ws.push(*w);
                one_paths.push(first);
                one_outs.push(&mut **out);
            } else {
                self.matmul_split(x, &at.iter().map(path).collect::<Vec<_>>(), w, out);
            }
        }
        self.matmuls_on(x, t, &one_ws, &one_paths, &mut one_outs);
    }

    /// One matrix whose tokens take both paths (`paths`: [t]): each path's tokens gathered,
    /// multiplied and put back in place (in place where they are consecutive, as a prompt's
    /// are: the GEMM's first tokens, then the rest).
    fn matmul_split(&self, x: &[f32], paths: &[Path], w: &WeightView, out: &mut [f32]) {
        let (cols, rows) = (w.cols, w.rows);
        for path in [Path::Single, Path::Batched] {
            let idx: Vec<usize> = (0..paths.len()).filter(|&i| paths[i] == path).collect();
            let (Some(&a), Some(&b)) = (idx.first(), idx.last()) else { continue };
            if b + 1 - a == idx.len() {
                let (xs, os) = (&x[a * cols..(b + 1) * cols], &mut out[a * rows..(b + 1) * rows]);
                self.matmuls_on(xs, idx.len(), std::slice::from_ref(w), &[path], &mut [os]);
                continue;
            }
            let xs: Vec<f32> = idx.iter().flat_map(|&i| &x[i * cols..(i + 1) * cols]).copied().collect();
            let mut os = vec![0f32; idx.len() * rows]; // [idx.len(), rows]
            self.matmuls_on(&xs, idx.len(), std::slice::from_ref(w), &[path], &mut [&mut os]);
            for (&i, o) in idx.iter().zip(os.chunks_exact(rows)) {
                out[i * rows..(i + 1) * rows].copy_from_slice(o);
            }
        }
    }

    /// [`Cpu::matmuls_in`] with every token of matrix k on `paths[k]` (shapes checked).
    fn matmuls_on(&self, x: &[f32], t: usize, ws: &[WeightView], paths: &[Path], outs: &mut [&mut [f32]]) {
        if t == 0 || ws.is_empty() {
            return;
        }
        let gemms: Vec<Option<Gemm>> = ws
            .iter()
            .zip(paths)
            .map(|(w, &p)| if t >= gemm_min_tokens(w.ty, p) { gemm_kernel_for(w.ty, p) } else { None })
            .collect();
        let fused = |k: usize| t == 1 || gemms[k].is_some();
        // Matrices outside the fused job: one by one, rows dotted with every token.
        for (k, (w, out)) in ws.iter().zip(outs.iter_mut()).enumerate() {
            if !fused(k) && w.rows > 0 {
                self.matmul_transposed(x, t, w, paths[k], out);
            }
        }
        // Encodings: the decode path's per activation type, the GEMM's per pack kind.
        let mut encoded: Vec<(ActType, Vec<u8>)> = Vec::new();
        let mut packs: Vec<(Gemm, PackedActs)> = Vec::new();
        for (k, w) in ws.iter().enumerate() {
            if !fused(k) || w.rows == 0 {
                continue;
            }
            match &gemms[k] {
                Some(g) => {
                    if !packs.iter().any(|(p, _)| p.act_type() == g.act_type()) {
                        packs.push((*g, g.alloc(t, w.cols)));
                    }
                }
                None => {
                    // WeightView::new admits only types with a kernel; a hand-made view of
                    // another type yields NaN, not a panic.
                    let Some(act) = act_type_for(w.ty) else { continue };
                    if !encoded.iter().any(|(a, _)| *a == act) {
                        encoded.push((act, vec![0u8; act_row_bytes(act, w.cols)]));
                    }
                }
            }
        }
        let mut tasks: Vec<Task> = Vec::new();
        for (k, (w, out)) in ws.iter().zip(outs.iter_mut()).enumerate() {
            if !fused(k) || w.rows == 0 {
                continue;
            }
            if gemms[k].is_some() {
                // Each task's columns of every output row: [task][token] -> out[token][rows].
                let n = w.rows.div_ceil(GEMM_ROWS_PER_TASK);
                let mut parts: Vec<Vec<&mut [f32]>> = (0..n).map(|_| Vec::with_capacity(t)).collect();
                for out_row in out.chunks_exact_mut(w.rows) {
                    for (part, piece) in parts.iter_mut().zip(out_row.chunks_mut(GEMM_ROWS_PER_TASK)) {
                        part.push(piece);
                    }
                }
                tasks.extend(parts.into_iter().enumerate().map(|(i, parts)| Task::Gemm {
                    k,
                    r0: i * GEMM_ROWS_PER_TASK,
                    parts,
                }));
            } else if act_type_for(w.ty).is_some() {
                tasks.extend(out.chunks_mut(ROWS_PER_TASK).enumerate().map(|(i, out)| Task::Dot {
                    k,
                    r0: i * ROWS_PER_TASK,
                    out,
                }));
            } else {
                out.fill(f32::NAN);
            }
        }
        if tasks.is_empty() {
            return;
        }
        let cols = ws[0].cols;
        self.pool.install(|| {
            for (act, buf) in encoded.iter_mut() {
                quantize_row(*act, x, buf);
            }
            for (g, pack) in packs.iter_mut() {
                let n = g.group();
                pack.groups_mut()
                    .into_par_iter()
                    .zip(x.par_chunks(n * cols))
                    .for_each(|(dst, xg)| g.pack_group(xg, cols, dst));
            }
            tasks.into_par_iter().for_each(|task| match task {
                Task::Gemm { k, r0, mut parts } => {
                    let w = &ws[k];
                    let g = gemms[k].expect("GEMM tasks have a GEMM");
                    let (_, pack) = packs.iter().find(|(p, _)| p.act_type() == g.act_type()).expect("packed");
                    g.run(w, r0..(r0 + GEMM_ROWS_PER_TASK).min(w.rows), pack, &mut parts);
                }
                Task::Dot { k, r0, out } => {
                    let w = &ws[k];
                    let act = act_type_for(w.ty).expect("dot tasks have an encoding");
                    let kernel = dot_kernel_for(w.ty, paths[k]).expect("types with an encoding have a kernel");
                    let (_, a) = encoded.iter().find(|(e, _)| *e == act).expect("encoded");
                    let n_blocks = w.cols / act.block_size();
                    for (j, d) in out.iter_mut().enumerate() {
                        *d = kernel(w.row(r0 + j), a, n_blocks);
                    }
                }
            })
        });
    }

    /// Every weight row dotted with every token (rows in parallel), then transposed into
    /// `out` ([t, rows]).
    fn matmul_transposed(&self, x: &[f32], t: usize, w: &WeightView, path: Path, out: &mut [f32]) {
        let rows = w.rows;
        let mut out_t = vec![0f32; rows * t];
        self.matmul_rows_major(x, t, w, path, &mut out_t);
        for r in 0..rows {
            for i in 0..t {
                out[i * rows + r] = out_t[r * t + i];
            }
        }
    }

    /// out_t: [rows, t]: row r holds dot(x[i], W[r]) for every i.
    fn matmul_rows_major(&self, x: &[f32], t: usize, w: &WeightView, path: Path, out_t: &mut [f32]) {
        let cols = w.cols;
        // WeightView::new only admits types with a reference dequantization, which all have
        // a CPU dot kernel; a view built by hand with another type yields NaN, not a panic.
        let (Some(act), Some(kernel)) = (act_type_for(w.ty), dot_kernel_for(w.ty, path)) else {
            out_t.fill(f32::NAN);
            return;
        };
        let n_blocks = cols / act.block_size();
        let act_bytes = act_row_bytes(act, cols);
        let mut acts = vec![0u8; t * act_bytes]; // [t, act_bytes]
        self.pool.install(|| {
            acts.par_chunks_mut(act_bytes).zip(x.par_chunks(cols)).for_each(|(a, xr)| quantize_row(act, xr, a));
            out_t.par_chunks_mut(ROWS_PER_TASK * t).enumerate().for_each(|(task, chunk)| {
                for (j, dst) in chunk.chunks_mut(t).enumerate() {
                    let w_row = w.row(task * ROWS_PER_TASK + j);
                    for (d, a) in dst.iter_mut().zip(acts.chunks_exact(act_bytes)) {
                        *d = kernel(w_row, a, n_blocks);
                    }
                }
            })
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gguf::quants::{dequantize_to_vec, random_blocks};
    use gguf::GgmlType;
    use rand::{Rng, SeedableRng};

    /// Against an f64 product of the dequantized weight, for several types and batch sizes. The
    /// activations are 8-bit encoded on the way (as llama.cpp does), so the tolerance is that
    /// encoding's: half a step of amax/127 per value, well under 0.5% of sum |w x|. The
    /// activations are 8-bit encoded on the way (as llama.cpp does), so the tolerance is that
    /// encoding's: half a step of amax/127 per value, i.e. ~0.4% of sum |w x| at worst.
    #[test]
    fn matches_the_dequantized_reference() {
        let cpu = Cpu::new(2).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for ty in [GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::F16, GgmlType::IQ4_XS] {
            let (rows, cols) = (37, 512);
            let bytes = random_blocks(ty, rows * cols / ty.block_size(), 1.0, &mut rng).unwrap();
            let w = WeightView::from_parts("w", ty, rows, cols, &bytes).unwrap();
            let dense = dequantize_to_vec(ty, &bytes).unwrap();
            for t in [1, 3, 20] {
                let x: Vec<f32> = (0..t * cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
                let mut out = vec![f32::NAN; t * rows];
                cpu.matmul(&x, t, &w, &mut out);
                for i in 0..t {
                    for r in 0..rows {
                        let terms = (0..cols).map(|c| dense[r * cols + c] as f64 * x[i * cols + c] as f64);
                        let (want, mag) = terms.fold((0.0, 0.0), |(s, m), v| (s + v, m + v.abs()));
                        let got = out[i * rows + r] as f64;
                        assert!((got - want).abs() <= 5e-3 * mag + 1e-6, "{ty} t={t} [{i},{r}]: {got} vs {want}");
                    }
                }
            }
        }
    }

    /// A token's row of the product depends on its input row and its [`InBatch`] only: alone
    /// (the decode path), in batches below and above the GEMM threshold, with tokens of the
    /// other path beside it (Q4_K and Q6_K split), and in a fused [`Cpu::matmuls_in`] with other
    /// matrices (GEMM types, a type without a GEMM, a second matrix of the same encoding).
    #[test]
    fn a_token_gets_the_same_bits_in_any_step() {
        let cpu = Cpu::new(2).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let cols = 512;
        let types = [GgmlType::Q5_0, GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q4_1, GgmlType::F16];
        let rows = [37, 5, 72, 33, 9, 12];
        let data: Vec<Vec<u8>> = types
            .iter()
            .zip(rows)
            .map(|(&ty, r)| random_blocks(ty, r * cols / ty.block_size(), 1.0, &mut rng).unwrap())
            .collect();
        let ws: Vec<WeightView> = types
            .iter()
            .zip(rows)
            .zip(&data)
            .map(|((&ty, r), d)| WeightView::from_parts("w", ty, r, cols, d).unwrap())
            .collect();
        let t_max = 19;
        let x: Vec<f32> = (0..t_max * cols).map(|_| rng.gen_range(-1.0..1.0)).collect();
        // Steps: one llama.cpp batch of t, and tokens of batches of several sizes mixed.
        let mixed = |t: usize| -> Vec<InBatch> {
            (0..t)
                .map(|i| {
                    let size = [1u32, 3, 8, 17, 126][i % 5];
                    InBatch { size, index: (7 * i as u32) % size }
                })
                .collect()
        };
        for t in [1, 2, 3, 4, 5, 16, 17, 19] {
            // All alone (decode steps of t sequences): Q6_K's eight-lane GEMM from 16.
            for at in [InBatch::whole(t), mixed(t), vec![InBatch::ALONE; t]] {
                let xs = &x[..t * cols];
                let mut outs: Vec<Vec<f32>> = ws.iter().map(|w| vec![f32::NAN; t * w.rows]).collect();
                let mut slices: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
                cpu.matmuls_in(xs, &at, &ws, &mut slices);
                for (k, w) in ws.iter().enumerate() {
                    let mut single = vec![f32::NAN; t * w.rows];
                    cpu.matmuls_in(xs, &at, std::slice::from_ref(w), &mut [&mut single]);
                    for i in 0..t {
                        let mut alone = vec![f32::NAN; w.rows];
                        let xi = &x[i * cols..(i + 1) * cols];
                        cpu.matmuls_in(xi, &at[i..=i], std::slice::from_ref(w), &mut [&mut alone]);
                        for r in 0..w.rows {
                            let (a, b, c) = (outs[k][i * w.rows + r], single[i * w.rows + r], alone[r]);
                            let what = format!("{} t={t} {:?} [{i}, {r}]", w.ty, at[i]);
                            assert_eq!(a.to_bits(), b.to_bits(), "fused vs matmul: {what}");
                            assert_eq!(a.to_bits(), c.to_bits(), "batch vs alone: {what}");
                        }
                    }
                }
            }
        }
    }
}
