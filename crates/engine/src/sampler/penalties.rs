//! Repetition (llama.cpp), presence and frequency (OpenAI) penalties over a window of history.

use super::SamplingParams;

/// The three penalties of one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Penalties {
    pub repetition: f32,
    pub presence: f32,
    pub frequency: f32,
}

impl Penalties {
    pub fn of(p: &SamplingParams) -> Self {
        Penalties { repetition: p.repetition_penalty, presence: p.presence_penalty, frequency: p.frequency_penalty }
    }

    pub fn is_neutral(&self) -> bool {
        self.repetition == 1.0 && self.presence == 0.0 && self.frequency == 0.0
    }
}

/// The tokens of `history` the penalties look at (`last_n`: `-1` all, `0` none, `n` the last n).
pub(crate) fn window(history: &[u32], last_n: i32) -> &[u32] {
    match usize::try_from(last_n) {
        Ok(n) => &history[history.len().saturating_sub(n)..],
        // Validation only lets -1 through; any other negative is treated the same way.
        Err(_) => history,
    }
}

/// Penalises, in place, every distinct token of `window` (mirrors llama.cpp's
/// `llama_sampler_penalties_apply`: the repetition penalty divides positive logits and multiplies
/// non-positive ones, then `count * frequency + presence` is subtracted).
///
/// `counts` is scratch of at least `logits.len()` zeros and is left all zeros again, so a step
/// costs O(window), not O(vocab). Ids outside the vocabulary are skipped rather than trusted.
pub(crate) fn apply(logits: &mut [f32], window: &[u32], p: Penalties, counts: &mut [u32]) {
    for &t in window {
        if let Some(c) = counts.get_mut(t as usize) {
            *c += 1;
        }
    }
    for &t in window {
        let i = t as usize;
        let Some(c) = counts.get_mut(i) else { continue };
        if *c == 0 {
            // Already penalised at an earlier occurrence.
            continue;
        }
        let n = std::mem::take(c) as f32;
        let Some(l) = logits.get_mut(i) else { continue };
        if *l <= 0.0 {
            *l *= p.repetition;
        } else {
            *l /= p.repetition;
        }
        *l -= n * p.frequency + p.presence;
    }
}
