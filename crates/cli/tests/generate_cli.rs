//! `rocmforge run` and `rocmforge chat` end to end on the real Qwen model (CPU): a sensible
//! answer to a coding question, a three-turn conversation through a pipe, and one-line usage
//! errors with exit status 2.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_rocmforge");

fn qwen() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("python3").arg(root.join("scripts/fetch_models.py")).arg("qwen").output().unwrap();
    assert!(out.status.success(), "fetch_models.py failed: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn run_answers_a_coding_question() {
    let m = qwen();
    let out = run(
        &[
            "run",
            "-m",
            m.to_str().unwrap(),
            "--temp",
            "0",
            "-n",
            "120",
            "Write a Python function that reverses a string.",
        ],
        "",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("def "), "no function in: {text}");
    assert!(text.contains("reverse"), "no reversal in: {text}");
    assert!(!text.contains("<|im_end|>") && !text.contains("<|im_start|>"), "special tokens leaked: {text}");
}

#[test]
fn run_raw_reads_the_prompt_from_stdin_and_stops_at_max_tokens() {
    let m = qwen();
    let out =
        run(&["run", "-m", m.to_str().unwrap(), "--raw", "--temp", "0", "-n", "8", "--verbose"], "def add(a, b):\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("generation: 8 tokens") && err.contains("finish: length"), "{err}");
    let ids = run(&["tokenize", "-m", m.to_str().unwrap(), "def add(a, b):\n"], "");
    let n = serde_json::from_slice::<Vec<u32>>(&ids.stdout).unwrap().len();
    assert!(err.contains(&format!("prompt: {n} tokens")), "{err}");
}

#[test]
fn chat_holds_a_three_turn_conversation_through_a_pipe() {
    let m = qwen();
    let turns =
        "My name is Ada and I like the number 7.\nWhat is my name?\nWhat number do I like? Answer with the digit.\n";
    let out = run(&["chat", "-m", m.to_str().unwrap(), "--temp", "0", "-n", "40"], turns);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let answers: Vec<&str> = text.trim_end().split('\n').filter(|l| !l.trim().is_empty()).collect();
    assert!(answers.len() >= 3, "expected three answers: {text}");
    assert!(text.contains("Ada"), "the model forgot the name: {text}");
    assert!(text.contains('7'), "the model forgot the number: {text}");
}

#[test]
fn out_of_range_flags_are_one_line_and_status_2() {
    let m = qwen();
    let m = m.to_str().unwrap();
    for (flag, value) in
        [("--temp", "-1"), ("--top-p", "0"), ("--top-p", "1.5"), ("--min-p", "2"), ("-n", "0"), ("--device", "tpu")]
    {
        let out = run(&["run", "-m", m, flag, value, "hi"], "");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert_eq!(err.lines().count(), 1, "{flag} {value}: {err}");
    }
    let long = "word ".repeat(400);
    let out = run(&["run", "-m", m, "--ctx-size", "64", &long], "");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("context holds 64"), "{err}");
}

#[test]
fn generation_reaching_the_context_end_stops_with_length() {
    let m = qwen();
    let out = run(
        &["run", "-m", m.to_str().unwrap(), "--raw", "--ignore-eos", "--temp", "0", "--ctx-size", "16", "--verbose"],
        "Once upon a time",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("finish: length"), "{err}");
    // 4 prompt tokens + 12 generated fill the 16 positions; the 13th token is predicted from
    // the full context and needs no room of its own.
    assert!(err.contains("prompt: 4 tokens") && err.contains("generation: 13 tokens"), "{err}");
}

/// Batched mode: one JSON object per concurrency level with llama-batched-bench's fields, the
/// decode rate of each repetition, and their mean.
#[test]
fn batched_bench_repeats_each_level() {
    let m = qwen();
    let args = ["bench", "-m", m.to_str().unwrap(), "-p", "8", "-n", "4", "-r", "2", "-t", "2"];
    let out = run(&[&args[..], &["--concurrency", "1,2", "--json"]].concat(), "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let levels = v.as_array().unwrap();
    assert_eq!(levels.len(), 2);
    for (l, c) in levels.iter().zip([1, 2]) {
        assert_eq!(
            (l["concurrency"].as_u64(), l["n_prompt"].as_u64(), l["n_gen"].as_u64()),
            (Some(c), Some(8), Some(4))
        );
        let samples = l["samples_ts"].as_array().unwrap();
        assert_eq!(samples.len(), 2);
        let mean = samples.iter().map(|s| s.as_f64().unwrap()).sum::<f64>() / 2.0;
        assert!((l["avg_ts"].as_f64().unwrap() - mean).abs() < 1e-9 && mean > 0.0);
        assert!(l["stddev_ts"].as_f64().unwrap() >= 0.0 && l["prefill_ts"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn bench_prints_llama_bench_shaped_json() {
    let m = qwen();
    let out = run(&["bench", "-m", m.to_str().unwrap(), "-p", "8", "-n", "4", "-r", "2", "-t", "2", "--json"], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tests = v.as_array().unwrap();
    assert_eq!(tests.len(), 2);
    for (t, (p, n)) in tests.iter().zip([(8, 0), (0, 4)]) {
        assert_eq!((t["n_prompt"].as_u64(), t["n_gen"].as_u64()), (Some(p), Some(n)));
        assert_eq!(t["n_threads"], 2);
        assert_eq!(t["backends"], "CPU");
        let samples = t["samples_ts"].as_array().unwrap();
        assert_eq!(samples.len(), 2);
        let mean = samples.iter().map(|s| s.as_f64().unwrap()).sum::<f64>() / 2.0;
        assert!((t["avg_ts"].as_f64().unwrap() - mean).abs() < 1e-9 && mean > 0.0);
        assert!(t["stddev_ts"].as_f64().unwrap() >= 0.0);
    }
}
