//! `rocmforge bench`: prompt processing (pp) and token generation (tg) speed, measured as
//! llama-bench measures them. pp: N random tokens in one batch on an empty context. tg: N
//! tokens generated one at a time from an empty context. Each test runs once to warm up, then
//! `-r` times; we report the mean and standard deviation of tokens/s.
//!
//! With `--concurrency C1,C2,...` it measures the batching engine instead, as
//! llama-batched-bench does: for each C, C requests of `-p` random prompt tokens are submitted
//! at once and each generates `-n` tokens (EOS ignored). Aggregate prefill tokens/s is C * p over
//! the time until every request has its first token; aggregate decode tokens/s is C * n over the
//! time from then until the last request ends. With `--verbose`, each level also prints where the
//! engine thread spent its steps (scheduling, forward, sampling) to stderr.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Result;
use engine::{Engine, EngineConfig, SamplingParams};
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
    /// Timed repetitions per test (with --concurrency: per level; the table gives the decode
    /// rate's mean and standard deviation).
    #[arg(short = 'r', long, default_value_t = 5)]
    repetitions: usize,
    /// Print one JSON array (llama-bench's shape) instead of a table.
    #[arg(long)]
    json: bool,
    /// Batched mode: numbers of concurrent requests to test (comma-separated), each with the
    /// first -p prompt tokens and -n generated tokens.
    #[arg(long, value_delimiter = ',')]
    concurrency: Vec<usize>,
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
    if !args.concurrency.is_empty() {
        return batched(args);
    }
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
    let mut session = Session::new(&loaded.model, &loaded.device, loaded.kv_type, n_prompt.max(n_gen).max(1))?;
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
    let _ = writeln!(s, "device: {}", loaded.device.describe());
    let _ = writeln!(s, "KV cache: {}", loaded.kv_type);
    let _ = writeln!(s, "{:>8} {:>8} {:>8} {:>20}", "backend", "threads", "test", "t/s");
    for r in results {
        let ts = format!("{:.2} ± {:.2}", r.mean(), r.stddev());
        let _ = writeln!(
            s,
            "{:>8} {:>8} {:>8} {:>20}",
            loaded.device.backend_name(),
            loaded.device.threads(),
            r.name(),
            ts
        );
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
                "backends": loaded.device.backend_name(),
                "device": loaded.device.describe(),
                "n_threads": loaded.device.threads(),
                "type_k": loaded.kv_type.name(),
                "type_v": loaded.kv_type.name(),
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

/// One concurrency level of the batched bench: the prefill and decode seconds of each
/// repetition.
struct BatchedResult {
    concurrency: usize,
    n_prompt: usize,
    n_gen: usize,
    times: Vec<(f64, f64)>,
}

impl BatchedResult {
    fn mean_times(&self) -> (f64, f64) {
        let n = self.times.len().max(1) as f64;
        let (p, d) = self.times.iter().fold((0.0, 0.0), |(p, d), &(tp, td)| (p + tp, d + td));
        (p / n, d / n)
    }

    /// Prefill tokens/s of each repetition.
    fn prefill_samples(&self) -> TestResult {
        let tokens = (self.concurrency * self.n_prompt) as f64;
        let samples = self.times.iter().map(|&(tp, _)| tokens / tp).collect();
        TestResult { n_prompt: self.n_prompt, n_gen: 0, samples }
    }

    /// Decode tokens/s of each repetition (0 without generated tokens).
    fn decode_samples(&self) -> TestResult {
        let tokens = (self.concurrency * self.n_gen) as f64;
        let samples = self.times.iter().map(|&(_, td)| if self.n_gen == 0 { 0.0 } else { tokens / td }).collect();
        TestResult { n_prompt: 0, n_gen: self.n_gen, samples }
    }
}

fn batched(args: Args) -> Result<()> {
    let (n_prompt, n_gen) = (args.n_prompt[0], args.n_gen[0]);
    if args.n_prompt.len() != 1 || args.n_gen.len() != 1 || n_prompt == 0 {
        usage!("--concurrency takes one -p (at least 1) and one -n");
    }
    if args.concurrency.contains(&0) {
        usage!("--concurrency values must be at least 1");
    }
    if args.repetitions == 0 {
        usage!("-r must be at least 1");
    }
    let max_c = args.concurrency.iter().copied().max().unwrap_or(1);
    let n_ctx = n_prompt + n_gen + 1;
    let mut model_args = args.model.clone();
    model_args.ctx_size = Some(n_ctx);
    let loaded = load::load(&model_args)?;
    let name = model_name(&loaded, &args);
    let (threads, backend, device) = (loaded.device.threads(), loaded.device.backend_name(), loaded.device.describe());
    let (hp_name, file_len) = (
        loaded.model.hparams.name.clone().unwrap_or_else(|| loaded.model.hparams.arch.clone()),
        loaded.model.file.file_len(),
    );
    let (vocab, kv_type) = (loaded.model.vocab_size() as u32, loaded.kv_type);
    // Every prompt of a level is prefilled in one step, then every step decodes all sequences.
    let cfg = EngineConfig {
        kv_tokens: max_c * n_ctx.next_multiple_of(16),
        n_ctx,
        token_budget: max_c * n_prompt,
        max_running: max_c,
        max_waiting: max_c,
        kv_type,
        ..EngineConfig::default()
    };
    let engine = Engine::start(loaded.model, loaded.device, loaded.tok, cfg)?;
    let verbose = args.model.verbose;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x6265_6e63);
    // One run of a level: (prefill seconds, decode seconds).
    let mut run_level = |c: usize, n_prompt: usize, n_gen: usize| -> Result<(f64, f64)> {
        let params =
            SamplingParams { max_tokens: Some(n_gen as u32 + 1), ignore_eos: true, ..SamplingParams::greedy() };
        let t0 = Instant::now();
        let handles = (0..c)
            .map(|_| engine.submit((0..n_prompt).map(|_| rng.gen_range(0..vocab)).collect(), params.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let (mut first, mut end) = (t0, t0);
        for h in handles {
            let done = h.wait().ok_or_else(|| anyhow::anyhow!("the engine stopped"))?;
            if let Some(e) = done.error {
                anyhow::bail!("request failed: {e}");
            }
            first = first.max(done.usage.first_token.unwrap_or(done.usage.finished));
            end = end.max(done.usage.finished);
        }
        Ok(((first - t0).as_secs_f64(), (end - first).as_secs_f64()))
    };
    // Warm-up with a full prompt: one-time costs (kernel loads, the vendor BLAS and its self-check
    // for long products) stay out of the first level.
    run_level(1, n_prompt, n_gen.min(2))?;
    let mut results = Vec::with_capacity(args.concurrency.len());
    for &c in &args.concurrency {
        let before = engine.step_times();
        let times = (0..args.repetitions).map(|_| run_level(c, n_prompt, n_gen)).collect::<Result<Vec<_>>>()?;
        if verbose {
            eprintln!("concurrency {c}: {}", engine.step_times().since(&before).summary());
        }
        results.push(BatchedResult { concurrency: c, n_prompt, n_gen, times });
    }
    let out = if args.json {
        let rows: Vec<_> = results
            .iter()
            .map(|r| {
                json!({
                    "model_filename": args.model.model.display().to_string(),
                    "model_type": hp_name,
                    "model_size": file_len,
                    "backends": backend,
                    "device": device,
                    "n_threads": threads,
                    "type_k": kv_type.name(),
                    "type_v": kv_type.name(),
                    "concurrency": r.concurrency,
                    "n_prompt": r.n_prompt,
                    "n_gen": r.n_gen,
                    "t_prefill_s": r.mean_times().0,
                    "prefill_ts": r.prefill_samples().mean(),
                    "t_decode_s": r.mean_times().1,
                    "avg_ts": r.decode_samples().mean(),
                    "stddev_ts": r.decode_samples().stddev(),
                    "samples_ts": r.decode_samples().samples,
                })
            })
            .collect();
        serde_json::to_string_pretty(&rows)? + "\n"
    } else {
        let mut s = String::new();
        let _ = writeln!(s, "model: {name}");
        let _ = writeln!(s, "device: {device}");
        let _ = writeln!(s, "KV cache: {kv_type}");
        let _ = writeln!(
            s,
            "{:>8} {:>8} {:>6} {:>6} {:>6} {:>10} {:>12} {:>10} {:>22}",
            "backend", "threads", "C", "pp", "tg", "t_pp s", "pp t/s", "t_tg s", "tg t/s"
        );
        for r in &results {
            let ((tp, td), decode) = (r.mean_times(), r.decode_samples());
            let _ = writeln!(
                s,
                "{:>8} {:>8} {:>6} {:>6} {:>6} {:>10.3} {:>12.2} {:>10.3} {:>12.2} ± {:>7.2}",
                backend,
                threads,
                r.concurrency,
                r.n_prompt,
                r.n_gen,
                tp,
                r.prefill_samples().mean(),
                td,
                decode.mean(),
                decode.stddev()
            );
        }
        s
    };
    crate::output::print(&out)
}
