//! Uploads of large host data (a model's weights from the mapped file) that overlap the file's
//! reading with the device's copies: the bytes go through a ring of page-locked staging
//! buffers, each filled by host threads while the copy engine reads the one before.

use super::device::Gpu;
use super::error::{GpuError, Result};
use super::ffi::Staging;
use super::memory::DeviceBuffer;

/// Staging buffers in the ring, and the bytes of each.
const RING: usize = 3;
const CHUNK: usize = 32 << 20;

pub struct Uploader<'g> {
    gpu: &'g Gpu,
    ring: Vec<Staging<'g>>,
    next: usize,
}

impl<'g> Uploader<'g> {
    pub fn new(gpu: &'g Gpu) -> Result<Uploader<'g>> {
        gpu.inner().bind()?;
        let ring = (0..RING).map(|_| gpu.inner().driver().staging(CHUNK)).collect::<Result<_>>()?;
        Ok(Uploader { gpu, ring, next: 0 })
    }

    /// Queues the copy of `src` into `dst` from its first byte; returns once the last piece is
    /// queued (the device may still be copying: [`Uploader::finish`] waits).
    pub fn write(&mut self, dst: &mut DeviceBuffer<u8>, src: &[u8]) -> Result<()> {
        if src.len() > dst.len() {
            return Err(GpuError::Invalid(format!(
                "uploading {} bytes into {} of {}",
                src.len(),
                dst.what(),
                dst.len()
            )));
        }
        self.gpu.inner().bind()?;
        let stream = self.gpu.stream();
        stream.keep(dst.allocation().clone());
        for (i, piece) in src.chunks(CHUNK).enumerate() {
            let at = dst.device_ptr() + (i * CHUNK) as u64;
            self.ring[self.next].send(piece, at, stream.handle())?;
            self.next = (self.next + 1) % self.ring.len();
        }
        Ok(())
    }

    /// Waits for every queued copy.
    pub fn finish(self) -> Result<()> {
        self.gpu.stream().synchronize()
    }
}
