//! Flags shared by the commands that generate (`run`, `chat`; later `serve`, `bench`).

use std::path::PathBuf;

use anyhow::Result;
use engine::SamplingParams;
use model::KvType;

use crate::usage::usage;

#[derive(clap::Args, Clone, Debug)]
pub struct SamplingArgs {
    /// Stop after this many generated tokens (default: until end of turn or context).
    #[arg(short = 'n', long = "max-tokens", allow_negative_numbers = true)]
    pub max_tokens: Option<i64>,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.8, allow_negative_numbers = true)]
    pub temp: f32,
    /// Keep the k most likely tokens (0: off).
    #[arg(long, default_value_t = 40, allow_negative_numbers = true)]
    pub top_k: i32,
    /// Keep the smallest set of tokens whose probability reaches p (1: off).
    #[arg(long, default_value_t = 0.95, allow_negative_numbers = true)]
    pub top_p: f32,
    /// Drop tokens less likely than min-p times the most likely one (0: off).
    #[arg(long, default_value_t = 0.05, allow_negative_numbers = true)]
    pub min_p: f32,
    /// Penalise tokens among the last --repeat-last-n (1: off).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub repeat_penalty: f32,
    /// Window of --repeat-penalty in tokens (-1: the whole context).
    #[arg(long, default_value_t = 64, allow_negative_numbers = true)]
    pub repeat_last_n: i32,
    /// Random seed (default: a new one each run).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Keep generating after the model's end-of-turn token.
    #[arg(long)]
    pub ignore_eos: bool,
}

impl SamplingArgs {
    /// The sampler's parameters, range-checked (one line naming the flag when wrong).
    pub fn params(&self) -> Result<SamplingParams> {
        let max_tokens = match self.max_tokens {
            None | Some(-1) => None,
            Some(n) if n >= 1 && n <= u32::MAX as i64 => Some(n as u32),
            Some(n) => usage!("--max-tokens must be -1 (no limit) or at least 1, not {n}"),
        };
        let p = SamplingParams {
            temperature: self.temp,
            top_k: self.top_k,
            top_p: self.top_p,
            min_p: self.min_p,
            repetition_penalty: self.repeat_penalty,
            penalty_last_n: self.repeat_last_n,
            seed: self.seed,
            max_tokens,
            ignore_eos: self.ignore_eos,
            ..SamplingParams::default()
        };
        if let Err(e) = p.validate() {
            let flag = match e.field {
                "temperature" => "--temp",
                "top_k" => "--top-k",
                "top_p" => "--top-p",
                "min_p" => "--min-p",
                "repetition_penalty" => "--repeat-penalty",
                "penalty_last_n" => "--repeat-last-n",
                other => other,
            };
            usage!("{flag}: {}", e.reason);
        }
        Ok(p)
    }
}

#[derive(clap::Args, Clone, Debug)]
pub struct ModelArgs {
    /// The GGUF model file.
    #[arg(short, long)]
    pub model: PathBuf,
    /// Context size in tokens (default: the model's training context, at most 4096).
    #[arg(short = 'c', long)]
    pub ctx_size: Option<usize>,
    /// CPU threads (default: one per core).
    #[arg(short = 't', long, default_value_t = 0)]
    pub threads: usize,
    /// auto (a usable GPU, else the CPU), cpu, or gpu[:N].
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// A built-in chat template (chatml, llama3, gemma, mistral) or a Jinja file.
    #[arg(long)]
    pub chat_template: Option<String>,
    /// KV cache element type, for K and V: f16 or q8_0 (half the memory per token; the
    /// model's head size must be a multiple of 32).
    #[arg(long = "kv-cache-type", default_value_t = KvType::F16)]
    pub kv_cache_type: KvType,
    /// Load time, prompt and generation speed on stderr.
    #[arg(short, long)]
    pub verbose: bool,
}
