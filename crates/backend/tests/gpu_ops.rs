//! The forward pass's GPU ops (`backend::gpu::Ops`) against the CPU backend's functions (or an
//! f64 scalar reference) on fresh random inputs. Outputs are poisoned (every float a NaN) before
//! each launch, NaN never passes, and buffers are longer than the op's prefix so that writes
//! past it show. Skipped without a GPU; `ROCMFORGE_REQUIRE_GPU=1` makes that a failure.

mod common;

use backend::cpu::{
    self, AttnParams, Cpu, DotOrder, KvData, KvRows, KvView, RopeParams, RopeStyle, SeqView, TokenPlaces,
};
use backend::gpu::{host_bytes, AttnKernel, DeviceBuffer, Gpu, GpuError, KvBuffers, Ops, PagedPlaces};
use backend::KvType;
use common::*;
use half::f16;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

/// Extra elements after every op's prefix: they must stay poisoned.
const TAIL: usize = 37;

/// GeGLU rounds gelu to f16 like cpu::geglu; the GPU's tanhf and the CPU's may differ by an f32
/// ulp, which can move the f16 rounding by one f16 ulp: 2^-11 relative of the element.
const GEGLU_TOL: f64 = 1e-3;

/// GPU attention against the f64 reference of the same semantics (no f16 rounding of Q or of
/// the weights; K and V as the kernel reads them: a q8_0 cache's d * q exactly in the per-token
/// kernel, rounded to f16 in the tiled kernels' tiles), relative to the row's sum of
/// |weight * v| (the scale of a weighted sum's rounding): f32 scores, exponentials and sums.
const ATTN_F64_TOL: f64 = 2e-5;

/// GPU attention against Cpu::attention, same scale. f16 cache: the CPU rounds Q and the softmax
/// weights to f16 (as llama.cpp's CPU path does) and the GPU keeps them f32; a weight's rounding
/// alone is 2^-12 of it. q8_0 cache: the CPU keeps them f32, and the tiled kernels round d * q to
/// f16 (2^-12 of each K and V value).
const ATTN_VS_CPU_TOL: f64 = 1e-3;

fn setup(tag: &str) -> Option<(Gpu, Ops)> {
    let gpu = gpu()?;
    private_compiler(&gpu, tag);
    let ops = Ops::new(&gpu).unwrap_or_else(|e| panic!("{e}"));
    Some((gpu, ops))
}

/// A poisoned buffer of `n` + [`TAIL`] elements.
fn out_buf(gpu: &Gpu, n: usize, what: &str) -> DeviceBuffer<f32> {
    poisoned(gpu, n + TAIL, what)
}

/// Uploads `x` followed by [`TAIL`] NaNs.
fn upload_padded(gpu: &Gpu, x: &[f32], what: &str) -> DeviceBuffer<f32> {
    let mut v = x.to_vec();
    v.extend(std::iter::repeat_n(f32::NAN, TAIL));
    gpu.upload(&v, what).unwrap()
}

/// The first `n` elements; the rest must still be the poison (NaN) they started as.
fn read_prefix(gpu: &Gpu, b: &DeviceBuffer<f32>, n: usize, what: &str) -> Vec<f32> {
    let all = b.read(gpu.stream()).unwrap();
    assert!(all[n..].iter().all(|v| v.is_nan()), "{what}: written past its {n} elements");
    all[..n].to_vec()
}

/// Every row of `width` within `tol` of the reference, relative to that row's largest
/// reference magnitude (NaN fails). Returns the worst relative error.
fn assert_rows_close(what: &str, got: &[f32], want: &[f64], width: usize, tol: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut worst = 0f64;
    for (r, (g, w)) in got.chunks(width).zip(want.chunks(width)).enumerate() {
        let scale = w.iter().fold(0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
        for (i, (&g, &w)) in g.iter().zip(w).enumerate() {
            let err = (f64::from(g) - w).abs() / scale;
            assert!(err <= tol, "{what}: row {r}[{i}]: got {g}, want {w} (relative error {err:e} > {tol:e})");
            worst = worst.max(err);
        }
    }
    eprintln!("{what}: {} rows, worst relative error {worst:.2e} (tolerance {tol:e})", got.len() / width.max(1));
    worst
}

fn f64s(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| f64::from(v)).collect()
}

#[test]
fn rms_norms_match_the_cpu() {
    let Some((gpu, ops)) = setup("ops-rms") else { return };
    let s = gpu.stream();
    let mut r = rng("rms_norm");
    let eps = 1e-6f32;
    for (rows, n) in [(1, 1), (3, 33), (7, 4096), (5, 5000), (64, 896), (2, 1031)] {
        let x = random_vec(&mut r, rows * n, 4.0);
        let w = random_vec(&mut r, n, 2.0);
        let (dx, dw) = (upload_padded(&gpu, &x, "x"), gpu.upload(&w, "w").unwrap());
        let mut dy = out_buf(&gpu, rows * n, "y");
        ops.rms_norm(s, &dx, &dw, rows, eps, &mut dy).unwrap();
        let mut want = vec![0f32; rows * n];
        cpu::rms_norm_rows(&x, &w, eps, &mut want);
        let got = read_prefix(&gpu, &dy, rows * n, "rms_norm");
        assert_rows_close(&format!("rms_norm {rows}x{n}"), &got, &f64s(&want), n, F32_REL_TOL);
    }
    // Per-head QK-norm: t * n_heads rows of head_dim, in place.
    for (rows, hd) in [(7 * 14, 64), (300 * 8, 128), (3 * 4, 256)] {
        let x = random_vec(&mut r, rows * hd, 3.0);
        let w = random_vec(&mut r, hd, 1.5);
        let mut dx = upload_padded(&gpu, &x, "q");
        ops.rms_norm_in_place(s, &mut dx, &gpu.upload(&w, "q_norm").unwrap(), rows, eps).unwrap();
        let mut want = x.clone();
        cpu::rms_norm_in_place(&mut want, &w, eps);
        let got = read_prefix(&gpu, &dx, rows * hd, "rms_norm_in_place");
        assert_rows_close(&format!("rms_norm_in_place {rows}x{hd}"), &got, &f64s(&want), hd, F32_REL_TOL);
    }
}

#[test]
fn adds_match_the_cpu_exactly() {
    let Some((gpu, ops)) = setup("ops-add") else { return };
    let s = gpu.stream();
    let mut r = rng("add");
    for n in [1, 1000, 100_003] {
        let (a, b) = (random_vec(&mut r, n, 100.0), random_vec(&mut r, n, 100.0));
        let mut da = upload_padded(&gpu, &a, "acc");
        ops.add(s, &mut da, &upload_padded(&gpu, &b, "x"), n).unwrap();
        let mut want = a.clone();
        cpu::add_in_place(&mut want, &b);
        assert_rows_close(&format!("add {n}"), &read_prefix(&gpu, &da, n, "add"), &f64s(&want), n, 0.0);
    }
    for (rows, width) in [(1, 896), (17, 128), (300, 2048)] {
        let x = random_vec(&mut r, rows * width, 10.0);
        let b = random_vec(&mut r, width, 10.0);
        let mut dx = upload_padded(&gpu, &x, "x");
        ops.add_bias(s, &mut dx, &gpu.upload(&b, "bias").unwrap(), rows).unwrap();
        let mut want = x.clone();
        want.chunks_exact_mut(width).for_each(|row| cpu::add_in_place(row, &b));
        let got = read_prefix(&gpu, &dx, rows * width, "add_bias");
        assert_rows_close(&format!("add_bias {rows}x{width}"), &got, &f64s(&want), width, 0.0);
    }
}

#[test]
fn gated_activations_match_the_cpu() {
    let Some((gpu, ops)) = setup("ops-act") else { return };
    let s = gpu.stream();
    let mut r = rng("activations");
    let (rows, ff) = (9, 4864);
    let n = rows * ff;
    let mut gate = random_vec(&mut r, n, 12.0);
    gate[..6].copy_from_slice(&[10.0, -10.0, 9.999, -9.999, 0.0, -0.0]); // GeGLU's cut-offs
    let up = random_vec(&mut r, n, 3.0);
    let dup = upload_padded(&gpu, &up, "up");

    let mut dg = upload_padded(&gpu, &gate, "gate");
    ops.swiglu(s, &mut dg, &dup, n).unwrap();
    let mut want = gate.clone();
    cpu::swiglu(&mut want, &up);
    assert_rows_close("swiglu", &read_prefix(&gpu, &dg, n, "swiglu"), &f64s(&want), ff, F32_REL_TOL);

    let mut dg = upload_padded(&gpu, &gate, "gate");
    ops.geglu(s, &mut dg, &dup, n).unwrap();
    let mut want = gate.clone();
    cpu::geglu(&mut want, &up);
    let got = read_prefix(&gpu, &dg, n, "geglu");
    let exact = got.iter().zip(&want).filter(|(g, w)| g.to_bits() == w.to_bits()).count();
    eprintln!("geglu: {exact} of {n} bit-identical to the CPU");
    assert_rows_close("geglu", &got, &f64s(&want), ff, GEGLU_TOL);
}

#[test]
fn gather_rows_copies_the_rows_asked_for() {
    let Some((gpu, ops)) = setup("ops-gather") else { return };
    let s = gpu.stream();
    let mut r = rng("gather");
    let (rows, width) = (50, 896);
    let x = random_vec(&mut r, rows * width, 5.0);
    let dx = gpu.upload(&x, "x").unwrap();
    // The last index is out of range: its row comes back NaN.
    let idx = [49u32, 0, 17, 17, 3, rows as u32];
    let di = gpu.upload(&idx, "rows").unwrap();
    let mut dy = out_buf(&gpu, idx.len() * width, "gathered");
    ops.gather_rows(s, &dx, &di, idx.len(), width, &mut dy).unwrap();
    let got = read_prefix(&gpu, &dy, idx.len() * width, "gather_rows");
    for (i, &row) in idx.iter().enumerate() {
        let g = &got[i * width..(i + 1) * width];
        if (row as usize) < rows {
            assert_eq!(g, &x[row as usize * width..(row as usize + 1) * width], "gathered row {i} (x row {row})");
        } else {
            assert!(g.iter().all(|v| v.is_nan()), "an out-of-range row index gives NaN");
        }
    }
    eprintln!("gather_rows: {} rows exact, an out-of-range index gives NaN", idx.len());
}

#[test]
fn rope_matches_the_cpu() {
    let Some((gpu, ops)) = setup("ops-rope") else { return };
    let s = gpu.stream();
    let mut r = rng("rope");
    // (t, n_heads, head_dim, n_rot, base, freq_scale)
    let cases = [
        (1, 14, 64, 64, 10000.0, 1.0),
        (300, 8, 128, 128, 1e6, 1.0),
        (33, 4, 128, 64, 10000.0, 0.25),
        (5, 2, 256, 96, 500000.0, 0.125),
        (7, 3, 80, 32, 10000.0, 1.0),
    ];
    for style in [RopeStyle::Norm, RopeStyle::Neox] {
        for &(t, n_heads, hd, n_rot, base, freq_scale) in &cases {
            let p = RopeParams { n_rot, base, freq_scale, style };
            let x = random_vec(&mut r, t * n_heads * hd, 2.0);
            let mut positions: Vec<u32> = (0..t).map(|_| r.gen_range(0..40_000)).collect();
            positions[0] = 0;
            let mut dx = upload_padded(&gpu, &x, "x");
            ops.rope(s, &mut dx, t, n_heads, hd, &gpu.upload(&positions, "positions").unwrap(), &p).unwrap();
            let mut want = x.clone();
            cpu::rope(&mut want, n_heads, hd, &positions, &p);
            let got = read_prefix(&gpu, &dx, x.len(), "rope");
            let what = format!("rope {style:?} t={t} {n_heads}x{hd} n_rot={n_rot}");
            assert_rows_close(&what, &got, &f64s(&want), hd, F32_REL_TOL);
            // Dimensions from n_rot on pass through untouched.
            for (g, x) in got.chunks(hd).zip(x.chunks(hd)) {
                assert_eq!(&g[n_rot..], &x[n_rot..], "{what}: unrotated dimensions changed");
            }
        }
    }
}

/// kv_write of each cache type against the CPU's `KvRows::write`, byte for byte over the whole
/// cache: written rows encoded alike (f16 rounding, or q8_0 quants and scales), every other
/// slot untouched, a slot out of range skipped.
#[test]
fn kv_write_stores_rows_at_their_slots_as_the_cpu_does() {
    let Some((gpu, ops)) = setup("ops-kv") else { return };
    let s = gpu.stream();
    let mut r = rng("kv_write");
    let (n_slots, width, t) = (64 * 16, 2 * 128, 40);
    for ty in KvType::ALL {
        let mut slots: Vec<u32> = (0..n_slots as u32).collect();
        slots.shuffle(&mut r);
        slots.truncate(t);
        slots[t - 1] = n_slots as u32; // out of range: skipped
                                       // K over f16's range (q8_0 scales of up to 70000 / 127), V small.
        let (k, v) = (random_vec(&mut r, t * width, 70000.0), random_vec(&mut r, t * width, 3.0));
        let (mut hk, mut hv) = (KvRows::new(ty, n_slots, width), KvRows::new(ty, n_slots, width));
        let fill = vec![-1.5f32; width];
        for slot in 0..n_slots {
            hk.write(slot, &fill);
            hv.write(slot, &fill);
        }
        let mut cache = KvBuffers::upload(&gpu, hk.data(), hv.data(), width).unwrap();
        let ds = gpu.upload(&slots, "slots").unwrap();
        ops.kv_write(s, &upload_padded(&gpu, &k, "k"), &upload_padded(&gpu, &v, "v"), &ds, t, &mut cache).unwrap();
        for (i, &slot) in slots.iter().enumerate().take(t - 1) {
            hk.write(slot as usize, &k[i * width..(i + 1) * width]);
            hv.write(slot as usize, &v[i * width..(i + 1) * width]);
        }
        for (what, got, want) in [("K", &cache.k, hk.data()), ("V", &cache.v, hv.data())] {
            let (got, want) = (got.read(s).unwrap(), host_bytes(want));
            assert_eq!(got.len(), want.len(), "{ty} {what}: cache bytes");
            if let Some(i) = got.iter().zip(&want).position(|(a, b)| a != b) {
                panic!("{ty} {what}: byte {i} is {} on the GPU, {} on the CPU", got[i], want[i]);
            }
        }
        eprintln!(
            "kv_write {ty}: {} rows as the CPU writes them, other slots untouched, an out-of-range slot skipped",
            t - 1
        );
    }
}

/// One attention test step: sequences given as (context length, query tokens at its end).
struct AttnCase {
    name: &'static str,
    n_head: usize,
    n_kv: usize,
    hd: usize,
    block_size: usize,
    window: Option<usize>,
    softcap: Option<f32>,
    seqs: &'static [(usize, usize)],
}

/// A random paged KV cache of one type with the sequences' blocks scattered over it, the step's
/// tokens and their places.
struct AttnStep {
    p: AttnParams,
    block_size: usize,
    k: KvRows,             // [n_phys * block_size, n_kv * hd]
    v: KvRows,             // [n_phys * block_size, n_kv * hd]
    tables: Vec<Vec<u32>>, // [n_seq][blocks of the sequence]
    max_blocks: usize,     // row length of the device block table
    positions: Vec<u32>,   // [t]
    token_seq: Vec<usize>, // [t]
    q: Vec<f32>,           // [t, n_head, hd]
}

impl AttnStep {
    fn new(c: &AttnCase, ty: KvType, r: &mut StdRng) -> AttnStep {
        let bs = c.block_size;
        let need: Vec<usize> = c.seqs.iter().map(|&(len, _)| len.div_ceil(bs)).collect();
        let n_phys = need.iter().sum::<usize>() + 7; // spare blocks, never attended to
        let mut phys: Vec<u32> = (0..n_phys as u32).collect();
        phys.shuffle(r);
        let mut next = phys.into_iter();
        let tables: Vec<Vec<u32>> = need.iter().map(|&n| next.by_ref().take(n).collect()).collect();
        let width = c.n_kv * c.hd;
        let rows = |r: &mut StdRng| {
            let mut rows = KvRows::new(ty, n_phys * bs, width);
            (0..n_phys * bs).for_each(|slot| rows.write(slot, &random_vec(r, width, 1.0)));
            rows
        };
        let (k, v) = (rows(r), rows(r));
        let (mut positions, mut token_seq) = (Vec::new(), Vec::new());
        for (si, &(len, nq)) in c.seqs.iter().enumerate() {
            positions.extend((len - nq..len).map(|p| p as u32));
            token_seq.extend(std::iter::repeat_n(si, nq));
        }
        let q = random_vec(r, positions.len() * c.n_head * c.hd, 2.0);
        let p = AttnParams {
            n_head: c.n_head,
            n_kv_head: c.n_kv,
            head_dim: c.hd,
            scale: 1.0 / (c.hd as f32).sqrt(),
            window: c.window,
            softcap: c.softcap,
            scale_q: false,
        };
        let max_blocks = need.iter().copied().max().unwrap_or(1) + 2;
        AttnStep { p, block_size: bs, k, v, tables, max_blocks, positions, token_seq, q }
    }

    fn t(&self) -> usize {
        self.positions.len()
    }

    /// [n_seq, max_blocks], padded with an id no cache has (the kernel must not read it).
    fn device_table(&self) -> Vec<u32> {
        self.tables
            .iter()
            .flat_map(|b| b.iter().copied().chain(std::iter::repeat(u32::MAX)).take(self.max_blocks))
            .collect()
    }

    /// The f64 reference of the op's semantics for `kernel`: the output and, per (token, head)
    /// row, the largest sum of |weight * v| over its dimensions. K and V as the kernel reads
    /// them: f32 values, rounded to f16 for the tiled kernels' tiles (a no-op for f16 caches).
    fn reference(&self, kernel: AttnKernel) -> (Vec<f64>, Vec<f64>) {
        let (hd, nh, nkv, bs) = (self.p.head_dim, self.p.n_head, self.p.n_kv_head, self.block_size);
        let read = |rows: &KvRows| -> Vec<f64> {
            let mut x = vec![0f32; rows.data().len()];
            rows.data().read(0, &mut x);
            let tiled = kernel != AttnKernel::PerToken;
            x.iter().map(|&v| if tiled { f16::from_f32(v).to_f64() } else { f64::from(v) }).collect()
        };
        let (kf, vf) = (read(&self.k), read(&self.v));
        let mut out = vec![0f64; self.q.len()];
        let mut mags = Vec::with_capacity(self.t() * nh);
        for (i, (&pos, &seq)) in self.positions.iter().zip(&self.token_seq).enumerate() {
            let pos = pos as usize;
            let start = self.p.window.map_or(0, |w| (pos + 1).saturating_sub(w));
            let row = |j: usize, kvh: usize| {
                let slot = self.tables[seq][j / bs] as usize * bs + j % bs;
                (slot * nkv + kvh) * hd
            };
            for h in 0..nh {
                let kvh = h / (nh / nkv);
                let q = &self.q[(i * nh + h) * hd..][..hd];
                let scores: Vec<f64> = (start..=pos)
                    .map(|j| {
                        let k = &kf[row(j, kvh)..][..hd];
                        let x = q.iter().zip(k).map(|(&a, b)| f64::from(a) * b).sum::<f64>() * f64::from(self.p.scale);
                        self.p.softcap.map_or(x, |c| f64::from(c) * (x / f64::from(c)).tanh())
                    })
                    .collect();
                let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = scores.iter().map(|s| (s - m).exp()).sum();
                let o = &mut out[(i * nh + h) * hd..][..hd];
                let mut mag = vec![0f64; hd];
                for (j, s) in (start..=pos).zip(&scores) {
                    let w = (s - m).exp() / z;
                    for ((o, mg), v) in o.iter_mut().zip(&mut mag).zip(&vf[row(j, kvh)..][..hd]) {
                        *o += w * v;
                        *mg += (w * v).abs();
                    }
                }
                mags.push(mag.into_iter().fold(0f64, f64::max));
            }
        }
        (out, mags)
    }

    fn cpu(&self, cpu: &Cpu) -> Vec<f32> {
        let mut out = vec![f32::NAN; self.q.len()];
        let seqs: Vec<SeqView> = self.tables.iter().map(|b| SeqView { blocks: b }).collect();
        let orders = vec![DotOrder::Batch; self.positions.len()];
        let at = TokenPlaces { positions: &self.positions, token_seq: &self.token_seq, orders: &orders };
        let kv = KvView { k: self.k.data(), v: self.v.data(), block_size: self.block_size };
        cpu.attention(&self.q, &at, &seqs, &kv, &self.p, &mut out);
        out
    }
}

/// The step's buffers on the device.
struct DeviceStep {
    q: DeviceBuffer<f32>,
    kv: KvBuffers,
    positions: DeviceBuffer<u32>,
    token_seq: DeviceBuffer<u32>,
    tables: DeviceBuffer<u32>,
}

impl DeviceStep {
    fn new(gpu: &Gpu, st: &AttnStep) -> DeviceStep {
        let seq32: Vec<u32> = st.token_seq.iter().map(|&s| s as u32).collect();
        DeviceStep {
            q: upload_padded(gpu, &st.q, "q"),
            kv: KvBuffers::upload(gpu, st.k.data(), st.v.data(), st.p.n_kv_head * st.p.head_dim).unwrap(),
            positions: gpu.upload(&st.positions, "positions").unwrap(),
            token_seq: gpu.upload(&seq32, "token_seq").unwrap(),
            tables: gpu.upload(&st.device_table(), "block tables").unwrap(),
        }
    }

    fn places(&self, st: &AttnStep) -> PagedPlaces<'_> {
        PagedPlaces {
            positions: &self.positions,
            token_seq: &self.token_seq,
            block_tables: &self.tables,
            max_blocks: st.max_blocks,
            t: st.t(),
            max_pos: st.positions.iter().copied().max().unwrap_or(0),
        }
    }
}

/// Per (token, head) row: error relative to the row's scale (NaN fails). Returns the worst.
fn check_attention(what: &str, got: &[f32], want: &[f64], mags: &[f64], hd: usize, tol: f64) -> f64 {
    let mut worst = 0f64;
    for (row, ((g, w), &mag)) in got.chunks(hd).zip(want.chunks(hd)).zip(mags).enumerate() {
        for (d, (&g, &w)) in g.iter().zip(w).enumerate() {
            let err = (f64::from(g) - w).abs() / mag.max(f64::MIN_POSITIVE);
            assert!(err <= tol, "{what}: row {row} dim {d}: got {g}, want {w} (relative error {err:e} > {tol:e})");
            worst = worst.max(err);
        }
    }
    worst
}

const ATTN_CASES: &[AttnCase] = &[
    AttnCase {
        name: "decode of 5 sequences, GQA 7, hd 128",
        n_head: 14,
        n_kv: 2,
        hd: 128,
        block_size: 16,
        window: None,
        softcap: None,
        seqs: &[(1, 1), (17, 1), (100, 1), (1000, 1), (3000, 1)],
    },
    AttnCase {
        name: "decode of 5 sequences, window 64, softcap 20, GQA 1, hd 64",
        n_head: 8,
        n_kv: 8,
        hd: 64,
        block_size: 16,
        window: Some(64),
        softcap: Some(20.0),
        seqs: &[(1, 1), (17, 1), (100, 1), (1000, 1), (3000, 1)],
    },
    AttnCase {
        name: "prefill of 300, GQA 2, hd 128",
        n_head: 8,
        n_kv: 4,
        hd: 128,
        block_size: 16,
        window: None,
        softcap: None,
        seqs: &[(300, 300)],
    },
    AttnCase {
        name: "prefill of 300, window 100, softcap 10, GQA 7, hd 256",
        n_head: 14,
        n_kv: 2,
        hd: 256,
        block_size: 16,
        window: Some(100),
        softcap: Some(10.0),
        seqs: &[(300, 300)],
    },
    AttnCase {
        name: "mixed: a prefill chunk, decodes, a new prompt; GQA 8, hd 256",
        n_head: 16,
        n_kv: 2,
        hd: 256,
        block_size: 16,
        window: None,
        softcap: None,
        seqs: &[(100, 40), (1, 1), (500, 1), (2000, 1), (20, 20)],
    },
    AttnCase {
        name: "mixed, window 128, softcap 50, GQA 4, hd 64",
        n_head: 8,
        n_kv: 2,
        hd: 64,
        block_size: 16,
        window: Some(128),
        softcap: Some(50.0),
        seqs: &[(700, 64), (129, 1), (1500, 1), (3, 3)],
    },
    AttnCase {
        name: "decode, GQA 12 (two blocks per KV head), hd 128",
        n_head: 24,
        n_kv: 2,
        hd: 128,
        block_size: 16,
        window: None,
        softcap: None,
        seqs: &[(5, 1), (333, 1), (1200, 1)],
    },
    AttnCase {
        name: "prefill of 333 continuing a context of 200, GQA 7, hd 64",
        n_head: 14,
        n_kv: 2,
        hd: 64,
        block_size: 16,
        window: None,
        softcap: None,
        seqs: &[(533, 333)],
    },
    AttnCase {
        name: "mixed, hd 80 (lanes past the head idle), block size 32, GQA 2",
        n_head: 4,
        n_kv: 2,
        hd: 80,
        block_size: 32,
        window: None,
        softcap: None,
        seqs: &[(90, 30), (600, 1)],
    },
];

/// The attention kernels this device has for `head_dim` (the matrix-core one on NVIDIA sm_80+).
fn kernels(ops: &Ops, head_dim: usize) -> Vec<AttnKernel> {
    let mut k = vec![AttnKernel::PerToken, AttnKernel::Tiled];
    if ops.has_mma(head_dim) {
        k.push(AttnKernel::TiledMma);
    }
    k
}

/// The cache types a case's head size allows (q8_0 needs whole blocks of 32 per head).
fn cache_types(hd: usize) -> impl Iterator<Item = KvType> {
    KvType::ALL.into_iter().filter(move |ty| ty.check_head_dim(hd).is_ok())
}

#[test]
fn attention_matches_the_cpu_and_an_f64_reference() {
    let Some((gpu, ops)) = setup("ops-attention") else { return };
    let s = gpu.stream();
    let cpu = Cpu::new(0).unwrap();
    let mut r = rng("attention");
    for (c, ty) in ATTN_CASES.iter().flat_map(|c| cache_types(c.hd).map(move |ty| (c, ty))) {
        let st = AttnStep::new(c, ty, &mut r);
        let d = DeviceStep::new(&gpu, &st);
        let n = st.q.len();
        let cpu_out = f64s(&st.cpu(&cpu));
        let chosen = ops.attention_kernel_for(&d.places(&st), c.hd);
        for kernel in kernels(&ops, c.hd) {
            let name = format!("{}, {ty} cache ({kernel:?})", c.name);
            let (want, mags) = st.reference(kernel);
            let mut dout = out_buf(&gpu, n, "attention out");
            ops.attention_with(kernel, s, &d.q, &d.places(&st), &d.kv, st.block_size, &st.p, &mut dout).unwrap();
            let got = read_prefix(&gpu, &dout, n, &name);
            let e64 = check_attention(&name, &got, &want, &mags, c.hd, ATTN_F64_TOL);
            let e_cpu = check_attention(&name, &got, &cpu_out, &mags, c.hd, ATTN_VS_CPU_TOL);
            eprintln!(
                "attention {name}: t={}, worst error {e64:.2e} vs f64 (tol {ATTN_F64_TOL:e}), {e_cpu:.2e} vs CPU (tol \
                 {ATTN_VS_CPU_TOL:e}){}",
                st.t(),
                if kernel == chosen { " [the kernel attention() picks]" } else { "" }
            );
            if kernel == chosen {
                let mut auto = out_buf(&gpu, n, "attention out");
                ops.attention(s, &d.q, &d.places(&st), &d.kv, st.block_size, &st.p, &mut auto).unwrap();
                let auto = read_prefix(&gpu, &auto, n, &name);
                assert!(auto.iter().zip(&got).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}: attention() differs");
            }

            // With one kernel, each token's result does not depend on the rest of the step (nor,
            // for the per-token kernel, on how many heads a block serves): run a few alone.
            for i in [0, st.t() / 2, st.t() - 1] {
                let row = c.n_head * c.hd;
                let q1 = gpu.upload(&st.q[i * row..(i + 1) * row], "q alone").unwrap();
                let pos1 = gpu.upload(&st.positions[i..=i], "position alone").unwrap();
                let seq1 = gpu.upload(&[st.token_seq[i] as u32], "seq alone").unwrap();
                let at = PagedPlaces {
                    positions: &pos1,
                    token_seq: &seq1,
                    block_tables: &d.tables,
                    max_blocks: st.max_blocks,
                    t: 1,
                    max_pos: st.positions[i],
                };
                let mut o1 = out_buf(&gpu, row, "out alone");
                ops.attention_with(kernel, s, &q1, &at, &d.kv, st.block_size, &st.p, &mut o1).unwrap();
                let alone = read_prefix(&gpu, &o1, row, "attention alone");
                let batched = &got[i * row..(i + 1) * row];
                assert!(
                    alone.iter().zip(batched).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{name}: token {i} alone differs from the batched step"
                );
            }
        }
    }
}

/// A block table naming a block outside the cache, or a sequence index past the tables, gives
/// NaN rows for that token only.
#[test]
fn attention_bad_device_indices_give_nan() {
    let Some((gpu, ops)) = setup("ops-attention-bad") else { return };
    let s = gpu.stream();
    let mut r = rng("attention-bad");
    let c = &ATTN_CASES[0];
    for ty in KvType::ALL {
        let mut st = AttnStep::new(c, ty, &mut r);
        st.tables[3][5] = 1_000_000; // the 1000-long sequence reads a block that does not exist
        let mut d = DeviceStep::new(&gpu, &st);
        let mut seqs: Vec<u32> = st.token_seq.iter().map(|&s| s as u32).collect();
        seqs[1] = 99; // no such sequence
        d.token_seq = gpu.upload(&seqs, "token_seq").unwrap();
        let n = st.q.len();
        for kernel in kernels(&ops, c.hd) {
            let mut dout = out_buf(&gpu, n, "attention out");
            ops.attention_with(kernel, s, &d.q, &d.places(&st), &d.kv, st.block_size, &st.p, &mut dout).unwrap();
            let got = read_prefix(&gpu, &dout, n, "attention with bad indices");
            let row = c.n_head * c.hd;
            for (i, o) in got.chunks(row).enumerate() {
                let nan = o.iter().filter(|v| v.is_nan()).count();
                let want = if i == 1 || i == 3 { row } else { 0 };
                assert_eq!(nan, want, "{ty} {kernel:?}: token {i}: NaN outputs");
            }
        }
    }
    eprintln!(
        "attention: bad block ids and sequence indices give NaN rows, other tokens unaffected (every kernel and cache type)"
    );
}

/// Informational: time of one attention launch for the decode and prefill cases.
#[test]
fn attention_timing() {
    let Some((gpu, ops)) = setup("ops-attention-time") else { return };
    let s = gpu.stream();
    let mut r = rng("attention-time");
    for (c, ty) in
        [&ATTN_CASES[0], &ATTN_CASES[2], &ATTN_CASES[4]].into_iter().flat_map(|c| KvType::ALL.map(|ty| (c, ty)))
    {
        let st = AttnStep::new(c, ty, &mut r);
        let d = DeviceStep::new(&gpu, &st);
        let mut dout = out_buf(&gpu, st.q.len(), "out");
        let at = d.places(&st);
        let run = |out: &mut DeviceBuffer<f32>| ops.attention(s, &d.q, &at, &d.kv, st.block_size, &st.p, out);
        run(&mut dout).unwrap();
        let (e0, e1) = (gpu.event().unwrap(), gpu.event().unwrap());
        let reps = 20;
        e0.record(s).unwrap();
        for _ in 0..reps {
            run(&mut dout).unwrap();
        }
        e1.record(s).unwrap();
        let ms = e0.elapsed_ms(&e1).unwrap() / reps as f32;
        let kv_bytes = 2 * ty.bytes((c.seqs.iter().map(|&(len, _)| len).sum::<usize>() * c.n_kv * c.hd) as u64);
        eprintln!(
            "attention {}, {ty} cache: {:.1} us per launch ({:.1} MB of K/V in the sequences)",
            c.name,
            ms * 1000.0,
            kv_bytes as f64 / 1e6
        );
        s.synchronize().unwrap();
    }
}

#[test]
fn empty_steps_are_no_ops_and_bad_sizes_are_errors() {
    let Some((gpu, ops)) = setup("ops-edges") else { return };
    let s = gpu.stream();
    let w = gpu.upload(&[1.0f32; 64], "w").unwrap();
    let mut x = poisoned(&gpu, 256, "x");
    let mut y = poisoned(&gpu, 256, "y");
    let none = gpu.upload(&[0u32; 4], "indices").unwrap();
    let zeros = vec![f16::ZERO; 16 * 64];
    let mut kv = KvBuffers::upload(&gpu, KvData::F16(&zeros), KvData::F16(&zeros), 64).unwrap();
    let rope = RopeParams { n_rot: 64, base: 10000.0, freq_scale: 1.0, style: RopeStyle::Neox };
    let p =
        AttnParams { n_head: 1, n_kv_head: 1, head_dim: 64, scale: 0.125, window: None, softcap: None, scale_q: false };
    let places =
        |t| PagedPlaces { positions: &none, token_seq: &none, block_tables: &none, max_blocks: 1, t, max_pos: 0 };

    ops.rms_norm(s, &x, &w, 0, 1e-6, &mut y).unwrap();
    ops.rms_norm_in_place(s, &mut x, &w, 0, 1e-6).unwrap();
    ops.add_bias(s, &mut x, &w, 0).unwrap();
    ops.add(s, &mut x, &y, 0).unwrap();
    ops.rope(s, &mut x, 0, 1, 64, &none, &rope).unwrap();
    ops.kv_write(s, &y, &y, &none, 0, &mut kv).unwrap();
    ops.attention(s, &y, &places(0), &kv, 16, &p, &mut x).unwrap();
    ops.swiglu(s, &mut x, &y, 0).unwrap();
    ops.geglu(s, &mut x, &y, 0).unwrap();
    ops.gather_rows(s, &y, &none, 0, 64, &mut x).unwrap();
    assert!(read_prefix(&gpu, &x, 0, "x").is_empty() && read_prefix(&gpu, &y, 0, "y").is_empty());
    eprintln!("rows == 0 / t == 0: every op a no-op");

    let invalid = |r: Result<(), GpuError>, needle: &str| {
        let e = r.unwrap_err();
        assert!(matches!(e, GpuError::Invalid(_)) && e.to_string().contains(needle), "{e}");
        eprintln!("refused: {e}");
    };
    invalid(ops.rms_norm(s, &x, &w, 5, 1e-6, &mut y), "x has 256 elements, the op needs 320");
    invalid(ops.add(s, &mut x, &y, 257), "needs 257");
    invalid(ops.rope(s, &mut x, 4, 1, 64, &none, &RopeParams { n_rot: 66, ..rope }), "n_rot 66");
    invalid(ops.kv_write(s, &y, &y, &none, 5, &mut kv), "y has 256 elements, the op needs 320");
    invalid(ops.attention(s, &y, &places(1), &kv, 16, &AttnParams { head_dim: 60, ..p }, &mut x), "head_dim 60");
    invalid(ops.attention(s, &y, &places(1), &kv, 16, &AttnParams { head_dim: 32, ..p }, &mut x), "rows of 64 values");
    invalid(
        ops.attention(s, &y, &PagedPlaces { max_pos: 16, ..places(1) }, &kv, 16, &p, &mut x),
        "position 16 is beyond the block table",
    );
    invalid(ops.attention(s, &y, &places(5), &kv, 16, &p, &mut x), "y has 256 elements, the op needs 320");
    let q8 = KvBuffers::alloc(&gpu, KvType::Q8_0, 16, 96).unwrap();
    let p48 = AttnParams { n_head: 2, n_kv_head: 2, head_dim: 48, ..p };
    invalid(ops.attention(s, &y, &places(1), &q8, 16, &p48, &mut x), "multiple of 32");
    invalid(KvBuffers::alloc(&gpu, KvType::Q8_0, 16, 48).map(|_| ()), "not whole blocks of 32");
    invalid(ops.gather_rows(s, &y, &none, 5, 64, &mut x), "indices has 4 elements");
}
