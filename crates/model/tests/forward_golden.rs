//! The forward pass against llama.cpp (fixtures from scripts/gen_forward_goldens.py): next-token
//! distributions at every position of 8 prompts, and 20 greedy 64-token continuations, for the
//! two real test models and the two synthetic ones. Thresholds are the harness's constants.

#[path = "golden/mod.rs"]
mod golden;

use backend::cpu::Cpu;
use model::{Device, KvType, Model, Session};

fn argmax(row: &[f32]) -> u32 {
    // Lowest id on ties, as the goldens' greedy loop.
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}

fn check(name: &str) {
    let model = Model::load(golden::model_path(name)).unwrap();
    let cpu = Device::Cpu(Cpu::new(0).unwrap());
    let vocab = model.vocab_size();
    let n_ctx = 1024;
    let logits = golden::check_logits(name, |ids| {
        let mut s = Session::new(&model, &cpu, KvType::F16, n_ctx).unwrap();
        s.eval(ids, true).unwrap().chunks(vocab).map(<[f32]>::to_vec).collect()
    });
    println!("{logits}");
    let greedy = golden::check_greedy(name, |prompt, n| {
        let mut s = Session::new(&model, &cpu, KvType::F16, n_ctx).unwrap();
        let mut row = s.eval(prompt, false).unwrap();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let id = argmax(&row);
            out.push(id);
            if out.len() < n {
                row = s.eval(&[id], false).unwrap();
            }
        }
        out
    });
    println!("{greedy}");
    logits.assert_passes();
    greedy.assert_passes();
}

#[test]
fn qwen_matches_llama_cpp() {
    check("qwen");
}

#[test]
fn gemma_matches_llama_cpp() {
    check("gemma");
}

#[test]
fn tiny_llama_matches_llama_cpp() {
    check("tiny-llama");
}

#[test]
fn tiny_qwen3_matches_llama_cpp() {
    check("tiny-qwen3");
}
