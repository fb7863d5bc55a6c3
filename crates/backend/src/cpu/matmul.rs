//! Matrix products with a quantized weight: `out[t, r] = dot(x[t, :], W[r, :])`.
//!
//! As llama.cpp's CPU backend does, the activations are first encoded in the weight type's
//! activation format (8-bit blocks for quantized weights, see [`super::qdot`]) and every
//! product is an integer dot per block scaled in f32: fast, and rounded as llama.cpp rounds.
//! Each worker takes a run of weight rows and dots each with every activation row, so a
//! prefill of T tokens reads each weight once.

use rayon::prelude::*;

use super::qdot::{act_row_bytes, act_type_for, dot_kernel, quantize_row};
use super::Cpu;
use crate::WeightView;

/// Rows per task: enough work to amortise scheduling, small enough to balance 2..64 threads.
const ROWS_PER_TASK: usize = 16;

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
