//! The forward pass over BatchPlans: prefill in one step, in chunks or token by token, alone or
//! batched with other sequences, with blocks anywhere in the cache, gives the same logits, as
//! long as each token names the same llama.cpp batch (`BatchPlan::llama_batch`, which picks
//! the arithmetic). (Correctness against llama.cpp is the golden tests' job; this checks the
//! plumbing.)

use backend::cpu::{Cpu, InBatch};
use gguf::{Array, GgufFile, GgufWriter, Value};
use model::synth::{Preset, SynthOptions};
use model::{BatchPlan, KvCache, KvType, Model, ModelError};

/// Every (row, token) dot product and every (token, head) attention row is computed the same
/// way whatever else is in the batch, so results are bit-identical: rows never interact.
const TOL: f32 = 0.0;

fn tiny_model(preset: Preset) -> Model {
    let mut tok = GgufWriter::new();
    tok.add_kv("tokenizer.ggml.model", Value::String("gpt2".into())).unwrap();
    let tokens: Vec<String> = (0..300).map(|i| format!("t{i}")).collect();
    tok.add_kv("tokenizer.ggml.tokens", Value::Array(Array::String(tokens))).unwrap();
    let tok = GgufFile::from_bytes(tok.to_bytes().unwrap()).unwrap();
    let bytes = preset.writer(Some(&tok), SynthOptions { seed: 9, scale: 1.0 }).unwrap().to_bytes().unwrap();
    Model::from_file(GgufFile::from_bytes(bytes).unwrap()).unwrap()
}

fn prompt(n: usize, salt: u32) -> Vec<u32> {
    (0..n as u32).map(|i| (i * 37 + salt * 101 + 5) % 300).collect()
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(worst <= TOL, "{what}: max |diff| {worst}");
    assert!(a.iter().all(|x| x.is_finite()), "{what}: non-finite logits");
}

/// Logits of every position, evaluating the prompt in chunks of `chunk` tokens, each token
/// following llama.cpp's arithmetic for the whole prompt in one batch.
fn chunked(m: &Model, cpu: &Cpu, tokens: &[u32], chunk: usize, kv: &mut KvCache) -> Vec<f32> {
    let mut table = Vec::new();
    assert!(kv.reserve(&mut table, tokens.len()));
    let mut out = Vec::new();
    for (c, piece) in tokens.chunks(chunk).enumerate() {
        let mut plan = BatchPlan::single(piece, c * chunk, &table, true);
        plan.llama_batch = InBatch::whole(tokens.len())[c * chunk..c * chunk + piece.len()].to_vec();
        out.extend(m.forward(cpu, kv, &plan).unwrap());
    }
    out
}

#[test]
fn prefill_chunked_prefill_and_decode_agree() {
    let cpu = Cpu::new(2).unwrap();
    for preset in [Preset::TinyLlama, Preset::TinyQwen3] {
        let m = tiny_model(preset);
        let toks = prompt(40, 1);
        let fresh = || KvCache::for_tokens(&m.hparams, KvType::F16, 64, 16).unwrap();
        let whole = chunked(&m, &cpu, &toks, 40, &mut fresh());
        assert_close(&whole, &chunked(&m, &cpu, &toks, 7, &mut fresh()), &format!("{preset:?} chunks of 7"));
        assert_close(&whole, &chunked(&m, &cpu, &toks, 1, &mut fresh()), &format!("{preset:?} token by token"));
    }
}

#[test]
fn sequences_in_one_batch_do_not_interact() {
    let cpu = Cpu::new(2).unwrap();
    let m = tiny_model(Preset::TinyLlama);
    let (a, b) = (prompt(19, 2), prompt(33, 3));
    let alone =
        |t: &[u32]| chunked(&m, &cpu, t, t.len(), &mut KvCache::for_tokens(&m.hparams, KvType::F16, 64, 16).unwrap());
    let (la, lb) = (alone(&a), alone(&b));
    // Both prompts in one step, their blocks interleaved in a shared cache.
    let mut kv = KvCache::for_tokens(&m.hparams, KvType::F16, 160, 4).unwrap();
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for i in 0..12 {
        assert!(kv.reserve(if i % 2 == 0 { &mut ta } else { &mut tb }, 4 * (i / 2 + 1)));
    }
    assert!(kv.reserve(&mut tb, 36));
    let mut plan = BatchPlan { block_tables: vec![ta, tb], ..BatchPlan::default() };
    for (s, toks) in [&a, &b].into_iter().enumerate() {
        for (p, &t) in toks.iter().enumerate() {
            plan.tokens.push(t);
            plan.positions.push(p as u32);
            plan.token_seq.push(s);
            plan.llama_batch.push(InBatch { size: toks.len() as u32, index: p as u32 });
        }
    }
    plan.logits_rows = (0..plan.len()).collect();
    let both = m.forward(&cpu, &mut kv, &plan).unwrap();
    let v = m.vocab_size();
    assert_close(&both[..a.len() * v], &la, "sequence a");
    assert_close(&both[a.len() * v..], &lb, "sequence b");
}

#[test]
fn invalid_plans_are_errors_not_panics() {
    let cpu = Cpu::new(1).unwrap();
    let m = tiny_model(Preset::TinyQwen3);
    let mut kv = KvCache::for_tokens(&m.hparams, KvType::F16, 32, 16).unwrap();
    let mut table = Vec::new();
    kv.reserve(&mut table, 16);
    let cases = [
        BatchPlan::single(&[300], 0, &table, false),   // token outside the vocabulary
        BatchPlan::single(&[1, 2], 15, &table, false), // position 16 has no block
        BatchPlan::single(&[1], 0, &[99], false),      // block outside the cache
        BatchPlan::single(&[], 0, &table, false),      // empty
    ];
    for plan in cases {
        assert!(matches!(m.forward(&cpu, &mut kv, &plan), Err(ModelError::Batch(_))));
    }
}

#[test]
fn a_step_that_needs_no_logits_returns_none() {
    let cpu = Cpu::new(1).unwrap();
    let m = tiny_model(Preset::TinyLlama);
    let mut kv = KvCache::for_tokens(&m.hparams, KvType::F16, 32, 16).unwrap();
    let mut table = Vec::new();
    kv.reserve(&mut table, 8);
    let mut plan = BatchPlan::single(&prompt(8, 4), 0, &table, false);
    plan.logits_rows.clear();
    assert!(m.forward(&cpu, &mut kv, &plan).unwrap().is_empty());
}
