//! Greedy token choice on the device (`kernels/argmax.cu`): a greedy decode step then copies one
//! (index, value) pair per sequence to the host instead of its whole row of logits.

use super::device::Gpu;
use super::error::{GpuError, Result};
use super::kernels;
use super::memory::DeviceBuffer;
use super::module::{Kernel, LaunchConfig};
use super::stream::Stream;
use crate::gpu_args;

/// Threads per block (`ARGMAX_THREADS`): one block per row.
const THREADS: u32 = 1024;

pub struct Argmax {
    kernel: Kernel,
}

impl Argmax {
    pub fn new(gpu: &Gpu) -> Result<Argmax> {
        Ok(Argmax { kernel: gpu.compile(&kernels::ARGMAX)?.kernel("rf_argmax_rows_f32")? })
    }

    /// For each of the first `rows` rows of `x` ([rows, n]): `out[2r]` = the index of the largest
    /// value (NaN counted as -inf, ties to the lowest index; `n` when the row holds only NaN and
    /// -inf), `out[2r + 1]` = that value's bits. Asynchronous.
    pub fn rows(
        &self,
        s: &Stream,
        x: &DeviceBuffer<f32>,
        rows: usize,
        n: usize,
        out: &mut DeviceBuffer<u32>,
    ) -> Result<()> {
        let bad = |why: String| Err(GpuError::Invalid(format!("argmax: {why}")));
        let (Ok(grid), Ok(width)) = (u32::try_from(rows), i32::try_from(n)) else {
            return bad(format!("{rows} rows of {n} values are over the kernel's limits"));
        };
        if rows.checked_mul(n).is_none_or(|len| len > x.len()) || 2 * rows > out.len() {
            return bad(format!("{rows} rows of {n} in {} values, output of {}", x.len(), out.len()));
        }
        if rows == 0 || n == 0 {
            return Ok(());
        }
        self.kernel.launch(s, LaunchConfig::new([grid, 1, 1], [THREADS, 1, 1]), &gpu_args![x, width, out])
    }
}

/// The host's reading of [`Argmax::rows`]' output for one row: the chosen index and its value,
/// or None when the row had nothing to choose.
pub fn decode_pick(pair: [u32; 2], n: usize) -> Option<(u32, f32)> {
    ((pair[0] as usize) < n).then(|| (pair[0], f32::from_bits(pair[1])))
}
