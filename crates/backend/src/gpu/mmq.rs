//! The int8 GEMM ("MMQ", `kernels/mmq.cu`) of the quantized weight types: products of several
//! tokens (which ones: `Matmul::kernel_for`) on the int8 matrix cores (NVIDIA sm_80+; dp4a with
//! the same tiles elsewhere).
//!
//! Each product first encodes its activations into a scratch buffer exactly as the int8 GEMV
//! does (`cpu::qdot`'s Q8_0, Q8_1 or Q8_K for the weight type), so a token's result is the same
//! integer sums times the same scales as the GEMV's and the CPU's, up to the f32 order of the
//! block terms; it does not depend on the rest of the batch. The scratch is allocated once, so
//! products inside a graph capture allocate nothing; more tokens than it holds go in chunks.

use std::sync::Mutex;

use gguf::GgmlType;

use super::{kernels, DeviceBuffer, Gpu, GpuError, Kernel, LaunchConfig, Result, Stream};
use crate::cpu::qdot::{act_type_for, ActType};

/// Rows per tile (`MMQ_BM` in mmq.cu), threads per block (`MMQ_THREADS`), columns per slice
/// (`MMQ_SLICE`).
const BM: usize = 64;
const THREADS: u32 = 256;
const SLICE: usize = 256;
/// Blocks that fit on one multiprocessor at once (128 registers per thread, < 48 KiB shared).
const BLOCKS_PER_SM: usize = 2;
/// The most ranges of columns a matrix's products are split into.
const MAX_SPLITS: usize = 16;
/// The token tiles per launch the split model is scored at: decode steps of up to 64 streams.
const DECODE_TILES: [usize; 2] = [1, 2];
/// The split model's costs, in units of one block's time per slice (~2 µs on the H100, where a
/// last wave of a few blocks takes as long as a full one: gpu_matmul's mmq_speed times follow
/// the number of waves), fitted there: a block's first slice, whose loads nothing hides, costs
/// half a slice more; a split product adds rf_mmq_reduce's launch and its reading and writing
/// of the partial sums, 8 bytes per (split, token, row), at ~2.5 TB/s.
const PROLOGUE_SLICES: f64 = 0.5;
const REDUCE_SLICES: f64 = 0.65;
const PART_BYTES_PER_SLICE: f64 = 5.75e6;
/// Floats of the split partial sums' scratch ([splits][tokens][rows]; 16 MiB).
const PART_FLOATS: usize = 1 << 22;
/// Tokens per tile (`rf_mmq_<type>_n32`). 64-token tiles were measured slower on the H100 (the
/// 7B shape's 64-stream decode step: 17.2 against 16.0 ms; they spill at two blocks per SM).
const BN: usize = 32;
/// The encoder's columns per block (`MMQ_ENC_COLS`) and threads (`MMQ_ENC_THREADS`).
const ENC_COLS: usize = 2048;
const ENC_THREADS: u32 = 256;
/// Bytes of the activation scratch: 512 tokens of the widest Qwen2.5-7B rows (18944 columns).
const SCRATCH_BYTES: usize = 16 << 20;
/// Values per chunk of the encoder's RMS norm sums, at least: `RF_RMS_CHUNK` in fused.h is 4 per
/// lane, 128 on 32-wide warps and 256 on wave64, so ceil(cols / 128) floats hold either.
const RMS_CHUNK: usize = 128;

/// The weight types with an MMQ kernel, and the suffix of their kernel names: the quantized
/// ones of the matmul list.
const TYPES: &[(GgmlType, &str)] = super::matmul::TYPES.split_at(QUANT_TYPES).0;
const QUANT_TYPES: usize = 13;

/// Values per activation scale and per activation sum of an encoding (`ActQ8_*` in q8.h).
fn block_and_sum(act: ActType) -> (usize, usize) {
    if act == ActType::Q8_K {
        (256, 16)
    } else {
        (32, 32)
    }
}

/// Scratch bytes per token of `cols` columns: quants, then f32 scales, then i32 sums.
fn token_bytes(act: ActType, cols: usize) -> usize {
    let (block, sum) = block_and_sum(act);
    cols + 4 * (cols / block) + 4 * (cols / sum)
}

/// The activation and partial-sum scratch, and the stream whose work last used them.
struct Scratch {
    buf: DeviceBuffer<u8>,   // [SCRATCH_BYTES]: per chunk of tc tokens, q [tc][cols] i8, d, s
    part: DeviceBuffer<f32>, // [PART_FLOATS]: [splits][tc][rows]
    stream: Option<Stream>,
}

/// The compiled MMQ kernels and their scratch.
pub(crate) struct Mmq {
    encode: [(ActType, Kernel); 3],
    kernels: Vec<(GgmlType, Kernel)>,
    reduce: Kernel,
    scratch: Mutex<Scratch>,
    sms: usize,
}

impl Mmq {
    /// The sources of the kernels, one part (prelude.h) for the encoders and the reduce and one
    /// per weight type of `types` that has a kernel; `portable` forces the dp4a path that
    /// devices without int8 matrix cores run (to test it on one that has them).
    pub(crate) fn sources(portable: bool, types: &[GgmlType]) -> Vec<super::KernelSource> {
        let full = if portable {
            super::KernelSource::new(
                "mmq_portable.cu",
                format!("#define RF_MMQ_PORTABLE 1\n#line 1\n{}", kernels::MMQ.source),
            )
        } else {
            kernels::MMQ
        };
        std::iter::once("common").chain(wanted(types).map(|(_, s)| *s)).map(|p| full.part(p)).collect()
    }

    /// The kernels from the modules of [`Mmq::sources`] (in its order, for the same `types`),
    /// and the scratch.
    pub(crate) fn new(gpu: &Gpu, modules: Vec<super::Module>, types: &[GgmlType]) -> Result<Mmq> {
        let wanted: Vec<&(GgmlType, &str)> = wanted(types).collect();
        let [module, parts @ ..] = &modules[..] else {
            return Err(GpuError::Invalid("no MMQ modules".into()));
        };
        if parts.len() != wanted.len() {
            return Err(GpuError::Invalid(format!("{} MMQ type modules for {} types", parts.len(), wanted.len())));
        }
        let encode = [
            (ActType::Q8_0, module.kernel("rf_mmq_encode_q8_0")?),
            (ActType::Q8_1, module.kernel("rf_mmq_encode_q8_1")?),
            (ActType::Q8_K, module.kernel("rf_mmq_encode_q8_k")?),
        ];
        let kernels = wanted
            .iter()
            .zip(parts)
            .map(|(&&(ty, s), m)| Ok((ty, m.kernel(&format!("rf_mmq_{s}_n32"))?)))
            .collect::<Result<_>>()?;
        let buf = gpu.alloc::<u8>(SCRATCH_BYTES, "MMQ activation scratch")?;
        let part = gpu.alloc::<f32>(PART_FLOATS, "MMQ partial sums")?;
        Ok(Mmq {
            encode,
            kernels,
            reduce: module.kernel("rf_mmq_reduce")?,
            scratch: Mutex::new(Scratch { buf, part, stream: None }),
            sms: gpu.info().multiprocessors as usize,
        })
    }

    /// Whether weights of type `ty` have an MMQ kernel.
    pub(crate) fn supports(ty: GgmlType) -> bool {
        TYPES.iter().any(|(t, _)| *t == ty)
    }

    /// How many ranges of columns the blocks of a row tile split a matrix into (rf_mmq_reduce
    /// adds them in order). A function of the matrix alone (it sets the f32 order of a row's
    /// sum), never of the token count, so that a token's result does not depend on the rest of
    /// the step: the count the cost model puts lowest for one and two token tiles (batched
    /// decode up to 64 streams) together. Blocks run in waves of BLOCKS_PER_SM per
    /// multiprocessor and each wave takes as long as its blocks' slices, so a launch of a few
    /// row tiles, or of slightly more blocks than one wave holds, gains from splitting until
    /// the partial sums' traffic outweighs it. (Larger products, a prefill without a vendor
    /// BLAS, would mostly prefer fewer splits; they keep these.)
    fn splits(&self, rows: usize, cols: usize) -> usize {
        split_count(rows, cols, self.sms, &DECODE_TILES)
    }

    /// y[i, r] = sum_c x[i, c] * W[r, c] for i < t (shapes checked by the caller): w holds `rows`
    /// rows of `cols` values of `ty` in the file's encoding, 16 bytes readable past its end.
    #[allow(clippy::too_many_arguments)] // the product's shape: weights, activations, output
    pub(crate) fn matmul(
        &self,
        s: &Stream,
        ty: GgmlType,
        w: &DeviceBuffer<u8>,
        rows: usize,
        cols: usize,
        x: &DeviceBuffer<f32>,
        t: usize,
        y: &mut DeviceBuffer<f32>,
    ) -> Result<()> {
        let out = MmqOut { ty, w, rows, bias: None, y, mode: StoreMode::Store, up: None };
        self.products(s, x, t, cols, None, &mut [out])
    }

    /// outs[k].y[i, :] (stored by outs[k].mode) = outs[k].w h[i, :] (+ outs[k].bias) for i < t,
    /// with h = x, or rms_norm(x) * norm.0 (eps norm.1) when `norm` is given: the tokens are
    /// encoded once for all of `outs`, which must share the activation encoding (shapes checked
    /// by the caller; `cols` columns each). The same bits as `Ops::rms_norm`, a product each,
    /// and `add_bias` / `add` / `swiglu` / `geglu` after it.
    pub(crate) fn products(
        &self,
        s: &Stream,
        x: &DeviceBuffer<f32>,
        t: usize,
        cols: usize,
        norm: Option<(&DeviceBuffer<f32>, f32)>,
        outs: &mut [MmqOut],
    ) -> Result<()> {
        let Some(first) = outs.first().filter(|_| t > 0) else { return Ok(()) };
        let bad =
            |why: String| GpuError::Invalid(format!("MMQ product of {} x {cols} {}: {why}", first.rows, first.ty));
        let act = act_type_for(first.ty).ok_or_else(|| bad("no activation encoding".into()))?;
        let mut launches = Vec::with_capacity(outs.len());
        for o in outs.iter() {
            if o.up.is_some() && o.bias.is_some() {
                return Err(bad("a GLU pair takes no bias".into()));
            }
            let k = self.kernels.iter().find(|(k, _)| *k == o.ty).map(|(_, k)| k);
            match (k, act_type_for(o.ty)) {
                (Some(k), Some(a)) if a == act => launches.push((k, self.splits(o.rows, cols))),
                _ => return Err(bad(format!("no MMQ kernel for {} with {act:?} activations", o.ty))),
            }
        }
        let enc =
            self.encode.iter().find(|(a, _)| *a == act).map(|(_, k)| k).ok_or_else(|| bad("no encoder".into()))?;
        let mut tc_max = SCRATCH_BYTES / token_bytes(act, cols);
        for (o, &(_, splits)) in outs.iter().zip(&launches) {
            if splits > 1 {
                tc_max = tc_max.min(PART_FLOATS / (splits * o.rows));
            }
        }
        if tc_max == 0 {
            return Err(bad("rows too wide for the activation scratch".into()));
        }
        // Whole tiles per chunk unless one chunk takes everything.
        let tc = if t <= tc_max { t } else { (tc_max / BN).max(1) * BN }.min(tc_max);
        let mut sc = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let Scratch { buf, part, stream } = &mut *sc;
        // Work queued on another stream may still read the scratch; from here on `s`'s does
        // (also when a launch below fails after others were queued).
        if let Some(prev) = stream.replace(s.clone()) {
            if prev.handle() != s.handle() {
                prev.synchronize()?;
            }
        }
        let cols_i = cols as i32;
        let (nw, eps) = match norm {
            Some((nw, eps)) => (Some(nw), eps),
            None => (None, 0.0),
        };
        let enc_shared = if nw.is_some() { 4 * cols.div_ceil(RMS_CHUNK) } else { 0 };
        for t0 in (0..t).step_by(tc) {
            let tn = tc.min(t - t0);
            let (tn_i, t0_i) = (tn as i32, t0 as i32);
            let grid = [tn as u32, cols.div_ceil(ENC_COLS) as u32, 1];
            let args = crate::gpu_args![x, &mut *buf, cols_i, tn_i, t0_i, nw, eps];
            let cfg = LaunchConfig::new(grid, [ENC_THREADS, 1, 1]).with_shared_bytes(enc_shared as u32);
            enc.launch(s, cfg, &args)?;
            for (o, &(k, splits)) in outs.iter_mut().zip(&launches) {
                let grid = [tn.div_ceil(BN) as u32, blocks_u32(o.rows, BM)?, splits as u32];
                let (rows_i, splits_i) = (o.rows as i32, splits as i32);
                // A GLU pair: the gate's product stored, then the up matrix's combined with it.
                let steps = match o.up {
                    Some(up) => [Some((o.w, StoreMode::Store)), Some((up, o.mode))],
                    None => [Some((o.w, o.mode)), None],
                };
                for (w, mode) in steps.into_iter().flatten() {
                    let (y, b, mode) = (&mut *o.y, o.bias, mode as i32);
                    let args =
                        crate::gpu_args![w, &*buf, &mut *y, &mut *part, rows_i, cols_i, tn_i, t0_i, splits_i, b, mode];
                    k.launch(s, LaunchConfig::new(grid, [THREADS, 1, 1]), &args)?;
                    if splits > 1 {
                        let cfg = LaunchConfig::for_elements(tn * o.rows, 256);
                        let args = crate::gpu_args![&*part, &mut *y, rows_i, tn_i, t0_i, splits_i, b, mode];
                        self.reduce.launch(s, cfg, &args)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The entries of TYPES among `types`, in TYPES' order (the order of the parts).
fn wanted(types: &[GgmlType]) -> impl Iterator<Item = &'static (GgmlType, &'static str)> + '_ {
    TYPES.iter().filter(|(ty, _)| types.contains(ty))
}

/// [`Mmq::splits`] on a device of `sms` multiprocessors, the cost summed over launches of
/// `token_tiles` tiles of tokens each. At most as many splits as there are slices (no range is
/// empty), and few enough that two tiles' partial sums fit their scratch.
fn split_count(rows: usize, cols: usize, sms: usize, token_tiles: &[usize]) -> usize {
    let (tiles, slices) = (rows.div_ceil(BM), cols.div_ceil(SLICE));
    let slots = (BLOCKS_PER_SM * sms).max(1);
    let most = slices.min(MAX_SPLITS).min(PART_FLOATS / (2 * BN * rows.max(1))).max(1);
    let cost = |s: usize| -> f64 {
        token_tiles
            .iter()
            .map(|&tt| {
                let waves = (tiles * tt * s).div_ceil(slots) as f64;
                let run = waves * (slices.div_ceil(s) as f64 + PROLOGUE_SLICES);
                let part = (8 * s * tt * BN * rows) as f64 / PART_BYTES_PER_SLICE;
                if s > 1 {
                    run + REDUCE_SLICES + part
                } else {
                    run
                }
            })
            .sum()
    };
    // min_by keeps the first of equal costs: fewer splits.
    (1..=most).map(|s| (s, cost(s))).min_by(|a, b| a.1.total_cmp(&b.1)).map_or(1, |(s, _)| s)
}

/// How a fused product (the int8 GEMV's or GEMM's) stores its sums: `RF_STORE` .. `RF_GEGLU`
/// in fused.h.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreMode {
    /// y = W h (+ b).
    Store = 0,
    /// y += W h (+ b): a projection into the residual stream.
    Accumulate = 1,
    /// y = silu(G h) * (U h), G the gate matrix and U the up matrix.
    SwiGlu = 2,
    /// y = gelu(G h) * (U h), the same way.
    GeGlu = 3,
}

/// One matrix of [`Mmq::products`] (or a GLU pair of them).
pub(crate) struct MmqOut<'a> {
    pub ty: GgmlType,
    pub w: &'a DeviceBuffer<u8>, // [rows * row bytes + pad]
    pub rows: usize,
    pub bias: Option<&'a DeviceBuffer<f32>>, // [rows]
    pub y: &'a mut DeviceBuffer<f32>,        // [t, rows]
    pub mode: StoreMode,
    /// The GLU modes' up matrix (`ty`, `rows` rows, like w): w's product (the gate's) is stored
    /// in y first, then combined with this one's. No bias with it (each matrix would need its
    /// own).
    pub up: Option<&'a DeviceBuffer<u8>>,
}

/// ceil(n / per) blocks, as a grid dimension (at most 65535: the grid's y).
fn blocks_u32(n: usize, per: usize) -> Result<u32> {
    u32::try_from(n.div_ceil(per))
        .ok()
        .filter(|&b| b <= 65535)
        .ok_or_else(|| GpuError::Invalid(format!("{n} rows need too many MMQ blocks")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_follow_the_wave_model() {
        // 132 multiprocessors (H100), Qwen2.5-7B's and 0.5B's matrices (rows, cols).
        let got: Vec<usize> = [(3584, 3584), (512, 3584), (18944, 3584), (3584, 18944), (152064, 3584), (896, 4864)]
            .iter()
            .map(|&(r, c)| split_count(r, c, 132, &DECODE_TILES))
            .collect();
        // Few row tiles split into many short ranges, many fill the waves themselves.
        assert_eq!(got, [4, 14, 2, 4, 1, 7]);
        // With 16 token tiles most matrices fill the waves unsplit.
        assert_eq!(split_count(18944, 3584, 132, &[16]), 1);
        // Rows so many that one split's partial sums for two tiles fill the scratch: no split.
        assert_eq!(split_count(PART_FLOATS / (2 * BN) + 1, 1 << 20, 228, &DECODE_TILES), 1);
        // Every row tile has at most one wave's worth of splits and each split at least a slice.
        for (rows, cols, sms) in [(1, 1, 1), (64, 256, 132), (100_000, 32, 1), (512, 18944, 0), (37, 96, 108)] {
            let s = split_count(rows, cols, sms, &DECODE_TILES);
            assert!((1..=MAX_SPLITS.min(cols.div_ceil(SLICE).max(1))).contains(&s), "{rows} x {cols}: {s}");
        }
    }

    #[test]
    fn mmq_types_are_the_quantized_matmul_types() {
        assert!(TYPES.iter().all(|&(ty, _)| ty.block_size() > 1), "{TYPES:?}");
        let rest = &super::super::matmul::TYPES[QUANT_TYPES..];
        assert!(rest.iter().all(|&(ty, _)| ty.block_size() == 1), "{rest:?}");
    }
}
