//! Helpers shared by the GPU test files: device selection (skip, or fail under
//! `ROCMFORGE_REQUIRE_GPU=1`), seeded random inputs, poisoned outputs, comparisons with named
//! tolerances in which NaN never passes.
#![allow(dead_code)] // each test file uses its own subset

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use backend::gpu::{Compiler, DeviceBuffer, Gpu, KernelCache};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Largest error allowed for f32 kernels, relative to the largest reference magnitude of the
/// row: different summation orders and `rsqrtf` (2 ulp) stay far below it.
pub const F32_REL_TOL: f64 = 1e-5;

pub fn gpu() -> Option<Gpu> {
    match Gpu::new(0) {
        Ok(g) => Some(g),
        Err(e) if std::env::var("ROCMFORGE_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("a GPU is required: {e}")
        }
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

pub fn rng(tag: &str) -> StdRng {
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    eprintln!("{tag}: seed {seed}");
    StdRng::seed_from_u64(seed)
}

pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rocmforge-gpu-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A compiler with a private cache directory, so tests do not depend on each other.
pub fn private_compiler(gpu: &Gpu, tag: &str) -> Arc<Compiler> {
    let c = Arc::new(Compiler::new(gpu.runtime().rtc().unwrap(), Some(KernelCache::new(tmpdir(tag)))));
    gpu.set_compiler(c.clone());
    c
}

pub fn random_vec(r: &mut StdRng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| r.gen_range(-scale..scale)).collect()
}

/// Every element finite and within `tol` of the reference, relative to the largest reference
/// magnitude (NaN fails: the comparison is written so that it must be true).
pub fn assert_close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
    let mut worst = 0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs() / scale;
        assert!(err <= tol, "{what}[{i}]: got {g}, want {w} (relative error {err:e} > {tol:e})");
        worst = worst.max(err);
    }
    eprintln!("{what}: {} elements, worst relative error {worst:.2e} (tolerance {tol:e})", got.len());
}

/// A float sum is within `F32_REL_TOL` of the exact sum, relative to the sum of magnitudes
/// (the scale of its rounding errors, whatever the cancellation).
pub fn assert_sum(what: &str, got: f32, values: &[f32]) {
    let want: f64 = values.iter().map(|&v| f64::from(v)).sum();
    let scale: f64 = values.iter().map(|&v| f64::from(v).abs()).sum::<f64>().max(f64::MIN_POSITIVE);
    let err = (f64::from(got) - want).abs() / scale;
    assert!(err <= F32_REL_TOL, "{what}: got {got}, want {want} (relative error {err:e})");
}

/// A buffer whose every byte is 0xFF (a NaN in every float), so unwritten elements show.
pub fn poisoned(gpu: &Gpu, n: usize, what: &str) -> DeviceBuffer<f32> {
    let mut b = gpu.alloc::<f32>(n, what).unwrap();
    b.fill_bytes(gpu.stream(), 0xFF).unwrap();
    b
}
