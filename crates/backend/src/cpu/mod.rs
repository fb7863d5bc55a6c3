//! The CPU backend: f32 activations, weights dequantized row by row from the mapped file, work
//! split over a persistent rayon pool (fork/join in microseconds, no thread spawn per op).

mod activation;
mod attention;
mod dot;
mod in_batch;
mod kv;
mod matmul;
mod norm;
pub mod qdot;
mod rope;
pub mod vexp;

pub use activation::{geglu, gelu, silu, swiglu};
pub use attention::{softmax, AttnParams, DotOrder, KvView, SeqView, TokenPlaces};
pub use in_batch::InBatch;
pub use kv::{KvData, KvRows};
pub use norm::{add_in_place, rms_norm, rms_norm_in_place, rms_norm_rows};
pub use rope::{rope, RopeParams, RopeStyle};

/// The CPU device: its worker pool. Ops that need no parallelism are free functions.
pub struct Cpu {
    pool: rayon::ThreadPool,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot start {threads} CPU worker threads: {reason}")]
pub struct CpuError {
    threads: usize,
    reason: String,
}

impl Cpu {
    /// `threads == 0` means one per available core.
    pub fn new(threads: usize) -> Result<Cpu, CpuError> {
        let threads = match threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("rf-cpu-{i}"))
            .build()
            .map_err(|e| CpuError { threads, reason: e.to_string() })?;
        Ok(Cpu { pool })
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Pieces of `len` values (a multiple of `unit`, the width of a row) for the element-wise
    /// ops to share among the workers, or `None` when `len` is too small to repay a fork/join
    /// (decode-sized rows run inline).
    fn piece(&self, len: usize, unit: usize) -> Option<usize> {
        const PARALLEL_FROM: usize = 1 << 15;
        let unit = unit.max(1);
        if len < PARALLEL_FROM || self.threads() < 2 {
            return None;
        }
        let units = len.div_ceil(unit);
        Some(units.div_ceil(4 * self.threads()).max(1) * unit)
    }

    /// `f(first_row, piece)` on consecutive pieces of `x`, each a whole number of `unit`-wide
    /// rows: on the pool for long slices, inline (one piece) otherwise. Row-wise and
    /// element-wise ops give the same bits either way.
    pub fn for_rows(&self, x: &mut [f32], unit: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) {
        match self.piece(x.len(), unit) {
            Some(piece) => self.pool.install(|| {
                use rayon::prelude::*;
                x.par_chunks_mut(piece).enumerate().for_each(|(i, c)| f(i * piece / unit.max(1), c))
            }),
            None => f(0, x),
        }
    }

    /// `f(x_piece, y_piece)` on matching pieces of `x` and `y` (same length), as [`Cpu::for_rows`].
    pub fn for_rows2(&self, x: &mut [f32], y: &[f32], unit: usize, f: impl Fn(&mut [f32], &[f32]) + Sync + Send) {
        assert_eq!(x.len(), y.len(), "for_rows2: slices of {} and {} values", x.len(), y.len());
        match self.piece(x.len(), unit) {
            Some(piece) => self.pool.install(|| {
                use rayon::prelude::*;
                x.par_chunks_mut(piece).zip(y.par_chunks(piece)).for_each(|(a, b)| f(a, b))
            }),
            None => f(x, y),
        }
    }
}
