//! The chat-template API: choosing a template, the variables and helpers templates see, errors.

use model::chat::{ChatRequest, ChatTemplate, Content, ContentPart, Message, TemplateOrigin, ToolCall};
use serde_json::json;

fn render_src(src: &str, msgs: &[Message]) -> Result<String, model::ModelError> {
    ChatTemplate::from_source(src)?.render(msgs, None, false, "<s>", "</s>")
}

#[test]
fn template_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ChatTemplate>();
}

#[test]
fn user_choice_wins_then_model_template_then_fallbacks() {
    let gguf_src = "{% for m in messages %}[{{ m.role }}]{% endfor %}";
    // A built-in name beats the model's template.
    let t = ChatTemplate::resolve(Some("gemma"), Some(gguf_src), Some("qwen2")).unwrap();
    assert_eq!(t.origin(), &TemplateOrigin::Builtin("gemma"));
    // A file path.
    let dir = std::env::temp_dir().join(format!("rocmforge-chat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.jinja");
    std::fs::write(&file, "file:{{ messages | length }}").unwrap();
    let t = ChatTemplate::resolve(file.to_str(), Some(gguf_src), None).unwrap();
    assert_eq!(t.origin(), &TemplateOrigin::File(file.clone()));
    assert_eq!(t.render(&[Message::user("x")], None, false, "", "").unwrap(), "file:1");
    // The model's own template.
    let t = ChatTemplate::resolve(None, Some(gguf_src), Some("llama")).unwrap();
    assert_eq!(t.origin(), &TemplateOrigin::Gguf);
    assert_eq!(t.render(&[Message::user("x")], None, false, "", "").unwrap(), "[user]");
    // No template: by architecture, else chatml.
    let t = ChatTemplate::resolve(None, None, Some("gemma3")).unwrap();
    assert!(matches!(t.origin(), TemplateOrigin::Fallback { builtin: "gemma", .. }));
    let t = ChatTemplate::resolve(None, Some("  "), Some("mystery")).unwrap();
    assert!(matches!(t.origin(), TemplateOrigin::Fallback { builtin: "chatml", .. }));
    // A model template minijinja cannot compile (a transformers-only tag): its control tokens
    // pick the built-in, and the reason is kept for the user.
    let broken = "{% generation %}<start_of_turn>{{ m }}{% endgeneration %}";
    let t = ChatTemplate::resolve(None, Some(broken), Some("llama")).unwrap();
    match t.origin() {
        TemplateOrigin::Fallback { builtin, reason } => {
            assert_eq!(*builtin, "gemma");
            assert!(reason.contains("unusable"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unknown_choices_are_clear_errors() {
    let err = ChatTemplate::resolve(Some("nonesuch"), None, None).unwrap_err().to_string();
    assert!(err.contains("'nonesuch'") && err.contains("chatml, llama3, gemma, mistral"), "{err}");
    let err = ChatTemplate::builtin("vicuna").unwrap_err().to_string();
    assert!(err.contains("unknown built-in chat template 'vicuna'"), "{err}");
    let dir = std::env::temp_dir().join(format!("rocmforge-chat-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.jinja");
    std::fs::write(&file, "line1\n{% if %}").unwrap();
    let err = ChatTemplate::resolve(file.to_str(), None, None).unwrap_err().to_string();
    assert!(err.contains("bad.jinja") && err.contains("syntax error"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn for_gguf_reads_template_and_architecture() {
    let file = |kvs: &[(&str, &str)]| {
        let mut w = gguf::GgufWriter::new();
        for (k, v) in kvs {
            w.add_kv(*k, gguf::Value::String(v.to_string())).unwrap();
        }
        gguf::GgufFile::from_bytes(w.to_bytes().unwrap()).unwrap()
    };
    let with = file(&[("general.architecture", "qwen2"), ("tokenizer.chat_template", "Q{{ messages[0].content }}")]);
    let t = ChatTemplate::for_gguf(None, &with).unwrap();
    assert_eq!(t.render(&[Message::user("x")], None, false, "", "").unwrap(), "Qx");
    // The Gemma 3 GGUFs we test with carry no template: the architecture picks Gemma's.
    let without = file(&[("general.architecture", "gemma3")]);
    let t = ChatTemplate::for_gguf(None, &without).unwrap();
    assert!(matches!(t.origin(), TemplateOrigin::Fallback { builtin: "gemma", .. }));
    assert_eq!(
        t.render(&[Message::user("hi")], None, true, "<bos>", "").unwrap(),
        "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"
    );
}

#[test]
fn raise_exception_carries_the_message() {
    let err = render_src("{{ raise_exception('Only user and assistant roles are supported!') }}", &[])
        .unwrap_err()
        .to_string();
    assert_eq!(err, "chat template: template raised an exception: Only user and assistant roles are supported!");
}

#[test]
fn syntax_errors_are_reported_at_compile_time_with_a_line() {
    let err = ChatTemplate::from_source("ok\n{% for x in %}").unwrap_err().to_string();
    assert!(err.contains("syntax error") && err.contains("chat_template:2"), "{err}");
}

#[test]
fn variables_match_apply_chat_template() {
    let src = "{{ tools is defined }} {{ tools is none }} {{ documents is none }} {{ add_generation_prompt }} \
               {{ bos_token }}{{ eos_token }} {{ enable_thinking }} {{ messages[0].content is defined }}";
    let t = ChatTemplate::from_source(src).unwrap();
    let kwargs = json!({"enable_thinking": false, "bos_token": "<BOS>"});
    let msgs = [Message { content: None, ..Message::assistant("") }];
    let out = t
        .render_request(&ChatRequest {
            messages: &msgs,
            add_generation_prompt: true,
            bos_token: "<s>",
            eos_token: "</s>",
            kwargs: kwargs.as_object(),
            ..Default::default()
        })
        .unwrap();
    // kwargs may override the special tokens, as in transformers; absent content is undefined.
    assert_eq!(out, "True True True True <BOS></s> False False");
    let reserved = json!({"messages": []});
    let err = t
        .render_request(&ChatRequest { messages: &msgs, kwargs: reserved.as_object(), ..Default::default() })
        .unwrap_err();
    assert!(err.to_string().contains("'messages'"), "{err}");
}

#[test]
fn tojson_is_pythons_json_dumps() {
    let msgs = [Message::user("x")];
    let t = |src: &str| render_src(src, &msgs).unwrap();
    assert_eq!(
        t("{{ {'a': 'é<&>\\'', 'b': [1, 2.0, none, true]} | tojson }}"),
        r#"{"a": "é<&>'", "b": [1, 2.0, null, true]}"#
    );
    assert_eq!(t("{{ {'b': 1, 'a': {}} | tojson(indent=2, sort_keys=true) }}"), "{\n  \"a\": {},\n  \"b\": 1\n}");
    assert_eq!(t("{{ [1, [2]] | tojson(separators=(',', ':')) }}"), "[1,[2]]");
    assert_eq!(t("{{ 'é' | tojson(ensure_ascii=true) }}"), r#""\u00e9""#);
    assert_eq!(t("{{ '\\x01\\t' | tojson }}"), r#""\u0001\t""#);
    assert_eq!(t("{{ [1e-05, 1e16, 0.1, 100.0] | tojson }}"), "[1e-05, 1e+16, 0.1, 100.0]");
    let err = render_src("{{ nope | tojson }}", &msgs).unwrap_err().to_string();
    assert!(err.contains("not JSON serializable"), "{err}");
}

#[test]
fn python_methods_and_loop_controls_work() {
    let src = "{% for m in messages %}{% if m.role == 'system' %}{% continue %}{% endif %}\
               {{ m.content.strip().upper() }}{% if m.content.startswith(' h') %}!{% endif %}\
               {% for k, v in {'a': 1}.items() %}{{ k }}{{ v }}{% endfor %}{% break %}{% endfor %}";
    let msgs = [Message::system("s"), Message::user(" hi "), Message::user("never")];
    assert_eq!(render_src(src, &msgs).unwrap(), "HI!a1");
}

#[test]
fn strftime_now_formats_local_time() {
    let year: i32 = render_src("{{ strftime_now('%Y') }}", &[]).unwrap().parse().unwrap();
    assert!(year >= 2024, "{year}");
    let date = render_src("{{ strftime_now('%d %b %Y') }}", &[]).unwrap();
    assert_eq!(date.len(), 11, "{date}");
    assert!(render_src("{{ strftime_now('%Q') }}", &[]).unwrap_err().to_string().contains("strftime_now"));
}

#[test]
fn messages_deserialize_from_openai_json() {
    let msgs: Vec<Message> = serde_json::from_value(json!([
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "f", "content": "ok"}
    ]))
    .unwrap();
    assert_eq!(
        msgs[0].content,
        Some(Content::Parts(vec![ContentPart::Text { text: "a".into() }, ContentPart::Text { text: "b".into() }]))
    );
    let call = ToolCall::function("f", json!("{\"x\": 1}")).with_id("c1");
    assert_eq!(msgs[1].tool_calls.as_deref(), Some(&[call][..]));
    assert_eq!(msgs[2].tool_call_id.as_deref(), Some("c1"));
    // Printed the Python way: the template sees the same dicts transformers would pass.
    let out =
        render_src("{{ messages[0].content }} {{ messages[1].tool_calls[0].function.arguments }}", &msgs).unwrap();
    assert_eq!(out, "[{'type': 'text', 'text': 'a'}, {'type': 'text', 'text': 'b'}] {\"x\": 1}");
}
