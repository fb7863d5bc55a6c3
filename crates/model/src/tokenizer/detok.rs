//! Token pieces (`llama_vocab::impl::token_to_piece`) and a streaming detokenizer that never
//! splits a UTF-8 character across the pieces it hands out.

use super::unicode;
use super::vocab::{attr, Kind, Vocab};
use super::Tokenizer;

/// Every token's bytes with special tokens shown, flattened: (bytes, start offsets + end).
pub fn render_all(v: &Vocab) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = Vec::new();
    let mut offsets = Vec::with_capacity(v.len() + 1);
    offsets.push(0);
    for id in 0..v.len() as u32 {
        render(v, id, &mut bytes);
        offsets.push(bytes.len());
    }
    (bytes, offsets)
}

/// One token's piece. Control, unknown and user-defined tokens are their text; normal tokens are
/// un-escaped (SPM: U+2581 -> space; BPE: GPT-2 characters -> bytes); byte tokens `<0xNN>` are
/// the byte; anything else (unused, undefined) renders as nothing.
fn render(v: &Vocab, id: u32, out: &mut Vec<u8>) {
    let a = v.attr(id);
    let text = v.text(id).unwrap_or("");
    if a & (attr::CONTROL | attr::UNKNOWN | attr::USER_DEFINED) != 0 {
        out.extend_from_slice(text.as_bytes());
    } else if a & attr::NORMAL != 0 {
        match v.kind {
            Kind::Spm => out.extend_from_slice(text.replace('\u{2581}', " ").as_bytes()),
            Kind::Bpe(_) => {
                for c in text.chars() {
                    match unicode::char_to_byte(c) {
                        Some(b) => out.push(b),
                        // llama_decode_text's marker for a character outside the byte map.
                        None => {
                            let mut hex = String::new();
                            for b in c.to_string().bytes() {
                                hex.push_str(&format!("{b:02x}"));
                            }
                            out.extend_from_slice(format!("[UNK_BYTE_0x{hex}{text}]").as_bytes());
                        }
                    }
                }
            }
        }
    } else if a & attr::BYTE != 0 {
        out.push(byte_of(text));
    }
}

/// The byte of a `<0xNN>` token as llama.cpp reads it: `strtol` over the two characters after
/// "<0x" (leading hex digits only, 0 when none).
fn byte_of(text: &str) -> u8 {
    let digits = text.as_bytes().get(3..).unwrap_or(&[]);
    let mut v = 0u32;
    for &d in digits.iter().take(2) {
        match (d as char).to_digit(16) {
            Some(x) => v = v * 16 + x,
            None => break,
        }
    }
    v as u8
}

/// Streaming detokenization: feed ids one at a time, get text that always ends on a character
/// boundary. The concatenation of every [`Detokenizer::push`] and the final
/// [`Detokenizer::finish`] equals [`Tokenizer::decode`] of all the ids (or the special-token
/// rendering when made with `special`).
pub struct Detokenizer<'t> {
    tok: &'t Tokenizer,
    special: bool,
    /// Bytes of an incomplete UTF-8 sequence waiting for the rest of the character.
    pending: Vec<u8>,
}

impl<'t> Detokenizer<'t> {
    /// Control tokens render as nothing, as in [`Tokenizer::decode`].
    pub fn new(tok: &'t Tokenizer) -> Self {
        Self::with_special(tok, false)
    }

    /// With `special`, control tokens render as their text (`<|im_end|>`).
    pub fn with_special(tok: &'t Tokenizer, special: bool) -> Self {
        Detokenizer { tok, special, pending: Vec::new() }
    }

    /// The text completed by `id` (possibly empty).
    pub fn push(&mut self, id: u32) -> String {
        self.pending.extend_from_slice(self.tok.piece(id, self.special));
        let mut out = String::new();
        let mut rest = &self.pending[..];
        // Same chunking as String::from_utf8_lossy, except that a sequence cut off by the end of
        // the buffer waits for more bytes instead of becoming U+FFFD.
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &bad[n..];
                        }
                        None => {
                            rest = bad;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }

    /// Ends the stream: an incomplete trailing character becomes U+FFFD.
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}
