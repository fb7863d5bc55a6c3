//! Prompts: chat messages checked and rendered with the model's chat template, completion
//! prompts (text or token ids) tokenized, and the context check of prompt plus `max_tokens`.

use model::chat::{Content, ContentPart, ToolCall};
use model::{ChatTemplate, Message, Tokenizer};
use serde_json::Value;

use crate::error::ApiError;
use crate::request::WireMessage;

/// Most messages in one chat request, and most prompts in one completions request.
pub const MAX_MESSAGES: usize = 4096;
pub const MAX_PROMPTS: usize = 64;

/// Turns wire messages into template messages; each problem names its field.
pub fn messages(wire: &[WireMessage]) -> Result<Vec<Message>, ApiError> {
    if wire.is_empty() {
        return Err(ApiError::invalid("messages", "'messages' must contain at least one message"));
    }
    if wire.len() > MAX_MESSAGES {
        return Err(ApiError::invalid("messages", format!("at most {MAX_MESSAGES} messages, got {}", wire.len())));
    }
    wire.iter().enumerate().map(|(i, m)| message(i, m)).collect()
}

fn message(i: usize, m: &WireMessage) -> Result<Message, ApiError> {
    let at = |f: &str| format!("messages[{i}].{f}");
    let role = match m.role.as_str() {
        // OpenAI's newer name for system instructions; templates know "system".
        "developer" => "system",
        r @ ("system" | "user" | "assistant" | "tool") => r,
        other => {
            return Err(ApiError::invalid(
                at("role"),
                format!("'{}' must be system, developer, user, assistant or tool, got '{other}'", at("role")),
            ))
        }
    };
    let content = match &m.content {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Content::Text(s.clone())),
        Some(Value::Array(parts)) => Some(Content::Parts(
            parts
                .iter()
                .enumerate()
                .map(|(j, p)| text_part(&at(&format!("content[{j}]")), p))
                .collect::<Result<_, _>>()?,
        )),
        Some(_) => {
            return Err(ApiError::invalid(
                at("content"),
                format!("'{}' must be a string or a list of text parts", at("content")),
            ))
        }
    };
    let tool_calls = match (&m.tool_calls, role) {
        (None, _) => None,
        (Some(calls), "assistant") => Some(
            calls
                .iter()
                .map(|c| {
                    let args = match &c.function.arguments {
                        // Templates written for transformers index into the arguments as a dict.
                        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
                            .ok()
                            .filter(Value::is_object)
                            .unwrap_or_else(|| Value::String(s.clone())),
                        Some(v) => v.clone(),
                        None => Value::Object(Default::default()),
                    };
                    let call = ToolCall::function(c.function.name.clone(), args);
                    match &c.id {
                        Some(id) => call.with_id(id.clone()),
                        None => call,
                    }
                })
                .collect(),
        ),
        (Some(_), _) => {
            return Err(ApiError::invalid(at("tool_calls"), "only assistant messages may carry 'tool_calls'"));
        }
    };
    if content.is_none() && tool_calls.is_none() {
        return Err(ApiError::invalid(at("content"), format!("'{}' is required", at("content"))));
    }
    if role == "tool" && m.tool_call_id.is_none() {
        return Err(ApiError::invalid(
            at("tool_call_id"),
            "a tool message must say which call it answers ('tool_call_id')",
        ));
    }
    Ok(Message {
        role: role.to_string(),
        content,
        tool_calls,
        tool_call_id: m.tool_call_id.clone(),
        name: m.name.clone(),
    })
}

fn text_part(field: &str, p: &Value) -> Result<ContentPart, ApiError> {
    match (p.get("type").and_then(Value::as_str), p.get("text").and_then(Value::as_str)) {
        (Some("text"), Some(t)) => Ok(ContentPart::Text { text: t.to_string() }),
        (Some("text"), None) => {
            Err(ApiError::invalid(format!("{field}.text"), format!("'{field}.text' must be a string")))
        }
        (Some(kind), _) => Err(ApiError::invalid(
            format!("{field}.type"),
            format!("content parts of type '{kind}' are not supported; only 'text'"),
        )),
        (None, _) => Err(ApiError::invalid(format!("{field}.type"), format!("'{field}.type' is required"))),
    }
}

/// The token ids of a conversation rendered for generation: special tokens parsed, BOS added
/// when the model wants it unless the template already wrote one.
pub fn chat_tokens(tok: &Tokenizer, template: &ChatTemplate, messages: &[Message]) -> Result<Vec<u32>, ApiError> {
    let text = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_string();
    let (bos, eos) = (text(tok.bos()), text(tok.eos()));
    let rendered = template
        .render(messages, None, true, &bos, &eos)
        .map_err(|e| ApiError::invalid("messages", format!("the chat template cannot render these messages: {e}")))?;
    let mut ids = tok.encode(&rendered, true, true);
    if let Some(bos) = tok.bos() {
        if ids.len() >= 2 && ids[0] == bos && ids[1] == bos {
            ids.remove(0);
        }
    }
    Ok(ids)
}

/// The prompts of a completions request: a string, a list of strings, a list of token ids or a
/// list of lists of token ids.
pub fn completion_prompts(tok: &Tokenizer, prompt: Option<&Value>, vocab: usize) -> Result<Vec<Vec<u32>>, ApiError> {
    let encode = |s: &str| tok.encode(s, true, true);
    let ids = |field: &str, a: &[Value]| -> Result<Vec<u32>, ApiError> {
        a.iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_u64().filter(|&t| (t as usize) < vocab).map(|t| t as u32).ok_or_else(|| {
                    ApiError::invalid(
                        format!("{field}[{i}]"),
                        format!("'{field}[{i}]' must be a token id below {vocab}"),
                    )
                })
            })
            .collect()
    };
    let prompts = match prompt {
        None | Some(Value::Null) => return Err(ApiError::invalid("prompt", "'prompt' is required")),
        Some(Value::String(s)) => vec![encode(s)],
        Some(Value::Array(a)) if a.is_empty() => return Err(ApiError::invalid("prompt", "'prompt' is an empty list")),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(Value::as_str).map(encode).collect()
        }
        Some(Value::Array(a)) if a.iter().all(Value::is_array) => a
            .iter()
            .enumerate()
            .map(|(i, v)| ids(&format!("prompt[{i}]"), v.as_array().map(Vec::as_slice).unwrap_or_default()))
            .collect::<Result<_, _>>()?,
        Some(Value::Array(a)) => vec![ids("prompt", a)?],
        Some(_) => {
            return Err(ApiError::invalid(
                "prompt",
                "'prompt' must be a string, a list of strings, a list of token ids or a list of such lists",
            ))
        }
    };
    if prompts.len() > MAX_PROMPTS {
        return Err(ApiError::invalid("prompt", format!("at most {MAX_PROMPTS} prompts, got {}", prompts.len())));
    }
    if let Some(i) = prompts.iter().position(Vec::is_empty) {
        let field = if prompts.len() == 1 { "prompt".to_string() } else { format!("prompt[{i}]") };
        return Err(ApiError::invalid(field, "the prompt is empty"));
    }
    Ok(prompts)
}

/// The `max_tokens` the engine gets: as asked if prompt plus that fits the context, else a
/// 400 with both numbers; when not asked, whatever room the context leaves.
pub fn fit(param: &str, prompt: usize, max_tokens: Option<usize>, n_ctx: usize) -> Result<u32, ApiError> {
    match max_tokens {
        Some(m) if prompt + m > n_ctx => Err(ApiError::context_length(param, prompt, Some(m), n_ctx)),
        Some(m) => Ok(m as u32),
        None if prompt >= n_ctx => Err(ApiError::context_length(param, prompt, None, n_ctx)),
        None => Ok((n_ctx - prompt) as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{fields, parse_json, ChatFields};

    fn check(json: &str) -> Result<Vec<Message>, ApiError> {
        let c: ChatFields = fields(&parse_json(json.as_bytes()).unwrap())?;
        messages(&c.messages)
    }

    #[test]
    fn messages_of_every_role_and_content_shape() {
        let m = check(
            r#"{"messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
                {"role": "tool", "content": "42", "tool_call_id": "c1"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(m[0].role, "system");
        assert_eq!(
            m[1].content,
            Some(Content::Parts(vec![ContentPart::Text { text: "a".into() }, ContentPart::Text { text: "b".into() }]))
        );
        let call = &m[2].tool_calls.as_ref().unwrap()[0];
        assert_eq!(call.function.arguments, serde_json::json!({"x": 1}));
        assert_eq!(m[3].tool_call_id.as_deref(), Some("c1"));
    }

    #[test]
    fn bad_messages_name_the_field() {
        for (json, field) in [
            (r#"{"messages": []}"#, "messages"),
            (r#"{"messages": [{"role": "robot", "content": "x"}]}"#, "messages[0].role"),
            (r#"{"messages": [{"role": "user"}]}"#, "messages[0].content"),
            (r#"{"messages": [{"role": "user", "content": 5}]}"#, "messages[0].content"),
            (r#"{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}"#, "messages[0].content[0].type"),
            (r#"{"messages": [{"role": "user", "content": [{"type": "text"}]}]}"#, "messages[0].content[0].text"),
            (r#"{"messages": [{"role": "tool", "content": "x"}]}"#, "messages[0].tool_call_id"),
        ] {
            assert_eq!(check(json).unwrap_err().param.as_deref(), Some(field), "{json}");
        }
    }

    #[test]
    fn context_fit() {
        assert_eq!(fit("messages", 10, Some(5), 16), Ok(5));
        assert_eq!(fit("messages", 10, None, 16), Ok(6));
        let e = fit("messages", 10, Some(7), 16).unwrap_err();
        assert_eq!(e.code, Some("context_length_exceeded"));
        assert!(e.message.contains("16") && e.message.contains("10") && e.message.contains('7'), "{}", e.message);
        assert!(fit("prompt", 16, None, 16).is_err());
    }
}
