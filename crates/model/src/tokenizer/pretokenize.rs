//! BPE pre-tokenizers: `tokenizer.ggml.pre` profiles and the splitters that cut text into words
//! before merging (`llm_tokenizer_bpe` regex lists and `unicode_regex_split` in llama.cpp).
//!
//! llama.cpp runs a profile's regexes in sequence, each re-splitting every piece the previous one
//! produced; a regex's matches and the gaps between them both become pieces. The GPT-2 and
//! Llama-3 regexes have hand-written matchers there; the others run through std::regex on text
//! whose non-ASCII characters are collapsed to one byte per category. Each stage below is a
//! hand-written matcher reproducing what llama.cpp computes for that regex, including the
//! std::regex (ECMAScript: ordered alternation, greedy with backtracking) semantics.

use super::unicode::{self, LETTER, NUMBER, PUNCT, WHITESPACE};

/// One regex of a profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
    /// (`unicode_regex_split_custom_gpt2`).
    Gpt2,
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n]*|
    /// \s*[\r\n]+|\s+(?!\S)|\s+` with D = 3 (Llama 3, `unicode_regex_split_custom_llama3`) or
    /// D = 1 (Qwen2, through std::regex, which gives the same words).
    Llama3 { max_digits: usize },
    /// `\p{N}`: every number character alone.
    Digit,
    /// `\p{N}+`
    Digits,
    /// `[\p{P}\$\+<=>\^~\|]+`, plus `` ` `` for Falcon.
    Punct { backtick: bool },
    /// `[0-9][0-9][0-9]`
    ThreeAsciiDigits,
}

/// What a `tokenizer.ggml.pre` value selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Profile {
    pub stages: &'static [Stage],
    /// A whole word that is a token is emitted as is, without merging (Llama 3).
    pub ignore_merges: bool,
    /// The default of `add_bos_token` when the metadata does not say.
    pub add_bos: bool,
    /// The profile has no BOS token by default (ChatGLM).
    pub no_bos: bool,
}

const GPT2: &[Stage] = &[Stage::Gpt2];
const LLAMA3: &[Stage] = &[Stage::Llama3 { max_digits: 3 }];
const QWEN2: &[Stage] = &[Stage::Llama3 { max_digits: 1 }];
const STARCODER: &[Stage] = &[Stage::Digit, Stage::Gpt2];
const FALCON: &[Stage] = &[Stage::Punct { backtick: true }, Stage::Gpt2, Stage::ThreeAsciiDigits];
const DEFAULT: &[Stage] = &[Stage::Punct { backtick: false }, Stage::Gpt2, Stage::Digits, Stage::ThreeAsciiDigits];

impl Profile {
    const fn new(stages: &'static [Stage]) -> Profile {
        Profile { stages, ignore_merges: false, add_bos: false, no_bos: false }
    }

    /// The profile llama.cpp picks for a `tokenizer.ggml.pre` value (absent means "default");
    /// `None` for values it does not know or that we do not implement.
    pub fn from_name(pre: Option<&str>) -> Option<Profile> {
        let p = Profile::new;
        Some(match pre.unwrap_or("default") {
            "default" => p(DEFAULT),
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0" | "lfm2"
            | "jina-v5-nano" => Profile { ignore_merges: true, add_bos: true, ..p(LLAMA3) },
            "dbrx" | "smaug-bpe" => p(LLAMA3),
            "chatglm-bpe" | "glm4" => Profile { no_bos: true, ..p(LLAMA3) },
            "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "stablelm2" | "megrez" | "hunyuan" | "solar-open"
            | "grok-2" => p(QWEN2),
            "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de" | "a.x-4.0"
            | "mellum" | "modern-bert" | "jina-v1-en" | "jina-v2-code" | "roberta-bpe" | "mpt" | "olmo" | "jais"
            | "trillion" | "granite-docling" | "exaone4" => p(GPT2),
            "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => {
                p(STARCODER)
            }
            "falcon" => p(FALCON),
            _ => return None,
        })
    }
}

/// Cuts `text` into words, as byte ranges that cover it in order.
pub fn split(profile: &Profile, text: &str) -> Vec<std::ops::Range<usize>> {
    let chars: Vec<char> = text.chars().collect();
    let mut lens = vec![chars.len()];
    for stage in profile.stages {
        let mut next = Vec::with_capacity(lens.len() * 2);
        let mut start = 0;
        for len in lens {
            split_piece(*stage, &chars[start..start + len], &mut next);
            start += len;
        }
        lens = next;
    }
    // Character counts to byte ranges.
    let mut out = Vec::with_capacity(lens.len());
    let mut chars = text.char_indices().map(|(i, _)| i).chain([text.len()]);
    let mut begin = chars.next().unwrap_or(0);
    for len in lens {
        let end = chars.nth(len - 1).unwrap_or(text.len());
        out.push(begin..end);
        begin = end;
    }
    out
}

/// Splits one piece with one stage, pushing the character counts of its parts: matches found
/// scanning left to right (the regex iterator), and the unmatched gaps between them.
fn split_piece(stage: Stage, s: &[char], out: &mut Vec<usize>) {
    let (mut i, mut gap) = (0, 0);
    while i < s.len() {
        match match_at(stage, s, i) {
            Some(end) => {
                if gap < i {
                    out.push(i - gap);
                }
                out.push(end - i);
                i = end;
                gap = end;
            }
            None => i += 1,
        }
    }
    if gap < s.len() {
        out.push(s.len() - gap);
    }
}

/// Character classes of a piece; past its end everything is "no character".
struct Piece<'a>(&'a [char]);

impl Piece<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.0.get(i).copied()
    }
    fn flags(&self, i: usize) -> Option<u8> {
        self.at(i).map(unicode::flags)
    }
    fn is(&self, i: usize, bit: u8) -> bool {
        self.flags(i).is_some_and(|f| f & bit != 0)
    }
    /// `[^\s\p{L}\p{N}]`: any character that is not whitespace, letter or number.
    fn is_other(&self, i: usize) -> bool {
        self.flags(i).is_some_and(|f| f & (WHITESPACE | LETTER | NUMBER) == 0)
    }
    fn is_crlf(&self, i: usize) -> bool {
        matches!(self.at(i), Some('\r' | '\n'))
    }
    /// End of the run of characters from `i` on that satisfy `p`.
    fn run(&self, mut i: usize, p: impl Fn(&Self, usize) -> bool) -> usize {
        while p(self, i) {
            i += 1;
        }
        i
    }
    /// `'s|'t|'re|'ve|'m|'ll|'d` at `i` (optionally ASCII case-insensitive): its end.
    fn contraction(&self, i: usize, fold: bool) -> Option<usize> {
        if self.at(i) != Some('\'') {
            return None;
        }
        let low = |j| self.at(j).map(|c| if fold { c.to_ascii_lowercase() } else { c });
        match (low(i + 1)?, low(i + 2)) {
            ('s' | 't' | 'm' | 'd', _) => Some(i + 2),
            ('r', Some('e')) | ('v', Some('e')) | ('l', Some('l')) => Some(i + 3),
            _ => None,
        }
    }
    /// Whitespace tail shared by the GPT-2 and Llama-3 regexes: `\s+(?!\S)|\s+` from `i`, where
    /// the lookahead makes a run followed by a non-space give its last character to that word.
    fn spaces(&self, i: usize) -> Option<usize> {
        let end = self.run(i, |p, j| p.is(j, WHITESPACE));
        match end - i {
            0 => None,
            n if n > 1 && end < self.0.len() => Some(end - 1),
            _ => Some(end),
        }
    }
}

/// The end of the match of `stage` starting exactly at `i`, if there is one.
fn match_at(stage: Stage, s: &[char], i: usize) -> Option<usize> {
    let p = Piece(s);
    match stage {
        Stage::Gpt2 => Some(gpt2_word(&p, i)),
        Stage::Llama3 { max_digits } => Some(llama3_word(&p, i, max_digits)),
        Stage::Digit => p.is(i, NUMBER).then_some(i + 1),
        Stage::Digits => Some(p.run(i, |p, j| p.is(j, NUMBER))).filter(|&e| e > i),
        Stage::Punct { backtick } => {
            let punct = |p: &Piece, j: usize| {
                p.is(j, PUNCT)
                    || matches!(p.at(j), Some('$' | '+' | '<' | '=' | '>' | '^' | '~' | '|'))
                    || (backtick && p.at(j) == Some('`'))
            };
            Some(p.run(i, punct)).filter(|&e| e > i)
        }
        Stage::ThreeAsciiDigits => (0..3).all(|k| p.at(i + k).is_some_and(|c| c.is_ascii_digit())).then_some(i + 3),
    }
}

/// One GPT-2 word from `i` (every position starts one; an unmatched character stands alone).
fn gpt2_word(p: &Piece, i: usize) -> usize {
    if let Some(end) = p.contraction(i, false) {
        return end;
    }
    // An optional leading space joins the letter, number or symbol run after it.
    let lead = usize::from(p.at(i) == Some(' ') && i + 1 < p.0.len());
    let j = i + lead;
    if p.is(j, LETTER) {
        return p.run(j, |p, k| p.is(k, LETTER));
    }
    if p.is(j, NUMBER) {
        return p.run(j, |p, k| p.is(k, NUMBER));
    }
    if p.is_other(j) {
        return p.run(j, Piece::is_other);
    }
    p.spaces(i).unwrap_or(i + 1)
}

/// One Llama-3 / Qwen2 word from `i`.
fn llama3_word(p: &Piece, i: usize, max_digits: usize) -> usize {
    if let Some(end) = p.contraction(i, true) {
        return end;
    }
    // `[^\r\n\p{L}\p{N}]?\p{L}+`: one non-letter, non-number, non-newline may lead a letter run.
    if !p.is_crlf(i) && !p.is(i, NUMBER) && (p.is(i, LETTER) || p.is(i + 1, LETTER)) {
        return p.run(i + 1, |p, k| p.is(k, LETTER));
    }
    if p.is(i, NUMBER) {
        return p.run(i, |p, k| p.is(k, NUMBER)).min(i + max_digits);
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`; a lone space at the very end also lands here (as in llama.cpp).
    if p.at(i) == Some(' ') && (p.is_other(i + 1) || i + 1 == p.0.len()) || p.is_other(i) {
        let j = i + usize::from(p.at(i) == Some(' '));
        let end = p.run(j, Piece::is_other);
        return p.run(end, Piece::is_crlf);
    }
    // `\s*[\r\n]+`: a whitespace run up to its last newline.
    let end = p.run(i, |p, k| p.is(k, WHITESPACE));
    if let Some(last) = (i..end).rev().find(|&k| p.is_crlf(k)) {
        return last + 1;
    }
    p.spaces(i).unwrap_or(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(profile: Option<&str>, text: &str) -> Vec<&'static str> {
        let p = Profile::from_name(profile).unwrap();
        let text: &'static str = Box::leak(text.to_string().into_boxed_str());
        split(&p, text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn gpt2_words() {
        assert_eq!(
            words(Some("gpt-2"), "Hello world's  end!!\n\n  x 123"),
            ["Hello", " world", "'s", " ", " end", "!!", "\n\n ", " x", " 123"]
        );
    }

    #[test]
    fn llama3_words() {
        assert_eq!(
            words(Some("llama-bpe"), "I'M 12345 ok?\r\n\n  foo\t"),
            ["I", "'M", " ", "123", "45", " ok", "?\r\n\n", " ", " foo", "\t"]
        );
    }

    #[test]
    fn qwen2_words() {
        assert_eq!(
            words(Some("qwen2"), "x=1234;\n    return  é"),
            ["x", "=", "1", "2", "3", "4", ";\n", "   ", " return", " ", " é"]
        );
    }

    #[test]
    fn default_profile_splits_punctuation_and_digit_triples() {
        assert_eq!(words(None, "a+b 12345!?"), ["a", "+", "b", " ", "123", "45", "!?"]);
    }

    #[test]
    fn unknown_profile_is_none() {
        assert!(Profile::from_name(Some("no-such-pre")).is_none());
    }
}
