//! The CPU backend: f32 activations, weights dequantized row by row from the mapped file, work
//! split over a persistent rayon pool (fork/join in microseconds, no thread spawn per op).

mod activation;
mod attention;
mod dot;
mod matmul;
mod norm;
pub mod qdot;
mod rope;

pub use activation::{geglu, gelu, silu, swiglu};
pub use attention::{softmax, AttnParams, KvView, SeqView, TokenPlaces};
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
}
