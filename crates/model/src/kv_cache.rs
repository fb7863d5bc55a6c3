//! The paged KV cache: per layer, K and V in fixed-size blocks of `block_size` tokens, f16 (as
//! llama.cpp's default cache type), holding only the KV heads (GQA). Sequences own blocks
//! through block tables; the cache itself only stores, and hands out free blocks.

use backend::cpu::KvView;
use half::f16;

use crate::error::ModelError;
use crate::hparams::HParams;

pub const DEFAULT_BLOCK_SIZE: usize = 16;

struct LayerKv {
    k: Vec<f16>, // [n_blocks, block_size, n_kv_head, head_dim]
    v: Vec<f16>, // [n_blocks, block_size, n_kv_head, head_dim]
    /// n_kv_head * head_dim: one token's K (or V) in this layer.
    width: usize,
}

pub struct KvCache {
    block_size: usize,
    n_blocks: usize,
    layers: Vec<LayerKv>,
    /// Free physical blocks, popped from the end.
    free: Vec<u32>,
    is_free: Vec<bool>, // [n_blocks]
}

impl KvCache {
    pub fn new(hp: &HParams, n_blocks: usize, block_size: usize) -> Result<KvCache, ModelError> {
        if block_size == 0 || n_blocks == 0 || n_blocks > u32::MAX as usize {
            return Err(ModelError::KvCache(format!("{n_blocks} blocks of {block_size} tokens is not a usable cache")));
        }
        if hp.head_dim_k != hp.head_dim_v {
            return Err(ModelError::KvCache(format!(
                "K width {} != V width {} is not supported",
                hp.head_dim_k, hp.head_dim_v
            )));
        }
        let layers = hp
            .n_head_kv
            .iter()
            .map(|&kv| {
                let width = kv as usize * hp.head_dim_k as usize;
                let n = n_blocks * block_size * width;
                LayerKv { k: vec![f16::ZERO; n], v: vec![f16::ZERO; n], width }
            })
            .collect();
        Ok(KvCache {
            block_size,
            n_blocks,
            layers,
            free: (0..n_blocks as u32).rev().collect(),
            is_free: vec![true; n_blocks],
        })
    }

    /// A cache with room for `tokens` tokens.
    pub fn for_tokens(hp: &HParams, tokens: usize, block_size: usize) -> Result<KvCache, ModelError> {
        Self::new(hp, tokens.div_ceil(block_size).max(1), block_size)
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

    /// Stores one token's K and V ([n_kv_head * head_dim] each) of `layer` in `slot`
    /// (physical block * block_size + offset).
    pub(crate) fn write(&mut self, layer: usize, slot: usize, k: &[f32], v: &[f32]) {
        let l = &mut self.layers[layer];
        let at = slot * l.width;
        l.k[at..at + l.width].iter_mut().zip(k).for_each(|(d, s)| *d = f16::from_f32(*s));
        l.v[at..at + l.width].iter_mut().zip(v).for_each(|(d, s)| *d = f16::from_f32(*s));
    }

    pub(crate) fn view(&self, layer: usize) -> KvView<'_> {
        let l = &self.layers[layer];
        KvView { k: &l.k, v: &l.v, block_size: self.block_size }
    }
}
