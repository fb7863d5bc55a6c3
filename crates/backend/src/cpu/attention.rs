//! Paged attention over an f16 KV cache, for prefill and decode alike: each query token attends
//! to the positions of its own sequence up to its own (causal), optionally within a sliding
//! window. Query heads share their KV head (GQA) without copying it.

use half::f16;
use rayon::prelude::*;

use super::dot::{axpy_f16, dot_f16};
use super::Cpu;

/// One layer's cache: K and V as [n_blocks, block_size, n_kv_heads, head_dim].
pub struct KvView<'a> {
    pub k: &'a [f16],
    pub v: &'a [f16],
    pub block_size: usize,
}

/// Where each query token sits: its position and which sequence (index into the block
/// tables) it belongs to.
pub struct TokenPlaces<'a> {
    pub positions: &'a [u32],   // [t]
    pub token_seq: &'a [usize], // [t]
}

/// A sequence's block table: logical block i lives in physical block `blocks[i]`.
pub struct SeqView<'a> {
    pub blocks: &'a [u32],
}

#[derive(Clone, Copy, Debug)]
pub struct AttnParams {
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    /// Multiplies q·k (1/sqrt(head_dim) usually).
    pub scale: f32,
    /// Attend only to positions p' with p - p' < window.
    pub window: Option<usize>,
    /// Gemma-2 style tanh soft-capping of the scores.
    pub softcap: Option<f32>,
}

impl Cpu {
    /// q: [t, n_head, head_dim]; out: [t, n_head, head_dim]. The K/V of every attended
    /// position must already be in `kv`.
    // hot: prefill cost grows with context here.
    pub fn attention(
        &self,
        q: &[f32],
        at: &TokenPlaces,
        seqs: &[SeqView],
        kv: &KvView,
        p: &AttnParams,
        out: &mut [f32],
    ) {
        let TokenPlaces { positions, token_seq } = *at;
        let hd = p.head_dim;
        let group = p.n_head / p.n_kv_head;
        self.pool.install(|| {
            // Per worker: the f16-rounded query and the scores of one (token, head).
            let init = || (vec![0f32; hd], Vec::<f32>::new());
            out.par_chunks_mut(hd).enumerate().for_each_init(init, |(qh, scores), (i, o)| {
                let (tok, h) = (i / p.n_head, i % p.n_head);
                let pos = positions[tok] as usize;
                let blocks = seqs[token_seq[tok]].blocks;
                let start = p.window.map_or(0, |w| (pos + 1).saturating_sub(w));
                // llama.cpp's CPU path rounds Q to f16 for the K·Q product and the softmax
                // weights to f16 for the V product (mul_mat converts to the f16 cache's
                // vec_dot_type); doing the same keeps our logits on top of theirs.
                for (d, &x) in qh.iter_mut().zip(&q[i * hd..(i + 1) * hd]) {
                    *d = f16::from_f32(x).to_f32();
                }
                let kvh = h / group;
                let slot = |j: usize| {
                    (blocks[j / kv.block_size] as usize * kv.block_size + j % kv.block_size) * p.n_kv_head + kvh
                };
                scores.clear();
                scores.extend((start..=pos).map(|j| {
                    let s = slot(j) * hd;
                    let x = dot_f16(qh, &kv.k[s..s + hd]) * p.scale;
                    p.softcap.map_or(x, |c| c * (x / c).tanh())
                }));
                softmax(scores);
                o.fill(0.0);
                for (j, w) in (start..=pos).zip(scores.iter()) {
                    let w = f16::from_f32(*w).to_f32();
                    let s = slot(j) * hd;
                    axpy_f16(o, w, &kv.v[s..s + hd]);
                }
            })
        });
    }
}

/// In-place softmax; -inf scores get zero weight.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f64;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += f64::from(*v);
    }
    let inv = (1.0 / sum) as f32;
    x.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    /// Paged, GQA, windowed attention against a dense f64 reference on the same f16 values
    /// (Q and the softmax weights rounded to f16 as the kernel does),
    /// with the sequence's blocks scattered over the pool in random order.
    #[test]
    fn matches_dense_reference() {
        let cpu = Cpu::new(2).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let (n_head, n_kv, hd, bs, len) = (6, 2, 16, 4, 23);
        for window in [None, Some(5)] {
            let n_blocks = 10;
            let mut blocks: Vec<u32> = (0..n_blocks as u32).collect();
            blocks.shuffle(&mut rng);
            let mut k = vec![f16::ZERO; n_blocks * bs * n_kv * hd];
            let mut v = k.clone();
            // Dense copies: [len, n_kv, hd]
            let dk: Vec<f16> = (0..len * n_kv * hd).map(|_| f16::from_f32(rng.gen_range(-1.0..1.0))).collect();
            let dv: Vec<f16> = (0..len * n_kv * hd).map(|_| f16::from_f32(rng.gen_range(-1.0..1.0))).collect();
            for j in 0..len {
                let slot = blocks[j / bs] as usize * bs + j % bs;
                k[slot * n_kv * hd..(slot + 1) * n_kv * hd].copy_from_slice(&dk[j * n_kv * hd..(j + 1) * n_kv * hd]);
                v[slot * n_kv * hd..(slot + 1) * n_kv * hd].copy_from_slice(&dv[j * n_kv * hd..(j + 1) * n_kv * hd]);
            }
            // Queries for the last 3 positions (a prefill chunk).
            let positions = [20u32, 21, 22];
            let q: Vec<f32> = (0..3 * n_head * hd).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let p = AttnParams { n_head, n_kv_head: n_kv, head_dim: hd, scale: 0.25, window, softcap: None };
            let mut out = vec![f32::NAN; q.len()];
            let seqs = [SeqView { blocks: &blocks }];
            cpu.attention(
                &q,
                &TokenPlaces { positions: &positions, token_seq: &[0, 0, 0] },
                &seqs,
                &KvView { k: &k, v: &v, block_size: bs },
                &p,
                &mut out,
            );
            for (t, &pos) in positions.iter().enumerate() {
                for h in 0..n_head {
                    let kvh = h / (n_head / n_kv);
                    let qh: Vec<f64> =
                        q[(t * n_head + h) * hd..][..hd].iter().map(|&x| f16::from_f32(x).to_f64()).collect();
                    let lo = window.map_or(0, |w| pos as usize + 1 - w);
                    let s: Vec<f64> = (lo..=pos as usize)
                        .map(|j| (0..hd).map(|d| qh[d] * dk[(j * n_kv + kvh) * hd + d].to_f64()).sum::<f64>() * 0.25)
                        .collect();
                    let m = s.iter().cloned().fold(f64::MIN, f64::max);
                    let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                    for d in 0..hd {
                        let want: f64 = (lo..=pos as usize)
                            .zip(&s)
                            .map(|(j, x)| {
                                let prob = f16::from_f64((x - m).exp() / z).to_f64();
                                prob * dv[(j * n_kv + kvh) * hd + d].to_f64()
                            })
                            .sum();
                        let got = out[(t * n_head + h) * hd + d] as f64;
                        // A softmax weight may round to the neighbouring f16 in one path and
                        // not the other: one f16 ulp (2^-11 relative) of a weight times |v| <= 1.
                        const TOL: f64 = 1e-4;
                        assert!((got - want).abs() < TOL, "window {window:?} t{t} h{h} d{d}: {got} vs {want}");
                    }
                }
            }
        }
    }
}
