//! The q8_0 KV cache against the f16 cache on the CPU: next-token distributions at every
//! position of the golden prompts stay as close as llama.cpp's own q8_0 cache stays to its f16
//! one (two real models, one synthetic), and a head size that q8_0 blocks cannot tile is refused
//! at cache creation.

#[path = "golden/mod.rs"]
mod golden;

use backend::cpu::Cpu;
use model::{Device, KvType, Model, ModelError, Session};

/// llama.cpp's own q8_0-vs-f16 KV cache deviation on the same prompts and files
/// (scripts/measure_kv_q8_llama.py, llama-cpp-python 0.3.36, CPU, flash attention): (model,
/// top-1 agreement, mean KL(f16 || q8_0)). Qwen2.5's K rows carry large bias outliers, so a
/// 32-value block's scale is set by one channel and the others lose precision: the cache type
/// costs it visibly, in llama.cpp as here.
const LLAMA_CPP: [(&str, f64, f64); 3] =
    [("qwen", 0.9437, 2.98e-2), ("gemma", 0.9543, 9.74e-3), ("tiny-qwen3", 0.9844, 5.82e-4)];
/// Ours may agree up to 3 points less on top-1 and have up to twice llama.cpp's mean KL: the
/// positions that flip are near-ties, which two implementations with different summation
/// orders flip differently (llama.cpp's f16 cache with and without flash attention differ by
/// 1.5 points of top-1 on Qwen).
const TOP1_SLACK: f64 = 0.03;
const KL_FACTOR: f64 = 2.0;

fn log_softmax(row: &[f32]) -> Vec<f64> {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z = row.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln() + m;
    row.iter().map(|&x| x as f64 - z).collect()
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |b, i| if row[i] > row[b] { i } else { b })
}

fn compare(name: &str) {
    let model = Model::load(golden::model_path(name)).unwrap();
    let cpu = Device::Cpu(Cpu::new(0).unwrap());
    let vocab = model.vocab_size();
    let (mut same, mut total, mut kl_sum, mut kl_max, mut dmax) = (0usize, 0usize, 0f64, 0f64, 0f32);
    for p in &golden::load(name).prompts {
        let eval = |ty| Session::new(&model, &cpu, ty, 1024).unwrap().eval(&p.ids, true).unwrap();
        let (a, b) = (eval(KvType::F16), eval(KvType::Q8_0));
        for (ra, rb) in a.chunks(vocab).zip(b.chunks(vocab)) {
            assert!(rb.iter().all(|x| x.is_finite()), "{name} {}: non-finite q8_0 logits", p.name);
            let (la, lb) = (log_softmax(ra), log_softmax(rb));
            let kl: f64 = la.iter().zip(&lb).map(|(x, y)| x.exp() * (x - y)).sum();
            kl_sum += kl;
            kl_max = kl_max.max(kl);
            dmax = ra.iter().zip(rb).map(|(x, y)| (x - y).abs()).fold(dmax, f32::max);
            same += usize::from(argmax(ra) == argmax(rb));
            total += 1;
        }
    }
    let (top1, mean_kl) = (same as f64 / total as f64, kl_sum / total as f64);
    println!(
        "{name}: q8_0 vs f16 KV cache over {total} positions: top-1 agreement {:.2}%, KL mean {mean_kl:.2e} \
         max {kl_max:.2e}, max |logit diff| {dmax:.3}",
        100.0 * top1
    );
    let &(_, llama_top1, llama_kl) = LLAMA_CPP.iter().find(|(m, ..)| *m == name).expect("llama.cpp anchor");
    let (min_top1, max_kl) = (llama_top1 - TOP1_SLACK, llama_kl * KL_FACTOR);
    println!(
        "  (llama.cpp: top-1 {:.2}%, KL mean {llama_kl:.2e}; bounds {:.2}%, {max_kl:.2e})",
        100.0 * llama_top1,
        100.0 * min_top1
    );
    assert!(top1 >= min_top1, "{name}: top-1 agreement {top1} < {min_top1}");
    assert!(mean_kl <= max_kl, "{name}: mean KL {mean_kl} > {max_kl}");
}

#[test]
fn qwen_q8_0_cache_stays_close_to_f16() {
    compare("qwen");
}

#[test]
fn gemma_q8_0_cache_stays_close_to_f16() {
    compare("gemma");
}

#[test]
fn synthetic_q8_0_cache_stays_close_to_f16() {
    compare("tiny-qwen3");
}

#[test]
fn q8_0_refuses_heads_that_blocks_cannot_tile() {
    let model = Model::load(golden::model_path("tiny-qwen3")).unwrap();
    let mut hp = model.hparams.clone();
    hp.head_dim_k = 48;
    hp.head_dim_v = 48;
    match model::KvCache::new(&hp, KvType::Q8_0, 4, 16) {
        Err(ModelError::KvCache(why)) => assert!(why.contains("multiple of 32"), "{why}"),
        other => panic!("expected a KV cache error, got {:?}", other.map(|_| ())),
    }
    assert!(model::KvCache::new(&hp, KvType::F16, 4, 16).is_ok());
}
