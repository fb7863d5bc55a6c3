//! A layer's K and V cache in device memory, in the cache's element type ([`KvType`]); the
//! layout is the host one ([`crate::cpu::KvRows`]) as bytes: f16 values, or q8_0's int8 quants
//! followed by their f16 block scales (kernels/attention.cu reads both).

use half::f16;

use super::device::Gpu;
use super::error::{GpuError, Result};
use super::memory::DeviceBuffer;
use crate::cpu::KvData;
use crate::{KvType, Q8_0_BLOCK};

pub struct KvBuffers {
    /// K of `slots` rows of `width` values: ty.bytes(slots * width) bytes.
    pub k: DeviceBuffer<u8>,
    /// V, as K.
    pub v: DeviceBuffer<u8>,
    ty: KvType,
    slots: usize,
    width: usize,
}

impl KvBuffers {
    /// Uninitialised K and V of `slots` rows of `width` values (q8_0: whole blocks per row).
    pub fn alloc(gpu: &Gpu, ty: KvType, slots: usize, width: usize) -> Result<KvBuffers> {
        let bytes = Self::bytes(ty, slots, width)?;
        let (k, v) = (gpu.alloc(bytes, "KV cache (K)")?, gpu.alloc(bytes, "KV cache (V)")?);
        Ok(KvBuffers { k, v, ty, slots, width })
    }

    /// K and V copied from host rows (tests; the engine writes through `Ops::kv_write`).
    pub fn upload(gpu: &Gpu, k: KvData, v: KvData, width: usize) -> Result<KvBuffers> {
        let ty = match (k, v) {
            (KvData::F16(_), KvData::F16(_)) => KvType::F16,
            (KvData::Q8_0 { .. }, KvData::Q8_0 { .. }) => KvType::Q8_0,
            _ => return Err(GpuError::Invalid("KV upload: K and V of different types".into())),
        };
        if width == 0 || k.len() != v.len() || !k.len().is_multiple_of(width) {
            return Err(GpuError::Invalid(format!(
                "KV upload: {} and {} values are not rows of {width}",
                k.len(),
                v.len()
            )));
        }
        let slots = k.len() / width;
        Self::bytes(ty, slots, width)?;
        let (k, v) = (gpu.upload(&host_bytes(k), "KV cache (K)")?, gpu.upload(&host_bytes(v), "KV cache (V)")?);
        Ok(KvBuffers { k, v, ty, slots, width })
    }

    fn bytes(ty: KvType, slots: usize, width: usize) -> Result<usize> {
        if ty == KvType::Q8_0 && !width.is_multiple_of(Q8_0_BLOCK) {
            return Err(GpuError::Invalid(format!("a q8_0 KV row of {width} values is not whole blocks of 32")));
        }
        let values = slots.checked_mul(width).filter(|&n| ty.bytes(n as u64) <= usize::MAX as u64);
        values
            .map(|n| ty.bytes(n as u64) as usize)
            .ok_or_else(|| GpuError::Invalid(format!("a KV cache of {slots} x {width} values overflows")))
    }

    pub fn ty(&self) -> KvType {
        self.ty
    }

    /// Rows (cache slots) held.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Values per row (n_kv_head * head_dim).
    pub fn width(&self) -> usize {
        self.width
    }
}

/// The device image of host rows: f16 values little-endian, or q8_0's quants then scales.
pub fn host_bytes(rows: KvData) -> Vec<u8> {
    let halves = |h: &[f16]| h.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    match rows {
        KvData::F16(h) => halves(h),
        KvData::Q8_0 { qs, d } => qs.iter().map(|&q| q as u8).chain(halves(d)).collect(),
    }
}
