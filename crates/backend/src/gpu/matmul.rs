//! Products of f32 activations with a quantized weight matrix, and embedding-row gathers, on the
//! GPU (kernels in `kernels/matmul.cu`), for every weight type of the CPU backend.
//!
//! Weights stay in the file's block encoding. A product of few tokens runs a GEMV (each weight
//! byte read once per group of up to 8 tokens), more tokens a tiled GEMM; both accumulate in f32.
//! Large products (prefill) go to the vendor BLAS when it is installed ([`MatmulKernel::Blas`]:
//! weights dequantized to f16, f16 activations, f32 accumulation on the matrix cores).

use std::sync::OnceLock;

use gguf::GgmlType;

use super::blas::{Blas, W_SCRATCH, X_SCRATCH};
use super::{kernels, DeviceBuffer, Gpu, GpuError, Kernel, LaunchConfig, Result, Stream};
use crate::WeightView;

/// The weight types the kernels read, and the suffix of their kernel names.
const TYPES: [(GgmlType, &str); 16] = [
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
/// Up to this many tokens [`Matmul::matmul`] always runs the GEMV (it was faster than the GEMM
/// on every shape measured).
const GEMV_MAX_T: usize = 16;
/// Tokens per GEMV block above one token (`rf_mm_gemv8_*`).
const GEMV_GROUP: usize = 8;
/// Rows per GEMV block (`GEMV_ROWS` in matmul.cu).
const GEMV_ROWS: usize = 4;
/// Warps per GEMV block: at least GEMV_MIN_WARPS (a sweep of an earlier version of the kernel
/// on an H200 favoured 4 on large matrices), more for matrices with few rows, up to
/// GEMV_MAX_WARPS, so that the device holds about GEMV_WARPS_PER_SM warps, but never more than
/// a row has halves for. A function of the matrix alone, never of t: one token and groups of 8
/// then sum in the same order, so a token's result does not depend on its batch.
const GEMV_MIN_WARPS: usize = 4;
const GEMV_MAX_WARPS: usize = 16;
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

/// A weight matrix in device memory: `rows x cols` values of `ty` in the file's block encoding,
/// row r at `r * row_bytes` (not repacked).
pub struct GpuMatrix {
    ty: GgmlType,
    rows: usize,
    cols: usize,
    data: DeviceBuffer<u8>, // [rows * row_bytes]
}

impl GpuMatrix {
    /// Copies `w` to the device (waits for the copy). Fails for a type without kernels
    /// ([`Matmul::supports`]), for `cols` not a multiple of 32 (every quantized type's rows are;
    /// plain-float matrices of other widths are not supported), for sizes over the kernels'
    /// 32-bit indices, and for a view whose bytes do not match its shape.
    pub fn upload(gpu: &Gpu, w: &WeightView, what: &str) -> Result<GpuMatrix> {
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
        Ok(GpuMatrix { ty: w.ty, rows: w.rows, cols: w.cols, data: gpu.upload(w.data, what)? })
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

    /// Device memory the weights take.
    pub fn size_bytes(&self) -> u64 {
        self.data.size_bytes()
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

/// The kernels of one weight type.
struct TypeKernels {
    gemv1: Kernel,
    gemv8: Kernel,
    gemm: Kernel,
    rows: Kernel,
}

/// The two ways to compute a product (normally chosen by [`Matmul::matmul`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulKernel {
    /// Rows split over the threads of a block; each weight byte read once per 8 tokens.
    Gemv,
    /// 64-row x 32-token tiles through shared memory; each weight byte read once per 32 tokens.
    Gemm,
    /// The vendor BLAS (cuBLAS / hipBLAS GemmEx) on the weights dequantized to f16 and the
    /// activations rounded to f16, with f32 accumulation: matrix cores, for prefill.
    Blas,
}

/// The compiled matmul module: kernels for every type of [`Matmul::supports`], and the vendor
/// BLAS, loaded on the first product that wants it.
pub struct Matmul {
    kernels: Vec<TypeKernels>, // indexed like TYPES
    warp: usize,
    sms: usize,
    gpu: Gpu,
    use_blas: bool,
    blas_limits: (usize, usize),
    blas: OnceLock<std::result::Result<Blas, String>>,
}

impl Matmul {
    /// Compiles (or takes from the kernel cache) and loads the kernels. Large products use the
    /// vendor BLAS if it loads and passes its self-check, unless `ROCMFORGE_NO_BLAS=1`.
    pub fn new(gpu: &Gpu) -> Result<Matmul> {
        let off = std::env::var("ROCMFORGE_NO_BLAS").is_ok_and(|v| v == "1");
        Matmul::with_blas(gpu, !off)
    }

    /// As [`Matmul::new`], with the vendor BLAS allowed or not.
    pub fn with_blas(gpu: &Gpu, use_blas: bool) -> Result<Matmul> {
        Matmul::with_blas_scratch(gpu, use_blas, W_SCRATCH, X_SCRATCH)
    }

    /// As [`Matmul::with_blas`], with the BLAS path's scratch buffers limited to `w_values` f16
    /// weights and `x_values` f16 activations (products beyond go in chunks of rows and of
    /// tokens; tests use small limits to exercise the chunking).
    pub fn with_blas_scratch(gpu: &Gpu, use_blas: bool, w_values: usize, x_values: usize) -> Result<Matmul> {
        let module = gpu.compile(&kernels::MATMUL)?;
        let kernels = TYPES
            .iter()
            .map(|(_, s)| {
                Ok(TypeKernels {
                    gemv1: module.kernel(&format!("rf_mm_gemv1_{s}"))?,
                    gemv8: module.kernel(&format!("rf_mm_gemv8_{s}"))?,
                    gemm: module.kernel(&format!("rf_mm_gemm_{s}"))?,
                    rows: module.kernel(&format!("rf_mm_rows_{s}"))?,
                })
            })
            .collect::<Result<_>>()?;
        let info = gpu.info();
        Ok(Matmul {
            kernels,
            warp: info.warp_size as usize,
            sms: info.multiprocessors as usize,
            gpu: gpu.clone(),
            use_blas,
            blas_limits: (w_values, x_values),
            blas: OnceLock::new(),
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

    fn kernels_for(&self, w: &GpuMatrix) -> Result<&TypeKernels> {
        TYPES
            .iter()
            .position(|(t, _)| *t == w.ty)
            .and_then(|i| self.kernels.get(i))
            .ok_or_else(|| GpuError::Invalid(format!("{}: no GPU matmul kernel for type {}", w.what(), w.ty)))
    }

    /// The kernel [`Matmul::matmul`] runs for `t` tokens of `w`: the vendor BLAS from BLAS_MIN_T
    /// tokens when it is usable; else the GEMM once it has more than
    /// GEMV_MAX_T tokens and a grid of at least one block per multiprocessor, else the GEMV.
    /// A smaller GEMM grid leaves most of the device idle: on an H200 the GEMV stayed faster up
    /// to t = 130 on an 896-row matrix (14 row tiles); the GEMM won from t = 64 on 4864 rows and
    /// from t = 33 on 18944 (tests/gpu_matmul.rs `speed` prints both).
    pub fn kernel_for(&self, w: &GpuMatrix, t: usize) -> MatmulKernel {
        if t >= BLAS_MIN_T && self.blas().is_some() {
            MatmulKernel::Blas
        } else {
            self.own_kernel_for(w, t)
        }
    }

    /// The choice among our own kernels.
    fn own_kernel_for(&self, w: &GpuMatrix, t: usize) -> MatmulKernel {
        let gemm_blocks = w.rows.div_ceil(GEMM_BM) * t.div_ceil(GEMM_BN);
        if t > GEMV_MAX_T && gemm_blocks >= self.sms {
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
        if kernel == MatmulKernel::Blas {
            let Some(blas) = self.blas() else {
                let why = self.blas_status().err().unwrap_or_default();
                return bad(format!("the vendor BLAS is not usable: {why}"));
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
            // (Blas returned above.)
            MatmulKernel::Gemm | MatmulKernel::Blas => {
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
