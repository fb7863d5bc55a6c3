//! NaN and infinite logits never panic and give the documented results.

use engine::{Sampler, SamplerError, SamplingParams};
use proptest::prelude::*;

fn logit() -> impl Strategy<Value = f32> {
    prop_oneof![
        6 => -20.0f32..20.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        2 => Just(f32::NEG_INFINITY),
        1 => Just(f32::MAX),
        1 => Just(f32::MIN),
    ]
}

fn params() -> impl Strategy<Value = SamplingParams> {
    (
        prop_oneof![Just(0.0f32), Just(1e-40f32), 1e-5f32..1e-3, 0.01f32..3.0, Just(1e6f32)],
        -1i32..6,
        prop_oneof![Just(1.0f32), 0.01f32..1.0],
        prop_oneof![Just(0.0f32), 0.0f32..1.0],
        prop_oneof![Just(1.0f32), 0.5f32..2.0],
        -2.0f32..2.0,
        proptest::option::of(0usize..=20),
        any::<u64>(),
    )
        .prop_map(|(temperature, top_k, top_p, min_p, rep, pen, logprobs, seed)| SamplingParams {
            temperature,
            top_k,
            top_p,
            min_p,
            repetition_penalty: rep,
            presence_penalty: pen,
            frequency_penalty: -pen / 2.0,
            logprobs,
            seed: Some(seed),
            ..Default::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_and_results_are_defined(
        logits in proptest::collection::vec(logit(), 1..40),
        p in params(),
        history in proptest::collection::vec(0u32..50, 0..20),
    ) {
        let mut s = Sampler::new(p.clone(), logits.len()).unwrap();
        let mut row = logits.clone();
        let res = s.sample(&mut row, &history);
        prop_assert!(row.iter().all(|l| !l.is_nan()), "NaN left in {row:?}");
        let any_pos_inf = row.contains(&f32::INFINITY);
        match res {
            Err(e) => {
                prop_assert_eq!(e, SamplerError::NoFiniteLogit);
                prop_assert!(row.iter().all(|&l| l == f32::NEG_INFINITY));
            }
            Ok(t) => {
                let l = row[t.id as usize];
                prop_assert!(l > f32::NEG_INFINITY, "chose a -inf token");
                if any_pos_inf {
                    prop_assert_eq!(l, f32::INFINITY, "a +inf token must win");
                }
                if p.is_greedy() {
                    let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                    let first = row.iter().position(|&x| x == max).unwrap();
                    prop_assert_eq!(t.id as usize, first);
                }
                if let Some(n) = p.logprobs {
                    let lp = t.logprob.unwrap();
                    prop_assert!(!lp.is_nan() && lp <= 1e-6, "logprob {lp}");
                    prop_assert!(t.top_logprobs.len() <= n);
                    prop_assert!(t.top_logprobs.iter().all(|(_, x)| !x.is_nan() && *x <= 1e-6));
                    prop_assert!(t.top_logprobs.windows(2).all(|w| w[0].1 >= w[1].1));
                } else {
                    prop_assert!(t.logprob.is_none());
                }
            }
        }
    }
}

#[test]
fn all_nan_or_minus_inf_is_an_error() {
    for greedy in [true, false] {
        let p = SamplingParams { temperature: if greedy { 0.0 } else { 1.0 }, ..Default::default() };
        let mut s = Sampler::new(p, 3).unwrap();
        let r = s.sample(&mut [f32::NAN, f32::NEG_INFINITY, f32::NAN], &[]);
        assert_eq!(r, Err(SamplerError::NoFiniteLogit));
    }
}

#[test]
fn nan_is_never_chosen() {
    let p = SamplingParams { seed: Some(8), ..Default::default() };
    let mut s = Sampler::new(p, 4).unwrap();
    for _ in 0..500 {
        let id = s.sample(&mut [f32::NAN, 0.0, f32::NAN, 0.0], &[]).unwrap().id;
        assert!(id == 1 || id == 3);
    }
}

#[test]
fn plus_infinity_wins_and_ties_share() {
    let mut g = Sampler::new(SamplingParams::greedy(), 4).unwrap();
    assert_eq!(g.sample(&mut [1e30, f32::INFINITY, 0.0, f32::INFINITY], &[]).unwrap().id, 1);
    let p = SamplingParams { seed: Some(9), logprobs: Some(4), ..Default::default() };
    let mut s = Sampler::new(p, 4).unwrap();
    let mut seen = [0usize; 4];
    for _ in 0..2000 {
        let t = s.sample(&mut [1e30, f32::INFINITY, 0.0, f32::INFINITY], &[]).unwrap();
        seen[t.id as usize] += 1;
        assert!((t.logprob.unwrap() - -(2.0f32).ln()).abs() < 1e-6);
    }
    assert_eq!(seen[0] + seen[2], 0);
    assert!(seen[1] > 800 && seen[3] > 800, "{seen:?}");
}

#[test]
fn extreme_finite_logits_do_not_overflow() {
    // f32::MAX - f32::MIN overflows to inf; the weights must still be well defined.
    let p = SamplingParams { seed: Some(10), top_p: 0.5, logprobs: Some(2), ..Default::default() };
    let mut s = Sampler::new(p, 3).unwrap();
    let t = s.sample(&mut [f32::MIN, f32::MAX, 0.0], &[]).unwrap();
    assert_eq!(t.id, 1);
    assert_eq!(t.logprob, Some(0.0));
    let mut s = Sampler::new(SamplingParams { temperature: 1e-6, seed: Some(1), ..Default::default() }, 3).unwrap();
    assert_eq!(s.sample(&mut [0.0, 1e-3, -5.0], &[]).unwrap().id, 1);
}
