//! The engine's per-request hooks: a token constraint masks every draw of its request only, and
//! `penalize_prompt: false` keeps the prompt out of the penalties' history.

use std::sync::{Arc, Mutex};

use backend::cpu::Cpu;
use engine::sampler::TokenConstraint;
use engine::{Engine, EngineConfig, FinishReason, SamplingParams};
use gguf::{Array, GgufFile, GgufWriter, Value};
use model::synth::{Preset, SynthOptions};
use model::{Model, Tokenizer};

const VOCAB: u32 = 300;

fn engine() -> Engine {
    let mut tok = GgufWriter::new();
    tok.add_kv("tokenizer.ggml.model", Value::String("gpt2".into())).unwrap();
    let tokens: Vec<String> = (0..VOCAB).map(|i| format!("t{i}")).collect();
    tok.add_kv("tokenizer.ggml.tokens", Value::Array(Array::String(tokens))).unwrap();
    tok.add_kv("tokenizer.ggml.merges", Value::Array(Array::String(vec![]))).unwrap();
    let tok = GgufFile::from_bytes(tok.to_bytes().unwrap()).unwrap();
    let bytes = Preset::TinyLlama.writer(Some(&tok), SynthOptions { seed: 9, scale: 1.0 }).unwrap().to_bytes().unwrap();
    let m = Model::from_file(GgufFile::from_bytes(bytes).unwrap()).unwrap();
    let t = Tokenizer::from_metadata(&m.file.metadata).unwrap();
    Engine::start(m, Cpu::new(2).unwrap(), t, EngineConfig::default()).unwrap()
}

fn greedy(max_tokens: u32) -> SamplingParams {
    SamplingParams { max_tokens: Some(max_tokens), ignore_eos: true, ..SamplingParams::greedy() }
}

/// Allows only `cycle[i % len]` at step i; records the tokens it is told.
struct Cycle {
    cycle: Vec<u32>,
    told: Arc<Mutex<Vec<u32>>>,
}

impl TokenConstraint for Cycle {
    fn mask(&mut self, logits: &mut [f32]) -> Result<(), String> {
        let n = self.told.lock().map_err(|e| e.to_string())?.len();
        let allowed = self.cycle[n % self.cycle.len()];
        for (i, l) in logits.iter_mut().enumerate() {
            if i as u32 != allowed {
                *l = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }

    fn commit(&mut self, token: u32) -> Result<(), String> {
        self.told.lock().map_err(|e| e.to_string())?.push(token);
        Ok(())
    }
}

/// Fails at its third mask.
struct FailsLate(usize);

impl TokenConstraint for FailsLate {
    fn mask(&mut self, _logits: &mut [f32]) -> Result<(), String> {
        self.0 += 1;
        if self.0 == 3 {
            return Err("grammar exhausted".into());
        }
        Ok(())
    }

    fn commit(&mut self, _token: u32) -> Result<(), String> {
        Ok(())
    }
}

#[test]
fn constraint_masks_only_its_own_request() {
    let e = engine();
    let prompt = vec![5, 17, 42, 99];
    let alone = e.submit(prompt.clone(), greedy(6)).unwrap().wait().unwrap();
    let told = Arc::new(Mutex::new(Vec::new()));
    let c = Box::new(Cycle { cycle: vec![7, 8, 9], told: told.clone() });
    let constrained = e.submit_constrained(prompt.clone(), greedy(6), Some(c)).unwrap();
    let beside = e.submit(prompt, greedy(6)).unwrap();
    let constrained = constrained.wait().unwrap();
    assert_eq!(constrained.tokens, [7, 8, 9, 7, 8, 9]);
    assert_eq!(*told.lock().unwrap(), [7, 8, 9, 7, 8, 9]);
    assert_eq!(constrained.reason, FinishReason::Length);
    // The unconstrained request running beside it is untouched.
    assert_eq!(beside.wait().unwrap().tokens, alone.tokens);
}

#[test]
fn a_failing_constraint_ends_its_request_with_the_error() {
    let e = engine();
    let c = e.submit_constrained(vec![1, 2, 3], greedy(10), Some(Box::new(FailsLate(0)))).unwrap().wait().unwrap();
    assert_eq!(c.reason, FinishReason::Error);
    assert_eq!(c.tokens.len(), 2);
    assert!(c.error.unwrap().contains("grammar exhausted"));
}

#[test]
fn penalties_can_leave_the_prompt_out() {
    let e = engine();
    let first = e.submit(vec![3, 4, 5], greedy(1)).unwrap().wait().unwrap().tokens[0];
    // A prompt full of the token greedy picks next, and strong penalties.
    let prompt = vec![first; 12];
    let plain = e.submit(prompt.clone(), greedy(1)).unwrap().wait().unwrap().tokens[0];
    let penalised = |penalize_prompt| SamplingParams {
        presence_penalty: 2.0,
        frequency_penalty: 2.0,
        penalty_last_n: -1,
        penalize_prompt,
        ..greedy(1)
    };
    let with_prompt = e.submit(prompt.clone(), penalised(true)).unwrap().wait().unwrap().tokens[0];
    let output_only = e.submit(prompt, penalised(false)).unwrap().wait().unwrap().tokens[0];
    // Nothing generated yet: output-only penalties change nothing.
    assert_eq!(output_only, plain);
    if plain == first {
        assert_ne!(with_prompt, plain, "a 26-logit penalty did not move the argmax");
    }
}
