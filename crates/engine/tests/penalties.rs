//! Penalties: exact values on hand-computed examples, and the window.

use engine::{Sampler, SamplingParams};

/// Applies the sampler to `logits` and returns them as the sampler left them (biased, penalised).
fn penalised(p: SamplingParams, logits: &[f32], history: &[u32]) -> Vec<f32> {
    let mut s = Sampler::new(SamplingParams { temperature: 0.0, ..p }, logits.len()).unwrap();
    let mut row = logits.to_vec();
    s.sample(&mut row, history).unwrap();
    row
}

#[test]
fn repetition_divides_positive_and_multiplies_negative() {
    let p = SamplingParams { repetition_penalty: 2.0, ..Default::default() };
    let out = penalised(p, &[4.0, -1.5, 0.0, 3.0], &[0, 1, 2, 0, 0]);
    // Applied once per distinct token, however often it occurs.
    assert_eq!(out, [2.0, -3.0, 0.0, 3.0]);
    let p = SamplingParams { repetition_penalty: 0.5, ..Default::default() };
    let out = penalised(p, &[4.0, -1.5, 1.0], &[0, 1]);
    assert_eq!(out, [8.0, -0.75, 1.0]);
}

#[test]
fn all_three_on_a_hand_computed_example() {
    let p = SamplingParams {
        repetition_penalty: 2.0,
        presence_penalty: 0.5,
        frequency_penalty: 0.25,
        penalty_last_n: -1,
        ..Default::default()
    };
    // counts: token 0 x3, 1 x2, 3 x1, 5 x1; 99 is outside the vocabulary and ignored.
    let history = [99, 0, 1, 1, 3, 5, 0, 0];
    let out = penalised(p, &[2.0, -1.0, 0.5, 3.0, -2.0, 0.0], &history);
    let expected = [
        2.0 / 2.0 - 3.0 * 0.25 - 0.5, // -0.25
        -2.0 - 2.0 * 0.25 - 0.5,      // -1 * 2, then -3.0
        0.5,                          // unseen
        3.0 / 2.0 - 0.25 - 0.5,       // 0.75
        -2.0,                         // unseen
        0.0 * 2.0 - 0.25 - 0.5,       // -0.75 (0 counts as non-positive)
    ];
    assert_eq!(out, expected);
}

#[test]
fn presence_and_frequency_openai_semantics() {
    let p = SamplingParams { presence_penalty: 1.0, frequency_penalty: 0.5, ..Default::default() };
    let out = penalised(p, &[1.0, 1.0, 1.0], &[2, 2, 2, 2, 1]);
    assert_eq!(out, [1.0, 1.0 - 0.5 - 1.0, 1.0 - 4.0 * 0.5 - 1.0]);
    // Negative values encourage repetition.
    let p = SamplingParams { presence_penalty: -1.0, ..Default::default() };
    assert_eq!(penalised(p, &[0.0, 0.0], &[1]), [0.0, 1.0]);
}

#[test]
fn window_excludes_older_tokens() {
    let p = SamplingParams { frequency_penalty: 1.0, penalty_last_n: 2, ..Default::default() };
    // Only the last two (3, 4) count; the three 0s are older.
    let out = penalised(p, &[5.0; 5], &[0, 0, 0, 3, 4]);
    assert_eq!(out, [5.0, 5.0, 5.0, 4.0, 4.0]);

    let off = SamplingParams { frequency_penalty: 1.0, penalty_last_n: 0, ..Default::default() };
    assert_eq!(penalised(off, &[5.0; 3], &[0, 1, 2]), [5.0; 3]);

    let all = SamplingParams { frequency_penalty: 1.0, penalty_last_n: -1, ..Default::default() };
    let history: Vec<u32> = std::iter::repeat_n(0, 1000).chain([1]).collect();
    assert_eq!(penalised(all, &[5.0; 2], &history), [-995.0, 4.0]);

    // A window longer than the history is the whole history.
    let long = SamplingParams { frequency_penalty: 1.0, penalty_last_n: 64, ..Default::default() };
    assert_eq!(penalised(long, &[5.0; 2], &[0, 0]), [3.0, 5.0]);
}

#[test]
fn penalties_change_the_choice_and_repeat_calls_are_independent() {
    let p = SamplingParams { repetition_penalty: 4.0, ..SamplingParams::greedy() };
    let mut s = Sampler::new(p, 3).unwrap();
    // Token 0 leads until it has been seen.
    assert_eq!(s.sample(&mut [3.0, 2.0, 0.0], &[]).unwrap().id, 0);
    assert_eq!(s.sample(&mut [3.0, 2.0, 0.0], &[0]).unwrap().id, 1);
    // The scratch counts were reset: a history without 0 leaves it alone again.
    assert_eq!(s.sample(&mut [3.0, 2.0, 0.0], &[2]).unwrap().id, 0);
}

#[test]
fn bias_comes_before_penalties() {
    // Bias +2 makes the logit positive, so the repetition penalty divides it.
    let p = SamplingParams { logit_bias: [(0, 2.0)].into(), repetition_penalty: 2.0, ..Default::default() };
    assert_eq!(penalised(p, &[-1.0, 0.0], &[0]), [0.5, 0.0]);
}
