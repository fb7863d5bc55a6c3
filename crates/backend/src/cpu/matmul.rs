//! Matrix products with a quantized weight: `out[t, r] = dot(x[t, :], W[r, :])`.
//!
//! Each worker takes a run of weight rows, dequantizes one row at a time into a scratch buffer
//! and dots it with every activation row, so a prefill of T tokens reads each weight once.

use gguf::quants::dequantize;
use rayon::prelude::*;

use super::dot::dot;
use super::Cpu;
use crate::WeightView;

/// Rows per task: enough work to amortise scheduling, small enough to balance 2..64 threads.
const ROWS_PER_TASK: usize = 16;

impl Cpu {
    /// x: [t, w.cols] row-major; out: [t, w.rows] row-major.
    // hot: every projection of every layer goes through here.
    pub fn matmul(&self, x: &[f32], t: usize, w: &WeightView, out: &mut [f32]) {
        let (rows, cols) = (w.rows, w.cols);
        assert_eq!(
            x.len(),
            t * cols,
            "matmul: activations are not [{t}, {cols}]"
        );
        assert_eq!(out.len(), t * rows, "matmul: output is not [{t}, {rows}]");
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
        self.pool.install(|| {
            out_t
                .par_chunks_mut(ROWS_PER_TASK * t)
                .enumerate()
                .for_each(|(task, chunk)| {
                    let mut row = vec![0f32; cols];
                    for (j, dst) in chunk.chunks_mut(t).enumerate() {
                        let r = task * ROWS_PER_TASK + j;
                        // The view was checked at load: every row decodes to `cols` values.
                        if dequantize(w.ty, w.row(r), &mut row).is_err() {
                            dst.fill(f32::NAN);
                            continue;
                        }
                        for (i, d) in dst.iter_mut().enumerate() {
                            *d = dot(&row, &x[i * cols..(i + 1) * cols]);
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

    /// Against an f64 product of the dequantized weight, for several types and batch sizes.
    #[test]
    fn matches_the_dequantized_reference() {
        let cpu = Cpu::new(2).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for ty in [
            GgmlType::Q4_K,
            GgmlType::Q8_0,
            GgmlType::F16,
            GgmlType::IQ4_XS,
        ] {
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
                        let want: f64 = (0..cols)
                            .map(|c| dense[r * cols + c] as f64 * x[i * cols + c] as f64)
                            .sum();
                        let got = out[i * rows + r] as f64;
                        assert!(
                            (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                            "{ty} t={t} [{i},{r}]: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
