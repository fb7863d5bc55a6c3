//! The GEMM kernels against the per-dot kernels of the same SIMD level: every (row, token)
//! result must be bit-identical (a token's logits may not depend on the batch it is in), for
//! every GEMM type, row and token counts that are not multiples of the tiles, row ranges that
//! start inside the matrix, and block counts that exercise every tail of the per-dot kernels'
//! eight-block groups, on both kernel paths (Q4_K and Q6_K round per path). [`every_simd_level_matches_per_dot`] reruns the binary under each cap of
//! `ROCMFORGE_CPU_SIMD`, so the AVX2 GEMM is tested on AVX-512 machines too.

use std::process::Command;
use std::time::Instant;

use backend::cpu::qdot::{
    act_row_bytes, act_type_for, dot_kernel_for, gemm_kernel, gemm_kernel_for, quantize_row, Path, GEMM_TYPES,
};
use backend::WeightView;
use gguf::quants::random_blocks;
use gguf::GgmlType;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SIMD_VAR: &str = "ROCMFORGE_CPU_SIMD";

/// Token rows: mostly ±1 with zeros and outliers; some all zero, one spike, huge or tiny.
fn token(rng: &mut StdRng, cols: usize, shape: usize) -> Vec<f32> {
    let mut x: Vec<f32> = (0..cols)
        .map(|_| {
            let r: f32 = rng.gen();
            let v = 2.0 * rng.gen::<f32>() - 1.0;
            if r < 0.05 {
                0.0
            } else if r < 0.08 {
                v * rng.gen_range(20.0..1000.0)
            } else {
                v
            }
        })
        .collect();
    match shape % 8 {
        1 => x.fill(0.0),
        2 => {
            x.fill(0.0);
            x[rng.gen_range(0..cols)] = -3.5e4;
        }
        3 => x.iter_mut().for_each(|v| *v *= 30.0),
        4 => x.iter_mut().for_each(|v| *v *= 1e-4),
        5 => x.iter_mut().step_by(3).for_each(|v| *v = -1.0),
        _ => {}
    }
    x
}

/// The other GEMM type with the same activation encoding.
fn sibling(ty: GgmlType) -> GgmlType {
    match ty {
        GgmlType::Q5_0 => GgmlType::Q8_0,
        GgmlType::Q8_0 => GgmlType::Q5_0,
        GgmlType::Q4_K => GgmlType::Q6_K,
        _ => GgmlType::Q4_K,
    }
}

/// Every GEMM type and path with a GEMM at the SIMD level in force.
fn gemm_cases() -> Vec<(GgmlType, Path)> {
    GEMM_TYPES
        .iter()
        .flat_map(|&ty| [(ty, Path::Single), (ty, Path::Batched)])
        .filter(|&(ty, path)| gemm_kernel_for(ty, path).is_some())
        .collect()
}

/// GEMM over `rows` of a random `n_rows x cols` matrix against `t` tokens, compared with the
/// per-dot kernel of the same path bit for bit.
fn check(
    (ty, path): (GgmlType, Path),
    n_rows: usize,
    blocks: usize,
    t: usize,
    rows: std::ops::Range<usize>,
    rng: &mut StdRng,
) {
    let gemm = gemm_kernel_for(ty, path).expect("GEMM available");
    let kernel = dot_kernel_for(ty, path).expect("dot kernel");
    let act = act_type_for(ty).unwrap();
    let cols = blocks * ty.block_size();
    let scale = [1.0, 3e-5, 2e3][rng.gen_range(0..3)];
    let data = random_blocks(ty, n_rows * blocks, scale, rng).unwrap();
    let w = WeightView::from_parts("w", ty, n_rows, cols, &data).unwrap();
    let x: Vec<f32> = (0..t).flat_map(|i| token(rng, cols, i + t)).collect();

    let mut enc = vec![0u8; t * act_row_bytes(act, cols)];
    let ab = act_row_bytes(act, cols);
    for (e, xr) in enc.chunks_exact_mut(ab).zip(x.chunks_exact(cols)) {
        quantize_row(act, xr, e);
    }
    // Both ways of packing: from f32 rows per group, and from encoded rows; the first through
    // the GEMM of the other type with this activation encoding (packs are shared).
    let packer = gemm_kernel_for(sibling(ty), Path::Batched).unwrap();
    let mut packed = packer.alloc(t, cols);
    let g = gemm.group();
    for (gi, dst) in packed.groups_mut().into_iter().enumerate() {
        let (a, b) = (gi * g, ((gi + 1) * g).min(t));
        packer.pack_group(&x[a * cols..b * cols], cols, dst);
    }
    let packed2 = gemm.pack_encoded(&enc, t, cols);

    for p in [&packed, &packed2] {
        // Poisoned output, wider than the rows so stray writes show.
        let width = rows.len() + 3;
        let mut out = vec![f32::NAN; t * width];
        let mut slices: Vec<&mut [f32]> = out.chunks_exact_mut(width).collect();
        gemm.run(&w, rows.clone(), p, &mut slices);
        for c in 0..t {
            for r in rows.clone() {
                let got = out[c * width + r - rows.start];
                let want = kernel(w.row(r), &enc[c * ab..(c + 1) * ab], blocks);
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "{ty} {path:?}: {n_rows} rows x {blocks} blocks, {t} tokens, rows {rows:?}: [{c}, {r}] gemm {got} per-dot {want}"
                );
            }
            for k in rows.len()..width {
                assert!(out[c * width + k].is_nan(), "{ty}: write past the rows at token {c}");
            }
        }
    }
}

#[test]
fn gemm_matches_per_dot_bit_for_bit() {
    if gemm_kernel(GgmlType::Q4_K).is_none() {
        assert!(GEMM_TYPES.iter().all(|&ty| gemm_kernel(ty).is_none()));
        return; // scalar level: no GEMM, the per-dot kernels run
    }
    let mut rng = StdRng::seed_from_u64(0x6e66);
    for case in gemm_cases() {
        let ty = case.0;
        let block_counts: &[usize] =
            if ty.block_size() == 32 { &[1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 17, 20, 28, 33] } else { &[1, 2, 3, 4] };
        for &blocks in block_counts {
            for (n_rows, t) in [(1, 1), (3, 2), (4, 8), (5, 16), (7, 17), (9, 33), (6, 40), (13, 9)] {
                check(case, n_rows, blocks, t, 0..n_rows, &mut rng);
            }
            // A row range inside the matrix, not a multiple of the tile.
            check(case, 11, blocks, 19, 2..9, &mut rng);
            check(case, 11, blocks, 5, 7..11, &mut rng);
        }
    }
}

/// Shapes of the real models' matrices (896 / 4864 / 640 / 2048 columns).
#[test]
fn gemm_matches_per_dot_on_model_shapes() {
    if gemm_kernel(GgmlType::Q4_K).is_none() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(0x6e67);
    for case in gemm_cases() {
        let ty = case.0;
        let cols: &[usize] = if ty.block_size() == 32 { &[896, 640, 2048] } else { &[4864, 2048] };
        for &c in cols {
            check(case, 6, c / ty.block_size(), 37, 0..6, &mut rng);
        }
    }
}

/// Reruns the comparisons under every cap of `ROCMFORGE_CPU_SIMD` the CPU allows.
#[test]
fn every_simd_level_matches_per_dot() {
    if std::env::var_os(SIMD_VAR).is_some() {
        return; // a child run
    }
    let exe = std::env::current_exe().expect("test binary path");
    for cap in ["scalar", "avx2", "avx512"] {
        let out = Command::new(&exe)
            .env(SIMD_VAR, cap)
            .args(["--exact", "gemm_matches_per_dot_bit_for_bit", "gemm_matches_per_dot_on_model_shapes"])
            .args(["--test-threads", "2"])
            .output()
            .expect("rerun the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("2 passed"),
            "{SIMD_VAR}={cap}: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Single-thread speed of the GEMM against the per-dot kernels on a Qwen-shaped matrix, by
/// token count (packing included; the weights stay in cache). Prints G multiply-adds/s.
/// `cargo test --release -p backend --test qdot_gemm -- --ignored --nocapture gemm_speed`.
#[test]
#[ignore = "timing; run by hand in release"]
fn gemm_speed() {
    let mut rng = StdRng::seed_from_u64(6);
    println!("{SIMD_VAR}={}", std::env::var(SIMD_VAR).unwrap_or_default());
    let counts = [1usize, 2, 4, 5, 6, 8, 16, 32, 128];
    println!("{:<6} {:>5} {}", "type", "cols", counts.map(|t| format!("{:>12}", format!("t={t} dot/gemm"))).join(""));
    for (ty, path) in gemm_cases() {
        let gemm = gemm_kernel_for(ty, path).unwrap();
        let kernel = dot_kernel_for(ty, path).unwrap();
        let act = act_type_for(ty).unwrap();
        let cols = if ty.block_size() == 256 { 4864 } else { 896 };
        let rows = 256;
        let blocks = cols / ty.block_size();
        let data = random_blocks(ty, rows * blocks, 1.0, &mut rng).unwrap();
        let w = WeightView::from_parts("w", ty, rows, cols, &data).unwrap();
        let mut line = format!("{:<6} {cols:>5}", format!("{ty}{}", if path == Path::Batched { "b" } else { "" }));
        for t in counts {
            let x: Vec<f32> = (0..t).flat_map(|i| token(&mut rng, cols, 6 + 8 * i)).collect();
            let ab = act_row_bytes(act, cols);
            let best = |f: &mut dyn FnMut()| {
                (0..5)
                    .map(|_| {
                        let t0 = Instant::now();
                        f();
                        t0.elapsed().as_secs_f64()
                    })
                    .fold(f64::INFINITY, f64::min)
            };
            let mut out = vec![0f32; t * rows];
            let per_dot = best(&mut || {
                let mut enc = vec![0u8; t * ab];
                for (e, xr) in enc.chunks_exact_mut(ab).zip(x.chunks_exact(cols)) {
                    quantize_row(act, xr, e);
                }
                for r in 0..rows {
                    for c in 0..t {
                        out[c * rows + r] = kernel(w.row(r), &enc[c * ab..(c + 1) * ab], blocks);
                    }
                }
            });
            let gemm_t = best(&mut || {
                let mut p = gemm.alloc(t, cols);
                let g = gemm.group();
                for (gi, dst) in p.groups_mut().into_iter().enumerate() {
                    gemm.pack_group(&x[gi * g * cols..((gi + 1) * g).min(t) * cols], cols, dst);
                }
                let mut slices: Vec<&mut [f32]> = out.chunks_exact_mut(rows).collect();
                gemm.run(&w, 0..rows, &p, &mut slices);
            });
            let macs = (rows * cols * t) as f64 / 1e9;
            line += &format!(" {:>5.1}/{:<6.1}", macs / per_dot, macs / gemm_t);
            if t == *counts.last().unwrap() {
                // The GEMM alone (activations packed beforehand).
                let p = gemm.pack_encoded(
                    &{
                        let mut enc = vec![0u8; t * ab];
                        for (e, xr) in enc.chunks_exact_mut(ab).zip(x.chunks_exact(cols)) {
                            quantize_row(act, xr, e);
                        }
                        enc
                    },
                    t,
                    cols,
                );
                let run = best(&mut || {
                    let mut slices: Vec<&mut [f32]> = out.chunks_exact_mut(rows).collect();
                    gemm.run(&w, 0..rows, &p, &mut slices);
                });
                line += &format!(" run only {:.1}", macs / run);
            }
        }
        println!("{line}");
    }
}
