//! Structured output: `response_format` `json_object` / `json_schema` enforced token by token
//! with llguidance. The model's vocabulary becomes an llguidance token trie once (on the first
//! request that needs it); each request compiles its schema into a matcher that masks the
//! logits before every draw (the engine's [`TokenConstraint`] hook).

use std::sync::{Arc, OnceLock};

use engine::sampler::TokenConstraint;
use llguidance::api::TopLevelGrammar;
use llguidance::{Matcher, ParserFactory};
use model::tokenizer::attr;
use model::Tokenizer;
use serde_json::{json, Value};
use toktrie::{TokEnv, TokRxInfo, TokTrie, TokenizerEnv};

use crate::error::ApiError;
use crate::params::Format;

/// Our tokenizer as llguidance sees it.
struct ModelTokEnv {
    trie: TokTrie,
    tok: Arc<Tokenizer>,
}

impl TokenizerEnv for ModelTokEnv {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<u32> {
        match std::str::from_utf8(s) {
            Ok(text) => self.tok.encode(text, false, false),
            // Only whole characters go through the real tokenizer.
            Err(_) => self.trie.greedy_tokenize(s),
        }
    }
}

/// Builds the trie over `n_vocab` ids (the logits row; ids past the tokenizer's vocabulary
/// have no bytes and are never allowed). Control tokens carry llguidance's special-token
/// marker so that no JSON text can produce them.
fn tok_env(tok: Arc<Tokenizer>, n_vocab: usize) -> Result<TokEnv, String> {
    let words: Vec<Vec<u8>> = (0..n_vocab as u32)
        .map(|id| {
            let piece = tok.token_piece(id);
            if tok.token_attr(id) & (attr::CONTROL | attr::UNKNOWN) != 0 && !piece.is_empty() {
                let mut w = vec![TokTrie::SPECIAL_TOKEN_MARKER];
                w.extend_from_slice(piece);
                w
            } else {
                piece.to_vec()
            }
        })
        .collect();
    let eog = tok.eog_ids().to_vec();
    let eos = *eog.first().ok_or("the model has no end-of-generation token, so generated JSON could never end")?;
    let info = TokRxInfo::new(n_vocab as u32, eos);
    // TokTrie checks its input with asserts; a panic here must not take a worker thread down.
    let trie = std::panic::catch_unwind(|| TokTrie::from(&info, &words).with_eos_tokens(&eog))
        .map_err(|_| "the vocabulary cannot be turned into a token trie".to_string())?;
    Ok(Arc::new(ModelTokEnv { trie, tok }))
}

/// Compiles response formats into token constraints; the vocabulary's trie is built once.
pub struct Grammars {
    tok: Arc<Tokenizer>,
    n_vocab: usize,
    factory: OnceLock<Result<ParserFactory, String>>,
}

impl Grammars {
    pub fn new(tok: Arc<Tokenizer>, n_vocab: usize) -> Grammars {
        Grammars { tok, n_vocab, factory: OnceLock::new() }
    }

    fn factory(&self) -> Result<&ParserFactory, ApiError> {
        let f = self.factory.get_or_init(|| {
            let env = tok_env(self.tok.clone(), self.n_vocab)?;
            let mut f = ParserFactory::new_simple(&env).map_err(|e| e.to_string())?;
            f.quiet();
            Ok(f)
        });
        f.as_ref().map_err(|e| ApiError::internal(format!("structured output is unavailable: {e}")))
    }

    /// A constraint for `format` (`None` for plain text). Slow for big schemas: call it from a
    /// blocking task. An invalid or unsupported schema is a 400.
    pub fn constraint(&self, format: &Format) -> Result<Option<Box<dyn TokenConstraint>>, ApiError> {
        let (schema, param) = match format {
            Format::Text => return Ok(None),
            Format::JsonObject => (json!({"type": "object"}), "response_format"),
            Format::JsonSchema(Value::Bool(true)) => (json!({}), "response_format.json_schema.schema"),
            Format::JsonSchema(s) => (s.clone(), "response_format.json_schema.schema"),
        };
        let factory = self.factory()?;
        let parser = factory
            .create_parser(TopLevelGrammar::from_json_schema(compact(schema)))
            .map_err(|e| ApiError::invalid(param, format!("the JSON schema cannot be enforced: {e}")))?;
        let matcher = Matcher::new(Ok(parser));
        if let Some(e) = matcher.get_error() {
            return Err(ApiError::invalid(param, format!("the JSON schema cannot be enforced: {e}")));
        }
        let eos = self.tok.eog_ids().to_vec();
        Ok(Some(Box::new(JsonConstraint { matcher, eos })))
    }
}

/// JSON on one line with the usual separators, unless the schema says otherwise in
/// llguidance's `x-guidance` options: free whitespace lets a small model pad forever.
fn compact(mut schema: Value) -> Value {
    if let Some(obj) = schema.as_object_mut() {
        obj.entry("x-guidance")
            .or_insert_with(|| json!({"whitespace_flexible": false, "item_separator": ", ", "key_separator": ": "}));
    }
    schema
}

struct JsonConstraint {
    matcher: Matcher,
    eos: Vec<u32>,
}

impl TokenConstraint for JsonConstraint {
    fn mask(&mut self, logits: &mut [f32]) -> Result<(), String> {
        // Once the JSON is complete only end-of-generation tokens are allowed.
        let allowed = self.matcher.compute_mask_or_eos().map_err(|e| e.to_string())?;
        for (id, l) in logits.iter_mut().enumerate() {
            if !allowed.is_allowed(id as u32) {
                *l = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }

    fn commit(&mut self, token: u32) -> Result<(), String> {
        // End of generation ends the request; the matcher need not hear of it.
        if self.eos.contains(&token) {
            return Ok(());
        }
        self.matcher.consume_token(token).map_err(|e| e.to_string())
    }
}
