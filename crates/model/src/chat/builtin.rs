//! Built-in templates (Jinja sources in `templates/`, so the golden script can render the same
//! files with jinja2) and the heuristics that pick one when the model brings no usable template.

/// (name, Jinja source), in the order they are listed to users.
const BUILTINS: &[(&str, &str)] = &[
    ("chatml", include_str!("templates/chatml.jinja")),
    ("llama3", include_str!("templates/llama3.jinja")),
    ("gemma", include_str!("templates/gemma.jinja")),
    ("mistral", include_str!("templates/mistral.jinja")),
];

/// Used when nothing better is known: the most common format among GGUF chat models.
pub const DEFAULT_BUILTIN: &str = "chatml";

/// Names of the built-in templates.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|(name, _)| *name)
}

/// Jinja source of a built-in template.
pub fn builtin_source(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, src)| *src)
}

/// Recognizes the format of a template that cannot be used as is (say, it relies on a jinja2
/// extension minijinja lacks) from the control tokens it writes.
pub fn detect_from_source(source: &str) -> Option<&'static str> {
    // Most specific markers first: Llama 3 and Gemma templates never write ChatML tokens, but
    // some ChatML fine-tunes of Mistral keep "[INST]" in comments or fallbacks.
    const MARKERS: &[(&str, &str)] = &[
        ("<|start_header_id|>", "llama3"),
        ("<start_of_turn>", "gemma"),
        ("<|im_start|>", "chatml"),
        ("[INST]", "mistral"),
    ];
    MARKERS.iter().find(|(m, _)| source.contains(m)).map(|(_, name)| *name)
}

/// The built-in for a GGUF `general.architecture` whose models all share one format.
/// ("llama" is not here: Llama 2, Llama 3 and Mistral models all use it.)
pub fn for_architecture(arch: &str) -> Option<&'static str> {
    match arch {
        "gemma" | "gemma2" | "gemma3" | "gemma3n" => Some("gemma"),
        "qwen2" | "qwen2moe" | "qwen3" | "qwen3moe" => Some("chatml"),
        _ => None,
    }
}
