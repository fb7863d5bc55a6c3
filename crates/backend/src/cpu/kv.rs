//! One layer's K or V rows in host memory, in the cache's element type ([`KvType`]), and how
//! a row is written and read back.

use half::f16;

use super::qdot::{quantize_row, ActType};
use crate::{KvType, Q8_0_BLOCK};

/// Bytes of one encoded Q8_0 block: `d` f16 | 32 i8 quants.
const Q8_0_BYTES: usize = 2 + Q8_0_BLOCK;

/// K or V of one layer: `slots` rows of `width` values (n_kv_head * head_dim).
pub enum KvRows {
    F16(Vec<f16>), // [slots, width]
    Q8_0 {
        qs: Vec<i8>, // [slots, width] quants
        d: Vec<f16>, // [slots, width / 32] block scales
    },
}

/// Borrowed [`KvRows`], as attention reads them. Offsets into either are value offsets
/// (`slot * width + head * head_dim + dim`), the same for both types.
#[derive(Clone, Copy)]
pub enum KvData<'a> {
    F16(&'a [f16]),
    Q8_0 { qs: &'a [i8], d: &'a [f16] },
}

impl KvRows {
    /// Zeroed rows. For q8_0, `width` must be a whole number of blocks (heads of a multiple of
    /// 32 values; [`KvType::check_head_dim`]).
    pub fn new(ty: KvType, slots: usize, width: usize) -> KvRows {
        match ty {
            KvType::F16 => KvRows::F16(vec![f16::ZERO; slots * width]),
            KvType::Q8_0 => {
                assert!(width.is_multiple_of(Q8_0_BLOCK), "q8_0 KV rows of {width} values are not whole blocks");
                KvRows::Q8_0 { qs: vec![0; slots * width], d: vec![f16::ZERO; slots * width / Q8_0_BLOCK] }
            }
        }
    }

    /// Stores `x` ([width]) as row `slot`: rounded to f16, or encoded as Q8_0 blocks by the CPU's
    /// Q8_0 activation encoder (the same quants and scales as ggml's cache write on x86).
    pub fn write(&mut self, slot: usize, x: &[f32]) {
        let w = x.len();
        match self {
            KvRows::F16(rows) => {
                rows[slot * w..(slot + 1) * w].iter_mut().zip(x).for_each(|(d, s)| *d = f16::from_f32(*s));
            }
            KvRows::Q8_0 { qs, d } => {
                let qs = &mut qs[slot * w..(slot + 1) * w];
                let d = &mut d[slot * w / Q8_0_BLOCK..(slot + 1) * w / Q8_0_BLOCK];
                let mut block = [0u8; Q8_0_BYTES];
                for ((x, q), d) in x.chunks_exact(Q8_0_BLOCK).zip(qs.chunks_exact_mut(Q8_0_BLOCK)).zip(d) {
                    quantize_row(ActType::Q8_0, x, &mut block);
                    *d = f16::from_le_bytes([block[0], block[1]]);
                    q.iter_mut().zip(&block[2..]).for_each(|(q, &b)| *q = b as i8);
                }
            }
        }
    }

    pub fn data(&self) -> KvData<'_> {
        match self {
            KvRows::F16(rows) => KvData::F16(rows),
            KvRows::Q8_0 { qs, d } => KvData::Q8_0 { qs, d },
        }
    }
}

impl KvData<'_> {
    /// Values `at..at + out.len()` as f32 (`d * q` for q8_0, exact); `at` and the length are
    /// whole q8_0 blocks.
    pub fn read(&self, at: usize, out: &mut [f32]) {
        match *self {
            KvData::F16(rows) => out.iter_mut().zip(&rows[at..]).for_each(|(o, v)| *o = v.to_f32()),
            KvData::Q8_0 { qs, d } => {
                let blocks = out.chunks_exact_mut(Q8_0_BLOCK).zip(qs[at..].chunks_exact(Q8_0_BLOCK));
                for ((o, q), d) in blocks.zip(&d[at / Q8_0_BLOCK..]) {
                    let d = d.to_f32();
                    o.iter_mut().zip(q).for_each(|(o, &q)| *o = d * f32::from(q));
                }
            }
        }
    }

    /// Values held (rows * width).
    pub fn len(&self) -> usize {
        match self {
            KvData::F16(rows) => rows.len(),
            KvData::Q8_0 { qs, .. } => qs.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The q8_0 write is ggml's Q8_0 encoding (our encoder, bit for bit), read back as d * q
    /// within half a quant step of the input; other rows stay untouched.
    #[test]
    fn q8_0_rows_round_trip_within_half_a_step() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let (slots, width) = (5, 128);
        let mut rows = KvRows::new(KvType::Q8_0, slots, width);
        let x: Vec<f32> = (0..width).map(|i| rng.gen_range(-3.0..3.0) * if i < 32 { 0.01 } else { 1.0 }).collect();
        rows.write(3, &x);
        let mut encoded = vec![0u8; width / 32 * 34];
        quantize_row(ActType::Q8_0, &x, &mut encoded);
        let KvRows::Q8_0 { qs, d } = &rows else { unreachable!() };
        for (b, block) in encoded.chunks_exact(34).enumerate() {
            assert_eq!(d[3 * width / 32 + b].to_le_bytes(), [block[0], block[1]], "block {b} scale");
            for (i, &q) in block[2..].iter().enumerate() {
                assert_eq!(qs[3 * width + 32 * b + i], q as i8, "block {b} quant {i}");
            }
        }
        let mut back = vec![f32::NAN; width];
        rows.data().read(3 * width, &mut back);
        for (b, (x, y)) in x.chunks_exact(32).zip(back.chunks_exact(32)).enumerate() {
            let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            // Half a quant step, plus the f16 rounding of d (2^-11 relative) over 127 steps.
            let tol = amax / 127.0 * (0.5 + 127.0 / 2048.0);
            for (a, b2) in x.iter().zip(y) {
                assert!((a - b2).abs() <= tol, "block {b}: {a} read back as {b2} (tol {tol})");
            }
        }
        let mut other = vec![f32::NAN; width];
        rows.data().read(2 * width, &mut other);
        assert!(other.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn f16_rows_round_to_nearest() {
        let mut rows = KvRows::new(KvType::F16, 2, 8);
        let x = [1.0f32 / 3.0; 8];
        rows.write(1, &x);
        let mut back = [0f32; 8];
        rows.data().read(8, &mut back);
        assert!(back.iter().all(|&v| v == f16::from_f32(1.0 / 3.0).to_f32()));
    }
}
