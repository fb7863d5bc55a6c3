//! `rocmforge tokenize` on both real models prints llama.cpp's ids (the tokenizer goldens), with
//! and without special-token parsing, from an argument and from a file.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_rocmforge");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model(name: &str) -> String {
    let out = Command::new("python3").arg(root().join("scripts/fetch_models.py")).arg(name).output().unwrap();
    assert!(out.status.success(), "fetch_models.py failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn tokenize(args: &[&str]) -> Vec<u32> {
    let out = Command::new(BIN).arg("tokenize").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ids_match_llama_cpp_for_both_models() {
    for (name, fixture) in [("qwen", "qwen2.5-coder-0.5b-instruct.json"), ("gemma", "gemma-3-270m.json")] {
        let m = model(name);
        let path = root().join("crates/model/tests/fixtures/tokenizer").join(fixture);
        let golden: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let ids = |v: &serde_json::Value| -> Vec<u32> { serde_json::from_value(v.clone()).unwrap() };
        // A handful of the corpus through the binary (the library test covers all of it).
        for case in golden["cases"].as_array().unwrap().iter().step_by(40) {
            let text = case["text"].as_str().unwrap();
            assert_eq!(tokenize(&["-m", &m, "--", text]), ids(&case["special"]), "{name}: {text:?}");
            assert_eq!(tokenize(&["-m", &m, "--no-special", "--", text]), ids(&case["plain"]), "{name}: {text:?}");
        }
        let file = std::env::temp_dir().join(format!("rf-tok-{name}-{}.txt", std::process::id()));
        let first = &golden["cases"][0];
        std::fs::write(&file, first["text"].as_str().unwrap()).unwrap();
        assert_eq!(tokenize(&["-m", &m, "-f", file.to_str().unwrap()]), ids(&first["special"]));
        std::fs::remove_file(file).unwrap();
    }
}

#[test]
fn a_bad_model_file_is_one_line_and_status_1() {
    let out = Command::new(BIN).args(["tokenize", "-m", "/nonexistent.gguf", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
}
