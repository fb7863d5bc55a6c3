//! `SamplingParams`: defaults, serde and range checks that name the field.

use engine::SamplingParams;

fn field_of(p: SamplingParams) -> &'static str {
    p.validate().expect_err("should be rejected").field
}

#[test]
fn defaults_are_neutral_and_valid() {
    let p = SamplingParams::default();
    p.validate().unwrap();
    assert_eq!(p.temperature, 1.0);
    assert_eq!((p.top_k, p.top_p, p.min_p), (0, 1.0, 0.0));
    assert_eq!(p.repetition_penalty, 1.0);
    assert_eq!(p.penalty_last_n, 64);
    assert!(!p.is_greedy());
    SamplingParams::greedy().validate().unwrap();
    SamplingParams::llama_cpp().validate().unwrap();
    assert!(SamplingParams::greedy().is_greedy());
}

#[test]
fn each_out_of_range_value_names_its_field() {
    let d = SamplingParams::default;
    let cases: Vec<(SamplingParams, &str)> = vec![
        (SamplingParams { temperature: -0.1, ..d() }, "temperature"),
        (SamplingParams { temperature: f32::NAN, ..d() }, "temperature"),
        (SamplingParams { temperature: f32::INFINITY, ..d() }, "temperature"),
        (SamplingParams { top_k: -2, ..d() }, "top_k"),
        (SamplingParams { top_p: 0.0, ..d() }, "top_p"),
        (SamplingParams { top_p: 1.01, ..d() }, "top_p"),
        (SamplingParams { top_p: f32::NAN, ..d() }, "top_p"),
        (SamplingParams { min_p: -0.01, ..d() }, "min_p"),
        (SamplingParams { min_p: 1.5, ..d() }, "min_p"),
        (SamplingParams { min_p: f32::NAN, ..d() }, "min_p"),
        (SamplingParams { repetition_penalty: 0.0, ..d() }, "repetition_penalty"),
        (SamplingParams { repetition_penalty: f32::NAN, ..d() }, "repetition_penalty"),
        (SamplingParams { presence_penalty: 2.5, ..d() }, "presence_penalty"),
        (SamplingParams { presence_penalty: f32::NAN, ..d() }, "presence_penalty"),
        (SamplingParams { frequency_penalty: -2.5, ..d() }, "frequency_penalty"),
        (SamplingParams { penalty_last_n: -2, ..d() }, "penalty_last_n"),
        (SamplingParams { logit_bias: [(3, f32::NAN)].into(), ..d() }, "logit_bias"),
        (SamplingParams { max_tokens: Some(0), ..d() }, "max_tokens"),
        (SamplingParams { stop: vec!["ok".into(), String::new()], ..d() }, "stop"),
        (SamplingParams { logprobs: Some(21), ..d() }, "logprobs"),
    ];
    for (p, field) in cases {
        let e = p.validate().expect_err(field);
        assert_eq!(e.field, field, "{e}");
        assert!(e.to_string().contains(field), "{e}");
    }
    assert_eq!(field_of(SamplingParams { top_k: -5, ..d() }), "top_k");
}

#[test]
fn boundary_values_are_accepted() {
    let d = SamplingParams::default;
    for p in [
        SamplingParams { temperature: 0.0, ..d() },
        SamplingParams { top_k: -1, ..d() },
        SamplingParams { top_p: 1.0, ..d() },
        SamplingParams { min_p: 1.0, ..d() },
        SamplingParams { presence_penalty: -2.0, frequency_penalty: 2.0, ..d() },
        SamplingParams { penalty_last_n: -1, ..d() },
        SamplingParams { logit_bias: [(1, f32::NEG_INFINITY), (2, f32::INFINITY)].into(), ..d() },
        SamplingParams { logprobs: Some(20), ..d() },
        SamplingParams { logprobs: Some(0), ..d() },
    ] {
        p.validate().unwrap();
    }
}

#[test]
fn json_with_a_subset_of_fields_and_string_bias_keys() {
    let p: SamplingParams = serde_json::from_str(
        r#"{"temperature": 0.2, "top_k": 5, "logit_bias": {"42": -100, "7": 3.5},
            "stop": ["\n\n"], "seed": 9, "logprobs": 3}"#,
    )
    .unwrap();
    assert_eq!(p.temperature, 0.2);
    assert_eq!(p.top_k, 5);
    assert_eq!(p.logit_bias.get(&42), Some(&-100.0));
    assert_eq!(p.logit_bias.get(&7), Some(&3.5));
    assert_eq!(p.stop, ["\n\n"]);
    assert_eq!(p.seed, Some(9));
    assert_eq!(p.logprobs, Some(3));
    assert_eq!(p.top_p, 1.0, "unnamed fields keep their defaults");
    let back: SamplingParams = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}
