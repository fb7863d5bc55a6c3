//! Synthetic models: same table as the source, valid random blocks that decode to finite values
//! of the intended size, deterministic per seed; presets with the real models' tensor tables.

use gguf::{Array, GgmlType, GgufFile, GgufWriter, TensorData, Value};
use model::synth::{self, Preset, SynthOptions};
use model::HParams;

fn source() -> GgufFile {
    let mut w = GgufWriter::new();
    w.add_kv("general.architecture", Value::String("llama".into())).unwrap();
    w.add_kv("tokenizer.ggml.tokens", Value::Array(Array::String(vec!["a".into(), "b".into()]))).unwrap();
    for (name, ty, dims) in [
        ("token_embd.weight", GgmlType::Q4_K, vec![256u64, 2]),
        ("blk.0.attn_norm.weight", GgmlType::F32, vec![256]),
        ("blk.0.attn_q.bias", GgmlType::F32, vec![256]),
        ("blk.0.attn_q.weight", GgmlType::Q5_0, vec![256, 256]),
        ("blk.0.ffn_down.weight", GgmlType::Q6_K, vec![1024, 256]),
        ("blk.0.ffn_up.weight", GgmlType::IQ4_XS, vec![256, 64]),
        ("output.weight", GgmlType::MXFP4, vec![256, 2]),
    ] {
        let n = ty.bytes_for(dims.iter().product()).unwrap() as usize;
        w.add_tensor(name, ty, &dims, TensorData::Bytes(vec![0; n].into())).unwrap();
    }
    GgufFile::from_bytes(w.to_bytes().unwrap()).unwrap()
}

fn synth_like(seed: u64) -> GgufFile {
    let bytes = synth::like(&source(), SynthOptions { seed, scale: 1.0 }).unwrap().to_bytes().unwrap();
    GgufFile::from_bytes(bytes).unwrap()
}

#[test]
fn like_copies_metadata_and_table_with_finite_scaled_weights() {
    let (src, out) = (source(), synth_like(1));
    assert_eq!(out.metadata, src.metadata);
    for (a, b) in src.tensors.iter().zip(&out.tensors) {
        assert_eq!((&a.name, a.ty, &a.dims), (&b.name, b.ty, &b.dims));
        let v = out.dequantize(b).unwrap();
        assert!(v.iter().all(|x| x.is_finite()), "{}", b.name);
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        if b.name.contains("norm") {
            assert!((mean - 1.0).abs() < 0.05 && max <= 1.1 + 1e-6, "{}: mean {mean} max {max}", b.name);
        } else if b.dims.len() == 2 && !b.name.starts_with("token_embd") && !b.name.starts_with("output.") {
            let bound = (3.0 / b.dims[0] as f32).sqrt();
            assert!(max <= 1.1 * bound && max >= 0.25 * bound, "{}: max {max} vs {bound}", b.name);
        } else {
            assert!(max > 0.0 && max <= 1.1, "{}: max {max}", b.name);
        }
    }
}

#[test]
fn same_seed_same_file_other_seed_other_weights() {
    let (a, b, c) = (synth_like(3), synth_like(3), synth_like(4));
    let t = a.tensor("blk.0.attn_q.weight").unwrap();
    assert_eq!(a.tensor_data(t).unwrap(), b.tensor_data(b.tensor(&t.name).unwrap()).unwrap());
    assert_ne!(a.tensor_data(t).unwrap(), c.tensor_data(c.tensor(&t.name).unwrap()).unwrap());
}

#[test]
fn presets_have_the_real_tensor_tables() {
    // Tensor counts of the published Q4_K_M files: Qwen2.5-7B 339, Llama-3-8B 291, Qwen2.5-0.5B 290
    // (tied output).
    for (preset, n, bytes_q4k_m) in
        [(Preset::Qwen25_7B, 339, 4_677_120_000u64), (Preset::Llama3_8B, 291, 0), (Preset::Qwen25_0_5B, 290, 0)]
    {
        let specs = preset.tensor_specs(0);
        assert_eq!(specs.len(), n, "{preset:?}");
        let bytes: u64 = specs.iter().map(|s| s.ty.bytes_for(s.dims.iter().product()).unwrap()).sum();
        if bytes_q4k_m > 0 {
            assert_eq!(bytes, bytes_q4k_m, "{preset:?}");
        }
        assert!(specs.iter().all(|s| s.dims[0] % s.ty.block_size() as u64 == 0));
    }
    let l8b = Preset::Llama3_8B.tensor_specs(0);
    let q6k = l8b.iter().filter(|s| s.ty == GgmlType::Q6_K).count();
    assert_eq!(q6k, 2 * 16 + 1, "attn_v and ffn_down in 16 of 32 layers, plus output");
}

#[test]
fn preset_metadata_gives_the_right_hparams_and_padded_vocab() {
    let tok = {
        let mut w = GgufWriter::new();
        w.add_kv("general.architecture", Value::String("qwen2".into())).unwrap();
        w.add_kv("tokenizer.ggml.model", Value::String("gpt2".into())).unwrap();
        w.add_kv("tokenizer.ggml.tokens", Value::Array(Array::String(vec!["x".into(); 10]))).unwrap();
        w.add_kv("tokenizer.ggml.token_type", Value::Array(Array::I32(vec![1; 10]))).unwrap();
        GgufFile::from_bytes(w.to_bytes().unwrap()).unwrap()
    };
    // Only the header is needed: stop writing after 8 MiB instead of generating 4.7 GB.
    let w = Preset::Qwen25_7B.writer(Some(&tok), SynthOptions::default()).unwrap();
    let mut header = Vec::new();
    let _ = w.write_to(&mut LimitedWriter { out: &mut header, left: 8 << 20 });
    let meta = parse_metadata_prefix(&header);
    let hp = HParams::from_metadata(&meta).unwrap();
    assert_eq!((hp.n_embd, hp.n_layer, hp.n_head[0], hp.n_head_kv[0], hp.n_ff[0]), (3584, 28, 28, 4, 18944));
    let toks = meta.str_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(toks.len(), 152064);
    assert_eq!(toks[10], "[PAD10]");
    assert_eq!(meta.int_array::<i32>("tokenizer.ggml.token_type").unwrap()[10], 5);
}

/// Stops the write after `left` bytes (the header is all this test needs).
struct LimitedWriter<'a> {
    out: &'a mut Vec<u8>,
    left: usize,
}

impl std::io::Write for LimitedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::other("enough"));
        }
        let n = buf.len().min(self.left);
        self.out.extend_from_slice(&buf[..n]);
        self.left -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Metadata of a header whose tensor infos and data are cut off: with the tensor count zeroed
/// the metadata alone parses.
fn parse_metadata_prefix(header: &[u8]) -> gguf::Metadata {
    let mut h = header.to_vec();
    h[8..16].copy_from_slice(&0u64.to_le_bytes());
    GgufFile::from_bytes(h).unwrap().metadata
}

#[test]
fn tiny_presets_cover_every_weight_type() {
    let types = |p: Preset| -> std::collections::BTreeSet<GgmlType> {
        p.tensor_specs(1000).iter().filter(|s| s.dims.len() == 2).map(|s| s.ty).collect()
    };
    assert_eq!(types(Preset::TinyLlama).len(), 16);
    assert_eq!(types(Preset::TinyQwen3).len(), 15); // tied output: one matrix fewer
    let q3 = Preset::TinyQwen3.tensor_specs(1000);
    assert!(q3.iter().any(|s| s.name == "blk.1.attn_k_norm.weight" && s.dims == [64]));
    assert!(!q3.iter().any(|s| s.name == "output.weight"));
    assert!(Preset::TinyLlama.writer(None, SynthOptions::default()).is_err(), "tiny presets need a tokenizer");
}
