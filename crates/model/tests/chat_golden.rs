//! Byte-for-byte agreement with jinja2 as transformers configures it. The expected strings come
//! from scripts/gen_chat_goldens.py (Qwen2.5's real template, a feature-probe template and our
//! built-ins, rendered by Python jinja2); this test needs no model file.

use model::chat::{ChatRequest, ChatTemplate, Message};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    templates: serde_json::Map<String, serde_json::Value>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    template: String,
    messages: Vec<Message>,
    tools: Option<serde_json::Value>,
    add_generation_prompt: bool,
    bos_token: String,
    eos_token: String,
    kwargs: serde_json::Map<String, serde_json::Value>,
    expected: Option<String>,
    error: Option<String>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/chat/goldens.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn template_for(fx: &Fixture, name: &str) -> ChatTemplate {
    let source = fx.templates[name]["source"].as_str().expect("template source");
    match name.strip_prefix("builtin:") {
        Some(builtin) => {
            let t = ChatTemplate::builtin(builtin).expect("built-in exists");
            // A stale fixture would compare against a template we no longer ship.
            assert_eq!(t.source(), source, "fixture of {name} is stale: rerun the generator");
            t
        }
        None => ChatTemplate::from_source(source).unwrap_or_else(|e| panic!("{name}: {e}")),
    }
}

#[test]
fn renders_like_jinja2() {
    let fx = fixture();
    assert!(fx.cases.len() >= 40, "fixture lost cases");
    let mut failures = Vec::new();
    for case in &fx.cases {
        let template = template_for(&fx, &case.template);
        let got = template.render_request(&ChatRequest {
            messages: &case.messages,
            tools: case.tools.as_ref(),
            add_generation_prompt: case.add_generation_prompt,
            bos_token: &case.bos_token,
            eos_token: &case.eos_token,
            kwargs: Some(&case.kwargs),
        });
        match (&case.expected, &case.error, got) {
            (Some(want), _, Ok(got)) if *want == got => {}
            (Some(want), _, got) => failures.push(format!("{}:\n want {want:?}\n got  {got:?}", case.name)),
            (None, Some(msg), Err(e)) if e.to_string().contains(msg.as_str()) => {}
            (None, Some(msg), got) => failures.push(format!("{}: want error {msg:?}, got {got:?}", case.name)),
            (None, None, _) => failures.push(format!("{}: case has no expectation", case.name)),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), fx.cases.len(), failures.join("\n"));
}

#[test]
fn qwen_fixture_is_the_real_template() {
    let fx = fixture();
    let qwen = &fx.templates["qwen2.5"];
    assert!(qwen["origin"].as_str().unwrap_or_default().contains("qwen2.5"));
    let source = qwen["source"].as_str().unwrap_or_default();
    assert!(source.contains("<tool_call>") && source.contains("You are Qwen, created by Alibaba Cloud."));
}
