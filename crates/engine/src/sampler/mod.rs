//! The token sampler: one per request, owning its seeded RNG and its scratch buffers.
//!
//! # Order of operations in [`Sampler::sample`]
//! 1. **Logit bias** is added (`-inf` bans a token, `+inf` forces it).
//! 2. **Penalties** over the last `penalty_last_n` tokens of `history`: repetition (llama.cpp:
//!    positive logits divided, others multiplied), then frequency and presence (OpenAI:
//!    `logit -= count * frequency + presence`), once per distinct token.
//!    A [`TokenConstraint`], when the request has one, then masks the tokens it does not allow;
//!    it is told the chosen token at the end.
//! 3. **Clean-up**: NaN becomes `-inf`. All `-inf` is [`SamplerError::NoFiniteLogit`]. If any logit
//!    is `+inf`, those tokens share all the mass: greedy takes the lowest id of them, sampling picks
//!    one of them uniformly, each has logprob `-ln(count)`.
//! 4. **Logprobs** (when asked) are taken here: natural log of the softmax of the biased and
//!    penalised logits at temperature 1 over the whole vocabulary, before temperature and
//!    truncation. This is the distribution the request defines, as OpenAI describes logprobs.
//! 5. **Greedy** (`temperature` below [`GREEDY_BELOW`], i.e. 0): argmax, ties to the lowest id; nothing below applies.
//! 6. **Temperature**, then **top-k**, **top-p**, **min-p** (each on what the previous one left,
//!    renormalised; vLLM's order. llama.cpp's default chain instead applies top-k/top-p/min-p at
//!    temperature 1 and temperature last), then a draw from what remains.
//!
//! `history` is whatever the caller wants penalised (prompt and output, or output only as
//! OpenAI's presence/frequency penalties are defined); the sampler does not keep its own.
//!
//! `max_tokens`, `stop`, `stop_token_ids` and `ignore_eos` are carried in [`SamplingParams`] for
//! the engine; the sampler itself does not use them.
//!
//! # Reproducibility
//! The RNG is rand 0.8's `StdRng` seeded from `seed` (or from the OS): the same seed, parameters,
//! logits and history give the same tokens with the same build. A non-greedy step draws one
//! uniform number.
//!
//! # Cost (vocabularies of 150k-260k)
//! A step makes a few linear passes over the logits and never allocates once its scratch has
//! grown (the `top_logprobs` vector of the result aside). Weights use a vectorised `exp`
//! (relative error ~2e-7). Top-k and top-p bin the tokens near the top into a small histogram
//! first, so only the few that can survive are collected, partially selected
//! (`select_nth_unstable`) and sorted; no step sorts the whole vocabulary. Penalties cost
//! O(window) through a zeroed count buffer; logprobs add one pass for the normaliser and one for
//! the top-n.

mod constraint;
mod fast_exp;
mod filters;
mod logprobs;
pub mod params;
mod penalties;

pub use constraint::TokenConstraint;
pub use params::{ParamError, SamplingParams, GREEDY_BELOW, MAX_LOGPROBS};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use filters::{Filter, Scratch};
use logprobs::LogNorm;
use penalties::Penalties;

/// The token chosen at one step.
#[derive(Debug, Clone, PartialEq)]
pub struct SampledToken {
    pub id: u32,
    /// Natural-log probability of `id` (see the module docs for which distribution); `None`
    /// unless the request asked for logprobs.
    pub logprob: Option<f32>,
    /// The most likely tokens and their logprobs, most likely first, ties by lowest id; at most
    /// `logprobs` entries, fewer when fewer tokens have non-zero probability.
    pub top_logprobs: Vec<(u32, f32)>,
}

/// Why a sampler could not be built or could not choose a token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SamplerError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("vocabulary size {0} is not in 1..=2^32")]
    BadVocabSize(usize),
    #[error("invalid sampling parameter `logit_bias`: token {token} is outside the vocabulary of {vocab_size}")]
    BiasTokenOutOfRange { token: u32, vocab_size: usize },
    #[error("got {got} logits for a vocabulary of {expected}")]
    LogitsLength { expected: usize, got: usize },
    /// Every logit was NaN or `-inf` after bias and penalties: the model output is broken or the
    /// request banned every token. The engine should end the request with an error.
    #[error("no token can be sampled: every logit is NaN or -inf after bias and penalties")]
    NoFiniteLogit,
    /// The request's [`TokenConstraint`] failed.
    #[error("token constraint: {0}")]
    Constraint(String),
}

/// Chooses tokens for one request.
pub struct Sampler {
    params: SamplingParams,
    vocab_size: usize,
    rng: StdRng,
    /// Candidate list and weights; grow to at most `vocab_size` once, then are reused.
    scratch: Scratch,
    /// Per-token occurrence counts for penalties: `[vocab_size]`, all zero between calls.
    /// Allocated on first use, so requests without penalties never pay for it.
    counts: Vec<u32>,
    constraint: Option<Box<dyn TokenConstraint>>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("params", &self.params)
            .field("vocab_size", &self.vocab_size)
            .field("constrained", &self.constraint.is_some())
            .finish_non_exhaustive()
    }
}

impl Sampler {
    /// Validates `params` against each other and the vocabulary size (the length of a logits row).
    pub fn new(params: SamplingParams, vocab_size: usize) -> Result<Self, SamplerError> {
        params.validate()?;
        if vocab_size == 0 || u32::try_from(vocab_size - 1).is_err() {
            return Err(SamplerError::BadVocabSize(vocab_size));
        }
        if let Some(&token) = params.logit_bias.keys().find(|&&t| t as usize >= vocab_size) {
            return Err(SamplerError::BiasTokenOutOfRange { token, vocab_size });
        }
        let rng = match params.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        Ok(Self { params, vocab_size, rng, scratch: Scratch::default(), counts: Vec::new(), constraint: None })
    }

    /// Restricts every following draw to the tokens `constraint` allows.
    pub fn with_constraint(mut self, constraint: Box<dyn TokenConstraint>) -> Self {
        self.constraint = Some(constraint);
        self
    }

    pub fn params(&self) -> &SamplingParams {
        &self.params
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// Whether the next token is the argmax of the raw logits: greedy with nothing that changes
    /// them (bias, penalties, a constraint) and no logprobs asked. The caller may then hand
    /// [`Sampler::take_argmax`] the argmax alone (a GPU finds it without copying the logits).
    pub fn wants_argmax_only(&self) -> bool {
        let p = &self.params;
        p.is_greedy()
            && p.logit_bias.is_empty()
            && Penalties::of(p).is_neutral()
            && self.constraint.is_none()
            && p.logprobs.is_none()
    }

    /// The token [`Sampler::sample`] would choose when [`Sampler::wants_argmax_only`] holds,
    /// from the row's argmax (id, logit) found elsewhere (NaN counted as -inf, ties to the
    /// lowest id); `None` means the row held only NaN and -inf.
    pub fn take_argmax(&mut self, argmax: Option<(u32, f32)>) -> Result<SampledToken, SamplerError> {
        match argmax {
            Some((id, l)) if (id as usize) < self.vocab_size && l > f32::NEG_INFINITY => {
                Ok(SampledToken { id, logprob: None, top_logprobs: Vec::new() })
            }
            _ => Err(SamplerError::NoFiniteLogit),
        }
    }

    /// Chooses the next token. HOT: runs once per generated token over the whole vocabulary.
    ///
    /// `logits` (`[vocab_size]`, the model's last row for this sequence) is modified in place:
    /// on return it holds the biased, penalised logits with NaN replaced by `-inf`.
    /// `history` holds the tokens the penalties look at, oldest first.
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> Result<SampledToken, SamplerError> {
        if logits.len() != self.vocab_size {
            return Err(SamplerError::LogitsLength { expected: self.vocab_size, got: logits.len() });
        }
        let p = &self.params;

        // 1. Bias. Keys were checked against the vocabulary in `new`.
        for (&id, &bias) in &p.logit_bias {
            if let Some(l) = logits.get_mut(id as usize) {
                *l += bias;
            }
        }

        // 2. Penalties.
        let pen = Penalties::of(p);
        let window = penalties::window(history, p.penalty_last_n);
        if !pen.is_neutral() && !window.is_empty() {
            if self.counts.len() != self.vocab_size {
                self.counts = vec![0; self.vocab_size];
            }
            penalties::apply(logits, window, pen, &mut self.counts);
        }

        if let Some(c) = self.constraint.as_mut() {
            c.mask(logits).map_err(SamplerError::Constraint)?;
        }

        // 3. Clean-up and one scan for max, argmax and the number of +inf.
        let scan = scan(logits);
        if scan.max == f32::NEG_INFINITY {
            return Err(SamplerError::NoFiniteLogit);
        }

        // 4. Logprobs of the distribution as it stands now.
        let norm = match (p.logprobs, scan.n_pos_inf) {
            (None, _) => None,
            (Some(_), 0) => Some(LogNorm::finite(logits, scan.max)),
            (Some(_), n) => Some(LogNorm::Infinite { n }),
        };
        let top_logprobs = match (p.logprobs, norm) {
            (Some(n), Some(norm)) => logprobs::top_n(logits, n, norm),
            _ => Vec::new(),
        };

        // 5./6. Choose.
        let id = if p.is_greedy() {
            scan.argmax
        } else if scan.n_pos_inf > 0 {
            let nth = self.rng.gen_range(0..scan.n_pos_inf);
            nth_pos_inf(logits, nth).unwrap_or(scan.argmax)
        } else {
            let filter = Filter {
                temperature: p.temperature,
                top_k: p.top_k_count(),
                top_p: Some(p.top_p).filter(|&t| t < 1.0),
                min_p: Some(p.min_p).filter(|&m| m > 0.0),
            };
            filters::draw(logits, scan.max, filter, &mut self.scratch, &mut self.rng)
        };

        if let Some(c) = self.constraint.as_mut() {
            c.commit(id).map_err(SamplerError::Constraint)?;
        }
        let chosen = logits.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY);
        let logprob = norm.map(|n| n.logprob(chosen));
        Ok(SampledToken { id, logprob, top_logprobs })
    }
}

struct Scan {
    /// Largest logit (`+inf` if any, `-inf` if all are).
    max: f32,
    /// Lowest id holding `max`.
    argmax: u32,
    n_pos_inf: usize,
}

/// Replaces NaN with `-inf` and finds the maximum, its lowest id and how many logits are `+inf`.
fn scan(logits: &mut [f32]) -> Scan {
    let mut s = Scan { max: f32::NEG_INFINITY, argmax: 0, n_pos_inf: 0 };
    for (i, l) in logits.iter_mut().enumerate() {
        if l.is_nan() {
            *l = f32::NEG_INFINITY;
        }
        // Strictly greater: the first (lowest id) of equal maxima stays.
        if *l > s.max {
            s.max = *l;
            s.argmax = i as u32;
        }
        if *l == f32::INFINITY {
            s.n_pos_inf += 1;
        }
    }
    s
}

/// Id of the `nth` (0-based) `+inf` logit.
fn nth_pos_inf(logits: &[f32], nth: usize) -> Option<u32> {
    logits.iter().enumerate().filter(|(_, &l)| l == f32::INFINITY).nth(nth).map(|(i, _)| i as u32)
}
