//! The paged KV cache: per layer, K and V in fixed-size blocks of `block_size` tokens, f16 (as
//! llama.cpp's default cache type) or q8_0 ([`KvType`], chosen at load), holding only the KV
//! heads (GQA). Sequences own blocks through block tables; the cache itself only stores, and
//! hands out free blocks.

use backend::KvType;

use crate::compute::cpu::CpuLayerKv;
use crate::compute::Compute;
use crate::error::ModelError;
use crate::hparams::HParams;

pub const DEFAULT_BLOCK_SIZE: usize = 16;

/// `L` is the device's storage of one layer (host memory on the CPU, device memory on a GPU).
pub struct KvCache<L = CpuLayerKv> {
    ty: KvType,
    block_size: usize,
    n_blocks: usize,
    layers: Vec<L>,
    /// Free physical blocks, popped from the end.
    free: Vec<u32>,
    is_free: Vec<bool>, // [n_blocks]
}

impl KvCache<CpuLayerKv> {
    /// A host-memory cache of `n_blocks` blocks.
    pub fn new(hp: &HParams, ty: KvType, n_blocks: usize, block_size: usize) -> Result<KvCache, ModelError> {
        Self::build(hp, ty, n_blocks, block_size, |slots, width| Ok(CpuLayerKv::new(ty, slots, width)))
    }

    /// A host-memory cache with room for `tokens` tokens.
    pub fn for_tokens(hp: &HParams, ty: KvType, tokens: usize, block_size: usize) -> Result<KvCache, ModelError> {
        Self::new(hp, ty, tokens.div_ceil(block_size).max(1), block_size)
    }
}

impl<L> KvCache<L> {
    /// A cache of `n_blocks` blocks of `block_size` tokens on `dev`, holding only the KV heads.
    pub fn on<C: Compute<LayerKv = L>>(
        dev: &C,
        hp: &HParams,
        ty: KvType,
        n_blocks: usize,
        block_size: usize,
    ) -> Result<KvCache<L>, ModelError> {
        Self::build(hp, ty, n_blocks, block_size, |slots, width| dev.layer_kv(ty, slots, width))
    }

    fn build(
        hp: &HParams,
        ty: KvType,
        n_blocks: usize,
        block_size: usize,
        mut layer: impl FnMut(usize, usize) -> Result<L, ModelError>,
    ) -> Result<KvCache<L>, ModelError> {
        if block_size == 0 || n_blocks == 0 || n_blocks > u32::MAX as usize {
            return Err(ModelError::KvCache(format!("{n_blocks} blocks of {block_size} tokens is not a usable cache")));
        }
        if hp.head_dim_k != hp.head_dim_v {
            return Err(ModelError::KvCache(format!(
                "K width {} != V width {} is not supported",
                hp.head_dim_k, hp.head_dim_v
            )));
        }
        ty.check_head_dim(hp.head_dim_k as usize).map_err(ModelError::KvCache)?;
        let slots = n_blocks
            .checked_mul(block_size)
            .ok_or_else(|| ModelError::KvCache(format!("{n_blocks} blocks of {block_size} tokens overflow")))?;
        let layers = hp
            .n_head_kv
            .iter()
            .map(|&kv| layer(slots, kv as usize * hp.head_dim_k as usize))
            .collect::<Result<_, _>>()?;
        Ok(KvCache {
            ty,
            block_size,
            n_blocks,
            layers,
            free: (0..n_blocks as u32).rev().collect(),
            is_free: vec![true; n_blocks],
        })
    }

    pub fn kv_type(&self) -> KvType {
        self.ty
    }

    pub fn block_size(&self) -> usize {
        self.block_size
    }

    pub fn n_blocks(&self) -> usize {
        self.n_blocks
    }

    pub fn n_free(&self) -> usize {
        self.free.len()
    }

    pub fn alloc(&mut self) -> Option<u32> {
        let b = self.free.pop()?;
        self.is_free[b as usize] = false;
        Some(b)
    }

    /// Returns blocks to the free list. Blocks out of range or already free are ignored, so a
    /// bookkeeping bug cannot corrupt the free list.
    pub fn release(&mut self, blocks: &[u32]) {
        for &b in blocks {
            if self.is_free.get(b as usize) == Some(&false) {
                self.is_free[b as usize] = true;
                self.free.push(b);
            }
        }
    }

    /// Grows `table` until it covers `tokens` tokens; false (table unchanged beyond what fit)
    /// when the cache runs out.
    pub fn reserve(&mut self, table: &mut Vec<u32>, tokens: usize) -> bool {
        while table.len() * self.block_size < tokens {
            match self.alloc() {
                Some(b) => table.push(b),
                None => return false,
            }
        }
        true
    }

    pub(crate) fn layer(&self, l: usize) -> &L {
        &self.layers[l]
    }

    pub(crate) fn layer_mut(&mut self, l: usize) -> &mut L {
        &mut self.layers[l]
    }
}
