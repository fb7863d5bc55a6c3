//! Token ids identical to llama.cpp on real models. The fixtures come from
//! scripts/gen_tokenizer_goldens.py (llama-cpp-python); the models from scripts/fetch_models.py,
//! which must succeed: a missing model fails the test rather than skipping it.

use std::path::{Path, PathBuf};
use std::process::Command;

use model::Tokenizer;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fetch(name: &str) -> PathBuf {
    let out = Command::new("python3")
        .arg(root().join("scripts/fetch_models.py"))
        .arg(name)
        .output()
        .expect("running python3 scripts/fetch_models.py");
    assert!(out.status.success(), "fetch_models.py {name} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(stdout.lines().last().expect("fetch_models.py printed no path").trim())
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// The FNV-1a hash of every piece as (u32 LE length, bytes), as the generator computes it.
fn pieces_hash(tok: &Tokenizer, special: bool) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for id in 0..tok.vocab_size() as u32 {
        let p = tok.piece(id, special);
        for &b in (p.len() as u32).to_le_bytes().iter().chain(p) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn check(fetch_name: &str, fixture: &str) {
    let path = root().join("crates/model/tests/fixtures/tokenizer").join(fixture);
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let file = gguf::GgufFile::open(fetch(fetch_name)).unwrap();
    let tok = Tokenizer::from_metadata(&file.metadata).unwrap();

    assert_eq!(tok.vocab_size() as u64, golden["vocab_size"].as_u64().unwrap());
    assert_eq!(tok.bos().map(u64::from), golden["bos"].as_u64());
    assert_eq!(tok.eos().map(u64::from), golden["eos"].as_u64());
    assert_eq!(tok.add_bos(), golden["add_bos"].as_bool().unwrap());
    assert_eq!(tok.add_eos(), golden["add_eos"].as_bool().unwrap());
    assert_eq!(tok.eog_ids(), ids(&golden["eog"]));
    assert_eq!(pieces_hash(&tok, false), golden["pieces_fnv1a64"].as_str().unwrap());
    assert_eq!(pieces_hash(&tok, true), golden["pieces_special_fnv1a64"].as_str().unwrap());

    let cases = golden["cases"].as_array().unwrap();
    let mut failures = Vec::new();
    let (mut matched, mut total) = (0, 0);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        for (mode, parse_special) in [("special", true), ("plain", false)] {
            total += 1;
            let want = ids(&case[mode]);
            let got = tok.encode(text, true, parse_special);
            match got == want {
                true => matched += 1,
                false => failures.push(format!("{mode} {text:?}\n  llama.cpp {want:?}\n  ours      {got:?}")),
            }
        }
        let plain = tok.encode(text, false, false);
        let detok = tok.decode_bytes(&plain, false);
        let want = match case["roundtrip"].as_bool().unwrap() {
            true => text.as_bytes().to_vec(),
            false => hex(case["detok_hex"].as_str().unwrap()),
        };
        if detok != want {
            failures.push(format!("decode {text:?}: {detok:?} != {want:?}"));
        }
        if case["roundtrip"].as_bool().unwrap() {
            assert_eq!(tok.decode(&plain), text);
        }
    }
    eprintln!("{fetch_name}: {matched}/{total} encodings match llama.cpp");
    assert!(
        failures.is_empty(),
        "{fetch_name}: {matched}/{total} encodings match llama.cpp; failures:\n{}",
        failures.join("\n")
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn qwen2_bpe_matches_llama_cpp() {
    check("qwen", "qwen2.5-coder-0.5b-instruct.json");
}

#[test]
fn gemma3_spm_matches_llama_cpp() {
    check("gemma", "gemma-3-270m.json");
}
