//! Statistical checks: each filter draws from the truncated, renormalised distribution it should.

mod common;

use common::{assert_matches, frequencies, reference, DRAWS};
use engine::SamplingParams;

/// Distinct gaps so every filter cuts somewhere different; one tie (0.5, 0.5).
const LOGITS: [f32; 10] = [2.0, 1.6, 1.1, 0.5, 0.5, 0.0, -0.4, -1.0, -2.0, -3.5];

fn params(temperature: f32, top_k: i32, top_p: f32, min_p: f32, seed: u64) -> SamplingParams {
    SamplingParams { temperature, top_k, top_p, min_p, seed: Some(seed), ..SamplingParams::default() }
}

fn check(name: &str, p: SamplingParams) {
    let expected = reference(&LOGITS, &p);
    let got = frequencies(&LOGITS, p, DRAWS);
    assert_matches(name, &got, &expected, DRAWS);
}

#[test]
fn plain_temperature_one() {
    check("T=1", params(1.0, 0, 1.0, 0.0, 1));
}

#[test]
fn plain_temperature_half() {
    check("T=0.5", params(0.5, 0, 1.0, 0.0, 2));
}

#[test]
fn plain_temperature_two() {
    check("T=2", params(2.0, 0, 1.0, 0.0, 3));
}

#[test]
fn top_k_only() {
    check("top_k=3", params(1.0, 3, 1.0, 0.0, 4));
    check("top_k=1", params(1.0, 1, 1.0, 0.0, 5));
    // -1 is vLLM's "off".
    check("top_k=-1", params(1.0, -1, 1.0, 0.0, 6));
    check("top_k=100 (> vocab)", params(1.0, 100, 1.0, 0.0, 7));
}

#[test]
fn top_p_only() {
    check("top_p=0.7", params(1.0, 0, 0.7, 0.0, 8));
    check("top_p=0.95 T=2", params(2.0, 0, 0.95, 0.0, 9));
    check("top_p=0.01", params(1.0, 0, 0.01, 0.0, 10));
}

#[test]
fn min_p_only() {
    check("min_p=0.2", params(1.0, 0, 1.0, 0.2, 11));
    check("min_p=0.05 T=0.5", params(0.5, 0, 1.0, 0.05, 12));
    check("min_p=1", params(1.0, 0, 1.0, 1.0, 13));
}

#[test]
fn combinations() {
    check("T=0.7 k=5 p=0.9 m=0.05", params(0.7, 5, 0.9, 0.05, 14));
    check("T=1.5 k=8 p=0.8 m=0.1", params(1.5, 8, 0.8, 0.1, 15));
    check("k=6 p=0.6", params(1.0, 6, 0.6, 0.0, 16));
    check("p=0.9 m=0.3", params(1.3, 0, 0.9, 0.3, 17));
    check("llama.cpp defaults", SamplingParams { seed: Some(18), ..SamplingParams::llama_cpp() });
}

/// A vocabulary large enough that the top-p cut falls beyond the first sorted chunk, so the
/// growing partial sort is exercised; and min-p on the direct (unsorted) path.
#[test]
fn large_vocab_support_and_mass() {
    let logits: Vec<f32> = (0..3000u32).map(|i| ((i * 7919) % 3000) as f32 / 1000.0).collect();
    for (name, p) in [
        ("top_p=0.9", params(1.0, 0, 0.9, 0.0, 21)),
        ("top_k=500 top_p=0.5", params(0.8, 500, 0.5, 0.0, 22)),
        ("min_p=0.4", params(1.0, 0, 1.0, 0.4, 23)),
    ] {
        let expected = reference(&logits, &p);
        let got = frequencies(&logits, p, DRAWS);
        let allowed = expected.iter().filter(|&&x| x > 0.0).count();
        assert!(allowed > 64, "{name}: cut should pass the first chunk, got {allowed}");
        for (i, (&g, &x)) in got.iter().zip(&expected).enumerate() {
            assert!(x > 0.0 || g == 0.0, "{name}: token {i} drawn but not allowed");
        }
        // Mass of the top tenth of the allowed set, a sum of many tokens: binomial tolerance.
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        let head = &order[..allowed / 10];
        let (g, x): (f64, f64) = head.iter().fold((0.0, 0.0), |(g, x), &i| (g + got[i], x + expected[i]));
        let tol = common::SIGMAS * (x * (1.0 - x) / DRAWS as f64).sqrt();
        assert!((g - x).abs() <= tol, "{name}: head mass {g:.4} vs {x:.4} (tol {tol:.4})");
    }
}
