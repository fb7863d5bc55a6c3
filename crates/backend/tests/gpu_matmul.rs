//! The quantized matmul and row-gather kernels on a real device, for every weight type of the
//! CPU backend, against an f64 product of the reference dequantization (`gguf::quants`); the
//! GEMV's result for a token is the same, bit for bit, whatever the batch around it.
//! Skipped without a GPU; `ROCMFORGE_REQUIRE_GPU=1` makes that a failure.
//!
//! The GEMV of a quantized type encodes each token's activations as the CPU backend does
//! (`cpu::qdot::quantize_row`: 8-bit blocks) and sums integer products per block, so it is
//! checked twice: against the f64 product with the encoded activations (MATMUL_TOL, as any f32
//! accumulation), which shows it computes the CPU's function, and against the f64 product with
//! the f32 activations, off by at most the encoding's rounding (`act_error_bound`: about half a
//! quant step per value, the bound tests/qdot.rs states for the CPU).

mod common;

use backend::cpu::qdot::{act_row_bytes, quantize_row, ActType, WEIGHT_TYPES};
use backend::gpu::{DeviceBuffer, GemvConfig, Gpu, GpuError, GpuMatrix, Matmul, MatmulKernel, Stream};
use backend::WeightView;
use common::*;
use gguf::quants::{dequantize_to_vec, random_blocks};
use gguf::GgmlType;
use rand::rngs::StdRng;
use rand::Rng;

/// Largest error of a product, relative to sum_c |W[r, c] x[i, c]| (the scale of its rounding
/// errors whatever the cancellation): f32 accumulation over a few thousand terms stays far below.
const MATMUL_TOL: f64 = 1e-5;

/// Token counts: one, partial and whole groups of the GEMV (8) and tiles of the GEMM (32).
const TOKENS: [usize; 8] = [1, 2, 3, 7, 8, 9, 33, 130];
const KERNELS: [MatmulKernel; 2] = [MatmulKernel::Gemv, MatmulKernel::Gemm];

/// (rows, cols) per test: rows not a multiple of any tile, cols from one chunk (or super-block)
/// to several GEMV steps, with partial steps; few long rows make the int8 GEMV split rows over
/// several warps (2 for the fourth shape, 8 for the last).
fn shapes(ty: GgmlType) -> [(usize, usize); 6] {
    if ty.block_size() == 256 {
        [(1, 256), (37, 768), (896, 512), (1031, 2304), (4864, 256), (37, 8448)]
    } else {
        [(1, 32), (37, 96), (896, 896), (1031, 2080), (4864, 64), (37, 8224)]
    }
}

fn random_matrix(ty: GgmlType, rows: usize, cols: usize, r: &mut StdRng) -> Vec<u8> {
    random_blocks(ty, rows * cols / ty.block_size(), 1.0, r).unwrap()
}

fn upload(gpu: &Gpu, ty: GgmlType, rows: usize, cols: usize, bytes: &[u8]) -> GpuMatrix {
    let view = WeightView::from_parts("w", ty, rows, cols, bytes).unwrap();
    GpuMatrix::upload(gpu, &view, &format!("{ty} {rows}x{cols}")).unwrap()
}

/// The exact products of one (token, row), in f64.
#[derive(Clone, Copy, Default)]
struct Exact {
    /// sum_c w x and sum_c |w x| with the f32 activations.
    sum: f64,
    abs: f64,
    /// The same with the encoded activations (as the GEMV of a quantized type sees them).
    sum_q: f64,
    abs_q: f64,
    /// sum_c |w| * (bound on |encoded x - x|).
    bound: f64,
}

/// Checks `got` (one output) against the CPU's function, the product with the encoded
/// activations (`min`: the Q4_1/Q5_1 min term and its magnitude), within MATMUL_TOL, and against
/// the f32 product within the encoding's rounding. Returns both relative errors.
fn check_encoded(what: &str, got: f64, ex: &Exact, min: (f64, f64)) -> (f64, f64) {
    let (add, mag) = min;
    let (sum, abs) = (ex.sum_q + add, ex.abs_q + mag);
    let err = (got - sum).abs() / abs.max(f64::MIN_POSITIVE);
    assert!(
        err <= MATMUL_TOL,
        "{what} = {got}, want {sum} with the encoded activations (error {err:e} of sum |w xq| = {abs})"
    );
    let tol = MATMUL_TOL * ex.abs + ex.bound + mag / 1024.0;
    let diff = (got - ex.sum).abs();
    assert!(diff <= tol, "{what} = {got}, want {} within {tol:e} of the f32 product", ex.sum);
    (err, diff / ex.abs.max(f64::MIN_POSITIVE))
}

/// The f64 products for i < t, r < rows; [t, rows]. `xq` and `e`: the encoded activations and
/// the bound on their error (both [t, cols]).
fn reference(w: &[f32], x: &[f32], xq: &[f64], e: &[f64], rows: usize, cols: usize, t: usize) -> Vec<Exact> {
    let mut out = vec![Exact::default(); t * rows];
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get());
    let per = out.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (n, chunk) in out.chunks_mut(per).enumerate() {
            s.spawn(move || {
                for (k, o) in chunk.iter_mut().enumerate() {
                    let (i, r) = ((n * per + k) / rows, (n * per + k) % rows);
                    let row = r * cols..(r + 1) * cols;
                    let tok = i * cols..(i + 1) * cols;
                    for (((&w, &x), &xq), &e) in w[row].iter().zip(&x[tok.clone()]).zip(&xq[tok.clone()]).zip(&e[tok]) {
                        let w = f64::from(w);
                        let (p, pq) = (w * f64::from(x), w * xq);
                        o.sum += p;
                        o.abs += p.abs();
                        o.sum_q += pq;
                        o.abs_q += pq.abs();
                        o.bound += w.abs() * e;
                    }
                }
            });
        }
    });
    out
}

/// The activations as the GEMV encodes them for `act` (`None`: unchanged): (the encoded values,
/// a bound on |encoded - x| per value, the encoded rows). The bound is tests/qdot.rs's.
fn encode(act: Option<ActType>, x: &[f32], cols: usize) -> (Vec<f64>, Vec<f64>, Vec<Vec<u8>>) {
    let Some(act) = act else { return (x.iter().map(|&v| f64::from(v)).collect(), vec![0.0; x.len()], vec![]) };
    let f16 = |b: &[u8], at: usize| f64::from(half::f16::from_le_bytes([b[at], b[at + 1]]).to_f32());
    let (mut xq, mut e, mut raw) = (Vec::with_capacity(x.len()), Vec::with_capacity(x.len()), Vec::new());
    for row in x.chunks_exact(cols) {
        let mut a = vec![0u8; act_row_bytes(act, cols)];
        quantize_row(act, row, &mut a);
        let (bs, k) = match act {
            ActType::Q8_0 => {
                a.chunks_exact(34).for_each(|b| xq.extend(b[2..].iter().map(|&q| f64::from(q as i8) * f16(b, 0))));
                (32, 0.57)
            }
            ActType::Q8_1 => {
                a.chunks_exact(36).for_each(|b| xq.extend(b[4..].iter().map(|&q| f64::from(q as i8) * f16(b, 0))));
                (32, 0.57)
            }
            ActType::Q8_K => {
                for b in a.chunks_exact(292) {
                    let d = f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
                    xq.extend(b[4..260].iter().map(|&q| f64::from(q as i8) * d));
                }
                (256, 0.5 * (1.0 + 1e-5))
            }
            other => panic!("the GEMV does not encode activations as {other:?}"),
        };
        // Rounding (half a step of d = amax / 127), plus d stored as f16 for Q8_0 and Q8_1 (|q|
        // <= 127 times a relative 2^-11): d * (0.5 + 127 / 2048) < 0.57 d.
        for b in row.chunks_exact(bs) {
            let amax = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            e.extend(std::iter::repeat_n(k * f64::from(amax) / 127.0, bs));
        }
        raw.push(a);
    }
    (xq, e, raw)
}

/// For Q4_1/Q5_1 weights with Q8_1 activations, per (token, row): (the term the encoded product
/// lacks, its magnitude). ggml's dot adds m * s per block, s = f16(d * sum q) of the activation
/// block, where the dequantized product has m * d * sum q.
fn q8_1_min_terms(ty: GgmlType, w: &[u8], raw: &[Vec<u8>], rows: usize, cols: usize) -> Vec<(f64, f64)> {
    if !matches!(ty, GgmlType::Q4_1 | GgmlType::Q5_1) || raw.is_empty() {
        return vec![(0.0, 0.0); raw.len().max(1) * rows];
    }
    let f16 = |b: &[u8], at: usize| f64::from(half::f16::from_le_bytes([b[at], b[at + 1]]).to_f32());
    let (nb, bb) = (cols / 32, ty.type_size());
    let mut out = Vec::with_capacity(raw.len() * rows);
    for a in raw {
        let act: Vec<(f64, f64)> = a
            .chunks_exact(36)
            .map(|b| {
                let sum_q: i32 = b[4..36].iter().map(|&q| i32::from(q as i8)).sum();
                (f16(b, 2), f16(b, 2) - f16(b, 0) * f64::from(sum_q))
            })
            .collect();
        for r in 0..rows {
            let (mut add, mut mag) = (0.0, 0.0);
            for (blk, (s, c)) in act.iter().enumerate().take(nb) {
                let m = f16(&w[(r * nb + blk) * bb..], 2);
                add += m * c;
                mag += (m * s).abs();
            }
            out.push((add, mag));
        }
    }
    out
}

fn is_poison(v: f32) -> bool {
    v.to_bits() == u32::MAX
}

#[test]
fn products_match_the_reference_for_every_type() {
    let Some(gpu) = gpu() else { return };
    let mm = Matmul::new(&gpu).unwrap_or_else(|e| panic!("{e}"));
    let s = gpu.stream();
    let mut r = rng("matmul");
    let t_max = TOKENS[TOKENS.len() - 1];
    for ty in WEIGHT_TYPES {
        let (mut worst, mut worst_q, mut worst_x) = (0f64, 0f64, 0f64);
        let mut act = None;
        for (rows, cols) in shapes(ty) {
            let bytes = random_matrix(ty, rows, cols, &mut r);
            let w = upload(&gpu, ty, rows, cols, &bytes);
            let wf = dequantize_to_vec(ty, &bytes).unwrap();
            let x = random_vec(&mut r, t_max * cols, 1.0);
            act = mm.gemv_activations(&w);
            let (xq, e, raw) = encode(act, &x, cols);
            // Token i's row depends on x[i] only.
            let want = reference(&wf, &x, &xq, &e, rows, cols, t_max);
            let min_terms = q8_1_min_terms(ty, &bytes, &raw, rows, cols);
            let dx = gpu.upload(&x, "x").unwrap();
            let mut gemv_all = poisoned(&gpu, t_max * rows, "y of all tokens");
            mm.matmul_with(MatmulKernel::Gemv, s, &w, &dx, t_max, &mut gemv_all).unwrap();
            let gemv_all = gemv_all.read(s).unwrap();
            for (t, kernel) in TOKENS.into_iter().flat_map(|t| KERNELS.map(|k| (t, k))) {
                let what = format!("{ty} {rows}x{cols} t={t} {kernel:?}");
                let extra = 7; // past t * rows: must stay poisoned
                let mut dy = poisoned(&gpu, t * rows + extra, "y");
                mm.matmul_with(kernel, s, &w, &dx, t, &mut dy).unwrap_or_else(|e| panic!("{what}: {e}"));
                let y = dy.read(s).unwrap();
                let encoded = kernel == MatmulKernel::Gemv && act.is_some();
                for (k, (&got, ex)) in y[..t * rows].iter().zip(&want).enumerate() {
                    let (i, row, got) = (k / rows, k % rows, f64::from(got));
                    if encoded {
                        let (err_q, err_x) = check_encoded(&format!("{what}: y[{i}, {row}]"), got, ex, min_terms[k]);
                        worst_q = worst_q.max(err_q);
                        worst_x = worst_x.max(err_x);
                    } else {
                        let err = (got - ex.sum).abs() / ex.abs.max(f64::MIN_POSITIVE);
                        assert!(
                            err <= MATMUL_TOL,
                            "{what}: y[{i}, {row}] = {got}, want {} (error {err:e} of sum |w x| = {})",
                            ex.sum,
                            ex.abs
                        );
                        worst = worst.max(err);
                    }
                }
                assert!(y[t * rows..].iter().all(|&v| is_poison(v)), "{what}: wrote past y[t * rows]");
                if kernel == MatmulKernel::Gemv {
                    let same = y[..t * rows].iter().zip(&gemv_all).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{what}: a token's GEMV result depends on the batch");
                }
            }
            // The kernel matmul picks gives the same bits as asking for it.
            let t = 33;
            let mut a = poisoned(&gpu, t * rows, "auto");
            let mut b = poisoned(&gpu, t * rows, "chosen");
            mm.matmul(s, &w, &dx, t, &mut a).unwrap();
            mm.matmul_with(mm.kernel_for(&w, t), s, &w, &dx, t, &mut b).unwrap();
            let (a, b) = (a.read(s).unwrap(), b.read(s).unwrap());
            assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()), "{ty}: matmul is matmul_with");
        }
        eprintln!(
            "{ty:>6}: {} shapes x t in {TOKENS:?} x GEMV, GEMM: worst error {worst:.2e} of sum |w x| (tolerance \
             {MATMUL_TOL:e}){}",
            shapes(ty).len(),
            match act {
                Some(a) => format!(
                    "; GEMV with {a:?} activations: {worst_q:.2e} of sum |w xq| (tolerance {MATMUL_TOL:e}), \
                     {worst_x:.2e} of sum |w x| from the f32 product (within the encoding's bound)"
                ),
                None => String::new(),
            }
        );
    }
}

#[test]
fn get_rows_is_bit_exact_for_every_type() {
    let Some(gpu) = gpu() else { return };
    let mm = Matmul::new(&gpu).unwrap();
    let s = gpu.stream();
    let mut r = rng("get_rows");
    for ty in WEIGHT_TYPES {
        let [_, (rows_a, cols_a), _, (rows_b, cols_b), _, _] = shapes(ty);
        for (rows, cols) in [(rows_a, cols_a), (rows_b, cols_b)] {
            let bytes = random_matrix(ty, rows, cols, &mut r);
            let w = upload(&gpu, ty, rows, cols, &bytes);
            let wf = dequantize_to_vec(ty, &bytes).unwrap();
            for (n, scale) in [(1, 1.0f32), (5, 29.933259), (300, 0.125)] {
                let mut ids: Vec<u32> = (0..n).map(|_| r.gen_range(0..rows as u32)).collect();
                ids[0] = rows as u32 - 1;
                if n > 1 {
                    ids[1] = 0;
                }
                let dids = gpu.upload(&ids, "ids").unwrap();
                let mut out = poisoned(&gpu, n * cols + 5, "rows");
                mm.get_rows(s, &w, &dids, n, scale, &mut out).unwrap();
                let got = out.read(s).unwrap();
                for (i, &id) in ids.iter().enumerate() {
                    let row = &wf[id as usize * cols..(id as usize + 1) * cols];
                    for (c, &v) in row.iter().enumerate() {
                        let want = v * scale;
                        let g = got[i * cols + c];
                        assert_eq!(
                            g.to_bits(),
                            want.to_bits(),
                            "{ty} {rows}x{cols}: row {id} [{c}]: got {g}, want {want}"
                        );
                    }
                }
                assert!(got[n * cols..].iter().all(|&v| is_poison(v)), "{ty}: wrote past out[n * cols]");
            }
        }
        eprintln!("{ty:>6}: get_rows bit-exact");
    }
    // An id out of range (the caller's bug) gives NaN, not a read out of bounds.
    let bytes = random_matrix(GgmlType::Q4_K, 3, 256, &mut r);
    let w = upload(&gpu, GgmlType::Q4_K, 3, 256, &bytes);
    let ids = gpu.upload(&[1u32, 3, u32::MAX], "bad ids").unwrap();
    let mut out = poisoned(&gpu, 3 * 256, "rows");
    out.fill_bytes(s, 0).unwrap();
    mm.get_rows(s, &w, &ids, 3, 1.0, &mut out).unwrap();
    let got = out.read(s).unwrap();
    assert!(got[..256].iter().all(|v| v.is_finite()));
    assert!(got[256..].iter().all(|v| v.is_nan()), "ids >= rows give NaN rows");
}

#[test]
fn bad_arguments_are_errors() {
    for ty in WEIGHT_TYPES {
        assert!(Matmul::supports(ty), "{ty}");
    }
    for ty in [GgmlType::Q8_K, GgmlType::Q8_1, GgmlType::IQ2_XXS, GgmlType::I32] {
        assert!(!Matmul::supports(ty), "{ty}");
    }
    let Some(gpu) = gpu() else { return };
    let mm = Matmul::new(&gpu).unwrap();
    let s = gpu.stream();
    let mut r = rng("bad args");
    let invalid = |e: GpuError, want: &str| {
        let msg = e.to_string();
        assert!(matches!(e, GpuError::Invalid(_)) && msg.contains(want), "{msg}");
        eprintln!("{msg}");
    };

    let q8k = random_blocks(GgmlType::Q8_K, 2, 1.0, &mut r).unwrap();
    let view = WeightView::from_parts("q8k", GgmlType::Q8_K, 2, 256, &q8k).unwrap();
    invalid(GpuMatrix::upload(&gpu, &view, "q8k").unwrap_err(), "q8k: no GPU matmul kernel for type Q8_K");
    let f = vec![0u8; 4 * 20 * 3];
    let view = WeightView::from_parts("f", GgmlType::F32, 3, 20, &f).unwrap();
    invalid(GpuMatrix::upload(&gpu, &view, "narrow").unwrap_err(), "cols must be a positive multiple of 32");
    let view = WeightView { ty: GgmlType::Q4_0, rows: 4, cols: 64, data: &f };
    invalid(GpuMatrix::upload(&gpu, &view, "short").unwrap_err(), "240 bytes do not hold 4 rows of 64 Q4_0 values");

    let (rows, cols) = (5, 256);
    let bytes = random_matrix(GgmlType::Q6_K, rows, cols, &mut r);
    let w = upload(&gpu, GgmlType::Q6_K, rows, cols, &bytes);
    assert_eq!((w.ty(), w.rows(), w.cols(), w.size_bytes()), (GgmlType::Q6_K, rows, cols, 5 * 210));
    let x: DeviceBuffer<f32> = gpu.upload(&vec![1.0; 3 * cols], "x").unwrap();
    let mut y = poisoned(&gpu, 3 * rows, "y");
    invalid(mm.matmul(s, &w, &x, 4, &mut y).unwrap_err(), "x (x) holds 768 values, needs 4 x 256");
    let mut small_y = poisoned(&gpu, 2 * rows, "small y");
    invalid(mm.matmul(s, &w, &x, 3, &mut small_y).unwrap_err(), "y (small y) holds 10 values, needs 3 x 5");
    invalid(mm.matmul(s, &w, &x, 65535 * 8 + 1, &mut y).unwrap_err(), "524281 tokens is over the kernels' limit");
    for kernel in KERNELS {
        mm.matmul_with(kernel, s, &w, &x, 0, &mut y).unwrap();
    }
    assert!(y.read(s).unwrap().iter().all(|&v| is_poison(v)), "t = 0 writes nothing");

    let ids = gpu.upload(&[0u32, 1], "ids").unwrap();
    let mut out = poisoned(&gpu, 2 * cols, "out");
    invalid(mm.get_rows(s, &w, &ids, 3, 1.0, &mut out).unwrap_err(), "ids (ids) holds 2 ids, needs 3");
    let mut small = poisoned(&gpu, 2 * cols - 1, "small out");
    invalid(
        mm.get_rows(s, &w, &ids, 2, 1.0, &mut small).unwrap_err(),
        "out (small out) holds 511 values, needs 2 x 256",
    );
    mm.get_rows(s, &w, &ids, 0, 1.0, &mut out).unwrap();
    assert!(out.read(s).unwrap().iter().all(|&v| is_poison(v)), "n = 0 writes nothing");
}

/// Mean device time of `f` over `reps` calls (after a warm-up), in ms.
fn time_ms(gpu: &Gpu, s: &Stream, reps: usize, mut f: impl FnMut(usize)) -> f64 {
    for i in 0..3 {
        f(i);
    }
    let (e0, e1) = (gpu.event().unwrap(), gpu.event().unwrap());
    e0.record(s).unwrap();
    for i in 0..reps {
        f(i);
    }
    e1.record(s).unwrap();
    s.synchronize().unwrap();
    f64::from(e0.elapsed_ms(&e1).unwrap()) / reps as f64
}

/// Prints (asserts nothing) where the kernels stand: the weight bandwidth of the GEMV at t = 1,
/// L2-resident ("warm": the same matrix again and again) and streamed from memory ("cold":
/// rotating over copies that together exceed the L2 several times, as a real model does), the
/// GEMV and GEMM times by token count, and the GEMM at t = 512. Q4_K rows need a multiple of 256
/// values, so Qwen2.5-0.5B's 4864x896 ffn_up/gate exist in Q4_K_M files as Q5_0 (measured as
/// such) and its Q4_K ffn_down is 896x4864.
#[test]
fn speed() {
    let Some(gpu) = gpu() else { return };
    let mm = Matmul::new(&gpu).unwrap();
    let s = gpu.stream();
    let mut r = rng("speed");
    let l2 = u64::from(gpu.info().l2_cache_bytes).max(1 << 20);
    eprintln!("{} ({} MiB L2)", gpu.info().name, l2 >> 20);
    for (ty, rows, cols) in [(GgmlType::Q4_K, 896, 4864), (GgmlType::Q5_0, 4864, 896), (GgmlType::Q4_K, 18944, 3584)] {
        let bytes = random_matrix(ty, rows, cols, &mut r);
        let copies = (4 * l2).div_ceil(bytes.len() as u64).clamp(2, 256) as usize;
        let ws: Vec<GpuMatrix> = (0..copies).map(|_| upload(&gpu, ty, rows, cols, &bytes)).collect();
        let size = ws[0].size_bytes() as f64;
        let t_big = 512;
        let x = gpu.upload(&random_vec(&mut r, t_big * cols, 1.0), "x").unwrap();
        let mut y = gpu.alloc::<f32>(t_big * rows, "y").unwrap();
        let warm = time_ms(&gpu, s, 200, |_| mm.matmul(s, &ws[0], &x, 1, &mut y).unwrap());
        let cold = time_ms(&gpu, s, 200, |i| mm.matmul(s, &ws[i % copies], &x, 1, &mut y).unwrap());
        eprintln!(
            "{ty} {rows}x{cols} ({:.1} MB) GEMV t=1: warm {:.1} us = {:.0} GB/s, cold ({copies} copies) {:.1} us = {:.0} GB/s",
            size / 1e6,
            warm * 1e3,
            size / warm / 1e6,
            cold * 1e3,
            size / cold / 1e6
        );
        for kernel in KERNELS {
            let mut line = String::new();
            for t in [2, 4, 8, 9, 16, 33, 64, 130] {
                let ms = time_ms(&gpu, s, 20, |i| mm.matmul_with(kernel, s, &ws[i % copies], &x, t, &mut y).unwrap());
                line += &format!(" t={t} {:.1};", ms * 1e3);
            }
            eprintln!("  {kernel:?}, cold, us by tokens:{line}");
        }
        let ms = time_ms(&gpu, s, 10, |i| {
            mm.matmul_with(MatmulKernel::Gemm, s, &ws[i % copies], &x, t_big, &mut y).unwrap()
        });
        let flops = 2.0 * (rows * cols * t_big) as f64;
        eprintln!("  GEMM t={t_big}: {:.3} ms = {:.1} TFLOP/s", ms, flops / ms / 1e9);
    }
    // Every type's GEMV at t = 1 on a 7B-sized ffn matrix, cold.
    let (rows, cols) = (18944, 3584);
    let x = gpu.upload(&random_vec(&mut r, cols, 1.0), "x").unwrap();
    let mut y = gpu.alloc::<f32>(rows, "y").unwrap();
    let mut line = String::new();
    for ty in WEIGHT_TYPES {
        let bytes = random_matrix(ty, rows, cols, &mut r);
        let copies = (4 * l2).div_ceil(bytes.len() as u64).clamp(2, 256) as usize;
        let ws: Vec<GpuMatrix> = (0..copies).map(|_| upload(&gpu, ty, rows, cols, &bytes)).collect();
        let ms = time_ms(&gpu, s, 50, |i| mm.matmul(s, &ws[i % copies], &x, 1, &mut y).unwrap());
        line += &format!(" {ty} {:.0};", ws[0].size_bytes() as f64 / ms / 1e6);
    }
    eprintln!("GEMV t=1 {rows}x{cols}, cold, GB/s:{line}");
}

/// Decode-sized products take the int8 GEMV, except where the int8 GEMM was measured faster
/// (matmul.rs, MMQ_FROM_LARGE): rows too wide for two tokens' activations in the GEMV's shared
/// memory from 4 tokens, matrices of at least 8192 rows and 2048 columns from 8; every other
/// matrix up to 16. Float weights stay on their GEMV.
#[test]
fn decode_sized_products_take_the_measured_kernel() {
    let Some(gpu) = gpu() else { return };
    let mm = Matmul::new(&gpu).unwrap();
    let mut r = rng("kernel choice");
    let cases = [
        (GgmlType::Q6_K, 512, 18944, 4),
        (GgmlType::Q4_K, 8192, 2048, 8),
        (GgmlType::Q4_K, 8191, 2048, 17),
        (GgmlType::Q8_0, 8192, 1024, 17),
        (GgmlType::Q6_K, 512, 4864, 17),
        (GgmlType::F16, 8192, 2048, 17),
    ];
    for (ty, rows, cols, from) in cases {
        let w = upload(&gpu, ty, rows, cols, &random_matrix(ty, rows, cols, &mut r));
        for t in 1..=16 {
            let want = if t >= from { MatmulKernel::Mmq } else { MatmulKernel::Gemv };
            assert_eq!(mm.kernel_for(&w, t), want, "{ty} {rows}x{cols}, t={t}");
        }
    }
}

/// A token whose activations hold a NaN or an infinity gets non-finite outputs (the encoded
/// GEMV marks the block's scale NaN rather than dropping the value), and the other tokens of the
/// batch are unaffected: the same bits as alone.
#[test]
fn gemv_keeps_nan_and_infinity_to_their_token() {
    let Some(gpu) = gpu() else { return };
    let mm = Matmul::new(&gpu).unwrap();
    let s = gpu.stream();
    let mut r = rng("gemv nan");
    let (rows, cols, t) = (37, 512, 4);
    for ty in WEIGHT_TYPES {
        let bytes = random_matrix(ty, rows, cols, &mut r);
        let w = upload(&gpu, ty, rows, cols, &bytes);
        let mut x = random_vec(&mut r, t * cols, 1.0);
        x[cols + 5] = f32::NAN;
        x[2 * cols + 300] = f32::INFINITY;
        let dx = gpu.upload(&x, "x").unwrap();
        let mut dy = poisoned(&gpu, t * rows, "y");
        mm.matmul_with(MatmulKernel::Gemv, s, &w, &dx, t, &mut dy).unwrap();
        let y = dy.read(s).unwrap();
        for i in [1, 2] {
            assert!(y[i * rows..(i + 1) * rows].iter().all(|v| !v.is_finite()), "{ty}: token {i} has a finite output");
        }
        for i in [0, 3] {
            let alone = gpu.upload(&x[i * cols..(i + 1) * cols], "x alone").unwrap();
            let mut ya = poisoned(&gpu, rows, "y alone");
            mm.matmul_with(MatmulKernel::Gemv, s, &w, &alone, 1, &mut ya).unwrap();
            let ya = ya.read(s).unwrap();
            assert!(ya.iter().all(|v| v.is_finite()), "{ty}: token {i} alone");
            let same = y[i * rows..(i + 1) * rows].iter().zip(&ya).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{ty}: token {i} changed by the NaN and infinity of its batch");
        }
    }
}

/// Prints (asserts nothing) the int8 GEMV's weight bandwidth on the decode matrices of Qwen2.5
/// 0.5B and 7B (Q4_K_M files), streamed from memory (rotating over copies that exceed the L2 4x):
/// at t = 1 for each launch shape, then by token count with the default shape, with the GEMM's
/// time beside it.
#[test]
fn gemv_speed() {
    let Some(gpu) = gpu() else { return };
    let mm = Matmul::new(&gpu).unwrap();
    let s = gpu.stream();
    let mut r = rng("gemv speed");
    let l2 = u64::from(gpu.info().l2_cache_bytes).max(1 << 20);
    eprintln!("{} ({} MiB L2, {} SMs)", gpu.info().name, l2 >> 20, gpu.info().multiprocessors);
    let only = std::env::var("GEMV_SPEED_ONLY").unwrap_or_default();
    let shapes = [
        ("7B ffn_up", GgmlType::Q4_K, 18944, 3584),
        ("7B attn_q", GgmlType::Q4_K, 3584, 3584),
        ("7B attn_k", GgmlType::Q4_K, 512, 3584),
        ("7B ffn_down", GgmlType::Q6_K, 3584, 18944),
        ("7B ffn_down (Q4_K layers)", GgmlType::Q4_K, 3584, 18944),
        ("7B output", GgmlType::Q6_K, 152064, 3584),
        ("0.5B ffn_down", GgmlType::Q6_K, 896, 4864),
        ("0.5B ffn_up", GgmlType::Q5_0, 4864, 896),
        ("0.5B attn_q", GgmlType::Q5_0, 896, 896),
        ("0.5B attn_k", GgmlType::Q5_0, 128, 896),
        ("0.5B attn_v", GgmlType::Q8_0, 128, 896),
        ("0.5B output", GgmlType::Q8_0, 151936, 896),
    ];
    // The default first, then one setting changed at a time.
    let d = GemvConfig::default();
    let configs = [
        d,
        GemvConfig { blocks_per_sm: 1, ..d },
        GemvConfig { blocks_per_sm: 3, ..d },
        GemvConfig { rows_per_warp: 1, ..d },
        GemvConfig { rows_per_warp: 2, ..d },
        GemvConfig { rows_per_warp: 4, ..d },
        GemvConfig { threads_per_row: 32, ..d },
        GemvConfig { threads_per_row: 64, ..d },
        GemvConfig { threads_per_row: 128, ..d },
    ];
    for (name, ty, rows, cols) in shapes {
        if !only.is_empty() && !name.contains(&only) {
            continue;
        }
        let bytes = random_matrix(ty, rows, cols, &mut r);
        let copies = (4 * l2).div_ceil(bytes.len() as u64).clamp(2, 64) as usize;
        let ws: Vec<GpuMatrix> = (0..copies).map(|_| upload(&gpu, ty, rows, cols, &bytes)).collect();
        let size = ws[0].size_bytes() as f64;
        let t_big = 64;
        let x = gpu.upload(&random_vec(&mut r, t_big * cols, 1.0), "x").unwrap();
        let mut y = gpu.alloc::<f32>(t_big * rows, "y").unwrap();
        let reps = if size > 1e8 { 30 } else { 200 };
        let mut line = String::new();
        for cfg in &configs {
            let ms = time_ms(&gpu, s, reps, |i| {
                assert!(mm.gemv_q8_with(*cfg, s, &ws[i % copies], &x, 1, &mut y).unwrap());
            });
            let opt = |v: usize, tag: &str| if v == 0 { String::new() } else { format!("{tag}{v}") };
            let name =
                format!("{}b{}{}", opt(cfg.rows_per_warp, "r"), cfg.blocks_per_sm, opt(cfg.threads_per_row, "t"));
            line += &format!(" {name} {:.0};", size / ms / 1e6);
        }
        eprintln!(
            "{name} {ty} {rows}x{cols} ({:.1} MB, {copies} copies) t=1 GB/s by launch (default first):{line}",
            size / 1e6
        );
        let (mut gemv, mut gemm) = (String::new(), String::new());
        for t in [1, 2, 3, 4, 8, 16, 32, 64] {
            let reps = if size > 1e8 { 5 } else { 50 };
            let a = time_ms(&gpu, s, reps, |i| {
                mm.matmul_with(MatmulKernel::Gemv, s, &ws[i % copies], &x, t, &mut y).unwrap()
            });
            let b = time_ms(&gpu, s, reps, |i| {
                mm.matmul_with(MatmulKernel::Gemm, s, &ws[i % copies], &x, t, &mut y).unwrap()
            });
            gemv += &format!(" t={t} {:.1};", a * 1e3);
            gemm += &format!(" t={t} {:.1};", b * 1e3);
        }
        eprintln!("  GEMV us:{gemv}\n  GEMM us:{gemm}");
    }
}

/// Runs one product a few times, for a profiler: `GEMV_PROFILE=TYPE,ROWS,COLS[,TOKENS[,KERNEL]]`
/// (default Q4_K,18944,3584,1 on the default kernel; KERNEL one of Mmq, Gemm, Gemv, Blas), e.g.
/// `GEMV_PROFILE=Q4_K,18944,3584,64,Mmq ncu ... gpu_matmul --ignored gemv_profile`.
#[test]
#[ignore]
fn gemv_profile() {
    let Some(gpu) = gpu() else { return };
    let spec = std::env::var("GEMV_PROFILE").unwrap_or_else(|_| "Q4_K,18944,3584".into());
    let parts: Vec<&str> = spec.split(',').collect();
    let ty = WEIGHT_TYPES.into_iter().find(|t| t.to_string() == parts[0]).expect("a weight type");
    let (rows, cols): (usize, usize) = (parts[1].parse().unwrap(), parts[2].parse().unwrap());
    let t: usize = parts.get(3).map_or(1, |p| p.parse().unwrap());
    let kernel = parts.get(4).map(|k| {
        let all = [MatmulKernel::Mmq, MatmulKernel::Gemm, MatmulKernel::Gemv, MatmulKernel::Blas];
        all.into_iter().find(|a| format!("{a:?}") == *k).expect("Mmq, Gemm, Gemv or Blas")
    });
    let mm = Matmul::new(&gpu).unwrap();
    let s = gpu.stream();
    let mut r = rng("gemv profile");
    let w = upload(&gpu, ty, rows, cols, &random_matrix(ty, rows, cols, &mut r));
    let x = gpu.upload(&random_vec(&mut r, t * cols, 1.0), "x").unwrap();
    let mut y = gpu.alloc::<f32>(t * rows, "y").unwrap();
    for _ in 0..5 {
        match kernel {
            Some(k) => mm.matmul_with(k, s, &w, &x, t, &mut y).unwrap(),
            None => mm.matmul(s, &w, &x, t, &mut y).unwrap(),
        }
    }
    s.synchronize().unwrap();
}

/// Token counts of the int8 GEMM tests: partial and whole tiles of 32 and 64 tokens, and
/// several tiles.
const MMQ_TOKENS: [usize; 7] = [17, 31, 32, 33, 64, 65, 130];

/// (rows, cols) of the int8 GEMM tests: rows not a multiple of its 64-row tiles; for 32-value
/// types columns ending in a partial 256-column slice (and one shorter than a slice).
fn mmq_shapes(ty: GgmlType) -> [(usize, usize); 3] {
    if ty.block_size() == 256 {
        [(37, 768), (131, 2304), (1031, 256)]
    } else {
        [(37, 96), (131, 896), (1031, 2080)]
    }
}

/// The int8 GEMM of every quantized type, on the matrix cores and on the portable (dp4a) path:
/// against the f64 product with the encoded activations (MATMUL_TOL, as the GEMV), against the
/// f32 product within the encoding's bound, a token's result the same bits whatever the batch,
/// and within the f32-order tolerance of the GEMV's result for the token alone. A NaN in one
/// token's activations stays in that token's outputs.
#[test]
fn mmq_matches_the_reference_for_every_type() {
    let Some(gpu) = gpu() else { return };
    let s = gpu.stream();
    let mut r = rng("mmq");
    let t_max = MMQ_TOKENS[MMQ_TOKENS.len() - 1];
    for (path, mm) in [("mma", Matmul::new(&gpu)), ("portable", Matmul::with_portable_mmq(&gpu, false))] {
        let mm = mm.unwrap_or_else(|e| panic!("{path}: {e}"));
        for ty in WEIGHT_TYPES {
            let act = backend::cpu::qdot::act_type_for(ty);
            let Some(act) = act.filter(|a| matches!(a, ActType::Q8_0 | ActType::Q8_1 | ActType::Q8_K)) else {
                continue;
            };
            let (mut worst_q, mut worst_x, mut worst_gemv) = (0f64, 0f64, 0f64);
            for (rows, cols) in mmq_shapes(ty) {
                let bytes = random_matrix(ty, rows, cols, &mut r);
                let w = upload(&gpu, ty, rows, cols, &bytes);
                let wf = dequantize_to_vec(ty, &bytes).unwrap();
                let mut x = random_vec(&mut r, t_max * cols, 1.0);
                let (xq, e, raw) = encode(Some(act), &x, cols);
                let want = reference(&wf, &x, &xq, &e, rows, cols, t_max);
                let min_terms = q8_1_min_terms(ty, &bytes, &raw, rows, cols);
                let dx = gpu.upload(&x, "x").unwrap();
                let mut all = poisoned(&gpu, t_max * rows, "y of all tokens");
                mm.matmul_with(MatmulKernel::Mmq, s, &w, &dx, t_max, &mut all).unwrap();
                let all = all.read(s).unwrap();
                for t in MMQ_TOKENS {
                    let what = format!("{path} {ty} {rows}x{cols} t={t}");
                    let extra = 7; // past t * rows: must stay poisoned
                    let mut dy = poisoned(&gpu, t * rows + extra, "y");
                    mm.matmul_with(MatmulKernel::Mmq, s, &w, &dx, t, &mut dy).unwrap_or_else(|e| panic!("{what}: {e}"));
                    let y = dy.read(s).unwrap();
                    for (k, (&got, ex)) in y[..t * rows].iter().zip(&want).enumerate() {
                        let (i, row, got) = (k / rows, k % rows, f64::from(got));
                        let (err_q, err_x) = check_encoded(&format!("{what}: y[{i}, {row}]"), got, ex, min_terms[k]);
                        worst_q = worst_q.max(err_q);
                        worst_x = worst_x.max(err_x);
                    }
                    assert!(y[t * rows..].iter().all(|&v| is_poison(v)), "{what}: wrote past y[t * rows]");
                    let same = y[..t * rows].iter().zip(&all).all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{what}: a token's result depends on the batch");
                }
                // The GEMV's result for a token alone, against the int8 GEMM's at t = 32: the same
                // integer sums and scales, summed in another f32 order.
                if mm.gemv_activations(&w).is_some() {
                    let t = 32;
                    let mut dy = poisoned(&gpu, t * rows, "y");
                    mm.matmul_with(MatmulKernel::Mmq, s, &w, &dx, t, &mut dy).unwrap();
                    let y = dy.read(s).unwrap();
                    for i in [0, 13, 31] {
                        let alone = gpu.upload(&x[i * cols..(i + 1) * cols], "x alone").unwrap();
                        let mut ya = poisoned(&gpu, rows, "y alone");
                        mm.matmul_with(MatmulKernel::Gemv, s, &w, &alone, 1, &mut ya).unwrap();
                        let ya = ya.read(s).unwrap();
                        for (row, &alone_y) in ya.iter().enumerate().take(rows) {
                            let k = i * rows + row;
                            let scale = want[k].abs_q + min_terms[k].1;
                            let err = (f64::from(y[k]) - f64::from(alone_y)).abs() / scale.max(f64::MIN_POSITIVE);
                            assert!(
                                err <= 2.0 * MATMUL_TOL,
                                "{path} {ty} {rows}x{cols}: token {i} row {row}: int8 GEMM {} vs GEMV {alone_y} (error {err:e})",
                                y[k]
                            );
                            worst_gemv = worst_gemv.max(err);
                        }
                    }
                }
                // A NaN and an infinity stay in their tokens; the others keep their bits.
                let t = 33;
                x[5 * cols + 7] = f32::NAN;
                x[20 * cols + cols - 1] = f32::INFINITY;
                let dxn = gpu.upload(&x[..t * cols], "x with NaN").unwrap();
                let mut dy = poisoned(&gpu, t * rows, "y");
                mm.matmul_with(MatmulKernel::Mmq, s, &w, &dxn, t, &mut dy).unwrap();
                let y = dy.read(s).unwrap();
                for i in 0..t {
                    let (got, clean) = (&y[i * rows..(i + 1) * rows], &all[i * rows..(i + 1) * rows]);
                    if i == 5 || i == 20 {
                        assert!(got.iter().all(|v| !v.is_finite()), "{path} {ty}: token {i} has a finite output");
                    } else {
                        let same = got.iter().zip(clean).all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(same, "{path} {ty}: token {i} changed by another token's NaN");
                    }
                }
            }
            eprintln!(
                "{path} {ty:>6}: {:?} x t in {MMQ_TOKENS:?}: {worst_q:.2e} of sum |w xq| (tolerance {MATMUL_TOL:e}), \
                 {worst_x:.2e} of sum |w x| from the f32 product, {worst_gemv:.2e} from the GEMV alone",
                mmq_shapes(ty)
            );
        }
    }
}

/// Prints (asserts nothing) the int8 GEMM against the f32 GEMM, the GEMV and the vendor BLAS on
/// the matrices of Qwen2.5 7B and 0.5B (Q4_K_M files), streamed from memory (rotating over copies
/// that exceed the L2 4x): time, weight bandwidth and int8 TOPS by token count.
#[test]
#[ignore]
fn mmq_speed() {
    let Some(gpu) = gpu() else { return };
    let mm = Matmul::new(&gpu).unwrap();
    let blas = mm.blas_status().is_ok();
    let s = gpu.stream();
    let mut r = rng("mmq speed");
    let l2 = u64::from(gpu.info().l2_cache_bytes).max(1 << 20);
    eprintln!(
        "{} ({} MiB L2, {} SMs), BLAS: {:?}",
        gpu.info().name,
        l2 >> 20,
        gpu.info().multiprocessors,
        mm.blas_status()
    );
    let only = std::env::var("MMQ_SPEED_ONLY").unwrap_or_default();
    let shapes = [
        ("7B attn_q", GgmlType::Q4_K, 3584, 3584),
        ("7B attn_k", GgmlType::Q4_K, 512, 3584),
        ("7B ffn_up", GgmlType::Q4_K, 18944, 3584),
        ("7B ffn_down", GgmlType::Q6_K, 3584, 18944),
        ("7B ffn_down (Q4_K layers)", GgmlType::Q4_K, 3584, 18944),
        ("7B output", GgmlType::Q6_K, 152064, 3584),
        ("0.5B attn_q", GgmlType::Q5_0, 896, 896),
        ("0.5B ffn_up", GgmlType::Q5_0, 4864, 896),
        ("0.5B ffn_down", GgmlType::Q6_K, 896, 4864),
        ("0.5B output", GgmlType::Q8_0, 151936, 896),
    ];
    for (name, ty, rows, cols) in shapes {
        if !only.is_empty() && !name.contains(&only) {
            continue;
        }
        let bytes = random_matrix(ty, rows, cols, &mut r);
        let copies = (4 * l2).div_ceil(bytes.len() as u64).clamp(2, 64) as usize;
        let ws: Vec<GpuMatrix> = (0..copies).map(|_| upload(&gpu, ty, rows, cols, &bytes)).collect();
        let size = ws[0].size_bytes() as f64;
        let t_big = 128;
        let x = gpu.upload(&random_vec(&mut r, t_big * cols, 1.0), "x").unwrap();
        let mut y = gpu.alloc::<f32>(t_big * rows, "y").unwrap();
        eprintln!("{name} {ty} {rows}x{cols} ({:.1} MB, {copies} copies):", size / 1e6);
        for kernel in [MatmulKernel::Mmq, MatmulKernel::Gemm, MatmulKernel::Gemv, MatmulKernel::Blas] {
            if kernel == MatmulKernel::Blas && !blas {
                continue;
            }
            let mut line = String::new();
            for t in [2, 4, 8, 16, 32, 64, 128] {
                let reps = if size > 1e8 { 5 } else { 30 };
                let ms = time_ms(&gpu, s, reps, |i| mm.matmul_with(kernel, s, &ws[i % copies], &x, t, &mut y).unwrap());
                let ops = 2.0 * (rows * cols * t) as f64;
                line += &format!(" t={t} {:.1} us {:.0} GB/s {:.0} TOPS;", ms * 1e3, size / ms / 1e6, ops / ms / 1e9);
            }
            eprintln!("  {kernel:?}:{line}");
        }
    }
}
