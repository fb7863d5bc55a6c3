//! Rotary position embedding, mirroring ggml's rope (ggml_rope_cache_init with ext_factor 0):
//! theta starts at `pos` and is multiplied by `base^(-2/n_rot)` per pair in f32, each pair's
//! angle is `freq_scale * theta`, and the rotation contracts its first product into an FMA as
//! ggml's build does (`x0 * cos - x1 * sin` = `fma(x0, cos, -(x1 * sin))`), so results have
//! llama.cpp's bits.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// Rotate adjacent pairs (x[2i], x[2i+1]): LLAMA_ROPE_TYPE_NORM (llama, mistral).
    Norm,
    /// Rotate halves (x[i], x[i + n_rot/2]): LLAMA_ROPE_TYPE_NEOX (qwen2, qwen3, gemma3).
    Neox,
}

#[derive(Clone, Copy, Debug)]
pub struct RopeParams {
    /// Rotated dimensions per head (the rest pass through).
    pub n_rot: usize,
    pub base: f32,
    /// 1 / linear scaling factor.
    pub freq_scale: f32,
    pub style: RopeStyle,
}

/// x: [t, n_heads, head_dim], rotated in place; positions: [t].
pub fn rope(x: &mut [f32], n_heads: usize, head_dim: usize, positions: &[u32], p: &RopeParams) {
    let half = p.n_rot / 2;
    let theta_scale = p.base.powf(-2.0 / p.n_rot as f32);
    let mut cos_sin = vec![(0f32, 0f32); half];
    for (tok, &pos) in x.chunks_exact_mut(n_heads * head_dim).zip(positions) {
        let mut theta = pos as f32;
        for cs in cos_sin.iter_mut() {
            let angle = p.freq_scale * theta;
            *cs = (angle.cos(), angle.sin());
            theta *= theta_scale;
        }
        super::vexp::with_fma(|| {
            for head in tok.chunks_exact_mut(head_dim) {
                for (i, &(c, s)) in cos_sin.iter().enumerate() {
                    let (a, b) = match p.style {
                        RopeStyle::Norm => (2 * i, 2 * i + 1),
                        RopeStyle::Neox => (i, i + half),
                    };
                    let (x0, x1) = (head[a], head[b]);
                    head[a] = x0.mul_add(c, -(x1 * s));
                    head[b] = x0.mul_add(s, x1 * c);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_zero_is_identity_and_norm_is_kept() {
        for style in [RopeStyle::Norm, RopeStyle::Neox] {
            let p = RopeParams { n_rot: 8, base: 10000.0, freq_scale: 1.0, style };
            let orig: Vec<f32> = (0..16).map(|i| i as f32 * 0.25 - 1.0).collect();
            let mut x = orig.clone();
            rope(&mut x, 2, 8, &[0], &p);
            assert_eq!(x, orig);
            rope(&mut x, 2, 8, &[37], &p);
            let n = |v: &[f32]| v.iter().map(|a| a * a).sum::<f32>();
            assert!((n(&x) - n(&orig)).abs() < 1e-4);
            assert_ne!(x, orig);
        }
    }

    /// q·k after rope depends only on the distance between positions.
    #[test]
    fn dot_products_depend_on_relative_position() {
        let p = RopeParams { n_rot: 16, base: 10000.0, freq_scale: 1.0, style: RopeStyle::Neox };
        let q0: Vec<f32> = (0..16).map(|i| (i as f32).sin()).collect();
        let k0: Vec<f32> = (0..16).map(|i| (i as f32 * 0.7).cos()).collect();
        let at = |v: &[f32], pos| {
            let mut v = v.to_vec();
            rope(&mut v, 1, 16, &[pos], &p);
            v
        };
        let d = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let (a, b) = (d(&at(&q0, 10), &at(&k0, 7)), d(&at(&q0, 103), &at(&k0, 100)));
        assert!((a - b).abs() < 1e-3, "{a} vs {b}");
    }
}
