//! Our CPU kernels against llama.cpp's own inputs and outputs, bit for bit (fixtures from
//! scripts/gen_parity_fixtures.py: the Qwen2.5 test model's first 70 tokens of a prompt, run
//! by llama.cpp as one batch and one token at a time; a few of Gemma 3's GeGLU values and one
//! of its attention layers). Where llama.cpp's arithmetic is
//! matched (docs/ARCHITECTURE.md, "Goldens against llama.cpp"), any difference is a bug.

use std::path::PathBuf;

use backend::cpu::{
    geglu, rms_norm_rows, rope, softmax, swiglu, AttnParams, Cpu, DotOrder, InBatch, KvData, KvView, RopeParams,
    RopeStyle, SeqView, TokenPlaces,
};
use backend::WeightView;
use gguf::GgmlType;
use half::f16;

const TOKENS: usize = 70;
const LAST: usize = 8; // the tokens whose attention is kept
const HEADS: usize = 7; // the query heads of KV head 0
const HD: usize = 64;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/llama_parity").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn f32s(name: &str) -> Vec<f32> {
    fixture(name).chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn f16s(name: &str) -> Vec<f16> {
    fixture(name).chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]])).collect()
}

fn assert_bits(what: &str, ours: &[f32], theirs: &[f32]) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    let differ = ours.iter().zip(theirs).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    assert_eq!(differ, 0, "{what}: {differ} of {} values differ from llama.cpp's", ours.len());
}

#[test]
fn attention_matches_llama_cpp_in_both_orders() {
    let cpu = Cpu::new(2).unwrap();
    for (run, order) in [("batch", DotOrder::Batch), ("single", DotOrder::Single)] {
        // q: [LAST, HEADS, HD] at positions TOKENS - LAST ..; k, v: [TOKENS, 1 KV head, HD]
        // (one cache block of TOKENS).
        let q: Vec<f32> = f16s(&format!("{run}_attn_q.f16")).iter().map(|x| x.to_f32()).collect();
        let (k, v) = (f16s(&format!("{run}_attn_k.f16")), f16s(&format!("{run}_attn_v.f16")));
        let positions: Vec<u32> = ((TOKENS - LAST) as u32..TOKENS as u32).collect();
        let (token_seq, orders) = (vec![0; LAST], vec![order; LAST]);
        let p = AttnParams {
            n_head: HEADS,
            n_kv_head: 1,
            head_dim: HD,
            scale: 0.125,
            window: None,
            softcap: None,
            scale_q: false,
        };
        let mut out = vec![f32::NAN; q.len()];
        cpu.attention(
            &q,
            &TokenPlaces { positions: &positions, token_seq: &token_seq, orders: &orders },
            &[SeqView { blocks: &[0] }],
            &KvView { k: KvData::F16(&k), v: KvData::F16(&v), block_size: TOKENS },
            &p,
            &mut out,
        );
        assert_bits(&format!("attention, {run}"), &out, &f32s(&format!("{run}_attn_out.f32")));
    }
}

/// Gemma 3's attention (layer 4: 4 heads of 256 on one KV head, the last 8 of 24 tokens as one
/// batch): llama.cpp multiplies Q by the scale (1/16) before the product rounds it to f16.
#[test]
fn gemma_attention_scales_queries_as_llama_cpp() {
    let cpu = Cpu::new(2).unwrap();
    let (t, last, heads, hd) = (24, 8, 4, 256);
    let q = f32s("gemma_attn_q.f32"); // [last, heads, hd]
    let (k, v) = (f16s("gemma_attn_k.f16"), f16s("gemma_attn_v.f16")); // [t, hd]
    let positions: Vec<u32> = ((t - last) as u32..t as u32).collect();
    let (token_seq, orders) = (vec![0; last], vec![DotOrder::Batch; last]);
    let run = |scale_q: bool| {
        let p = AttnParams {
            n_head: heads,
            n_kv_head: 1,
            head_dim: hd,
            scale: 1.0 / 16.0,
            window: Some(512),
            softcap: None,
            scale_q,
        };
        let mut out = vec![f32::NAN; q.len()];
        cpu.attention(
            &q,
            &TokenPlaces { positions: &positions, token_seq: &token_seq, orders: &orders },
            &[SeqView { blocks: &[0] }],
            &KvView { k: KvData::F16(&k), v: KvData::F16(&v), block_size: t },
            &p,
            &mut out,
        );
        out
    };
    let want = f32s("gemma_attn_out.f32");
    assert_bits("gemma attention, queries scaled", &run(true), &want);
    // The fixture holds queries whose f16 rounding depends on when they are scaled.
    assert!(run(false).iter().zip(&want).any(|(a, b)| a.to_bits() != b.to_bits()), "scaling the scores matches too");
}

/// Gemma 3's GeGLU on values where llama.cpp's gelu table rounds delicately (its `1 + a x^2` is
/// a fused multiply-add), below -10 with a negative `up` (+0, not -0), and others.
#[test]
fn geglu_matches_llama_cpp() {
    let mut g = f32s("gemma_glu_gate.f32");
    geglu(&mut g, &f32s("gemma_glu_up.f32"));
    assert_bits("geglu", &g, &f32s("gemma_glu_out.f32"));
}

/// rms_norm, rope (Qwen2.5: neox, base 1e6), SwiGLU and softmax (scale 1/8, causal, 256 padded
/// keys) of the last tokens of the batch run.
#[test]
fn elementwise_ops_match_llama_cpp() {
    let x = f32s("norm_in.f32"); // [4, 896]
    let mut y = vec![0f32; x.len()];
    rms_norm_rows(&x, &f32s("norm_weight.f32"), 1e-6, &mut y);
    assert_bits("rms_norm", &y, &f32s("norm_out.f32"));

    let mut q = f32s("rope_in.f32"); // [LAST, 2 heads, HD]
    let positions: Vec<u32> = ((TOKENS - LAST) as u32..TOKENS as u32).collect();
    let p = RopeParams { n_rot: HD, base: 1e6, freq_scale: 1.0, style: RopeStyle::Neox };
    rope(&mut q, 2, HD, &positions, &p);
    assert_bits("rope", &q, &f32s("rope_out.f32"));

    let mut g = f32s("glu_gate.f32"); // [1024]
    swiglu(&mut g, &f32s("glu_up.f32"));
    assert_bits("swiglu", &g, &f32s("glu_out.f32"));

    let kq = f32s("softmax_in.f32"); // [LAST, 256]: head 0, the raw K.Q scores
    let mut got = vec![0f32; kq.len()];
    for ((row, o), &pos) in kq.chunks_exact(256).zip(got.chunks_exact_mut(256)).zip(&positions) {
        let n = pos as usize + 1;
        let mut w: Vec<f32> = row[..n].iter().map(|s| s * 0.125).collect();
        softmax(&mut w, 0);
        o[..n].copy_from_slice(&w);
    }
    assert_bits("softmax", &got, &f32s("softmax_out.f32"));
}

/// Whether the matmuls run the x86 SIMD kernels, which reproduce llama.cpp's x86 build (the
/// scalar ones reproduce its generic C code instead).
fn x86_kernels() -> bool {
    let scalar =
        matches!(std::env::var("ROCMFORGE_CPU_SIMD").as_deref().map(str::trim), Ok("scalar" | "off" | "none" | "0"));
    #[cfg(target_arch = "x86_64")]
    let simd = std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
        && std::is_x86_feature_detected!("f16c");
    #[cfg(not(target_arch = "x86_64"))]
    let simd = false;
    simd && !scalar
}

/// Q5_0 and Q8_0 (one arithmetic for both runs: 8 tokens through the GEMM, and token by token
/// through the per-dot kernel); Q4_K and Q6_K, whose rounding follows the token's batch
/// (`InBatch`): the repacked Q4_K's GEMM and GEMV, Q6_K's tiled kernel and vec_dot.
#[test]
fn matmuls_match_llama_cpp() {
    if !x86_kernels() {
        eprintln!("skipped: the x86 SIMD kernels are off (scalar kernels follow ggml's generic code)");
        return;
    }
    let cpu = Cpu::new(2).unwrap();
    let product_in = |ty: GgmlType, file: &str, cols: usize, x: &[f32], at: &[InBatch]| {
        let data = fixture(file);
        let rows = data.len() / ty.bytes_for(cols as u64).unwrap() as usize;
        let w = WeightView::from_parts(file, ty, rows, cols, &data).unwrap();
        let mut out = vec![0f32; at.len() * rows];
        cpu.matmuls_in(x, at, &[w], &mut [&mut out]);
        out
    };
    let product = |ty, file, cols, x: &[f32], t| product_in(ty, file, cols, x, &InBatch::whole(t));
    let x = f32s("norm.f32"); // [8, 896]
    for (ty, file, want) in
        [(GgmlType::Q5_0, "blk.0.attn_q.Q5_0", "q5_0_out.f32"), (GgmlType::Q8_0, "blk.0.attn_v.Q8_0", "q8_0_out.f32")]
    {
        for run in ["batch", "single"] {
            let want = f32s(&format!("{run}_{want}"));
            assert_bits(&format!("{ty}, 8 tokens at once vs {run}"), &product(ty, file, 896, &x, 8), &want);
            let one: Vec<f32> = x.chunks_exact(896).flat_map(|r| product(ty, file, 896, r, 1)).collect();
            assert_bits(&format!("{ty}, token by token vs {run}"), &one, &want);
        }
    }
    let x = f32s("single_ffn_in.f32"); // [2, 4864]
    let one: Vec<f32> =
        x.chunks_exact(4864).flat_map(|r| product(GgmlType::Q4_K, "blk.11.ffn_down.Q4_K", 4864, r, 1)).collect();
    assert_bits("Q4_K, token by token", &one, &f32s("single_q4_k_out.f32"));
    // Tokens 0, 1, 68 and 69 of the batch of 70: the first two through the GEMM's rounding.
    let at: Vec<InBatch> = [0, 1, 68, 69].map(|index| InBatch { size: TOKENS as u32, index }).to_vec();
    let got = product_in(GgmlType::Q4_K, "blk.11.ffn_down.Q4_K", 4864, &f32s("batch_ffn_in.f32"), &at);
    assert_bits("Q4_K, in a batch of 70", &got, &f32s("batch_q4_k_out.f32"));
    // Where llama.cpp changes kernels: Q6_K at 7 and 8 tokens, Q4_K at 3, 4 and 5.
    let b = |size, index| InBatch { size, index };
    for (ty, file, at) in [
        (GgmlType::Q6_K, "blk.0.ffn_down.Q6_K", vec![b(7, 6), b(8, 7)]),
        (GgmlType::Q4_K, "blk.11.ffn_down.Q4_K", vec![b(3, 2), b(4, 3), b(5, 3), b(5, 4)]),
    ] {
        let kind = ty.to_string().to_lowercase();
        let x = f32s(&format!("edge_{kind}_in.f32")); // [at.len(), 4864]
        let got = product_in(ty, file, 4864, &x, &at);
        assert_bits(
            &format!("{ty} at the batch sizes that change kernels"),
            &got,
            &f32s(&format!("edge_{kind}_out.f32")),
        );
    }
    for (run, at) in [("batch", InBatch::whole(TOKENS)[..2].to_vec()), ("single", vec![InBatch::ALONE; 2])] {
        let x = f32s(&format!("{run}_q6_k_in.f32")); // [2, 4864]
        let got = product_in(GgmlType::Q6_K, "blk.0.ffn_down.Q6_K", 4864, &x, &at);
        assert_bits(&format!("Q6_K, {run}"), &got, &f32s(&format!("{run}_q6_k_out.f32")));
    }
}
