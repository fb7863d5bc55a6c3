//! Device memory: allocations, typed buffers and arenas.
//!
//! A [`DeviceBuffer`] shares ownership of its allocation, and every launch or graph that uses a
//! buffer keeps the allocation alive until the stream has been synchronised (or the graph is
//! dropped): dropping a buffer while the device still uses it never frees memory under a
//! running kernel.

use std::marker::PhantomData;
use std::sync::Arc;

use super::device::GpuInner;
use super::error::{GpuError, Result};
use super::ffi::{as_bytes, as_bytes_mut, DeviceElem};
use super::signature::ElemType;
use super::stream::Stream;
use super::util::human_bytes;

/// One device allocation, freed when the last buffer (or launch, or graph) using it goes.
pub struct Allocation {
    gpu: Arc<GpuInner>,
    ptr: u64,
    bytes: u64,
    what: String,
}

impl Allocation {
    fn new(gpu: &Arc<GpuInner>, bytes: u64, what: &str) -> Result<Arc<Allocation>> {
        gpu.bind()?;
        let driver = gpu.driver();
        let size = usize::try_from(bytes)
            .map_err(|_| GpuError::Invalid(format!("allocation of {bytes} bytes for {what} overflows usize")))?;
        // Zero-byte requests get one byte, so that every buffer has a distinct valid address.
        match driver.mem_alloc(size.max(1)) {
            Ok(ptr) => Ok(Arc::new(Allocation { gpu: gpu.clone(), ptr, bytes, what: what.to_owned() })),
            Err(e @ GpuError::Call { code, .. }) if code == driver.vendor().status_out_of_memory() => {
                let (free, total) = driver.mem_get_info().unwrap_or((0, gpu.info.total_memory));
                Err(GpuError::OutOfMemory {
                    what: what.to_owned(),
                    requested: bytes,
                    free,
                    total,
                    detail: format!("; {e}"),
                })
            }
            Err(e) => Err(e.with_context(|| format!("allocating {} for {what}", human_bytes(bytes)))),
        }
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn gpu(&self) -> &Arc<GpuInner> {
        &self.gpu
    }
}

impl Drop for Allocation {
    fn drop(&mut self) {
        if self.gpu.bind().is_ok() {
            let _ = self.gpu.driver().mem_free(self.ptr);
        }
    }
}

/// A typed view of device memory: `len` elements of `T` at an offset into an allocation.
pub struct DeviceBuffer<T: DeviceElem> {
    alloc: Arc<Allocation>,
    offset: u64,
    len: usize,
    what: Arc<str>,
    _t: PhantomData<T>,
}

fn byte_len<T>(len: usize, what: &str) -> Result<u64> {
    len.checked_mul(std::mem::size_of::<T>())
        .map(|b| b as u64)
        .ok_or_else(|| GpuError::Invalid(format!("{what}: {len} elements overflow the address space")))
}

impl<T: DeviceElem> DeviceBuffer<T> {
    /// A buffer with its own allocation.
    pub(crate) fn alloc(gpu: &Arc<GpuInner>, len: usize, what: &str) -> Result<Self> {
        let bytes = byte_len::<T>(len, what)?;
        let alloc = Allocation::new(gpu, bytes, what)?;
        Ok(DeviceBuffer { alloc, offset: 0, len, what: what.into(), _t: PhantomData })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn size_bytes(&self) -> u64 {
        (self.len * std::mem::size_of::<T>()) as u64
    }

    /// The name given at allocation.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The device address (for diagnostics and graph bookkeeping).
    pub fn device_ptr(&self) -> u64 {
        self.alloc.ptr + self.offset
    }

    pub fn elem_type(&self) -> ElemType {
        T::ELEM
    }

    /// Elements `start..start + len` as a buffer of their own, sharing the allocation (for
    /// kernels that take a pointer into the middle of a buffer).
    pub fn view(&self, start: usize, len: usize) -> Result<DeviceBuffer<T>> {
        if start.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(GpuError::Invalid(format!(
                "{}: elements {start}..{start}+{len} are outside its {} elements",
                self.what, self.len
            )));
        }
        Ok(DeviceBuffer {
            alloc: self.alloc.clone(),
            offset: self.offset + byte_len::<T>(start, &self.what)?,
            len,
            what: self.what.clone(),
            _t: PhantomData,
        })
    }

    pub(crate) fn allocation(&self) -> &Arc<Allocation> {
        &self.alloc
    }

    fn same_device(&self, stream: &Stream) -> Result<()> {
        if Arc::ptr_eq(&self.alloc.gpu, stream.gpu()) {
            Ok(())
        } else {
            Err(GpuError::Invalid(format!("{} belongs to another device than the stream", self.what)))
        }
    }

    /// Copies `src` into the buffer (lengths must match) and waits for the copy.
    pub fn write(&mut self, stream: &Stream, src: &[T]) -> Result<()> {
        if src.len() != self.len {
            return Err(GpuError::Invalid(format!(
                "writing {} elements into {} of {} elements",
                src.len(),
                self.what,
                self.len
            )));
        }
        self.write_at(stream, 0, src)
    }

    /// Copies `src` into the buffer starting at element `at`, and waits for the copy.
    pub fn write_at(&mut self, stream: &Stream, at: usize, src: &[T]) -> Result<()> {
        self.same_device(stream)?;
        if at.checked_add(src.len()).is_none_or(|end| end > self.len) {
            return Err(GpuError::Invalid(format!(
                "writing {} elements at {at} into {} of {} elements",
                src.len(),
                self.what,
                self.len
            )));
        }
        if src.is_empty() {
            return Ok(());
        }
        let gpu = stream.gpu();
        gpu.bind()?;
        let dst = self.device_ptr() + (at * std::mem::size_of::<T>()) as u64;
        gpu.driver()
            .memcpy_htod(dst, as_bytes(src), stream.handle())
            .map_err(|e| stream.annotate(e, &format!("uploading to {}", self.what)))
    }

    /// Copies the buffer into `dst` (lengths must match); waits for the stream first, so all
    /// work queued before on it is finished.
    pub fn read_into(&self, stream: &Stream, dst: &mut [T]) -> Result<()> {
        if dst.len() != self.len {
            return Err(GpuError::Invalid(format!(
                "reading {} of {} elements into {} elements",
                self.what,
                self.len,
                dst.len()
            )));
        }
        self.read_prefix(stream, dst)
    }

    /// Copies the first `dst.len()` elements into `dst` (waits for the stream first).
    pub fn read_prefix(&self, stream: &Stream, dst: &mut [T]) -> Result<()> {
        self.read_at(stream, 0, dst)
    }

    /// Copies elements `offset..offset + dst.len()` into `dst` (waits for the stream first).
    pub fn read_at(&self, stream: &Stream, offset: usize, dst: &mut [T]) -> Result<()> {
        self.same_device(stream)?;
        if offset.checked_add(dst.len()).is_none_or(|end| end > self.len) {
            return Err(GpuError::Invalid(format!(
                "reading {} elements at {offset} of {} of {} elements",
                dst.len(),
                self.what,
                self.len
            )));
        }
        if dst.is_empty() {
            return Ok(());
        }
        let gpu = stream.gpu();
        gpu.bind()?;
        let src = self.device_ptr() + (offset * std::mem::size_of::<T>()) as u64;
        gpu.driver()
            .memcpy_dtoh(as_bytes_mut(dst), src, stream.handle())
            .map_err(|e| stream.annotate(e, &format!("downloading {}", self.what)))?;
        stream.release_kept();
        Ok(())
    }

    /// The buffer's contents (waits for the stream).
    pub fn read(&self, stream: &Stream) -> Result<Vec<T>> {
        let mut out = vec![T::default(); self.len];
        self.read_into(stream, &mut out)?;
        Ok(out)
    }

    /// Sets every byte to `value`, ordered on the stream (asynchronous). Poisoning an output
    /// with 0xFF makes every float element a NaN.
    pub fn fill_bytes(&mut self, stream: &Stream, value: u8) -> Result<()> {
        self.same_device(stream)?;
        let gpu = stream.gpu();
        gpu.bind()?;
        gpu.driver().memset_d8_async(self.device_ptr(), value, self.size_bytes() as usize, stream.handle())?;
        stream.keep(self.alloc.clone());
        Ok(())
    }

    /// Sets every 32-bit word to `bits` (for 4-byte element types only), asynchronously.
    pub fn fill_u32(&mut self, stream: &Stream, bits: u32) -> Result<()> {
        self.same_device(stream)?;
        if std::mem::size_of::<T>() != 4 {
            return Err(GpuError::Invalid(format!(
                "fill_u32 on {} of {}-byte elements",
                self.what,
                std::mem::size_of::<T>()
            )));
        }
        let gpu = stream.gpu();
        gpu.bind()?;
        gpu.driver().memset_d32_async(self.device_ptr(), bits, self.len, stream.handle())?;
        stream.keep(self.alloc.clone());
        Ok(())
    }

    /// Copies another buffer of the same length into this one, ordered on the stream.
    pub fn copy_from(&mut self, stream: &Stream, src: &DeviceBuffer<T>) -> Result<()> {
        self.same_device(stream)?;
        src.same_device(stream)?;
        if src.len != self.len {
            return Err(GpuError::Invalid(format!(
                "copying {} ({} elements) into {} ({} elements)",
                src.what, src.len, self.what, self.len
            )));
        }
        let gpu = stream.gpu();
        gpu.bind()?;
        gpu.driver().memcpy_dtod_async(
            self.device_ptr(),
            src.device_ptr(),
            self.size_bytes() as usize,
            stream.handle(),
        )?;
        stream.keep(self.alloc.clone());
        stream.keep(src.alloc.clone());
        Ok(())
    }
}

impl<T: DeviceElem> std::fmt::Debug for DeviceBuffer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeviceBuffer<{}>({}, {} elements)", T::ELEM.rust_name(), self.what, self.len)
    }
}

/// One allocation handed out in pieces aligned to 256 bytes: buffers for a model or a batch
/// bucket are allocated once, up front. Pieces are never returned individually; the memory
/// goes back when the arena and every buffer taken from it are gone.
pub struct Arena {
    alloc: Arc<Allocation>,
    used: u64,
}

/// Alignment of arena pieces: enough for any vector load and for the drivers' own guarantees.
pub const ARENA_ALIGN: u64 = 256;

impl Arena {
    pub(crate) fn new(gpu: &Arc<GpuInner>, bytes: usize, what: &str) -> Result<Arena> {
        Ok(Arena { alloc: Allocation::new(gpu, bytes as u64, what)?, used: 0 })
    }

    pub fn capacity(&self) -> u64 {
        self.alloc.bytes
    }

    pub fn used(&self) -> u64 {
        self.used
    }

    pub fn remaining(&self) -> u64 {
        self.alloc.bytes - self.used
    }

    /// Starts handing out pieces from the beginning again, when no piece is alive any more
    /// (so no live buffer can alias a new one); false, and nothing changes, otherwise. Work
    /// queued on a stream that still uses old pieces is not a problem for work queued after it
    /// on the same stream.
    pub fn reset(&mut self) -> bool {
        let free = Arc::strong_count(&self.alloc) == 1;
        if free {
            self.used = 0;
        }
        free
    }

    /// A buffer of `len` elements from the arena. Running out is an out-of-memory error naming
    /// the piece, the arena and what is left in it.
    pub fn alloc<T: DeviceElem>(&mut self, len: usize, what: &str) -> Result<DeviceBuffer<T>> {
        let bytes = byte_len::<T>(len, what)?;
        let start = self.used.div_ceil(ARENA_ALIGN) * ARENA_ALIGN;
        let end = start.checked_add(bytes).filter(|&e| e <= self.alloc.bytes).ok_or_else(|| GpuError::OutOfMemory {
            what: format!("{what} in arena {}", self.alloc.what),
            requested: bytes,
            free: self.alloc.bytes.saturating_sub(start),
            total: self.alloc.bytes,
            detail: String::new(),
        })?;
        self.used = end;
        Ok(DeviceBuffer { alloc: self.alloc.clone(), offset: start, len, what: what.into(), _t: PhantomData })
    }
}
