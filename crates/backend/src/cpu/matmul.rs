//! Matrix products with a quantized weight: `out[t, r] = dot(x[t, :], W[r, :])`.
//!
//! As llama.cpp's CPU backend does, the activations are first encoded in the weight type's
//! activation format (8-bit blocks for quantized weights, see [`super::qdot`]) and every
//! product is an integer dot per block scaled in f32: fast, and rounded as llama.cpp rounds.
//! Each worker takes a run of weight rows and dots each with every activation row, so a
//! prefill of T tokens reads each weight once.

use rayon::prelude::*;

use super::qdot::{act_row_bytes, act_type_for, dot_kernel, gemm_kernel, quantize_row, Gemm};
use super::Cpu;
use crate::WeightView;

/// Rows per task: enough work to amortise scheduling, small enough to balance 2..64 threads.
const ROWS_PER_TASK: usize = 16;

/// Rows per GEMM task (a multiple of the GEMM's row tile; each task unpacks its rows once).
const GEMM_ROWS_PER_TASK: usize = 32;

/// From this many tokens on, matmuls with a GEMM kernel use it.
const GEMM_MIN_TOKENS: usize = 4;

impl Cpu {
    /// x: [t, w.cols] row-major; out: [t, w.rows] row-major.
    // hot: every projection of every layer goes through here.
    pub fn matmul(&self, x: &[f32], t: usize, w: &WeightView, out: &mut [f32]) {
        let (rows, cols) = (w.rows, w.cols);
        assert_eq!(x.len(), t * cols, "matmul: activations are not [{t}, {cols}]");
        assert_eq!(out.len(), t * rows, "matmul: output is not [{t}, {rows}]");
        if t == 0 || rows == 0 {
            return; // nothing to compute (a prefill-only step asks for no logits)
        }
        if t == 1 {
            // Decode: the output row is the transposed layout already.
            return self.matmul_rows_major(x, 1, w, out);
        }
        if t >= GEMM_MIN_TOKENS {
            if let Some(gemm) = gemm_kernel(w.ty) {
                return self.matmul_gemm(&gemm, x, t, w, out);
            }
        }
        // Compute out^T [rows, t] (contiguous per weight row, so tasks own disjoint chunks),
        // then transpose.
        let mut out_t = vec![0f32; rows * t];
        self.matmul_rows_major(x, t, w, &mut out_t);
        for r in 0..rows {
            for i in 0..t {
                out[i * rows + r] = out_t[r * t + i];
            }
        }
    }

    /// The GEMM path: activations packed once, then each task takes a run of weight rows
    /// against every token and writes its columns of `out` ([t, rows]) in place.
    fn matmul_gemm(&self, gemm: &Gemm, x: &[f32], t: usize, w: &WeightView, out: &mut [f32]) {
        let (rows, cols) = (w.rows, w.cols);
        let g = gemm.group();
        let mut acts = gemm.alloc(t, cols);
        // Each task's columns of every output row: [task][token] -> &mut out[token][task rows].
        let n_tasks = rows.div_ceil(GEMM_ROWS_PER_TASK);
        let mut parts: Vec<Vec<&mut [f32]>> = (0..n_tasks).map(|_| Vec::with_capacity(t)).collect();
        for out_row in out.chunks_exact_mut(rows) {
            for (part, piece) in parts.iter_mut().zip(out_row.chunks_mut(GEMM_ROWS_PER_TASK)) {
                part.push(piece);
            }
        }
        self.pool.install(|| {
            acts.groups_mut()
                .into_par_iter()
                .zip(x.par_chunks(g * cols))
                .for_each(|(dst, xg)| gemm.pack_group(xg, cols, dst));
            parts.into_par_iter().enumerate().for_each(|(task, mut part)| {
                let r0 = task * GEMM_ROWS_PER_TASK;
                gemm.run(w, r0..(r0 + GEMM_ROWS_PER_TASK).min(rows), &acts, &mut part);
            });
        });
    }

    /// out_t: [rows, t]: row r holds dot(x[i], W[r]) for every i.
    fn matmul_rows_major(&self, x: &[f32], t: usize, w: &WeightView, out_t: &mut [f32]) {
        let cols = w.cols;
        // WeightView::new only admits types with a reference dequantization, which all have
        // a CPU dot kernel; a view built by hand with another type yields NaN, not a panic.
        let (Some(act), Some(kernel)) = (act_type_for(w.ty), dot_kernel(w.ty)) else {
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
}
