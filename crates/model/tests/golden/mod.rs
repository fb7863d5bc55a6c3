//! Forward-pass goldens from llama.cpp, and the metrics that compare a forward pass with them.
//!
//! Fixtures live in `tests/fixtures/forward/<model>/` and are written by
//! `scripts/gen_forward_goldens.py` (its header documents `logits.bin` and the llama.cpp
//! settings). Models: `qwen` and `gemma` (the real test models, from `scripts/fetch_models.py`),
//! `tiny-llama` and `tiny-qwen3` (synthetic, regenerated here bit for bit from the recorded
//! synth arguments and checked against the recorded sha256).
//!
//! Use from a test file: `#[path = "golden/mod.rs"] mod golden;` (or `mod golden;`), then
//!
//! ```ignore
//! let path = golden::model_path("qwen");
//! let report = golden::check_logits("qwen", |ids| my_forward_all_positions(&path, ids));
//! report.assert_passes();
//! golden::check_greedy("qwen", |ids, n| my_greedy(&path, ids, n)).assert_passes();
//! ```
//!
//! Metrics, per position of every logits prompt:
//! - top-1: llama.cpp's argmax (lowest id on ties) equals ours (first maximum of our row);
//! - KL(llama.cpp || ours) of the *coarsened* distributions: the partition is llama.cpp's stored
//!   top-K tokens plus one tail bucket holding everything else. llama.cpp's side is exact
//!   (p = exp(logit - lse) with the full row's lse, tail = 1 - sum); ours comes from our full
//!   row (its own log-sum-exp, tail summed over our non-top-K tokens).
//!
//! Why the coarsened KL is a sound check: the partition is fixed by llama.cpp's row alone, so
//! coarsening is a deterministic map applied to both distributions and, by the chain rule of KL,
//! KL(P||Q) = KL(Pc||Qc) + p_tail * KL(P(.|tail) || Q(.|tail)). Hence (1) it never exceeds the
//! full KL: a failure is a real disagreement, never an artefact of the truncation; (2) the only
//! thing it cannot see is how the two rows shape mass *inside* the tail, weighted by llama.cpp's
//! tail mass (at K = 64, mean over positions: 1.5% tiny-llama, 7% qwen, 8% gemma, 16%
//! tiny-qwen3); (3) it does see everything else: every top-K token's probability exactly, and
//! mass that we move into or out of the tail (which changes q_tail and every q_i). A forward-pass
//! bug that leaves the top-64 probabilities intact and only reshapes the tail is not a
//! realistic failure mode. For scale: uniform noise of +-0.3 on every logit of llama.cpp's own
//! rows gives a mean coarsened KL of about 0.009 (top-1 agreement 93%).

#![allow(dead_code)]

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Every model with goldens.
pub const MODELS: [&str; 4] = ["qwen", "gemma", "tiny-llama", "tiny-qwen3"];

/// Issue 4: llama.cpp's argmax and ours agree at no fewer than this fraction of positions.
pub const MIN_TOP1_AGREEMENT: f64 = 0.99;
/// Issue 4: mean KL(llama.cpp || ours) over all positions, at most this (nats).
pub const MAX_MEAN_KL: f64 = 0.01;
/// Issue 4: at least this fraction of the greedy continuations are identical (18 of 20).
pub const MIN_GREEDY_IDENTICAL: f64 = 0.90;
/// llama.cpp against its own goldens with one token per batch (fixtures' self_agreement.json,
/// written by scripts/measure_llama_self_agreement.py): the agreement float summation order
/// alone costs. Reported beside ours; the bar is issue 4's, which only arithmetic that rounds
/// as llama.cpp's kernels do meets (ARCHITECTURE.md, "Goldens against llama.cpp").
#[derive(Debug, Deserialize)]
pub struct SelfAgreement {
    pub top1_agreement: f64,
    pub mean_kl: f64,
    pub greedy_identical: usize,
    pub greedy_total: usize,
}

pub fn self_agreement(model: &str) -> SelfAgreement {
    let path = fixture_dir(model).join("self_agreement.json");
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// How many of `total` greedy continuations must be identical.
pub fn required_identical(total: usize) -> usize {
    (MIN_GREEDY_IDENTICAL * total as f64).ceil() as usize
}

/// A top-1 mismatch where llama.cpp's logit for our choice is within this of its maximum is
/// counted as a near tie in the report (still a mismatch).
pub const NEAR_TIE: f32 = 0.01;

const MAGIC: &[u8; 8] = b"RFFWDLG1";
const FORMAT_VERSION: u32 = 1;

/// One model's fixture: `golden.json` plus the positions of `logits.bin`.
#[derive(Debug, Deserialize)]
pub struct Golden {
    pub format_version: u32,
    pub model: String,
    pub source: Source,
    /// The llama.cpp settings the goldens were made with (as recorded by the script).
    pub llama_cpp: serde_json::Value,
    /// llama.cpp's default for this model (`llama_vocab_get_add_bos`), used when tokenising.
    pub add_bos: bool,
    pub bos_id: u32,
    pub eos_id: u32,
    /// llama.cpp's end-of-generation tokens (`llama_vocab_is_eog`).
    pub eog_ids: Vec<u32>,
    pub n_vocab: usize,
    pub top_k: usize,
    pub logits_file: String,
    pub prompts: Vec<PromptGolden>,
    pub max_new_tokens: usize,
    pub continuations: Vec<Continuation>,
}

/// Where the model file comes from.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// `python3 scripts/fetch_models.py <name>`.
    Fetch { name: String, file: String, sha256: String },
    /// `model::synth::Preset::from_name(preset).writer(Some(&vocab), {seed, scale})`, where
    /// vocab is `model::synth::vocab_only` of the `tokenizer_from` model.
    Synth {
        preset: String,
        seed: u64,
        scale: f32,
        tokenizer_from: String,
        /// The equivalent `rocmforge synth` command lines.
        commands: Vec<String>,
        vocab_sha256: String,
        sha256: String,
    },
}

/// A logits prompt: its text, llama.cpp's token ids and one golden per position.
#[derive(Debug, Deserialize)]
pub struct PromptGolden {
    pub name: String,
    pub text: String,
    pub ids: Vec<u32>,
    /// `positions[p]` is llama.cpp's row after tokens `ids[..=p]` (predicting `ids[p + 1]`).
    #[serde(skip)]
    pub positions: Vec<PositionGolden>,
}

/// llama.cpp's next-token row at one position, truncated to its top K.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionGolden {
    /// log(sum(exp(row))) of the full row.
    pub lse: f64,
    /// Top-K token ids by decreasing logit (ties: lower id first); `ids[0]` is the argmax.
    pub ids: Vec<u32>,
    /// Their logits.
    pub logits: Vec<f32>,
}

impl PositionGolden {
    pub fn argmax(&self) -> u32 {
        self.ids[0]
    }

    /// llama.cpp's probability of the i-th stored token (exact).
    pub fn prob(&self, i: usize) -> f64 {
        (self.logits[i] as f64 - self.lse).exp()
    }

    /// llama.cpp's probability mass outside the stored tokens (clamped at 0 against rounding).
    pub fn tail_mass(&self) -> f64 {
        let top: f64 = (0..self.ids.len()).map(|i| self.prob(i)).sum();
        (1.0 - top).max(0.0)
    }
}

/// A greedy continuation: llama.cpp's argmax tokens after the prompt.
#[derive(Debug, Deserialize)]
pub struct Continuation {
    pub name: String,
    pub text: String,
    pub prompt_ids: Vec<u32>,
    /// `max_new_tokens` tokens, or fewer ending with an end-of-generation token.
    pub generated: Vec<u32>,
    pub stopped_at_eog: bool,
    /// Logit of llama.cpp's choice minus the runner-up's, at each generated step.
    pub top2_gaps: Vec<f32>,
    /// llama.cpp's detokenisation of `generated` (for reading).
    pub completion: String,
}

/// `tests/fixtures/forward/<model>`.
pub fn fixture_dir(model: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/forward").join(model)
}

/// Loads a model's fixture; panics with the reason if it is missing or malformed.
pub fn load(model: &str) -> Golden {
    try_load(model).unwrap_or_else(|e| panic!("fixture {model}: {e}"))
}

pub fn try_load(model: &str) -> Result<Golden, String> {
    let dir = fixture_dir(model);
    let json = std::fs::read_to_string(dir.join("golden.json"))
        .map_err(|e| format!("{}: {e}", dir.join("golden.json").display()))?;
    let mut g: Golden = serde_json::from_str(&json).map_err(|e| format!("golden.json: {e}"))?;
    if g.format_version != FORMAT_VERSION {
        return Err(format!("format_version {}", g.format_version));
    }
    let bin = std::fs::read(dir.join(&g.logits_file)).map_err(|e| format!("{}: {e}", g.logits_file))?;
    let (k, n_vocab, prompts) = parse_logits(&bin)?;
    if (k, n_vocab) != (g.top_k, g.n_vocab) {
        return Err(format!("logits.bin has k {k}, n_vocab {n_vocab}; golden.json {} and {}", g.top_k, g.n_vocab));
    }
    if prompts.len() != g.prompts.len() {
        return Err(format!("logits.bin has {} prompts, golden.json {}", prompts.len(), g.prompts.len()));
    }
    for (p, positions) in g.prompts.iter_mut().zip(prompts) {
        if positions.len() != p.ids.len() {
            return Err(format!("prompt {}: {} positions for {} tokens", p.name, positions.len(), p.ids.len()));
        }
        p.positions = positions;
    }
    Ok(g)
}

/// Parses `logits.bin`: (k, n_vocab, positions of each prompt).
pub fn parse_logits(bytes: &[u8]) -> Result<(usize, usize, Vec<Vec<PositionGolden>>), String> {
    struct Cursor<'a>(&'a [u8]);
    impl Cursor<'_> {
        fn take(&mut self, n: usize) -> Result<&[u8], String> {
            if self.0.len() < n {
                return Err("logits.bin is truncated".into());
            }
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            Ok(a)
        }
        fn u32(&mut self) -> Result<u32, String> {
            Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
        }
    }
    let mut c = Cursor(bytes);
    if c.take(8)? != MAGIC {
        return Err("logits.bin: bad magic".into());
    }
    let version = c.u32()?;
    if version != FORMAT_VERSION {
        return Err(format!("logits.bin: version {version}"));
    }
    let (k, n_vocab, n_prompts) = (c.u32()? as usize, c.u32()? as usize, c.u32()? as usize);
    if k == 0 || k > n_vocab {
        return Err(format!("logits.bin: k {k}, n_vocab {n_vocab}"));
    }
    let mut prompts = Vec::with_capacity(n_prompts);
    for _ in 0..n_prompts {
        let n_pos = c.u32()? as usize;
        let mut positions = Vec::with_capacity(n_pos);
        for _ in 0..n_pos {
            let lse = f64::from_le_bytes(c.take(8)?.try_into().unwrap());
            let ids = c.take(4 * k)?.chunks_exact(4);
            let ids = ids.map(|b| u32::from_le_bytes(b.try_into().unwrap()));
            let ids: Vec<u32> = ids.collect();
            let logits = c.take(4 * k)?.chunks_exact(4);
            let logits = logits.map(|b| f32::from_le_bytes(b.try_into().unwrap()));
            positions.push(PositionGolden { lse, ids, logits: logits.collect() });
        }
        prompts.push(positions);
    }
    if !c.0.is_empty() {
        return Err(format!("logits.bin: {} trailing bytes", c.0.len()));
    }
    Ok((k, n_vocab, prompts))
}

// ---------------------------------------------------------------------------------------------
// Model files.

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The cache of scripts/fetch_models.py: $ROCMFORGE_MODELS or ~/.cache/rocmforge/models.
fn models_cache() -> PathBuf {
    match std::env::var_os("ROCMFORGE_MODELS") {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var_os("HOME").expect("HOME or ROCMFORGE_MODELS must be set");
            PathBuf::from(home).join(".cache/rocmforge/models")
        }
    }
}

/// The GGUF file the model's goldens were made from. Real models come from
/// `python3 scripts/fetch_models.py NAME` (panics if that fails); synthetic ones are
/// regenerated into `<models cache>/synth/` (once; reused while the sha256 matches) and checked
/// against the fixture's sha256, so a change to the synth code cannot silently invalidate the
/// goldens.
pub fn model_path(name: &str) -> PathBuf {
    let g = load(name);
    match &g.source {
        Source::Fetch { name, file, .. } => {
            let path = fetch_model(name);
            assert_eq!(
                path.file_name().and_then(|f| f.to_str()),
                Some(file.as_str()),
                "fetch_models.py {name} returned {}",
                path.display()
            );
            path
        }
        Source::Synth { preset, seed, scale, tokenizer_from, vocab_sha256, sha256, .. } => {
            synth_model(preset, *seed, *scale, tokenizer_from, vocab_sha256, sha256)
        }
    }
}

fn fetch_model(name: &str) -> PathBuf {
    let script = repo_root().join("scripts/fetch_models.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(name)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "fetch_models.py {name} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("fetch_models.py printed non-UTF-8");
    let line = stdout.lines().last().unwrap_or_default().trim();
    let path = PathBuf::from(line);
    assert!(path.is_file(), "fetch_models.py {name} printed '{line}'");
    path
}

fn synth_model(preset: &str, seed: u64, scale: f32, tokenizer_from: &str, vocab_sha256: &str, sha256: &str) -> PathBuf {
    use model::synth::{self, Preset, SynthOptions};
    let dir = models_cache().join("synth");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join(format!("{preset}-seed{seed}-{}.gguf", &sha256[..16]));
    if path.is_file() && sha256_file(&path) == sha256 {
        return path;
    }
    let src = gguf::GgufFile::open(model_path(tokenizer_from)).expect("opening tokenizer model");
    let vocab = synth::vocab_only(&src).expect("vocab_only").to_bytes();
    let vocab = vocab.expect("writing vocab-only file");
    assert_eq!(
        sha256_hex(&vocab),
        vocab_sha256,
        "vocab-only file of {tokenizer_from} differs from the one the goldens were made with"
    );
    let vocab = gguf::GgufFile::from_bytes(vocab).expect("parsing vocab-only file");
    let p = Preset::from_name(preset).unwrap_or_else(|| panic!("unknown preset {preset}"));
    let writer = p.writer(Some(&vocab), SynthOptions { seed, scale });
    // A unique temporary name, then rename: tests in other threads or processes may race.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{preset}.{}.{n}.tmp", std::process::id()));
    writer.expect("synth writer").write_file(&tmp).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    let got = sha256_file(&tmp);
    if got != sha256 {
        let _ = std::fs::remove_file(&tmp);
        panic!(
            "regenerated {preset} (seed {seed}) has sha256 {got}, the goldens were made from \
             {sha256}: the synth code changed; rerun scripts/gen_forward_goldens.py"
        );
    }
    std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).expect("reading model file");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// Metrics.

/// (top-1 equal, KL(llama.cpp || ours) of the coarsened distributions, in nats) at one position.
/// `our_logits` is our full row (n_vocab entries). A row with NaN gives (false, infinity); a
/// stored token to which we give probability 0 gives infinity.
pub fn compare_distributions(fixture_pos: &PositionGolden, our_logits: &[f32]) -> (bool, f64) {
    let ours = our_argmax(our_logits);
    let Some(ours) = ours else {
        return (false, f64::INFINITY);
    };
    let top1 = ours == fixture_pos.argmax();
    // Our log-sum-exp, and our mass outside llama.cpp's top-K summed directly (no cancellation).
    let max = our_logits.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) as f64;
    if !max.is_finite() {
        return (false, f64::INFINITY);
    }
    let mut sorted: Vec<u32> = fixture_pos.ids.clone();
    sorted.sort_unstable();
    let (mut total, mut tail, mut next) = (0f64, 0f64, 0usize);
    for (j, &x) in our_logits.iter().enumerate() {
        let e = (x as f64 - max).exp();
        total += e;
        if next < sorted.len() && sorted[next] as usize == j {
            next += 1;
        } else {
            tail += e;
        }
    }
    let our_lse = max + total.ln();
    let q_tail = tail / total;
    let mut kl = 0f64;
    for (i, &id) in fixture_pos.ids.iter().enumerate() {
        let p = fixture_pos.prob(i);
        let q = (our_logits[id as usize] as f64 - our_lse).exp();
        kl += kl_term(p, q);
    }
    kl += kl_term(fixture_pos.tail_mass(), q_tail);
    (top1, kl.max(0.0))
}

fn kl_term(p: f64, q: f64) -> f64 {
    if p <= 0.0 {
        0.0
    } else if q <= 0.0 {
        f64::INFINITY
    } else {
        p * (p / q).ln()
    }
}

/// The first maximum of the row (lowest id on ties), None if the row is empty or has NaN.
fn our_argmax(row: &[f32]) -> Option<u32> {
    let mut best: Option<(usize, f32)> = None;
    for (j, &x) in row.iter().enumerate() {
        if x.is_nan() {
            return None;
        }
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((j, x));
        }
    }
    best.map(|(j, _)| j as u32)
}

/// Per-prompt figures of a [`LogitsReport`].
#[derive(Clone, Debug)]
pub struct PromptStats {
    pub name: String,
    pub positions: usize,
    pub top1_equal: usize,
    pub mean_kl: f64,
    /// (KL, position) of the worst position.
    pub max_kl: (f64, usize),
}

/// What [`check_logits`] found over every position of every logits prompt.
#[derive(Clone, Debug)]
pub struct LogitsReport {
    pub model: String,
    pub positions: usize,
    pub top1_equal: usize,
    /// Top-1 mismatches where llama.cpp's logit for our argmax is within [`NEAR_TIE`] of its max.
    pub near_tie_mismatches: usize,
    pub mean_kl: f64,
    pub per_prompt: Vec<PromptStats>,
}

impl LogitsReport {
    /// Fraction of positions where the argmaxes agree.
    pub fn top1_agreement(&self) -> f64 {
        self.top1_equal as f64 / self.positions as f64
    }

    pub fn passes(&self) -> bool {
        self.top1_agreement() >= MIN_TOP1_AGREEMENT && self.mean_kl <= MAX_MEAN_KL
    }

    pub fn assert_passes(&self) {
        assert!(self.passes(), "{self}");
    }
}

impl fmt::Display for LogitsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: top-1 {}/{} = {:.2}% (issue 4 asks >= {:.2}%; llama.cpp agrees with itself \
             at {:.2}% across batch sizes; {} near-tie mismatches), mean KL {:.3e} (need <= {:.0e})",
            self.model,
            self.top1_equal,
            self.positions,
            100.0 * self.top1_agreement(),
            100.0 * MIN_TOP1_AGREEMENT,
            100.0 * self_agreement(&self.model).top1_agreement,
            self.near_tie_mismatches,
            self.mean_kl,
            MAX_MEAN_KL
        )?;
        for p in &self.per_prompt {
            writeln!(
                f,
                "  {:<14} top-1 {:>3}/{:<3} mean KL {:.3e}  max KL {:.3e} at position {}",
                p.name, p.top1_equal, p.positions, p.mean_kl, p.max_kl.0, p.max_kl.1
            )?;
        }
        Ok(())
    }
}

/// Runs every logits prompt of `model_name` through `eval`, which returns our logits for every
/// position (`ids.len()` rows of `n_vocab` values), and compares them with llama.cpp's.
/// Panics if `eval` returns the wrong number or length of rows.
pub fn check_logits(model_name: &str, mut eval: impl FnMut(&[u32]) -> Vec<Vec<f32>>) -> LogitsReport {
    let g = load(model_name);
    let mut report = LogitsReport {
        model: model_name.to_string(),
        positions: 0,
        top1_equal: 0,
        near_tie_mismatches: 0,
        mean_kl: 0.0,
        per_prompt: Vec::new(),
    };
    let mut kl_sum = 0f64;
    for p in &g.prompts {
        let rows = eval(&p.ids);
        assert_eq!(rows.len(), p.ids.len(), "{model_name}/{}: rows", p.name);
        let mut stats =
            PromptStats { name: p.name.clone(), positions: rows.len(), top1_equal: 0, mean_kl: 0.0, max_kl: (0.0, 0) };
        for (pos, (golden, row)) in p.positions.iter().zip(&rows).enumerate() {
            assert_eq!(row.len(), g.n_vocab, "{model_name}/{} row {pos}", p.name);
            let (top1, kl) = compare_distributions(golden, row);
            if top1 {
                stats.top1_equal += 1;
            } else if let Some(ours) = our_argmax(row) {
                let near = golden.ids.iter().position(|&t| t == ours);
                if near.is_some_and(|i| golden.logits[0] - golden.logits[i] <= NEAR_TIE) {
                    report.near_tie_mismatches += 1;
                }
            }
            stats.mean_kl += kl;
            if kl > stats.max_kl.0 || kl.is_nan() {
                stats.max_kl = (kl, pos);
            }
        }
        kl_sum += stats.mean_kl;
        stats.mean_kl /= stats.positions as f64;
        report.positions += stats.positions;
        report.top1_equal += stats.top1_equal;
        report.per_prompt.push(stats);
    }
    report.mean_kl = kl_sum / report.positions as f64;
    report
}

/// Where our continuation first differs from llama.cpp's.
#[derive(Clone, Debug)]
pub struct Divergence {
    pub name: String,
    /// Index into the generated tokens.
    pub index: usize,
    pub expected: u32,
    /// None: we stopped (returned fewer tokens) there.
    pub ours: Option<u32>,
    /// llama.cpp's top-1 minus top-2 logit at that step (tiny: a near tie, rounding decides).
    pub llama_gap: f32,
}

/// What [`check_greedy`] found.
#[derive(Clone, Debug)]
pub struct GreedyReport {
    pub model: String,
    pub total: usize,
    pub identical: usize,
    pub divergences: Vec<Divergence>,
}

impl GreedyReport {
    pub fn identical_fraction(&self) -> f64 {
        self.identical as f64 / self.total as f64
    }

    pub fn passes(&self) -> bool {
        self.identical >= required_identical(self.total)
    }

    pub fn assert_passes(&self) {
        assert!(self.passes(), "{self}");
    }
}

impl fmt::Display for GreedyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {}/{} greedy continuations identical (issue 4 asks >= {}; llama.cpp agrees \
             with itself on {} across batch sizes)",
            self.model,
            self.identical,
            self.total,
            required_identical(self.total),
            self_agreement(&self.model).greedy_identical
        )?;
        for d in &self.divergences {
            let ours = d.ours.map_or("end".to_string(), |t| t.to_string());
            writeln!(
                f,
                "  {:<14} diverges at token {}: llama.cpp {} (top-2 gap {:.4}), ours {ours}",
                d.name, d.index, d.expected, d.llama_gap
            )?;
        }
        Ok(())
    }
}

/// Runs every continuation prompt through `generate(prompt_ids, max_new_tokens)`, which returns
/// our greedy tokens (it may stop after an end-of-generation token, or go on: tokens past the
/// length of llama.cpp's continuation are ignored), and counts identical continuations.
pub fn check_greedy(model_name: &str, mut generate: impl FnMut(&[u32], usize) -> Vec<u32>) -> GreedyReport {
    let g = load(model_name);
    let mut report = GreedyReport {
        model: model_name.to_string(),
        total: g.continuations.len(),
        identical: 0,
        divergences: Vec::new(),
    };
    for c in &g.continuations {
        let ours = generate(&c.prompt_ids, g.max_new_tokens);
        match first_divergence(&c.generated, &ours) {
            None => report.identical += 1,
            Some(index) => report.divergences.push(Divergence {
                name: c.name.clone(),
                index,
                expected: c.generated[index],
                ours: ours.get(index).copied(),
                llama_gap: c.top2_gaps[index],
            }),
        }
    }
    report
}

/// First index where `ours` does not continue like `expected` (None: all of `expected` matched).
pub fn first_divergence(expected: &[u32], ours: &[u32]) -> Option<usize> {
    (0..expected.len()).find(|&i| ours.get(i) != Some(&expected[i]))
}
