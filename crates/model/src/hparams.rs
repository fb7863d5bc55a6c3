//! Hyperparameters read from `{arch}.*` metadata (key names as in llama.cpp's llama-arch.cpp),
//! with defaults where llama.cpp has them and sanity checks where a file could lie.

use gguf::{Metadata, Value};
use serde::Serialize;

use crate::error::ModelError;

/// Upper bounds that no real model reaches; a file beyond them is refused rather than allowed
/// to size buffers from forged numbers.
const MAX_LAYERS: u32 = 1024;
const MAX_HEADS: u32 = 4096;
const MAX_DIM: u32 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RopeScaling {
    /// "none", "linear", "yarn", ...
    pub kind: String,
    pub factor: f64,
    pub original_context_length: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HParams {
    pub arch: String,
    pub name: Option<String>,
    pub context_length: u32,
    pub n_embd: u32,
    pub n_layer: u32,
    /// Per layer (files may give one value or an array).
    pub n_ff: Vec<u32>,
    pub n_head: Vec<u32>,
    pub n_head_kv: Vec<u32>,
    /// Per-head K and V widths (`attention.key_length` / `value_length`, else n_embd / n_head).
    pub head_dim_k: u32,
    pub head_dim_v: u32,
    pub norm_eps: f64,
    pub rope_freq_base: f64,
    pub rope_dim: u32,
    pub rope_scaling: Option<RopeScaling>,
    pub sliding_window: Option<u32>,
    pub vocab_size: Option<u32>,
    pub expert_count: Option<u32>,
    pub expert_used_count: Option<u32>,
}

impl HParams {
    pub fn from_metadata(m: &Metadata) -> Result<HParams, ModelError> {
        let arch = m.str("general.architecture")?.to_string();
        let key = |k: &str| format!("{arch}.{k}");
        let n_layer: u32 = m.int(&key("block_count"))?;
        bounded(&key("block_count"), n_layer, MAX_LAYERS)?;
        let n_embd: u32 = m.int(&key("embedding_length"))?;
        bounded(&key("embedding_length"), n_embd, MAX_DIM)?;

        let n_head = per_layer(m, &key("attention.head_count"), n_layer, None)?;
        let n_head_kv = per_layer(m, &key("attention.head_count_kv"), n_layer, Some(&n_head))?;
        for (l, (&h, &kv)) in n_head.iter().zip(&n_head_kv).enumerate() {
            bounded(&key("attention.head_count"), h, MAX_HEADS)?;
            if kv == 0 || kv > h || h % kv != 0 {
                return Err(bad(
                    &key("attention.head_count_kv"),
                    format!("layer {l}: {kv} KV heads for {h} query heads (must divide it)"),
                ));
            }
        }
        let n_ff = per_layer(m, &key("feed_forward_length"), n_layer, None)?;
        for &f in &n_ff {
            bounded(&key("feed_forward_length"), f, MAX_DIM)?;
        }
        let default_head_dim = n_embd / n_head[0];
        let head_dim_k = m.opt_int(&key("attention.key_length"))?.unwrap_or(default_head_dim);
        let head_dim_v = m.opt_int(&key("attention.value_length"))?.unwrap_or(default_head_dim);
        bounded(&key("attention.key_length"), head_dim_k, MAX_DIM)?;
        bounded(&key("attention.value_length"), head_dim_v, MAX_DIM)?;

        let norm_eps = match m.opt_float(&key("attention.layer_norm_rms_epsilon"))? {
            Some(e) => e,
            None => m.opt_float(&key("attention.layer_norm_epsilon"))?.unwrap_or(1e-5),
        };
        if !(norm_eps.is_finite() && (0.0..1.0).contains(&norm_eps)) {
            return Err(bad(&key("attention.layer_norm_rms_epsilon"), format!("{norm_eps} is not a usable epsilon")));
        }
        let rope_freq_base = m.opt_float(&key("rope.freq_base"))?.unwrap_or(10_000.0);
        if !(rope_freq_base.is_finite() && rope_freq_base > 0.0) {
            return Err(bad(&key("rope.freq_base"), format!("{rope_freq_base} is not positive and finite")));
        }
        let rope_dim = m.opt_int(&key("rope.dimension_count"))?.unwrap_or(head_dim_k);
        if rope_dim > head_dim_k || rope_dim % 2 != 0 {
            return Err(bad(
                &key("rope.dimension_count"),
                format!("{rope_dim} must be even and at most the head width {head_dim_k}"),
            ));
        }
        let rope_scaling = rope_scaling(m, &arch)?;
        let vocab_size = match m.opt_int(&key("vocab_size"))? {
            Some(v) => Some(v),
            None => match m.get("tokenizer.ggml.tokens") {
                Some(Value::Array(a)) => u32::try_from(a.len()).ok(),
                _ => None,
            },
        };
        Ok(HParams {
            name: m.opt_str("general.name")?.map(str::to_string),
            context_length: m.opt_int(&key("context_length"))?.unwrap_or(2048),
            n_embd,
            n_layer,
            n_ff,
            n_head,
            n_head_kv,
            head_dim_k,
            head_dim_v,
            norm_eps,
            rope_freq_base,
            rope_dim,
            rope_scaling,
            sliding_window: m.opt_int(&key("attention.sliding_window"))?,
            vocab_size,
            expert_count: m.opt_int(&key("expert_count"))?,
            expert_used_count: m.opt_int(&key("expert_used_count"))?,
            arch,
        })
    }

    /// Bytes of K and V for one token over all layers in a `ty` KV cache.
    pub fn kv_bytes_per_token(&self, ty: backend::KvType) -> u64 {
        let per_head = u64::from(self.head_dim_k + self.head_dim_v);
        self.n_head_kv.iter().map(|&kv| ty.bytes(u64::from(kv) * per_head)).sum()
    }
}

fn bad(key: &str, why: String) -> ModelError {
    ModelError::BadHParam { key: key.to_string(), why }
}

fn bounded(key: &str, v: u32, max: u32) -> Result<(), ModelError> {
    if v == 0 || v > max {
        return Err(bad(key, format!("{v} is outside 1..={max}")));
    }
    Ok(())
}

/// A value given once for all layers or as an array with one entry per layer. `default` is used
/// when the key is absent (an error when there is none).
fn per_layer(m: &Metadata, key: &str, n_layer: u32, default: Option<&[u32]>) -> Result<Vec<u32>, ModelError> {
    let values = match (m.get(key), default) {
        (None, Some(d)) => return Ok(d.to_vec()),
        (Some(Value::Array(_)), _) => m.int_array::<u32>(key)?,
        _ => vec![m.int::<u32>(key)?; n_layer as usize],
    };
    if values.len() != n_layer as usize {
        return Err(bad(key, format!("{} per-layer values for {n_layer} layers", values.len())));
    }
    Ok(values)
}

fn rope_scaling(m: &Metadata, arch: &str) -> Result<Option<RopeScaling>, ModelError> {
    let kind = m.opt_str(&format!("{arch}.rope.scaling.type"))?;
    let factor = m.opt_float(&format!("{arch}.rope.scaling.factor"))?;
    if kind.is_none() && factor.is_none() {
        return Ok(None);
    }
    let factor = factor.unwrap_or(1.0);
    if !(factor.is_finite() && factor > 0.0) {
        return Err(bad(&format!("{arch}.rope.scaling.factor"), format!("{factor} is not positive and finite")));
    }
    Ok(Some(RopeScaling {
        kind: kind.unwrap_or("linear").to_string(),
        factor,
        original_context_length: m.opt_int(&format!("{arch}.rope.scaling.original_context_length"))?,
    }))
}
