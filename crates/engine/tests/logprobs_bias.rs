//! Logit bias (including bans) and logprobs.

mod common;

use engine::{Sampler, SamplingParams};

fn log_softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = max + logits.iter().map(|&l| (l as f64 - max).exp()).sum::<f64>().ln();
    logits.iter().map(|&l| l as f64 - lse).collect()
}

/// Deterministic pseudo-random logits in [-8, 8).
fn logits(n: usize, salt: u64) -> Vec<f32> {
    let mut x = salt.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 16_000) as f32 / 1000.0 - 8.0
        })
        .collect()
}

/// Logprob rounding allowed: f32 logits against an f64 reference.
const LOGPROB_TOL: f64 = 1e-4;

#[test]
fn ban_with_minus_infinity() {
    let base = [5.0, 1.0, 0.5, 0.0];
    let p = SamplingParams { logit_bias: [(0, f32::NEG_INFINITY)].into(), seed: Some(3), ..Default::default() };
    let got = common::frequencies(&base, p.clone(), 5000);
    assert_eq!(got[0], 0.0, "banned token drawn");
    let greedy = SamplingParams { temperature: 0.0, ..p };
    let mut s = Sampler::new(greedy, 4).unwrap();
    assert_eq!(s.sample(&mut base.to_vec(), &[]).unwrap().id, 1);
}

#[test]
fn finite_bias_shifts_the_distribution() {
    let base = [0.0f32; 4];
    let p = SamplingParams { logit_bias: [(2, 1.0), (3, -1.0)].into(), seed: Some(4), ..Default::default() };
    let expected = common::reference(&[0.0, 0.0, 1.0, -1.0], &SamplingParams::default());
    let got = common::frequencies(&base, p, common::DRAWS);
    common::assert_matches("bias", &got, &expected, common::DRAWS);
}

#[test]
fn plus_infinity_bias_forces_the_token() {
    let p = SamplingParams {
        logit_bias: [(3, f32::INFINITY)].into(),
        logprobs: Some(2),
        seed: Some(5),
        ..Default::default()
    };
    let mut s = Sampler::new(p, 4).unwrap();
    for _ in 0..50 {
        let t = s.sample(&mut [9.0, 1.0, 0.5, 0.0], &[]).unwrap();
        assert_eq!(t.id, 3);
        assert_eq!(t.logprob, Some(0.0));
        assert_eq!(t.top_logprobs, [(3, 0.0)], "zero-probability tokens are not listed");
    }
}

#[test]
fn full_vocab_logprobs_sum_to_one() {
    let l = logits(20, 1);
    let p = SamplingParams { logprobs: Some(20), seed: Some(1), ..Default::default() };
    let mut s = Sampler::new(p, 20).unwrap();
    let t = s.sample(&mut l.clone(), &[]).unwrap();
    assert_eq!(t.top_logprobs.len(), 20);
    let mass: f64 = t.top_logprobs.iter().map(|&(_, lp)| (lp as f64).exp()).sum();
    assert!((mass - 1.0).abs() < 1e-5, "probabilities sum to {mass}");
}

#[test]
fn top_logprobs_sorted_and_correct_on_a_large_vocab() {
    let l = logits(150_000, 2);
    let reference = log_softmax(&l);
    let mut order: Vec<usize> = (0..l.len()).collect();
    order.sort_by(|&a, &b| l[b].total_cmp(&l[a]).then(a.cmp(&b)));
    // Temperature and truncation must not change the reported numbers.
    let p = SamplingParams { logprobs: Some(8), temperature: 0.3, top_k: 5, seed: Some(2), ..Default::default() };
    let mut s = Sampler::new(p, l.len()).unwrap();
    let t = s.sample(&mut l.clone(), &[]).unwrap();
    let ids: Vec<u32> = t.top_logprobs.iter().map(|&(id, _)| id).collect();
    let want: Vec<u32> = order[..8].iter().map(|&i| i as u32).collect();
    assert_eq!(ids, want);
    for &(id, lp) in &t.top_logprobs {
        assert!((lp as f64 - reference[id as usize]).abs() < LOGPROB_TOL);
    }
    let lp = t.logprob.unwrap() as f64;
    assert!((lp - reference[t.id as usize]).abs() < LOGPROB_TOL);
}

#[test]
fn logprobs_are_after_bias_and_penalties() {
    let p = SamplingParams {
        logprobs: Some(3),
        logit_bias: [(0, 1.0)].into(),
        presence_penalty: 2.0,
        temperature: 0.0,
        ..Default::default()
    };
    let mut s = Sampler::new(p, 3).unwrap();
    let t = s.sample(&mut [0.0, 0.0, 0.0], &[2]).unwrap();
    let reference = log_softmax(&[1.0, 0.0, -2.0]);
    assert_eq!(t.id, 0);
    for (k, &(id, lp)) in t.top_logprobs.iter().enumerate() {
        assert_eq!(id, k as u32);
        assert!((lp as f64 - reference[k]).abs() < LOGPROB_TOL);
    }
}

#[test]
fn logprob_ties_and_zero_count() {
    let p = SamplingParams { logprobs: Some(2), temperature: 0.0, ..Default::default() };
    let mut s = Sampler::new(p, 4).unwrap();
    let t = s.sample(&mut [1.0, 2.0, 2.0, 2.0], &[]).unwrap();
    assert_eq!(t.id, 1);
    let ids: Vec<u32> = t.top_logprobs.iter().map(|&(id, _)| id).collect();
    assert_eq!(ids, [1, 2]);

    let p = SamplingParams { logprobs: Some(0), temperature: 0.0, ..Default::default() };
    let mut s = Sampler::new(p, 2).unwrap();
    let t = s.sample(&mut [0.0, 0.0], &[]).unwrap();
    assert!(t.top_logprobs.is_empty());
    assert!((t.logprob.unwrap() - (0.5f32).ln()).abs() < 1e-6);

    let mut s = Sampler::new(SamplingParams::greedy(), 2).unwrap();
    assert_eq!(s.sample(&mut [0.0, 1.0], &[]).unwrap().logprob, None);
}
