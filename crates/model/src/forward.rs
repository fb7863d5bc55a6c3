//! The one forward pass of the llama family (llama, qwen2, qwen3, gemma3), differences taken
//! from the ArchSpec: pre-norm attention with optional QKV biases, QK-norm and post-norms,
//! rope, paged GQA attention (windowed on sliding layers), a gated FFN, tied or separate output.
//! Written once over the [`Compute`] op set, so the CPU and the GPUs run the same steps.

use backend::cpu::{AttnParams, Cpu, RopeParams};

use crate::batch::BatchPlan;
use crate::compute::cpu::CpuCompute;
use crate::compute::Compute;
use crate::error::ModelError;
use crate::kv_cache::KvCache;
use crate::step_logits::{RowNeed, StepLogits};
use crate::weights::Weights;
use crate::Model;

/// Buffers of one step, sized for its T tokens and the widest layer.
struct Scratch<A> {
    x: A,    // [T, n_embd] residual stream
    h: A,    // [T, n_embd] normed input / sublayer output
    q: A,    // [T, n_head * hd]
    k: A,    // [T, n_kv * hd]
    v: A,    // [T, n_kv * hd]
    attn: A, // [T, n_head * hd]
    gate: A, // [T, n_ff]
    up: A,   // [T, n_ff]
}

/// Row widths of the step buffers: n_head * hd, n_kv * hd, n_ff (largest over the layers).
struct Widths {
    q: usize,
    kv: usize,
    ff: usize,
}

impl Model {
    /// Runs one step on the CPU: writes the K/V of every token of `plan` into `kv` and returns
    /// the logits of `plan.logits_rows`, as [rows, vocab].
    // hot: every generated token passes through here.
    pub fn forward(&self, cpu: &Cpu, kv: &mut KvCache, plan: &BatchPlan) -> Result<Vec<f32>, ModelError> {
        Ok(self
            .forward_on(&CpuCompute { cpu, file: &self.file }, &self.weights, kv, plan, &[])?
            .into_values()
            .into_vec())
    }

    /// The same step on any device, with the weights as that device holds them; each row of
    /// logits as `needs` asks (whole where it says nothing).
    pub fn forward_on<C: Compute>(
        &self,
        dev: &C,
        w: &Weights<C::Mat, C::Vector>,
        kv: &mut KvCache<C::LayerKv>,
        plan: &BatchPlan,
        needs: &[RowNeed],
    ) -> Result<StepLogits, ModelError> {
        plan.validate(self.vocab_size(), kv.block_size(), kv.n_blocks())?;
        let at = dev.places(plan, kv.block_size())?;
        let rows = plan.logits_rows.len();
        match self.forward_device(dev, w, kv, &at, plan.len(), rows)? {
            Some(logits) => dev.read_logits(logits, rows, self.vocab_size(), needs),
            None => Ok(StepLogits::default()),
        }
    }

    /// The step's work on the device, from a validated plan already placed there (`at`, `t`
    /// tokens, `n_logits` rows of logits): the logits [n_logits, vocab] left on the device, or
    /// None when no row needs them. Queues work only (a GPU can capture it as a graph).
    // hot: every generated token passes through here.
    pub(crate) fn forward_device<C: Compute>(
        &self,
        dev: &C,
        w: &Weights<C::Mat, C::Vector>,
        kv: &mut KvCache<C::LayerKv>,
        at: &C::Places,
        t: usize,
        n_logits: usize,
    ) -> Result<Option<C::Act>, ModelError> {
        let hp = &self.hparams;
        let e = hp.n_embd as usize;
        let wd = self.widths();
        let mut s = Scratch {
            x: dev.act(t * e)?,
            h: dev.act(t * e)?,
            q: dev.act(t * wd.q)?,
            k: dev.act(t * wd.kv)?,
            v: dev.act(t * wd.kv)?,
            attn: dev.act(t * wd.q)?,
            gate: dev.act(t * wd.ff)?,
            up: dev.act(t * wd.ff)?,
        };
        let scale = if self.spec.scale_embeddings { (e as f32).sqrt() } else { 1.0 };
        dev.embed(&w.token_embd, at, t, scale, &mut s.x)?;
        for l in 0..hp.n_layer as usize {
            self.attention_block(dev, w, kv, at, t, l, &mut s)?;
            self.ffn_block(dev, w, at, t, l, &mut s)?;
        }
        // Only the rows that need logits go through the final norm and the (large) output.
        if n_logits == 0 {
            return Ok(None);
        }
        dev.logits(&s.x, at, &w.output_norm, self.eps(), &w.output).map(Some)
    }

    /// f32 values of every activation buffer a step of `t` tokens with `n_logits` rows of
    /// logits allocates (the scratch above plus the logits' gather, norm and output), so a
    /// device can size one allocation for it up front.
    pub(crate) fn step_act_floats(&self, t: usize, n_logits: usize) -> usize {
        let (e, w) = (self.hparams.n_embd as usize, self.widths());
        t * (2 * e + 2 * w.q + 2 * w.kv + 2 * w.ff) + n_logits * (2 * e + self.vocab_size())
    }

    /// The widest query, KV and FFN rows over the layers (the scratch buffers' widths).
    fn widths(&self) -> Widths {
        let hp = &self.hparams;
        let widest = |v: &[u32]| v.iter().max().copied().unwrap_or(0) as usize;
        let hd = hp.head_dim_k as usize;
        Widths { q: widest(&hp.n_head) * hd, kv: widest(&hp.n_head_kv) * hd, ff: widest(&hp.n_ff) }
    }

    fn eps(&self) -> f32 {
        self.hparams.norm_eps as f32
    }

    #[allow(clippy::too_many_arguments)]
    fn attention_block<C: Compute>(
        &self,
        dev: &C,
        w: &Weights<C::Mat, C::Vector>,
        kv: &mut KvCache<C::LayerKv>,
        at: &C::Places,
        t: usize,
        l: usize,
        s: &mut Scratch<C::Act>,
    ) -> Result<(), ModelError> {
        let (hp, lw, eps) = (&self.hparams, &w.layers[l], self.eps());
        let hd = hp.head_dim_k as usize;
        let (n_head, n_kv) = (hp.n_head[l] as usize, hp.n_head_kv[l] as usize);
        let (ws, biases) = ([&lw.wq, &lw.wk, &lw.wv], [lw.bq.as_ref(), lw.bk.as_ref(), lw.bv.as_ref()]);
        let outs = &mut [&mut s.q, &mut s.k, &mut s.v];
        dev.norm_matmuls(&s.x, at, &lw.attn_norm, eps, t, &ws, &biases, &mut s.h, outs)?;
        if let (Some(qn), Some(kn)) = (&lw.q_norm, &lw.k_norm) {
            dev.rms_norm_in_place(&mut s.q, qn, t * n_head, eps)?;
            dev.rms_norm_in_place(&mut s.k, kn, t * n_kv, eps)?;
        }
        let window = self.spec.window(hp, l as u32);
        let base = match (window, self.spec.swa_rope_base) {
            (Some(_), Some(b)) => b,
            _ => hp.rope_freq_base as f32,
        };
        let freq_scale = hp.rope_scaling.as_ref().map_or(1.0, |r| 1.0 / r.factor as f32);
        let rope = RopeParams { n_rot: hp.rope_dim as usize, base, freq_scale, style: self.spec.rope };
        dev.rope_qk_kv_write(&mut s.q, &mut s.k, &s.v, kv.layer_mut(l), at, t, n_head, n_kv, hd, &rope)?;
        let p = AttnParams {
            n_head,
            n_kv_head: n_kv,
            head_dim: hd,
            scale: self.spec.attn_scale(hp),
            window,
            softcap: None,
            scale_q: self.spec.gemma_query_scale,
        };
        dev.attention(&s.q, at, kv.layer(l), kv.block_size(), &p, &mut s.attn)?;
        self.residual(dev, &s.attn, at, t, &lw.wo, lw.post_attn_norm.as_ref(), &mut s.h, &mut s.x)
    }

    /// x += W a, or x += post_norm(W a) (`h`: scratch of [t, n_embd]).
    #[allow(clippy::too_many_arguments)]
    fn residual<C: Compute>(
        &self,
        dev: &C,
        a: &C::Act,
        at: &C::Places,
        t: usize,
        w: &C::Mat,
        post_norm: Option<&C::Vector>,
        h: &mut C::Act,
        x: &mut C::Act,
    ) -> Result<(), ModelError> {
        let e = self.hparams.n_embd as usize;
        match post_norm {
            None => dev.matmul_add(a, at, t, w, e, h, x),
            Some(norm) => {
                dev.matmul(a, at, t, w, h)?;
                dev.rms_norm_in_place(h, norm, t, self.eps())?;
                dev.add(x, h, t * e)
            }
        }
    }

    fn ffn_block<C: Compute>(
        &self,
        dev: &C,
        w: &Weights<C::Mat, C::Vector>,
        at: &C::Places,
        t: usize,
        l: usize,
        s: &mut Scratch<C::Act>,
    ) -> Result<(), ModelError> {
        let (hp, lw, eps) = (&self.hparams, &w.layers[l], self.eps());
        let ff = hp.n_ff[l] as usize;
        let (act, (gate, up)) = (self.spec.activation, (&lw.w_gate, &lw.w_up));
        dev.norm_glu(&s.x, at, &lw.ffn_norm, eps, t, gate, up, act, ff, &mut s.h, &mut s.up, &mut s.gate)?;
        self.residual(dev, &s.gate, at, t, &lw.w_down, lw.post_ffn_norm.as_ref(), &mut s.h, &mut s.x)
    }
}
