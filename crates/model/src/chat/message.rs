//! Chat messages in the shape chat templates expect: the OpenAI / transformers dicts.
//!
//! Absent optional fields are left out of the serialized message (not sent as `null`), so a
//! template sees them as undefined, exactly as it sees a key missing from a Python dict.

use serde::{Deserialize, Serialize};

/// One turn of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// "system", "user", "assistant", "tool", or whatever the template knows.
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// On a "tool" message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// On a "tool" message: the function's name (some templates print it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Message content: a plain string, or a list of typed parts (only text parts for now).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// `{"type": "text", "text": "..."}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    Text { text: String },
}

/// `{"id": ..., "type": "function", "function": {"name": ..., "arguments": ...}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    pub function: FunctionCall,
}

/// Templates written for transformers expect `arguments` to be a JSON object (a dict); the
/// OpenAI wire format sends it as a JSON string. Either is passed through as given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    pub arguments: serde_json::Value,
}

fn function_kind() -> String {
    "function".to_string()
}

impl Message {
    /// A message with string content and nothing else.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: role.into(),
            content: Some(Content::Text(content.into())),
            tool_calls: None,
            tool_call_id: None,
            name: None,
        }
    }

    pub fn system(content: impl Into<String>) -> Message {
        Message::new("system", content)
    }

    pub fn user(content: impl Into<String>) -> Message {
        Message::new("user", content)
    }

    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new("assistant", content)
    }

    /// An assistant turn that calls tools (content left out, as transformers' examples do).
    pub fn assistant_tool_calls(calls: Vec<ToolCall>) -> Message {
        Message {
            role: "assistant".to_string(),
            content: None,
            tool_calls: Some(calls),
            tool_call_id: None,
            name: None,
        }
    }

    /// A tool result answering call `id` (when known) of function `name` (when known).
    pub fn tool(content: impl Into<String>, id: Option<&str>, name: Option<&str>) -> Message {
        Message {
            role: "tool".to_string(),
            content: Some(Content::Text(content.into())),
            tool_calls: None,
            tool_call_id: id.map(str::to_string),
            name: name.map(str::to_string),
        }
    }
}

impl ToolCall {
    /// A function call; `arguments` is usually a JSON object.
    pub fn function(name: impl Into<String>, arguments: serde_json::Value) -> ToolCall {
        ToolCall { id: None, kind: function_kind(), function: FunctionCall { name: name.into(), arguments } }
    }

    pub fn with_id(mut self, id: impl Into<String>) -> ToolCall {
        self.id = Some(id.into());
        self
    }
}
