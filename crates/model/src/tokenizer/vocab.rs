//! The vocabulary from `tokenizer.ggml.*` metadata: token texts, scores and attributes, special
//! token ids and flags, with llama.cpp's defaults and text-based fix-ups
//! (`llama_vocab::impl::load`).

use std::collections::HashMap;

use gguf::{Array, Metadata, Value};

use super::pretokenize::Profile;
use crate::ModelError;

/// Token attributes (`llama_token_attr`); a token may carry several.
pub mod attr {
    pub const UNKNOWN: u16 = 1 << 0;
    pub const UNUSED: u16 = 1 << 1;
    pub const NORMAL: u16 = 1 << 2;
    pub const CONTROL: u16 = 1 << 3;
    pub const USER_DEFINED: u16 = 1 << 4;
    pub const BYTE: u16 = 1 << 5;
    pub const LSTRIP: u16 = 1 << 7;
    pub const RSTRIP: u16 = 1 << 8;
}

/// The tokenization algorithm named by `tokenizer.ggml.model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `llama`: SentencePiece-style score-driven merges with byte fallback.
    Spm,
    /// `gpt2`: byte-level BPE with merge ranks and a pre-tokenizer.
    Bpe(Profile),
}

/// Special token ids; `None` is llama.cpp's `LLAMA_TOKEN_NULL`.
#[derive(Clone, Debug, Default)]
pub struct SpecialIds {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub eot: Option<u32>,
    pub eom: Option<u32>,
    pub unk: Option<u32>,
    pub sep: Option<u32>,
    pub pad: Option<u32>,
    pub mask: Option<u32>,
    pub fim_pre: Option<u32>,
    pub fim_suf: Option<u32>,
    pub fim_mid: Option<u32>,
    pub fim_pad: Option<u32>,
    pub fim_rep: Option<u32>,
    pub fim_sep: Option<u32>,
}

pub struct Vocab {
    pub kind: Kind,
    pub model: String,
    pub pre: Option<String>,
    texts: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
    pub scores: Vec<f32>,
    pub attrs: Vec<u16>,
    pub ids: SpecialIds,
    pub add_space_prefix: bool,
    pub add_bos: bool,
    pub add_eos: bool,
    /// End-of-generation ids, sorted.
    pub eog: Vec<u32>,
}

fn bad(why: impl Into<String>) -> ModelError {
    ModelError::Tokenizer(why.into())
}

const KEY: &str = "tokenizer.ggml.";

impl Vocab {
    pub fn from_metadata(m: &Metadata) -> Result<Vocab, ModelError> {
        let model = m.str("tokenizer.ggml.model")?.to_string();
        let pre = m.opt_str("tokenizer.ggml.pre")?.map(str::to_string);
        let unknown = || ModelError::UnknownTokenizer { model: model.clone(), pre: pre.clone() };
        // Per-model defaults (llama_vocab::impl::load); the pre-tokenizer only matters for BPE.
        let (kind, mut ids, add_space_prefix, add_bos) = match model.as_str() {
            "llama" => {
                let ids = SpecialIds { bos: Some(1), eos: Some(2), unk: Some(0), ..SpecialIds::default() };
                (Kind::Spm, ids, true, true)
            }
            "gpt2" => {
                let profile = Profile::from_name(pre.as_deref()).ok_or_else(unknown)?;
                let ids = SpecialIds { bos: (!profile.no_bos).then_some(11), eos: Some(11), ..SpecialIds::default() };
                (Kind::Bpe(profile), ids, false, profile.add_bos)
            }
            _ => return Err(unknown()),
        };
        let add_space_prefix = m.opt_bool("tokenizer.ggml.add_space_prefix")?.unwrap_or(add_space_prefix);

        let tokens = m.str_array("tokenizer.ggml.tokens")?;
        let n = tokens.len();
        if n == 0 || n > i32::MAX as usize {
            return Err(bad(format!("vocabulary size {n} is out of range")));
        }
        let scores = read_scores(m, n)?;
        let types = match m.get("tokenizer.ggml.token_type") {
            None => None,
            Some(_) => Some(m.int_array::<i32>("tokenizer.ggml.token_type")?),
        };
        if let Some(t) = &types {
            if t.len() < n {
                return Err(bad(format!("token_type has {} entries for {n} tokens", t.len())));
            }
        }

        let mut texts = Vec::with_capacity(n);
        let mut index = HashMap::with_capacity(n);
        for (i, t) in tokens.iter().enumerate() {
            // llama.cpp names empty tokens so they stay addressable and unique.
            let text: Box<str> = match t.is_empty() {
                true => format!("[EMPTY_{i}]").into(),
                false => t.as_str().into(),
            };
            if let Some(prev) = index.insert(text.clone(), i as u32) {
                return Err(bad(format!("duplicate token {text:?} (ids {prev} and {i})")));
            }
            texts.push(text);
        }
        let attrs = (0..n).map(|i| types.as_ref().map_or(attr::NORMAL, |t| type_to_attr(t[i]))).collect();

        // Defaults outside the vocabulary are disabled; metadata ids outside it are ignored.
        for id in ids_mut(&mut ids) {
            *id = id.filter(|&v| (v as usize) < n);
        }
        for (key, field) in ID_KEYS {
            let v = m.opt_int::<u32>(&format!("{KEY}{key}")).ok().flatten();
            if let Some(v) = v.filter(|&v| (v as usize) < n) {
                *field(&mut ids) = Some(v);
            }
        }

        let mut v = Vocab {
            kind,
            model,
            pre,
            texts,
            index,
            scores,
            attrs,
            ids,
            add_space_prefix,
            add_bos: m.opt_bool("tokenizer.ggml.add_bos_token")?.unwrap_or(add_bos),
            add_eos: m.opt_bool("tokenizer.ggml.add_eos_token")?.unwrap_or(false),
            eog: Vec::new(),
        };
        if v.add_bos && v.ids.bos.is_none() {
            return Err(bad("add_bos_token is true, but bos_token_id is not set"));
        }
        if v.add_eos && v.ids.eos.is_none() {
            return Err(bad("add_eos_token is true, but eos_token_id is not set"));
        }
        v.detect_special_by_text();
        v.collect_eog();
        v.apply_name_attrs(m);
        Ok(v)
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn text(&self, id: u32) -> Option<&str> {
        self.texts.get(id as usize).map(|t| &**t)
    }

    pub fn id(&self, text: &str) -> Option<u32> {
        self.index.get(text).copied()
    }

    pub fn attr(&self, id: u32) -> u16 {
        self.attrs.get(id as usize).copied().unwrap_or(0)
    }

    /// The lowest id among tokens with these texts. llama.cpp takes the first it meets walking
    /// an unordered_map, an unspecified order; the lowest id keeps us deterministic.
    fn find_first(&self, candidates: &[&str]) -> Option<u32> {
        candidates.iter().filter_map(|t| self.id(t)).min()
    }

    fn force_control(&mut self, id: u32) {
        self.attrs[id as usize] |= attr::CONTROL;
    }

    /// EOT / EOM / FIM ids guessed from well-known texts when the metadata does not name them;
    /// the guessed tokens become CONTROL. Then CONTROL tokens named "unused" become UNUSED.
    fn detect_special_by_text(&mut self) {
        let guesses: [(IdField, &[&str]); 8] = [
            (|s| &mut s.eot, EOT_TEXTS),
            (|s| &mut s.eom, &["<|eom_id|>"]),
            (|s| &mut s.fim_pre, FIM_PRE_TEXTS),
            (|s| &mut s.fim_suf, FIM_SUF_TEXTS),
            (|s| &mut s.fim_mid, FIM_MID_TEXTS),
            (|s| &mut s.fim_pad, &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
            (|s| &mut s.fim_rep, &["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
            (|s| &mut s.fim_sep, &["<|file_sep|>"]),
        ];
        for (field, texts) in guesses {
            if field(&mut self.ids).is_none() {
                if let Some(id) = self.find_first(texts) {
                    *field(&mut self.ids) = Some(id);
                    self.force_control(id);
                }
            }
        }
        for (a, t) in self.attrs.iter_mut().zip(&self.texts) {
            if *a & attr::CONTROL != 0 && t.contains("unused") {
                *a |= attr::UNUSED;
            }
        }
    }

    /// The end-of-generation set, with llama.cpp's workarounds for vocabularies whose texts
    /// mislead the list.
    fn collect_eog(&mut self) {
        let mut eog: Vec<u32> = [self.ids.fim_pad, self.ids.fim_rep, self.ids.fim_sep].into_iter().flatten().collect();
        for text in EOG_TEXTS {
            if let Some(id) = self.id(text) {
                eog.push(id);
                self.force_control(id);
            }
        }
        // gpt-oss: these are rendered as text, never treated as control.
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(id) = self.id(text) {
                self.attrs[id as usize] = attr::USER_DEFINED;
            }
        }
        eog.extend([self.ids.eos, self.ids.eot, self.ids.eom].into_iter().flatten());
        eog.sort_unstable();
        eog.dedup();
        let has = |t: &str| self.id(t).filter(|id| eog.contains(id));
        // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
        let call = has("<|call|>").or(has("<|calls|>")).is_some();
        let end_not_eog =
            has("<|end|>").filter(|_| call && (has("<|return|>").is_some() || has("<|flush|>").is_some()));
        // gemma4 / paddleocr: "</s>" is ordinary text there.
        let s_not_eog = has("</s>").filter(|_| has("<|tool_response>").is_some());
        if let Some(end) = end_not_eog {
            eog.retain(|&x| x != end);
            self.attrs[end as usize] = attr::USER_DEFINED;
        }
        if let Some(s) = s_not_eog {
            eog.retain(|&x| x != s);
            self.attrs[s as usize] = attr::NORMAL;
        }
        self.eog = eog;
    }

    /// Per-model LSTRIP/RSTRIP attributes chosen by name (the end of `llama_vocab::impl::load`).
    fn apply_name_attrs(&mut self, m: &Metadata) {
        let get = |k: &str| m.opt_str(k).ok().flatten().unwrap_or("").to_string();
        let name = get("general.name").to_ascii_lowercase();
        let arch = get("general.architecture");
        let pre = self.pre.clone().unwrap_or_default();
        let any = |s: &str, subs: &[&str]| subs.iter().any(|x| s.contains(x));
        let set = |v: &mut Vocab, text: &str, bit: u16, on: bool| {
            if let Some(id) = v.id(text) {
                let a = &mut v.attrs[id as usize];
                *a = if on { *a | bit } else { *a & !bit };
            }
        };
        if any(&pre, &["jina-v2-de", "jina-v2-es", "jina-v2-code"]) || any(&arch, &["nomic-bert-moe", "jina-bert-v3"]) {
            set(self, "<mask>", attr::LSTRIP, true);
        } else if any(&name, &["phi-3", "phi3"]) {
            for a in self.attrs.iter_mut() {
                if *a & SPECIAL_ATTRS != 0 {
                    *a |= attr::RSTRIP;
                }
            }
            set(self, "</s>", attr::RSTRIP, true);
            for t in ["<unk>", "<s>", "<|endoftext|>"] {
                set(self, t, attr::RSTRIP, false);
            }
        } else if name.contains("modern-bert") {
            set(self, "[MASK]", attr::LSTRIP, true);
        }
    }
}

/// Tokens matched in raw text before tokenization (llama.cpp's `cache_special_tokens`).
pub const SPECIAL_ATTRS: u16 = attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN;

/// `tokenizer.ggml.token_type` values (`llama_token_type`) to attributes.
fn type_to_attr(t: i32) -> u16 {
    match t {
        1 => attr::NORMAL,
        2 => attr::UNKNOWN,
        3 => attr::CONTROL,
        4 => attr::USER_DEFINED,
        5 => attr::UNUSED,
        6 => attr::BYTE,
        _ => 0,
    }
}

/// `tokenizer.ggml.scores` as f32 (some converters write i32), 0 when absent.
fn read_scores(m: &Metadata, n: usize) -> Result<Vec<f32>, ModelError> {
    let key = "tokenizer.ggml.scores";
    let scores: Vec<f32> = match m.get(key) {
        None => return Ok(vec![0.0; n]),
        Some(Value::Array(Array::F32(v))) => v.clone(),
        Some(Value::Array(Array::I32(v))) => v.iter().map(|&x| x as f32).collect(),
        Some(v) => return Err(bad(format!("{key} is {}, not f32 or i32 array", v.describe()))),
    };
    if scores.len() < n {
        return Err(bad(format!("{key} has {} entries for {n} tokens", scores.len())));
    }
    Ok(scores)
}

type IdField = fn(&mut SpecialIds) -> &mut Option<u32>;

/// Metadata keys of special ids in llama.cpp's order; the deprecated FIM keys come last and win.
const ID_KEYS: [(&str, IdField); 17] = [
    ("bos_token_id", |s| &mut s.bos),
    ("eos_token_id", |s| &mut s.eos),
    ("eot_token_id", |s| &mut s.eot),
    ("eom_token_id", |s| &mut s.eom),
    ("unknown_token_id", |s| &mut s.unk),
    ("seperator_token_id", |s| &mut s.sep),
    ("padding_token_id", |s| &mut s.pad),
    ("mask_token_id", |s| &mut s.mask),
    ("fim_pre_token_id", |s| &mut s.fim_pre),
    ("fim_suf_token_id", |s| &mut s.fim_suf),
    ("fim_mid_token_id", |s| &mut s.fim_mid),
    ("fim_pad_token_id", |s| &mut s.fim_pad),
    ("fim_rep_token_id", |s| &mut s.fim_rep),
    ("fim_sep_token_id", |s| &mut s.fim_sep),
    ("prefix_token_id", |s| &mut s.fim_pre),
    ("suffix_token_id", |s| &mut s.fim_suf),
    ("middle_token_id", |s| &mut s.fim_mid),
];

fn ids_mut(s: &mut SpecialIds) -> impl Iterator<Item = &mut Option<u32>> {
    [&mut s.bos, &mut s.eos, &mut s.unk].into_iter()
}

const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const FIM_PRE_TEXTS: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_TEXTS: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_TEXTS: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
/// Texts that end generation wherever they appear in a vocabulary.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];
