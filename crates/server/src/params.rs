//! From wire fields to what the engine runs: range checks with OpenAI's limits, caps on the
//! sizes a request may ask for, and the mapping onto [`SamplingParams`].

use std::collections::BTreeMap;

use engine::SamplingParams;
use serde_json::Value;

use crate::error::ApiError;
use crate::request::CommonFields;

/// Most choices (`n`) per prompt.
pub const MAX_N: usize = 16;
/// Most choices in one request (prompts times `n`).
pub const MAX_CHOICES: usize = 64;
/// Most stop strings, and the longest one in bytes.
pub const MAX_STOP: usize = 16;
pub const MAX_STOP_BYTES: usize = 256;
/// Most `logit_bias` entries.
pub const MAX_LOGIT_BIAS: usize = 1024;
/// Most alternatives per token in `top_logprobs` (chat) or `logprobs` (completions).
pub const MAX_TOP_LOGPROBS: usize = engine::sampler::MAX_LOGPROBS;

/// What the output must look like.
#[derive(Debug, Clone, PartialEq)]
pub enum Format {
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON valid against this schema.
    JsonSchema(Value),
}

/// A request's generation settings, checked.
#[derive(Debug, Clone)]
pub struct Options {
    /// Everything but `max_tokens`, which is decided per prompt against the context.
    pub sampling: SamplingParams,
    /// Asked `max_tokens` (`None`: up to the end of the context).
    pub max_tokens: Option<usize>,
    pub n: usize,
    pub stream: bool,
    pub include_usage: bool,
    pub format: Format,
}

fn int_in(field: &str, v: i64, lo: i64, hi: i64) -> Result<usize, ApiError> {
    if v < lo || v > hi {
        return Err(ApiError::invalid(field, format!("'{field}' must be between {lo} and {hi}, got {v}")));
    }
    Ok(v as usize)
}

fn float_in(field: &str, v: f32, lo: f32, hi: f32) -> Result<f32, ApiError> {
    // Written so that NaN fails.
    if !(v >= lo && v <= hi) {
        return Err(ApiError::invalid(field, format!("'{field}' must be between {lo} and {hi}, got {v}")));
    }
    Ok(v)
}

/// Checks the shared fields. `max_tokens` is the endpoint's (chat prefers
/// `max_completion_tokens`), `logprobs` the number of alternatives when logprobs are wanted,
/// `vocab` the model's vocabulary size (for `logit_bias`).
pub fn options(
    c: &CommonFields,
    max_tokens: Option<(&str, i64)>,
    logprobs: Option<usize>,
    vocab: usize,
) -> Result<Options, ApiError> {
    let mut p = SamplingParams {
        // OpenAI's presence and frequency penalties look at the generated text only.
        penalize_prompt: false,
        penalty_last_n: -1,
        logprobs,
        ..SamplingParams::default()
    };
    if let Some(t) = c.temperature {
        p.temperature = float_in("temperature", t, 0.0, 2.0)?;
    }
    if let Some(t) = c.top_p {
        p.top_p = float_in("top_p", t, 0.0, 1.0)?;
        if p.top_p == 0.0 {
            // Nothing but the most likely token: greedy.
            p.temperature = 0.0;
            p.top_p = 1.0;
        }
    }
    if let Some(k) = c.top_k {
        // -1 and 0 both mean off (vLLM's and llama.cpp's spellings).
        if !(-1..=vocab as i64).contains(&k) {
            return Err(ApiError::invalid(
                "top_k",
                format!("'top_k' must be between -1 and {vocab} (-1 or 0 = off), got {k}"),
            ));
        }
        p.top_k = k as i32;
    }
    if let Some(m) = c.min_p {
        p.min_p = float_in("min_p", m, 0.0, 1.0)?;
    }
    if let Some(r) = c.repetition_penalty {
        if !(r.is_finite() && r > 0.0 && r <= 10.0) {
            return Err(ApiError::invalid(
                "repetition_penalty",
                format!("'repetition_penalty' must be in (0, 10] (1 = off), got {r}"),
            ));
        }
        p.repetition_penalty = r;
    }
    if let Some(v) = c.presence_penalty {
        p.presence_penalty = float_in("presence_penalty", v, -2.0, 2.0)?;
    }
    if let Some(v) = c.frequency_penalty {
        p.frequency_penalty = float_in("frequency_penalty", v, -2.0, 2.0)?;
    }
    p.seed = c.seed.map(|s| s as u64);
    p.stop = stop_strings(c.stop.as_ref())?;
    p.logit_bias = logit_bias(c.logit_bias.as_ref(), vocab)?;
    let max_tokens = match max_tokens {
        None => None,
        Some((field, v)) => Some(int_in(field, v, 1, u32::MAX as i64)?),
    };
    let n = match c.n {
        None => 1,
        Some(n) => int_in("n", n, 1, MAX_N as i64)?,
    };
    let stream = c.stream.unwrap_or(false);
    let include_usage = match &c.stream_options {
        Some(_) if !stream => {
            return Err(ApiError::invalid("stream_options", "'stream_options' is only allowed when 'stream' is true"))
        }
        Some(o) => o.include_usage.unwrap_or(false),
        None => false,
    };
    let format = match &c.response_format {
        None => Format::Text,
        Some(f) => match f.kind.as_str() {
            "text" => Format::Text,
            "json_object" => Format::JsonObject,
            "json_schema" => {
                let schema = f.json_schema.as_ref().and_then(|s| s.schema.clone());
                match schema {
                    Some(s) if s.is_object() || s.is_boolean() => Format::JsonSchema(s),
                    Some(_) => {
                        return Err(ApiError::invalid(
                            "response_format.json_schema.schema",
                            "the schema must be a JSON object",
                        ))
                    }
                    None => {
                        return Err(ApiError::invalid(
                            "response_format.json_schema",
                            "'response_format.json_schema.schema' is required when the type is 'json_schema'",
                        ))
                    }
                }
            }
            other => {
                return Err(ApiError::invalid(
                    "response_format.type",
                    format!("'response_format.type' must be 'text', 'json_object' or 'json_schema', got '{other}'"),
                ))
            }
        },
    };
    // The engine's own checks, as a second line (field names are the same as in JSON).
    p.validate().map_err(|e| ApiError::invalid(e.field, e.to_string()))?;
    Ok(Options { sampling: p, max_tokens, n, stream, include_usage, format })
}

fn stop_strings(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let list: Vec<(String, &Value)> = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(s @ Value::String(_)) => vec![("stop".to_string(), s)],
        Some(Value::Array(a)) => a.iter().enumerate().map(|(i, s)| (format!("stop[{i}]"), s)).collect(),
        Some(_) => return Err(ApiError::invalid("stop", "'stop' must be a string or a list of strings")),
    };
    if list.len() > MAX_STOP {
        return Err(ApiError::invalid("stop", format!("at most {MAX_STOP} stop strings, got {}", list.len())));
    }
    let mut out = Vec::with_capacity(list.len());
    for (field, s) in list {
        let Value::String(s) = s else {
            return Err(ApiError::invalid(field.clone(), format!("'{field}' must be a string")));
        };
        if s.is_empty() {
            return Err(ApiError::invalid(field.clone(), format!("'{field}' is empty")));
        }
        if s.len() > MAX_STOP_BYTES {
            return Err(ApiError::invalid(field.clone(), format!("'{field}' is longer than {MAX_STOP_BYTES} bytes")));
        }
        out.push(s.clone());
    }
    Ok(out)
}

fn logit_bias(v: Option<&serde_json::Map<String, Value>>, vocab: usize) -> Result<BTreeMap<u32, f32>, ApiError> {
    let Some(map) = v else { return Ok(BTreeMap::new()) };
    if map.len() > MAX_LOGIT_BIAS {
        return Err(ApiError::invalid("logit_bias", format!("at most {MAX_LOGIT_BIAS} entries, got {}", map.len())));
    }
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let field = format!("logit_bias.{key}");
        let id: u32 = key
            .parse()
            .ok()
            .filter(|&id: &u32| (id as usize) < vocab)
            .ok_or_else(|| ApiError::invalid(field.clone(), format!("'{key}' is not a token id below {vocab}")))?;
        let bias = value.as_f64().filter(|b| (-100.0..=100.0).contains(b)).ok_or_else(|| {
            ApiError::invalid(field.clone(), format!("the bias of token {key} must be a number in [-100, 100]"))
        })?;
        out.insert(id, bias as f32);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{fields, parse_json};

    fn opts(json: &str) -> Result<Options, ApiError> {
        let v = parse_json(json.as_bytes()).unwrap();
        let c: CommonFields = fields(&v)?;
        options(&c, c.max_tokens.map(|m| ("max_tokens", m)), None, 1000)
    }

    fn param_of(json: &str) -> Option<String> {
        opts(json).unwrap_err().param
    }

    #[test]
    fn defaults_are_openai_neutral() {
        let o = opts("{}").unwrap();
        assert_eq!(o.sampling.temperature, 1.0);
        assert_eq!(o.sampling.top_p, 1.0);
        assert!(!o.sampling.penalize_prompt);
        assert_eq!((o.n, o.stream, o.max_tokens, o.format), (1, false, None, Format::Text));
    }

    #[test]
    fn out_of_range_fields_are_named() {
        for (json, field) in [
            (r#"{"temperature": 2.5}"#, "temperature"),
            (r#"{"temperature": -1}"#, "temperature"),
            (r#"{"top_p": 1.5}"#, "top_p"),
            (r#"{"n": 0}"#, "n"),
            (r#"{"n": 17}"#, "n"),
            (r#"{"max_tokens": 0}"#, "max_tokens"),
            (r#"{"presence_penalty": 3}"#, "presence_penalty"),
            (r#"{"frequency_penalty": -2.5}"#, "frequency_penalty"),
            (r#"{"top_k": -2}"#, "top_k"),
            (r#"{"min_p": 2}"#, "min_p"),
            (r#"{"repetition_penalty": 0}"#, "repetition_penalty"),
            (r#"{"stop": 5}"#, "stop"),
            (r#"{"stop": ["a", ""]}"#, "stop[1]"),
            (r#"{"stop": ["a", 3]}"#, "stop[1]"),
            (r#"{"logit_bias": {"x": 1}}"#, "logit_bias.x"),
            (r#"{"logit_bias": {"1000": 1}}"#, "logit_bias.1000"),
            (r#"{"logit_bias": {"5": 101}}"#, "logit_bias.5"),
            (r#"{"stream_options": {"include_usage": true}}"#, "stream_options"),
            (r#"{"response_format": {"type": "xml"}}"#, "response_format.type"),
            (r#"{"response_format": {"type": "json_schema"}}"#, "response_format.json_schema"),
        ] {
            assert_eq!(param_of(json).as_deref(), Some(field), "{json}");
        }
    }

    #[test]
    fn sizes_are_capped() {
        let stops: Vec<String> = (0..=MAX_STOP).map(|i| format!("s{i}")).collect();
        assert_eq!(param_of(&serde_json::json!({ "stop": stops }).to_string()).as_deref(), Some("stop"));
        let long = "x".repeat(MAX_STOP_BYTES + 1);
        assert_eq!(param_of(&serde_json::json!({ "stop": long }).to_string()).as_deref(), Some("stop"));
        let bias: serde_json::Map<String, Value> =
            (0..=MAX_LOGIT_BIAS).map(|i| (i.to_string(), Value::from(1))).collect();
        let v = Value::Object([("logit_bias".to_string(), Value::Object(bias))].into_iter().collect());
        let c: CommonFields = fields(&v).unwrap();
        assert_eq!(options(&c, None, None, 5000).unwrap_err().param.as_deref(), Some("logit_bias"));
    }

    #[test]
    fn accepted_values_map_onto_the_sampler() {
        let o = opts(
            r#"{"temperature": 0, "n": 3, "stop": "END", "seed": -1, "logit_bias": {"7": -100},
                "stream": true, "stream_options": {"include_usage": true}, "top_k": 5, "min_p": 0.1,
                "repetition_penalty": 1.1, "response_format": {"type": "json_object"}, "max_tokens": 9}"#,
        )
        .unwrap();
        assert!(o.sampling.is_greedy());
        assert_eq!(o.sampling.stop, ["END"]);
        assert_eq!(o.sampling.seed, Some(u64::MAX));
        assert_eq!(o.sampling.logit_bias.get(&7), Some(&-100.0));
        assert_eq!((o.n, o.stream, o.include_usage, o.max_tokens), (3, true, true, Some(9)));
        assert_eq!((o.sampling.top_k, o.sampling.min_p, o.sampling.repetition_penalty), (5, 0.1, 1.1));
        assert_eq!(o.format, Format::JsonObject);
    }
}
