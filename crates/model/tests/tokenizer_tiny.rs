//! Hermetic tokenizer tests on tiny vocabularies written with `GgufWriter` (no model needed):
//! SPM and BPE encoding, special tokens, errors, and a property test of the streaming
//! detokenizer.

use gguf::{Array, GgufFile, GgufWriter, Metadata, Value};
use model::{Detokenizer, ModelError, Tokenizer};
use proptest::prelude::*;

fn metadata(kvs: Vec<(&str, Value)>) -> Metadata {
    let mut w = GgufWriter::new();
    w.add_kv("general.architecture", Value::String("test".into())).unwrap();
    for (k, v) in kvs {
        w.add_kv(k, v).unwrap();
    }
    GgufFile::from_bytes(w.to_bytes().unwrap()).unwrap().metadata
}

fn strings(v: &[&str]) -> Value {
    Value::Array(Array::String(v.iter().map(|s| s.to_string()).collect()))
}

/// SPM: <unk> <s> </s>, 256 byte tokens, then scored pieces and two special texts.
fn spm_kvs() -> Vec<(&'static str, Value)> {
    let pieces: &[(&str, f32)] = &[
        ("▁", -20.0),
        ("h", -20.0),
        ("e", -20.0),
        ("l", -20.0),
        ("o", -20.0),
        ("w", -20.0),
        ("r", -20.0),
        ("d", -20.0),
        ("▁hello", -1.0),
        ("▁world", -1.5),
        ("llo", -3.0),
        ("▁he", -4.0),
        ("hel", -5.0),
        ("▁wor", -5.5),
        ("ld", -6.0),
        ("▁h", -7.0),
        ("he", -8.0),
        ("ll", -9.0),
        ("lo", -10.0),
        ("▁w", -11.0),
        ("or", -12.0),
        ("中", -2.0),
    ];
    let mut tokens = vec!["<unk>".to_string(), "<s>".into(), "</s>".into()];
    let mut types = vec![2, 3, 3];
    tokens.extend((0..=255).map(|b| format!("<0x{b:02X}>")));
    types.extend([6; 256]);
    tokens.extend(pieces.iter().map(|p| p.0.to_string()));
    types.extend(vec![1; pieces.len()]);
    tokens.extend(["<|user|>".to_string(), "<|ctl|>".into()]);
    types.extend([4, 3]);
    let mut scores = vec![0.0f32; 259];
    scores.extend(pieces.iter().map(|p| p.1));
    scores.extend([0.0, 0.0]);
    vec![
        ("tokenizer.ggml.model", Value::String("llama".into())),
        ("tokenizer.ggml.tokens", Value::Array(Array::String(tokens))),
        ("tokenizer.ggml.scores", Value::Array(Array::F32(scores))),
        ("tokenizer.ggml.token_type", Value::Array(Array::I32(types))),
    ]
}

fn spm() -> Tokenizer {
    Tokenizer::from_metadata(&metadata(spm_kvs())).unwrap()
}

/// Byte-level BPE: the 256 GPT-2 byte characters (ids 0..256 in byte order), merge results,
/// and three control tokens.
fn bpe_kvs(pre: &str) -> Vec<(&'static str, Value)> {
    let mut tokens: Vec<String> = (0..=255u8).map(|b| byte_char(b).to_string()).collect();
    let merged = ["he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "ld", "Ġworld", "ĠĠ"];
    tokens.extend(merged.iter().map(|s| s.to_string()));
    tokens.extend(["<|endoftext|>", "<|im_start|>", "<|im_end|>"].map(String::from));
    let mut types = vec![1; 266];
    types.extend([3, 3, 3]);
    let merges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ġ Ġ"];
    vec![
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        ("tokenizer.ggml.pre", Value::String(pre.into())),
        ("tokenizer.ggml.tokens", Value::Array(Array::String(tokens))),
        ("tokenizer.ggml.token_type", Value::Array(Array::I32(types))),
        ("tokenizer.ggml.merges", strings(&merges)),
        ("tokenizer.ggml.bos_token_id", Value::U32(266)),
        ("tokenizer.ggml.eos_token_id", Value::U32(266)),
    ]
}

fn bpe(pre: &str) -> Tokenizer {
    Tokenizer::from_metadata(&metadata(bpe_kvs(pre))).unwrap()
}

/// GPT-2's byte -> character map.
fn byte_char(b: u8) -> char {
    let printable = |x: u8| matches!(x, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return b as char;
    }
    let k = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(0x100 + k).unwrap()
}

fn id(t: &Tokenizer, text: &str) -> u32 {
    t.token_to_id(text).unwrap()
}

#[test]
fn spm_merges_by_score_with_space_prefix_and_bos() {
    let t = spm();
    assert_eq!((t.bos(), t.eos(), t.add_bos()), (Some(1), Some(2), true));
    let hello = id(&t, "▁hello");
    let world = id(&t, "▁world");
    assert_eq!(t.encode("hello world", true, false), [1, hello, world]);
    assert_eq!(t.encode("hello world", false, false), [hello, world]);
    assert_eq!(t.decode(&[1, hello, world]), " hello world");
}

#[test]
fn spm_falls_back_to_bytes() {
    let t = spm();
    // é is no token: its two UTF-8 bytes become <0xC3> <0xA9>.
    let want = [id(&t, "▁h"), 3 + 0xC3, 3 + 0xA9, id(&t, "llo")];
    assert_eq!(t.encode("héllo", false, false), want);
    assert_eq!(t.decode(&want), " héllo");
    assert_eq!(t.encode("中", false, false), [id(&t, "▁"), id(&t, "中")]);
}

#[test]
fn spm_add_space_prefix_can_be_disabled() {
    let mut kvs = spm_kvs();
    kvs.push(("tokenizer.ggml.add_space_prefix", Value::Bool(false)));
    let t = Tokenizer::from_metadata(&metadata(kvs)).unwrap();
    assert_eq!(t.encode("hello", false, false), [id(&t, "hel"), id(&t, "lo")]);
}

#[test]
fn special_tokens_are_parsed_only_when_asked_but_user_defined_always() {
    let t = spm();
    let (user, ctl) = (id(&t, "<|user|>"), id(&t, "<|ctl|>"));
    let hello = id(&t, "▁hello");
    assert_eq!(t.encode("<|ctl|>hello", false, true), [ctl, hello]);
    assert_eq!(t.encode("<|user|>hello", false, false), [user, hello]);
    let plain = t.encode("</s>", false, false);
    assert!(!plain.contains(&2) && plain.len() > 1, "{plain:?}");
    assert_eq!(t.encode("</s>", false, true), [2]);
    // Control tokens render only on request; user-defined ones always.
    assert_eq!(t.decode(&[ctl, user]), "<|user|>");
    assert_eq!(t.decode_bytes(&[ctl, user], true), b"<|ctl|><|user|>");
    assert_eq!(t.token_piece(2), b"</s>");
    assert!(t.is_eog(2) && !t.is_eog(1));
}

#[test]
fn bpe_merges_by_rank_per_word() {
    for pre in ["gpt-2", "llama-bpe", "qwen2", "default", "smollm"] {
        let t = bpe(pre);
        let (hello, world) = (id(&t, "hello"), id(&t, "Ġworld"));
        assert_eq!(t.encode("hello world", false, false), [hello, world], "{pre}");
        assert_eq!(t.decode(&[hello, world]), "hello world");
        let s = "héllo  wörld\n\t🙂 123";
        assert_eq!(t.decode(&t.encode(s, false, false)), s, "{pre}");
    }
    // llama3's default add_bos_token is true, gpt-2's false.
    assert_eq!(bpe("llama-bpe").encode("hello", true, false)[0], 266);
    assert_eq!(bpe("gpt-2").encode("hello", true, false), [id(&bpe("gpt-2"), "hello")]);
}

#[test]
fn bpe_special_tokens() {
    let t = bpe("qwen2");
    let (start, end) = (id(&t, "<|im_start|>"), id(&t, "<|im_end|>"));
    let hello = id(&t, "hello");
    assert_eq!(t.encode("<|im_start|>hello<|im_end|>", false, true), [start, hello, end]);
    let plain = t.encode("<|im_start|>", false, false);
    assert_eq!(t.decode(&plain), "<|im_start|>");
    assert!(!plain.contains(&start));
    assert!(t.is_eog(end) && t.is_eog(266));
}

#[test]
fn out_of_range_ids_do_not_panic() {
    let t = bpe("gpt-2");
    assert_eq!(t.decode(&[u32::MAX, 1_000_000, id(&t, "hello")]), "hello");
    assert_eq!(t.token_piece(u32::MAX), b"");
    assert_eq!(t.token_text(u32::MAX), None);
    assert!(!t.is_eog(u32::MAX));
}

#[test]
fn unknown_model_or_pre_is_an_error() {
    let err = Tokenizer::from_metadata(&metadata(bpe_kvs("no-such-pre"))).err().unwrap();
    assert!(matches!(&err, ModelError::UnknownTokenizer { pre: Some(p), .. } if p == "no-such-pre"), "{err}");
    let mut kvs = spm_kvs();
    kvs[0].1 = Value::String("bert".into());
    let err = Tokenizer::from_metadata(&metadata(kvs)).err().unwrap();
    assert!(matches!(err, ModelError::UnknownTokenizer { .. }), "{err}");
}

#[test]
fn malformed_vocabularies_are_errors() {
    // No token list.
    let kvs = vec![("tokenizer.ggml.model", Value::String("llama".into()))];
    assert!(Tokenizer::from_metadata(&metadata(kvs)).is_err());
    // A duplicate token.
    let mut kvs = spm_kvs();
    kvs[1].1 = strings(&["<unk>", "a", "a"]);
    let err = Tokenizer::from_metadata(&metadata(kvs)).err().unwrap();
    assert!(err.to_string().contains("duplicate"), "{err}");
    // Too few scores.
    let mut kvs = spm_kvs();
    kvs[2].1 = Value::Array(Array::F32(vec![0.0]));
    assert!(Tokenizer::from_metadata(&metadata(kvs)).is_err());
    // BOS requested but there is none (ChatGLM has no default BOS).
    let mut kvs = bpe_kvs("chatglm-bpe");
    kvs.truncate(5);
    kvs.push(("tokenizer.ggml.add_bos_token", Value::Bool(true)));
    let err = Tokenizer::from_metadata(&metadata(kvs)).err().unwrap();
    assert!(err.to_string().contains("bos"), "{err}");
    // BPE without merges.
    let mut kvs = bpe_kvs("gpt-2");
    kvs.remove(4);
    assert!(Tokenizer::from_metadata(&metadata(kvs)).is_err());
}

#[test]
fn metadata_ids_outside_the_vocabulary_are_ignored() {
    let mut kvs = spm_kvs();
    kvs.push(("tokenizer.ggml.bos_token_id", Value::U32(1_000_000)));
    kvs.push(("tokenizer.ggml.eos_token_id", Value::U32(0)));
    let t = Tokenizer::from_metadata(&metadata(kvs)).unwrap();
    assert_eq!((t.bos(), t.eos()), (Some(1), Some(0)));
}

/// Streams `ids` through a detokenizer: the pieces, then the flushed tail.
fn stream(t: &Tokenizer, ids: &[u32], special: bool) -> Vec<String> {
    let mut d = Detokenizer::with_special(t, special);
    let mut out: Vec<String> = ids.iter().map(|&i| d.push(i)).collect();
    out.push(d.finish());
    out
}

#[test]
fn detokenizer_holds_partial_characters() {
    let t = bpe("gpt-2");
    // 中 is E4 B8 AD: three byte tokens.
    let ids = t.encode("中", false, false);
    assert_eq!(ids.len(), 3);
    assert_eq!(stream(&t, &ids, false), ["", "", "中", ""]);
    // A dangling lead byte is flushed as U+FFFD, as decode renders it.
    assert_eq!(stream(&t, &ids[..2], false), ["", "", "\u{FFFD}"]);
    assert_eq!(t.decode(&ids[..2]), "\u{FFFD}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn streamed_pieces_join_to_decode(
        raw in prop::collection::vec(0u32..300, 0..40),
        special in any::<bool>(),
    ) {
        for t in [bpe("qwen2"), spm()] {
            // Bias towards byte tokens (partial UTF-8) and out-of-range ids.
            let ids: Vec<u32> = raw.iter().map(|&r| match r {
                0..=199 => r + if t.model() == "llama" { 3 + 0x80 - 100 } else { 0x80 - 100 },
                _ => r * 997 % (t.vocab_size() as u32 + 10),
            }).collect();
            let pieces = stream(&t, &ids, special);
            let whole = String::from_utf8_lossy(&t.decode_bytes(&ids, special)).into_owned();
            prop_assert_eq!(pieces.concat(), whole);
            if !special {
                prop_assert_eq!(pieces.concat(), t.decode(&ids));
            }
        }
    }
}
