//! The forward pass's ops on the GPU (all but the quantized matrix products): RMS norms, adds,
//! rope, the KV cache write, paged attention, gated activations and row gathers. Semantics are
//! those of the CPU ops in `crate::cpu`; activations are f32, the KV cache f16 or q8_0.
//!
//! Buffers may be longer than an op needs (they are sized for the largest step): only the stated
//! prefix is read or written. Sizes are checked before any launch, and a bad one is a
//! [`GpuError::Invalid`] naming the op and the buffer. Indices that live on the device (row
//! indices, slots, positions, block tables) cannot be checked on the host: the kernels check them
//! and turn a bad one into NaN outputs (or, for the cache write, a skipped row), never an access
//! out of bounds.

use super::arch::Arch;
use super::device::Gpu;
use super::error::{GpuError, Result};
use super::kernels;
use super::kv::KvBuffers;
use super::memory::DeviceBuffer;
use super::module::{Arg, Kernel, LaunchConfig, Module};
use super::stream::Stream;
use crate::cpu::{AttnParams, RopeParams, RopeStyle};
use crate::{gpu_args, KvType, Q8_0_BLOCK};

/// Threads per block of the element-wise kernels.
const ELEMENT_THREADS: u32 = 256;
/// Most chunks of 4 values per lane a norm kernel's row holds (`RF_RMS_MAX_CHUNKS`).
const RMS_MAX_CHUNKS: usize = 512;
/// Threads per attention block (`RF_ATTN_THREADS` in attention.cu).
const ATTN_THREADS: u32 = 256;
/// Largest head_dim the attention kernel serves (`RF_ATTN_MAX_HD`): 32 lanes of 8 dimensions.
const ATTN_MAX_HEAD_DIM: usize = 256;
/// Query heads per block of the compiled attention kernels (`rf_attention_g<N>`); a larger
/// group is split over several blocks. Every kernel computes a head bit for bit the same way.
const ATTN_GROUPS: [usize; 3] = [1, 2, 4];
/// Threads per tiled-attention block (`RF_FA_THREADS`).
const TILED_THREADS: u32 = 128;
/// The tiled-attention kernels (`rf_attention_tiled_<HDP>`): (largest head_dim, query rows
/// per block). A block serves R / (heads per block) consecutive tokens.
const TILED: [(usize, usize); 3] = [(64, 32), (128, 32), (256, 16)];
/// The tiled kernel serves a step when it has at least this many tokens and on average at least
/// TILED_MIN_PER_SEQ tokens per sequence (prefill chunks); decode steps (one token per
/// sequence) keep the per-token kernels.
const TILED_MIN_T: usize = 16;
const TILED_MIN_PER_SEQ: usize = 4;
/// Threads per block of the matrix-core tiled kernels (`RF_MMA_THREADS`) and query rows per
/// block (16 per warp).
const MMA_THREADS: u32 = 64;
const MMA_ROWS: usize = 32;
/// The matrix-core tiled kernels (`rf_attention_mma_<HD>`, NVIDIA sm_80+): largest head_dim.
const MMA_HD: [usize; 2] = [64, 128];

/// The two ways to compute attention (normally chosen by [`Ops::attention`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttnKernel {
    /// One block per (token, KV head): each token reads its K/V rows on its own (decode).
    PerToken,
    /// Tiles of consecutive tokens x a KV head's query heads share every K/V tile through
    /// shared memory (flash-attention style online softmax): prefill.
    Tiled,
    /// The tiled kernel with both products on the matrix cores (NVIDIA sm_80+, head_dim a
    /// multiple of 16 up to 128): Q and the softmax weights as two f16 terms each, so the
    /// results keep f32 accuracy. Where it exists, prefill steps use it instead of `Tiled`.
    TiledMma,
}

/// A step's token placement on the device.
pub struct PagedPlaces<'a> {
    pub positions: &'a DeviceBuffer<u32>, // [t] position of each token in its sequence
    pub token_seq: &'a DeviceBuffer<u32>, // [t] index of its sequence
    pub block_tables: &'a DeviceBuffer<u32>, // [n_seq, max_blocks] physical block ids, row-major
    pub max_blocks: usize,                // row length of block_tables
    pub t: usize,                         // tokens in the step
    pub max_pos: u32,                     // largest position in the step (checked against the table)
}

/// The compiled kernels of the forward pass's ops, for one device.
pub struct Ops {
    warp: u32,
    multiprocessors: usize,
    rms_norm: Kernel,
    rms_norm_in_place: Kernel,
    add_in_place: Kernel,
    add_bias: Kernel,
    swiglu: Kernel,
    geglu: Kernel,
    gather_rows: Kernel,
    rope: Kernel,
    /// The cache-type-specific kernels, indexed by [`type_index`].
    rope_kv_write: [Kernel; KvType::ALL.len()],
    kv_write: [Kernel; KvType::ALL.len()],
    attention: [[Kernel; ATTN_GROUPS.len()]; KvType::ALL.len()],
    tiled: [[Kernel; TILED.len()]; KvType::ALL.len()],
    mma: Option<[[Kernel; MMA_HD.len()]; KvType::ALL.len()]>,
    /// `ROCMFORGE_ATTENTION=per-token|tiled|tiled-mma`: one kernel for every step (measurements).
    attn_forced: Option<AttnKernel>,
}

/// Where a cache type's kernels sit in [`Ops`]' arrays (KvType::ALL's order).
fn type_index(ty: KvType) -> usize {
    match ty {
        KvType::F16 => 0,
        KvType::Q8_0 => 1,
    }
}

/// `f(type name)` for each cache type, in KvType::ALL's order: the kernels of every type
/// (`<name>_<type>` in attention.cu).
fn per_type<T>(f: impl Fn(&str) -> Result<T>) -> Result<[T; KvType::ALL.len()]> {
    Ok([f(KvType::ALL[0].name())?, f(KvType::ALL[1].name())?])
}

fn invalid<T>(msg: String) -> Result<T> {
    Err(GpuError::Invalid(msg))
}

/// `a * b`, or an error naming what overflowed.
fn mul(op: &str, a: usize, b: usize) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| GpuError::Invalid(format!("{op}: {a} x {b} elements overflow")))
}

/// The buffer holds at least `need` elements.
fn check_len<T: super::DeviceElem>(op: &str, b: &DeviceBuffer<T>, need: usize) -> Result<()> {
    if b.len() < need {
        return invalid(format!("{op}: {} has {} elements, the op needs {need}", b.what(), b.len()));
    }
    Ok(())
}

/// A size passed to a kernel as `int`.
fn as_i32(op: &str, what: &str, v: usize) -> Result<i32> {
    i32::try_from(v).map_err(|_| GpuError::Invalid(format!("{op}: {what} = {v} is over the kernels' 2^31 - 1")))
}

/// Checks a rope's parameters and positions ([t]); the angle step theta_scale and the style
/// flag as the rope kernels take them.
fn rope_angles(
    op: &str,
    p: &RopeParams,
    head_dim: usize,
    positions: &DeviceBuffer<u32>,
    t: usize,
) -> Result<(f32, i32)> {
    if !p.n_rot.is_multiple_of(2) || p.n_rot > head_dim {
        return invalid(format!("{op}: n_rot {} must be even and at most head_dim {head_dim}", p.n_rot));
    }
    check_len(op, positions, t)?;
    // The same f32 expression as cpu::rope, so both build identical angles from it.
    let theta_scale = p.base.powf(-2.0 / p.n_rot as f32);
    let neox = match p.style {
        RopeStyle::Norm => 0i32,
        RopeStyle::Neox => 1,
    };
    Ok((theta_scale, neox))
}

impl Ops {
    /// Compiles (or loads from the kernel cache) the op kernels for `gpu`.
    pub fn new(gpu: &Gpu) -> Result<Ops> {
        let [ew, rope, attn]: [Module; 3] = gpu
            .compile_all(&[kernels::ELEMENTWISE, kernels::ROPE, kernels::ATTENTION])?
            .try_into()
            .map_err(|_| GpuError::Invalid("op modules".into()))?;
        let rope_kv_write = per_type(|ty| rope.kernel(&format!("rf_rope_kv_write_{ty}")))?;
        let kv_write = per_type(|ty| attn.kernel(&format!("rf_kv_write_{ty}")))?;
        let attention = per_type(|ty| {
            let k = |group: usize| attn.kernel(&format!("rf_attention_g{group}_{ty}"));
            Ok([k(1)?, k(2)?, k(4)?])
        })?;
        let tiled = per_type(|ty| {
            let k = |hd: usize| attn.kernel(&format!("rf_attention_tiled_{hd}_{ty}"));
            Ok([k(64)?, k(128)?, k(256)?])
        })?;
        // The matrix-core kernels exist in the code object only for NVIDIA sm_80 and later.
        let mma = match gpu.arch() {
            Arch::Nvidia { major, .. } if *major >= 8 => Some(per_type(|ty| {
                let k = |hd: usize| attn.kernel(&format!("rf_attention_mma_{hd}_{ty}"));
                Ok([k(64)?, k(128)?])
            })?),
            _ => None,
        };
        let attn_forced = match std::env::var("ROCMFORGE_ATTENTION").as_deref() {
            Ok("per-token") => Some(AttnKernel::PerToken),
            Ok("tiled") => Some(AttnKernel::Tiled),
            Ok("tiled-mma") => Some(AttnKernel::TiledMma),
            _ => None,
        };
        Ok(Ops {
            warp: gpu.info().warp_size,
            multiprocessors: gpu.info().multiprocessors as usize,
            rms_norm: ew.kernel("rf_rms_norm_f32")?,
            rms_norm_in_place: ew.kernel("rf_rms_norm_in_place_f32")?,
            add_in_place: ew.kernel("rf_add_in_place_f32")?,
            add_bias: ew.kernel("rf_add_bias_f32")?,
            swiglu: ew.kernel("rf_swiglu_f32")?,
            geglu: ew.kernel("rf_geglu_f32")?,
            gather_rows: ew.kernel("rf_gather_rows_f32")?,
            rope: rope.kernel("rf_rope_f32")?,
            rope_kv_write,
            kv_write,
            attention,
            tiled,
            mma,
            attn_forced,
        })
    }

    /// Threads for a block that walks a row of `n`: a warp multiple, at most 1024.
    fn row_threads(&self, n: usize, max: u32) -> u32 {
        let w = self.warp.max(1) as usize;
        (n.div_ceil(w) * w).clamp(w, max as usize) as u32
    }

    /// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w, r < rows, row width w.len().
    pub fn rms_norm(
        &self,
        s: &Stream,
        x: &DeviceBuffer<f32>,
        w: &DeviceBuffer<f32>,
        rows: usize,
        eps: f32,
        out: &mut DeviceBuffer<f32>,
    ) -> Result<()> {
        const OP: &str = "rms_norm";
        let n = w.len();
        let len = mul(OP, rows, n)?;
        check_len(OP, x, len)?;
        check_len(OP, out, len)?;
        if rows == 0 {
            return Ok(());
        }
        let cfg = self.rms_config(OP, rows, n)?;
        self.rms_norm.launch(s, cfg, &gpu_args![x, w, out, as_i32(OP, "row width", n)?, eps])
    }

    /// The same in place (per-head QK-norm: rows = t * n_heads, width = head_dim; post-norms).
    pub fn rms_norm_in_place(
        &self,
        s: &Stream,
        x: &mut DeviceBuffer<f32>,
        w: &DeviceBuffer<f32>,
        rows: usize,
        eps: f32,
    ) -> Result<()> {
        const OP: &str = "rms_norm_in_place";
        let n = w.len();
        check_len(OP, x, mul(OP, rows, n)?)?;
        if rows == 0 {
            return Ok(());
        }
        let cfg = self.rms_config(OP, rows, n)?;
        self.rms_norm_in_place.launch(s, cfg, &gpu_args![x, w, as_i32(OP, "row width", n)?, eps])
    }

    fn rms_config(&self, op: &str, rows: usize, n: usize) -> Result<LaunchConfig> {
        if n == 0 {
            return invalid(format!("{op}: the weight is empty (rows of width 0)"));
        }
        let max = RMS_MAX_CHUNKS * 4 * self.warp as usize;
        if n > max {
            return invalid(format!("{op}: rows of {n} values are over the kernel's {max}"));
        }
        Ok(LaunchConfig::rows(as_i32(op, "rows", rows)? as u32, self.row_threads(n, 1024)))
    }

    /// x[r, :] += b for r < rows, width b.len().
    pub fn add_bias(&self, s: &Stream, x: &mut DeviceBuffer<f32>, b: &DeviceBuffer<f32>, rows: usize) -> Result<()> {
        const OP: &str = "add_bias";
        let n = mul(OP, rows, b.len())?;
        check_len(OP, x, n)?;
        if n == 0 {
            return Ok(());
        }
        let width = as_i32(OP, "bias length", b.len())?;
        self.add_bias.launch(s, LaunchConfig::for_elements(n, ELEMENT_THREADS), &gpu_args![x, b, n as i64, width])
    }

    /// acc[i] += x[i], i < n.
    pub fn add(&self, s: &Stream, acc: &mut DeviceBuffer<f32>, x: &DeviceBuffer<f32>, n: usize) -> Result<()> {
        const OP: &str = "add";
        check_len(OP, acc, n)?;
        check_len(OP, x, n)?;
        if n == 0 {
            return Ok(());
        }
        self.add_in_place.launch(s, LaunchConfig::for_elements(n, ELEMENT_THREADS), &gpu_args![acc, x, n as i64])
    }

    /// x: [t, n_heads, head_dim] rotated in place at `positions` ([t]); semantics of cpu::rope
    /// (Norm: adjacent pairs, Neox: halves; first n_rot dims rotated; theta = pos * freq_scale *
    /// base^(-2i/n_rot)).
    #[allow(clippy::too_many_arguments)] // the op's shape: x, its layout, positions, params
    pub fn rope(
        &self,
        s: &Stream,
        x: &mut DeviceBuffer<f32>,
        t: usize,
        n_heads: usize,
        head_dim: usize,
        positions: &DeviceBuffer<u32>,
        p: &RopeParams,
    ) -> Result<()> {
        self.rope_launch(s, (x, n_heads), None, t, head_dim, positions, p)
    }

    /// [`Ops::rope`] of the queries q ([t, n_q, head_dim]) and the keys k ([t, n_k, head_dim])
    /// in one launch; the same bits as two.
    #[allow(clippy::too_many_arguments)] // the op's shape: both inputs, their layout, positions, params
    pub fn rope_qk(
        &self,
        s: &Stream,
        q: &mut DeviceBuffer<f32>,
        n_q: usize,
        k: &mut DeviceBuffer<f32>,
        n_k: usize,
        t: usize,
        head_dim: usize,
        positions: &DeviceBuffer<u32>,
        p: &RopeParams,
    ) -> Result<()> {
        self.rope_launch(s, (q, n_q), Some((k, n_k)), t, head_dim, positions, p)
    }

    #[allow(clippy::too_many_arguments)] // as rope_qk
    fn rope_launch(
        &self,
        s: &Stream,
        (x, n_heads): (&mut DeviceBuffer<f32>, usize),
        x2: Option<(&mut DeviceBuffer<f32>, usize)>,
        t: usize,
        head_dim: usize,
        positions: &DeviceBuffer<u32>,
        p: &RopeParams,
    ) -> Result<()> {
        const OP: &str = "rope";
        let n_heads2 = x2.as_ref().map_or(0, |x2| x2.1);
        check_len(OP, x, mul(OP, mul(OP, t, n_heads)?, head_dim)?)?;
        if let Some((x2, _)) = &x2 {
            check_len(OP, x2, mul(OP, mul(OP, t, n_heads2)?, head_dim)?)?;
        }
        let (theta_scale, neox) = rope_angles(OP, p, head_dim, positions, t)?;
        let pairs = (n_heads + n_heads2) * (p.n_rot / 2);
        if t == 0 || pairs == 0 {
            return Ok(());
        }
        as_i32(OP, "head elements", mul(OP, n_heads + n_heads2, head_dim)?)?;
        let cfg = self.rope_config(OP, t, pairs, p)?;
        let x2 = match x2 {
            Some((x2, _)) => Arg::from(x2),
            None => Arg::null::<f32>(),
        };
        let (nh, nh2, hd) = (n_heads as i32, n_heads2 as i32, head_dim as i32);
        let args = gpu_args![x, x2, positions, nh, nh2, hd, p.n_rot as i32, p.freq_scale, theta_scale, neox];
        self.rope.launch(s, cfg, &args)
    }

    /// One block per token for `items` units of work per token (the widest of its loops),
    /// with the shared memory of its cos and sin.
    fn rope_config(&self, op: &str, t: usize, items: usize, p: &RopeParams) -> Result<LaunchConfig> {
        let threads = self.row_threads(items, 256);
        Ok(LaunchConfig::rows(as_i32(op, "t", t)? as u32, threads).with_shared_bytes((p.n_rot / 2 * 8) as u32))
    }

    /// [`Ops::rope_qk`] of q ([t, n_q, head_dim]) and k ([t, n_k, head_dim]), then
    /// [`Ops::kv_write`] of the rotated k and of v ([t, n_k * head_dim]) at `slots` ([t]), in
    /// one launch: the same bits in q, k and the caches as the two ops. A slot out of range is
    /// skipped (its q and k are still rotated), as kv_write skips it.
    #[allow(clippy::too_many_arguments)] // the two ops' arguments
    pub fn rope_qk_kv_write(
        &self,
        s: &Stream,
        (q, n_q): (&mut DeviceBuffer<f32>, usize),
        (k, n_k): (&mut DeviceBuffer<f32>, usize),
        v: &DeviceBuffer<f32>,
        t: usize,
        head_dim: usize,
        positions: &DeviceBuffer<u32>,
        slots: &DeviceBuffer<u32>,
        p: &RopeParams,
        cache: &mut KvBuffers,
    ) -> Result<()> {
        const OP: &str = "rope_qk_kv_write";
        let width = cache.width();
        if width == 0 || width != mul(OP, n_k, head_dim)? {
            return invalid(format!("{OP}: cache rows of {width} values for {n_k} KV heads of {head_dim}"));
        }
        let n = mul(OP, t, width)?;
        check_len(OP, q, mul(OP, mul(OP, t, n_q)?, head_dim)?)?;
        check_len(OP, k, n)?;
        check_len(OP, v, n)?;
        check_len(OP, slots, t)?;
        let (theta_scale, neox) = rope_angles(OP, p, head_dim, positions, t)?;
        if t == 0 {
            return Ok(());
        }
        as_i32(OP, "head elements", mul(OP, n_q + n_k, head_dim)?)?;
        let ty = cache.ty();
        // The cache write's units per token: values (f16) or 32-value blocks of k and v (q8_0).
        let stores = match ty {
            KvType::F16 => width,
            KvType::Q8_0 => 2 * width / Q8_0_BLOCK,
        };
        let cfg = self.rope_config(OP, t, ((n_q + n_k) * (p.n_rot / 2)).max(stores), p)?;
        let n_slots = u32::try_from(cache.slots()).unwrap_or(u32::MAX);
        let (nq, nk, hd) = (n_q as i32, n_k as i32, head_dim as i32);
        let args = gpu_args![
            q,
            k,
            v,
            positions,
            slots,
            &mut cache.k,
            &mut cache.v,
            nq,
            nk,
            hd,
            p.n_rot as i32,
            p.freq_scale,
            theta_scale,
            neox,
            n_slots
        ];
        self.rope_kv_write[type_index(ty)].launch(s, cfg, &args)
    }

    /// Stores k[i, :] and v[i, :] ([t, width] f32) into row slots[i] of the caches (slot =
    /// physical block * block_size + offset) in their type: rounded to f16, or encoded as q8_0
    /// blocks bit for bit as the CPU's `KvRows::write`.
    pub fn kv_write(
        &self,
        s: &Stream,
        k: &DeviceBuffer<f32>,
        v: &DeviceBuffer<f32>,
        slots: &DeviceBuffer<u32>,
        t: usize,
        cache: &mut KvBuffers,
    ) -> Result<()> {
        const OP: &str = "kv_write";
        let width = cache.width();
        let n = mul(OP, t, width)?;
        check_len(OP, k, n)?;
        check_len(OP, v, n)?;
        check_len(OP, slots, t)?;
        if width == 0 {
            return invalid(format!("{OP}: width 0"));
        }
        if n == 0 {
            return Ok(());
        }
        let n_slots = u32::try_from(cache.slots()).unwrap_or(u32::MAX);
        let width_arg = as_i32(OP, "width", width)?;
        let ty = cache.ty();
        // f16: a thread per value; q8_0: a thread per block of 32 (KvBuffers holds whole blocks).
        let units = match ty {
            KvType::F16 => n,
            KvType::Q8_0 => n / Q8_0_BLOCK,
        };
        self.kv_write[type_index(ty)].launch(
            s,
            LaunchConfig::for_elements(units, ELEMENT_THREADS),
            &gpu_args![k, v, slots, &mut cache.k, &mut cache.v, units as i64, width_arg, n_slots],
        )
    }

    /// Paged causal attention, semantics of Cpu::attention: q [t, n_head, hd] -> out [t, n_head, hd];
    /// token i attends to positions max(0, pos-window+1)..=pos of its own sequence, read through
    /// its block table from the caches ([n_blocks * block_size, n_kv_head * hd], f16 or q8_0);
    /// query head h uses KV head h / (n_head / n_kv_head) without copying; scores * p.scale,
    /// optional softcap.
    ///
    /// Unlike the CPU's f16 path, Q and the softmax weights stay f32 (the CPU rounds them to f16
    /// as llama.cpp's CPU path does). A q8_0 cache reads back as d * q, exactly in the per-token
    /// kernels and rounded to f16 in the tiled kernels' shared tiles (as llama.cpp's CUDA flash
    /// attention converts a quantized cache to f16). head_dim must be a multiple of 8 (of 32 for
    /// q8_0), at most 256. Each token's
    /// result depends only on its own query and context, never on the rest of the step, for a
    /// given kernel ([`Ops::attention_kernel_for`]: the per-token and the tiled kernels sum in
    /// different orders, so a token may differ in the last bits between a decode-sized and a
    /// prefill-sized step).
    #[allow(clippy::too_many_arguments)] // the op's shape: query, places, caches, layout, params
    pub fn attention(
        &self,
        s: &Stream,
        q: &DeviceBuffer<f32>,
        at: &PagedPlaces,
        cache: &KvBuffers,
        block_size: usize,
        p: &AttnParams,
        out: &mut DeviceBuffer<f32>,
    ) -> Result<()> {
        self.attention_with(self.attention_kernel_for(at, p.head_dim), s, q, at, cache, block_size, p, out)
    }

    /// The kernel [`Ops::attention`] runs for a step of `head_dim`: a tiled kernel when the step
    /// has at least TILED_MIN_T tokens and TILED_MIN_PER_SEQ per sequence on average (prefill),
    /// on the matrix cores where [`Ops::has_mma`] says so; else the per-token kernels (decode).
    /// `ROCMFORGE_ATTENTION` forces one.
    pub fn attention_kernel_for(&self, at: &PagedPlaces, head_dim: usize) -> AttnKernel {
        if let Some(k) = self.attn_forced {
            return k;
        }
        let n_seq = (at.block_tables.len() / at.max_blocks.max(1)).max(1);
        if at.t < TILED_MIN_T || at.t < TILED_MIN_PER_SEQ * n_seq {
            AttnKernel::PerToken
        } else if self.has_mma(head_dim) {
            AttnKernel::TiledMma
        } else {
            AttnKernel::Tiled
        }
    }

    /// Whether [`AttnKernel::TiledMma`] serves `head_dim` on this device.
    pub fn has_mma(&self, head_dim: usize) -> bool {
        self.mma.is_some() && head_dim.is_multiple_of(16) && head_dim <= MMA_HD[MMA_HD.len() - 1]
    }

    /// [`Ops::attention`] with the kernel chosen by the caller (tests, measurements).
    #[allow(clippy::too_many_arguments)] // the op's shape: query, places, caches, layout, params
    pub fn attention_with(
        &self,
        kernel: AttnKernel,
        s: &Stream,
        q: &DeviceBuffer<f32>,
        at: &PagedPlaces,
        cache: &KvBuffers,
        block_size: usize,
        p: &AttnParams,
        out: &mut DeviceBuffer<f32>,
    ) -> Result<()> {
        const OP: &str = "attention";
        let (hd, n_head, n_kv, t) = (p.head_dim, p.n_head, p.n_kv_head, at.t);
        if n_kv == 0 || !n_head.is_multiple_of(n_kv) {
            return invalid(format!("{OP}: {n_head} query heads do not share {n_kv} KV heads evenly"));
        }
        if hd == 0 || !hd.is_multiple_of(8) || hd > ATTN_MAX_HEAD_DIM {
            return invalid(format!("{OP}: head_dim {hd} must be a multiple of 8 in 8..={ATTN_MAX_HEAD_DIM}"));
        }
        cache.ty().check_head_dim(hd).map_err(|why| GpuError::Invalid(format!("{OP}: {why}")))?;
        if block_size == 0 || at.max_blocks == 0 {
            return invalid(format!("{OP}: block_size {block_size} and max_blocks {} must be > 0", at.max_blocks));
        }
        if p.window == Some(0) {
            return invalid(format!("{OP}: a window of 0 positions"));
        }
        if let Some(c) = p.softcap.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return invalid(format!("{OP}: softcap {c} must be finite and > 0"));
        }
        let q_len = mul(OP, mul(OP, t, n_head)?, hd)?;
        check_len(OP, q, q_len)?;
        check_len(OP, out, q_len)?;
        check_len(OP, at.positions, t)?;
        check_len(OP, at.token_seq, t)?;
        let n_seq = at.block_tables.len() / at.max_blocks;
        let positions = mul(OP, at.max_blocks, block_size)?;
        as_i32(OP, "max_blocks * block_size", positions)?;
        if at.max_pos as usize >= positions {
            return invalid(format!(
                "{OP}: position {} is beyond the block table's {} blocks of {block_size}",
                at.max_pos, at.max_blocks
            ));
        }
        let width = mul(OP, n_kv, hd)?;
        if cache.width() != width || !cache.slots().is_multiple_of(block_size) {
            return invalid(format!(
                "{OP}: the cache's {} rows of {} values are not whole blocks of {block_size} x {width}",
                cache.slots(),
                cache.width()
            ));
        }
        if t == 0 {
            return Ok(());
        }
        let n_phys = u32::try_from(cache.slots() / block_size).unwrap_or(u32::MAX);
        let ti = type_index(cache.ty());
        let window = p.window.map_or(0, |w| i32::try_from(w).unwrap_or(i32::MAX));
        if kernel != AttnKernel::PerToken {
            let (k, r, threads) = if kernel == AttnKernel::TiledMma {
                let (Some(mma), true) = (&self.mma, self.has_mma(hd)) else {
                    return invalid(format!(
                        "{OP}: no matrix-core kernel for head_dim {hd} on this device (NVIDIA sm_80+, a multiple of 16 up to 128)"
                    ));
                };
                let ki = MMA_HD.iter().position(|&max_hd| hd <= max_hd).unwrap_or(MMA_HD.len() - 1);
                (&mma[ti][ki], MMA_ROWS, MMA_THREADS)
            } else {
                let Some(ki) = TILED.iter().position(|&(max_hd, _)| hd <= max_hd) else {
                    return invalid(format!("{OP}: head_dim {hd} is over the tiled kernels' {}", TILED[2].0));
                };
                (&self.tiled[ti][ki], TILED[ki].1, TILED_THREADS)
            };
            let group = n_head / n_kv;
            let hb = group.min(r); // query heads per block
            let parts = group.div_ceil(hb);
            let grid = [
                as_i32(OP, "token tiles", t.div_ceil(r / hb))? as u32,
                as_i32(OP, "KV heads x parts", n_kv * parts)? as u32,
                1,
            ];
            return k.launch(
                s,
                LaunchConfig::new(grid, [threads, 1, 1]),
                &gpu_args![
                    q,
                    &cache.k,
                    &cache.v,
                    at.positions,
                    at.token_seq,
                    at.block_tables,
                    out,
                    as_i32(OP, "t", t)?,
                    n_head as i32,
                    n_kv as i32,
                    hd as i32,
                    hb as i32,
                    as_i32(OP, "block_size", block_size)?,
                    at.max_blocks as i32,
                    as_i32(OP, "sequences", n_seq)?,
                    n_phys,
                    window,
                    p.scale,
                    p.softcap.unwrap_or(0.0)
                ],
            );
        }
        // A block reads each K/V row once for its heads. Few (token, KV head) pairs (decode)
        // would leave most of the device idle: then one head per block, so more blocks share the
        // work. The choice never changes a result (every kernel computes a head the same way).
        let group = n_head / n_kv;
        let pairs = mul(OP, t, n_kv)?;
        let gi = if pairs < self.multiprocessors {
            0
        } else {
            ATTN_GROUPS.iter().position(|&g| g >= group).unwrap_or(ATTN_GROUPS.len() - 1)
        };
        let parts = group.div_ceil(ATTN_GROUPS[gi]);
        let grid = as_i32(OP, "t * n_kv_head", pairs)? as u32;
        // Lanes per key: 8 dimensions each, a power of two.
        let lk = (hd / 8).next_power_of_two();
        let cfg = LaunchConfig::new([grid, parts as u32, 1], [ATTN_THREADS, 1, 1]);
        self.attention[ti][gi].launch(
            s,
            cfg,
            &gpu_args![
                q,
                &cache.k,
                &cache.v,
                at.positions,
                at.token_seq,
                at.block_tables,
                out,
                n_head as i32,
                n_kv as i32,
                hd as i32,
                lk as i32,
                as_i32(OP, "block_size", block_size)?,
                at.max_blocks as i32,
                as_i32(OP, "sequences", n_seq)?,
                n_phys,
                window,
                p.scale,
                p.softcap.unwrap_or(0.0)
            ],
        )
    }

    /// gate[i] = silu(gate[i]) * up[i], i < n.
    pub fn swiglu(&self, s: &Stream, gate: &mut DeviceBuffer<f32>, up: &DeviceBuffer<f32>, n: usize) -> Result<()> {
        self.gated("swiglu", &self.swiglu, s, gate, up, n)
    }

    /// gate[i] = gelu_tanh(gate[i]) * up[i], i < n, rounded as cpu::geglu: gelu of the
    /// f16-rounded input, rounded to f16 (llama.cpp's CPU GGML_GELU_FP16).
    pub fn geglu(&self, s: &Stream, gate: &mut DeviceBuffer<f32>, up: &DeviceBuffer<f32>, n: usize) -> Result<()> {
        self.gated("geglu", &self.geglu, s, gate, up, n)
    }

    fn gated(
        &self,
        op: &str,
        k: &Kernel,
        s: &Stream,
        gate: &mut DeviceBuffer<f32>,
        up: &DeviceBuffer<f32>,
        n: usize,
    ) -> Result<()> {
        check_len(op, gate, n)?;
        check_len(op, up, n)?;
        if n == 0 {
            return Ok(());
        }
        k.launch(s, LaunchConfig::for_elements(n, ELEMENT_THREADS), &gpu_args![gate, up, n as i64])
    }

    /// out[i, :] = x[rows[i], :] for i < n, row width `width` (the rows that need logits).
    pub fn gather_rows(
        &self,
        s: &Stream,
        x: &DeviceBuffer<f32>,
        rows: &DeviceBuffer<u32>,
        n: usize,
        width: usize,
        out: &mut DeviceBuffer<f32>,
    ) -> Result<()> {
        const OP: &str = "gather_rows";
        let len = mul(OP, n, width)?;
        check_len(OP, rows, n)?;
        check_len(OP, out, len)?;
        if len == 0 {
            return Ok(());
        }
        let x_rows = u32::try_from(x.len() / width).unwrap_or(u32::MAX);
        self.gather_rows.launch(
            s,
            LaunchConfig::for_elements(len, ELEMENT_THREADS),
            &gpu_args![x, rows, out, len as i64, as_i32(OP, "width", width)?, x_rows],
        )
    }
}
