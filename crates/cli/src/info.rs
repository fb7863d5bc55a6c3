//! `rocmforge info`: what a GGUF file holds, as a table or as one JSON object.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use gguf::{GgmlType, GgufFile, Value};
use model::{HParams, KvType};
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file.
    #[arg(short, long)]
    model: PathBuf,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

struct Summary {
    file: GgufFile,
    hp: HParams,
    tokenizer: Option<String>,
    pre: Option<String>,
    chat_template_bytes: Option<usize>,
    weight_bytes: u64,
    /// Per KV cache type: bytes of 1000 tokens, None where the model's heads cannot use it.
    kv_per_1000: Vec<(KvType, Option<u64>)>,
    /// type -> (tensor count, bytes)
    by_type: BTreeMap<GgmlType, (usize, u64)>,
}

pub fn run(args: Args) -> Result<()> {
    let path = args.model.display().to_string();
    let file = GgufFile::open(&args.model)?;
    let hp = HParams::from_metadata(&file.metadata).with_context(|| path.clone())?;
    let m = &file.metadata;
    let mut by_type = BTreeMap::new();
    for t in &file.tensors {
        let e = by_type.entry(t.ty).or_insert((0usize, 0u64));
        e.0 += 1;
        e.1 += t.n_bytes;
    }
    let s = Summary {
        tokenizer: m.opt_str("tokenizer.ggml.model").with_context(|| path.clone())?.map(str::to_string),
        pre: m.opt_str("tokenizer.ggml.pre").with_context(|| path.clone())?.map(str::to_string),
        chat_template_bytes: m.opt_str("tokenizer.chat_template").with_context(|| path.clone())?.map(str::len),
        weight_bytes: file.tensors.iter().map(|t| t.n_bytes).sum(),
        kv_per_1000: KvType::ALL
            .iter()
            .map(|&ty| (ty, ty.check_head_dim(hp.head_dim_k as usize).ok().map(|()| hp.kv_bytes_per_token(ty) * 1000)))
            .collect(),
        by_type,
        file,
        hp,
    };
    let out = match args.json {
        true => serde_json::to_string_pretty(&to_json(&s, &path))? + "\n",
        false => render_text(&s, &path),
    };
    crate::output::print(&out)
}

fn to_json(s: &Summary, path: &str) -> serde_json::Value {
    let tensors: Vec<_> = s
        .file
        .tensors
        .iter()
        .map(|t| json!({"name": t.name, "type": t.ty.name(), "shape": t.dims, "bytes": t.n_bytes, "offset": t.start}))
        .collect();
    let totals: serde_json::Map<_, _> = s
        .by_type
        .iter()
        .map(|(ty, (n, bytes))| (ty.name().to_string(), json!({"tensors": n, "bytes": bytes})))
        .collect();
    json!({
        "file": path,
        "file_bytes": s.file.file_len(),
        "gguf_version": s.file.version,
        "alignment": s.file.alignment,
        "metadata_keys": s.file.metadata.len(),
        "hparams": s.hp,
        "tokenizer": {"model": s.tokenizer, "pre": s.pre, "vocab_size": s.hp.vocab_size},
        "chat_template": s.chat_template_bytes.is_some(),
        "chat_template_bytes": s.chat_template_bytes,
        "weight_bytes": s.weight_bytes,
        "kv_cache_f16_bytes_per_1000_tokens": s.kv_bytes(KvType::F16),
        "kv_cache_q8_0_bytes_per_1000_tokens": s.kv_bytes(KvType::Q8_0),
        "tensor_count": s.file.tensors.len(),
        "totals_by_type": totals,
        "tensors": tensors,
    })
}

impl Summary {
    fn kv_bytes(&self, ty: KvType) -> Option<u64> {
        self.kv_per_1000.iter().find(|(t, _)| *t == ty).and_then(|(_, b)| *b)
    }
}

fn render_text(s: &Summary, path: &str) -> String {
    let mut o = String::new();
    let hp = &s.hp;
    let opt = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
    let uniform = |v: &[u32]| match v.iter().all(|&x| x == v[0]) {
        true => v[0].to_string(),
        false => format!("{v:?}"),
    };
    writeln!(
        o,
        "file            {path} ({}, GGUF v{}, alignment {})",
        human(s.file.file_len()),
        s.file.version,
        s.file.alignment
    )
    .ok();
    writeln!(o, "architecture    {}", hp.arch).ok();
    writeln!(o, "name            {}", hp.name.as_deref().unwrap_or("-")).ok();
    writeln!(o, "context length  {}", hp.context_length).ok();
    writeln!(o, "embedding       {}", hp.n_embd).ok();
    writeln!(o, "layers          {}", hp.n_layer).ok();
    writeln!(
        o,
        "heads           {} (KV {}), head dim K {} V {}",
        uniform(&hp.n_head),
        uniform(&hp.n_head_kv),
        hp.head_dim_k,
        hp.head_dim_v
    )
    .ok();
    writeln!(o, "feed-forward    {}", uniform(&hp.n_ff)).ok();
    if let (Some(n), Some(used)) = (hp.expert_count, hp.expert_used_count) {
        writeln!(o, "experts         {n} ({used} used per token)").ok();
    }
    writeln!(o, "norm epsilon    {:e}", hp.norm_eps as f32).ok();
    let scaling = hp.rope_scaling.as_ref().map_or("none".to_string(), |r| {
        format!("{} x{} (original context {})", r.kind, r.factor, opt(r.original_context_length))
    });
    writeln!(o, "rope            base {}, dims {}, scaling {scaling}", hp.rope_freq_base, hp.rope_dim).ok();
    writeln!(o, "sliding window  {}", opt(hp.sliding_window)).ok();
    writeln!(
        o,
        "tokenizer       {} (pre {}), vocab {}",
        s.tokenizer.as_deref().unwrap_or("-"),
        s.pre.as_deref().unwrap_or("-"),
        opt(hp.vocab_size)
    )
    .ok();
    writeln!(o, "chat template   {}", s.chat_template_bytes.map_or("no".to_string(), |n| format!("yes ({n} bytes)")))
        .ok();
    writeln!(o, "weights         {} ({} bytes)", human(s.weight_bytes), s.weight_bytes).ok();
    for (ty, bytes) in &s.kv_per_1000 {
        let what = bytes.map_or("n/a (head size not a multiple of 32)".to_string(), |b| human(b) + " per 1000 tokens");
        writeln!(o, "{:16}{what}", format!("KV cache ({ty})")).ok();
    }

    writeln!(o, "\ntensors ({}):", s.file.tensors.len()).ok();
    let width = s.file.tensors.iter().map(|t| t.name.len()).max().unwrap_or(4);
    writeln!(o, "  {:width$}  {:7}  {:>24}  {:>12}", "name", "type", "shape", "bytes").ok();
    for t in &s.file.tensors {
        writeln!(o, "  {:width$}  {:7}  {:>24}  {:>12}", t.name, t.ty.name(), format!("{:?}", t.dims), t.n_bytes).ok();
    }
    writeln!(o, "\ntotals by type:").ok();
    for (ty, (n, bytes)) in &s.by_type {
        writeln!(o, "  {:7}  {n:4} tensors  {:>12} bytes  ({})", ty.name(), bytes, human(*bytes)).ok();
    }
    let n_kv = s.file.metadata.len();
    let strings = s.file.metadata.iter().filter(|(_, v)| matches!(v, Value::String(_))).count();
    writeln!(o, "\nmetadata        {n_kv} keys ({strings} strings)").ok();
    o
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", UNITS[u])
}
