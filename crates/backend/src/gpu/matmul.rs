//! Products of f32 activations with a quantized weight matrix, and embedding-row gathers, on the
//! GPU (kernels in `kernels/matmul.cu`), for every weight type of the CPU backend.
//!
//! Weights stay in the file's block encoding. A product of few tokens runs a GEMV, more tokens
//! the int8 GEMM of the quantized types (`mmq.rs`: activations encoded as the GEMV encodes them,
//! int8 matrix cores) or, for the float types, a tiled GEMM with f32 activations. The GEMV of the quantized types (`kernels/gemv_q8.cu`) encodes
//! each token's activations as the CPU backend does (`cpu::qdot`: Q8_0, Q8_1 or Q8_K, bit for
//! bit) and sums integer products per block with dp4a, so it computes the CPU's function; the
//! float types' GEMV (`kernels/matmul.cu`) keeps f32 activations. Large products (prefill) go to
//! the vendor BLAS when it is installed ([`MatmulKernel::Blas`]: weights dequantized to f16, f16
//! activations, f32 accumulation on the matrix cores).

use std::sync::OnceLock;

use gguf::GgmlType;

use super::blas::{Blas, W_SCRATCH, X_SCRATCH};
use super::mmq::Mmq;
use super::{
    kernels, DeviceBuffer, Gpu, GpuError, Kernel, KernelSource, LaunchConfig, Module, Result, Stream, Uploader,
};
use crate::cpu::qdot::ActType;
use crate::WeightView;

mod gemv_fused;
pub use gemv_fused::{GemvOut, Glu};

/// The weight types the kernels read, and the suffix of their kernel names: the quantized
/// types first (the int8 GEMM's, `mmq.rs`), then the float types.
pub(super) const TYPES: [(GgmlType, &str); 16] = [
    (GgmlType::Q4_0, "q4_0"),
    (GgmlType::Q4_1, "q4_1"),
    (GgmlType::Q5_0, "q5_0"),
    (GgmlType::Q5_1, "q5_1"),
    (GgmlType::Q8_0, "q8_0"),
    (GgmlType::Q2_K, "q2_k"),
    (GgmlType::Q3_K, "q3_k"),
    (GgmlType::Q4_K, "q4_k"),
    (GgmlType::Q5_K, "q5_k"),
    (GgmlType::Q6_K, "q6_k"),
    (GgmlType::IQ4_NL, "iq4_nl"),
    (GgmlType::IQ4_XS, "iq4_xs"),
    (GgmlType::MXFP4, "mxfp4"),
    (GgmlType::F16, "f16"),
    (GgmlType::BF16, "bf16"),
    (GgmlType::F32, "f32"),
];

/// The kernels read rows in chunks of this many values, threads in halves of chunks.
const CHUNK: usize = 32;
const HALF: usize = 16;
/// Up to this many tokens [`Matmul::matmul`] runs the GEMV, except where the int8 GEMM takes over
/// sooner (`mmq_from`).
const GEMV_MAX_T: usize = 16;
/// The int8 GEMM's time barely moves up to its 32-token tile while the int8 GEMV's grows with
/// each token group (H100, `gpu_matmul mmq_speed`, 2026-11-26, microseconds at t = 2 / 4 / 8):
/// 7B ffn_down Q6_K 3584 x 18944 GEMV 48 / 85 / 160 against GEMM 84 (its rows are too wide for
/// two tokens' activations in shared memory, so the GEMV reads the matrix once per token);
/// ffn_up Q4_K 18944 x 3584 GEMV 30 / 39 / 62 against 51-53; output Q6_K 152064 x 3584 GEMV 170
/// / 279 / 550 against 411. Matrices of fewer rows or columns (all of the 0.5B's, the 7B's
/// 3584-row ones) were as fast or faster on the GEMV up to 16 tokens. So: the GEMM from
/// MMQ_FROM_ONE_TOKEN tokens where the GEMV takes one token per block, and from MMQ_FROM_LARGE
/// for matrices of at least MMQ_LARGE_ROWS rows and MMQ_LARGE_COLS columns.
const MMQ_FROM_ONE_TOKEN: usize = 4;
const MMQ_FROM_LARGE: usize = 8;
const MMQ_LARGE_ROWS: usize = 8192;
const MMQ_LARGE_COLS: usize = 2048;
/// Tokens per GEMV block above one token (`rf_mm_gemv8_*`).
const GEMV_GROUP: usize = 8;
/// Rows per GEMV block (`GEMV_ROWS` in matmul.cu).
const GEMV_ROWS: usize = 4;
/// Warps per GEMV block (the float types' f32 GEMV): at least GEMV_MIN_WARPS (a sweep of an
/// earlier version of the kernel on an H200 favoured 4 on large matrices), more for matrices with
/// few rows, up to GEMV_MAX_WARPS (256 threads: more could ask for more registers than a block
/// has), so that the device holds about GEMV_WARPS_PER_SM warps, but never more than a row has
/// halves for. A function of the matrix alone, never of t: one token and groups of 8 then sum in
/// the same order, so a token's result does not depend on its batch.
const GEMV_MIN_WARPS: usize = 4;
const GEMV_MAX_WARPS: usize = 8;
const GEMV_WARPS_PER_SM: usize = 32;
/// Most tokens of one product: the grid's y dimension (65535) times the GEMV's token group.
const MAX_T: usize = 65535 * GEMV_GROUP;
/// GEMM tile (rows x tokens) and block size (`GEMM_BM`, `GEMM_BN`, `GEMM_THREADS` in matmul.cu).
const GEMM_BM: usize = 64;
const GEMM_BN: usize = 32;
const GEMM_THREADS: u32 = 128;
/// Threads per block of the row gather.
const ROWS_THREADS: u32 = 128;
/// From this many tokens [`Matmul::matmul`] uses the vendor BLAS when it is available: above
/// the largest captured decode step (64 sequences), so decode never depends on the library.
const BLAS_MIN_T: usize = 65;
/// Threads per block of the int8 GEMV (`Q8_THREADS` in gemv_q8.cu).
const Q8_THREADS: usize = 256;
/// Threads per multiprocessor the int8 GEMV wants busy before it lets a row take more than a
/// warp: rows split over warps only paid on matrices with few rows (an H200 sweep: 512 x 3584
/// Q4_K and 896 x 4864 Q6_K gained from 64 or 128 threads per row, 3584-row matrices lost).
const Q8_RESIDENT_PER_SM: usize = 256;
/// Rows from which the int8 GEMV computes 4 rows per team at a time (else 2).
const Q8_MANY_ROWS: usize = 8192;
/// Its kernels: (rows per warp, tokens per block), `rf_q8_gemv_r<R>_t<NT>_<type>`.
const Q8_VARIANTS: [(usize, usize); 9] = [(1, 1), (2, 1), (4, 1), (1, 2), (2, 2), (1, 4), (2, 4), (1, 8), (2, 8)];
/// Bytes a matrix's buffer holds past its last row: the int8 GEMV reads spans of rows in whole
/// 16-byte pieces.
const MATRIX_PAD: usize = 64;
/// Dynamic shared memory the int8 GEMV asks for at most (every device has 48 KiB per block; its
/// static reduction buffer takes up to 2 KiB).
const Q8_MAX_SHARED: usize = 46 << 10;

/// How the int8 GEMV reads a weight type (the constants of its struct in gemv_q8.cu).
#[derive(Clone, Copy, Debug)]
struct Q8Type {
    /// The activation encoding (the CPU's `act_type_for`).
    act: ActType,
    /// Bytes per weight block.
    bytes: usize,
    /// Units (the piece of a block one lane takes per step) per block.
    upb: usize,
    /// Whether a warp copies its rows' spans through shared memory (blocks not 8-byte aligned).
    staged: bool,
}

fn q8_type(ty: GgmlType) -> Option<Q8Type> {
    use GgmlType::*;
    let (act, bytes, upb, staged) = match ty {
        Q4_0 => (ActType::Q8_0, 18, 1, true),
        Q4_1 => (ActType::Q8_1, 20, 1, true),
        Q5_0 => (ActType::Q8_0, 22, 1, true),
        Q5_1 => (ActType::Q8_1, 24, 1, true),
        Q8_0 => (ActType::Q8_0, 34, 1, true),
        Q2_K => (ActType::Q8_K, 84, 4, true),
        Q3_K => (ActType::Q8_K, 110, 4, true),
        Q4_K => (ActType::Q8_K, 144, 8, false),
        Q5_K => (ActType::Q8_K, 176, 8, false),
        Q6_K => (ActType::Q8_K, 210, 4, true),
        IQ4_NL => (ActType::Q8_0, 18, 1, true),
        IQ4_XS => (ActType::Q8_K, 136, 8, false),
        MXFP4 => (ActType::Q8_0, 17, 1, true),
        _ => return None,
    };
    Some(Q8Type { act, bytes, upb, staged })
}

impl Q8Type {
    /// Values per weight block.
    fn values(&self) -> usize {
        if self.act == ActType::Q8_K {
            256
        } else {
            32
        }
    }

    /// Dynamic shared memory of a launch (`xs_bytes` and `stage_row` in gemv_q8.cu): the
    /// encoded activations of `nt` tokens, then `r` stage rows per warp for staged types.
    fn shared_bytes(&self, cols: usize, nt: usize, r: usize, warp: usize, threads: usize) -> usize {
        let (block, sumv) = if self.act == ActType::Q8_K { (256, 16) } else { (32, 32) };
        let r16 = |n: usize| n.div_ceil(16) * 16;
        let xs = nt * (cols.div_ceil(256) * 256 + r16(cols / block * 4) + r16(cols / sumv * 4));
        let stage_row = ((warp / self.upb) * self.bytes + 15 + 8).div_ceil(16) * 16;
        xs + if self.staged { (threads / warp) * r * stage_row } else { 0 }
    }
}

/// One launch of the int8 GEMV.
#[derive(Clone, Copy, Debug)]
struct Q8Launch {
    threads: usize,
    rows_per_team: usize,
    tokens: usize,
    threads_per_row: usize,
}

/// Launch shape of the int8 GEMV (for benchmarks; [`Matmul::matmul`] chooses its own).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemvConfig {
    /// Rows each team of threads computes at once: 1, 2 or 4 (with one token per block; 2
    /// otherwise), or 0 for the launcher's choice.
    pub rows_per_warp: usize,
    /// Blocks per multiprocessor the grid is capped at (its teams then loop over row groups).
    pub blocks_per_sm: usize,
    /// Threads per row (32, 64, 128 or 256), or 0 for the launcher's choice. It sets the order
    /// of a row's sum: anything but 0 makes results depend on this setting.
    pub threads_per_row: usize,
}

impl Default for GemvConfig {
    fn default() -> GemvConfig {
        GemvConfig { rows_per_warp: 0, blocks_per_sm: 2, threads_per_row: 0 }
    }
}

/// A weight matrix in device memory: `rows x cols` values of `ty` in the file's block encoding,
/// row r at `r * row_bytes` (not repacked).
pub struct GpuMatrix {
    ty: GgmlType,
    rows: usize,
    cols: usize,
    bytes: usize,
    data: DeviceBuffer<u8>, // [rows * row_bytes + MATRIX_PAD], the padding zero
}

impl GpuMatrix {
    /// Copies `w` to the device (waits for the copy). Fails for a type without kernels
    /// ([`Matmul::supports`]), for `cols` not a multiple of 32 (every quantized type's rows are;
    /// plain-float matrices of other widths are not supported), for sizes over the kernels'
    /// 32-bit indices, and for a view whose bytes do not match its shape.
    pub fn upload(gpu: &Gpu, w: &WeightView, what: &str) -> Result<GpuMatrix> {
        let mut m = GpuMatrix::alloc(gpu, w, what)?;
        m.data.write_at(gpu.stream(), 0, w.data)?;
        Ok(m)
    }

    /// The same through `up`, whose copies may still be running when this returns (a model's
    /// matrices are queued one after the other, then [`Uploader::finish`] waits for them all).
    pub fn upload_via(up: &mut Uploader, gpu: &Gpu, w: &WeightView, what: &str) -> Result<GpuMatrix> {
        let mut m = GpuMatrix::alloc(gpu, w, what)?;
        up.write(&mut m.data, w.data)?;
        Ok(m)
    }

    /// The checked shape and a zeroed device buffer for `w`.
    fn alloc(gpu: &Gpu, w: &WeightView, what: &str) -> Result<GpuMatrix> {
        let bad = |why: String| Err(GpuError::Invalid(format!("{what}: {why}")));
        if !Matmul::supports(w.ty) {
            return bad(format!("no GPU matmul kernel for type {}", w.ty));
        }
        if w.rows == 0 || w.cols == 0 || !w.cols.is_multiple_of(CHUNK) {
            return bad(format!("a {} x {} matrix: cols must be a positive multiple of {CHUNK}", w.rows, w.cols));
        }
        if i32::try_from(w.rows).is_err() || i32::try_from(w.cols).is_err() {
            return bad(format!("a {} x {} matrix is over the kernels' 2^31 - 1 rows or columns", w.rows, w.cols));
        }
        let row_bytes = w.ty.bytes_for(w.cols as u64).map(|b| b as usize);
        if row_bytes.and_then(|b| b.checked_mul(w.rows)) != Some(w.data.len()) {
            return bad(format!("{} bytes do not hold {} rows of {} {} values", w.data.len(), w.rows, w.cols, w.ty));
        }
        let mut data = gpu.alloc(w.data.len() + MATRIX_PAD, what)?;
        data.fill_bytes(gpu.stream(), 0)?;
        Ok(GpuMatrix { ty: w.ty, rows: w.rows, cols: w.cols, bytes: w.data.len(), data })
    }

    pub fn ty(&self) -> GgmlType {
        self.ty
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes of the weights (as in the file).
    pub fn size_bytes(&self) -> u64 {
        self.bytes as u64
    }

    /// The name given at upload.
    pub fn what(&self) -> &str {
        self.data.what()
    }
}

impl std::fmt::Debug for GpuMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuMatrix({} {} x {} {})", self.what(), self.rows, self.cols, self.ty)
    }
}

/// Every weight type with GPU kernels.
fn all_types() -> Vec<GgmlType> {
    TYPES.iter().map(|(ty, _)| *ty).collect()
}

/// The kernels of one weight type.
struct TypeKernels {
    gemv1: Kernel,
    gemv8: Kernel,
    gemm: Kernel,
    rows: Kernel,
    /// The int8 GEMV, per entry of Q8_VARIANTS (quantized types only).
    q8: Option<(Q8Type, Vec<Kernel>)>,
}

/// The two ways to compute a product (normally chosen by [`Matmul::matmul`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulKernel {
    /// Rows split over the threads of a block; each weight byte read once per 8 tokens.
    Gemv,
    /// 64-row x 32-token tiles through shared memory; each weight byte read once per 32 tokens.
    Gemm,
    /// The int8 GEMM of the quantized types (`mmq.rs`): activations encoded as the GEMV encodes
    /// them, 64-row x 32-token tiles on the int8 matrix cores.
    Mmq,
    /// The vendor BLAS (cuBLAS / hipBLAS GemmEx) on the weights dequantized to f16 and the
    /// activations rounded to f16, with f32 accumulation: matrix cores, for prefill.
    Blas,
}

/// The compiled matmul module: kernels for every type of [`Matmul::supports`], and the vendor
/// BLAS, loaded on the first product that wants it.
pub struct Matmul {
    kernels: Vec<Option<TypeKernels>>, // indexed like TYPES; None: a type not built (for_types)
    warp: usize,
    sms: usize,
    gpu: Gpu,
    use_blas: bool,
    blas_limits: (usize, usize),
    blas: OnceLock<std::result::Result<Blas, String>>,
    max_shared: usize,
    /// The int8 GEMV of two types in one launch, per entry of `gemv_fused::Q8_PAIRS` (None: a
    /// pair not built), per entry of Q8_VARIANTS.
    q8_pairs: Vec<Option<Vec<Kernel>>>,
    mmq: Mmq,
}

impl Matmul {
    /// Compiles (or takes from the kernel cache) and loads the kernels. Large products use the
    /// vendor BLAS if it loads and passes its self-check, unless `ROCMFORGE_NO_BLAS=1`.
    pub fn new(gpu: &Gpu) -> Result<Matmul> {
        Matmul::for_types(gpu, &all_types())
    }

    /// As [`Matmul::new`], with the kernels of the weight types `types` only (a model's: a first
    /// run compiles a fraction of them); products of other types are errors.
    pub fn for_types(gpu: &Gpu, types: &[GgmlType]) -> Result<Matmul> {
        let off = std::env::var("ROCMFORGE_NO_BLAS").is_ok_and(|v| v == "1");
        Matmul::build(gpu, !off, (W_SCRATCH, X_SCRATCH), false, types)
    }

    /// As [`Matmul::new`], with the vendor BLAS allowed or not.
    pub fn with_blas(gpu: &Gpu, use_blas: bool) -> Result<Matmul> {
        Matmul::with_blas_scratch(gpu, use_blas, W_SCRATCH, X_SCRATCH)
    }

    /// As [`Matmul::with_blas`], with the BLAS path's scratch buffers limited to `w_values` f16
    /// weights and `x_values` f16 activations (products beyond go in chunks of rows and of
    /// tokens; tests use small limits to exercise the chunking).
    pub fn with_blas_scratch(gpu: &Gpu, use_blas: bool, w_values: usize, x_values: usize) -> Result<Matmul> {
        Matmul::build(gpu, use_blas, (w_values, x_values), false, &all_types())
    }

    /// As [`Matmul::with_blas`], with the int8 GEMM's portable (dp4a) path, which devices without
    /// int8 matrix cores run, also where matrix cores exist (to test it).
    #[doc(hidden)]
    pub fn with_portable_mmq(gpu: &Gpu, use_blas: bool) -> Result<Matmul> {
        Matmul::build(gpu, use_blas, (W_SCRATCH, X_SCRATCH), true, &all_types())
    }

    fn build(
        gpu: &Gpu,
        use_blas: bool,
        blas_limits: (usize, usize),
        portable_mmq: bool,
        types: &[GgmlType],
    ) -> Result<Matmul> {
        // Each wanted type's part of matmul.cu, of gemv_q8.cu (quantized types, and the pairs
        // of two wanted types) and of the int8 GEMM, compiled side by side.
        let chosen: Vec<(GgmlType, &str)> = TYPES.iter().filter(|(ty, _)| types.contains(ty)).copied().collect();
        let pairs: Vec<&str> = gemv_fused::Q8_PAIRS
            .iter()
            .filter(|(a, b, _)| types.contains(a) && types.contains(b))
            .map(|p| p.2)
            .collect();
        let q8_names: Vec<&str> =
            chosen.iter().filter(|(ty, _)| q8_type(*ty).is_some()).map(|(_, s)| *s).chain(pairs).collect();
        let mut sources: Vec<KernelSource> = chosen.iter().map(|(_, s)| kernels::MATMUL.part(s)).collect();
        sources.extend(q8_names.iter().map(|s| kernels::GEMV_Q8.part(s)));
        sources.extend(Mmq::sources(portable_mmq, types));
        let mut modules = gpu.compile_all(&sources)?.into_iter();
        let type_modules: Vec<Module> = modules.by_ref().take(chosen.len()).collect();
        let q8_modules: Vec<(&str, Module)> = q8_names.iter().copied().zip(modules.by_ref()).collect();
        let q8_kernels = |s: &str| -> Option<Result<Vec<Kernel>>> {
            let (_, m) = q8_modules.iter().find(|(n, _)| *n == s)?;
            Some(Q8_VARIANTS.iter().map(|(r, nt)| m.kernel(&format!("rf_q8_gemv_r{r}_t{nt}_{s}"))).collect())
        };
        let kernels = TYPES
            .iter()
            .map(|&(ty, s)| {
                let Some(i) = chosen.iter().position(|(c, _)| *c == ty) else { return Ok(None) };
                let module = &type_modules[i];
                let q8 = match q8_type(ty) {
                    Some(q) => Some((q, q8_kernels(s).transpose()?.unwrap_or_default())),
                    None => None,
                };
                Ok(Some(TypeKernels {
                    gemv1: module.kernel(&format!("rf_mm_gemv1_{s}"))?,
                    gemv8: module.kernel(&format!("rf_mm_gemv8_{s}"))?,
                    gemm: module.kernel(&format!("rf_mm_gemm_{s}"))?,
                    rows: module.kernel(&format!("rf_mm_rows_{s}"))?,
                    q8,
                }))
            })
            .collect::<Result<_>>()?;
        let q8_pairs = gemv_fused::Q8_PAIRS.iter().map(|(_, _, s)| q8_kernels(s).transpose()).collect::<Result<_>>()?;
        let mmq = Mmq::new(gpu, modules.collect(), types)?;
        let info = gpu.info();
        Ok(Matmul {
            kernels,
            warp: info.warp_size as usize,
            sms: info.multiprocessors as usize,
            gpu: gpu.clone(),
            use_blas,
            blas_limits,
            blas: OnceLock::new(),
            max_shared: info.max_shared_memory_per_block as usize,
            q8_pairs,
            mmq,
        })
    }

    /// The vendor BLAS, loaded (and self-checked) on first use; `None` when it is not allowed
    /// or not usable.
    fn blas(&self) -> Option<&Blas> {
        if !self.use_blas {
            return None;
        }
        self.blas
            .get_or_init(|| Blas::new(&self.gpu, &TYPES, self.blas_limits).map_err(|e| e.to_string()))
            .as_ref()
            .ok()
    }

    /// Whether large products run on the vendor BLAS, and which library or why not (loads it).
    pub fn blas_status(&self) -> std::result::Result<String, String> {
        if !self.use_blas {
            return Err("not allowed (ROCMFORGE_NO_BLAS=1)".into());
        }
        match self.blas.get_or_init(|| Blas::new(&self.gpu, &TYPES, self.blas_limits).map_err(|e| e.to_string())) {
            Ok(b) => Ok(b.describe()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Whether the kernels read weights of type `ty`.
    pub fn supports(ty: GgmlType) -> bool {
        TYPES.iter().any(|(t, _)| *t == ty)
    }

    /// How the GEMV encodes the activations of a product with `w`: as the CPU backend does for
    /// the weight type (`Some`, the quantized types), or not at all (`None`: f32, the float
    /// types). The int8 GEMM ([`MatmulKernel::Mmq`]) encodes them the same way; the f32 GEMM keeps
    /// f32 activations.
    pub fn gemv_activations(&self, w: &GpuMatrix) -> Option<ActType> {
        let (q, _) = self.kernels_for(w).ok()?.q8.as_ref()?;
        self.q8_block_threads(q, w.cols).map(|_| q.act)
    }

    /// Threads per block of the int8 GEMV for a matrix of `cols` columns: 256, or 128 when the
    /// shared memory of 256 does not fit (`None` when neither does: then the f32 GEMV runs). A
    /// function of the matrix alone, as the threads per row (at most a block) must be.
    fn q8_block_threads(&self, q: &Q8Type, cols: usize) -> Option<usize> {
        let limit = Q8_MAX_SHARED.min(self.max_shared);
        [Q8_THREADS, Q8_THREADS / 2]
            .into_iter()
            .find(|&threads| q.shared_bytes(cols, 1, 1, self.warp, threads) <= limit)
    }

    /// The launch for `t` tokens of `w`, or `None` when the int8 GEMV cannot take the matrix.
    /// Rows per team and tokens per block never change a token's result, only the speed.
    fn q8_launch(&self, q: &Q8Type, w: &GpuMatrix, t: usize, cfg: GemvConfig) -> Result<Option<Q8Launch>> {
        let Some(threads) = self.q8_block_threads(q, w.cols) else { return Ok(None) };
        let threads_per_row = match cfg.threads_per_row {
            0 => self.q8_threads_per_row(q, w, threads),
            n if n.is_power_of_two() && (self.warp..=threads).contains(&n) => n,
            n => {
                return Err(GpuError::Invalid(format!(
                    "{n} threads per row: not a power of two from a warp to a block"
                )))
            }
        };
        let limit = Q8_MAX_SHARED.min(self.max_shared);
        let fits = |tokens: usize, r: usize| {
            let shared = q.shared_bytes(w.cols, tokens, r, self.warp, threads);
            (shared <= limit).then_some(Q8Launch { threads, rows_per_team: r, tokens, threads_per_row })
        };
        // One token: 4 rows per team on matrices of many rows (an H200 streamed a 18944-row Q4_K
        // matrix at 2.2 TB/s against 2.0 with 2; smaller ones were as fast or slower), else 2; fewer
        // if the stage does not fit (1 does).
        let rows_per_team = match cfg.rows_per_warp {
            0 if w.rows >= Q8_MANY_ROWS => 4,
            0 => 2,
            r => r,
        };
        let one = [rows_per_team, 2, 1].into_iter().filter(|r| *r <= rows_per_team).find_map(|r| fits(1, r));
        if t == 1 {
            return Ok(one);
        }
        // More: up to 8 tokens per block (each weight byte read once per group), 2 rows per team
        // or 1 where that does not fit.
        let want = t.next_power_of_two().min(8);
        Ok([8, 4, 2].into_iter().filter(|nt| *nt <= want).find_map(|nt| fits(nt, 2).or_else(|| fits(nt, 1))).or(one))
    }

    /// Threads that share a row in the int8 GEMV: a warp, or more (up to a block of `threads`)
    /// when the matrix has too few rows (in pairs) to give every thread of the device work, as
    /// long as each warp of the row keeps a unit. A function of the matrix alone: it fixes the
    /// order of a row's sum.
    fn q8_threads_per_row(&self, q: &Q8Type, w: &GpuMatrix, threads: usize) -> usize {
        let units = w.cols / q.values() * q.upb;
        let (groups, resident) = (w.rows.div_ceil(2), self.sms * Q8_RESIDENT_PER_SM);
        let mut tpr = self.warp;
        while tpr < threads && groups * tpr < resident && 2 * tpr <= units.next_multiple_of(self.warp) {
            tpr *= 2;
        }
        tpr
    }

    /// From how many tokens the int8 GEMM serves `w` rather than the GEMV (see MMQ_FROM_LARGE):
    /// a function of the matrix alone. The matrices of a fused launch share their columns, and
    /// gate/up their rows too, so they choose alike; a group that mixes the two kernels (Q/K/V
    /// with Q past MMQ_LARGE_ROWS and K/V not) runs the separate kernels.
    fn mmq_from(&self, w: &GpuMatrix) -> usize {
        let q8 = self.kernels_for(w).ok().and_then(|k| k.q8.as_ref());
        let group = q8.and_then(|(q, _)| self.q8_launch(q, w, MMQ_FROM_LARGE, GemvConfig::default()).ok().flatten());
        if group.is_some_and(|l| l.tokens == 1) {
            MMQ_FROM_ONE_TOKEN
        } else if w.rows >= MMQ_LARGE_ROWS && w.cols >= MMQ_LARGE_COLS {
            MMQ_FROM_LARGE
        } else {
            GEMV_MAX_T + 1
        }
    }

    fn check_args(&self, w: &GpuMatrix, x: &DeviceBuffer<f32>, t: usize, y: &DeviceBuffer<f32>) -> Result<()> {
        let bad = |why: String| Err(GpuError::Invalid(format!("matmul with {}: {why}", w.what())));
        if t > MAX_T {
            return bad(format!("{t} tokens is over the kernels' limit of {MAX_T}"));
        }
        if t.checked_mul(w.cols).is_none_or(|n| x.len() < n) {
            return bad(format!("x ({}) holds {} values, needs {t} x {}", x.what(), x.len(), w.cols));
        }
        if t.checked_mul(w.rows).is_none_or(|n| y.len() < n) {
            return bad(format!("y ({}) holds {} values, needs {t} x {}", y.what(), y.len(), w.rows));
        }
        Ok(())
    }

    fn kernels_for(&self, w: &GpuMatrix) -> Result<&TypeKernels> {
        TYPES
            .iter()
            .position(|(t, _)| *t == w.ty)
            .and_then(|i| self.kernels.get(i)?.as_ref())
            .ok_or_else(|| GpuError::Invalid(format!("{}: no GPU matmul kernel built for type {}", w.what(), w.ty)))
    }

    /// The kernel [`Matmul::matmul`] runs for `t` tokens of `w`: the vendor BLAS from BLAS_MIN_T
    /// tokens when it is usable; else our own (`own_kernel_for`).
    pub fn kernel_for(&self, w: &GpuMatrix, t: usize) -> MatmulKernel {
        if t >= BLAS_MIN_T && self.blas().is_some() {
            MatmulKernel::Blas
        } else {
            self.own_kernel_for(w, t)
        }
    }

    /// The choice among our own kernels: up to GEMV_MAX_T tokens the GEMV (the int8 GEMM from
    /// `mmq_from` on); beyond, the int8 GEMM for the quantized types, else the f32 GEMM once its
    /// grid has at least one block per multiprocessor (a smaller GEMM grid leaves most of the
    /// device idle: on an H200 the GEMV stayed faster up to t = 130 on an 896-row matrix;
    /// tests/gpu_matmul.rs `speed` prints both).
    fn own_kernel_for(&self, w: &GpuMatrix, t: usize) -> MatmulKernel {
        let gemm_blocks = w.rows.div_ceil(GEMM_BM) * t.div_ceil(GEMM_BN);
        if t <= GEMV_MAX_T && (t < self.mmq_from(w) || !Mmq::supports(w.ty)) {
            MatmulKernel::Gemv
        } else if Mmq::supports(w.ty) {
            MatmulKernel::Mmq
        } else if gemm_blocks >= self.sms {
            MatmulKernel::Gemm
        } else {
            MatmulKernel::Gemv
        }
    }

    /// y[i, r] = sum_c x[i, c] * W[r, c] for i < t, r < w.rows(); x holds at least t*cols f32
    /// (row-major [t, cols]), y at least t*rows (row-major [t, rows]). Asynchronous on `stream`.
    /// `t == 0` does nothing. A product the vendor BLAS cannot do (its scratch buffers did not
    /// fit in device memory, say) runs on our own kernels instead, which rewrite all of y.
    // hot: every projection of every layer.
    pub fn matmul(
        &self,
        stream: &Stream,
        w: &GpuMatrix,
        x: &DeviceBuffer<f32>,
        t: usize,
        y: &mut DeviceBuffer<f32>,
    ) -> Result<()> {
        match self.kernel_for(w, t) {
            MatmulKernel::Blas => match self.matmul_with(MatmulKernel::Blas, stream, w, x, t, y) {
                Err(_) => self.matmul_with(self.own_kernel_for(w, t), stream, w, x, t, y),
                ok => ok,
            },
            own => self.matmul_with(own, stream, w, x, t, y),
        }
    }

    /// [`Matmul::matmul`] with the kernel chosen by the caller (for tests and benchmarks).
    pub fn matmul_with(
        &self,
        kernel: MatmulKernel,
        stream: &Stream,
        w: &GpuMatrix,
        x: &DeviceBuffer<f32>,
        t: usize,
        y: &mut DeviceBuffer<f32>,
    ) -> Result<()> {
        if t == 0 {
            return Ok(());
        }
        let k = self.kernels_for(w)?;
        self.check_args(w, x, t, y)?;
        if kernel == MatmulKernel::Gemv && self.gemv_q8_with(GemvConfig::default(), stream, w, x, t, y)? {
            return Ok(());
        }
        if kernel == MatmulKernel::Mmq {
            if !Mmq::supports(w.ty) {
                return Err(GpuError::Invalid(format!("matmul with {}: no int8 GEMM for type {}", w.what(), w.ty)));
            }
            return self.mmq.matmul(stream, w.ty, &w.data, w.rows, w.cols, x, t, y);
        }
        if kernel == MatmulKernel::Blas {
            let Some(blas) = self.blas() else {
                let why = self.blas_status().err().unwrap_or_default();
                return Err(GpuError::Invalid(format!(
                    "matmul with {}: the vendor BLAS is not usable: {why}",
                    w.what()
                )));
            };
            return blas.matmul(stream, w.ty, &w.data, w.rows, w.cols, x, t, y);
        }
        let args = crate::gpu_args![&w.data, x, y, w.rows as i32, w.cols as i32, t as i32];
        match kernel {
            MatmulKernel::Gemv => {
                let (kernel, group) = if t == 1 { (&k.gemv1, 1) } else { (&k.gemv8, GEMV_GROUP) };
                let row_blocks = blocks(w.rows, GEMV_ROWS)?;
                let warps = (GEMV_WARPS_PER_SM * self.sms)
                    .div_ceil(row_blocks as usize)
                    .clamp(GEMV_MIN_WARPS, GEMV_MAX_WARPS)
                    .min((w.cols / HALF).div_ceil(self.warp));
                let cfg = LaunchConfig::new([row_blocks, blocks(t, group)?, 1], [(warps * self.warp) as u32, 1, 1]);
                kernel.launch(stream, cfg, &args)
            }
            // (Blas and Mmq returned above.)
            MatmulKernel::Gemm | MatmulKernel::Blas | MatmulKernel::Mmq => {
                let grid = [blocks(w.rows, GEMM_BM)?, blocks(t, GEMM_BN)?, 1];
                k.gemm.launch(stream, LaunchConfig::new(grid, [GEMM_THREADS, 1, 1]), &args)
            }
        }
    }

    /// out[i, :] = dequant(W[ids[i], :]) * scale for i < n (embedding lookup), exactly as
    /// `gguf::quants::dequantize` and an f32 product; out is row-major [n, cols]. ids are checked
    /// by the caller to be < rows (an id out of range gives a row of NaN, never a read out of
    /// bounds). `n == 0` does nothing.
    pub fn get_rows(
        &self,
        stream: &Stream,
        w: &GpuMatrix,
        ids: &DeviceBuffer<u32>,
        n: usize,
        scale: f32,
        out: &mut DeviceBuffer<f32>,
    ) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let k = self.kernels_for(w)?;
        let bad = |why: String| Err(GpuError::Invalid(format!("get_rows of {}: {why}", w.what())));
        if ids.len() < n {
            return bad(format!("ids ({}) holds {} ids, needs {n}", ids.what(), ids.len()));
        }
        if n.checked_mul(w.cols).is_none_or(|m| out.len() < m) {
            return bad(format!("out ({}) holds {} values, needs {n} x {}", out.what(), out.len(), w.cols));
        }
        let cfg = LaunchConfig::rows(blocks(n, 1)?, ROWS_THREADS);
        let args = crate::gpu_args![&w.data, ids, out, w.rows as i32, w.cols as i32, scale];
        k.rows.launch(stream, cfg, &args)
    }
}

/// ceil(n / per) blocks, as a grid dimension.
fn blocks(n: usize, per: usize) -> Result<u32> {
    u32::try_from(n.div_ceil(per)).map_err(|_| GpuError::Invalid(format!("{n} items need too many blocks")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every part the host compiles has its guard in the source (a part without one would
    /// compile no entry points and fail only when its kernels are looked up on a device).
    #[test]
    fn every_part_has_its_guard() {
        let guarded = |src: &KernelSource, part: &str| src.source.contains(&format!("defined(RF_PART_{part})"));
        for (_, s) in TYPES {
            assert!(guarded(&kernels::MATMUL, s), "matmul.cu has no part {s}");
        }
        let q8 = TYPES.iter().filter(|(ty, _)| q8_type(*ty).is_some()).map(|(_, s)| *s);
        for s in q8.chain(gemv_fused::Q8_PAIRS.iter().map(|p| p.2)) {
            assert!(guarded(&kernels::GEMV_Q8, s), "gemv_q8.cu has no part {s}");
        }
        for src in Mmq::sources(false, &all_types()) {
            let part = src.name.trim_end_matches(']').rsplit('[').next().unwrap_or_default().to_string();
            assert!(guarded(&kernels::MMQ, &part), "mmq.cu has no part {part}");
        }
    }
}
