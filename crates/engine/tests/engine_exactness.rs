//! The engine on a tiny synthetic model: many concurrent greedy requests, with chunked
//! prefill, prefix reuse, preemption and cancellations, give exactly the tokens each request
//! gives alone through the single-sequence `generate` loop.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use backend::cpu::Cpu;
use engine::{generate, Completion, Engine, EngineConfig, FinishReason, SamplingParams};
use gguf::{Array, GgufFile, GgufWriter, Value};
use model::synth::{Preset, SynthOptions};
use model::{Device, KvType, Model, Session, Tokenizer};
use rand::{Rng, SeedableRng};

const VOCAB: u32 = 300;

fn tiny_model() -> (Model, Tokenizer) {
    let mut tok = GgufWriter::new();
    tok.add_kv("tokenizer.ggml.model", Value::String("gpt2".into())).unwrap();
    let tokens: Vec<String> = (0..VOCAB).map(|i| format!("t{i}")).collect();
    tok.add_kv("tokenizer.ggml.tokens", Value::Array(Array::String(tokens))).unwrap();
    tok.add_kv("tokenizer.ggml.merges", Value::Array(Array::String(vec![]))).unwrap();
    let tok = GgufFile::from_bytes(tok.to_bytes().unwrap()).unwrap();
    let bytes = Preset::TinyLlama.writer(Some(&tok), SynthOptions { seed: 9, scale: 1.0 }).unwrap().to_bytes().unwrap();
    let m = Model::from_file(GgufFile::from_bytes(bytes).unwrap()).unwrap();
    let t = Tokenizer::from_metadata(&m.file.metadata).unwrap();
    (m, t)
}

fn greedy(max_tokens: u32) -> SamplingParams {
    SamplingParams { max_tokens: Some(max_tokens), ignore_eos: true, ..SamplingParams::greedy() }
}

fn prompt(rng: &mut impl Rng, n: usize) -> Vec<u32> {
    (0..n).map(|_| rng.gen_range(0..VOCAB)).collect()
}

/// What the request gives alone, through `generate` on its own Session with a `ty` cache.
fn alone(m: &Model, cpu: &Device, tok: &Tokenizer, ty: KvType, prompt: &[u32], params: &SamplingParams) -> Vec<u32> {
    let mut s = Session::new(m, cpu, ty, 256).unwrap();
    generate(&mut s, tok, prompt, params, |_| ControlFlow::Continue(())).unwrap().generated
}

struct Fixture {
    reference: Model,
    tok: Tokenizer,
    cpu: Device,
}

fn fixture() -> Fixture {
    let (reference, tok) = tiny_model();
    Fixture { reference, tok, cpu: Device::Cpu(Cpu::new(2).unwrap()) }
}

fn engine(cfg: EngineConfig) -> Engine {
    let (m, tok) = tiny_model();
    Engine::start(m, Cpu::new(2).unwrap(), tok, cfg).unwrap()
}

fn wait_all_free(e: &Engine) {
    let t0 = Instant::now();
    while e.n_free_blocks() != e.n_blocks() {
        assert!(t0.elapsed() < Duration::from_secs(10), "{} of {} blocks free", e.n_free_blocks(), e.n_blocks());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn run_batch(cfg: EngineConfig, n: usize, seed: u64) -> Vec<Completion> {
    let f = fixture();
    let ty = cfg.kv_type;
    let e = engine(cfg);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let reqs: Vec<(Vec<u32>, SamplingParams)> = (0..n)
        .map(|_| {
            let len = rng.gen_range(3..50);
            (prompt(&mut rng, len), greedy(rng.gen_range(4..24)))
        })
        .collect();
    let handles: Vec<_> = reqs.iter().map(|(p, sp)| e.submit(p.clone(), sp.clone()).unwrap()).collect();
    let done: Vec<Completion> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    for (i, ((p, sp), c)) in reqs.iter().zip(&done).enumerate() {
        let want = alone(&f.reference, &f.cpu, &f.tok, ty, p, sp);
        assert_eq!(c.tokens, want, "request {i}: batched tokens differ from alone");
        assert_eq!(c.reason, FinishReason::Length);
        assert_eq!(c.usage.completion_tokens, sp.max_tokens.unwrap() as usize);
        assert_eq!(c.usage.prompt_tokens, p.len());
    }
    wait_all_free(&e);
    done
}

#[test]
fn sixteen_concurrent_greedy_requests_match_alone() {
    // A budget of 48 tokens per step: prompts are prefilled in chunks mixed with decodes.
    let cfg = EngineConfig { kv_tokens: 4096, n_ctx: 256, token_budget: 48, max_running: 16, ..Default::default() };
    let done = run_batch(cfg, 16, 1);
    assert!(done.iter().all(|c| c.usage.preemptions == 0));
}

#[test]
fn sixteen_concurrent_greedy_requests_match_alone_with_a_q8_0_cache() {
    let cfg = EngineConfig {
        kv_tokens: 4096,
        n_ctx: 256,
        token_budget: 48,
        max_running: 16,
        kv_type: KvType::Q8_0,
        ..Default::default()
    };
    let done = run_batch(cfg, 16, 4);
    assert!(done.iter().all(|c| c.usage.preemptions == 0));
}

#[test]
fn preemption_keeps_tokens_exact() {
    // 16 requests need up to ~70 tokens each; the pool holds 160, so sequences are preempted
    // and recomputed.
    let cfg = EngineConfig {
        kv_tokens: 160,
        block_size: 16,
        n_ctx: 128,
        token_budget: 64,
        max_running: 16,
        ..Default::default()
    };
    let done = run_batch(cfg, 16, 2);
    let preempted: u32 = done.iter().map(|c| c.usage.preemptions).sum();
    assert!(preempted > 0, "the pool was meant to be too small");
}

#[test]
fn prefix_cache_reuse_is_exact() {
    let f = fixture();
    let e = engine(EngineConfig { kv_tokens: 1024, n_ctx: 256, block_size: 8, ..Default::default() });
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let shared = prompt(&mut rng, 37);
    let first = e.submit(shared.clone(), greedy(10)).unwrap().wait().unwrap();
    assert_eq!(first.usage.cached_tokens, 0);
    for tail in [0, 1, 9] {
        let mut p = shared.clone();
        p.extend(prompt(&mut rng, tail));
        let c = e.submit(p.clone(), greedy(10)).unwrap().wait().unwrap();
        assert_eq!(c.usage.cached_tokens, 32, "tail {tail}");
        assert_eq!(c.tokens, alone(&f.reference, &f.cpu, &f.tok, KvType::F16, &p, &greedy(10)), "tail {tail}");
    }
    wait_all_free(&e);
}

/// A follow-up whose prompt holds an earlier request's answer (a chat's next turn) reuses only
/// the earlier prompt's blocks: the answer's were computed one token at a time, which a prompt
/// is not, so taking them would change the follow-up's tokens.
#[test]
fn answer_blocks_are_not_reused_as_prompt() {
    let f = fixture();
    let e = engine(EngineConfig { kv_tokens: 1024, n_ctx: 256, block_size: 8, ..Default::default() });
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let first_prompt = prompt(&mut rng, 20);
    let first = e.submit(first_prompt.clone(), greedy(30)).unwrap().wait().unwrap();
    let mut p = first_prompt.clone();
    p.extend(&first.tokens);
    p.extend(prompt(&mut rng, 5));
    let c = e.submit(p.clone(), greedy(10)).unwrap().wait().unwrap();
    assert_eq!(c.usage.cached_tokens, 16, "the two full blocks of the first prompt only");
    assert_eq!(c.tokens, alone(&f.reference, &f.cpu, &f.tok, KvType::F16, &p, &greedy(10)));
    wait_all_free(&e);
}

#[test]
fn cancelling_ten_of_a_hundred_leaves_the_others_exact() {
    let f = fixture();
    let cfg = EngineConfig { kv_tokens: 2048, n_ctx: 128, token_budget: 64, max_running: 32, ..Default::default() };
    let e = engine(cfg);
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let reqs: Vec<(Vec<u32>, SamplingParams)> = (0..100)
        .map(|_| {
            let len = rng.gen_range(2..30);
            (prompt(&mut rng, len), greedy(rng.gen_range(1..12)))
        })
        .collect();
    let mut handles: Vec<_> = reqs.iter().map(|(p, sp)| Some(e.submit(p.clone(), sp.clone()).unwrap())).collect();
    let mut cancel: Vec<usize> = (0..100).collect();
    for i in 0..10 {
        let j = rng.gen_range(i..100);
        cancel.swap(i, j);
    }
    cancel.truncate(10);
    for (k, &i) in cancel.iter().enumerate() {
        let h = handles[i].take().unwrap();
        if k % 2 == 0 {
            drop(h); // dropping cancels
        } else {
            h.cancel();
            let c = h.wait().unwrap();
            assert!(c.reason == FinishReason::Cancelled || c.reason == FinishReason::Length);
        }
    }
    for (i, h) in handles.into_iter().enumerate() {
        let Some(h) = h else { continue };
        let (p, sp) = &reqs[i];
        let c = h.wait().unwrap();
        assert_eq!(c.reason, FinishReason::Length, "request {i}");
        assert_eq!(c.tokens.len(), sp.max_tokens.unwrap() as usize, "request {i}");
        assert_eq!(c.tokens, alone(&f.reference, &f.cpu, &f.tok, KvType::F16, p, sp), "request {i}");
    }
    wait_all_free(&e);
}

#[test]
fn submit_errors_and_finish_reasons() {
    let e = engine(EngineConfig {
        kv_tokens: 64,
        n_ctx: 48,
        max_waiting: 2,
        max_running: 1,
        token_budget: 8,
        ..Default::default()
    });
    assert!(matches!(e.submit(vec![], greedy(1)), Err(engine::SubmitError::EmptyPrompt)));
    assert!(matches!(e.submit(vec![VOCAB], greedy(1)), Err(engine::SubmitError::Invalid(_))));
    assert!(matches!(e.submit(vec![1; 49], greedy(1)), Err(engine::SubmitError::PromptTooLong { .. })));
    let bad = SamplingParams { temperature: -1.0, ..greedy(1) };
    assert!(matches!(e.submit(vec![1], bad), Err(engine::SubmitError::Invalid(_))));
    // Context end: 40 prompt tokens, context 48 -> 9 tokens, "length".
    let c = e.submit(vec![5; 40], SamplingParams { max_tokens: None, ..greedy(1) }).unwrap().wait().unwrap();
    assert_eq!((c.tokens.len(), c.reason), (9, FinishReason::Length));
    // A stop token id ends the request with that id (not streamed), counted in usage.
    let first = e.submit(vec![7, 8, 9], greedy(3)).unwrap().wait().unwrap();
    let stop = SamplingParams { stop_token_ids: vec![first.tokens[1]], ..greedy(3) };
    let c = e.submit(vec![7, 8, 9], stop).unwrap().wait().unwrap();
    assert_eq!(c.tokens, first.tokens[..1]);
    assert_eq!((c.reason, c.usage.completion_tokens), (FinishReason::StopToken(first.tokens[1]), 2));
    // Overload: two requests may wait to start (one more may already run); the rest are refused.
    let tries: Vec<_> = (0..10).map(|_| e.submit(vec![1; 30], greedy(16))).collect();
    let refused = tries.iter().filter(|r| matches!(r, Err(engine::SubmitError::Overloaded { .. }))).count();
    assert!(refused >= 1 && tries.iter().filter(|r| r.is_ok()).count() >= 2, "{refused} refused");
    let long = tries;
    drop(long);
    wait_all_free(&e);
}
