//! Timing of one step at real vocabulary sizes. Ignored by default; run with
//! `cargo test -p engine --release --test perf -- --ignored --nocapture`.

use std::time::Instant;

use engine::{Sampler, SamplingParams};

#[test]
#[ignore]
fn step_time_at_large_vocab() {
    for vocab in [151_936usize, 262_144] {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 1_000_000) as f32 / 1_000_000.0
        };
        // Shaped like a real model's row: the bulk roughly normal around 0 (sd ~2.5), a few
        // hundred tokens in a tail up to ~+20.
        let base: Vec<f32> = (0..vocab)
            .map(|_| {
                let bulk = (0..4).map(|_| next()).sum::<f32>() * 4.3 - 8.6;
                if next() < 0.002 {
                    bulk + 20.0 * next()
                } else {
                    bulk
                }
            })
            .collect();
        let history: Vec<u32> = (0..64).map(|i| i * 97).collect();
        let configs: [(&str, SamplingParams); 6] = [
            ("greedy", SamplingParams::greedy()),
            ("temperature only", SamplingParams::default()),
            ("llama.cpp defaults", SamplingParams::llama_cpp()),
            ("top_p=0.9 (no top_k)", SamplingParams { top_p: 0.9, ..Default::default() }),
            ("top_p=0.9 + logprobs=5", SamplingParams { top_p: 0.9, logprobs: Some(5), ..Default::default() }),
            (
                "penalties + top_k=40",
                SamplingParams { top_k: 40, repetition_penalty: 1.1, presence_penalty: 0.5, ..Default::default() },
            ),
        ];
        for (name, p) in configs {
            let mut s = Sampler::new(SamplingParams { seed: Some(1), ..p }, vocab).unwrap();
            let mut row = base.clone();
            let iters = 200;
            let t0 = Instant::now();
            for _ in 0..iters {
                row.copy_from_slice(&base);
                std::hint::black_box(s.sample(&mut row, &history).unwrap());
            }
            let us = t0.elapsed().as_secs_f64() * 1e6 / iters as f64;
            println!("vocab {vocab:>7} {name:<26} {us:>8.1} us/step (incl. row copy)");
        }
    }
}
