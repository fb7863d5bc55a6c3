//! The tokenizer of a GGUF model, built from its `tokenizer.ggml.*` metadata and token-id
//! identical to llama.cpp (`llama_vocab` in src/llama-vocab.cpp): byte-level BPE (`gpt2`) with
//! the pre-tokenizer chosen by `tokenizer.ggml.pre`, and SentencePiece-style vocabularies
//! (`llama`) with byte fallback.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let file = gguf::GgufFile::open("model.gguf")?;
//! let tok = model::Tokenizer::from_metadata(&file.metadata)?;
//! let ids = tok.encode("Hello world", true, false);
//! assert_eq!(tok.decode(&ids[usize::from(tok.add_bos())..]), "Hello world");
//! # Ok(()) }
//! ```
//!
//! Where we knowingly differ from llama.cpp:
//! - [`Tokenizer::decode`] joins token pieces (what llama.cpp streams via `token_to_piece`); it
//!   does not apply `llama_detokenize`'s clean-up of spaces before punctuation nor strip the
//!   first piece's leading space in `add_space_prefix` vocabularies.
//! - Where llama.cpp's result depends on unordered_map iteration or an unstable sort (which of
//!   several EOT/FIM-looking texts becomes the EOT/FIM id; the order of equal-length special
//!   texts), we take the lowest id.
//! - An SPM byte with neither a `<0xNN>` nor a one-byte token becomes UNK (llama.cpp throws).
//! - Other tokenizer models (bert, t5, rwkv, plamo2, gemma4) and pre-tokenizers with bespoke
//!   regexes (deepseek, tekken, gpt-4o, kimi-k2, bloom, ...) are refused with
//!   [`ModelError::UnknownTokenizer`].

mod bpe;
mod detok;
mod pretokenize;
mod special;
mod spm;
mod unicode;
mod vocab;

pub use detok::Detokenizer;
pub use vocab::{attr, SpecialIds};

use gguf::Metadata;

use crate::ModelError;
use special::{Fragment, Specials};
use vocab::{Kind, Vocab};

pub struct Tokenizer {
    vocab: Vocab,
    merges: Option<bpe::Merges>,
    specials: Specials,
    /// Rendered bytes of every token with special tokens shown (llama.cpp's
    /// `cache_token_to_piece`): token `i` is `pieces[offsets[i]..offsets[i + 1]]`.
    pieces: Vec<u8>,
    offsets: Vec<usize>,
}

impl Tokenizer {
    /// Builds the tokenizer. Unknown `tokenizer.ggml.model` / `tokenizer.ggml.pre` values are
    /// [`ModelError::UnknownTokenizer`]; malformed data is [`ModelError::Tokenizer`] or a
    /// metadata error.
    pub fn from_metadata(m: &Metadata) -> Result<Tokenizer, ModelError> {
        unicode::init();
        let vocab = Vocab::from_metadata(m)?;
        let merges = match vocab.kind {
            Kind::Bpe(_) => Some(bpe::Merges::from_metadata(m, &vocab)?),
            Kind::Spm => None,
        };
        let specials = Specials::new(&vocab);
        let (pieces, offsets) = detok::render_all(&vocab);
        Ok(Tokenizer { vocab, merges, specials, pieces, offsets })
    }

    /// Token ids of `text` (`llama_tokenize`). `add_special` adds BOS / EOS as the model's
    /// `add_bos_token` / `add_eos_token` say; `parse_special` turns texts of control tokens
    /// (e.g. `<|im_start|>`) into those tokens. User-defined tokens are always recognised.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let v = &self.vocab;
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        if add_special && v.add_bos {
            out.extend(v.ids.bos);
        }
        let frags = self.specials.partition(v, text, parse_special);
        // SPM prefixes a space to the text at the start and after each special token.
        let mut after_special = true;
        let mut buf = String::new();
        for f in frags {
            match f {
                Fragment::Token(id) => {
                    out.push(id);
                    after_special = true;
                }
                Fragment::Text(r) => {
                    let raw = &text[r];
                    match (v.kind, &self.merges) {
                        (Kind::Spm, _) => {
                            buf.clear();
                            if v.add_space_prefix && after_special {
                                buf.push('\u{2581}');
                            }
                            buf.extend(raw.chars().map(|c| if c == ' ' { '\u{2581}' } else { c }));
                            spm::encode(v, &buf, &mut out);
                        }
                        (Kind::Bpe(profile), Some(merges)) => {
                            for w in pretokenize::split(&profile, raw) {
                                bpe::encode_word(v, merges, profile.ignore_merges, &raw[w], &mut out);
                            }
                        }
                        (Kind::Bpe(_), None) => {}
                    }
                    after_special = false;
                }
            }
        }
        if add_special && v.add_eos {
            out.extend(v.ids.eos);
        }
        out
    }

    /// Text of `ids`: the token pieces joined, control and unknown tokens left out, invalid
    /// UTF-8 replaced by U+FFFD. Ids outside the vocabulary are skipped.
    pub fn decode(&self, ids: &[u32]) -> String {
        String::from_utf8_lossy(&self.decode_bytes(ids, false)).into_owned()
    }

    /// The raw bytes of `ids` joined; `special` renders control tokens as their text.
    pub fn decode_bytes(&self, ids: &[u32], special: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for &id in ids {
            out.extend_from_slice(self.piece(id, special));
        }
        out
    }

    /// The bytes a token renders to with special tokens shown (`llama_token_to_piece` with
    /// `special = true`); empty for ids outside the vocabulary. A piece may be part of a
    /// UTF-8 character (byte tokens, partial byte-level BPE tokens).
    pub fn token_piece(&self, id: u32) -> &[u8] {
        let i = id as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.pieces[a..b],
            _ => &[],
        }
    }

    /// Like [`Self::token_piece`], but without `special` control and unknown tokens are empty.
    pub fn piece(&self, id: u32, special: bool) -> &[u8] {
        if !special && self.vocab.attr(id) & (attr::CONTROL | attr::UNKNOWN) != 0 {
            return &[];
        }
        self.token_piece(id)
    }

    /// The vocabulary entry of a token (e.g. `Ġworld` or `▁world`).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.text(id)
    }

    /// The id of the vocabulary entry `text`, exactly as stored.
    pub fn token_to_id(&self, text: &str) -> Option<u32> {
        self.vocab.id(text)
    }

    /// The [`attr`] bits of a token (0 for ids outside the vocabulary).
    pub fn token_attr(&self, id: u32) -> u16 {
        self.vocab.attr(id)
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    pub fn bos(&self) -> Option<u32> {
        self.vocab.ids.bos
    }

    pub fn eos(&self) -> Option<u32> {
        self.vocab.ids.eos
    }

    /// All special ids (EOT, padding, FIM, ...), from metadata or guessed from token texts.
    pub fn special_ids(&self) -> &SpecialIds {
        &self.vocab.ids
    }

    /// Whether `encode(.., add_special = true, ..)` starts with BOS.
    pub fn add_bos(&self) -> bool {
        self.vocab.add_bos
    }

    /// Whether `encode(.., add_special = true, ..)` ends with EOS.
    pub fn add_eos(&self) -> bool {
        self.vocab.add_eos
    }

    /// Whether generation stops at `id` (EOS, EOT, `<|im_end|>`, `<end_of_turn>`, ...).
    pub fn is_eog(&self, id: u32) -> bool {
        self.vocab.eog.binary_search(&id).is_ok()
    }

    /// The end-of-generation ids, sorted.
    pub fn eog_ids(&self) -> &[u32] {
        &self.vocab.eog
    }

    /// `tokenizer.ggml.model`: "gpt2" or "llama".
    pub fn model(&self) -> &str {
        &self.vocab.model
    }

    /// `tokenizer.ggml.pre`, if the file has one.
    pub fn pre(&self) -> Option<&str> {
        self.vocab.pre.as_deref()
    }
}
