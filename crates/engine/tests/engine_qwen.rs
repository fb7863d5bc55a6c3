//! The engine on the real Qwen2.5-Coder-0.5B (CPU): three concurrent greedy requests give the
//! same tokens and text as each alone through `generate`. Kept short: CPU decode is slow.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;

use backend::cpu::Cpu;
use engine::{generate, Engine, EngineConfig, SamplingParams};
use model::{Device, KvType, Model, Session, Tokenizer};

fn qwen() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("python3").arg(root.join("scripts/fetch_models.py")).arg("qwen").output().unwrap();
    assert!(out.status.success(), "fetch_models.py failed: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

#[test]
fn concurrent_requests_match_alone_on_qwen() {
    let path = qwen();
    let load = || {
        let m = Model::load(&path).unwrap();
        let t = Tokenizer::from_metadata(&m.file.metadata).unwrap();
        (m, t)
    };
    let (m, tok) = load();
    let cpu = Device::Cpu(Cpu::new(0).unwrap());
    let prompts = ["def fibonacci(n):", "The capital of France is", "// A C function that returns the maximum"];
    let params = SamplingParams { max_tokens: Some(6), ..SamplingParams::greedy() };
    let (em, etok) = load();
    let e =
        Engine::start(em, Cpu::new(0).unwrap(), etok, EngineConfig { kv_tokens: 512, n_ctx: 64, ..Default::default() })
            .unwrap();
    let handles: Vec<_> =
        prompts.iter().map(|p| e.submit(tok.encode(p, true, false), params.clone()).unwrap()).collect();
    let done: Vec<_> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
    for (p, c) in prompts.iter().zip(&done) {
        let mut s = Session::new(&m, &cpu, KvType::F16, 64).unwrap();
        let mut text = String::new();
        let alone = generate(&mut s, &tok, &tok.encode(p, true, false), &params, |t| {
            text.push_str(t);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(c.tokens, alone.generated, "{p}");
        assert_eq!(c.text, text, "{p}");
        assert_eq!(c.reason, alone.finish, "{p}");
    }
}
