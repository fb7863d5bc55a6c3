//! Large products (prefill) on the vendor BLAS's matrix cores: the weight matrix is dequantized
//! to f16 into a scratch buffer by our own decoders (`kernels/dequant.cu`), the activations are
//! converted to f16, and GemmEx multiplies them with f32 accumulation into the f32 output.
//!
//! Optional: [`Matmul`](super::Matmul) loads it on its first large product, and keeps its own
//! GEMM when the library is missing, fails to start, or fails its self-check (a tiny product
//! with a known exact answer, which also catches an enum set that does not match the library).

use std::sync::{Arc, Mutex};

use gguf::GgmlType;
use half::f16;

use super::ffi::{BlasLib, GemmEx, Handle};
use super::{kernels, DeviceBuffer, Gpu, GpuError, Kernel, LaunchConfig, Result, Stream};

/// Workspace handed to the library (cuBLAS asks for 32 MiB on Hopper), so that it never
/// allocates device memory itself.
const WORKSPACE_BYTES: usize = 32 << 20;
/// Most f16 values of the weight scratch (256 MiB: every projection of a 7B/8B model fits; the
/// output matrix does not): a larger matrix is dequantized and multiplied in chunks of rows.
pub(crate) const W_SCRATCH: usize = 1 << 27;
/// Most f16 values of the activation scratch (64 MiB): more tokens go in chunks of tokens.
pub(crate) const X_SCRATCH: usize = 1 << 25;
/// Threads per block of the conversion kernels.
const THREADS: u32 = 256;

/// Scratch buffers, grown on demand, and the stream whose work last used them.
#[derive(Default)]
struct Scratch {
    w: Option<DeviceBuffer<f16>>, // [rows of a chunk, cols]
    x: Option<DeviceBuffer<f16>>, // [tokens of a chunk, cols]
    stream: Option<Stream>,
}

/// A BLAS handle on one device with the conversion kernels.
pub(crate) struct Blas {
    gpu: Gpu,
    lib: Arc<BlasLib>,
    handle: Handle,
    _workspace: Option<DeviceBuffer<u8>>,
    to_f16: Kernel,
    dequant: Vec<(GgmlType, Kernel)>,
    scratch: Mutex<Scratch>,
    limits: (usize, usize), // most f16 values of the weight and activation scratch
}

impl Blas {
    /// Loads the library, creates a handle, compiles the dequantization kernels for `types`
    /// (`(type, kernel name suffix)`) and runs the self-check. `limits`: the most f16 values of
    /// the weight and activation scratch buffers (W_SCRATCH, X_SCRATCH).
    pub(crate) fn new(gpu: &Gpu, types: &[(GgmlType, &str)], limits: (usize, usize)) -> Result<Blas> {
        let lib = gpu.runtime().blas()?;
        let module = gpu.compile(&kernels::DEQUANT)?;
        let dequant = types
            .iter()
            .map(|&(ty, s)| Ok((ty, module.kernel(&format!("rf_dq_f16_{s}"))?)))
            .collect::<Result<Vec<_>>>()?;
        let to_f16 = module.kernel("rf_f32_to_f16_sat")?;
        gpu.inner().bind()?;
        let handle = lib.create()?;
        let mut blas = Blas {
            gpu: gpu.clone(),
            lib,
            handle,
            _workspace: None,
            to_f16,
            dequant,
            scratch: Mutex::default(),
            limits: (limits.0.max(1), limits.1.max(1)),
        };
        if blas.lib.has_set_workspace() {
            let ws = gpu.alloc::<u8>(WORKSPACE_BYTES, "BLAS workspace")?;
            blas.lib.set_workspace(blas.handle, ws.device_ptr(), WORKSPACE_BYTES)?;
            blas._workspace = Some(ws);
        }
        blas.self_check()?;
        Ok(blas)
    }

    /// A description for diagnostics: library file and GemmEx symbol.
    pub(crate) fn describe(&self) -> String {
        format!("{} ({}, {:?} enums)", self.lib.path().display(), self.lib.gemm_symbol(), self.lib.enums())
    }

    /// A 16 x 64 f16 weight times 8 tokens, all small integers, so every product and sum is
    /// exact in f16 and f32: any other answer means the library does not take what we pass.
    fn self_check(&self) -> Result<()> {
        let (rows, cols, t) = (16usize, 64usize, 8usize);
        let w: Vec<f16> =
            (0..rows * cols).map(|i| f16::from_f32(((i / cols * 7 + i % cols * 3) % 9) as f32 - 4.0)).collect();
        let x: Vec<f32> = (0..t * cols).map(|i| ((i / cols * 5 + i % cols) % 7) as f32 - 3.0).collect();
        let s = self.gpu.stream();
        let dw = self.gpu.upload(&w, "BLAS self-check weights")?;
        let dx = self.gpu.upload(&x, "BLAS self-check activations")?;
        let mut dx16 = self.gpu.alloc::<f16>(t * cols, "BLAS self-check f16 activations")?;
        let mut dy = self.gpu.alloc::<f32>(t * rows, "BLAS self-check output")?;
        dy.fill_u32(s, u32::MAX)?;
        self.convert(s, &dx, 0, t * cols, &mut dx16)?;
        self.gemm_at(s, &dw, &dx16, &mut dy, rows, cols, t, rows, 0, 0)?;
        let y = dy.read(s)?;
        for (k, &got) in y.iter().enumerate() {
            let (i, r) = (k / rows, k % rows);
            let want: f32 = (0..cols).map(|c| w[r * cols + c].to_f32() * x[i * cols + c]).sum();
            if got != want {
                return Err(GpuError::Invalid(format!(
                    "{}: self-check product y[{i}, {r}] = {got}, want {want}",
                    self.describe()
                )));
            }
        }
        Ok(())
    }

    fn dequant_kernel(&self, ty: GgmlType) -> Result<&Kernel> {
        self.dequant
            .iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, k)| k)
            .ok_or_else(|| GpuError::Invalid(format!("no f16 dequantization kernel for type {ty}")))
    }

    /// y16[i] = f16(x[off + i]) for i < n (n a multiple of 4).
    fn convert(
        &self,
        s: &Stream,
        x: &DeviceBuffer<f32>,
        off: usize,
        n: usize,
        y: &mut DeviceBuffer<f16>,
    ) -> Result<()> {
        let cfg = LaunchConfig::for_elements(n / 4, THREADS);
        // The kernel reads x from `off`: pass the offset as a view of the buffer's address.
        self.to_f16.launch(s, cfg, &crate::gpu_args![&x.view(off, n)?, y, n as i64])
    }

    /// Queues y[t0 + i, r0 + r] = sum_c x16[i, c] * w16[r, c] for i < tn, r < rn: x16 [tn, cols]
    /// and w16 [rn, cols] f16, y [.., rows] f32, all row-major. In the libraries' column-major
    /// terms y^T (rows x t, ld rows) = op_T(A) op_N(B) with A = w16 (cols x rn, ld cols) and
    /// B = x16 (cols x tn, ld cols): the layout matrix cores like best.
    #[allow(clippy::too_many_arguments)] // one GemmEx: three matrices, their shapes and places
    fn gemm_at(
        &self,
        s: &Stream,
        w16: &DeviceBuffer<f16>,
        x16: &DeviceBuffer<f16>,
        y: &mut DeviceBuffer<f32>,
        rn: usize,
        cols: usize,
        tn: usize,
        rows: usize,
        r0: usize,
        t0: usize,
    ) -> Result<()> {
        let i32_of = |v: usize, what: &str| {
            i32::try_from(v).map_err(|_| GpuError::Invalid(format!("BLAS product: {what} = {v} is over 2^31 - 1")))
        };
        let e = self.lib.enums();
        let at = t0 * rows + r0;
        if w16.len() < rn * cols || x16.len() < tn * cols || y.len() < at + (tn - 1) * rows + rn {
            return Err(GpuError::Invalid("BLAS product: a scratch or output buffer is too short".into()));
        }
        let g = GemmEx {
            trans_a: e.op_t(),
            trans_b: e.op_n(),
            m: i32_of(rn, "rows")?,
            n: i32_of(tn, "tokens")?,
            k: i32_of(cols, "cols")?,
            alpha: 1.0,
            a: w16.device_ptr(),
            a_type: e.r_16f(),
            lda: i32_of(cols, "cols")?,
            b: x16.device_ptr(),
            b_type: e.r_16f(),
            ldb: i32_of(cols, "cols")?,
            beta: 0.0,
            c: y.device_ptr() + (at * std::mem::size_of::<f32>()) as u64,
            c_type: e.r_32f(),
            ldc: i32_of(rows, "rows")?,
            compute: e.compute_32f(),
            algo: e.gemm_default(),
        };
        self.gpu.inner().bind()?;
        self.lib.set_stream(self.handle, s.handle())?;
        self.lib.gemm_ex(self.handle, &g).map_err(|e| e.with_context(|| format!("{rn} x {tn} x {cols} GemmEx")))?;
        // The library's work holds these until it has run, as a launch would.
        for a in [w16.allocation(), x16.allocation(), y.allocation()] {
            s.keep(a.clone());
        }
        Ok(())
    }

    /// y[i, r] = sum_c x[i, c] * W[r, c] for i < t, r < rows (as `Matmul::matmul`), W of type
    /// `ty` in the file's block encoding (`w`: rows * row_bytes bytes). Asynchronous on `s`.
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
        let dq = self.dequant_kernel(ty)?;
        let mut sc = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        // Work queued on another stream may still read the scratch buffers.
        if let Some(prev) = sc.stream.take() {
            if prev.handle() != s.handle() {
                prev.synchronize()?;
            }
        }
        // Chunks of tokens and of rows (rows a multiple of 8), as even as the limits allow.
        let even = |n: usize, most: usize, align: usize| {
            let most = (most / align * align).max(align);
            let chunks = n.div_ceil(most);
            n.div_ceil(chunks).div_ceil(align) * align
        };
        let tc = even(t, self.limits.1 / cols, 1).min(t);
        let rc = even(rows, self.limits.0 / cols, 8).min(rows);
        if sc.x.as_ref().is_none_or(|b| b.len() < tc * cols) {
            sc.x = None; // free the old one first
            sc.x = Some(self.gpu.alloc(tc * cols, "BLAS f16 activations")?);
        }
        if sc.w.as_ref().is_none_or(|b| b.len() < rc * cols) {
            sc.w = None;
            sc.w = Some(self.gpu.alloc(rc * cols, "BLAS f16 weights")?);
        }
        let Scratch { x: Some(x16), w: Some(w16), .. } = &mut *sc else {
            return Err(GpuError::Invalid("BLAS scratch missing".into()));
        };
        let halves_per_row = cols / 16;
        for t0 in (0..t).step_by(tc) {
            let tn = tc.min(t - t0);
            self.convert(s, x, t0 * cols, tn * cols, x16)?;
            for r0 in (0..rows).step_by(rc) {
                let rn = rc.min(rows - r0);
                // With one row chunk the weights dequantized for the first token chunk stay.
                if t0 == 0 || rc < rows {
                    let cfg = LaunchConfig::for_elements(rn * halves_per_row, THREADS);
                    dq.launch(s, cfg, &crate::gpu_args![w, &mut *w16, cols as i32, r0 as i32, rn as i32])?;
                }
                self.gemm_at(s, w16, x16, y, rn, cols, tn, rows, r0, t0)?;
            }
        }
        sc.stream = Some(s.clone());
        Ok(())
    }
}

impl Drop for Blas {
    fn drop(&mut self) {
        // Finish work that uses the handle's stream binding before the handle goes.
        if let Some(s) = self.scratch.lock().unwrap_or_else(|p| p.into_inner()).stream.take() {
            let _ = s.synchronize();
        }
        if self.gpu.inner().bind().is_ok() {
            let _ = self.lib.destroy(self.handle);
        }
    }
}
