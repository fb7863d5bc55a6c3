//! The op set one forward step runs on, implemented once per device, so that the forward pass
//! (forward.rs) is written once: the CPU works on f32 slices and reads weights from the mapped
//! file, the GPU on device buffers and uploaded weights.
//!
//! Activation buffers are sized for the widest layer of the step and each op states how much of
//! them it touches (`rows` of a vector's width, or `t` tokens), so one set of buffers serves
//! every layer.

pub mod cpu;
pub mod gpu;

use backend::cpu::{AttnParams, RopeParams};
use backend::KvType;

use crate::arch::Activation;
use crate::batch::BatchPlan;
use crate::error::ModelError;
use crate::step_logits::{RowNeed, StepLogits};

pub type Result<T> = std::result::Result<T, ModelError>;

pub trait Compute {
    /// f32 activations, row-major [rows, width].
    type Act;
    /// A weight matrix [rows = outputs, cols = inputs] in its file encoding.
    type Mat;
    /// An f32 vector (norm weights, biases).
    type Vector;
    /// One layer's K and V cache blocks.
    type LayerKv;
    /// The step's token placement (ids, positions, cache slots, block tables) in the device's
    /// form, prepared once per step.
    type Places;

    fn places(&self, plan: &BatchPlan, block_size: usize) -> Result<Self::Places>;
    /// An activation buffer of `len` f32 (contents unspecified).
    fn act(&self, len: usize) -> Result<Self::Act>;
    /// K/V storage for one layer: `slots` tokens of `width` (n_kv_head * head_dim) values of
    /// `ty` each.
    fn layer_kv(&self, ty: KvType, slots: usize, width: usize) -> Result<Self::LayerKv>;

    /// x[i, :] = table[token i, :] * scale.
    fn embed(&self, table: &Self::Mat, at: &Self::Places, t: usize, scale: f32, x: &mut Self::Act) -> Result<()>;
    /// out[r, :] = rms_norm(x[r, :]) * w for `rows` rows of w's width.
    fn rms_norm(&self, x: &Self::Act, w: &Self::Vector, rows: usize, eps: f32, out: &mut Self::Act) -> Result<()>;
    fn rms_norm_in_place(&self, x: &mut Self::Act, w: &Self::Vector, rows: usize, eps: f32) -> Result<()>;
    /// out[i, :] = W x[i, :] for i < t, the step's tokens (`at`: the CPU rounds each token's
    /// product as llama.cpp's kernel for the batch the plan names for it, `llama_batch`).
    fn matmul(&self, x: &Self::Act, at: &Self::Places, t: usize, w: &Self::Mat, out: &mut Self::Act) -> Result<()>;
    /// outs[k][i, :] = ws[k] x[i, :] for i < t: several matrices on one input (Q/K/V,
    /// gate/up), which a device may run as one job. Each result equals `matmul`'s.
    fn matmuls(
        &self,
        x: &Self::Act,
        at: &Self::Places,
        t: usize,
        ws: &[&Self::Mat],
        outs: &mut [&mut Self::Act],
    ) -> Result<()> {
        for (w, out) in ws.iter().zip(outs.iter_mut()) {
            self.matmul(x, at, t, w, out)?;
        }
        Ok(())
    }
    /// outs[k][i, :] = ws[k] h[i, :] (+ biases[k]) for i < t, with h = rms_norm(x[i, :]) * norm:
    /// the projections after a pre-norm (Q/K/V, gate/up). `normed` ([t, cols]) is scratch: the
    /// default writes h there, a device that norms inside its products may leave it as it was.
    #[allow(clippy::too_many_arguments)] // the fused op's parts: input, norm, matrices, outputs
    fn norm_matmuls(
        &self,
        x: &Self::Act,
        at: &Self::Places,
        norm: &Self::Vector,
        eps: f32,
        t: usize,
        ws: &[&Self::Mat],
        biases: &[Option<&Self::Vector>],
        normed: &mut Self::Act,
        outs: &mut [&mut Self::Act],
    ) -> Result<()> {
        separate::norm_matmuls(self, x, at, norm, eps, t, ws, biases, normed, outs)
    }
    /// acc[i, :] += W x[i, :] for i < t, W with `width` rows: a projection added to the residual
    /// stream. `tmp` ([t, width]) is scratch, as `normed` above.
    #[allow(clippy::too_many_arguments)] // the fused op's parts: input, places, matrix, outputs
    fn matmul_add(
        &self,
        x: &Self::Act,
        at: &Self::Places,
        t: usize,
        w: &Self::Mat,
        width: usize,
        tmp: &mut Self::Act,
        acc: &mut Self::Act,
    ) -> Result<()> {
        separate::matmul_add(self, x, at, t, w, width, tmp, acc)
    }
    /// gate[i, :] = act(W_gate h[i, :]) * (W_up h[i, :]) for i < t, with h = rms_norm(x[i, :]) *
    /// norm and `ff` rows in each matrix: a gated FFN's first half. `normed` ([t, cols]) and `up`
    /// ([t, ff]) are scratch, as above.
    #[allow(clippy::too_many_arguments)] // the fused op's parts: input, norm, matrices, outputs
    fn norm_glu(
        &self,
        x: &Self::Act,
        at: &Self::Places,
        norm: &Self::Vector,
        eps: f32,
        t: usize,
        w_gate: &Self::Mat,
        w_up: &Self::Mat,
        act: Activation,
        ff: usize,
        normed: &mut Self::Act,
        up: &mut Self::Act,
        gate: &mut Self::Act,
    ) -> Result<()> {
        separate::norm_glu(self, x, at, norm, eps, t, w_gate, w_up, act, ff, normed, up, gate)
    }
    /// x[r, :] += b for `rows` rows of b's width.
    fn add_bias(&self, x: &mut Self::Act, b: &Self::Vector, rows: usize) -> Result<()>;
    /// acc[i] += x[i] for i < n.
    fn add(&self, acc: &mut Self::Act, x: &Self::Act, n: usize) -> Result<()>;
    /// x: [t, n_heads, head_dim] rotated in place at the tokens' positions.
    fn rope(
        &self,
        x: &mut Self::Act,
        at: &Self::Places,
        t: usize,
        n_heads: usize,
        head_dim: usize,
        p: &RopeParams,
    ) -> Result<()>;
    /// rope of the queries q [t, n_q, head_dim] and the keys k [t, n_k, head_dim], which a
    /// device may run as one job.
    #[allow(clippy::too_many_arguments)] // both inputs and their layout, places, params
    fn rope_qk(
        &self,
        q: &mut Self::Act,
        k: &mut Self::Act,
        at: &Self::Places,
        t: usize,
        n_q: usize,
        n_k: usize,
        head_dim: usize,
        p: &RopeParams,
    ) -> Result<()> {
        self.rope(q, at, t, n_q, head_dim, p)?;
        self.rope(k, at, t, n_k, head_dim, p)
    }
    /// rope_qk, then kv_write of the rotated k and of v: a layer's steps between its Q/K/V
    /// projections and its attention, which a device may run as one job.
    #[allow(clippy::too_many_arguments)] // rope_qk's and kv_write's arguments
    fn rope_qk_kv_write(
        &self,
        q: &mut Self::Act,
        k: &mut Self::Act,
        v: &Self::Act,
        kv: &mut Self::LayerKv,
        at: &Self::Places,
        t: usize,
        n_q: usize,
        n_k: usize,
        head_dim: usize,
        p: &RopeParams,
    ) -> Result<()> {
        separate::rope_qk_kv_write(self, q, k, v, kv, at, t, n_q, n_k, head_dim, p)
    }
    /// Stores the step's K and V ([t, width]) in their cache slots.
    fn kv_write(&self, kv: &mut Self::LayerKv, at: &Self::Places, k: &Self::Act, v: &Self::Act, t: usize)
        -> Result<()>;
    /// Paged causal attention of q [t, n_head, head_dim] into out (same shape).
    fn attention(
        &self,
        q: &Self::Act,
        at: &Self::Places,
        kv: &Self::LayerKv,
        block_size: usize,
        p: &AttnParams,
        out: &mut Self::Act,
    ) -> Result<()>;
    /// gate[r, i] = act(gate[r, i]) * up[r, i] for `rows` rows of `ff` values.
    fn glu(&self, act: Activation, gate: &mut Self::Act, up: &Self::Act, rows: usize, ff: usize) -> Result<()>;
    /// The logits [rows, vocab] of the plan's `logits_rows`: final norm, then the output matrix.
    fn logits(
        &self,
        x: &Self::Act,
        at: &Self::Places,
        norm: &Self::Vector,
        eps: f32,
        output: &Self::Mat,
    ) -> Result<Self::Act>;
    /// The logits `a` ([rows, vocab]) in host memory as `needs` asks for each row (a row past
    /// its end is wanted whole); waits for the device.
    fn read_logits(&self, a: Self::Act, rows: usize, vocab: usize, needs: &[RowNeed]) -> Result<StepLogits>;
}

/// The fused ops of [`Compute`] as the separate ops they stand for: the trait's defaults, and
/// a device's path where its fused kernels do not apply.
pub mod separate {
    use super::{Compute, Result};
    use crate::arch::Activation;
    use backend::cpu::RopeParams;

    /// [`Compute::norm_matmuls`]: rms_norm, the products, the biases.
    #[allow(clippy::too_many_arguments)] // the op's parts, as Compute::norm_matmuls
    pub fn norm_matmuls<C: Compute + ?Sized>(
        c: &C,
        x: &C::Act,
        at: &C::Places,
        norm: &C::Vector,
        eps: f32,
        t: usize,
        ws: &[&C::Mat],
        biases: &[Option<&C::Vector>],
        normed: &mut C::Act,
        outs: &mut [&mut C::Act],
    ) -> Result<()> {
        c.rms_norm(x, norm, t, eps, normed)?;
        c.matmuls(normed, at, t, ws, outs)?;
        for (out, bias) in outs.iter_mut().zip(biases) {
            if let Some(b) = bias {
                c.add_bias(out, b, t)?;
            }
        }
        Ok(())
    }

    /// [`Compute::matmul_add`]: the product, then the add.
    #[allow(clippy::too_many_arguments)] // the op's parts, as Compute::matmul_add
    pub fn matmul_add<C: Compute + ?Sized>(
        c: &C,
        x: &C::Act,
        at: &C::Places,
        t: usize,
        w: &C::Mat,
        width: usize,
        tmp: &mut C::Act,
        acc: &mut C::Act,
    ) -> Result<()> {
        c.matmul(x, at, t, w, tmp)?;
        c.add(acc, tmp, t * width)
    }

    /// [`Compute::norm_glu`]: rms_norm, both products, the gated activation.
    #[allow(clippy::too_many_arguments)] // the op's parts, as Compute::norm_glu
    pub fn norm_glu<C: Compute + ?Sized>(
        c: &C,
        x: &C::Act,
        at: &C::Places,
        norm: &C::Vector,
        eps: f32,
        t: usize,
        w_gate: &C::Mat,
        w_up: &C::Mat,
        act: Activation,
        ff: usize,
        normed: &mut C::Act,
        up: &mut C::Act,
        gate: &mut C::Act,
    ) -> Result<()> {
        c.rms_norm(x, norm, t, eps, normed)?;
        c.matmuls(normed, at, t, &[w_gate, w_up], &mut [&mut *gate, &mut *up])?;
        c.glu(act, gate, up, t, ff)
    }

    /// [`Compute::rope_qk_kv_write`]: the rope of q and k, then the cache write.
    #[allow(clippy::too_many_arguments)] // the op's parts, as Compute::rope_qk_kv_write
    pub fn rope_qk_kv_write<C: Compute + ?Sized>(
        c: &C,
        q: &mut C::Act,
        k: &mut C::Act,
        v: &C::Act,
        kv: &mut C::LayerKv,
        at: &C::Places,
        t: usize,
        n_q: usize,
        n_k: usize,
        head_dim: usize,
        p: &RopeParams,
    ) -> Result<()> {
        c.rope_qk(q, k, at, t, n_q, n_k, head_dim, p)?;
        c.kv_write(kv, at, k, v, t)
    }
}
