//! Natural-log probabilities of the distribution after bias and penalties, at temperature 1 and
//! before any truncation: the distribution the request's bias and penalties define, independent
//! of how the draw is then sharpened or cut. (vLLM reports the raw model output, before
//! penalties, by default; with no bias and no penalties the two agree.)

use super::fast_exp::{exp, sum_map};

/// Log-normaliser of a step's distribution.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LogNorm {
    /// Finite maximum: `logprob = logit - lse`.
    Finite { lse: f32 },
    /// `n` tokens at `+inf` share all the mass: each has `-ln(n)`, every other token `-inf`.
    Infinite { n: usize },
}

impl LogNorm {
    /// `max` is the finite maximum of the (NaN-free) logits.
    pub fn finite(logits: &[f32], max: f32) -> Self {
        let sum = sum_map(logits, |l| exp(l - max));
        LogNorm::Finite { lse: max + sum.ln() as f32 }
    }

    pub fn logprob(&self, logit: f32) -> f32 {
        match *self {
            LogNorm::Finite { lse } => logit - lse,
            LogNorm::Infinite { n } if logit == f32::INFINITY => (1.0 / n as f32).ln(),
            LogNorm::Infinite { .. } => f32::NEG_INFINITY,
        }
    }
}

/// The `n` most likely tokens with their logprobs, most likely first, equal ones by lowest id.
/// Tokens of probability zero (logprob `-inf`) are never listed, so fewer than `n` may come back.
///
/// One pass that keeps a small sorted list: O(vocab) for the `n <= 20` allowed.
pub(crate) fn top_n(logits: &[f32], n: usize, norm: LogNorm) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(n);
    if n == 0 {
        return best;
    }
    // Logit a token must beat to enter the list: the worst kept once the list is full. An
    // equal logit at a higher id loses the tie.
    let mut bar = f32::NEG_INFINITY;
    for (i, &l) in logits.iter().enumerate() {
        // The common case, first and cheapest: not above the bar (this also skips -inf).
        if l <= bar || l.is_nan() {
            continue;
        }
        // Zero probability: finite logits when some are +inf.
        if norm.logprob(l) == f32::NEG_INFINITY {
            continue;
        }
        let at = best.partition_point(|&(_, w)| w >= l);
        if best.len() == n {
            best.pop();
        }
        best.insert(at, (i as u32, l));
        if best.len() == n {
            bar = best.last().map_or(f32::NEG_INFINITY, |&(_, w)| w);
        }
    }
    for e in &mut best {
        e.1 = norm.logprob(e.1);
    }
    best
}
