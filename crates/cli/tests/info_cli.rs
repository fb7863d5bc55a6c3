//! `rocmforge info` end to end: the real binary on a small valid model, on hundreds of
//! corrupted copies of it (each must end in one error line and exit status 1, never a panic or
//! a hang), and on the two real test models.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use gguf::{Array, GgmlType, GgufWriter, TensorData, Value};
use rand::{Rng, SeedableRng};

const BIN: &str = env!("CARGO_BIN_EXE_rocmforge");
const PER_RUN_LIMIT: Duration = Duration::from_secs(10);

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rocmforge-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A one-layer llama model with a 4-token vocabulary and a chat template.
fn small_model() -> Vec<u8> {
    let mut w = GgufWriter::new();
    let kv = |w: &mut GgufWriter, k: &str, v: Value| {
        w.add_kv(k, v).unwrap();
    };
    kv(&mut w, "general.architecture", Value::String("llama".into()));
    kv(&mut w, "general.name", Value::String("tiny".into()));
    kv(&mut w, "llama.context_length", Value::U32(256));
    kv(&mut w, "llama.embedding_length", Value::U32(64));
    kv(&mut w, "llama.block_count", Value::U32(1));
    kv(&mut w, "llama.feed_forward_length", Value::U32(128));
    kv(&mut w, "llama.attention.head_count", Value::U32(4));
    kv(&mut w, "llama.attention.head_count_kv", Value::U32(2));
    kv(&mut w, "llama.rope.freq_base", Value::F32(10000.0));
    kv(&mut w, "llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5));
    kv(&mut w, "tokenizer.ggml.model", Value::String("llama".into()));
    let toks = ["<unk>", "<s>", "</s>", "a"].map(String::from).to_vec();
    kv(&mut w, "tokenizer.ggml.tokens", Value::Array(Array::String(toks)));
    kv(&mut w, "tokenizer.chat_template", Value::String("{{ messages }}".into()));
    let t = |w: &mut GgufWriter, name: &str, ty: GgmlType, dims: &[u64]| {
        let n: u64 = dims.iter().product();
        let bytes = ty.bytes_for(n).unwrap() as usize;
        w.add_tensor(name, ty, dims, TensorData::Bytes(vec![0u8; bytes].into())).unwrap();
    };
    t(&mut w, "token_embd.weight", GgmlType::Q8_0, &[64, 4]);
    t(&mut w, "blk.0.attn_norm.weight", GgmlType::F32, &[64]);
    t(&mut w, "blk.0.attn_q.weight", GgmlType::Q8_0, &[64, 64]);
    t(&mut w, "blk.0.attn_k.weight", GgmlType::Q8_0, &[64, 32]);
    t(&mut w, "output.weight", GgmlType::Q6_K, &[256, 4]);
    w.to_bytes().unwrap()
}

/// Runs the binary with a time limit; kills it and fails the test if it hangs.
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > PER_RUN_LIMIT {
            child.kill().unwrap();
            panic!("rocmforge {args:?} did not finish within {PER_RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.wait_with_output().unwrap()
}

fn info(path: &Path, json: bool) -> Output {
    let p = path.to_str().unwrap();
    run(&if json { vec!["info", "--json", "-m", p] } else { vec!["info", "-m", p] })
}

#[test]
fn info_on_a_valid_model() {
    let dir = tmpdir("info-valid");
    let path = dir.join("tiny.gguf");
    std::fs::write(&path, small_model()).unwrap();
    let out = info(&path, true);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["hparams"]["arch"], "llama");
    assert_eq!(j["tensor_count"], 5);
    assert_eq!(j["tensors"][1]["name"], "blk.0.attn_norm.weight");
    assert_eq!(j["tensors"][4]["shape"], serde_json::json!([256, 4]));
    assert_eq!(j["tensors"][4]["bytes"], 4 * 210);
    assert_eq!(j["tokenizer"]["vocab_size"], 4);
    assert_eq!(j["chat_template"], true);
    // 1 layer x 2 KV heads x (16 + 16) dims x 2 bytes x 1000 tokens.
    assert_eq!(j["kv_cache_f16_bytes_per_1000_tokens"], 2 * 32 * 2 * 1000);
    // Heads of 16 values cannot hold q8_0 blocks of 32.
    assert!(j["kv_cache_q8_0_bytes_per_1000_tokens"].is_null());
    assert_eq!(j["totals_by_type"]["Q8_0"]["tensors"], 3);
    let text = info(&path, false);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("architecture    llama") && text.contains("tensors (5):"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file_and_bad_flags_are_clean_errors() {
    let out = run(&["info", "-m", "/nonexistent/model.gguf"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/model.gguf"), "{err}");
    assert_eq!(run(&["info"]).status.code(), Some(2)); // clap usage error
}

#[test]
fn corrupted_files_end_in_one_line_and_status_1() {
    let good = small_model();
    let header_len = gguf::GgufFile::from_bytes(good.clone()).unwrap().data_offset as usize;
    let dir = tmpdir("info-mutants");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let (mut failed, mut passed) = (0, 0);
    for i in 0..300 {
        let mut bytes = good.clone();
        match i % 3 {
            0 => bytes.truncate(rng.gen_range(0..bytes.len())),
            _ => {
                for _ in 0..rng.gen_range(1..4) {
                    let at = rng.gen_range(0..header_len);
                    bytes[at] = rng.gen();
                }
            }
        }
        let path = dir.join(format!("m{i}.gguf"));
        std::fs::write(&path, &bytes).unwrap();
        let out = info(&path, false);
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => passed += 1, // a flip that leaves a valid file (e.g. in a name)
            Some(1) => {
                assert_eq!(err.lines().count(), 1, "mutant {i}: {err}");
                assert!(err.starts_with("error: "), "mutant {i}: {err}");
                failed += 1;
            }
            code => panic!("mutant {i}: exit {code:?} (101 is a panic): {err}"),
        }
    }
    assert!(failed > 200, "only {failed} of 300 mutants were refused ({passed} accepted)");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Path of a real test model, fetched (once) by the project's script.
fn real_model(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("python3").arg(root.join("scripts/fetch_models.py")).arg(name).output().unwrap();
    assert!(out.status.success(), "fetch_models.py {name} failed: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn info_on_the_real_models() {
    for (name, arch, n_tensors, vocab, template) in
        [("qwen", "qwen2", 291, 151936, true), ("gemma", "gemma3", 236, 262144, false)]
    {
        let out = info(&real_model(name), true);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(j["hparams"]["arch"], arch);
        assert_eq!(j["tensor_count"], n_tensors);
        assert_eq!(j["tensors"].as_array().unwrap().len(), n_tensors);
        assert_eq!(j["tokenizer"]["vocab_size"], vocab);
        assert_eq!(j["chat_template"], template);
        let tensor_bytes: u64 = j["tensors"].as_array().unwrap().iter().map(|t| t["bytes"].as_u64().unwrap()).sum();
        assert_eq!(j["weight_bytes"].as_u64().unwrap(), tensor_bytes);
        assert!(tensor_bytes < j["file_bytes"].as_u64().unwrap());
    }
}

#[test]
fn synth_like_a_real_model_has_its_table_and_a_vocab_only_copy_its_metadata() {
    let real = real_model("gemma");
    let dir = tmpdir("synth-like");
    let (like, vocab) = (dir.join("like.gguf"), dir.join("vocab.gguf"));
    for (out, extra) in [(&like, None), (&vocab, Some("--vocab-only"))] {
        let mut args = vec!["synth", "--like", real.to_str().unwrap(), "-o", out.to_str().unwrap()];
        args.extend(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let json = |p: &Path| -> serde_json::Value { serde_json::from_slice(&info(p, true).stdout).unwrap() };
    let (a, b) = (json(&real), json(&like));
    for key in ["hparams", "tokenizer", "tensors", "totals_by_type", "file_bytes", "metadata_keys"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    let v = gguf::GgufFile::open(&vocab).unwrap();
    assert!(v.tensors.is_empty());
    assert_eq!(v.metadata, gguf::GgufFile::open(&real).unwrap().metadata);
    std::fs::remove_dir_all(&dir).unwrap();
}
