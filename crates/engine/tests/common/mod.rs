//! Helpers shared by the sampler tests: a plain reference of the filtered distribution and
//! frequency comparison with tolerances derived from the sample count.

#![allow(dead_code)]

use engine::{Sampler, SamplingParams};

/// Samples drawn per distribution check.
pub const DRAWS: usize = 20_000;

/// A frequency may be this many binomial standard deviations from its expectation. With about a
/// dozen tokens per check, a correct sampler fails a check with probability ~1e-5; the seeds are
/// fixed anyway, so a pass is reproducible.
pub const SIGMAS: f64 = 5.0;

/// Reference distribution, written the slow obvious way: softmax at temperature, full sort,
/// then top-k, top-p, min-p, each renormalising what it keeps.
pub fn reference(logits: &[f32], p: &SamplingParams) -> Vec<f64> {
    let t = p.temperature as f64;
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let mut probs: Vec<f64> = logits.iter().map(|&l| ((l as f64 - max) / t).exp()).collect();
    normalise(&mut probs);
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));

    if p.top_k > 0 {
        for &i in order.iter().skip(p.top_k as usize) {
            probs[i] = 0.0;
        }
        normalise(&mut probs);
    }
    if p.top_p < 1.0 {
        let mut cum = 0.0;
        let mut cut = false;
        for &i in &order {
            if cut {
                probs[i] = 0.0;
            } else {
                cum += probs[i];
                cut = cum >= p.top_p as f64;
            }
        }
        normalise(&mut probs);
    }
    if p.min_p > 0.0 {
        let top = probs.iter().cloned().fold(0.0, f64::max);
        for q in probs.iter_mut() {
            if *q < p.min_p as f64 * top {
                *q = 0.0;
            }
        }
        normalise(&mut probs);
    }
    probs
}

fn normalise(v: &mut [f64]) {
    let s: f64 = v.iter().sum();
    for x in v.iter_mut() {
        *x /= s;
    }
}

/// Empirical frequencies of `draws` samples (fresh logits each time, empty history).
pub fn frequencies(logits: &[f32], params: SamplingParams, draws: usize) -> Vec<f64> {
    let mut s = Sampler::new(params, logits.len()).expect("valid params");
    let mut counts = vec![0usize; logits.len()];
    let mut row = logits.to_vec();
    for _ in 0..draws {
        row.copy_from_slice(logits);
        let t = s.sample(&mut row, &[]).expect("sample");
        counts[t.id as usize] += 1;
    }
    counts.iter().map(|&c| c as f64 / draws as f64).collect()
}

/// Every token's frequency within `SIGMAS` binomial deviations; tokens of probability 0 never drawn.
pub fn assert_matches(name: &str, empirical: &[f64], expected: &[f64], draws: usize) {
    for (i, (&e, &x)) in empirical.iter().zip(expected).enumerate() {
        if x == 0.0 {
            assert_eq!(e, 0.0, "{name}: token {i} is outside the allowed set but was drawn");
            continue;
        }
        let sigma = (x * (1.0 - x) / draws as f64).sqrt();
        // The floor keeps tokens of tiny probability from demanding exact counts.
        let tol = SIGMAS * sigma.max(1.0 / draws as f64);
        assert!(
            (e - x).abs() <= tol,
            "{name}: token {i} drawn with frequency {e:.5}, expected {x:.5} (tolerance {tol:.5})\n\
             empirical {empirical:.4?}\nexpected  {expected:.4?}"
        );
    }
}
