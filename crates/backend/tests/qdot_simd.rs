//! The kernels `dot_kernel` hands out (SIMD where the CPU has it) against the portable ones of
//! `scalar_dot_kernel`: the integer sums and per-block scale products are the same, only the
//! order of adding block results may differ, so they agree to within
//! `1e-5 * sum_blocks |block result| + 1e-6`.
//!
//! The SIMD level is chosen once per process (capped by `ROCMFORGE_CPU_SIMD`), so
//! [`every_simd_level_matches_scalar`] reruns this test binary with each cap.

use std::process::Command;
use std::time::Instant;

use backend::cpu::qdot::{
    act_row_bytes, act_type_for, dot_kernel, dot_kernel_for, quantize_row, scalar_dot_kernel, DotKernel, Path,
};
use gguf::quants::random_blocks;
use gguf::GgmlType;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TYPES: [GgmlType; 16] = [
    GgmlType::Q8_0,
    GgmlType::Q4_K,
    GgmlType::Q6_K,
    GgmlType::Q5_0,
    GgmlType::Q4_0,
    GgmlType::Q5_K,
    GgmlType::Q3_K,
    GgmlType::Q2_K,
    GgmlType::IQ4_NL,
    GgmlType::IQ4_XS,
    GgmlType::Q4_1,
    GgmlType::Q5_1,
    GgmlType::MXFP4,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::F32,
];

/// The environment variable that caps the SIMD level.
const SIMD_VAR: &str = "ROCMFORGE_CPU_SIMD";

/// Activations of one shape: mostly uniform in ±1 with exact zeros and outliers, or special
/// rows (all zero, one spike, huge, tiny, a zero block in the middle).
fn activations(rng: &mut StdRng, cols: usize, shape: usize) -> Vec<f32> {
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
    match shape {
        0 => {}
        1 => x.fill(0.0),
        2 => {
            x.fill(0.0);
            let at = rng.gen_range(0..cols);
            x[at] = -3.5e4;
        }
        3 => x.iter_mut().for_each(|v| *v *= 30.0), // outliers to 3e4: Q8_0's f16 d stays finite
        4 => x.iter_mut().for_each(|v| *v *= 1e-4),
        _ => {
            let (from, to) = (cols / 3, cols / 3 + cols / 4);
            x[from..to].fill(0.0);
            // Constant runs: identical quants, the largest at ±127.
            x[to..].iter_mut().step_by(3).for_each(|v| *v = -1.0);
        }
    }
    x
}

/// `kernel` and the scalar kernel on `n_blocks` random blocks of `ty`; panics with the inputs'
/// description where they disagree beyond the tolerance (or either is NaN).
fn check(ty: GgmlType, kernel: DotKernel, n_blocks: usize, w_scale: f32, shape: usize, rng: &mut StdRng) {
    let scalar = scalar_dot_kernel(ty).expect("listed types have a scalar kernel");
    let act = act_type_for(ty).expect("listed types have an activation type");
    let cols = n_blocks * ty.block_size();
    let w = random_blocks(ty, n_blocks, w_scale, rng).expect("supported type");
    let x = activations(rng, cols, shape);
    let mut a = vec![0u8; act_row_bytes(act, cols)];
    quantize_row(act, &x, &mut a);

    let got = kernel(&w, &a, n_blocks);
    let want = scalar(&w, &a, n_blocks);
    let (wb, ab) = (ty.type_size(), act_row_bytes(act, ty.block_size()));
    let magnitude: f64 =
        (0..n_blocks).map(|i| f64::from(scalar(&w[i * wb..(i + 1) * wb], &a[i * ab..(i + 1) * ab], 1)).abs()).sum();
    let tol = 1e-5 * magnitude + 1e-6;
    let diff = (f64::from(got) - f64::from(want)).abs();
    assert!(
        diff <= tol,
        "{ty}: {n_blocks} blocks, weight scale {w_scale}, activation shape {shape}: got {got}, scalar {want}, \
         |diff| {diff} > tol {tol}"
    );
}

/// Block counts: the few that exercise the tails of eight-block groups, and longer rows.
fn block_counts(ty: GgmlType) -> Vec<usize> {
    let mut n = vec![1, 2, 7, 8, 9, 15, 16, 17, 28, 64];
    if ty.block_size() == 1 {
        n.extend([31, 33, 100, 896, 4099]);
    }
    n
}

fn check_all(kernel_for: impl Fn(GgmlType) -> DotKernel) {
    let mut rng = StdRng::seed_from_u64(0x51d0);
    for ty in TYPES {
        let kernel = kernel_for(ty);
        for n_blocks in block_counts(ty) {
            for shape in 0..6 {
                for w_scale in [1.0, 3e-5, 2e3] {
                    check(ty, kernel, n_blocks, w_scale, shape, &mut rng);
                }
            }
            for _ in 0..8 {
                check(ty, kernel, n_blocks, 1.0, 0, &mut rng);
            }
        }
    }
}

#[test]
fn dot_kernels_match_scalar_kernels() {
    check_all(|ty| dot_kernel(ty).expect("listed types have a kernel"));
}

/// The batched path's kernels (Q4_K and Q6_K round differently there) within the same bound.
#[test]
fn batched_path_kernels_match_scalar_kernels() {
    check_all(|ty| dot_kernel_for(ty, Path::Batched).expect("listed types have a kernel"));
}

/// The scalar table against itself: trivially within tolerance, but it keeps the harness
/// honest (and it is what a CPU without the features runs).
#[test]
fn scalar_kernels_pass_the_harness() {
    check_all(|ty| scalar_dot_kernel(ty).expect("listed types have a kernel"));
}

/// With `ROCMFORGE_CPU_SIMD=scalar` in force, `dot_kernel` is the scalar table: bit-identical
/// results. (A no-op in other runs.)
#[test]
fn scalar_cap_gives_scalar_kernels() {
    if std::env::var(SIMD_VAR).as_deref() != Ok("scalar") {
        return;
    }
    let mut rng = StdRng::seed_from_u64(3);
    for ty in TYPES {
        let act = act_type_for(ty).unwrap();
        let n_blocks = 37;
        let cols = n_blocks * ty.block_size();
        let w = random_blocks(ty, n_blocks, 1.0, &mut rng).unwrap();
        let mut a = vec![0u8; act_row_bytes(act, cols)];
        quantize_row(act, &activations(&mut rng, cols, 0), &mut a);
        let got = dot_kernel(ty).unwrap()(&w, &a, n_blocks);
        let want = scalar_dot_kernel(ty).unwrap()(&w, &a, n_blocks);
        assert_eq!(got.to_bits(), want.to_bits(), "{ty}");
    }
}

/// Reruns this binary's comparison tests under every cap of `ROCMFORGE_CPU_SIMD`, so the AVX2
/// kernels are tested on AVX-512 machines too, and the forced-scalar path is tested at all.
#[test]
fn every_simd_level_matches_scalar() {
    if std::env::var_os(SIMD_VAR).is_some() {
        return; // a child run
    }
    let exe = std::env::current_exe().expect("test binary path");
    for cap in ["scalar", "avx2", "avx512"] {
        let out = Command::new(&exe)
            .env(SIMD_VAR, cap)
            .args(["--exact", "dot_kernels_match_scalar_kernels", "scalar_cap_gives_scalar_kernels"])
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

/// A short row whose slices hold fewer blocks than asked: like the scalar kernels, the SIMD
/// ones stop at the shorter slice instead of reading past it.
#[test]
fn short_slices_are_clamped_like_scalar() {
    let mut rng = StdRng::seed_from_u64(4);
    for ty in TYPES {
        let act = act_type_for(ty).unwrap();
        let w = random_blocks(ty, 9, 1.0, &mut rng).unwrap();
        let cols = 9 * ty.block_size();
        let mut a = vec![0u8; act_row_bytes(act, cols)];
        quantize_row(act, &activations(&mut rng, cols, 0), &mut a);
        let wb = ty.type_size();
        let (kernel, scalar) = (dot_kernel(ty).unwrap(), scalar_dot_kernel(ty).unwrap());
        let short = &w[..5 * wb + wb / 2];
        let got = kernel(short, &a, 9);
        let want = scalar(short, &a, 9);
        let full = kernel(&w[..5 * wb], &a, 5);
        assert_eq!(got.to_bits(), full.to_bits(), "{ty}");
        assert!((got - want).abs() <= 1e-5 * want.abs() + 1e-6, "{ty}: {got} vs {want}");
    }
}

/// Single-thread speed of each kernel in G multiply-adds per second, scalar against
/// `dot_kernel` (whose level `ROCMFORGE_CPU_SIMD` can cap):
/// `cargo test --release -p backend --test qdot_simd -- --ignored --nocapture kernel_speed`.
/// "hot": 64 rows of 4096 columns, the weights staying in cache; "model": rows as long as
/// Qwen2.5-0.5B's (896 columns, 4864 for the 256-element K-quants), about 32 MB of them, read
/// from memory as in decoding.
#[test]
#[ignore = "timing; run by hand in release"]
fn kernel_speed() {
    let mut rng = StdRng::seed_from_u64(5);
    println!("{SIMD_VAR}={}", std::env::var(SIMD_VAR).unwrap_or_default());
    println!(
        "{:<8} {:>11} {:>9} {:>6} {:>11} {:>9} {:>6}",
        "type", "hot scalar", "simd", "x", "model scalar", "simd", "x"
    );
    for ty in TYPES {
        let act = act_type_for(ty).unwrap();
        let (simd, scalar) = (dot_kernel(ty).unwrap(), scalar_dot_kernel(ty).unwrap());
        let mut line = format!("{:<8}", ty.to_string());
        let model_cols = if ty.block_size() == 256 { 4864 } else { 896 };
        let model_rows = (32 << 20) / (model_cols / ty.block_size() * ty.type_size());
        for (cols, rows, reps) in [(4096, 64, 200), (model_cols, model_rows, 3)] {
            let n_blocks = cols / ty.block_size();
            let mut a = vec![0u8; act_row_bytes(act, cols)];
            quantize_row(act, &activations(&mut rng, cols, 0), &mut a);
            let w = random_blocks(ty, rows * n_blocks, 1.0, &mut rng).unwrap();
            let row_bytes = n_blocks * ty.type_size();
            let time = |k: DotKernel| {
                let mut best = f64::INFINITY;
                let mut sink = 0f32;
                for _ in 0..5 {
                    let t = Instant::now();
                    for _ in 0..reps {
                        for r in w.chunks_exact(row_bytes) {
                            sink += k(std::hint::black_box(r), &a, n_blocks);
                        }
                    }
                    best = best.min(t.elapsed().as_secs_f64());
                }
                std::hint::black_box(sink);
                (rows * cols * reps) as f64 / best / 1e9
            };
            let (s, v) = (time(scalar), time(simd));
            line += &format!(" {s:>11.2} {v:>9.2} {:>6.1}", v / s);
        }
        println!("{line}");
    }
}
