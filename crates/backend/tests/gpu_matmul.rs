//! The quantized matmul and row-gather kernels on a real device, for every weight type of the
//! CPU backend, against an f64 product of the reference dequantization (`gguf::quants`); the
//! GEMV's result for a token is the same, bit for bit, whatever the batch around it.
//! Skipped without a GPU; `ROCMFORGE_REQUIRE_GPU=1` makes that a failure.

mod common;

use backend::cpu::qdot::WEIGHT_TYPES;
use backend::gpu::{DeviceBuffer, Gpu, GpuError, GpuMatrix, Matmul, MatmulKernel, Stream};
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
/// to several GEMV steps, with partial steps.
fn shapes(ty: GgmlType) -> [(usize, usize); 5] {
    if ty.block_size() == 256 {
        [(1, 256), (37, 768), (896, 512), (1031, 2304), (4864, 256)]
    } else {
        [(1, 32), (37, 96), (896, 896), (1031, 2080), (4864, 64)]
    }
}

fn random_matrix(ty: GgmlType, rows: usize, cols: usize, r: &mut StdRng) -> Vec<u8> {
    random_blocks(ty, rows * cols / ty.block_size(), 1.0, r).unwrap()
}

fn upload(gpu: &Gpu, ty: GgmlType, rows: usize, cols: usize, bytes: &[u8]) -> GpuMatrix {
    let view = WeightView::from_parts("w", ty, rows, cols, bytes).unwrap();
    GpuMatrix::upload(gpu, &view, &format!("{ty} {rows}x{cols}")).unwrap()
}

/// (sum_c w[r, c] x[i, c], sum_c |w[r, c] x[i, c]|) for i < t, r < rows, in f64; [t, rows].
fn reference(w: &[f32], x: &[f32], rows: usize, cols: usize, t: usize) -> Vec<(f64, f64)> {
    let mut out = vec![(0.0, 0.0); t * rows];
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get());
    let per = out.len().div_ceil(threads);
    std::thread::scope(|s| {
        for (n, chunk) in out.chunks_mut(per).enumerate() {
            s.spawn(move || {
                for (k, o) in chunk.iter_mut().enumerate() {
                    let (i, r) = ((n * per + k) / rows, (n * per + k) % rows);
                    let (wr, xr) = (&w[r * cols..(r + 1) * cols], &x[i * cols..(i + 1) * cols]);
                    *o = wr.iter().zip(xr).fold((0.0, 0.0), |(s, a), (&w, &x)| {
                        let p = f64::from(w) * f64::from(x);
                        (s + p, a + p.abs())
                    });
                }
            });
        }
    });
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
        let mut worst = 0f64;
        for (rows, cols) in shapes(ty) {
            let bytes = random_matrix(ty, rows, cols, &mut r);
            let w = upload(&gpu, ty, rows, cols, &bytes);
            let wf = dequantize_to_vec(ty, &bytes).unwrap();
            let x = random_vec(&mut r, t_max * cols, 1.0);
            let want = reference(&wf, &x, rows, cols, t_max); // token i's row depends on x[i] only
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
                for (k, (&got, &(sum, abs))) in y[..t * rows].iter().zip(&want).enumerate() {
                    let err = (f64::from(got) - sum).abs() / abs.max(f64::MIN_POSITIVE);
                    assert!(
                        err <= MATMUL_TOL,
                        "{what}: y[{}, {}] = {got}, want {sum} (error {err:e} of sum |w x| = {abs})",
                        k / rows,
                        k % rows
                    );
                    worst = worst.max(err);
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
            "{ty:>6}: {} shapes x t in {TOKENS:?} x GEMV, GEMM: worst error {worst:.2e} of sum |w x| (tolerance {MATMUL_TOL:e})",
            shapes(ty).len()
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
        let [_, (rows_a, cols_a), _, (rows_b, cols_b), _] = shapes(ty);
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
