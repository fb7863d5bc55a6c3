//! Synthetic models: real metadata, tokenizer and tensor shapes/types, random but valid weights.
//! GPU tests and benchmarks run on them where real model files cannot travel.
//!
//! Weights are scaled so activations stay O(1) through the layers (logits are not flat):
//! a matrix with rows of length n gets values in about ±sqrt(3/n) * scale (unit variance out
//! for unit variance in), norms get 1 ± 0.1, biases ±0.1 * scale, embeddings and the output
//! matrix ±scale (so logits spread over several units and the distribution has a clear top).

use std::io::{self, Write};

use backend::cpu::qdot::WEIGHT_TYPES;
use gguf::quants::random_blocks;
use gguf::{Array, GgmlType, GgufFile, GgufWriter, TensorData, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::ModelError;

/// Random bytes are produced in pieces of this many blocks, so memory stays small.
const BLOCKS_PER_PIECE: u64 = 4096;

#[derive(Clone, Copy, Debug)]
pub struct SynthOptions {
    pub seed: u64,
    /// Multiplies every weight's magnitude (1.0 keeps activations about unit size).
    pub scale: f32,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions { seed: 0x5eed, scale: 1.0 }
    }
}

/// A tensor to generate: name, type, dims (ggml order).
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    pub ty: GgmlType,
    pub dims: Vec<u64>,
}

/// Metadata key of a skeleton file: the tensor table of the model it was made from, one
/// `name|TYPE|ne0,ne1,..` string per tensor.
pub const SKELETON_KEY: &str = "rocmforge.synth.tensor_table";

/// Same metadata (tokenizer included) and tensor table as `src`, random weights. `src` may be
/// a [`skeleton`] (a few MB that travel where the model cannot).
pub fn like(src: &GgufFile, opts: SynthOptions) -> Result<GgufWriter<'static>, ModelError> {
    let mut w = GgufWriter::new();
    for (k, v) in src.metadata.iter().filter(|(k, _)| *k != SKELETON_KEY) {
        w.add_kv(k, v.clone())?;
    }
    let specs = match src.metadata.get(SKELETON_KEY) {
        Some(_) => skeleton_specs(src)?,
        None => {
            src.tensors.iter().map(|t| TensorSpec { name: t.name.clone(), ty: t.ty, dims: t.dims.clone() }).collect()
        }
    };
    add_random_tensors(&mut w, specs, opts)?;
    Ok(w)
}

/// The metadata of `src` and its tensor table (names, types, shapes) without tensor data.
pub fn skeleton(src: &GgufFile) -> Result<GgufWriter<'static>, ModelError> {
    let mut w = vocab_only(src)?;
    let table = src.tensors.iter().map(|t| {
        let dims: Vec<String> = t.dims.iter().map(u64::to_string).collect();
        format!("{}|{}|{}", t.name, t.ty.name(), dims.join(","))
    });
    w.add_kv(SKELETON_KEY, Value::Array(Array::String(table.collect())))?;
    Ok(w)
}

fn skeleton_specs(src: &GgufFile) -> Result<Vec<TensorSpec>, ModelError> {
    let bad =
        |entry: &str, why: &str| ModelError::BadHParam { key: SKELETON_KEY.into(), why: format!("'{entry}': {why}") };
    let mut specs = Vec::new();
    for entry in src.metadata.str_array(SKELETON_KEY)? {
        let mut parts = entry.split('|');
        let (Some(name), Some(ty), Some(dims), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad(entry, "expected name|TYPE|dims"));
        };
        let ty = GgmlType::from_name(ty).ok_or_else(|| bad(entry, "unknown tensor type"))?;
        let dims: Vec<u64> =
            dims.split(',').map(str::parse).collect::<Result<_, _>>().map_err(|_| bad(entry, "bad dimensions"))?;
        let n: Option<u64> = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        if dims.is_empty() || dims.len() > 4 || dims.contains(&0) || n.is_none_or(|n| n % ty.block_size() as u64 != 0) {
            return Err(bad(entry, "dimensions do not hold whole blocks"));
        }
        specs.push(TensorSpec { name: name.to_string(), ty, dims });
    }
    Ok(specs)
}

/// Only the metadata of `src` (hyperparameters, tokenizer, chat template), no tensors: a small
/// file to carry a tokenizer where the model cannot go (as llama.cpp's vocab files).
pub fn vocab_only(src: &GgufFile) -> Result<GgufWriter<'static>, ModelError> {
    let mut w = GgufWriter::new();
    for (k, v) in src.metadata.iter() {
        w.add_kv(k, v.clone())?;
    }
    Ok(w)
}

/// Writes `specs` with random valid data (generated while the file is written).
pub fn add_random_tensors(
    w: &mut GgufWriter<'static>,
    specs: Vec<TensorSpec>,
    opts: SynthOptions,
) -> Result<(), ModelError> {
    for (i, spec) in specs.into_iter().enumerate() {
        let seed = opts.seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let (scale, centre) = magnitude(&spec, opts.scale);
        let ty = spec.ty;
        if !ty.has_reference_dequant() {
            return Err(ModelError::BadHParam { key: spec.name, why: format!("cannot synthesize tensor type {ty}") });
        }
        let n_elements: u64 = spec.dims.iter().product();
        let n_blocks = n_elements / ty.block_size() as u64;
        let stream = move |out: &mut dyn Write| -> io::Result<()> {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut left = n_blocks;
            while left > 0 {
                let n = left.min(BLOCKS_PER_PIECE);
                let bytes = match (ty, centre) {
                    (GgmlType::F32, Some(c)) => {
                        (0..n).flat_map(|_| (c + rng.gen_range(-scale..=scale)).to_le_bytes()).collect()
                    }
                    _ => random_blocks(ty, n as usize, scale, &mut rng).map_err(io::Error::other)?,
                };
                out.write_all(&bytes)?;
                left -= n;
            }
            Ok(())
        };
        w.add_tensor(spec.name, ty, &spec.dims, TensorData::Stream(Box::new(stream)))?;
    }
    Ok(())
}

/// (magnitude, centre): norms are centred on 1, everything else on 0.
fn magnitude(spec: &TensorSpec, scale: f32) -> (f32, Option<f32>) {
    let name = spec.name.as_str();
    if name.contains("norm") {
        (0.1, Some(1.0))
    } else if name.ends_with(".bias") {
        (0.1 * scale, Some(0.0))
    } else if name.starts_with("token_embd") || name.starts_with("output.") || spec.dims.len() == 1 {
        (scale, None)
    } else {
        ((3.0 / spec.dims[0] as f32).sqrt() * scale, None)
    }
}

/// Named shapes: the published shapes of larger models (for GPU benchmarks; values from the
/// models' config.json), and tiny models that put every weight type through one forward pass
/// (for golden tests against llama.cpp).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Preset {
    Qwen25_0_5B,
    Qwen25_7B,
    Llama3_8B,
    TinyLlama,
    TinyQwen3,
}

/// How weight types are chosen.
#[derive(Clone, Copy)]
enum TypeMix {
    /// llama.cpp's Q4_K_M choices.
    Q4KM,
    /// Rotate through every weight type llama.cpp's CPU backend multiplies, starting at the
    /// given index, so one small model covers them all.
    AllTypes(usize),
}

struct PresetShape {
    arch: &'static str,
    name: &'static str,
    context: u32,
    n_embd: u64,
    n_layer: u64,
    n_ff: u64,
    n_head: u64,
    n_head_kv: u64,
    head_dim: u64,
    rope_base: f32,
    eps: f32,
    /// None: as many tokens as the tokenizer given to [`Preset::writer`] has.
    vocab: Option<u64>,
    qkv_bias: bool,
    qk_norm: bool,
    tied_output: bool,
    mix: TypeMix,
}

impl Preset {
    pub const NAMES: &'static [&'static str] = &["qwen2.5-0.5b", "qwen2.5-7b", "llama3-8b", "tiny-llama", "tiny-qwen3"];

    pub fn from_name(name: &str) -> Option<Preset> {
        match name.to_ascii_lowercase().as_str() {
            "qwen2.5-0.5b" => Some(Preset::Qwen25_0_5B),
            "qwen2.5-7b" => Some(Preset::Qwen25_7B),
            "llama3-8b" | "llama-3-8b" => Some(Preset::Llama3_8B),
            "tiny-llama" => Some(Preset::TinyLlama),
            "tiny-qwen3" => Some(Preset::TinyQwen3),
            _ => None,
        }
    }

    fn shape(self) -> PresetShape {
        let qwen2 = PresetShape {
            arch: "qwen2",
            name: "Qwen2.5 0.5B (synthetic)",
            context: 32768,
            n_embd: 896,
            n_layer: 24,
            n_ff: 4864,
            n_head: 14,
            n_head_kv: 2,
            head_dim: 64,
            rope_base: 1e6,
            eps: 1e-6,
            vocab: Some(151936),
            qkv_bias: true,
            qk_norm: false,
            tied_output: true,
            mix: TypeMix::Q4KM,
        };
        let tiny = PresetShape {
            arch: "llama",
            name: "tiny llama (synthetic)",
            context: 4096,
            n_embd: 256,
            n_layer: 2,
            n_ff: 512,
            n_head: 4,
            n_head_kv: 2,
            head_dim: 64,
            rope_base: 1e4,
            eps: 1e-5,
            vocab: None,
            qkv_bias: false,
            qk_norm: false,
            tied_output: false,
            // Starts so the large output matrix is Q8_0, not F32.
            mix: TypeMix::AllTypes(5),
        };
        match self {
            Preset::Qwen25_0_5B => qwen2,
            Preset::Qwen25_7B => PresetShape {
                name: "Qwen2.5 7B (synthetic)",
                n_embd: 3584,
                n_layer: 28,
                n_ff: 18944,
                n_head: 28,
                n_head_kv: 4,
                head_dim: 128,
                vocab: Some(152064),
                tied_output: false,
                ..qwen2
            },
            Preset::Llama3_8B => PresetShape {
                arch: "llama",
                name: "Llama 3 8B (synthetic)",
                context: 8192,
                n_embd: 4096,
                n_layer: 32,
                n_ff: 14336,
                n_head: 32,
                n_head_kv: 8,
                head_dim: 128,
                rope_base: 5e5,
                eps: 1e-5,
                vocab: Some(128256),
                qkv_bias: false,
                tied_output: false,
                ..qwen2
            },
            Preset::TinyLlama => tiny,
            Preset::TinyQwen3 => PresetShape {
                arch: "qwen3",
                name: "tiny qwen3 (synthetic)",
                rope_base: 1e6,
                eps: 1e-6,
                qk_norm: true,
                tied_output: true,
                mix: TypeMix::AllTypes(8),
                ..tiny
            },
        }
    }

    /// The preset's metadata and tensors. Tokenizer keys are copied from `tokenizer` when
    /// given, its vocabulary padded with `[PADn]` tokens (as HF pads Qwen's) or truncated to
    /// the preset's vocabulary size; the tiny presets take the tokenizer's size and need one.
    pub fn writer(self, tokenizer: Option<&GgufFile>, opts: SynthOptions) -> Result<GgufWriter<'static>, ModelError> {
        let s = self.shape();
        let tok_vocab = match tokenizer {
            Some(t) => Some(t.metadata.str_array("tokenizer.ggml.tokens")?.len() as u64),
            None => None,
        };
        let Some(vocab) = s.vocab.or(tok_vocab) else {
            let why = "this preset takes its vocabulary from --tokenizer-from".to_string();
            return Err(ModelError::BadHParam { key: "tokenizer.ggml.tokens".into(), why });
        };
        let mut w = GgufWriter::new();
        let arch = s.arch;
        let u32v = |x: u64| Value::U32(x as u32);
        w.add_kv("general.architecture", Value::String(arch.into()))?;
        w.add_kv("general.name", Value::String(s.name.into()))?;
        if let TypeMix::Q4KM = s.mix {
            w.add_kv("general.file_type", Value::U32(15))?; // LLAMA_FTYPE_MOSTLY_Q4_K_M
        }
        w.add_kv(format!("{arch}.context_length"), Value::U32(s.context))?;
        w.add_kv(format!("{arch}.embedding_length"), u32v(s.n_embd))?;
        w.add_kv(format!("{arch}.block_count"), u32v(s.n_layer))?;
        w.add_kv(format!("{arch}.feed_forward_length"), u32v(s.n_ff))?;
        w.add_kv(format!("{arch}.attention.head_count"), u32v(s.n_head))?;
        w.add_kv(format!("{arch}.attention.head_count_kv"), u32v(s.n_head_kv))?;
        w.add_kv(format!("{arch}.attention.key_length"), u32v(s.head_dim))?;
        w.add_kv(format!("{arch}.attention.value_length"), u32v(s.head_dim))?;
        w.add_kv(format!("{arch}.rope.freq_base"), Value::F32(s.rope_base))?;
        w.add_kv(format!("{arch}.attention.layer_norm_rms_epsilon"), Value::F32(s.eps))?;
        w.add_kv(format!("{arch}.vocab_size"), u32v(vocab))?;
        if let Some(tok) = tokenizer {
            copy_tokenizer(&mut w, tok, vocab as usize)?;
        }
        add_random_tensors(&mut w, s.tensors(vocab), opts)?;
        Ok(w)
    }

    /// The tensors [`Preset::writer`] writes for a vocabulary of `vocab` tokens.
    pub fn tensor_specs(self, vocab: u64) -> Vec<TensorSpec> {
        let s = self.shape();
        s.tensors(s.vocab.unwrap_or(vocab))
    }
}

impl PresetShape {
    /// The type of the `index`-th weight matrix.
    fn weight_type(&self, index: usize, q4km: GgmlType) -> GgmlType {
        match self.mix {
            TypeMix::Q4KM => q4km,
            TypeMix::AllTypes(start) => WEIGHT_TYPES[(start + index) % WEIGHT_TYPES.len()],
        }
    }

    /// llama-family tensor table. Q4_K_M follows llama.cpp's llama_tensor_get_type: Q4_K by
    /// default, Q6_K for the output and for attn_v / ffn_down in the layers where
    /// `use_more_bits` holds; K-quants fall back to legacy types when rows are not a multiple
    /// of 256.
    fn tensors(&self, vocab: u64) -> Vec<TensorSpec> {
        let (e, q, kv, ff, hd) =
            (self.n_embd, self.n_head * self.head_dim, self.n_head_kv * self.head_dim, self.n_ff, self.head_dim);
        let n = self.n_layer;
        let more_bits = |i: u64| i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
        let mut t = Vec::new();
        let mut n_weights = 0;
        let mut weight = |t: &mut Vec<TensorSpec>, name: String, q4km: GgmlType, dims: &[u64]| {
            let ty = fallback(self.weight_type(n_weights, q4km), dims[0]);
            n_weights += 1;
            t.push(TensorSpec { name, ty, dims: dims.to_vec() });
        };
        let f32 = |t: &mut Vec<TensorSpec>, name: String, len: u64| {
            t.push(TensorSpec { name, ty: GgmlType::F32, dims: vec![len] })
        };
        weight(&mut t, "token_embd.weight".into(), GgmlType::Q4_K, &[e, vocab]);
        for i in 0..n {
            let b = |n: &str| format!("blk.{i}.{n}");
            let wide = if more_bits(i) { GgmlType::Q6_K } else { GgmlType::Q4_K };
            f32(&mut t, b("attn_norm.weight"), e);
            weight(&mut t, b("attn_q.weight"), GgmlType::Q4_K, &[e, q]);
            weight(&mut t, b("attn_k.weight"), GgmlType::Q4_K, &[e, kv]);
            weight(&mut t, b("attn_v.weight"), wide, &[e, kv]);
            if self.qkv_bias {
                f32(&mut t, b("attn_q.bias"), q);
                f32(&mut t, b("attn_k.bias"), kv);
                f32(&mut t, b("attn_v.bias"), kv);
            }
            if self.qk_norm {
                f32(&mut t, b("attn_q_norm.weight"), hd);
                f32(&mut t, b("attn_k_norm.weight"), hd);
            }
            weight(&mut t, b("attn_output.weight"), GgmlType::Q4_K, &[q, e]);
            f32(&mut t, b("ffn_norm.weight"), e);
            weight(&mut t, b("ffn_gate.weight"), GgmlType::Q4_K, &[e, ff]);
            weight(&mut t, b("ffn_up.weight"), GgmlType::Q4_K, &[e, ff]);
            weight(&mut t, b("ffn_down.weight"), wide, &[ff, e]);
        }
        f32(&mut t, "output_norm.weight".into(), e);
        if !self.tied_output {
            weight(&mut t, "output.weight".into(), GgmlType::Q6_K, &[e, vocab]);
        }
        t
    }
}

/// llama.cpp's fallback when a row does not hold whole 256-element super-blocks.
fn fallback(ty: GgmlType, ne0: u64) -> GgmlType {
    if ne0.is_multiple_of(ty.block_size() as u64) {
        return ty;
    }
    match ty {
        GgmlType::Q4_K => GgmlType::Q5_0,
        GgmlType::Q6_K => GgmlType::Q8_0,
        other => other,
    }
}

/// Copies `tokenizer.*` keys, resizing the per-token arrays to `vocab` entries.
fn copy_tokenizer(w: &mut GgufWriter<'static>, src: &GgufFile, vocab: usize) -> Result<(), ModelError> {
    const TOKEN_TYPE_UNUSED: i32 = 5;
    for (k, v) in src.metadata.iter().filter(|(k, _)| k.starts_with("tokenizer.")) {
        let v = match (k, v) {
            ("tokenizer.ggml.tokens", Value::Array(Array::String(t))) => {
                let mut t = t.clone();
                t.truncate(vocab);
                t.extend((t.len()..vocab).map(|i| format!("[PAD{i}]")));
                Value::Array(Array::String(t))
            }
            ("tokenizer.ggml.scores", Value::Array(Array::F32(s))) => {
                let mut s = s.clone();
                s.resize(vocab, -1e9);
                Value::Array(Array::F32(s))
            }
            ("tokenizer.ggml.token_type", Value::Array(Array::I32(s))) => {
                let mut s = s.clone();
                s.resize(vocab, TOKEN_TYPE_UNUSED);
                Value::Array(Array::I32(s))
            }
            _ => v.clone(),
        };
        w.add_kv(k, v)?;
    }
    Ok(())
}
