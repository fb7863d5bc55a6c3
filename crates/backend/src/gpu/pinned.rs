//! Page-locked host buffers for what a step copies back (logits, greedy choices): the device
//! writes them at the link's full rate, where a copy into pageable memory goes through the
//! driver's staging buffers and a host copy (a 152k-float row of logits: tg128 of the 0.5B went
//! from 1,134 to 1,294 tokens/s on an H100). Buffers are allocated once and reused: a
//! [`Pinned`] goes back to its pool when dropped.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use super::device::GpuInner;
use super::error::{GpuError, Result};
use super::{DeviceElem, Gpu};

/// Buffers a pool keeps for reuse (the largest returned): a step's logits, and the previous
/// step's while a caller still holds them; the small buffers of greedy choices take one of them
/// for the moment of their copy.
const KEEP: usize = 2;

struct Block {
    ptr: *mut std::ffi::c_void,
    bytes: usize,
}

// SAFETY: a block is plain host memory owned by the pool or by one Pinned.
unsafe impl Send for Block {}

struct PoolInner {
    gpu: Arc<GpuInner>,
    free: Mutex<Vec<Block>>,
}

impl PoolInner {
    /// Keeps the KEEP largest blocks (so a small one never pushes out a row of logits, and a
    /// step does not allocate again), frees the rest.
    fn release(&self, b: Block) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        free.push(b);
        let out = match free.len() > KEEP {
            true => free.iter().enumerate().min_by_key(|(_, b)| b.bytes).map(|(i, _)| i).map(|i| free.swap_remove(i)),
            false => None,
        };
        drop(free);
        if let Some(b) = out {
            self.free_block(b);
        }
    }

    fn free_block(&self, b: Block) {
        if self.gpu.bind().is_ok() {
            // SAFETY: the block came from host_alloc of this driver and nothing uses it now.
            let _ = unsafe { self.gpu.driver().host_free(b.ptr) };
        }
    }
}

impl Drop for PoolInner {
    fn drop(&mut self) {
        let free = std::mem::take(self.free.get_mut().unwrap_or_else(|p| p.into_inner()));
        for b in free {
            self.free_block(b);
        }
    }
}

/// Page-locked buffers of one device's driver, reused.
#[derive(Clone)]
pub struct PinnedPool {
    inner: Arc<PoolInner>,
}

impl PinnedPool {
    pub fn new(gpu: &Gpu) -> PinnedPool {
        PinnedPool { inner: Arc::new(PoolInner { gpu: gpu.inner().clone(), free: Mutex::new(Vec::new()) }) }
    }

    /// A buffer of `len` values (contents unspecified): the smallest kept one that is large
    /// enough, else a new one.
    pub fn take<T: DeviceElem>(&self, len: usize) -> Result<Pinned<T>> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .ok_or_else(|| GpuError::Invalid(format!("a page-locked buffer of {len} values is too large")))?
            .max(1);
        let kept = {
            let mut free = self.inner.free.lock().unwrap_or_else(|p| p.into_inner());
            let fits = free.iter().enumerate().filter(|(_, b)| b.bytes >= bytes);
            fits.min_by_key(|(_, b)| b.bytes).map(|(i, _)| i).map(|i| free.swap_remove(i))
        };
        let block = match kept {
            Some(b) => b,
            None => {
                self.inner.gpu.bind()?;
                let ptr = self.inner.gpu.driver().host_alloc(bytes)?;
                // SAFETY: host_alloc returned `bytes` writable bytes; zeroing them once means
                // every value a reader sees is initialised.
                unsafe { std::ptr::write_bytes(ptr.cast::<u8>(), 0, bytes) };
                Block { ptr, bytes }
            }
        };
        Ok(Pinned { block: Some(block), len, pool: self.inner.clone(), _t: std::marker::PhantomData })
    }
}

/// `len` values of page-locked host memory from a [`PinnedPool`], returned to it when dropped.
pub struct Pinned<T> {
    block: Option<Block>, // Some until dropped
    len: usize,
    pool: Arc<PoolInner>,
    _t: std::marker::PhantomData<T>,
}

impl<T: DeviceElem> Deref for Pinned<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match &self.block {
            // SAFETY: the block holds at least `len` initialised values (zeroed when allocated,
            // and T is a plain device element for which every bit pattern is valid), owned by
            // this value; host_alloc memory is aligned for any type.
            Some(b) => unsafe { std::slice::from_raw_parts(b.ptr.cast::<T>(), self.len) },
            None => &[],
        }
    }
}

impl<T: DeviceElem> DerefMut for Pinned<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &self.block {
            // SAFETY: as in deref, and `&mut self` makes this the only reference.
            Some(b) => unsafe { std::slice::from_raw_parts_mut(b.ptr.cast::<T>(), self.len) },
            None => &mut [],
        }
    }
}

impl<T> Pinned<T> {
    /// Gives the memory up without returning it to the pool, for a buffer a device copy may
    /// still be writing (its stream failed): leaked rather than handed out again.
    pub fn abandon(mut self) {
        self.block = None;
    }
}

impl<T> Drop for Pinned<T> {
    fn drop(&mut self) {
        if let Some(b) = self.block.take() {
            self.pool.release(b);
        }
    }
}

impl<T> std::fmt::Debug for Pinned<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pinned({} x {})", self.len, std::any::type_name::<T>())
    }
}

/// Host memory for a step's results: page-locked from a [`PinnedPool`] where it can be had
/// (pinned memory is a limited resource), else ordinary. Either way a slice of values.
#[derive(Debug)]
pub enum HostBuf<T> {
    Heap(Vec<T>),
    Pinned(Pinned<T>),
}

impl<T: DeviceElem> HostBuf<T> {
    /// `len` values (contents unspecified): page-locked from `pool` when it has or can allocate
    /// them, else ordinary memory.
    pub fn take(pool: &PinnedPool, len: usize) -> HostBuf<T> {
        if len == 0 {
            return HostBuf::Heap(Vec::new());
        }
        match pool.take(len) {
            Ok(p) => HostBuf::Pinned(p),
            Err(_) => HostBuf::Heap(vec![T::default(); len]),
        }
    }

    /// Gives up a buffer a device copy may still be writing (see [`Pinned::abandon`]).
    pub fn abandon(self) {
        if let HostBuf::Pinned(p) = self {
            p.abandon();
        }
    }

    /// The values in a Vec (moved when they are one already, else copied).
    pub fn into_vec(self) -> Vec<T> {
        match self {
            HostBuf::Heap(v) => v,
            HostBuf::Pinned(p) => p.to_vec(),
        }
    }
}

impl<T> Default for HostBuf<T> {
    fn default() -> HostBuf<T> {
        HostBuf::Heap(Vec::new())
    }
}

impl<T> From<Vec<T>> for HostBuf<T> {
    fn from(v: Vec<T>) -> HostBuf<T> {
        HostBuf::Heap(v)
    }
}

impl<T: DeviceElem> Deref for HostBuf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            HostBuf::Heap(v) => v,
            HostBuf::Pinned(p) => p,
        }
    }
}

impl<T: DeviceElem> DerefMut for HostBuf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            HostBuf::Heap(v) => v,
            HostBuf::Pinned(p) => p,
        }
    }
}
