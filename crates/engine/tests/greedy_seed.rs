//! Greedy decoding, ties, seeding and argument checks of the sampler.

use engine::{Sampler, SamplerError, SamplingParams};

fn draw_seq(params: SamplingParams, logits: &[f32], n: usize) -> Vec<u32> {
    let mut s = Sampler::new(params, logits.len()).unwrap();
    (0..n).map(|_| s.sample(&mut logits.to_vec(), &[]).unwrap().id).collect()
}

#[test]
fn greedy_is_argmax() {
    let mut s = Sampler::new(SamplingParams::greedy(), 6).unwrap();
    let logits = [0.1, -3.0, 7.5, 7.4, 2.0, -0.5];
    for _ in 0..10 {
        assert_eq!(s.sample(&mut logits.to_vec(), &[]).unwrap().id, 2);
    }
}

#[test]
fn greedy_ties_go_to_lowest_id() {
    let mut s = Sampler::new(SamplingParams::greedy(), 5).unwrap();
    assert_eq!(s.sample(&mut [1.0, 3.0, 0.0, 3.0, 3.0], &[]).unwrap().id, 1);
    assert_eq!(s.sample(&mut [5.0, 5.0, 5.0, 5.0, 5.0], &[]).unwrap().id, 0);
}

#[test]
fn greedy_ignores_the_filters() {
    let p = SamplingParams { top_k: 1, top_p: 0.1, min_p: 0.9, ..SamplingParams::greedy() };
    let mut s = Sampler::new(p, 3).unwrap();
    assert_eq!(s.sample(&mut [0.0, 1.0, 0.5], &[]).unwrap().id, 1);
}

#[test]
fn vanishing_temperature_is_greedy() {
    // 1/T overflows to inf for T below ~3e-39; such temperatures must not break the draw.
    for t in [1e-40f32, 1e-30, 1e-6] {
        let p = SamplingParams { temperature: t, seed: Some(1), ..Default::default() };
        assert!(p.is_greedy());
        let mut s = Sampler::new(p, 4).unwrap();
        assert_eq!(s.sample(&mut [0.0, 2.0, 1.0, 2.0], &[]).unwrap().id, 1);
    }
    assert!(!SamplingParams { temperature: 1e-4, ..Default::default() }.is_greedy());
}

fn flat_logits() -> Vec<f32> {
    (0..50).map(|i| (i % 7) as f32 * 0.3).collect()
}

#[test]
fn same_seed_same_sequence() {
    let logits = flat_logits();
    for base in [SamplingParams::default(), SamplingParams::llama_cpp()] {
        let p = SamplingParams { seed: Some(42), ..base };
        let a = draw_seq(p.clone(), &logits, 100);
        let b = draw_seq(p, &logits, 100);
        assert_eq!(a, b);
    }
}

#[test]
fn different_seed_different_sequence() {
    let logits = flat_logits();
    let a = draw_seq(SamplingParams { seed: Some(1), ..Default::default() }, &logits, 100);
    let b = draw_seq(SamplingParams { seed: Some(2), ..Default::default() }, &logits, 100);
    assert_ne!(a, b);
}

#[test]
fn unseeded_samplers_differ() {
    let logits = flat_logits();
    let a = draw_seq(SamplingParams::default(), &logits, 100);
    let b = draw_seq(SamplingParams::default(), &logits, 100);
    assert_ne!(a, b, "two OS-seeded samplers agreed on 100 draws over 50 tokens");
}

#[test]
fn wrong_logits_length_is_an_error() {
    let mut s = Sampler::new(SamplingParams::default(), 4).unwrap();
    assert_eq!(s.sample(&mut [0.0; 3], &[]), Err(SamplerError::LogitsLength { expected: 4, got: 3 }));
}

#[test]
fn bias_outside_vocab_is_rejected() {
    let p = SamplingParams { logit_bias: [(10, 1.0)].into(), ..Default::default() };
    assert_eq!(Sampler::new(p, 10).unwrap_err(), SamplerError::BiasTokenOutOfRange { token: 10, vocab_size: 10 });
    assert!(matches!(Sampler::new(SamplingParams::default(), 0), Err(SamplerError::BadVocabSize(0))));
}

#[test]
fn invalid_params_are_rejected_by_new() {
    let p = SamplingParams { temperature: -1.0, ..Default::default() };
    let e = Sampler::new(p, 4).unwrap_err();
    assert!(e.to_string().contains("`temperature`"), "{e}");
}
