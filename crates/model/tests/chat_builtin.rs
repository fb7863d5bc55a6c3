//! Built-in templates against the prompt strings each model family documents. The expected
//! strings are written out by hand from the published formats (not captured from our output):
//! - ChatML: OpenAI's ChatML description, as used by Qwen;
//! - Llama 3: Meta's model card ("Prompt format" of Llama 3 / 3.1 instruct);
//! - Gemma: Google's "Gemma formatting and system instructions" (its knock-knock dialogue and
//!   the pirate system-instruction example);
//! - Mistral: Mistral's tokenization guide, tokenizer V3 example.

use model::chat::{builtin_names, ChatTemplate, Message};

fn render(name: &str, msgs: &[Message], gen: bool, bos: &str, eos: &str) -> String {
    ChatTemplate::builtin(name).unwrap().render(msgs, None, gen, bos, eos).unwrap()
}

#[test]
fn chatml_matches_the_documented_layout() {
    let msgs = [
        Message::system("Provide some context and/or instructions to the model."),
        Message::user("The user's message goes here"),
    ];
    assert_eq!(
        render("chatml", &msgs, true, "", "<|im_end|>"),
        "<|im_start|>system\nProvide some context and/or instructions to the model.<|im_end|>\n\
         <|im_start|>user\nThe user's message goes here<|im_end|>\n\
         <|im_start|>assistant\n"
    );
}

#[test]
fn llama3_matches_metas_model_card() {
    let msgs = [
        Message::system("You are a helpful AI assistant for travel tips and recommendations"),
        Message::user("What is France's capital?"),
        Message::assistant("Bonjour! The capital of France is Paris!"),
        Message::user("What can I do there?"),
    ];
    assert_eq!(
        render("llama3", &msgs, true, "<|begin_of_text|>", "<|eot_id|>"),
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n\
         You are a helpful AI assistant for travel tips and recommendations<|eot_id|>\
         <|start_header_id|>user<|end_header_id|>\n\nWhat is France's capital?<|eot_id|>\
         <|start_header_id|>assistant<|end_header_id|>\n\nBonjour! The capital of France is Paris!<|eot_id|>\
         <|start_header_id|>user<|end_header_id|>\n\nWhat can I do there?<|eot_id|>\
         <|start_header_id|>assistant<|end_header_id|>\n\n"
    );
    // Tool results take Meta's "ipython" role.
    let out = render("llama3", &[Message::tool("42", None, None)], false, "", "");
    assert_eq!(out, "<|start_header_id|>ipython<|end_header_id|>\n\n42<|eot_id|>");
}

#[test]
fn gemma_matches_googles_formatting_guide() {
    let msgs = [
        Message::user("knock knock"),
        Message::assistant("who is there"),
        Message::user("Gemma"),
        Message::assistant("Gemma who?"),
    ];
    assert_eq!(
        render("gemma", &msgs, false, "<bos>", "<eos>"),
        "<bos><start_of_turn>user\nknock knock<end_of_turn>\n\
         <start_of_turn>model\nwho is there<end_of_turn>\n\
         <start_of_turn>user\nGemma<end_of_turn>\n\
         <start_of_turn>model\nGemma who?<end_of_turn>\n"
    );
    // No system role: the instruction opens the first user turn, then a blank line.
    let msgs = [
        Message::system("Only reply like a pirate."),
        Message::user("What is the answer to life the universe and everything?"),
    ];
    assert_eq!(
        render("gemma", &msgs, true, "<bos>", "<eos>"),
        "<bos><start_of_turn>user\nOnly reply like a pirate.\n\n\
         What is the answer to life the universe and everything?<end_of_turn>\n\
         <start_of_turn>model\n"
    );
    let err =
        ChatTemplate::builtin("gemma").unwrap().render(&[Message::assistant("x")], None, true, "", "").unwrap_err();
    assert!(err.to_string().contains("alternating"), "{err}");
}

#[test]
fn mistral_matches_the_v3_tokenizer_example() {
    let msgs = [
        Message::user("Hello, how are you?"),
        Message::assistant("Fine, and you?"),
        Message::user("I'm doing great!"),
        Message::assistant("Glad to hear!"),
    ];
    assert_eq!(
        render("mistral", &msgs, false, "<s>", "</s>"),
        "<s>[INST] Hello, how are you?[/INST] Fine, and you?</s>[INST] I'm doing great![/INST] Glad to hear!</s>"
    );
    // The system prompt goes into the last user message, as mistral-common places it.
    let msgs = [Message::system("Be brief."), Message::user("A"), Message::assistant("B"), Message::user("C")];
    assert_eq!(render("mistral", &msgs, true, "<s>", "</s>"), "<s>[INST] A[/INST] B</s>[INST] Be brief.\n\nC[/INST]");
}

#[test]
fn every_builtin_refuses_tools_rather_than_dropping_them() {
    let tools = serde_json::json!([{"type": "function", "function": {"name": "f"}}]);
    for name in builtin_names() {
        let t = ChatTemplate::builtin(name).unwrap();
        let err = t.render(&[Message::user("x")], Some(&tools), true, "", "").unwrap_err();
        assert!(err.to_string().contains("does not support tool"), "{name}: {err}");
    }
}
