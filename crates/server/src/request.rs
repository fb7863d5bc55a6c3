//! Request bodies of `/v1/chat/completions` and `/v1/completions` as sent on the wire, and
//! their parsing: malformed JSON and fields of the wrong type become 400s that name the field.
//!
//! The two endpoints share [`CommonFields`]; each body is read as one JSON value and then
//! deserialized into the shared part and the endpoint's own part. Unknown fields are ignored,
//! as OpenAI-compatible servers do, except those whose silent loss would change the answer
//! (checked in `params`).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;

/// Fields both endpoints take.
#[derive(Debug, Default, Deserialize)]
pub struct CommonFields {
    pub model: Option<String>,
    pub max_tokens: Option<i64>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub n: Option<i64>,
    /// A string or a list of strings.
    pub stop: Option<Value>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    /// Token id (as a string) to bias.
    pub logit_bias: Option<serde_json::Map<String, Value>>,
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    pub response_format: Option<ResponseFormat>,
    pub top_k: Option<i64>,
    pub min_p: Option<f32>,
    pub repetition_penalty: Option<f32>,
    pub user: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    pub include_usage: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct ResponseFormat {
    #[serde(rename = "type")]
    pub kind: String,
    pub json_schema: Option<JsonSchemaFormat>,
}

#[derive(Debug, Deserialize)]
pub struct JsonSchemaFormat {
    pub name: Option<String>,
    pub schema: Option<Value>,
    pub strict: Option<bool>,
}

/// The chat endpoint's own fields.
#[derive(Debug, Deserialize)]
pub struct ChatFields {
    pub messages: Vec<WireMessage>,
    pub max_completion_tokens: Option<i64>,
    pub logprobs: Option<bool>,
    pub top_logprobs: Option<i64>,
    pub tools: Option<Value>,
}

/// One message as sent: `content` is a string, a list of parts, or absent/null.
#[derive(Debug, Deserialize)]
pub struct WireMessage {
    pub role: String,
    pub content: Option<Value>,
    pub name: Option<String>,
    pub tool_calls: Option<Vec<WireToolCall>>,
    pub tool_call_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WireToolCall {
    pub id: Option<String>,
    pub function: WireFunction,
}

#[derive(Debug, Deserialize)]
pub struct WireFunction {
    pub name: String,
    /// OpenAI sends a JSON string; a JSON object is taken too.
    pub arguments: Option<Value>,
}

/// The completions endpoint's own fields.
#[derive(Debug, Deserialize)]
pub struct CompletionFields {
    /// A string, a list of strings, a list of token ids, or a list of lists of token ids.
    pub prompt: Option<Value>,
    pub logprobs: Option<i64>,
    pub echo: Option<bool>,
    pub suffix: Option<String>,
    pub best_of: Option<i64>,
}

/// Reads a body as JSON; the error says where the JSON is broken.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::malformed(format!("the request body is not valid JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::malformed("the request body must be a JSON object"));
    }
    Ok(v)
}

/// Deserializes `value` into `T`; a field of the wrong type or a missing required field is a
/// 400 naming its path (`messages[0].role`).
pub fn fields<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // A missing field is reported on its parent; name the field itself.
        match missing_field(&inner) {
            Some(field) if path == "." => ApiError::invalid(field, format!("'{field}' is required")),
            Some(field) => ApiError::invalid(format!("{path}.{field}"), format!("'{path}.{field}' is required")),
            None => ApiError::invalid(path.clone(), format!("invalid value for '{path}': {inner}")),
        }
    })
}

fn missing_field(msg: &str) -> Option<&str> {
    msg.strip_prefix("missing field `")?.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_and_missing_fields_name_the_path() {
        let v = parse_json(br#"{"messages": [{"content": "hi"}]}"#).unwrap();
        let e = fields::<ChatFields>(&v).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("messages[0].role"));
        let v = parse_json(br#"{"temperature": "hot"}"#).unwrap();
        let e = fields::<CommonFields>(&v).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("temperature"));
        assert!(e.message.contains("invalid type"), "{}", e.message);
        let v = parse_json(br#"{"model": "m"}"#).unwrap();
        assert_eq!(fields::<ChatFields>(&v).unwrap_err().param.as_deref(), Some("messages"));
    }

    #[test]
    fn malformed_json_says_where() {
        let e = parse_json(b"{\"model\": ").unwrap_err();
        assert_eq!(e.code, Some("invalid_json"));
        assert!(e.message.contains("line 1"), "{}", e.message);
        assert!(parse_json(b"[1, 2]").is_err());
    }
}
