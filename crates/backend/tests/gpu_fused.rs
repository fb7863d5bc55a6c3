//! The int8 GEMV's fused forms (`Matmul::gemv_fused`, `Matmul::gemv_glu`) against the separate
//! kernels they replace, launched one after another (`Ops::rms_norm`, `Matmul::matmul`,
//! `Ops::add_bias`, `Ops::add`, `Ops::swiglu` / `Ops::geglu`), on the shapes and weight types of
//! Qwen2.5-0.5B and 7B Q4_K_M, for t in {1, 2, 8, 16} (the GEMV) and {24, 64} (the int8 GEMM's
//! fused forms: the norm in its encoder, one encoding per input, epilogues where the sums are
//! stored, split products' in their reduce); rope of queries and keys in one launch
//! against two; and that rope fused with the KV cache write (`Ops::rope_qk_kv_write`) against
//! `Ops::rope_qk` and `Ops::kv_write`. A fused launch replays the separate kernels' f32 operations in their order, so
//! the tolerance is EXACT: the same bits, every value finite (so NaN never passes), and nothing
//! written past the outputs (poisoned before). Skipped without a GPU; `ROCMFORGE_REQUIRE_GPU=1`
//! makes that a failure.

mod common;

use backend::cpu::{RopeParams, RopeStyle};
use backend::gpu::{DeviceBuffer, GemvOut, Glu, Gpu, GpuMatrix, KvBuffers, Matmul, MatmulKernel, Ops, Stream};
use backend::{KvType, WeightView, Q8_0_BLOCK};
use common::*;
use gguf::quants::random_blocks;
use gguf::GgmlType;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Token counts of a decode step: one sequence, batches up to the GEMV's limit, and batches on
/// the int8 GEMM (below the vendor BLAS's 65 tokens).
const TOKENS: [usize; 6] = [1, 2, 8, 16, 24, 64];
/// Values written past an output's t x rows, which must stay poisoned.
const PAST: usize = 5;
const EPS: f32 = 1e-6;

/// A matrix of a case: its type and rows.
type Mat = (GgmlType, usize);

fn matrix(gpu: &Gpu, r: &mut StdRng, ty: GgmlType, rows: usize, cols: usize) -> GpuMatrix {
    let bytes = random_blocks(ty, rows * cols / ty.block_size(), 1.0, r).unwrap();
    let view = WeightView::from_parts("w", ty, rows, cols, &bytes).unwrap();
    GpuMatrix::upload(gpu, &view, &format!("{ty} {rows}x{cols}")).unwrap()
}

fn setup(tag: &str) -> Option<(Gpu, Matmul, Ops)> {
    let gpu = gpu()?;
    let mm = Matmul::new(&gpu).unwrap_or_else(|e| panic!("{e}"));
    let ops = Ops::new(&gpu).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{tag}: {}", gpu.info().name);
    Some((gpu, mm, ops))
}

/// EXACT: `fused` holds the bits of `separate` in its first `n` values, all finite, and is still
/// poisoned after them.
fn assert_same(what: &str, s: &Stream, fused: &DeviceBuffer<f32>, separate: &DeviceBuffer<f32>, n: usize) {
    let (f, p) = (fused.read(s).unwrap(), separate.read(s).unwrap());
    for i in 0..n {
        assert!(f[i].is_finite() && p[i].is_finite(), "{what}[{i}]: fused {} separate {} (not finite)", f[i], p[i]);
        assert!(f[i].to_bits() == p[i].to_bits(), "{what}[{i}]: fused {} != separate {}", f[i], p[i]);
    }
    assert!(f[n..].iter().all(|v| v.to_bits() == u32::MAX), "{what}: wrote past its {n} values");
}

/// Projections after a pre-norm (Q/K/V with their biases): one fused call against rms_norm, the
/// products and the bias adds. Matrices of one type or of a pair with kernels share a launch;
/// the last case (no pair kernels, two activation encodings) runs one launch per type.
#[test]
fn norm_matmuls_are_the_separate_kernels_bit_for_bit() {
    let Some((gpu, mm, ops)) = setup("norm + matmuls + bias") else { return };
    let s = gpu.stream();
    let mut r = rng("fused qkv");
    let cases: [(&str, usize, &[Mat]); 5] = [
        ("0.5B Q/K/V", 896, &[(GgmlType::Q5_0, 896), (GgmlType::Q5_0, 128), (GgmlType::Q8_0, 128)]),
        ("7B Q/K/V", 3584, &[(GgmlType::Q4_K, 3584), (GgmlType::Q4_K, 512), (GgmlType::Q6_K, 512)]),
        ("0.5B gate/up", 896, &[(GgmlType::Q5_0, 4864), (GgmlType::Q5_0, 4864)]),
        ("Q5_K_M Q/K/V", 1024, &[(GgmlType::Q5_K, 1024), (GgmlType::Q6_K, 256), (GgmlType::Q5_K, 256)]),
        ("one launch per type", 1024, &[(GgmlType::Q4_0, 512), (GgmlType::Q4_K, 64), (GgmlType::Q4_0, 96)]),
    ];
    for (name, cols, mats) in cases {
        let ws: Vec<GpuMatrix> = mats.iter().map(|&(ty, rows)| matrix(&gpu, &mut r, ty, rows, cols)).collect();
        let biases: Vec<DeviceBuffer<f32>> =
            ws.iter().map(|w| gpu.upload(&random_vec(&mut r, w.rows(), 0.5), "bias").unwrap()).collect();
        let norm = gpu.upload(&random_vec(&mut r, cols, 2.0), "norm").unwrap();
        let t_max = TOKENS[TOKENS.len() - 1];
        let x = gpu.upload(&random_vec(&mut r, t_max * cols, 3.0), "x").unwrap();
        for t in TOKENS {
            for (with_norm, with_bias) in [(true, true), (false, false)] {
                let what = format!("{name} t={t} norm {with_norm} bias {with_bias}");
                let mut want: Vec<DeviceBuffer<f32>> =
                    ws.iter().map(|w| poisoned(&gpu, t * w.rows() + PAST, "separate")).collect();
                let mut h = gpu.alloc::<f32>(t * cols, "normed").unwrap();
                let input = if with_norm {
                    ops.rms_norm(s, &x, &norm, t, EPS, &mut h).unwrap();
                    &h
                } else {
                    &x
                };
                for ((w, b), y) in ws.iter().zip(&biases).zip(&mut want) {
                    mm.matmul(s, w, input, t, y).unwrap();
                    if with_bias {
                        ops.add_bias(s, y, b, t).unwrap();
                    }
                }
                let mut got: Vec<DeviceBuffer<f32>> =
                    ws.iter().map(|w| poisoned(&gpu, t * w.rows() + PAST, "fused")).collect();
                let mut outs: Vec<GemvOut> = (ws.iter().zip(&biases).zip(&mut got))
                    .map(|((w, b), y)| GemvOut { w, bias: with_bias.then_some(b), y })
                    .collect();
                let norm_arg = with_norm.then_some((&norm, EPS));
                assert!(mm.gemv_fused(s, &x, t, norm_arg, &mut outs, false).unwrap(), "{what}: not fused");
                for (k, (g, p)) in got.iter().zip(&want).enumerate() {
                    assert_same(&format!("{what} matrix {k}"), s, g, p, t * ws[k].rows());
                }
            }
        }
        eprintln!("{name}: fused == separate, bit for bit, t in {TOKENS:?}");
    }
}

/// A projection into the residual stream: y += W a in one launch against the product and the
/// add.
#[test]
fn matmul_add_is_the_separate_kernels_bit_for_bit() {
    let Some((gpu, mm, ops)) = setup("matmul + residual add") else { return };
    let s = gpu.stream();
    let mut r = rng("fused residual");
    let cases = [
        ("0.5B attn_output", GgmlType::Q5_0, 896, 896),
        ("0.5B ffn_down", GgmlType::Q6_K, 896, 4864),
        ("7B attn_output", GgmlType::Q4_K, 3584, 3584),
        ("7B ffn_down", GgmlType::Q6_K, 3584, 18944),
    ];
    for (name, ty, rows, cols) in cases {
        let w = matrix(&gpu, &mut r, ty, rows, cols);
        let t_max = TOKENS[TOKENS.len() - 1];
        let a = gpu.upload(&random_vec(&mut r, t_max * cols, 1.0), "a").unwrap();
        for t in TOKENS {
            let resid = random_vec(&mut r, t * rows, 4.0);
            let with_poison = |v: &[f32]| {
                let mut b = poisoned(&gpu, t * rows + PAST, "residual");
                b.write_at(s, 0, v).unwrap();
                b
            };
            let (mut want, mut got) = (with_poison(&resid), with_poison(&resid));
            let mut h = gpu.alloc::<f32>(t * rows, "h").unwrap();
            mm.matmul(s, &w, &a, t, &mut h).unwrap();
            ops.add(s, &mut want, &h, t * rows).unwrap();
            let mut outs = [GemvOut { w: &w, bias: None, y: &mut got }];
            assert!(mm.gemv_fused(s, &a, t, None, &mut outs, true).unwrap(), "{name} t={t}: not fused");
            assert_same(&format!("{name} t={t}"), s, &got, &want, t * rows);
        }
        eprintln!("{name}: fused == separate, bit for bit, t in {TOKENS:?}");
    }
}

/// A gated FFN's first half: norm, gate and up products and the activation in one launch (gate
/// rows with their up rows in one team) against the four separate kernels.
#[test]
fn norm_glu_is_the_separate_kernels_bit_for_bit() {
    let Some((gpu, mm, ops)) = setup("norm + gate/up + GLU") else { return };
    let s = gpu.stream();
    let mut r = rng("fused glu");
    let cases = [
        ("0.5B gate/up", GgmlType::Q5_0, 4864, 896),
        ("7B gate/up", GgmlType::Q4_K, 18944, 3584),
        ("Gemma 270M gate/up", GgmlType::Q8_0, 2048, 640),
    ];
    for (name, ty, rows, cols) in cases {
        let gate = matrix(&gpu, &mut r, ty, rows, cols);
        let up = matrix(&gpu, &mut r, ty, rows, cols);
        let norm = gpu.upload(&random_vec(&mut r, cols, 2.0), "norm").unwrap();
        let t_max = TOKENS[TOKENS.len() - 1];
        let x = gpu.upload(&random_vec(&mut r, t_max * cols, 3.0), "x").unwrap();
        for t in TOKENS {
            for glu in [Glu::Swi, Glu::Ge] {
                let what = format!("{name} t={t} {glu:?}");
                let mut h = gpu.alloc::<f32>(t * cols, "normed").unwrap();
                let mut want = poisoned(&gpu, t * rows + PAST, "separate");
                let mut u = gpu.alloc::<f32>(t * rows, "up").unwrap();
                ops.rms_norm(s, &x, &norm, t, EPS, &mut h).unwrap();
                mm.matmul(s, &gate, &h, t, &mut want).unwrap();
                mm.matmul(s, &up, &h, t, &mut u).unwrap();
                match glu {
                    Glu::Swi => ops.swiglu(s, &mut want, &u, t * rows).unwrap(),
                    Glu::Ge => ops.geglu(s, &mut want, &u, t * rows).unwrap(),
                }
                let mut got = poisoned(&gpu, t * rows + PAST, "fused");
                let fused = mm.gemv_glu(s, &x, t, Some((&norm, EPS)), &gate, &up, glu, &mut got).unwrap();
                assert!(fused, "{what}: not fused");
                assert_same(&what, s, &got, &want, t * rows);
            }
        }
        eprintln!("{name}: fused == separate, bit for bit, t in {TOKENS:?}, SwiGLU and GeGLU");
    }
}

/// Where the fused forms do not apply (the product would run on neither the int8 GEMV nor the
/// int8 GEMM: float weights, the vendor BLAS's token counts; gate and up of two types) they
/// launch nothing and say so; the caller runs the separate kernels.
#[test]
fn fused_forms_decline_what_the_gemv_does_not_run() {
    let Some((gpu, mm, _)) = setup("fused declines") else { return };
    let s = gpu.stream();
    let mut r = rng("fused declines");
    let (rows, cols) = (4864, 256);
    let q = matrix(&gpu, &mut r, GgmlType::Q4_K, rows, cols);
    let q6 = matrix(&gpu, &mut r, GgmlType::Q6_K, rows, cols);
    let f = matrix(&gpu, &mut r, GgmlType::F16, rows, cols);
    let x = gpu.upload(&random_vec(&mut r, 130 * cols, 1.0), "x").unwrap();
    let mut y = poisoned(&gpu, 130 * rows, "y");
    for t in [17, 33, 65, 130] {
        let fused = mm.gemv_fused(s, &x, t, None, &mut [GemvOut { w: &q, bias: None, y: &mut y }], false).unwrap();
        let int8 = matches!(mm.kernel_for(&q, t), MatmulKernel::Gemv | MatmulKernel::Mmq);
        assert_eq!(fused, int8, "t={t}: fused where matmul runs the int8 GEMV or GEMM");
        if fused {
            y.fill_bytes(s, 0xFF).unwrap();
        }
    }
    assert!(!mm.gemv_fused(s, &x, 1, None, &mut [GemvOut { w: &f, bias: None, y: &mut y }], false).unwrap());
    assert!(!mm.gemv_glu(s, &x, 1, None, &q, &q6, Glu::Swi, &mut y).unwrap());
    assert!(!mm.gemv_glu(s, &x, 24, None, &q, &q6, Glu::Swi, &mut y).unwrap());
    let bad_norm = gpu.upload(&random_vec(&mut r, cols + 1, 1.0), "norm").unwrap();
    let outs = &mut [GemvOut { w: &q, bias: None, y: &mut y }];
    assert!(mm.gemv_fused(s, &x, 1, Some((&bad_norm, EPS)), outs, false).is_err(), "a norm of the wrong width");
    let y = y.read(s).unwrap();
    assert!(y.iter().all(|v| v.to_bits() == u32::MAX), "a declined call wrote");
}

/// Queries and keys rotated in one launch: the bits of two rope launches.
#[test]
fn rope_qk_is_two_ropes_bit_for_bit() {
    let Some((gpu, _, ops)) = setup("rope q and k") else { return };
    let s = gpu.stream();
    let mut r = rng("rope qk");
    for (nq, nk, hd, n_rot, style) in ROPE_CASES {
        let p = RopeParams { n_rot, base: 1e6, freq_scale: 1.0, style };
        for t in TOKENS {
            let pos = gpu.upload(&positions(t), "positions").unwrap();
            let (q, k) = (random_vec(&mut r, t * nq * hd, 2.0), random_vec(&mut r, t * nk * hd, 2.0));
            let (mut q1, mut k1, mut q2, mut k2) =
                (load(&gpu, s, &q), load(&gpu, s, &k), load(&gpu, s, &q), load(&gpu, s, &k));
            ops.rope(s, &mut q1, t, nq, hd, &pos, &p).unwrap();
            ops.rope(s, &mut k1, t, nk, hd, &pos, &p).unwrap();
            ops.rope_qk(s, &mut q2, nq, &mut k2, nk, t, hd, &pos, &p).unwrap();
            let what = format!("rope {nq}+{nk}x{hd} n_rot {n_rot} {style:?} t={t}");
            assert_same(&format!("{what} q"), s, &q2, &q1, q.len());
            assert_same(&format!("{what} k"), s, &k2, &k1, k.len());
        }
    }
    eprintln!("rope_qk == two ropes, bit for bit");
}

/// The rope cases: (query heads, KV heads, head_dim, n_rot, style): Qwen2.5-0.5B, 7B, a NORM
/// model, partial rope.
const ROPE_CASES: [(usize, usize, usize, usize, RopeStyle); 4] = [
    (14, 2, 64, 64, RopeStyle::Neox),
    (28, 4, 128, 128, RopeStyle::Neox),
    (32, 8, 128, 128, RopeStyle::Norm),
    (8, 2, 64, 32, RopeStyle::Norm),
];

/// Positions [t] of a step's tokens (spread, so the angles differ).
fn positions(t: usize) -> Vec<u32> {
    (0..t as u32).map(|i| 37 * i + 5).collect()
}

/// v on the device, followed by PAST poisoned values.
fn load(gpu: &Gpu, s: &Stream, v: &[f32]) -> DeviceBuffer<f32> {
    let mut b = poisoned(gpu, v.len() + PAST, "x");
    b.write_at(s, 0, v).unwrap();
    b
}

/// Queries and keys rotated, then the rotated keys and the values stored in the KV cache, in
/// one launch: the bits of rope_qk followed by kv_write in q, k and both caches, for both cache
/// types. The caches start poisoned (0xFF); slots are scattered, and from t = 2 on one token has
/// slot u32::MAX (a captured step's padding) and from t = 8 on another the first slot past the
/// cache: both skipped. Every byte outside the written rows must still be poison, every written
/// f16 value (or q8_0 scale) finite.
#[test]
fn rope_qk_kv_write_is_rope_qk_and_kv_write_bit_for_bit() {
    let Some((gpu, _, ops)) = setup("rope + KV write") else { return };
    let s = gpu.stream();
    let mut r = rng("rope kv write");
    for (nq, nk, hd, n_rot, style) in ROPE_CASES {
        let (p, width) = (RopeParams { n_rot, base: 1e6, freq_scale: 1.0, style }, nk * hd);
        for ty in KvType::ALL {
            for t in TOKENS {
                let n_slots = 3 * t + 5;
                let mut slots: Vec<u32> = (0..n_slots as u32).collect();
                slots.shuffle(&mut r);
                slots.truncate(t);
                if t >= 2 {
                    slots[t - 1] = u32::MAX;
                }
                if t >= 8 {
                    slots[t / 2] = n_slots as u32;
                }
                let (pos, ds) = (gpu.upload(&positions(t), "positions").unwrap(), gpu.upload(&slots, "slots").unwrap());
                let (q, k) = (random_vec(&mut r, t * nq * hd, 2.0), random_vec(&mut r, t * width, 2.0));
                let v = load(&gpu, s, &random_vec(&mut r, t * width, 3.0));
                let poisoned_cache = || {
                    let mut c = KvBuffers::alloc(&gpu, ty, n_slots, width).unwrap();
                    c.k.fill_bytes(s, 0xFF).unwrap();
                    c.v.fill_bytes(s, 0xFF).unwrap();
                    c
                };
                let (mut q1, mut k1, mut c1) = (load(&gpu, s, &q), load(&gpu, s, &k), poisoned_cache());
                ops.rope_qk(s, &mut q1, nq, &mut k1, nk, t, hd, &pos, &p).unwrap();
                ops.kv_write(s, &k1, &v, &ds, t, &mut c1).unwrap();
                let (mut q2, mut k2, mut c2) = (load(&gpu, s, &q), load(&gpu, s, &k), poisoned_cache());
                ops.rope_qk_kv_write(s, (&mut q2, nq), (&mut k2, nk), &v, t, hd, &pos, &ds, &p, &mut c2).unwrap();
                let what = format!("rope+kv {nq}+{nk}x{hd} n_rot {n_rot} {style:?} {ty} t={t}");
                assert_same(&format!("{what} q"), s, &q2, &q1, q.len());
                assert_same(&format!("{what} k"), s, &k2, &k1, k.len());
                let written: Vec<usize> = slots.iter().map(|&x| x as usize).filter(|&x| x < n_slots).collect();
                for (part, fused, separate) in [("K", &c2.k, &c1.k), ("V", &c2.v, &c1.v)] {
                    let (f, p) = (fused.read(s).unwrap(), separate.read(s).unwrap());
                    if let Some(i) = f.iter().zip(&p).position(|(a, b)| a != b) {
                        panic!("{what} {part} cache byte {i}: fused {:#04x}, separate {:#04x}", f[i], p[i]);
                    }
                    check_cache_rows(&format!("{what} {part}"), &f, ty, n_slots, width, &written);
                }
            }
        }
    }
    let (mut x, v, pos) =
        (poisoned(&gpu, 4096, "x"), poisoned(&gpu, 4096, "v"), gpu.upload(&[0u32; 2], "pos").unwrap());
    let mut c = KvBuffers::alloc(&gpu, KvType::F16, 4, 128).unwrap();
    let p = RopeParams { n_rot: 64, base: 1e4, freq_scale: 1.0, style: RopeStyle::Neox };
    let mut k = poisoned(&gpu, 4096, "k");
    let err = ops.rope_qk_kv_write(s, (&mut x, 4), (&mut k, 1), &v, 2, 64, &pos, &pos, &p, &mut c).unwrap_err();
    assert!(err.to_string().contains("cache rows of 128 values for 1 KV heads of 64"), "{err}");
    eprintln!("rope_qk_kv_write == rope_qk + kv_write, bit for bit, f16 and q8_0 caches, t in {TOKENS:?}");
}

/// The bytes of a cache of `n_slots` rows of `width` values of `ty` (as KvBuffers holds them)
/// are poison (0xFF) outside the rows of `written`; in those, every f16 value (f16) or scale
/// (q8_0) is finite (0xFFFF, the poison, is a NaN).
fn check_cache_rows(what: &str, bytes: &[u8], ty: KvType, n_slots: usize, width: usize, written: &[usize]) {
    // (byte offset of slot 0, bytes per slot, bytes per f16 that must be finite): the f16
    // values, or q8_0's quants then its scales.
    let parts: &[(usize, usize, bool)] = match ty {
        KvType::F16 => &[(0, 2 * width, true)],
        KvType::Q8_0 => &[(0, width, false), (n_slots * width, 2 * width / Q8_0_BLOCK, true)],
    };
    let mut seen = 0;
    for &(start, row, halves) in parts {
        for slot in 0..n_slots {
            let b = &bytes[start + slot * row..start + (slot + 1) * row];
            seen += row;
            if !written.contains(&slot) {
                assert!(b.iter().all(|&x| x == 0xFF), "{what}: slot {slot} was written");
            } else if halves {
                let finite = b.chunks_exact(2).all(|h| half::f16::from_le_bytes([h[0], h[1]]).is_finite());
                assert!(finite, "{what}: slot {slot} holds a value that is not finite");
            }
        }
    }
    assert_eq!(seen, bytes.len(), "{what}: cache bytes");
}

/// Prints (asserts nothing) the time of a decode layer's fused launches against the separate
/// kernels, at t = 1, on the 0.5B and 7B shapes (weights resident in L2 for the 0.5B, not for
/// the 7B: a rough guide; the model benchmark is the measurement).
#[test]
fn fused_speed() {
    let Some((gpu, mm, ops)) = setup("fused speed") else { return };
    let s = gpu.stream();
    let mut r = rng("fused speed");
    let shapes = [
        ("0.5B", 896, [(GgmlType::Q5_0, 896), (GgmlType::Q5_0, 128), (GgmlType::Q8_0, 128)], 4864, GgmlType::Q5_0),
        ("7B", 3584, [(GgmlType::Q4_K, 3584), (GgmlType::Q4_K, 512), (GgmlType::Q6_K, 512)], 18944, GgmlType::Q4_K),
    ];
    for (name, cols, qkv, ff, fty) in shapes {
        let ws: Vec<GpuMatrix> = qkv.iter().map(|&(ty, rows)| matrix(&gpu, &mut r, ty, rows, cols)).collect();
        let b: Vec<DeviceBuffer<f32>> = ws.iter().map(|w| gpu.upload(&vec![0.1; w.rows()], "b").unwrap()).collect();
        let (gate, up) = (matrix(&gpu, &mut r, fty, ff, cols), matrix(&gpu, &mut r, fty, ff, cols));
        let norm = gpu.upload(&vec![1.0; cols], "norm").unwrap();
        let x = gpu.upload(&random_vec(&mut r, cols, 1.0), "x").unwrap();
        let mut h = gpu.alloc::<f32>(cols, "h").unwrap();
        let mut ys: Vec<DeviceBuffer<f32>> = ws.iter().map(|w| gpu.alloc(w.rows(), "y").unwrap()).collect();
        let (mut g, mut u) = (gpu.alloc::<f32>(ff, "g").unwrap(), gpu.alloc::<f32>(ff, "u").unwrap());
        let reps = 200;
        let sep_qkv = time_us(s, reps, || {
            ops.rms_norm(s, &x, &norm, 1, EPS, &mut h).unwrap();
            for ((w, b), y) in ws.iter().zip(&b).zip(&mut ys) {
                mm.matmul(s, w, &h, 1, y).unwrap();
                ops.add_bias(s, y, b, 1).unwrap();
            }
        });
        let fused_qkv = time_us(s, reps, || {
            let mut outs: Vec<GemvOut> =
                (ws.iter().zip(&b).zip(&mut ys)).map(|((w, b), y)| GemvOut { w, bias: Some(b), y }).collect();
            assert!(mm.gemv_fused(s, &x, 1, Some((&norm, EPS)), &mut outs, false).unwrap());
        });
        let sep_glu = time_us(s, reps, || {
            ops.rms_norm(s, &x, &norm, 1, EPS, &mut h).unwrap();
            mm.matmul(s, &gate, &h, 1, &mut g).unwrap();
            mm.matmul(s, &up, &h, 1, &mut u).unwrap();
            ops.swiglu(s, &mut g, &u, ff).unwrap();
        });
        let fused_glu = time_us(s, reps, || {
            assert!(mm.gemv_glu(s, &x, 1, Some((&norm, EPS)), &gate, &up, Glu::Swi, &mut g).unwrap());
        });
        eprintln!(
            "{name} t=1, us per layer part (stream launches, not a graph): norm+QKV+bias separate {sep_qkv:.1} fused \
             {fused_qkv:.1}; norm+gate/up+SwiGLU separate {sep_glu:.1} fused {fused_glu:.1}"
        );
    }
}

/// Mean microseconds of `f` over `reps` runs after a warm-up.
fn time_us(s: &Stream, reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    s.synchronize().unwrap();
    let start = std::time::Instant::now();
    for _ in 0..reps {
        f();
    }
    s.synchronize().unwrap();
    start.elapsed().as_secs_f64() * 1e6 / reps as f64
}
