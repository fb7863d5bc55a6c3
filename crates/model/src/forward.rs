//! The one forward pass of the llama family (llama, qwen2, qwen3, gemma3), differences taken
//! from the ArchSpec: pre-norm attention with optional QKV biases, QK-norm and post-norms,
//! rope, paged GQA attention (windowed on sliding layers), a gated FFN, tied or separate output.

use backend::cpu::{self, AttnParams, Cpu, RopeParams, SeqView, TokenPlaces};
use gguf::quants::dequantize;

use crate::arch::Activation;
use crate::batch::BatchPlan;
use crate::error::ModelError;
use crate::kv_cache::KvCache;
use crate::Model;

/// Buffers of one step, sized for its T tokens.
struct Scratch {
    x: Vec<f32>,    // [T, n_embd] residual stream
    h: Vec<f32>,    // [T, n_embd] normed input / sublayer output
    q: Vec<f32>,    // [T, n_head * hd]
    k: Vec<f32>,    // [T, n_kv * hd]
    v: Vec<f32>,    // [T, n_kv * hd]
    attn: Vec<f32>, // [T, n_head * hd]
    gate: Vec<f32>, // [T, n_ff]
    up: Vec<f32>,   // [T, n_ff]
}

impl Model {
    /// Runs one step: writes the K/V of every token of `plan` into `kv` and returns the logits
    /// of `plan.logits_rows`, as [rows, vocab].
    // hot: every generated token passes through here.
    pub fn forward(&self, cpu: &Cpu, kv: &mut KvCache, plan: &BatchPlan) -> Result<Vec<f32>, ModelError> {
        let hp = &self.hparams;
        let vocab = self.vocab_size();
        plan.validate(vocab, kv.block_size(), kv.n_blocks())?;
        let t = plan.len();
        let e = hp.n_embd as usize;
        let max_q = hp.n_head.iter().max().copied().unwrap_or(0) as usize * hp.head_dim_k as usize;
        let max_kv = hp.n_head_kv.iter().max().copied().unwrap_or(0) as usize * hp.head_dim_k as usize;
        let max_ff = hp.n_ff.iter().max().copied().unwrap_or(0) as usize;
        let mut s = Scratch {
            x: vec![0.0; t * e],
            h: vec![0.0; t * e],
            q: vec![0.0; t * max_q],
            k: vec![0.0; t * max_kv],
            v: vec![0.0; t * max_kv],
            attn: vec![0.0; t * max_q],
            gate: vec![0.0; t * max_ff],
            up: vec![0.0; t * max_ff],
        };
        self.embed(&plan.tokens, &mut s.x)?;
        for l in 0..hp.n_layer as usize {
            self.attention_block(cpu, kv, plan, l, &mut s);
            self.ffn_block(cpu, l, &mut s);
        }
        // Only the rows that need logits go through the final norm and the (large) output.
        let rows = &plan.logits_rows;
        let mut last = vec![0.0; rows.len() * e];
        for (dst, &r) in last.chunks_exact_mut(e).zip(rows) {
            cpu::rms_norm(&s.x[r * e..(r + 1) * e], &self.weights.output_norm, self.eps(), dst);
        }
        let mut logits = vec![0.0; rows.len() * vocab];
        cpu.matmul(&last, rows.len(), &self.weights.output.view(&self.file), &mut logits);
        Ok(logits)
    }

    fn eps(&self) -> f32 {
        self.hparams.norm_eps as f32
    }

    /// x[i] = token_embd[tokens[i]] (times sqrt(n_embd) where the architecture says).
    fn embed(&self, tokens: &[u32], x: &mut [f32]) -> Result<(), ModelError> {
        let w = self.weights.token_embd.view(&self.file);
        let scale = if self.spec.scale_embeddings { (self.hparams.n_embd as f32).sqrt() } else { 1.0 };
        for (row, &id) in x.chunks_exact_mut(w.cols).zip(tokens) {
            dequantize(w.ty, w.row(id as usize), row).map_err(|e| ModelError::Weight(e.to_string()))?;
            if scale != 1.0 {
                row.iter_mut().for_each(|v| *v *= scale);
            }
        }
        Ok(())
    }

    fn attention_block(&self, cpu: &Cpu, kv: &mut KvCache, plan: &BatchPlan, l: usize, s: &mut Scratch) {
        let (hp, lw, file) = (&self.hparams, &self.weights.layers[l], &self.file);
        let t = plan.len();
        let (e, hd) = (hp.n_embd as usize, hp.head_dim_k as usize);
        let (n_head, n_kv) = (hp.n_head[l] as usize, hp.n_head_kv[l] as usize);
        let (q, k, v) = (&mut s.q[..t * n_head * hd], &mut s.k[..t * n_kv * hd], &mut s.v[..t * n_kv * hd]);
        cpu::rms_norm_rows(&s.x, &lw.attn_norm, self.eps(), &mut s.h);
        cpu.matmul(&s.h, t, &lw.wq.view(file), q);
        cpu.matmul(&s.h, t, &lw.wk.view(file), k);
        cpu.matmul(&s.h, t, &lw.wv.view(file), v);
        for (buf, bias) in [(&mut *q, &lw.bq), (&mut *k, &lw.bk), (&mut *v, &lw.bv)] {
            if let Some(b) = bias {
                buf.chunks_exact_mut(b.len()).for_each(|row| cpu::add_in_place(row, b));
            }
        }
        if let (Some(qn), Some(kn)) = (&lw.q_norm, &lw.k_norm) {
            cpu::rms_norm_in_place(q, qn, self.eps());
            cpu::rms_norm_in_place(k, kn, self.eps());
        }
        let window = self.spec.window(hp, l as u32);
        let base = match (window, self.spec.swa_rope_base) {
            (Some(_), Some(b)) => b,
            _ => hp.rope_freq_base as f32,
        };
        let freq_scale = hp.rope_scaling.as_ref().map_or(1.0, |r| 1.0 / r.factor as f32);
        let rope = RopeParams { n_rot: hp.rope_dim as usize, base, freq_scale, style: self.spec.rope };
        cpu::rope(q, n_head, hd, &plan.positions, &rope);
        cpu::rope(k, n_kv, hd, &plan.positions, &rope);
        for i in 0..t {
            let w = n_kv * hd;
            kv.write(l, plan.slot(i, kv.block_size()), &k[i * w..(i + 1) * w], &v[i * w..(i + 1) * w]);
        }
        let seqs: Vec<SeqView> = plan.block_tables.iter().map(|b| SeqView { blocks: b }).collect();
        let p = AttnParams {
            n_head,
            n_kv_head: n_kv,
            head_dim: hd,
            scale: self.spec.attn_scale(hp),
            window,
            softcap: None,
        };
        let attn = &mut s.attn[..t * n_head * hd];
        let at = TokenPlaces { positions: &plan.positions, token_seq: &plan.token_seq };
        cpu.attention(q, &at, &seqs, &kv.view(l), &p, attn);
        cpu.matmul(attn, t, &lw.wo.view(file), &mut s.h);
        if let Some(w) = &lw.post_attn_norm {
            cpu::rms_norm_in_place(&mut s.h, w, self.eps());
        }
        debug_assert_eq!(s.h.len(), t * e);
        cpu::add_in_place(&mut s.x, &s.h);
    }

    fn ffn_block(&self, cpu: &Cpu, l: usize, s: &mut Scratch) {
        let (hp, lw, file) = (&self.hparams, &self.weights.layers[l], &self.file);
        let t = s.x.len() / hp.n_embd as usize;
        let ff = hp.n_ff[l] as usize;
        let (gate, up) = (&mut s.gate[..t * ff], &mut s.up[..t * ff]);
        cpu::rms_norm_rows(&s.x, &lw.ffn_norm, self.eps(), &mut s.h);
        cpu.matmul(&s.h, t, &lw.w_gate.view(file), gate);
        cpu.matmul(&s.h, t, &lw.w_up.view(file), up);
        match self.spec.activation {
            Activation::SwiGlu => cpu::swiglu(gate, up),
            Activation::GeGlu => cpu::geglu(gate, up),
        }
        cpu.matmul(gate, t, &lw.w_down.view(file), &mut s.h);
        if let Some(w) = &lw.post_ffn_norm {
            cpu::rms_norm_in_place(&mut s.h, w, self.eps());
        }
        cpu::add_in_place(&mut s.x, &s.h);
    }
}
