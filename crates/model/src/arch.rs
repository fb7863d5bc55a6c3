//! Architectures as data: what distinguishes llama, qwen2, qwen3 and gemma3 in the one shared
//! forward pass (llama.cpp's llm_build_* graphs for each, in src/models/).

use backend::cpu::RopeStyle;

use crate::hparams::HParams;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// silu(gate) * up
    SwiGlu,
    /// gelu_tanh(gate) * up
    GeGlu,
}

/// Which layers use sliding-window attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwaPattern {
    None,
    /// Layer `l` is windowed unless `(l + 1) % n == 0` (gemma3: five local, one global).
    AllButEveryNth(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ArchSpec {
    pub rope: RopeStyle,
    /// Per-head RMS norm of Q and K before rope (`attn_q_norm` / `attn_k_norm`).
    pub qk_norm: bool,
    /// RMS norms on the attention and FFN outputs before the residual add
    /// (`post_attention_norm` / `post_ffw_norm`).
    pub post_norms: bool,
    pub activation: Activation,
    /// Multiply embeddings by sqrt(n_embd).
    pub scale_embeddings: bool,
    pub swa: SwaPattern,
    /// Rope base of the windowed layers when it differs from `rope.freq_base`.
    pub swa_rope_base: Option<f32>,
    /// Gemma's query scaling: 1/sqrt(n_embd / n_head) for the 27B model (62 layers).
    pub gemma_query_scale: bool,
}

impl ArchSpec {
    /// The spec for `general.architecture`, or None when we do not run it.
    pub fn for_arch(arch: &str) -> Option<ArchSpec> {
        let llama = ArchSpec {
            rope: RopeStyle::Norm,
            qk_norm: false,
            post_norms: false,
            activation: Activation::SwiGlu,
            scale_embeddings: false,
            swa: SwaPattern::None,
            swa_rope_base: None,
            gemma_query_scale: false,
        };
        Some(match arch {
            "llama" => llama,
            "qwen2" => ArchSpec { rope: RopeStyle::Neox, ..llama },
            "qwen3" => ArchSpec { rope: RopeStyle::Neox, qk_norm: true, ..llama },
            "gemma3" => ArchSpec {
                rope: RopeStyle::Neox,
                qk_norm: true,
                post_norms: true,
                activation: Activation::GeGlu,
                scale_embeddings: true,
                swa: SwaPattern::AllButEveryNth(6),
                swa_rope_base: Some(10_000.0),
                gemma_query_scale: true,
            },
            _ => return None,
        })
    }

    pub const SUPPORTED: &'static [&'static str] = &["llama", "qwen2", "qwen3", "gemma3"];

    /// The attention window of layer `l`, if it is windowed.
    pub fn window(&self, hp: &HParams, l: u32) -> Option<usize> {
        match (self.swa, hp.sliding_window) {
            (SwaPattern::AllButEveryNth(n), Some(w)) if !(l + 1).is_multiple_of(n) => Some(w as usize),
            _ => None,
        }
    }

    /// Scale applied to q·k. llama.cpp's gemma3 graph scales Q by 1/sqrt(n_embd / n_head) for
    /// the 27B model (62 layers) and by 1/sqrt(head_dim) otherwise; everyone else uses
    /// 1/sqrt(head_dim).
    pub fn attn_scale(&self, hp: &HParams) -> f32 {
        let d = match (self.gemma_query_scale, hp.n_layer) {
            (true, 62) => hp.n_embd / hp.n_head[0],
            _ => hp.head_dim_k,
        };
        1.0 / (d as f32).sqrt()
    }
}
