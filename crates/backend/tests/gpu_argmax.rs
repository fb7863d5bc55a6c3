//! The device's greedy choice (`backend::gpu::Argmax`) against a scalar scan with the CPU
//! sampler's rule (NaN counts as -inf, ties to the lowest index, nothing to choose in a row of
//! only NaN and -inf), exact, on random rows with planted ties, NaN and infinities. Skipped
//! without a GPU; `ROCMFORGE_REQUIRE_GPU=1` makes that a failure.

mod common;

use backend::gpu::{decode_pick, Argmax, DeviceBuffer};
use common::*;
use rand::Rng;

/// The rule, written independently of the kernel: a strict scan from index 0.
fn reference(row: &[f32]) -> Option<(u32, f32)> {
    let mut best: Option<(u32, f32)> = None;
    for (i, &v) in row.iter().enumerate() {
        if !v.is_nan() && v != f32::NEG_INFINITY && best.is_none_or(|(_, b)| v > b) {
            best = Some((i as u32, v));
        }
    }
    best
}

#[test]
fn argmax_matches_the_scalar_rule() {
    let Some(gpu) = gpu() else { return };
    private_compiler(&gpu, "argmax");
    let argmax = Argmax::new(&gpu).unwrap();
    let mut r = rng("argmax");
    let s = gpu.stream();
    for &(rows, n) in &[(1, 1), (3, 33), (5, 1000), (64, 151_936), (2, 262_144)] {
        let mut x = random_vec(&mut r, rows * n, 8.0);
        for row in x.chunks_exact_mut(n) {
            // Planted: a tie for the maximum at two indices, NaN and infinities here and there.
            let (a, b) = (r.gen_range(0..n), r.gen_range(0..n));
            row[a] = 9.0;
            row[b] = 9.0;
            for _ in 0..n / 50 {
                let i = r.gen_range(0..n);
                row[i] = [f32::NAN, f32::NEG_INFINITY, -f32::NAN][r.gen_range(0..3)];
            }
        }
        if rows >= 3 {
            // Row 0 of only -inf and NaN, row 1 with two +inf, row 2 all NaN.
            x[..n].iter_mut().enumerate().for_each(|(i, v)| *v = if i % 2 == 0 { f32::NEG_INFINITY } else { f32::NAN });
            x[n + n / 3] = f32::INFINITY;
            x[n + n - 1] = f32::INFINITY;
            x[2 * n..3 * n].fill(f32::NAN);
        }
        let dx: DeviceBuffer<f32> = gpu.upload(&x, "logits").unwrap();
        let mut out: DeviceBuffer<u32> = gpu.alloc(2 * rows + 3, "picks").unwrap();
        out.fill_u32(s, 0xDEAD_BEEF).unwrap();
        argmax.rows(s, &dx, rows, n, &mut out).unwrap();
        let got = out.read(s).unwrap();
        for (i, row) in x.chunks_exact(n).enumerate() {
            let pick = decode_pick([got[2 * i], got[2 * i + 1]], n);
            let want = reference(row);
            assert_eq!(
                pick.map(|(i, v)| (i, v.to_bits())),
                want.map(|(i, v)| (i, v.to_bits())),
                "{rows} x {n}, row {i}"
            );
        }
        assert_eq!(&got[2 * rows..], &[0xDEAD_BEEF; 3], "{rows} x {n}: written past the rows");
    }
}

#[test]
fn argmax_refuses_bad_sizes() {
    let Some(gpu) = gpu() else { return };
    let argmax = Argmax::new(&gpu).unwrap();
    let x: DeviceBuffer<f32> = gpu.alloc(100, "logits").unwrap();
    let mut out: DeviceBuffer<u32> = gpu.alloc(4, "picks").unwrap();
    assert!(argmax.rows(gpu.stream(), &x, 2, 51, &mut out).is_err(), "rows past the input");
    assert!(argmax.rows(gpu.stream(), &x, 3, 10, &mut out).is_err(), "rows past the output");
}
