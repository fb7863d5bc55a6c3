//! The device a model runs on, chosen at run time (DESIGN §4: a closed enum at the top, the
//! [`Compute`](crate::compute::Compute) op set underneath): the CPU, or a GPU that holds the
//! model's weights. A KV cache lives on the device that runs the forward pass.

use backend::cpu::Cpu;
use backend::KvType;

use crate::batch::BatchPlan;
use crate::compute::gpu::{GpuLayerKv, GpuModel};
use crate::error::ModelError;
use crate::kv_cache::KvCache;
use crate::step_logits::{Logits, RowNeed, StepLogits};
use crate::Model;

pub enum Device {
    Cpu(Cpu),
    Gpu(Box<GpuModel>),
}

/// A paged KV cache on one device.
pub enum DeviceKv {
    Cpu(KvCache),
    Gpu(KvCache<GpuLayerKv>),
}

impl From<Cpu> for Device {
    fn from(cpu: Cpu) -> Device {
        Device::Cpu(cpu)
    }
}

impl Device {
    /// `n_blocks` blocks of `block_size` tokens of `ty` on this device.
    pub fn kv_cache(
        &self,
        model: &Model,
        ty: KvType,
        n_blocks: usize,
        block_size: usize,
    ) -> Result<DeviceKv, ModelError> {
        Ok(match self {
            Device::Cpu(_) => DeviceKv::Cpu(KvCache::new(&model.hparams, ty, n_blocks, block_size)?),
            Device::Gpu(g) => DeviceKv::Gpu(g.kv_cache(model, ty, n_blocks, block_size)?),
        })
    }

    /// One forward step of `model` (the model this device was loaded with) over `plan`; the
    /// logits of `plan.logits_rows` as [rows, vocab].
    pub fn forward(&self, model: &Model, kv: &mut DeviceKv, plan: &BatchPlan) -> Result<Logits, ModelError> {
        Ok(self.forward_rows(model, kv, plan, &[])?.into_values())
    }

    /// The same step with each row of logits read as `needs` asks (whole where it says
    /// nothing): a GPU takes the greedy choice of Argmax rows itself.
    pub fn forward_rows(
        &self,
        model: &Model,
        kv: &mut DeviceKv,
        plan: &BatchPlan,
        needs: &[RowNeed],
    ) -> Result<StepLogits, ModelError> {
        match (self, kv) {
            (Device::Cpu(cpu), DeviceKv::Cpu(kv)) => {
                Ok(StepLogits::whole(model.forward(cpu, kv, plan)?, model.vocab_size()))
            }
            (Device::Gpu(g), DeviceKv::Gpu(kv)) => g.forward(model, kv, plan, needs),
            _ => Err(ModelError::KvCache("the cache lives on another device than the one running the step".into())),
        }
    }

    /// One line for logs and `--verbose`: "CPU, 2 threads" or "GPU 0: NVIDIA H100 (sm_90)".
    pub fn describe(&self) -> String {
        match self {
            Device::Cpu(cpu) => format!("CPU, {} threads", cpu.threads()),
            Device::Gpu(g) => {
                let i = g.compute.gpu().info();
                format!("GPU {}: {} ({}, {:?} driver {})", i.ordinal, i.name, i.arch, i.vendor, i.driver_version)
            }
        }
    }

    /// "CPU" or the vendor's backend name, as llama-bench's `backend` column.
    pub fn backend_name(&self) -> &'static str {
        match self {
            Device::Cpu(_) => "CPU",
            Device::Gpu(g) => match g.compute.gpu().vendor() {
                backend::gpu::Vendor::Amd => "ROCm",
                backend::gpu::Vendor::Nvidia => "CUDA",
            },
        }
    }

    /// How many tokens of a `ty` KV cache fit in `share` of the memory this device has free now
    /// (GPU memory after the weights; the host's available memory for the CPU), or None when
    /// the device cannot say.
    pub fn kv_tokens_that_fit(&self, model: &Model, ty: KvType, share: f64) -> Option<usize> {
        let free = match self {
            Device::Gpu(g) => g.compute.gpu().memory_info().ok()?.0,
            Device::Cpu(_) => host_available_bytes()?,
        };
        let per_token = kv_bytes_per_token(model, ty).max(1);
        Some((free as f64 * share / per_token as f64) as usize)
    }

    /// Worker threads on the CPU; 0 for a GPU.
    pub fn threads(&self) -> usize {
        match self {
            Device::Cpu(cpu) => cpu.threads(),
            Device::Gpu(_) => 0,
        }
    }
}

impl DeviceKv {
    pub fn block_size(&self) -> usize {
        match self {
            DeviceKv::Cpu(kv) => kv.block_size(),
            DeviceKv::Gpu(kv) => kv.block_size(),
        }
    }

    pub fn kv_type(&self) -> KvType {
        match self {
            DeviceKv::Cpu(kv) => kv.kv_type(),
            DeviceKv::Gpu(kv) => kv.kv_type(),
        }
    }

    /// Grows `table` until it covers `tokens` tokens (see [`KvCache::reserve`]).
    pub fn reserve(&mut self, table: &mut Vec<u32>, tokens: usize) -> bool {
        match self {
            DeviceKv::Cpu(kv) => kv.reserve(table, tokens),
            DeviceKv::Gpu(kv) => kv.reserve(table, tokens),
        }
    }
}

/// Bytes one token takes in a `ty` KV cache: K and V of every KV head of every layer.
pub fn kv_bytes_per_token(model: &Model, ty: KvType) -> u64 {
    model.hparams.kv_bytes_per_token(ty)
}

/// `MemAvailable` of /proc/meminfo (Linux), in bytes.
fn host_available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
