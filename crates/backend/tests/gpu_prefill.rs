//! The prefill paths on a real device. Products on the vendor BLAS (weights dequantized to f16,
//! activations rounded to f16, f32 accumulation) against an f64 product of the reference
//! dequantization for every weight type, also in chunks of rows and tokens, and the dispatch;
//! and (informational, `--ignored`) the speed of the GEMM and BLAS paths and of the attention
//! kernels on the shapes of Qwen2.5 0.5B and 7B at prefill sizes.
//! Skipped without a GPU (`ROCMFORGE_REQUIRE_GPU=1` makes that a failure); without a usable
//! vendor BLAS the BLAS tests are skipped, unless `ROCMFORGE_REQUIRE_BLAS=1`.

mod common;

use backend::cpu::qdot::WEIGHT_TYPES;
use backend::cpu::{AttnParams, KvRows};
use backend::gpu::{
    AttnKernel, DeviceBuffer, Gpu, GpuMatrix, KvBuffers, Matmul, MatmulKernel, Ops, PagedPlaces, Stream,
};
use backend::{KvType, WeightView};
use common::*;
use gguf::quants::{dequantize_to_vec, random_blocks};
use gguf::GgmlType;
use rand::rngs::StdRng;

/// Largest error of a BLAS product, relative to sum_c |W[r, c] x[i, c]|. Both operands are
/// rounded to f16 (relative error <= 2^-11 each, so each product is within 2^-10 + 2^-22 of
/// its value: 9.8e-4), and the f32 accumulation over at most a few thousand terms adds at most
/// ~3e-4 more in the worst case (far less in practice).
const BLAS_TOL: f64 = 1.5e-3;

/// Token counts of the BLAS tests: one (explicit kernel choice), the dispatch threshold, and
/// more than two GEMM tiles of every size.
const TOKENS: [usize; 4] = [1, 65, 130, 300];

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

/// (sum_c w[r, c] x[i, c], sum_c |w[r, c] x[i, c]|) in f64 for i < t and the rows `rows_of`
/// (all when None); [t, rows] (rows not asked for are (0, 0)).
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

/// Checks y[..t * rows] against the reference (and that nothing past it was written); returns
/// the worst error relative to sum |w x|.
fn check(what: &str, y: &[f32], want: &[(f64, f64)], t: usize, rows: usize) -> f64 {
    let mut worst = 0f64;
    for (k, (&got, &(sum, abs))) in y[..t * rows].iter().zip(want).enumerate() {
        let err = (f64::from(got) - sum).abs() / abs.max(f64::MIN_POSITIVE);
        assert!(
            err <= BLAS_TOL,
            "{what}: y[{}, {}] = {got}, want {sum} (error {err:e} of sum |w x| = {abs})",
            k / rows,
            k % rows
        );
        worst = worst.max(err);
    }
    assert!(y[t * rows..].iter().all(|&v| is_poison(v)), "{what}: wrote past y[t * rows]");
    worst
}

/// Whether the BLAS path is usable here (prints which library, or why not).
fn blas_usable(mm: &Matmul) -> bool {
    match mm.blas_status() {
        Ok(lib) => {
            eprintln!("vendor BLAS: {lib}");
            true
        }
        Err(e) if std::env::var("ROCMFORGE_REQUIRE_BLAS").is_ok_and(|v| v == "1") => {
            panic!("the vendor BLAS is required: {e}")
        }
        Err(e) => {
            eprintln!("skipped: no vendor BLAS ({e})");
            false
        }
    }
}

#[test]
fn blas_products_match_the_reference_for_every_type() {
    let Some(gpu) = gpu() else { return };
    private_compiler(&gpu, "prefill-blas");
    let mm = Matmul::with_blas(&gpu, true).unwrap();
    if !blas_usable(&mm) {
        return;
    }
    let s = gpu.stream();
    let mut r = rng("blas products");
    let t_max = TOKENS[TOKENS.len() - 1];
    for ty in WEIGHT_TYPES {
        let mut worst = 0f64;
        for (rows, cols) in shapes(ty) {
            let bytes = random_matrix(ty, rows, cols, &mut r);
            let w = upload(&gpu, ty, rows, cols, &bytes);
            let wf = dequantize_to_vec(ty, &bytes).unwrap();
            let x = random_vec(&mut r, t_max * cols, 1.0);
            let want = reference(&wf, &x, rows, cols, t_max);
            let dx = gpu.upload(&x, "x").unwrap();
            for t in TOKENS {
                let what = format!("{ty} {rows}x{cols} t={t} Blas");
                let mut dy = poisoned(&gpu, t * rows + 7, "y");
                mm.matmul_with(MatmulKernel::Blas, s, &w, &dx, t, &mut dy).unwrap_or_else(|e| panic!("{what}: {e}"));
                worst = worst.max(check(&what, &dy.read(s).unwrap(), &want, t, rows));
            }
        }
        eprintln!(
            "{ty:>6}: {} shapes x t in {TOKENS:?}: worst error {worst:.2e} of sum |w x| (tolerance {BLAS_TOL:e})",
            5
        );
    }
}

/// Small scratch limits: the product goes in chunks of at most 40 rows and 24 tokens, within
/// the same tolerance.
#[test]
fn blas_products_in_chunks() {
    let Some(gpu) = gpu() else { return };
    private_compiler(&gpu, "prefill-blas-chunks");
    let (ty, rows, cols, t) = (GgmlType::Q4_K, 1031, 2304, 130);
    let mm = Matmul::with_blas_scratch(&gpu, true, 40 * cols, 24 * cols).unwrap();
    if !blas_usable(&mm) {
        return;
    }
    let s = gpu.stream();
    let mut r = rng("blas chunks");
    let bytes = random_matrix(ty, rows, cols, &mut r);
    let w = upload(&gpu, ty, rows, cols, &bytes);
    let x = random_vec(&mut r, t * cols, 1.0);
    let want = reference(&dequantize_to_vec(ty, &bytes).unwrap(), &x, rows, cols, t);
    let dx = gpu.upload(&x, "x").unwrap();
    let mut dy = poisoned(&gpu, t * rows + 7, "y");
    mm.matmul_with(MatmulKernel::Blas, s, &w, &dx, t, &mut dy).unwrap();
    let worst = check("chunked", &dy.read(s).unwrap(), &want, t, rows);
    eprintln!("{ty} {rows}x{cols} t={t} in chunks of at most 40 rows x 24 tokens: worst error {worst:.2e}");
}

/// `matmul` takes the BLAS from 65 tokens when it is usable, never below (decode graphs of up
/// to 64 sequences stay on our kernels), and never when it is not allowed.
#[test]
fn blas_dispatch() {
    let Some(gpu) = gpu() else { return };
    let mut r = rng("blas dispatch");
    let bytes = random_matrix(GgmlType::Q4_K, 4864, 256, &mut r);
    let w = upload(&gpu, GgmlType::Q4_K, 4864, 256, &bytes);
    let off = Matmul::with_blas(&gpu, false).unwrap();
    assert_ne!(off.kernel_for(&w, 512), MatmulKernel::Blas);
    assert!(off.blas_status().is_err());
    let mm = Matmul::with_blas(&gpu, true).unwrap();
    assert_ne!(mm.kernel_for(&w, 64), MatmulKernel::Blas);
    if blas_usable(&mm) {
        assert_eq!(mm.kernel_for(&w, 65), MatmulKernel::Blas);
        // matmul runs what kernel_for names.
        let s = gpu.stream();
        let t = 70;
        let dx = gpu.upload(&random_vec(&mut r, t * 256, 1.0), "x").unwrap();
        let (mut a, mut b) = (poisoned(&gpu, t * 4864, "a"), poisoned(&gpu, t * 4864, "b"));
        mm.matmul(s, &w, &dx, t, &mut a).unwrap();
        mm.matmul_with(MatmulKernel::Blas, s, &w, &dx, t, &mut b).unwrap();
        let (a, b) = (a.read(s).unwrap(), b.read(s).unwrap());
        assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()), "matmul is matmul_with(Blas)");
    }
}

/// Median device time of `f` over `reps` calls after a warm-up, in ms.
fn time_ms(gpu: &Gpu, s: &Stream, reps: usize, mut f: impl FnMut(usize)) -> f64 {
    for i in 0..2 {
        f(i);
    }
    s.synchronize().unwrap();
    let mut v: Vec<f64> = (0..reps)
        .map(|i| {
            let (e0, e1) = (gpu.event().unwrap(), gpu.event().unwrap());
            e0.record(s).unwrap();
            f(i);
            e1.record(s).unwrap();
            e1.synchronize().unwrap();
            f64::from(e0.elapsed_ms(&e1).unwrap())
        })
        .collect();
    s.synchronize().unwrap();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The projections of one layer: (name, type, rows, cols) as in the Q4_K_M files.
type Shape = (&'static str, GgmlType, usize, usize);
const QWEN05: (&str, usize, [Shape; 7]) = (
    "Qwen2.5-0.5B",
    24,
    [
        ("q", GgmlType::Q5_0, 896, 896),
        ("k", GgmlType::Q5_0, 128, 896),
        ("v", GgmlType::Q8_0, 128, 896),
        ("o", GgmlType::Q5_0, 896, 896),
        ("gate", GgmlType::Q5_0, 4864, 896),
        ("up", GgmlType::Q5_0, 4864, 896),
        ("down", GgmlType::Q4_K, 896, 4864),
    ],
);
const QWEN7B: (&str, usize, [Shape; 7]) = (
    "Qwen2.5-7B",
    28,
    [
        ("q", GgmlType::Q4_K, 3584, 3584),
        ("k", GgmlType::Q4_K, 512, 3584),
        ("v", GgmlType::Q6_K, 512, 3584),
        ("o", GgmlType::Q4_K, 3584, 3584),
        ("gate", GgmlType::Q4_K, 18944, 3584),
        ("up", GgmlType::Q4_K, 18944, 3584),
        ("down", GgmlType::Q6_K, 3584, 18944),
    ],
);

/// Informational: per projection of a layer, GEMM vs BLAS at prefill sizes (weights rotated
/// over copies that exceed the L2), and the sum over the model's layers at t = 512.
#[test]
#[ignore]
fn prefill_matmul_speed() {
    let Some(gpu) = gpu() else { return };
    let mm = Matmul::new(&gpu).unwrap();
    let blas = blas_usable(&mm);
    let s = gpu.stream();
    let mut r = rng("prefill speed");
    let l2 = u64::from(gpu.info().l2_cache_bytes).max(1 << 20);
    eprintln!("{} ({} SMs, {} MiB L2)", gpu.info().name, gpu.info().multiprocessors, l2 >> 20);
    let tokens = [64usize, 128, 256, 512];
    for (model, layers, shapes) in [QWEN05, QWEN7B] {
        let mut total = [0f64; 2]; // GEMM, BLAS at t = 512, per layer
        for (name, ty, rows, cols) in shapes {
            let bytes = random_matrix(ty, rows, cols, &mut r);
            let copies = (4 * l2).div_ceil(bytes.len() as u64).clamp(2, 64) as usize;
            let ws: Vec<GpuMatrix> = (0..copies).map(|_| upload(&gpu, ty, rows, cols, &bytes)).collect();
            let x = gpu.upload(&random_vec(&mut r, 512 * cols, 1.0), "x").unwrap();
            let mut y = gpu.alloc::<f32>(512 * rows, "y").unwrap();
            let mut line = format!("{model} {name:>4} {ty} {rows}x{cols}:");
            for t in tokens {
                let flop = 2.0 * (rows * cols * t) as f64;
                let mut run = |k: MatmulKernel| {
                    time_ms(&gpu, s, 9, |i| mm.matmul_with(k, s, &ws[i % copies], &x, t, &mut y).unwrap())
                };
                let g = run(MatmulKernel::Gemm);
                let b = if blas { run(MatmulKernel::Blas) } else { f64::NAN };
                line += &format!(
                    " | t={t} gemm {:.0} us ({:.0} TF/s) blas {:.0} us ({:.0} TF/s)",
                    g * 1e3,
                    flop / g / 1e9,
                    b * 1e3,
                    flop / b / 1e9
                );
                if t == 512 {
                    total[0] += g;
                    total[1] += b;
                }
            }
            eprintln!("{line}");
        }
        eprintln!(
            "{model}: projections of {layers} layers at t=512: GEMM {:.2} ms, BLAS {:.2} ms",
            total[0] * layers as f64,
            total[1] * layers as f64
        );
    }
}

/// Informational: one attention launch of a 512-token prefill with the models' head layouts,
/// per kernel and KV cache type, and how far apart the kernels' results are.
#[test]
#[ignore]
fn prefill_attention_speed() {
    let Some(gpu) = gpu() else { return };
    let ops = Ops::new(&gpu).unwrap();
    let s = gpu.stream();
    let mut r = rng("attention speed");
    let models = [("Qwen2.5-0.5B", 14, 2, 64, 24), ("Qwen2.5-7B", 28, 4, 128, 28), ("Gemma3-270M", 4, 1, 256, 18)];
    for ((model, n_head, n_kv, hd, layers), ty) in models.into_iter().flat_map(|m| KvType::ALL.map(|ty| (m, ty))) {
        let (t, bs) = (512usize, 16usize);
        let blocks = t.div_ceil(bs);
        let width = n_kv * hd;
        let rows = |r: &mut StdRng| {
            let mut rows = KvRows::new(ty, blocks * bs, width);
            (0..blocks * bs).for_each(|slot| rows.write(slot, &random_vec(r, width, 1.0)));
            rows
        };
        let (k, v) = (rows(&mut r), rows(&mut r));
        let kv = KvBuffers::upload(&gpu, k.data(), v.data(), width).unwrap();
        let q = gpu.upload(&random_vec(&mut r, t * n_head * hd, 2.0), "q").unwrap();
        let positions = gpu.upload(&(0..t as u32).collect::<Vec<_>>(), "positions").unwrap();
        let token_seq = gpu.upload(&vec![0u32; t], "token_seq").unwrap();
        let table = gpu.upload(&(0..blocks as u32).collect::<Vec<_>>(), "table").unwrap();
        let at = PagedPlaces {
            positions: &positions,
            token_seq: &token_seq,
            block_tables: &table,
            max_blocks: blocks,
            t,
            max_pos: t as u32 - 1,
        };
        let p = AttnParams {
            n_head,
            n_kv_head: n_kv,
            head_dim: hd,
            scale: 1.0 / (hd as f32).sqrt(),
            window: None,
            softcap: None,
            scale_q: false,
        };
        let mut outs: Vec<Vec<f32>> = Vec::new();
        let mut line = format!("{model} attention, prefill of {t} ({n_head}/{n_kv} heads, hd {hd}, {ty} cache):");
        let mut kernels = vec![AttnKernel::PerToken, AttnKernel::Tiled];
        if ops.has_mma(hd) {
            kernels.push(AttnKernel::TiledMma);
        }
        for &kernel in &kernels {
            let mut out: DeviceBuffer<f32> = poisoned(&gpu, t * n_head * hd, "out");
            let ms = time_ms(&gpu, s, 9, |_| ops.attention_with(kernel, s, &q, &at, &kv, bs, &p, &mut out).unwrap());
            line += &format!(" {kernel:?} {:.0} us ({:.2} ms for {layers} layers);", ms * 1e3, ms * layers as f64);
            outs.push(out.read(s).unwrap());
        }
        for (k, o) in kernels.iter().zip(&outs).skip(1) {
            let diff = outs[0].iter().zip(o).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(o.iter().all(|v| v.is_finite()), "{model}: {k:?} output not finite");
            line += &format!(" {k:?} vs PerToken: largest |difference| {diff:.2e};");
        }
        eprintln!("{line}");
    }
}
