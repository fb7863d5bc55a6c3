//! Paged attention over the KV cache (f16 or q8_0), for prefill and decode alike: each query
//! token attends to the positions of its own sequence up to its own (causal), optionally within
//! a sliding window. Query heads share their KV head (GQA) without copying it.

use half::f16;
use rayon::prelude::*;

use super::dot::dot;
use super::kv::KvData;
use super::vexp;
use super::Cpu;

mod llama_order;

pub use llama_order::DotOrder;

/// One layer's cache: K and V as [n_blocks, block_size, n_kv_heads, head_dim].
pub struct KvView<'a> {
    pub k: KvData<'a>,
    pub v: KvData<'a>,
    pub block_size: usize,
}

/// Where each query token sits: its position and which sequence (index into the block
/// tables) it belongs to, and which of llama.cpp's dot orders its attention follows.
pub struct TokenPlaces<'a> {
    pub positions: &'a [u32],   // [t]
    pub token_seq: &'a [usize], // [t]
    pub orders: &'a [DotOrder], // [t]
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
    /// `scale` multiplies the queries instead of the scores, as llama.cpp does for Gemma: the
    /// same value, rounded to f16 after the scaling in the f16 cache's product (where small
    /// components fall into f16's subnormals). Devices that keep Q in f32 may ignore it.
    pub scale_q: bool,
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
        let TokenPlaces { positions, token_seq, orders } = *at;
        let t = positions.len();
        assert!(token_seq.len() == t && orders.len() == t, "attention: token placement of mismatched lengths");
        let hd = p.head_dim;
        let group = p.n_head / p.n_kv_head;
        self.pool.install(|| {
            // Per worker: the f16-rounded query, the cache slots, the scores of one (token,
            // head) and the f16 row's scratch.
            let init = || (vec![0f32; hd], Vec::<usize>::new(), Vec::<f32>::new(), llama_order::Scratch::default());
            out.par_chunks_mut(hd).enumerate().for_each_init(init, |(qh, slots, scores, scratch), (i, o)| {
                let (tok, h) = (i / p.n_head, i % p.n_head);
                let pos = positions[tok] as usize;
                let blocks = seqs[token_seq[tok]].blocks;
                let start = p.window.map_or(0, |w| (pos + 1).saturating_sub(w));
                // Element offsets of positions start..=pos in the cache, a block at a time.
                let (bs, kvh) = (kv.block_size, h / group);
                slots.clear();
                let mut j = start;
                while j <= pos {
                    let b = j / bs;
                    let end = (pos + 1).min((b + 1) * bs);
                    let base = blocks[b] as usize * bs;
                    slots.extend((j..end).map(|j| ((base + j - b * bs) * p.n_kv_head + kvh) * hd));
                    j = end;
                }
                let q = &q[i * hd..(i + 1) * hd];
                let (KvData::F16(k), KvData::F16(v)) = (kv.k, kv.v) else {
                    return widened_row(q, &kv.k, &kv.v, slots, start, p, qh, scores, o);
                };
                // llama.cpp's CPU path rounds Q to f16 for the K.Q product and the softmax
                // weights to f16 for the V product (mul_mat converts to the f16 cache's
                // vec_dot_type); doing the same keeps our logits on top of theirs.
                let (q_scale, kq_scale) = if p.scale_q { (p.scale, 1.0) } else { (1.0, p.scale) };
                for (d, &x) in qh.iter_mut().zip(q) {
                    *d = f16::from_f32(x * q_scale).to_f32();
                }
                let order = orders[tok];
                vexp::with_fma(|| {
                    llama_order::row(qh, k, v, slots, start, order, kq_scale, p.softcap, scores, scratch, o)
                });
            })
        });
    }
}

/// One attention row over K and V rows read back as f32 (the q8_0 cache: `d * q`, exact), for
/// the query `q` ([hd]) at the cache's value offsets `slots`. Q and the softmax weights stay f32,
/// as in llama.cpp's CPU flash attention over a quantized V and in the GPU kernels; `row` ([hd])
/// and `scores` are scratch.
#[allow(clippy::too_many_arguments)]
fn widened_row(
    q: &[f32],
    k: &KvData,
    v: &KvData,
    slots: &[usize],
    first: usize,
    p: &AttnParams,
    row: &mut [f32],
    scores: &mut Vec<f32>,
    o: &mut [f32],
) {
    scores.clear();
    for &s in slots {
        k.read(s, row);
        let x = dot(q, row) * p.scale;
        scores.push(p.softcap.map_or(x, |c| c * (x / c).tanh()));
    }
    softmax(scores, first);
    o.fill(0.0);
    for (&s, &w) in slots.iter().zip(scores.iter()) {
        v.read(s, row);
        o.iter_mut().zip(row.iter()).for_each(|(acc, x)| *acc += w * x);
    }
}

/// In-place softmax of the scores of keys `first ..` (-inf scores get zero weight), rounded as
/// llama.cpp's CPU soft_max (AVX-512 build): `vexp::expf` of `x - max`, each 16-key chunk
/// (aligned to key 0, as ggml's rows start there) summed as `reduce16` and added in f64, then
/// every weight times the f32 of 1 / sum.
pub fn softmax(x: &mut [f32], first: usize) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f64;
    let (mut lanes, n) = ([0f32; 16], x.len());
    vexp::with_fma(|| {
        for (i, v) in x.iter_mut().enumerate() {
            *v = vexp::expf(*v - max);
            let lane = (first + i) % 16;
            lanes[lane] = *v;
            if lane == 15 || i + 1 == n {
                sum += f64::from(vexp::reduce16(&lanes));
                lanes = [0.0; 16];
            }
        }
    });
    let inv = (1.0 / sum) as f32;
    x.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    /// Paged, GQA, windowed attention (both dot orders) against a dense f64 reference on the
    /// same f16 values (Q and the softmax weights rounded to f16 as the kernel does), with the
    /// sequence's blocks scattered over the pool in random order.
    #[test]
    fn matches_dense_reference() {
        let cpu = Cpu::new(2).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let (n_head, n_kv, hd, bs, len) = (6, 2, 16, 4, 23);
        for (window, order) in [(None, DotOrder::Batch), (Some(5), DotOrder::Batch), (None, DotOrder::Single)] {
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
            let p = AttnParams {
                n_head,
                n_kv_head: n_kv,
                head_dim: hd,
                scale: 0.25,
                window,
                softcap: None,
                scale_q: false,
            };
            let mut out = vec![f32::NAN; q.len()];
            let seqs = [SeqView { blocks: &blocks }];
            cpu.attention(
                &q,
                &TokenPlaces { positions: &positions, token_seq: &[0, 0, 0], orders: &[order; 3] },
                &seqs,
                &KvView { k: KvData::F16(&k), v: KvData::F16(&v), block_size: bs },
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

    /// The q8_0 cache: paged, GQA, windowed (and soft-capped) attention of a prefill chunk and of
    /// decode tokens of two sequences against a dense f64 reference on the values the cache
    /// reads back (d * q), for head sizes 64, 128 and 256.
    #[test]
    fn q8_0_cache_matches_dense_reference() {
        use crate::cpu::KvRows;
        use crate::KvType;
        let cpu = Cpu::new(2).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for (hd, window, softcap) in [(64, None, None), (128, Some(9), None), (256, None, Some(30.0))] {
            let (n_head, n_kv, bs, n_blocks) = (8, 2, 4, 24);
            let width = n_kv * hd;
            let mut k = KvRows::new(KvType::Q8_0, n_blocks * bs, width);
            let mut v = KvRows::new(KvType::Q8_0, n_blocks * bs, width);
            let mut blocks: Vec<u32> = (0..n_blocks as u32).collect();
            blocks.shuffle(&mut rng);
            // Sequence 0: 30 positions in blocks[..8]; sequence 1: 13 in blocks[8..12].
            let tables = [&blocks[..8], &blocks[8..12]];
            let lens = [30usize, 13];
            for (table, &len) in tables.iter().zip(&lens) {
                for j in 0..len {
                    let slot = table[j / bs] as usize * bs + j % bs;
                    let row = |rng: &mut rand::rngs::StdRng| -> Vec<f32> {
                        (0..width).map(|_| rng.gen_range(-1.0..1.0)).collect()
                    };
                    k.write(slot, &row(&mut rng));
                    v.write(slot, &row(&mut rng));
                }
            }
            // A prefill chunk of sequence 0 (its last 5 positions) and one decode token of 1.
            let positions = [25u32, 26, 27, 28, 29, 12];
            let token_seq = [0usize, 0, 0, 0, 0, 1];
            let t = positions.len();
            let q: Vec<f32> = (0..t * n_head * hd).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let scale = 1.0 / (hd as f32).sqrt();
            let p = AttnParams { n_head, n_kv_head: n_kv, head_dim: hd, scale, window, softcap, scale_q: false };
            let mut out = vec![f32::NAN; q.len()];
            let seqs = [SeqView { blocks: tables[0] }, SeqView { blocks: tables[1] }];
            let kv = KvView { k: k.data(), v: v.data(), block_size: bs };
            let orders = vec![DotOrder::Batch; token_seq.len()];
            cpu.attention(
                &q,
                &TokenPlaces { positions: &positions, token_seq: &token_seq, orders: &orders },
                &seqs,
                &kv,
                &p,
                &mut out,
            );
            let mut worst = 0f64;
            let mut row = vec![0f32; hd];
            for (ti, (&pos, &sq)) in positions.iter().zip(&token_seq).enumerate() {
                for h in 0..n_head {
                    let kvh = h / (n_head / n_kv);
                    let at = |j: usize| (tables[sq][j / bs] as usize * bs + j % bs) * width + kvh * hd;
                    let lo = window.map_or(0, |w| (pos as usize + 1).saturating_sub(w));
                    let qr = &q[(ti * n_head + h) * hd..][..hd];
                    let s: Vec<f64> = (lo..=pos as usize)
                        .map(|j| {
                            kv.k.read(at(j), &mut row);
                            let x = qr.iter().zip(&row).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum::<f64>()
                                * f64::from(scale);
                            softcap.map_or(x, |c| f64::from(c) * (x / f64::from(c)).tanh())
                        })
                        .collect();
                    let m = s.iter().cloned().fold(f64::MIN, f64::max);
                    let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
                    let mut want = vec![0f64; hd];
                    for (j, x) in (lo..=pos as usize).zip(&s) {
                        kv.v.read(at(j), &mut row);
                        let w = (x - m).exp() / z;
                        want.iter_mut().zip(&row).for_each(|(a, &b)| *a += w * f64::from(b));
                    }
                    for (d, (&got, want)) in out[(ti * n_head + h) * hd..][..hd].iter().zip(&want).enumerate() {
                        // f32 arithmetic over at most 30 keys of |v| <= 1 against f64.
                        const TOL: f64 = 1e-6;
                        let e = (f64::from(got) - want).abs();
                        assert!(e <= TOL, "hd {hd} token {ti} head {h} dim {d}: {got} vs {want}");
                        worst = worst.max(e);
                    }
                }
            }
            eprintln!("q8_0 attention hd {hd}: worst error {worst:.1e} vs f64");
        }
    }

    /// llama.cpp's softmax row covers keys from 0 with -inf outside the attended ones; the
    /// scores of keys `first ..` alone must get exactly those weights.
    #[test]
    fn softmax_of_some_keys_is_the_masked_full_row() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        for first in [0, 1, 5, 15, 16, 37] {
            for len in [1, 3, 16, 17, 40] {
                let x: Vec<f32> = (0..len).map(|_| rng.gen_range(-8.0..8.0)).collect();
                let mut got = x.clone();
                softmax(&mut got, first);
                let mut full = vec![f32::NEG_INFINITY; 256];
                full[first..first + len].copy_from_slice(&x);
                softmax(&mut full, 0);
                for (i, (a, b)) in got.iter().zip(&full[first..]).enumerate() {
                    assert_eq!(a.to_bits(), b.to_bits(), "first {first} len {len} key {i}: {a} vs {b}");
                }
                assert!(full[..first].iter().chain(&full[first + len..]).all(|&w| w == 0.0));
            }
        }
    }
}
