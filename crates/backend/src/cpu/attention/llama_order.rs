//! One attention row over an f16 cache with llama.cpp's CPU arithmetic (AVX-512 build, flash
//! attention off), which depends on how many tokens llama.cpp runs in the batch:
//!
//! * two or more ("batch", tinyBLAS f16 GEMM): a K.Q dot keeps 16 lanes, element d in lane
//!   d % 16, added in order, then `reduce16`; an output element sums `w_j * v_j` over keys in 16
//!   lanes by key index (from key 0) the same way;
//! * one ("single", `ggml_vec_dot_f16`): element e goes to lane e % 16 of accumulator
//!   (e / 16) % 4; then accumulators 0 + 2 and 1 + 3, those two, and `reduce16`.
//!
//! Q and the softmax weights are rounded to f16 (mul_mat converts them to the cache's type),
//! so every product is exact in f32 and the order of the sums is all there is to match.

use half::f16;
use half::slice::HalfFloatSliceExt;

use super::super::vexp::reduce16;

/// Which of llama.cpp's two f16 dot products a token's attention follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DotOrder {
    Batch,
    Single,
}

/// Scratch of one worker: a widened K or V row and the output lanes.
#[derive(Default)]
pub struct Scratch {
    row: Vec<f32>,
    lanes: Vec<f32>,
}

/// `sum(a[i] * b[i])` in `order` (the products must be exact in f32: f16 times f16). The
/// batch order needs a length that is a multiple of 16 (tinyBLAS declines others, and
/// llama.cpp falls back to the single order).
fn dot(a: &[f32], b: &[f32], order: DotOrder) -> f32 {
    let n = a.len().min(b.len());
    if order == DotOrder::Batch && n.is_multiple_of(16) {
        let mut l = [0f32; 16];
        for (ca, cb) in a[..n].chunks_exact(16).zip(b[..n].chunks_exact(16)) {
            for k in 0..16 {
                l[k] += ca[k] * cb[k];
            }
        }
        return reduce16(&l);
    }
    let whole = n / 64 * 64;
    let mut acc = [[0f32; 16]; 4];
    for (ca, cb) in a[..whole].chunks_exact(64).zip(b[..whole].chunks_exact(64)) {
        for (j, accj) in acc.iter_mut().enumerate() {
            for k in 0..16 {
                accj[k] += ca[16 * j + k] * cb[16 * j + k];
            }
        }
    }
    let l: [f32; 16] = core::array::from_fn(|k| (acc[0][k] + acc[2][k]) + (acc[1][k] + acc[3][k]));
    // The tail past a multiple of 64 is added one product at a time in f64.
    let tail: f64 = a[whole..n].iter().zip(&b[whole..n]).map(|(x, y)| f64::from(x * y)).sum();
    (f64::from(reduce16(&l)) + tail) as f32
}

/// The output `o` ([hd]) of the f16-rounded query `qh` ([hd]) over the K/V rows at element
/// offsets `slots` (keys `first ..`), `weights` being filled with the softmax weights.
#[allow(clippy::too_many_arguments)]
pub fn row(
    qh: &[f32],
    k: &[f16],
    v: &[f16],
    slots: &[usize],
    first: usize,
    order: DotOrder,
    scale: f32,
    softcap: Option<f32>,
    weights: &mut Vec<f32>,
    s: &mut Scratch,
    o: &mut [f32],
) {
    let hd = qh.len();
    s.row.resize(hd, 0.0);
    weights.clear();
    for &at in slots {
        k[at..at + hd].convert_to_f32_slice(&mut s.row);
        let x = dot(qh, &s.row, order) * scale;
        weights.push(softcap.map_or(x, |c| c * (x / c).tanh()));
    }
    super::softmax(weights, first);
    weights.iter_mut().for_each(|w| *w = f16::from_f32(*w).to_f32());
    // lanes: [16 (Batch) or 64 (Single)][hd]; key j adds into lane j % 16 (of accumulator
    // (j / 16) % 4). tinyBLAS takes the weights.V product only for head sizes of 4k.
    let order = if hd.is_multiple_of(4) { order } else { DotOrder::Single };
    let n_lanes = if order == DotOrder::Batch { 16 } else { 64 };
    s.lanes.clear();
    s.lanes.resize(n_lanes * hd, 0.0);
    for (i, (&at, &w)) in slots.iter().zip(weights.iter()).enumerate() {
        let j = first + i;
        v[at..at + hd].convert_to_f32_slice(&mut s.row);
        let lane = if order == DotOrder::Batch { j % 16 } else { 16 * ((j / 16) % 4) + j % 16 };
        let acc = &mut s.lanes[lane * hd..(lane + 1) * hd];
        acc.iter_mut().zip(&s.row).for_each(|(a, x)| *a += w * x);
    }
    let lane = |l: usize, d: usize| s.lanes[l * hd + d];
    for (d, out) in o.iter_mut().enumerate() {
        let l: [f32; 16] = match order {
            DotOrder::Batch => core::array::from_fn(|k| lane(k, d)),
            DotOrder::Single => {
                core::array::from_fn(|k| (lane(k, d) + lane(32 + k, d)) + (lane(16 + k, d) + lane(48 + k, d)))
            }
        };
        *out = reduce16(&l);
    }
}
