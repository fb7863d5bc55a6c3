//! The whole GPU chain on a real device: load the tables, compile with the vendor's RTC, cache,
//! upload, launch, download, compare with the CPU. Skipped (with a note) on machines without a
//! GPU; `ROCMFORGE_REQUIRE_GPU=1` turns the skip into a failure (set on the GPU machine).
//!
//! Outputs are poisoned (all bytes 0xFF, a NaN in every float) before each launch, so an
//! element a kernel fails to write shows up as a NaN, and NaN never passes a comparison.

mod common;

use std::sync::Arc;

use backend::gpu::{
    kernels, Compiler, DeviceBuffer, Gpu, GpuError, Kernel, KernelCache, LaunchConfig, Module, PinnedPool, Stream,
};
use backend::gpu_args;
use common::*;
use half::{bf16, f16};
use rand::Rng;

fn rms_norm_ref(x: &[f32], w: &[f32], n: usize, eps: f32) -> Vec<f64> {
    x.chunks(n)
        .flat_map(|row| {
            let ms = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / n as f64;
            let scale = 1.0 / (ms + f64::from(eps)).sqrt();
            row.iter().zip(w).map(move |(&v, &wi)| f64::from(v) * scale * f64::from(wi)).collect::<Vec<_>>()
        })
        .collect()
}

struct Elementwise {
    module: Module,
    rms: Kernel,
    add: Kernel,
}

fn elementwise(gpu: &Gpu) -> Elementwise {
    let module = gpu.compile(&kernels::ELEMENTWISE).unwrap_or_else(|e| panic!("{e}"));
    Elementwise { rms: module.kernel("rf_rms_norm_f32").unwrap(), add: module.kernel("rf_add_f32").unwrap(), module }
}

#[test]
fn device_is_described() {
    let Some(gpu) = gpu() else { return };
    let i = gpu.info();
    eprintln!("{gpu:?}: {i:#?}");
    assert_eq!(i.warp_size, gpu.arch().warp_size(), "the warp size we compile for is the device's");
    assert!(i.total_memory > 0 && i.free_memory <= i.total_memory);
    assert!(i.multiprocessors > 0 && i.max_threads_per_block >= 256);
    let (free, total) = gpu.memory_info().unwrap();
    assert_eq!(total, i.total_memory);
    assert!(free <= total);
}

/// Page-locked buffers: the device's values land in them whole, and a dropped buffer is handed
/// out again (no allocation per step).
#[test]
fn pinned_buffers_take_copies_and_are_reused() {
    let Some(gpu) = gpu() else { return };
    let s = gpu.stream();
    let pool = PinnedPool::new(&gpu);
    let v: Vec<f32> = (0..152_064).map(|i| i as f32 * 0.5 - 7.0).collect();
    let d = gpu.upload(&v, "logits").unwrap();
    let mut p = pool.take::<f32>(v.len()).unwrap();
    d.read_at(s, 0, &mut p).unwrap();
    assert!(p.iter().zip(&v).all(|(a, b)| a.to_bits() == b.to_bits()), "pinned copy differs");
    let addr = p.as_ptr();
    drop(p);
    let mut q = pool.take::<f32>(1000).unwrap();
    assert_eq!(q.as_ptr(), addr, "a dropped buffer large enough is reused");
    assert_eq!(q.len(), 1000);
    d.read_at(s, 5, &mut q).unwrap();
    assert_eq!(&q[..], &v[5..1005]);
}

#[test]
fn rms_norm_and_add_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    private_compiler(&gpu, "elementwise");
    let k = elementwise(&gpu);
    assert!(!k.module.from_cache());
    let s = gpu.stream();
    let mut r = rng("rms_norm");
    let eps = 1e-6f32;
    for (rows, n, block) in [(1, 1, 64), (3, 33, 64), (7, 4096, 256), (5, 5000, 1024), (64, 896, 256)] {
        let x = random_vec(&mut r, rows * n, 4.0);
        let w = random_vec(&mut r, n, 2.0);
        let dx = gpu.upload(&x, "x").unwrap();
        let dw = gpu.upload(&w, "w").unwrap();
        let mut dy = poisoned(&gpu, rows * n, "y");
        k.rms.launch(s, LaunchConfig::rows(rows as u32, block), &gpu_args![&dx, &dw, &mut dy, n as i32, eps]).unwrap();
        let y = dy.read(s).unwrap();
        assert_close(&format!("rms_norm {rows}x{n} block {block}"), &y, &rms_norm_ref(&x, &w, n, eps), F32_REL_TOL);
    }
    let n = 100_003;
    let a = random_vec(&mut r, n, 100.0);
    let b = random_vec(&mut r, n, 100.0);
    let (da, db) = (gpu.upload(&a, "a").unwrap(), gpu.upload(&b, "b").unwrap());
    let mut dy = poisoned(&gpu, n, "a+b");
    k.add.launch(s, LaunchConfig::for_elements(n, 256), &gpu_args![&da, &db, &mut dy, n as i32]).unwrap();
    let want: Vec<f64> = a.iter().zip(&b).map(|(&x, &y)| f64::from(x + y)).collect();
    assert_close("add", &dy.read(s).unwrap(), &want, 0.0);
}

#[test]
fn prelude_helpers_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    private_compiler(&gpu, "selftest");
    let m = gpu.compile(&kernels::SELFTEST).unwrap_or_else(|e| panic!("{e}"));
    let s = gpu.stream();
    let mut r = rng("prelude");

    // Packed int8 dot products, exactly.
    let n = 4099;
    let a: Vec<i32> = (0..n).map(|_| r.gen()).collect();
    let b: Vec<i32> = (0..n).map(|_| r.gen()).collect();
    let c: Vec<i32> = (0..n).map(|_| r.gen_range(-1 << 20..1 << 20)).collect();
    let (da, db, dc) = (gpu.upload(&a, "a").unwrap(), gpu.upload(&b, "b").unwrap(), gpu.upload(&c, "c").unwrap());
    let mut out = gpu.alloc::<i32>(n, "dp4a out").unwrap();
    out.fill_bytes(s, 0xAB).unwrap();
    m.kernel("rf_test_dp4a")
        .unwrap()
        .launch(s, LaunchConfig::for_elements(n, 256), &gpu_args![&da, &db, &dc, &mut out, n as i32])
        .unwrap();
    let got = out.read(s).unwrap();
    for i in 0..n {
        let want = (0..4).fold(c[i], |acc, k| {
            acc.wrapping_add(i32::from((a[i] >> (8 * k)) as i8) * i32::from((b[i] >> (8 * k)) as i8))
        });
        assert_eq!(got[i], want, "dp4a({:#x}, {:#x}, {})", a[i], b[i], c[i]);
    }
    eprintln!("dp4a: {n} exact");

    // f16 and bf16 conversions, round to nearest even, bit for bit (NaN as NaN).
    let mut x: Vec<f32> = random_vec(&mut r, 5000, 70000.0);
    x.extend((0..2000).map(|_| r.gen_range(-1e-4f32..1e-4)));
    x.extend((0..2000).map(|_| f32::from_bits(r.gen())));
    x.extend([
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        65504.0,
        65520.0,
        1e-8,
        5.96e-8,
        f32::MAX,
        f32::MIN_POSITIVE,
    ]);
    let n = x.len();
    let dx = gpu.upload(&x, "x").unwrap();
    let mut h = gpu.alloc::<f16>(n, "h").unwrap();
    let mut hb = poisoned(&gpu, n, "hb");
    let mut bb16 = gpu.alloc::<bf16>(n, "b").unwrap();
    let mut bb = poisoned(&gpu, n, "bb");
    m.kernel("rf_test_half")
        .unwrap()
        .launch(s, LaunchConfig::for_elements(n, 256), &gpu_args![&dx, &mut h, &mut hb, &mut bb16, &mut bb, n as i32])
        .unwrap();
    let (h, hb, b16, bb) = (h.read(s).unwrap(), hb.read(s).unwrap(), bb16.read(s).unwrap(), bb.read(s).unwrap());
    for i in 0..n {
        let (wh, wb) = (f16::from_f32(x[i]), bf16::from_f32(x[i]));
        if x[i].is_nan() {
            assert!(h[i].is_nan() && hb[i].is_nan() && b16[i].is_nan() && bb[i].is_nan(), "NaN stays NaN");
            continue;
        }
        assert_eq!(h[i].to_bits(), wh.to_bits(), "f16({:e})", x[i]);
        assert_eq!(hb[i].to_bits(), wh.to_f32().to_bits(), "f32(f16({:e}))", x[i]);
        assert_eq!(b16[i].to_bits(), wb.to_bits(), "bf16({:e})", x[i]);
        assert_eq!(bb[i].to_bits(), wb.to_f32().to_bits(), "f32(bf16({:e}))", x[i]);
    }
    eprintln!("f16/bf16: {n} conversions bit-exact");

    // Warp and block reductions.
    let warp = gpu.info().warp_size as usize;
    let (blocks, threads) = (37usize, 256usize);
    let x = random_vec(&mut r, blocks * threads, 10.0);
    let dx = gpu.upload(&x, "x").unwrap();
    let mut out = poisoned(&gpu, 3 * blocks, "block results");
    let mut lanes = poisoned(&gpu, blocks * threads, "lane sums");
    m.kernel("rf_test_reduce")
        .unwrap()
        .launch(s, LaunchConfig::rows(blocks as u32, threads as u32), &gpu_args![&dx, &mut out, &mut lanes])
        .unwrap();
    let (out, lanes) = (out.read(s).unwrap(), lanes.read(s).unwrap());
    for (i, c) in x.chunks(threads).enumerate() {
        assert_sum("block sum", out[3 * i], c);
        assert_eq!(out[3 * i + 1], c.iter().copied().fold(f32::NEG_INFINITY, f32::max), "block max {i}");
        let lane_sum = (threads / warp) * (warp * (warp - 1) / 2);
        assert_eq!(out[3 * i + 2], lane_sum as f32, "integer lane sums, block {i}");
    }
    for (wi, w) in lanes.chunks(warp).enumerate() {
        assert!(w.iter().all(|&v| v.to_bits() == w[0].to_bits()), "warp {wi}: every lane sees the same sum");
        assert_sum("warp sum", w[0], &x[wi * warp..(wi + 1) * warp]);
    }
    eprintln!("reductions: {blocks} blocks of {threads}, warp {warp}: ok");
    let mut wout = gpu.alloc::<i32>(2, "warp").unwrap();
    wout.fill_bytes(s, 0).unwrap();
    m.kernel("rf_test_warp").unwrap().launch(s, LaunchConfig::rows(1, warp as u32), &gpu_args![&mut wout]).unwrap();
    assert_eq!(wout.read(s).unwrap(), vec![warp as i32, warp as i32], "RF_WARP and a broadcast shuffle");
}

#[test]
fn second_start_compiles_nothing() {
    let Some(gpu) = gpu() else { return };
    let dir = tmpdir("second-start");
    let first = Arc::new(Compiler::new(gpu.runtime().rtc().unwrap(), Some(KernelCache::new(&dir))));
    gpu.set_compiler(first.clone());
    for k in kernels::ALL {
        assert!(!gpu.compile(k).unwrap().from_cache());
    }
    assert_eq!((first.compiled(), first.cache_hits()), (kernels::ALL.len(), 0));
    drop(gpu);

    // A fresh start: runtime, compiler library and device opened again.
    let gpu = Gpu::new(0).unwrap();
    let second = Arc::new(Compiler::new(gpu.runtime().rtc().unwrap(), Some(KernelCache::new(&dir))));
    gpu.set_compiler(second.clone());
    let k = elementwise(&gpu);
    assert!(k.module.from_cache());
    for src in kernels::ALL.iter().filter(|s| s.name != kernels::ELEMENTWISE.name) {
        assert!(gpu.compile(src).unwrap().from_cache(), "{} compiled again", src.name);
    }
    assert_eq!((second.compiled(), second.cache_hits()), (0, kernels::ALL.len()), "nothing compiled");
    // And the cached code runs.
    let mut r = rng("cached");
    let (rows, n) = (4, 1000);
    let (x, w) = (random_vec(&mut r, rows * n, 1.0), random_vec(&mut r, n, 1.0));
    let (dx, dw) = (gpu.upload(&x, "x").unwrap(), gpu.upload(&w, "w").unwrap());
    let mut dy = poisoned(&gpu, rows * n, "y");
    k.rms
        .launch(gpu.stream(), LaunchConfig::rows(rows as u32, 128), &gpu_args![&dx, &dw, &mut dy, n as i32, 1e-5f32])
        .unwrap();
    assert_close("rms_norm from cache", &dy.read(gpu.stream()).unwrap(), &rms_norm_ref(&x, &w, n, 1e-5), F32_REL_TOL);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Uses the default cache (`$ROCMFORGE_KERNEL_CACHE` or `~/.cache/rocmforge/kernels`) and says
/// what it did; run the binary twice and the second run reports no compilation. With
/// `ROCMFORGE_EXPECT_CACHED=1` it fails if anything was compiled.
#[test]
fn default_cache_across_processes() {
    let Some(gpu) = gpu() else { return };
    let c = gpu.compiler().unwrap();
    let t = std::time::Instant::now();
    for k in kernels::ALL {
        gpu.compile(k).unwrap();
    }
    eprintln!(
        "kernel cache {}: compiled {}, from cache {} ({:?} for {} sources)",
        c.cache().map_or("off".into(), |c| c.dir().display().to_string()),
        c.compiled(),
        c.cache_hits(),
        t.elapsed(),
        kernels::ALL.len()
    );
    if std::env::var("ROCMFORGE_EXPECT_CACHED").is_ok_and(|v| v == "1") {
        assert_eq!(c.compiled(), 0, "a second process compiled again");
    }
}

#[test]
fn captured_graph_replays() {
    let Some(gpu) = gpu() else { return };
    private_compiler(&gpu, "graph");
    let k = elementwise(&gpu);
    let s = gpu.new_stream().unwrap();
    let (rows, n, eps) = (16usize, 896usize, 1e-6f32);
    let len = rows * n;
    let mut a = gpu.alloc::<f32>(len, "a").unwrap();
    let mut b = gpu.alloc::<f32>(len, "b").unwrap();
    let mut w = gpu.alloc::<f32>(n, "w").unwrap();
    let mut t = poisoned(&gpu, len, "t");
    let mut y = poisoned(&gpu, len, "y");
    let mut z = poisoned(&gpu, len, "z");
    let cfg_add = LaunchConfig::for_elements(len, 256);
    let cfg_rms = LaunchConfig::rows(rows as u32, 256);
    // z = rms_norm(a + b) * w + a
    let step = |s: &Stream,
                a: &DeviceBuffer<f32>,
                b: &DeviceBuffer<f32>,
                w: &DeviceBuffer<f32>,
                t: &mut DeviceBuffer<f32>,
                y: &mut DeviceBuffer<f32>,
                z: &mut DeviceBuffer<f32>|
     -> Result<(), GpuError> {
        k.add.launch(s, cfg_add, &gpu_args![a, b, &mut *t, len as i32])?;
        k.rms.launch(s, cfg_rms, &gpu_args![&*t, w, &mut *y, n as i32, eps])?;
        k.add.launch(s, cfg_add, &gpu_args![&*y, a, &mut *z, len as i32])
    };
    let graph = s.capture(|s| step(s, &a, &b, &w, &mut t, &mut y, &mut z)).unwrap();
    assert_eq!(graph.launches(), 3);
    let mut r = rng("graph");
    for round in 0..3 {
        let (ha, hb, hw) = (random_vec(&mut r, len, 3.0), random_vec(&mut r, len, 3.0), random_vec(&mut r, n, 1.5));
        a.write(&s, &ha).unwrap();
        b.write(&s, &hb).unwrap();
        w.write(&s, &hw).unwrap();
        z.fill_bytes(&s, 0xFF).unwrap();
        graph.launch(&s).unwrap();
        let sum: Vec<f32> = ha.iter().zip(&hb).map(|(x, y)| x + y).collect();
        let want: Vec<f64> =
            rms_norm_ref(&sum, &hw, n, eps).iter().zip(&ha).map(|(v, &x)| (*v as f32 + x) as f64).collect();
        assert_close(&format!("graph replay {round}"), &z.read(&s).unwrap(), &want, F32_REL_TOL);
    }
    // Replays against direct launches (informational).
    let (e0, e1, e2) = (gpu.event().unwrap(), gpu.event().unwrap(), gpu.event().unwrap());
    let reps = 200;
    e0.record(&s).unwrap();
    for _ in 0..reps {
        step(&s, &a, &b, &w, &mut t, &mut y, &mut z).unwrap();
    }
    e1.record(&s).unwrap();
    for _ in 0..reps {
        graph.launch(&s).unwrap();
    }
    e2.record(&s).unwrap();
    s.synchronize().unwrap();
    let (direct, replay) = (e0.elapsed_ms(&e1).unwrap(), e1.elapsed_ms(&e2).unwrap());
    eprintln!(
        "3 kernels ({rows}x{n}): {:.2} us per step launched directly, {:.2} us per graph replay",
        1000.0 * direct / reps as f32,
        1000.0 * replay / reps as f32
    );
}

#[test]
fn out_of_memory_is_a_clear_error() {
    let Some(gpu) = gpu() else { return };
    let e = gpu.alloc::<u8>(1 << 50, "a 1 PiB test request").unwrap_err();
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(matches!(e, GpuError::OutOfMemory { .. }), "{msg}");
    assert!(msg.starts_with("out of GPU memory allocating a 1 PiB test request: asked for 1.00 PiB, "), "{msg}");
    assert!(msg.contains(" free of "), "{msg}");
    // The device is still usable afterwards.
    let b = gpu.upload(&[1.0f32, 2.0], "after OOM").unwrap();
    assert_eq!(b.read(gpu.stream()).unwrap(), [1.0, 2.0]);

    let mut arena = gpu.arena(1 << 20, "test arena").unwrap();
    let x = arena.alloc::<f32>(1000, "x").unwrap();
    let y = arena.alloc::<f16>(3, "y").unwrap();
    assert_eq!(y.device_ptr() - x.device_ptr(), 4096, "pieces are 256-byte aligned");
    let e = arena.alloc::<f32>(1 << 20, "too big").unwrap_err().to_string();
    eprintln!("{e}");
    assert!(e.starts_with("out of GPU memory allocating too big in arena test arena: asked for 4.00 MiB"), "{e}");
    // A reset hands out the same memory again, but only once every piece is gone.
    assert!(!arena.reset(), "pieces x and y are alive");
    let first = x.device_ptr();
    drop((x, y));
    assert!(arena.reset());
    assert_eq!(arena.used(), 0);
    assert_eq!(arena.alloc::<f32>(10, "again").unwrap().device_ptr(), first);
}

#[test]
fn launches_are_checked() {
    let Some(gpu) = gpu() else { return };
    private_compiler(&gpu, "checks");
    let k = elementwise(&gpu);
    let s = gpu.stream();
    let x = gpu.upload(&[1.0f32; 64], "x").unwrap();
    let mut y = gpu.alloc::<f32>(64, "y").unwrap();
    let hy = gpu.alloc::<f16>(64, "half y").unwrap();
    let cfg = LaunchConfig::rows(1, 64);
    let err = |r: Result<(), GpuError>| r.unwrap_err().to_string();
    let e = err(k.rms.launch(s, cfg, &gpu_args![&x, &x, &y, 64i32, 1e-6f32]));
    assert!(e.contains("argument 3 (y) needs a mutable f32 buffer, got &DeviceBuffer<f32>"), "{e}");
    let e = err(k.rms.launch(s, cfg, &gpu_args![&x, &x, &mut y, 64u32, 1e-6f32]));
    assert!(e.contains("argument 4 (n) needs a i32, got u32"), "{e}");
    let e = err(k.rms.launch(s, cfg, &gpu_args![&hy, &x, &mut y, 64i32, 1e-6f32]));
    assert!(e.contains("argument 1 (x) needs a f32 buffer, got &DeviceBuffer<f16>"), "{e}");
    let e = err(k.rms.launch(s, cfg, &gpu_args![&x, &x, &mut y, 64i32]));
    assert!(e.contains("takes 5 arguments"), "{e}");
    let e = err(k.rms.launch(s, LaunchConfig::rows(1, 4096), &gpu_args![&x, &x, &mut y, 64i32, 1e-6f32]));
    assert!(e.contains("block of 4096 threads is over the device's"), "{e}");
    let e = k.module.kernel("nope").unwrap_err().to_string();
    assert!(e.contains("elementwise.cu has no kernel nope (it has: rf_rms_norm_f32, rf_add_f32, "), "{e}");
    let e = err(y.write(s, &[1.0; 3]));
    assert!(e.contains("writing 3 elements into y of 64 elements"), "{e}");
    eprintln!("launch and copy checks: ok");
}

#[test]
fn buffers_dropped_early_live_until_the_work_is_done() {
    let Some(gpu) = gpu() else { return };
    private_compiler(&gpu, "keepalive");
    let k = elementwise(&gpu);
    let s = gpu.new_stream().unwrap();
    let n = 1 << 22;
    let mut y = gpu.alloc::<f32>(n, "y").unwrap();
    y.fill_bytes(&s, 0xFF).unwrap();
    for _ in 0..4 {
        let a = gpu.upload(&vec![1.5f32; n], "a").unwrap();
        let b = gpu.upload(&vec![2.0f32; n], "b").unwrap();
        k.add.launch(&s, LaunchConfig::for_elements(n, 256), &gpu_args![&a, &b, &mut y, n as i32]).unwrap();
        // a and b are dropped here, before the kernel has necessarily run.
    }
    let got = y.read(&s).unwrap();
    assert!(got.iter().all(|&v| v == 3.5), "inputs freed under a running kernel");
}
