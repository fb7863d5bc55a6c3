//! The quantized dot products of `backend::cpu::qdot` against f64 references built from
//! `gguf::quants` dequantization, plus properties of the activation encoders and hand-derived
//! golden values.

use backend::cpu::qdot::{
    act_row_bytes, act_type_for, dot_kernel, quantize_row, quantize_row_with, vec_dot, ActType, Q8Rounding,
    WEIGHT_TYPES,
};
use gguf::quants::{dequantize_to_vec, random_blocks};
use gguf::GgmlType;
use half::f16;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

fn f32_at(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Activations: mostly uniform in ±1, some exact zeros, a few large outliers, and (where the
/// row has room) a whole zero block of 32 and of 256.
fn activations(rng: &mut StdRng, cols: usize) -> Vec<f32> {
    let mut x: Vec<f32> = (0..cols)
        .map(|_| {
            let r: f32 = rng.gen();
            let v = 2.0 * rng.gen::<f32>() - 1.0;
            if r < 0.05 {
                0.0
            } else if r < 0.07 {
                v * rng.gen_range(20.0..100.0)
            } else {
                v
            }
        })
        .collect();
    if cols >= 64 {
        x[32..64].fill(0.0);
    }
    if cols >= 1024 {
        x[512..768].fill(0.0);
    }
    x
}

/// The values an encoded activation row stands for (q * d per block; `s` of Q8_1 unused).
fn dequantize_act(ty: ActType, a: &[u8], cols: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(cols);
    match ty {
        ActType::Q8_0 | ActType::Q8_1 => {
            let (size, qs_at) = if ty == ActType::Q8_0 { (34, 2) } else { (36, 4) };
            for b in a.chunks_exact(size) {
                let d = f64::from(f16_at(b, 0));
                out.extend(b[qs_at..qs_at + 32].iter().map(|&q| f64::from(q as i8) * d));
            }
        }
        ActType::Q8_K => {
            for b in a.chunks_exact(292) {
                let d = f64::from(f32_at(b, 0));
                out.extend(b[4..260].iter().map(|&q| f64::from(q as i8) * d));
            }
        }
        ActType::F16 => out.extend(a.chunks_exact(2).map(|b| f64::from(f16_at(b, 0)))),
        ActType::BF16 => out.extend(
            a.chunks_exact(2).map(|b| f64::from(f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))),
        ),
        ActType::F32 => out.extend(a.chunks_exact(4).map(|b| f64::from(f32_at(b, 0)))),
    }
    assert_eq!(out.len(), cols);
    out
}

/// A bound on |encoded - x| for each element of `x`.
fn act_error_bound(ty: ActType, x: &[f32]) -> Vec<f64> {
    let per_block = |bs: usize, k: f64| -> Vec<f64> {
        x.chunks_exact(bs)
            .flat_map(|b| {
                let amax = b.iter().fold(0f32, |m, v| m.max(v.abs()));
                std::iter::repeat_n(k * f64::from(amax) / 127.0, bs)
            })
            .collect()
    };
    match ty {
        // Rounding (half a step of d = amax / 127) plus d stored as f16 (|q| <= 127 times a
        // relative 2^-11): d * (0.5 + 127 / 2048) < 0.57 d.
        ActType::Q8_0 | ActType::Q8_1 => per_block(32, 0.57),
        // d is stored as f32: half a step, and a little for the f32 products.
        ActType::Q8_K => per_block(256, 0.5 * (1.0 + 1e-5)),
        ActType::F16 => x.iter().map(|v| f64::from(v.abs()) / 2048.0).collect(),
        ActType::BF16 => x.iter().map(|v| f64::from(v.abs()) / 256.0).collect(),
        ActType::F32 => vec![0.0; x.len()],
    }
}

/// For Q4_1/Q5_1 (offset `m` at byte 2 of each weight block), the per-block
/// `(m, s, d * sum(q))` of the Q8_1 activation: ggml uses `m * s`, where the dequantized
/// product has `m * d * sum(q)`.
fn q8_1_min_terms(weight: GgmlType, w: &[u8], a: &[u8]) -> Vec<(f64, f64, f64)> {
    if !matches!(weight, GgmlType::Q4_1 | GgmlType::Q5_1) {
        return Vec::new();
    }
    w.chunks_exact(weight.type_size())
        .zip(a.chunks_exact(36))
        .map(|(wb, ab)| {
            let sum_q: i32 = ab[4..36].iter().map(|&q| i32::from(q as i8)).sum();
            let (m, d, s) = (f16_at(wb, 2), f16_at(ab, 0), f16_at(ab, 2));
            (f64::from(m), f64::from(s), f64::from(d) * f64::from(sum_q))
        })
        .collect()
}

fn check_pair(weight: GgmlType, cols: usize, rounding: Q8Rounding, rng: &mut StdRng) {
    let act = act_type_for(weight).expect("listed types have an activation type");
    let n_blocks = cols / weight.block_size();
    let w = random_blocks(weight, n_blocks, 1.0, rng).expect("supported type");
    let wf: Vec<f64> = dequantize_to_vec(weight, &w).expect("supported type").into_iter().map(f64::from).collect();
    let x = activations(rng, cols);
    let mut a = vec![0u8; act_row_bytes(act, cols)];
    quantize_row_with(act, &x, &mut a, rounding);
    let got = f64::from(vec_dot(weight, &w, &a, cols));
    assert!(got.is_finite(), "{weight} cols={cols}: {got}");

    // 1. Against the dot of the dequantized weights and the dequantized activations: only the
    //    f32 scale products and sums separate them, so the tolerance is tight.
    let af = dequantize_act(act, &a, cols);
    let mut want: f64 = wf.iter().zip(&af).map(|(w, a)| w * a).sum();
    let mut magnitude: f64 = wf.iter().zip(&af).map(|(w, a)| (w * a).abs()).sum();
    let min_terms = q8_1_min_terms(weight, &w, &a);
    for &(m, s, d_sum_q) in &min_terms {
        want += m * (s - d_sum_q);
        magnitude += (m * s).abs();
    }
    let tol = 1e-5 * magnitude + 1e-30;
    assert!(
        (got - want).abs() <= tol,
        "{weight} x {act:?} ({rounding:?}) cols={cols}: got {got}, dequantized reference {want}, \
         tol {tol}"
    );

    // 2. Against the unquantized activations: off by at most the activations' encoding error.
    let exact: f64 = wf.iter().zip(&x).map(|(w, x)| w * f64::from(*x)).sum();
    let bound = act_error_bound(act, &x);
    let bs = weight.block_size();
    let mut tol: f64 = 1e-5 * wf.iter().zip(&x).map(|(w, x)| (w * f64::from(*x)).abs()).sum::<f64>();
    for (i, (w, e)) in wf.iter().zip(&bound).enumerate() {
        // With an offset m, the weight's integer part can exceed |w| by |m|.
        let m = min_terms.get(i / bs).map_or(0.0, |t| t.0.abs());
        tol += (w.abs() + m) * e;
    }
    for &(m, s, _) in &min_terms {
        tol += (m * s).abs() / 1024.0; // s is d * sum(q) rounded to f16
    }
    assert!(
        (got - exact).abs() <= tol + 1e-30,
        "{weight} x {act:?} ({rounding:?}) cols={cols}: got {got}, unquantized {exact}, tol {tol}"
    );
}

#[test]
fn every_weight_type_matches_f64_references() {
    let mut rng = StdRng::seed_from_u64(0x0d07);
    for weight in WEIGHT_TYPES {
        let mut cols_list = vec![256, 1024];
        if weight.block_size() < 256 {
            cols_list.extend([32, 64]);
        }
        for cols in cols_list {
            for _ in 0..4 {
                check_pair(weight, cols, Q8Rounding::X86Avx, &mut rng);
                check_pair(weight, cols, Q8Rounding::Reference, &mut rng);
            }
        }
    }
}

#[test]
fn activation_types_follow_type_traits_cpu() {
    use GgmlType::*;
    for (w, a) in [
        (Q4_0, ActType::Q8_0),
        (Q5_0, ActType::Q8_0),
        (Q8_0, ActType::Q8_0),
        (IQ4_NL, ActType::Q8_0),
        (MXFP4, ActType::Q8_0),
        (Q4_1, ActType::Q8_1),
        (Q5_1, ActType::Q8_1),
        (Q2_K, ActType::Q8_K),
        (Q3_K, ActType::Q8_K),
        (Q4_K, ActType::Q8_K),
        (Q5_K, ActType::Q8_K),
        (Q6_K, ActType::Q8_K),
        (IQ4_XS, ActType::Q8_K),
        (F16, ActType::F16),
        (BF16, ActType::BF16),
        (F32, ActType::F32),
    ] {
        assert_eq!(act_type_for(w), Some(a), "{w}");
        assert!(dot_kernel(w).is_some(), "{w}");
    }
    for w in [Q8_1, Q8_K, IQ2_XXS, IQ1_S, TQ1_0, I8, F64] {
        assert_eq!(act_type_for(w), None, "{w}");
        assert!(dot_kernel(w).is_none(), "{w}");
    }
    assert_eq!(act_row_bytes(ActType::Q8_0, 1024), 32 * 34);
    assert_eq!(act_row_bytes(ActType::Q8_1, 1024), 32 * 36);
    assert_eq!(act_row_bytes(ActType::Q8_K, 1024), 4 * 292);
    assert_eq!(act_row_bytes(ActType::F16, 1024), 2048);
    assert_eq!(act_row_bytes(ActType::BF16, 1024), 2048);
    assert_eq!(act_row_bytes(ActType::F32, 1024), 4096);
}

#[test]
#[should_panic(expected = "no quantized dot product")]
fn unsupported_weight_type_panics() {
    vec_dot(GgmlType::IQ2_XXS, &[0; 66], &[0; 292], 256);
}

/// Q8_0/Q8_1: d is amax / 127 as f16, every quant within 0.57 d of x / d, |q| <= 127; Q8_1's s
/// is d (the f32 one) times the sum of the quants, rounded to f16.
#[test]
fn q8_0_and_q8_1_round_trip() {
    let mut rng = StdRng::seed_from_u64(7);
    for rounding in [Q8Rounding::X86Avx, Q8Rounding::Reference] {
        for _ in 0..20 {
            let x = activations(&mut rng, 1024);
            for ty in [ActType::Q8_0, ActType::Q8_1] {
                let (size, qs_at) = if ty == ActType::Q8_0 { (34, 2) } else { (36, 4) };
                let mut a = vec![0u8; act_row_bytes(ty, x.len())];
                quantize_row_with(ty, &x, &mut a, rounding);
                for (xb, b) in x.chunks_exact(32).zip(a.chunks_exact(size)) {
                    let amax = xb.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let d = amax / 127.0;
                    assert_eq!(f16_at(b, 0).to_bits(), f16::from_f32(d).to_f32().to_bits());
                    let d16 = f16_at(b, 0);
                    let mut sum_q = 0i32;
                    for (&v, &q) in xb.iter().zip(&b[qs_at..qs_at + 32]) {
                        let q = q as i8;
                        assert!(q >= -127, "{q}");
                        sum_q += i32::from(q);
                        let err = (f64::from(q) * f64::from(d16) - f64::from(v)).abs();
                        assert!(err <= 0.57 * f64::from(d), "{ty:?} {v}: q={q} d={d16}");
                    }
                    if ty == ActType::Q8_1 {
                        let s = f16::from_f32(d * sum_q as f32).to_f32();
                        assert_eq!(f16_at(b, 2).to_bits(), s.to_bits(), "{ty:?} s");
                    }
                }
            }
        }
    }
}

/// Q8_K: d = max / -127 in f32 (the value of largest magnitude encodes as -127), quants
/// within half a step, bsums the sums of each 16 quants.
#[test]
fn q8_k_round_trip_and_bsums() {
    let mut rng = StdRng::seed_from_u64(8);
    for _ in 0..20 {
        let x = activations(&mut rng, 1024);
        let mut a = vec![0u8; act_row_bytes(ActType::Q8_K, x.len())];
        quantize_row(ActType::Q8_K, &x, &mut a);
        for (xb, b) in x.chunks_exact(256).zip(a.chunks_exact(292)) {
            let d = f32_at(b, 0);
            let qs: Vec<i32> = b[4..260].iter().map(|&q| i32::from(q as i8)).collect();
            for (j, group) in qs.chunks_exact(16).enumerate() {
                let bsum = i16::from_le_bytes([b[260 + 2 * j], b[261 + 2 * j]]);
                assert_eq!(i32::from(bsum), group.iter().sum::<i32>(), "bsum {j}");
            }
            let (imax, max) = xb.iter().enumerate().fold(
                (0, 0f32),
                |(i, m), (j, &v)| {
                    if v.abs() > m.abs() {
                        (j, v)
                    } else {
                        (i, m)
                    }
                },
            );
            if max == 0.0 {
                assert_eq!(d, 0.0);
                assert!(qs.iter().all(|&q| q == 0));
                continue;
            }
            assert_eq!(d.to_bits(), (1.0 / (-127.0 / max)).to_bits());
            assert_eq!(qs[imax], -127);
            for (&v, &q) in xb.iter().zip(&qs) {
                assert!((-127..=127).contains(&q));
                let err = (f64::from(q) * f64::from(d) - f64::from(v)).abs();
                assert!(err <= 0.5 * f64::from(d.abs()) * (1.0 + 1e-5), "{v}: q={q} d={d}");
            }
        }
    }
}

#[test]
fn zero_rows_encode_to_zero_and_dot_to_zero() {
    let mut rng = StdRng::seed_from_u64(9);
    let x = vec![0f32; 256];
    for weight in WEIGHT_TYPES {
        let act = act_type_for(weight).expect("listed");
        for rounding in [Q8Rounding::X86Avx, Q8Rounding::Reference] {
            let mut a = vec![0xAAu8; act_row_bytes(act, x.len())];
            quantize_row_with(act, &x, &mut a, rounding);
            assert!(a.iter().all(|&b| b == 0), "{act:?}: {a:?}");
            let w = random_blocks(weight, 256 / weight.block_size(), 1.0, &mut rng).expect("supported");
            let got = vec_dot(weight, &w, &a, 256);
            assert_eq!(got, 0.0, "{weight}");
        }
    }
}

/// Where `x * id` is exactly a half-integer the two Q8_0 encoders part: the reference rounds
/// away from zero (`roundf`), x86 to even (`_MM_ROUND_NEAREST`). Q8_K's `nearest_int` rounds
/// to even. With amax = 127 both scales are exactly 1 (ref: id = 1 / (127 / 127); x86:
/// id = 127 / 127), so x itself is what gets rounded.
#[test]
fn half_way_ties() {
    let mut x = vec![0f32; 256];
    x[0] = 127.0;
    let ties = [0.5f32, 1.5, 2.5, -0.5, -2.5, 3.25];
    x[1..7].copy_from_slice(&ties);
    let q8_0 = |rounding| {
        let mut a = vec![0u8; act_row_bytes(ActType::Q8_0, 32)];
        quantize_row_with(ActType::Q8_0, &x[..32], &mut a, rounding);
        assert_eq!(f16_at(&a, 0), 1.0);
        a[3..9].iter().map(|&q| q as i8).collect::<Vec<_>>()
    };
    assert_eq!(q8_0(Q8Rounding::Reference), [1, 2, 3, -1, -3, 3]);
    assert_eq!(q8_0(Q8Rounding::X86Avx), [0, 2, 2, 0, -2, 3]);

    // Q8_K: max = +127, iscale = -1, d = -1: -x rounded half to even.
    let mut a = vec![0u8; act_row_bytes(ActType::Q8_K, 256)];
    quantize_row(ActType::Q8_K, &x, &mut a);
    assert_eq!(f32_at(&a, 0), -1.0);
    assert_eq!(a[4] as i8, -127);
    let got: Vec<i8> = a[5..11].iter().map(|&q| q as i8).collect();
    assert_eq!(got, [0, -2, -2, 0, 2, -3]);
}

/// The two Q8_0 encoders agree on all but a rare quant, and then by one.
#[test]
fn q8_roundings_rarely_differ() {
    let mut rng = StdRng::seed_from_u64(10);
    let mut differ = 0;
    let n = 200 * 1024;
    for _ in 0..200 {
        let x = activations(&mut rng, 1024);
        let mut a = vec![0u8; act_row_bytes(ActType::Q8_0, 1024)];
        let mut b = a.clone();
        quantize_row_with(ActType::Q8_0, &x, &mut a, Q8Rounding::X86Avx);
        quantize_row_with(ActType::Q8_0, &x, &mut b, Q8Rounding::Reference);
        for (ba, bb) in a.chunks_exact(34).zip(b.chunks_exact(34)) {
            assert_eq!(ba[..2], bb[..2]);
            for (&qa, &qb) in ba[2..].iter().zip(&bb[2..]) {
                let diff = (i32::from(qa as i8) - i32::from(qb as i8)).abs();
                assert!(diff <= 1);
                differ += diff as usize;
            }
        }
    }
    assert!(differ * 1000 < n, "{differ} of {n} quants differ");
}

/// Q4_0 x Q8_0, two blocks, by hand (ggml: sumf += sumi * dx * dy per block).
///
/// Block 0: dx = 0.5 (f16 0x3800), qs[j] = j | (15 - j) << 4, so weights (q - 8) are j - 8 for
/// element j < 16 and 7 - j for element 16 + j; dy = 0.25 (0x3400), y[k] = k - 16 (k < 32).
///   sumi0 = sum_{j<16} (j - 8)(j - 16) = sum j^2 - 24 sum j + 128 * 16
///         = 1240 - 2880 + 2048 = 408
///   sumi1 = sum_{j<16} (7 - j) * j = 7 * 120 - 1240 = -400
///   block 0 = (408 - 400) * 0.5 * 0.25 = 1.0
/// Block 1: dx = 2.0 (0x4000), every nibble 15 (weight 7); dy = 0.125 (0x3000), every y = 3:
///   sumi = 32 * 7 * 3 = 672; block 1 = 672 * 2.0 * 0.125 = 168.0
/// Total: 169.0 (every step exact in f32).
#[test]
fn golden_q4_0() {
    let mut w = Vec::new();
    w.extend_from_slice(&0x3800u16.to_le_bytes());
    w.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
    w.extend_from_slice(&0x4000u16.to_le_bytes());
    w.extend([0xFFu8; 16]);
    let mut a = Vec::new();
    a.extend_from_slice(&0x3400u16.to_le_bytes());
    a.extend((0..32i8).map(|k| (k - 16) as u8));
    a.extend_from_slice(&0x3000u16.to_le_bytes());
    a.extend([3u8; 32]);
    assert_eq!(vec_dot(GgmlType::Q4_0, &w, &a, 64), 169.0);
    // And the dequantized check of the same numbers.
    let wf = dequantize_to_vec(GgmlType::Q4_0, &w).expect("q4_0");
    let af = dequantize_act(ActType::Q8_0, &a, 64);
    let want: f64 = wf.iter().zip(&af).map(|(w, a)| f64::from(*w) * a).sum();
    assert_eq!(want, 169.0);
}

/// Q4_K x Q8_K, one super-block, by hand.
///
/// Weight: d = 1.0 (0x3C00), dmin = 0.5 (0x3800); sub-block scales sc = [1, 2, 3, 4, 20, 6, 7,
/// 8], mins m = [0, 1, 2, 3, 4, 5, 6, 33], packed as in get_scale_min_k4:
///   bytes 0..4  = sc[0..4] | (top 2 bits of sc[4..8]) << 6  -> 1 | 1 << 6 (sc[4] = 20 = 16 + 4), 2, 3, 4
///   bytes 4..8  = m[0..4] | (top 2 bits of m[4..8]) << 6    -> 0, 1, 2, 3 | 2 << 6 (m[7] = 33 = 32 + 1)
///   bytes 8..12 = (sc[4..8] & 15) | (m[4..8] & 15) << 4     -> 4 | 4 << 4, 6 | 5 << 4, 7 | 6 << 4, 8 | 1 << 4
/// Quants: element e has q = (e % 32) % 16, i.e. every qs byte is v | v << 4 with v = l % 16.
/// Activation: d = 0.5, q8[e] = e % 7 - 3.
/// Per sub-block j (32 elements) the integer sums sum(q * q8) and sum(q8) (numpy/by hand):
///   sum(q * q8) = [-44, 27, -42, 43, -12, -18, 46, -44],  sum(q8) = [-6, 3, -2, 0, 2, -3, 6, -6]
///   isum = sum sc[j] * sum(q * q8) = -322;  msum = sum m[j] * sum(q8) = -170
///   result = (d * dy) * isum - (dmin * dy) * msum = 0.5 * -322 - 0.25 * -170 = -161 + 42.5
///          = -118.5 (exact in f32 whatever the order).
#[test]
fn golden_q4_k() {
    let mut w = Vec::new();
    w.extend_from_slice(&0x3C00u16.to_le_bytes());
    w.extend_from_slice(&0x3800u16.to_le_bytes());
    w.extend([1 | 1 << 6, 2, 3, 4, 0, 1, 2, 3 | 2 << 6]);
    w.extend([4 | 4 << 4, 6 | 5 << 4, 7 | 6 << 4, 8 | 1 << 4]);
    for _ in 0..4 {
        w.extend((0..32u8).map(|l| (l % 16) | ((l % 16) << 4)));
    }
    assert_eq!(w.len(), 144);
    let x: Vec<f32> = (0..256).map(|e| ((e % 7) as f32 - 3.0) * 0.5).collect();
    // Build the Q8_K block directly (d = 0.5, not what the encoder would choose).
    let mut a = Vec::new();
    a.extend_from_slice(&0.5f32.to_le_bytes());
    a.extend((0..256).map(|e| ((e % 7) as i8 - 3) as u8));
    for j in 0..16 {
        let s: i16 = (16 * j..16 * j + 16).map(|e| (e % 7) as i16 - 3).sum();
        a.extend_from_slice(&s.to_le_bytes());
    }
    assert_eq!(vec_dot(GgmlType::Q4_K, &w, &a, 256), -118.5);
    let wf = dequantize_to_vec(GgmlType::Q4_K, &w).expect("q4_k");
    let want: f64 = wf.iter().zip(&x).map(|(w, x)| f64::from(*w) * f64::from(*x)).sum();
    assert_eq!(want, -118.5);
}

/// The f32 steps of the 32-block kernels, bit for bit: the weights' integer quants are
/// recovered exactly from the dequantized values (level * d, exact in f32 for these types),
/// the per-block integer sum formed, and the scale products taken in the order of the C
/// expression of each generic kernel.
#[test]
fn block32_scale_order_is_bit_exact() {
    let mut rng = StdRng::seed_from_u64(11);
    for weight in [GgmlType::Q4_0, GgmlType::Q8_0, GgmlType::IQ4_NL, GgmlType::MXFP4] {
        for _ in 0..50 {
            let cols = 1024;
            let w = random_blocks(weight, cols / 32, 1.0, &mut rng).expect("supported");
            let wf = dequantize_to_vec(weight, &w).expect("supported");
            let x = activations(&mut rng, cols);
            let mut a = vec![0u8; act_row_bytes(ActType::Q8_0, cols)];
            quantize_row(ActType::Q8_0, &x, &mut a);
            let mut sumf = 0f32;
            let blocks = w.chunks_exact(weight.type_size()).zip(a.chunks_exact(34));
            for (i, (wb, ab)) in blocks.enumerate() {
                let dx = match weight {
                    // MXFP4: 2^(e - 128), the scale of the doubled E2M1 levels.
                    GgmlType::MXFP4 => 2f32.powi(i32::from(wb[0]) - 128),
                    _ => f16_at(wb, 0),
                };
                let dy = f16_at(ab, 0);
                let mut sumi = 0i32;
                for j in 0..32 {
                    let level = wf[32 * i + j] / dx;
                    assert_eq!(level, level.round(), "{weight}: {level}");
                    sumi += level as i32 * i32::from(ab[2 + j] as i8);
                }
                sumf += match weight {
                    GgmlType::Q4_0 => sumi as f32 * dx * dy,
                    GgmlType::Q8_0 => sumi as f32 * (dx * dy),
                    _ => (dy * dx) * sumi as f32, // IQ4_NL, MXFP4: d = y.d * x.d; d * sumi
                };
            }
            let got = vec_dot(weight, &w, &a, cols);
            assert_eq!(got.to_bits(), sumf.to_bits(), "{weight}: {got} vs {sumf}");
        }
    }
}

/// Q4_K's f32 steps bit for bit, from a decoding of the block written out here element by
/// element: per super-block the eight i32 lanes (element index mod 8) of scale * q8 * q and
/// the sum of bsums * min; then `sums[l] += (d * y.d) * lane[l]`, `sumf -= (dmin * y.d) *
/// summin`, and at the end `sumf += sums[l]` for l = 0..8.
#[test]
fn q4_k_lane_order_is_bit_exact() {
    let mut rng = StdRng::seed_from_u64(12);
    for _ in 0..50 {
        let cols = 1024;
        let w = random_blocks(GgmlType::Q4_K, cols / 256, 1.0, &mut rng).expect("q4_k");
        let x = activations(&mut rng, cols);
        let mut a = vec![0u8; act_row_bytes(ActType::Q8_K, cols)];
        quantize_row(ActType::Q8_K, &x, &mut a);
        let (mut sums, mut sumf) = ([0f32; 8], 0f32);
        for (wb, ab) in w.chunks_exact(144).zip(a.chunks_exact(292)) {
            let p = &wb[4..16];
            let scale_min = |j: usize| -> (i32, i32) {
                if j < 4 {
                    (i32::from(p[j] & 63), i32::from(p[j + 4] & 63))
                } else {
                    let sc = (p[j + 4] & 0xF) | ((p[j - 4] >> 6) << 4);
                    let m = (p[j + 4] >> 4) | ((p[j] >> 6) << 4);
                    (i32::from(sc), i32::from(m))
                }
            };
            let mut lanes = [0i32; 8];
            let mut summin = 0i32;
            for e in 0..256 {
                let byte = wb[16 + 32 * (e / 64) + e % 32];
                let q = i32::from(if (e / 32) % 2 == 0 { byte & 0xF } else { byte >> 4 });
                let (sc, m) = scale_min(e / 32);
                let q8 = i32::from(ab[4 + e] as i8);
                lanes[e % 8] += sc * q * q8;
                summin += m * q8;
            }
            let dy = f32_at(ab, 0);
            for l in 0..8 {
                sums[l] += (f16_at(wb, 0) * dy) * lanes[l] as f32;
            }
            sumf -= (f16_at(wb, 2) * dy) * summin as f32;
        }
        for s in sums {
            sumf += s;
        }
        let got = vec_dot(GgmlType::Q4_K, &w, &a, cols);
        assert_eq!(got.to_bits(), sumf.to_bits(), "{got} vs {sumf}");
    }
}
