//! The int8 GEMV's launches (kernels/gemv_q8.cu), plain and fused: several matrices that share
//! an input in one launch (Q/K/V, gate/up), the RMS norm of the input as a prologue, and bias,
//! residual-accumulate and gated-activation epilogues. A fused launch computes the f32
//! operations of the separate kernels in their order, so it gives the same bits as
//! `rms_norm`, the GEMVs, `add_bias`, `add` and `swiglu`/`geglu` launched one after another.
//! Where the products run on the int8 GEMM instead (17-64 tokens, from 4 or 8 on wide or large
//! matrices, more without a vendor BLAS: `Matmul::kernel_for`),
//! the same forms go to it (`Mmq::products`): the norm in the activation encoder, one encoding
//! for the matrices that share it, the epilogues where each row's sum is stored.

use gguf::GgmlType;

use super::{GemvConfig, GpuMatrix, Matmul, MatmulKernel, Q8_MAX_SHARED, Q8_VARIANTS};
use crate::cpu::qdot::{act_type_for, ActType};
use crate::gpu::mmq::{MmqOut, StoreMode};
use crate::gpu::{Arg, DeviceBuffer, GpuError, Kernel, LaunchConfig, Result, Stream};

/// Pairs of weight types with kernels for one launch (`rf_q8_gemv_r<R>_t<NT>_<a>_<b>`): those
/// that share an input in common files (Q4_K_M: Q/K Q5_0 or Q4_K with V Q8_0 or Q6_K; Q5_K_M).
pub(super) const Q8_PAIRS: [(GgmlType, GgmlType, &str); 3] = [
    (GgmlType::Q5_0, GgmlType::Q8_0, "q5_0_q8_0"),
    (GgmlType::Q4_K, GgmlType::Q6_K, "q4_k_q6_k"),
    (GgmlType::Q5_K, GgmlType::Q6_K, "q5_k_q6_k"),
];

/// Segments (matrices) of one launch (`Q8Seg`s of the kernels).
const Q8_SEGS: usize = 3;

/// A gated activation of the FFN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glu {
    /// silu(gate) * up.
    Swi,
    /// gelu_tanh(gate) * up, rounded as the CPU's geglu.
    Ge,
}

/// One matrix of a fused GEMV: y[i, :] = W x[i, :] (+ bias).
pub struct GemvOut<'a> {
    pub w: &'a GpuMatrix,
    pub bias: Option<&'a DeviceBuffer<f32>>, // [w.rows()]
    pub y: &'a mut DeviceBuffer<f32>,        // [t, w.rows()]
}

impl GemvOut<'_> {
    /// This output as a product of the int8 GEMM (reborrowing y).
    fn mmq<'b>(&'b mut self, mode: StoreMode, up: Option<&'b DeviceBuffer<u8>>) -> MmqOut<'b> {
        let w = self.w;
        MmqOut { ty: w.ty, w: &w.data, rows: w.rows, bias: self.bias, y: &mut *self.y, mode, up }
    }
}

/// One planned launch: the kernel, its shape, and per segment its threads per row and blocks.
struct Plan<'k> {
    kernel: &'k Kernel,
    threads: usize,
    tokens: usize,
    shared: usize,
    /// Bit s: segment s is of the kernel's second type.
    types: i32,
    /// (threads per row, blocks) per matrix, in order.
    segs: Vec<(usize, usize)>,
}

impl Matmul {
    /// The launch that computes `ws` (same columns) together, or None when the int8 GEMV cannot:
    /// a type without it, more than two types or a pair without kernels, activation encodings or
    /// block sizes that differ. `glu`: ws = [gate, up] of one type, computed as row pairs.
    fn q8_plan(&self, cfg: GemvConfig, ws: &[&GpuMatrix], t: usize, glu: bool) -> Result<Option<Plan<'_>>> {
        let Some(first) = ws.first() else { return Ok(None) };
        let mut tys: Vec<GgmlType> = Vec::new();
        for w in ws {
            if !tys.contains(&w.ty) {
                tys.push(w.ty);
            }
        }
        let (kernels, second) = match tys[..] {
            [_] => match &self.kernels_for(first)?.q8 {
                Some((_, ks)) => (ks, None),
                None => return Ok(None),
            },
            [a, b] if !glu => match Q8_PAIRS.iter().position(|&(p, q, _)| (p, q) == (a, b) || (p, q) == (b, a)) {
                Some(i) => match &self.q8_pairs[i] {
                    Some(ks) => (ks, Some(Q8_PAIRS[i].1)),
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let mut launches = Vec::with_capacity(ws.len());
        for w in ws {
            let Some((q, _)) = &self.kernels_for(w)?.q8 else { return Ok(None) };
            let Some(l) = self.q8_launch(q, w, t, cfg)? else { return Ok(None) };
            launches.push((*q, l));
        }
        let (q0, l0) = launches[0];
        let same = launches.iter().zip(ws).all(|((q, l), w)| {
            q.act == q0.act && l.threads == l0.threads && w.cols == first.cols && (!glu || w.rows == first.rows)
        });
        let r = launches.iter().map(|(_, l)| l.rows_per_team).min().unwrap_or(1);
        let tokens = launches.iter().map(|(_, l)| l.tokens).min().unwrap_or(1);
        if !same || (glu && r < 2) {
            return Ok(None);
        }
        let Some(kernel) = Q8_VARIANTS.iter().position(|v| *v == (r, tokens)).and_then(|i| kernels.get(i)) else {
            return Err(GpuError::Invalid(format!("no int8 GEMV with {r} rows per team and {tokens} tokens")));
        };
        let threads = l0.threads;
        let shared = launches.iter().map(|(q, _)| q.shared_bytes(first.cols, tokens, r, self.warp, threads)).max();
        let shared = shared.unwrap_or(0);
        if shared > Q8_MAX_SHARED.min(self.max_shared) {
            return Ok(None);
        }
        // GLU: a team's R rows are R / 2 gate rows and their up rows, and only the gate has blocks.
        let rows_per_group = if glu { r / 2 } else { r };
        let mut segs = Vec::with_capacity(ws.len());
        for (i, ((_, l), w)) in launches.iter().zip(ws).enumerate() {
            let groups = w.rows.div_ceil(rows_per_group);
            let teams = threads / l.threads_per_row;
            let grid = groups.div_ceil(teams).min(self.sms * cfg.blocks_per_sm.max(1)).max(1);
            segs.push((l.threads_per_row, if glu && i > 0 { 0 } else { grid }));
        }
        let types = ws.iter().enumerate().filter(|(_, w)| Some(w.ty) == second).map(|(i, _)| 1 << i).sum();
        Ok(Some(Plan { kernel, threads, tokens, shared, types, segs }))
    }

    /// Queues a planned launch on `outs` (in the plan's order; in the GLU modes outs[0] is the
    /// gate, whose y receives the result, and `up` the up matrix).
    #[allow(clippy::too_many_arguments)] // the launch's parts: plan, input, prologue, mode, outputs
    fn q8_run(
        &self,
        stream: &Stream,
        plan: &Plan,
        x: &DeviceBuffer<f32>,
        t: usize,
        norm: Option<(&DeviceBuffer<f32>, f32)>,
        mode: StoreMode,
        outs: &mut [GemvOut],
        up: Option<&GpuMatrix>,
    ) -> Result<()> {
        let cols = outs.first().map_or(0, |o| o.w.cols);
        let mut used = outs.len().min(plan.segs.len());
        let blocks: usize = plan.segs.iter().map(|s| s.1).sum();
        let grid = [super::blocks(blocks, 1)?, super::blocks(t, plan.tokens)?, 1];
        if grid[1] > 65535 {
            return Err(GpuError::Invalid(format!("int8 GEMV: {t} tokens is over its limit")));
        }
        let mut args: Vec<Arg> = crate::gpu_args![
            x,
            cols as i32,
            t as i32,
            norm.map(|n| n.0),
            norm.map_or(0.0, |n| n.1),
            mode as i32,
            plan.types
        ]
        .into();
        for (o, &(tpr, grid)) in outs.iter_mut().zip(&plan.segs) {
            let rows = o.w.rows as i32;
            args.extend(crate::gpu_args![&o.w.data, o.bias, &mut *o.y, rows, grid as i32, tpr as i32]);
        }
        if let (Some(up), Some(&(tpr, _))) = (up, plan.segs.get(1)) {
            args.extend(crate::gpu_args![
                &up.data,
                Arg::null::<f32>(),
                Arg::null::<f32>(),
                up.rows as i32,
                0i32,
                tpr as i32
            ]);
            used += 1;
        }
        for _ in used..Q8_SEGS {
            args.extend(crate::gpu_args![Arg::null::<u8>(), Arg::null::<f32>(), Arg::null::<f32>(), 0i32, 0i32, 32i32]);
        }
        let launch = LaunchConfig::new(grid, [plan.threads as u32, 1, 1]).with_shared_bytes(plan.shared as u32);
        plan.kernel.launch(stream, launch, &args)
    }

    /// Checks a fused product's buffers: x [t, cols] for every matrix's cols, y [t, rows], the
    /// norm's weight [cols], each bias [rows].
    fn check_fused(
        &self,
        x: &DeviceBuffer<f32>,
        t: usize,
        norm: Option<(&DeviceBuffer<f32>, f32)>,
        outs: &[GemvOut],
    ) -> Result<()> {
        for o in outs {
            self.check_args(o.w, x, t, o.y)?;
            let bad = |what: &str, b: &DeviceBuffer<f32>, n: usize| {
                Err(GpuError::Invalid(format!(
                    "matmul with {}: {what} {} has {} values, not {n}",
                    o.w.what(),
                    b.what(),
                    b.len()
                )))
            };
            if let Some((nw, _)) = norm.filter(|(nw, _)| nw.len() != o.w.cols) {
                return bad("the norm weight", nw, o.w.cols);
            }
            if let Some(b) = o.bias.filter(|b| b.len() != o.w.rows) {
                return bad("the bias", b, o.w.rows);
            }
        }
        Ok(())
    }

    /// Whether every matrix's product of `t` tokens runs on the int8 GEMM.
    fn all_mmq(&self, ws: &[&GpuMatrix], t: usize) -> bool {
        ws.iter().all(|w| self.kernel_for(w, t) == MatmulKernel::Mmq)
    }

    /// Whether every matrix's product of `t` tokens runs on the int8 GEMV.
    fn all_q8_gemv(&self, ws: &[&GpuMatrix], t: usize) -> bool {
        ws.iter()
            .all(|w| self.kernel_for(w, t) == MatmulKernel::Gemv && self.kernels_for(w).is_ok_and(|k| k.q8.is_some()))
    }

    /// The int8 GEMV of `w` (a quantized type), with the launch shape `cfg`. Returns false (and
    /// launches nothing) for a type or width it does not handle.
    #[doc(hidden)]
    pub fn gemv_q8_with(
        &self,
        cfg: GemvConfig,
        stream: &Stream,
        w: &GpuMatrix,
        x: &DeviceBuffer<f32>,
        t: usize,
        y: &mut DeviceBuffer<f32>,
    ) -> Result<bool> {
        self.kernels_for(w)?;
        let Some(plan) = self.q8_plan(cfg, &[w], t, false)? else { return Ok(false) };
        if t == 0 {
            return Ok(true);
        }
        self.check_args(w, x, t, y)?;
        self.q8_run(stream, &plan, x, t, None, StoreMode::Store, &mut [GemvOut { w, bias: None, y }], None)?;
        Ok(true)
    }

    /// outs[k].y[i, :] = outs[k].w h[i, :] (+ outs[k].bias) for i < t, with h = x, or
    /// rms_norm(x) * norm.0 (eps norm.1) when `norm` is given; `accumulate`: y += instead of
    /// y =. The same bits as the separate kernels ([`Ops::rms_norm`](crate::gpu::Ops::rms_norm),
    /// [`Matmul::matmul`], `add_bias`, `add`). Matrices of one type, or of a pair with kernels,
    /// run as one launch, others one launch per type; on the int8 GEMM, one encoding per
    /// activation type and a launch per matrix. Returns false, having launched nothing, when a
    /// product would run on neither (float types, the vendor BLAS's token counts, encodings that
    /// differ on the GEMV): then the caller runs the separate kernels.
    pub fn gemv_fused(
        &self,
        stream: &Stream,
        x: &DeviceBuffer<f32>,
        t: usize,
        norm: Option<(&DeviceBuffer<f32>, f32)>,
        outs: &mut [GemvOut],
        accumulate: bool,
    ) -> Result<bool> {
        let ws: Vec<&GpuMatrix> = outs.iter().map(|o| o.w).collect();
        let mode = if accumulate { StoreMode::Accumulate } else { StoreMode::Store };
        if !ws.is_empty() && ws.iter().all(|w| w.cols == ws[0].cols) && self.all_mmq(&ws, t) {
            self.check_fused(x, t, norm, outs)?;
            // One encoding per activation type (the matrices of one type share it).
            let mut acts: Vec<Option<ActType>> = Vec::new();
            for w in &ws {
                if !acts.contains(&act_type_for(w.ty)) {
                    acts.push(act_type_for(w.ty));
                }
            }
            for act in acts {
                let mut group: Vec<MmqOut> =
                    outs.iter_mut().filter(|o| act_type_for(o.w.ty) == act).map(|o| o.mmq(mode, None)).collect();
                self.mmq.products(stream, x, t, ws[0].cols, norm, &mut group)?;
            }
            return Ok(true);
        }
        if ws.is_empty() || ws.len() > Q8_SEGS || !self.all_q8_gemv(&ws, t) {
            return Ok(false);
        }
        let cfg = GemvConfig::default();
        // One launch, else one per type (each must be possible before anything is launched).
        let groups: Vec<Vec<usize>> = match self.q8_plan(cfg, &ws, t, false)? {
            Some(_) => vec![(0..ws.len()).collect()],
            None => {
                let mut g: Vec<Vec<usize>> = Vec::new();
                for (i, w) in ws.iter().enumerate() {
                    match g.iter_mut().find(|g| ws[g[0]].ty == w.ty) {
                        Some(g) => g.push(i),
                        None => g.push(vec![i]),
                    }
                }
                g
            }
        };
        let mut plans = Vec::with_capacity(groups.len());
        for g in &groups {
            let gw: Vec<&GpuMatrix> = g.iter().map(|&i| ws[i]).collect();
            match self.q8_plan(cfg, &gw, t, false)? {
                Some(p) => plans.push(p),
                None => return Ok(false),
            }
        }
        if t == 0 {
            return Ok(true);
        }
        self.check_fused(x, t, norm, outs)?;
        for (g, plan) in groups.iter().zip(&plans) {
            let mut sub: Vec<GemvOut> = outs
                .iter_mut()
                .enumerate()
                .filter(|(i, _)| g.contains(i))
                .map(|(_, o)| GemvOut { w: o.w, bias: o.bias, y: &mut *o.y })
                .collect();
            self.q8_run(stream, plan, x, t, norm, mode, &mut sub, None)?;
        }
        Ok(true)
    }

    /// y[i, :] = act(W_gate h[i, :]) * (W_up h[i, :]) for i < t, h = x or rms_norm(x) * norm as
    /// in [`Matmul::gemv_fused`]: one launch, each team computing gate rows with their up rows.
    /// The same bits as the separate kernels. On the int8 GEMM: one encoding, the gate's
    /// product, then the up product combined with it. Returns false, having launched nothing,
    /// when the two matrices are not of one type and shape on the int8 GEMV or GEMM.
    #[allow(clippy::too_many_arguments)] // the product's parts: input, prologue, matrices, output
    pub fn gemv_glu(
        &self,
        stream: &Stream,
        x: &DeviceBuffer<f32>,
        t: usize,
        norm: Option<(&DeviceBuffer<f32>, f32)>,
        gate: &GpuMatrix,
        up: &GpuMatrix,
        act: Glu,
        y: &mut DeviceBuffer<f32>,
    ) -> Result<bool> {
        if gate.ty != up.ty || gate.rows != up.rows || gate.cols != up.cols {
            return Ok(false);
        }
        let mode = match act {
            Glu::Swi => StoreMode::SwiGlu,
            Glu::Ge => StoreMode::GeGlu,
        };
        if self.all_mmq(&[gate, up], t) {
            let mut outs = [GemvOut { w: gate, bias: None, y }];
            self.check_fused(x, t, norm, &outs)?;
            self.check_args(up, x, t, outs[0].y)?;
            let pair = outs[0].mmq(mode, Some(&up.data));
            self.mmq.products(stream, x, t, gate.cols, norm, &mut [pair])?;
            return Ok(true);
        }
        if !self.all_q8_gemv(&[gate, up], t) {
            return Ok(false);
        }
        let Some(plan) = self.q8_plan(GemvConfig::default(), &[gate, up], t, true)? else { return Ok(false) };
        if t == 0 {
            return Ok(true);
        }
        let mut outs = [GemvOut { w: gate, bias: None, y }];
        self.check_fused(x, t, norm, &outs)?;
        self.check_args(up, x, t, outs[0].y)?;
        self.q8_run(stream, &plan, x, t, norm, mode, &mut outs, Some(up))?;
        Ok(true)
    }
}
