//! Temperature, top-k, top-p and min-p over finite logits, and the weighted draw.
//!
//! Everything here sees logits that are finite or `-inf` (NaN already mapped to `-inf`, `+inf`
//! handled by the caller) and the finite maximum `max`. A token's weight is
//! `exp((logit - max) / temperature)`, its probability up to a common factor; the most likely
//! token has weight 1, so sums never overflow and never vanish, and `-inf` has weight 0.
//!
//! The filters are applied in the order top-k -> top-p -> min-p, each on the distribution the
//! previous one left (renormalised), as vLLM does after temperature. Each keeps a prefix of the
//! tokens sorted by (logit descending, id ascending), so the result is that order's shortest
//! prefix; only as much of it as needed is ever collected and sorted.

use std::cmp::Ordering;

use rand::Rng;

use super::fast_exp::{exp, sum_map};

/// One token that may still be drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Candidate {
    pub id: u32,
    pub logit: f32,
}

/// Most likely first; equal logits by lowest id, so truncation at ties is deterministic.
fn most_likely_first(a: &Candidate, b: &Candidate) -> Ordering {
    b.logit.total_cmp(&a.logit).then(a.id.cmp(&b.id))
}

/// Temperature and truncation settings of one step (`top_k`/`top_p`/`min_p` already mapped so
/// that "off" is `None`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Filter {
    pub temperature: f32,
    pub top_k: Option<usize>,
    pub top_p: Option<f32>,
    pub min_p: Option<f32>,
}

/// Size of the first slice sorted while looking for the top-p cut; it grows by `TOP_P_GROWTH`
/// each round. Most cuts at realistic temperatures fall within the first few dozen tokens.
const TOP_P_FIRST_CHUNK: usize = 64;
const TOP_P_GROWTH: usize = 8;

/// Histogram used to find, in one pass over the vocabulary, a prefix of the sorted order that
/// surely holds the top-k set or the top-p cut, so only that prefix is collected and sorted
/// (llama.cpp's bucket sort has the same aim). Buckets are `1 / BUCKETS_PER_UNIT` wide in
/// distance below the maximum (logit units for top-k, log-weight units for top-p) and cover 16
/// units; tokens further down are not binned at all, which keeps the bulk of a real vocabulary
/// off the histogram. When the binned tokens do not reach the cut, every token is collected.
const BUCKETS: usize = 256;
const BUCKETS_PER_UNIT: f32 = 16.0;

/// Distance of `logit` below `max` in bucket units (`+inf` for `-inf`). Monotone in the logit,
/// so the tokens with `dist < limit` are always a prefix of the sorted order.
#[inline]
fn dist(logit: f32, max: f32, scale: f32) -> f32 {
    (max - logit) * scale
}

/// The `dist` bound of the buckets up to the first one where the running sum reaches `target`;
/// `+inf` (everything) when the binned buckets never reach it.
fn bucket_limit<T: Copy + std::ops::AddAssign + PartialOrd>(hist: &[T], zero: T, target: T) -> f32 {
    let mut cum = zero;
    hist.iter()
        .position(|&h| {
            cum += h;
            cum >= target
        })
        .map_or(f32::INFINITY, |b| (b + 1) as f32)
}

/// Reusable buffers of one sampler (HOT path: never reallocated once grown).
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// Tokens still in play: `[<= vocab]`.
    cands: Vec<Candidate>,
    /// Weight of every token: `[vocab]`.
    weights: Vec<f32>,
}

/// Where [`truncate`] left the tokens that may be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    /// `Scratch::weights` holds every token's weight, zero for the excluded ones.
    Weights,
    /// `Scratch::cands` lists the kept tokens.
    Cands,
}

/// A token's weight at temperature `1 / inv_t` relative to the maximum.
#[inline(always)]
fn weight_fn(max: f32, inv_t: f32) -> impl Fn(f32) -> f32 {
    move |l| exp((l - max) * inv_t)
}

/// Draws one token id from `logits` after temperature, top-k, top-p and min-p.
///
/// `max` must be the finite maximum of `logits`, so at least one token has weight 1 and the draw
/// always returns a token.
pub(crate) fn draw<R: Rng>(logits: &[f32], max: f32, f: Filter, scratch: &mut Scratch, rng: &mut R) -> u32 {
    match truncate(logits, max, f, scratch) {
        Kept::Weights => draw_direct(&scratch.weights, rng),
        Kept::Cands => draw_from(&scratch.cands, &weight_fn(max, 1.0 / f.temperature), rng),
    }
}

/// Applies temperature, top-k, top-p and min-p; the tokens left are described by the result.
pub(crate) fn truncate(logits: &[f32], max: f32, f: Filter, scratch: &mut Scratch) -> Kept {
    let inv_t = 1.0 / f.temperature;
    let weight = weight_fn(max, inv_t);
    // min-p in logit space: p >= min_p * p_max  <=>  logit >= max + T * ln(min_p). The ratio to
    // the top token does not change when earlier filters renormalise, so it can be applied here.
    let min_logit = match f.min_p {
        Some(m) => max + f.temperature * m.ln(),
        None => f32::NEG_INFINITY,
    };
    let allowed = |l: f32| l > f32::NEG_INFINITY && l >= min_logit;
    let Scratch { cands, weights } = scratch;
    cands.clear();

    if let Some(k) = f.top_k {
        // Top-k: bucketed by raw logit distance, as the top-k set does not depend on temperature.
        let mut count = [0usize; BUCKETS];
        for &l in logits {
            let d = dist(l, max, BUCKETS_PER_UNIT);
            if d < BUCKETS as f32 {
                count[d as usize] += 1;
            }
        }
        let limit = bucket_limit(&count, 0, k);
        collect(logits, cands, |l| l > f32::NEG_INFINITY && dist(l, max, BUCKETS_PER_UNIT) < limit);
        if k < cands.len() {
            cands.select_nth_unstable_by(k - 1, most_likely_first);
            cands.truncate(k);
        }
        // The mass top-p takes its fraction of: the top-k set's.
        let total: f64 = cands.iter().map(|c| weight(c.logit) as f64).sum();
        cands.retain(|c| allowed(c.logit));
        if let Some(p) = f.top_p {
            let keep = top_p_prefix(cands, p as f64 * total, &weight);
            cands.truncate(keep);
        }
        return Kept::Cands;
    }

    // Weights of the whole vocabulary in one vectorised pass.
    weights.resize(logits.len(), 0.0);
    for (w, &l) in weights.iter_mut().zip(logits) {
        *w = weight(l);
    }

    let Some(p) = f.top_p else {
        // Temperature (and min-p) only: no candidate list, no sorting.
        for (w, &l) in weights.iter_mut().zip(logits) {
            if !allowed(l) {
                *w = 0.0;
            }
        }
        return Kept::Weights;
    };

    // Top-p: bucketed by log-weight; one pass finds the bucket where the cumulative mass crosses
    // the cut, and only tokens up to it are collected and (partly) sorted. The total includes
    // tokens min-p will drop: top-p comes first and sees the distribution before min-p.
    let total = sum_map(weights, |w| w);
    let target = p as f64 * total;
    let scale = BUCKETS_PER_UNIT * inv_t;
    let mut mass = [0.0f64; BUCKETS];
    for (&l, &w) in logits.iter().zip(weights.iter()) {
        let d = dist(l, max, scale);
        if d < BUCKETS as f32 {
            mass[d as usize] += w as f64;
        }
    }
    let limit = bucket_limit(&mass, 0.0, target);
    // Tokens below the min-p cut can never survive, so they are not collected.
    collect(logits, cands, |l| allowed(l) && dist(l, max, scale) < limit);
    let keep = top_p_prefix(cands, target, &weight);
    cands.truncate(keep);
    Kept::Cands
}

fn collect(logits: &[f32], cands: &mut Vec<Candidate>, keep: impl Fn(f32) -> bool) {
    cands.extend(
        logits.iter().enumerate().filter(|(_, &l)| keep(l)).map(|(i, &l)| Candidate { id: i as u32, logit: l }),
    );
}

/// Sorts just enough of `cands` (most likely first) to find the shortest prefix whose weight
/// reaches `target`, and returns its length (all of `cands` when rounding keeps it short).
fn top_p_prefix(cands: &mut [Candidate], target: f64, weight: &impl Fn(f32) -> f32) -> usize {
    let mut start = 0;
    let mut chunk = TOP_P_FIRST_CHUNK;
    let mut cum = 0.0f64;
    while start < cands.len() {
        let rest = &mut cands[start..];
        let take = chunk.min(rest.len());
        if take < rest.len() {
            // The `take` most likely of the rest go to the front; only they get sorted.
            rest.select_nth_unstable_by(take - 1, most_likely_first);
        }
        rest[..take].sort_unstable_by(most_likely_first);
        for (i, c) in rest[..take].iter().enumerate() {
            cum += weight(c.logit) as f64;
            if cum >= target {
                return start + i + 1;
            }
        }
        start += take;
        chunk = chunk.saturating_mul(TOP_P_GROWTH);
    }
    cands.len()
}

/// Inverse-CDF draw over `cands` by weight.
fn draw_from<R: Rng>(cands: &[Candidate], weight: &impl Fn(f32) -> f32, rng: &mut R) -> u32 {
    let total: f64 = cands.iter().map(|c| weight(c.logit) as f64).sum();
    let u = rng.gen::<f64>() * total;
    let mut acc = 0.0f64;
    let mut last = None;
    for c in cands {
        let w = weight(c.logit) as f64;
        if w > 0.0 {
            acc += w;
            last = Some(c.id);
            if acc > u {
                return c.id;
            }
        }
    }
    // Only reached through rounding; the top token (weight 1) is always among the candidates.
    last.or(cands.first().map(|c| c.id)).unwrap_or(0)
}

/// Inverse-CDF draw over per-token `weights` (`[vocab]`, zero for excluded tokens).
fn draw_direct<R: Rng>(weights: &[f32], rng: &mut R) -> u32 {
    let total = sum_map(weights, |w| w);
    let u = rng.gen::<f64>() * total;
    let mut acc = 0.0f64;
    let mut last = 0;
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            acc += w as f64;
            last = i as u32;
            if acc > u {
                return i as u32;
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ids `truncate` keeps with a non-zero weight (the ones that can be drawn), ascending.
    fn kept(logits: &[f32], f: Filter) -> Vec<u32> {
        let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let mut s = Scratch::default();
        let mut ids: Vec<u32> = match truncate(logits, max, f, &mut s) {
            Kept::Weights => (0..logits.len() as u32).filter(|&i| s.weights[i as usize] > 0.0).collect(),
            Kept::Cands => {
                let w = weight_fn(max, 1.0 / f.temperature);
                s.cands.iter().filter(|c| w(c.logit) > 0.0).map(|c| c.id).collect()
            }
        };
        ids.sort_unstable();
        ids
    }

    /// Closeness to a cut within which f32 weights and summation order may decide either way:
    /// relative to the total mass for top-p, in log-weight for min-p.
    const MARGIN: f64 = 1e-5;

    /// Log-weights below this underflow to weight 0 in f32 (never drawn); between the two bounds
    /// it depends on rounding.
    const UNDERFLOW: (f64, f64) = (-88.5, -86.5);

    /// Reference set by full sort in f64, and whether a cut fell within `MARGIN` of a token.
    fn reference(logits: &[f32], f: Filter) -> (Vec<u32>, bool) {
        let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
        let t = f.temperature as f64;
        let mut order: Vec<u32> =
            (0..logits.len() as u32).filter(|&i| logits[i as usize] > f32::NEG_INFINITY).collect();
        order.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]).then(a.cmp(&b)));
        let logw = |i: u32| (logits[i as usize] as f64 - max) / t;
        let mut ambiguous = false;
        if let Some(k) = f.top_k {
            order.truncate(k);
        }
        if let Some(p) = f.top_p {
            let total: f64 = order.iter().map(|&i| logw(i).exp()).sum();
            let target = p as f64 * total;
            let mut cum = 0.0;
            let mut keep = order.len();
            for (n, &i) in order.iter().enumerate() {
                let before = cum;
                cum += logw(i).exp();
                if cum >= target {
                    ambiguous |= (cum - target).abs() < MARGIN * total || (before - target).abs() < MARGIN * total;
                    keep = n + 1;
                    break;
                }
            }
            order.truncate(keep);
        }
        if let Some(m) = f.min_p {
            let cut = (m as f64).ln();
            ambiguous |= order.iter().any(|&i| (logw(i) - cut).abs() < MARGIN);
            order.retain(|&i| logw(i) >= cut);
        }
        ambiguous |= order.iter().any(|&i| (UNDERFLOW.0..UNDERFLOW.1).contains(&logw(i)));
        order.retain(|&i| logw(i) >= UNDERFLOW.1);
        order.sort_unstable();
        (order, ambiguous)
    }

    fn logit() -> impl Strategy<Value = f32> {
        prop_oneof![
            4 => -30.0f32..10.0,
            // On a grid, so ties happen, also at cuts.
            3 => (-20i32..20).prop_map(|i| i as f32 * 0.5),
            1 => Just(f32::NEG_INFINITY),
        ]
    }

    fn filter() -> impl Strategy<Value = Filter> {
        (
            0.05f32..5.0,
            proptest::option::of(1usize..300),
            proptest::option::of(0.05f32..0.999),
            proptest::option::of(0.0001f32..1.0),
        )
            .prop_map(|(temperature, top_k, top_p, min_p)| Filter { temperature, top_k, top_p, min_p })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]

        /// The bucketed, partly sorted path keeps exactly the reference set.
        #[test]
        fn kept_set_matches_full_sort(
            logits in proptest::collection::vec(logit(), 1..2500),
            f in filter(),
        ) {
            prop_assume!(logits.iter().any(|&l| l > f32::NEG_INFINITY));
            let (want, ambiguous) = reference(&logits, f);
            prop_assume!(!ambiguous);
            prop_assert_eq!(kept(&logits, f), want);
        }
    }

    /// Cuts outside the binned range: top-k with fewer than k tokens within 16 units of the top,
    /// and top-p whose target needs the unbinned tail.
    #[test]
    fn cuts_beyond_the_histogram() {
        let mut logits = vec![30.0, 29.5, 29.0];
        logits.extend((0..5000).map(|i| (i % 50) as f32 * 0.01));
        let f = Filter { temperature: 1.0, top_k: Some(10), top_p: None, min_p: None };
        assert_eq!(kept(&logits, f), reference(&logits, f).0);
        assert_eq!(kept(&logits, f).len(), 10);

        // 5000 tokens 16.5 below the top hold ~3.4e-4 of the mass; top-p 0.9999 needs ~70% of
        // them. Single tail tokens weigh less than f32 rounding of the total, so the cut may move
        // by a few tokens: compare its place, not the exact set.
        let mut logits = vec![30.0];
        logits.extend((0..5000).map(|i| 30.0 - 16.5 - (i % 50) as f32 * 0.001));
        let f = Filter { temperature: 1.0, top_k: None, top_p: Some(0.9999), min_p: None };
        let got = kept(&logits, f);
        let want = reference(&logits, f).0;
        assert!(got.contains(&0));
        assert!(want.len() > 1000, "the cut should reach the tail");
        let off = got.len().abs_diff(want.len()) as f64 / want.len() as f64;
        assert!(off < 0.01, "kept {} vs reference {}", got.len(), want.len());
    }
}
