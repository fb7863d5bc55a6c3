//! `exp` for softmax weights, written so that loops over it vectorise (no libm call, no
//! branches) and sums over a vocabulary run in independent lanes.
//!
//! Weights are `exp(x)` with `x <= 0`; a relative error of a few 1e-7 is far below anything
//! sampling or reported logprobs can show, and the top token's weight `exp(0)` is exactly 1.

/// `e^x` for `x <= 88`, within ~2e-7 relative down to `-87`; `0` below about `-88` (where
/// `e^x < 2^-127`), so `-inf` gives `0`, as does NaN (callers never pass NaN).
///
/// No branches and no float-to-int conversion with NaN checks: any of those keeps a loop over
/// this function scalar.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that `n * LN2_HI` is exact for |n| < 2^8 (Cody-Waite reduction).
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding then subtracting 1.5 * 2^23 rounds to the nearest integer without `roundf`, which
    // would be a libm call on baseline x86-64; the integer also lands in `t`'s low bits.
    const ROUND: f32 = 12_582_912.0;

    // Far enough down that n + 127 < 0 below, so the scale comes out as exactly 0. Not `clamp`:
    // that keeps NaN, `max` maps it to -100 and so to 0.
    #[allow(clippy::manual_clamp)]
    let xc = x.max(-100.0).min(88.0);
    let t = xc * LOG2_E + ROUND;
    let n = t - ROUND;
    let r = xc - n * LN2_HI - n * LN2_LO;
    // e^r on |r| <= ln2/2: Taylor to degree 6, error below r^7/7! ~ 1.2e-7 relative.
    let p = 1.0 / 720.0;
    let p = p * r + 1.0 / 120.0;
    let p = p * r + 1.0 / 24.0;
    let p = p * r + 1.0 / 6.0;
    let p = p * r + 0.5;
    let p = p * r + 1.0;
    let p = p * r + 1.0;
    // 2^n from its exponent bits; a biased exponent <= 0 (n <= -127) gives 0.
    let n_int = t.to_bits().wrapping_sub(ROUND.to_bits()) as i32;
    let biased = (n_int + 127).max(0) as u32;
    p * f32::from_bits(biased << 23)
}

/// Independent accumulators of [`sum_map`], so the adds form parallel chains that vectorise.
const LANES: usize = 8;

/// `sum(f(x))` over `xs`, accumulated in f64 lanes: f32 accumulators lose tiny weights added
/// to a large one (1 + 6e-8 rounds to 1 + 1.2e-7), which shifts top-p cuts measurably.
#[inline(always)]
pub(crate) fn sum_map(xs: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let mut it = xs.chunks_exact(LANES);
    for c in &mut it {
        // A fixed-size array lets the compiler keep all lanes in vector registers.
        let Ok(c) = <&[f32; LANES]>::try_from(c) else {
            continue;
        };
        for j in 0..LANES {
            lanes[j] += f(c[j]) as f64;
        }
    }
    let tail: f64 = it.remainder().iter().map(|&x| f(x) as f64).sum();
    lanes.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_std_exp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 10.0 {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            worst = worst.max(((got - want) / want).abs());
            x += 0.001_3;
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-88.5), 0.0);
        assert_eq!(exp(f32::NAN), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-1e30), 0.0);
    }

    #[test]
    fn sum_map_sums() {
        let xs: Vec<f32> = (0..5_003).map(|i| -(i as f32) / 1000.0).collect();
        let want: f64 = xs.iter().map(|&x| (x as f64).exp()).sum();
        let got = sum_map(&xs, exp);
        assert!((got - want).abs() / want < 1e-6, "{got} vs {want}");
    }
}
