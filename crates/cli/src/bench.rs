//! `rocmforge bench`: prompt processing (pp) and token generation (tg) speed, measured as
//! llama-bench measures them. pp: N random tokens in one batch on an empty context. tg: N
//! tokens generated one at a time from an empty context. Each test runs once to warm up, then
//! `-r` times; we report the mean and standard deviation of tokens/s.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use model::Session;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::load::{self, Loaded};
use crate::options::ModelArgs;
use crate::usage::usage;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Prompt lengths to test (comma-separated; 0 skips pp).
    #[arg(short = 'p', long = "n-prompt", value_delimiter = ',', default_value = "512")]
    n_prompt: Vec<usize>,
    /// Generation lengths to test (comma-separated; 0 skips tg).
    #[arg(short = 'n', long = "n-gen", value_delimiter = ',', default_value = "128")]
    n_gen: Vec<usize>,
    /// Timed repetitions per test.
    #[arg(short = 'r', long, default_value_t = 5)]
    repetitions: usize,
    /// Print one JSON array (llama-bench's shape) instead of a table.
    #[arg(long)]
    json: bool,
}

struct TestResult {
    n_prompt: usize,
    n_gen: usize,
    samples: Vec<f64>, // tokens/s of each repetition
}

impl TestResult {
    fn mean(&self) -> f64 {
        self.samples.iter().sum::<f64>() / self.samples.len() as f64
    }

    fn stddev(&self) -> f64 {
        let n = self.samples.len();
        if n < 2 {
            return 0.0;
        }
        let m = self.mean();
        (self.samples.iter().map(|s| (s - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    }

    fn name(&self) -> String {
        match self.n_gen {
            0 => format!("pp{}", self.n_prompt),
            n => format!("tg{n}"),
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    if args.repetitions == 0 {
        usage!("-r must be at least 1");
    }
    let longest = args.n_prompt.iter().chain(&args.n_gen).copied().max().unwrap_or(0);
    let mut model_args = args.model.clone();
    model_args.ctx_size = Some(model_args.ctx_size.unwrap_or(0).max(longest).max(1));
    let loaded = load::load(&model_args)?;
    let tests: Vec<(usize, usize)> = args
        .n_prompt
        .iter()
        .filter(|&&p| p > 0)
        .map(|&p| (p, 0))
        .chain(args.n_gen.iter().filter(|&&n| n > 0).map(|&n| (0, n)))
        .collect();
    let mut results = Vec::new();
    for (n_prompt, n_gen) in tests {
        time_test(&loaded, n_prompt, n_gen)?; // warm-up
        let samples = (0..args.repetitions).map(|_| time_test(&loaded, n_prompt, n_gen)).collect::<Result<_>>()?;
        results.push(TestResult { n_prompt, n_gen, samples });
    }
    let out = match args.json {
        true => serde_json::to_string_pretty(&to_json(&loaded, &args, &results))? + "\n",
        false => table(&loaded, &args, &results),
    };
    crate::output::print(&out)
}

/// Tokens/s of one run on a fresh context.
fn time_test(loaded: &Loaded, n_prompt: usize, n_gen: usize) -> Result<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6265_6e63);
    let vocab = loaded.model.vocab_size() as u32;
    let mut session = Session::new(&loaded.model, &loaded.cpu, n_prompt.max(n_gen).max(1))?;
    let t0 = Instant::now();
    if n_prompt > 0 {
        let tokens: Vec<u32> = (0..n_prompt).map(|_| rng.gen_range(0..vocab)).collect();
        session.eval(&tokens, false)?;
    }
    for _ in 0..n_gen {
        session.eval(&[rng.gen_range(0..vocab)], false)?;
    }
    Ok((n_prompt + n_gen) as f64 / t0.elapsed().as_secs_f64())
}

fn model_name(loaded: &Loaded, args: &Args) -> String {
    let size = loaded.model.file.file_len() as f64 / (1u64 << 30) as f64;
    format!("{} {:.2} GiB ({})", loaded.model.hparams.arch, size, args.model.model.display())
}

fn table(loaded: &Loaded, args: &Args, results: &[TestResult]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "model: {}", model_name(loaded, args));
    let _ = writeln!(s, "{:>8} {:>8} {:>8} {:>20}", "backend", "threads", "test", "t/s");
    for r in results {
        let ts = format!("{:.2} ± {:.2}", r.mean(), r.stddev());
        let _ = writeln!(s, "{:>8} {:>8} {:>8} {:>20}", "CPU", loaded.cpu.threads(), r.name(), ts);
    }
    s
}

fn to_json(loaded: &Loaded, args: &Args, results: &[TestResult]) -> serde_json::Value {
    let hp = &loaded.model.hparams;
    results
        .iter()
        .map(|r| {
            json!({
                "model_filename": args.model.model.display().to_string(),
                "model_type": hp.name.clone().unwrap_or_else(|| hp.arch.clone()),
                "model_size": loaded.model.file.file_len(),
                "backends": "CPU",
                "n_threads": loaded.cpu.threads(),
                "n_prompt": r.n_prompt,
                "n_gen": r.n_gen,
                "test": r.name(),
                "avg_ts": r.mean(),
                "stddev_ts": r.stddev(),
                "samples_ts": r.samples,
            })
        })
        .collect()
}
