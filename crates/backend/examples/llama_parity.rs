//! Our CPU ops against llama.cpp's, bit for bit, on the tensors of one llama.cpp forward pass
//! (scripts/dump_llama_tensors.py; one layer of the Qwen2.5 test model): each op gets llama.cpp's
//! own input and its result is compared with llama.cpp's output. Prints, per op, how many
//! values differ; a development tool for matching llama.cpp's rounding (docs/ARCHITECTURE.md).
//!
//!     cargo run --release -p backend --example llama_parity -- MODEL.gguf DUMP_DIR [LAYER [UBATCH]]
//!
//! (the dump's FILTER must then be "-LAYER", and UBATCH the dump's: 1 for one token per graph).

use backend::cpu::{
    geglu, rms_norm_rows, rope, softmax, swiglu, AttnParams, Cpu, DotOrder, InBatch, KvData, KvView, RopeParams,
    RopeStyle, SeqView, TokenPlaces,
};
use backend::WeightView;
use gguf::GgufFile;
use half::f16;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn read(dir: &str, name: &str) -> Res<Vec<f32>> {
    let b = std::fs::read(format!("{dir}/{name}.f32")).map_err(|e| format!("{dir}/{name}.f32: {e}"))?;
    Ok(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn report(what: &str, ours: &[f32], theirs: &[f32]) {
    let diff: Vec<f32> =
        ours.iter().zip(theirs).filter(|(a, b)| a.to_bits() != b.to_bits()).map(|(a, b)| (a - b).abs()).collect();
    let worst = diff.iter().copied().fold(0f32, f32::max);
    println!("{what:<34} {:>9} of {:>9} differ (largest {worst:e})", diff.len(), ours.len());
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let (model, dir, layer, ubatch) = match &args[..] {
        [_, m, d] => (m, d, 0, 1024),
        [_, m, d, l] => (m, d, l.parse::<usize>()?, 1024),
        [_, m, d, l, u] => (m, d, l.parse::<usize>()?, u.parse::<usize>()?),
        _ => return Err("usage: llama_parity MODEL.gguf DUMP_DIR [LAYER [UBATCH]]".into()),
    };
    if ubatch != 1 && ubatch < 1024 {
        return Err("UBATCH is 1 (one token per graph) or the whole prompt (1024)".into());
    }
    let file = GgufFile::open(model)?;
    let cpu = Cpu::new(2)?;
    let f32s = |name: &str| -> Res<Vec<f32>> {
        let data = file.tensor_data(file.require_tensor(name)?)?;
        Ok(data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    };
    if file.tensor("blk.0.attn_q_norm.weight").is_some() {
        return gemma3(&file, &cpu, dir, layer, ubatch);
    }
    // Matmuls: the whole prompt at once, then token by token (prefill and decode kernels).
    let (b, l) = (|n: &str| format!("blk.{layer}.{n}.weight"), |n: &str| format!("{n}-{layer}"));
    for (w, x, y) in [
        (b("attn_q"), l("attn_norm"), l("Qcur")),
        (b("attn_v"), l("attn_norm"), l("Vcur")),
        (b("ffn_gate"), l("ffn_norm"), l("ffn_gate")),
        (b("ffn_down"), l("ffn_swiglu"), l("ffn_out")),
        ("output.weight".into(), "result_norm".into(), "result_output".into()),
    ] {
        let (w, x, y) = (&w, &x, &y);
        let info = file.require_tensor(w)?;
        let wv = WeightView::new(info, file.tensor_data(info)?)?;
        let (xv, want) = (read(dir, x)?, read(dir, y)?);
        let t = xv.len() / wv.cols;
        let mut out = vec![0f32; t * wv.rows];
        cpu.matmul(&xv, t, &wv, &mut out);
        report(&format!("{w} {} x{t}", wv.ty), &out, &want);
        for (xr, or) in xv.chunks_exact(wv.cols).zip(out.chunks_exact_mut(wv.rows)) {
            cpu.matmul(xr, 1, &wv, or);
        }
        report(&format!("{w} {} x1", wv.ty), &out, &want);
    }
    let mut g = read(dir, &l("ffn_gate"))?;
    swiglu(&mut g, &read(dir, &l("ffn_up"))?);
    report("swiglu", &g, &read(dir, &l("ffn_swiglu"))?);

    let x = read(dir, &l("ffn_inp"))?;
    let mut y = vec![0f32; x.len()];
    rms_norm_rows(&x, &f32s(&format!("blk.{layer}.ffn_norm.weight"))?, 1e-6, &mut y);
    report("rms_norm", &y, &read(dir, &l("ffn_norm"))?);

    // Qcur-L#2 is Q reshaped to heads, #3 the same after rope.
    let (n_head, head_dim) = (14, 64);
    let mut q = read(dir, &format!("{}#2", l("Qcur")))?;
    let t = q.len() / (n_head * head_dim);
    let positions: Vec<u32> = (0..t as u32).collect();
    let p = RopeParams { n_rot: head_dim, base: 1e6, freq_scale: 1.0, style: RopeStyle::Neox };
    rope(&mut q, n_head, head_dim, &positions, &p);
    report("rope", &q, &read(dir, &format!("{}#3", l("Qcur")))?);

    // kq: [head][token][key] over the 256 padded keys ([token][head][key] one token per
    // graph); token i sees keys 0..=i.
    let (kq, want) = (read(dir, &l("kq"))?, read(dir, &l("kq_soft_max"))?);
    let mut got = vec![0f32; kq.len()];
    for (r, (row, o)) in kq.chunks_exact(256).zip(got.chunks_exact_mut(256)).enumerate() {
        let visible = if ubatch == 1 { r / n_head } else { r % t } + 1;
        let mut w: Vec<f32> = row[..visible].iter().map(|v| v * (1.0 / (head_dim as f32).sqrt())).collect();
        softmax(&mut w, 0);
        o[..visible].copy_from_slice(&w);
    }
    report("softmax", &got, &want);

    // The whole attention (f16 cache; llama.cpp's dot order for a batch of t tokens): roped Q
    // and K, V with its bias (Vcur-L#1) -> kqv_out.
    let n_kv_head = 2;
    let (k, v) = (read(dir, &format!("{}#3", l("Kcur")))?, read(dir, &format!("{}#1", l("Vcur")))?);
    let q = read(dir, &format!("{}#3", l("Qcur")))?;
    let p = AttnParams {
        n_head,
        n_kv_head,
        head_dim,
        scale: 1.0 / (head_dim as f32).sqrt(),
        window: None,
        softcap: None,
        scale_q: false,
    };
    let out = attend(&cpu, &q, &k, &v, t.min(ubatch), &p);
    report("attention", &out, &read(dir, &l("kqv_out"))?);
    Ok(())
}

/// A weight matrix of the file.
fn matrix<'f>(file: &'f GgufFile, name: &str) -> Res<WeightView<'f>> {
    let info = file.require_tensor(name)?;
    Ok(WeightView::new(info, file.tensor_data(info)?)?)
}

/// An f32 vector of the file.
fn vector(file: &GgufFile, name: &str) -> Res<Vec<f32>> {
    let data = file.tensor_data(file.require_tensor(name)?)?;
    Ok(data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Gemma 3 (the 270M test model: 4 heads of 256, one KV head; layer 0 slides, rope base 1e4):
/// each op of one layer on llama.cpp's input, in the graph's order.
fn gemma3(file: &GgufFile, cpu: &Cpu, dir: &str, layer: usize, ubatch: usize) -> Res<()> {
    let (n_head, n_kv_head, head_dim, eps) = (4, 1, 256, 1e-6);
    let (b, l) = (|n: &str| format!("blk.{layer}.{n}.weight"), |n: &str| format!("{n}-{layer}"));
    // Each token in the dump's batch: the whole prompt, or alone.
    let batch = |t: usize| if ubatch == 1 { vec![InBatch::ALONE; t] } else { InBatch::whole(t) };
    let mm = |w: &str, x: &str, want: &[f32]| -> Res<Vec<f32>> {
        let (wv, xv) = (matrix(file, w)?, read(dir, x)?);
        let t = xv.len() / wv.cols;
        let mut out = vec![0f32; t * wv.rows];
        cpu.matmuls_in(&xv, &batch(t), &[wv], &mut [&mut out]);
        report(&format!("{w} {} x{t}", wv.ty), &out, want);
        Ok(out)
    };
    mm(&b("attn_q"), &l("attn_norm"), &read(dir, &l("Qcur"))?)?;
    mm(&b("attn_k"), &l("attn_norm"), &read(dir, &l("Kcur"))?)?;
    mm(&b("attn_v"), &l("attn_norm"), &read(dir, &l("Vcur"))?)?;
    let norm = |x: &str, w: &str, want: &str, what: &str| -> Res<Vec<f32>> {
        let (x, w) = (read(dir, x)?, vector(file, w)?);
        let mut y = vec![0f32; x.len()];
        rms_norm_rows(&x, &w, eps, &mut y);
        report(what, &y, &read(dir, want)?);
        Ok(y)
    };
    norm(&l("Qcur"), &b("attn_q_norm"), &l("Qcur_normed"), "q norm")?;
    norm(&l("Kcur"), &b("attn_k_norm"), &l("Kcur_normed"), "k norm")?;
    let mut q = read(dir, &l("Qcur_normed"))?;
    let t = q.len() / (n_head * head_dim);
    let positions: Vec<u32> = (0..t as u32).collect();
    let base = if layer % 6 == 5 { 1e6 } else { 1e4 }; // every sixth layer is global
    let p = RopeParams { n_rot: head_dim, base, freq_scale: 1.0, style: RopeStyle::Neox };
    rope(&mut q, n_head, head_dim, &positions, &p);
    report("rope", &q, &read(dir, &format!("{}#2", l("Qcur")))?);

    // Attention: llama.cpp scales Q by 1/16 before its product (kq_scale 1): `scale_q`.
    let (k, v) = (read(dir, &format!("{}#2", l("Kcur")))?, read(dir, &l("Vcur"))?);
    let q = read(dir, &format!("{}#2", l("Qcur")))?;
    let want = read(dir, &l("kqv_out"))?;
    for (what, scale_q) in [("attention, scores scaled", false), ("attention, q scaled", true)] {
        let p =
            AttnParams { n_head, n_kv_head, head_dim, scale: 1.0 / 16.0, window: Some(512), softcap: None, scale_q };
        report(what, &attend(cpu, &q, &k, &v, t.min(ubatch), &p), &want);
    }
    // The output projection is not dumped; its rms_norm (norm#3, no weight yet) is.
    let wo = matrix(file, &b("attn_output"))?;
    let mut o = vec![0f32; t * wo.rows];
    cpu.matmuls_in(&want, &batch(t), &[wo], &mut [&mut o]);
    let mut y = vec![0f32; o.len()];
    rms_norm_rows(&o, &vec![1.0; wo.rows], eps, &mut y);
    report(&format!("attn_output {} + norm", wo.ty), &y, &read(dir, &format!("{}#3", l("norm")))?);
    mm(&b("ffn_gate"), &l("ffn_norm"), &read(dir, &l("ffn_gate"))?)?;
    mm(&b("ffn_up"), &l("ffn_norm"), &read(dir, &l("ffn_up"))?)?;
    let mut g = read(dir, &l("ffn_gate"))?;
    geglu(&mut g, &read(dir, &l("ffn_up"))?);
    report("geglu", &g, &read(dir, &l("ffn_geglu"))?);
    mm(&b("ffn_down"), &l("ffn_geglu"), &read(dir, &l("ffn_out"))?)?;
    norm(&l("ffn_out"), &b("post_ffw_norm"), &l("ffn_post_norm"), "post-ffn norm")?;
    norm(&l("sa_out"), &b("ffn_norm"), &l("ffn_norm"), "ffn norm")?;
    Ok(())
}

/// Causal attention of every token of one sequence (q: [t, heads, head_dim]; k, v: [t, kv
/// heads, head_dim], stored in an f16 cache of one block) in llama.cpp's dot order for a batch
/// of `batch` tokens.
fn attend(cpu: &Cpu, q: &[f32], k: &[f32], v: &[f32], batch: usize, p: &AttnParams) -> Vec<f32> {
    let half = |x: &[f32]| x.iter().map(|&y| f16::from_f32(y)).collect::<Vec<f16>>();
    let (k, v) = (half(k), half(v));
    let t = k.len() / (p.n_kv_head * p.head_dim);
    let positions: Vec<u32> = (0..t as u32).collect();
    let order = if batch >= 2 { DotOrder::Batch } else { DotOrder::Single };
    let (token_seq, orders) = (vec![0; t], vec![order; t]);
    let mut out = vec![0f32; q.len()];
    cpu.attention(
        q,
        &TokenPlaces { positions: &positions, token_seq: &token_seq, orders: &orders },
        &[SeqView { blocks: &[0] }],
        &KvView { k: KvData::F16(&k), v: KvData::F16(&v), block_size: t },
        p,
        &mut out,
    );
    out
}
