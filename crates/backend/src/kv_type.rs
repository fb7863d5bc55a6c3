//! The element type of the KV cache, chosen at load: f16 (the default, as llama.cpp's) or q8_0
//! (llama.cpp `--cache-type-k/-v q8_0`, vLLM `--kv-cache-dtype`), for K and V alike.
//!
//! q8_0 holds ggml's Q8_0 numbers: per 32 consecutive values of a head row an f16 scale
//! `d = max|x| / 127` and 32 int8 quants `round(x / d)`, rounded as the CPU's Q8_0 activation
//! encoder (`cpu::qdot::quantize_row`, llama.cpp's x86 rounding). The cache stores them split,
//! not as 34-byte blocks: a layer's K (or V) is the quants [slots, width] i8 followed by the
//! scales [slots, width / 32] f16, so that devices read quants in aligned 8- and 16-byte pieces.
//! A value reads back as `d * q`, exactly in f32.

use std::fmt;
use std::str::FromStr;

/// Values per q8_0 block (one f16 scale).
pub const Q8_0_BLOCK: usize = 32;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum KvType {
    #[default]
    F16,
    Q8_0,
}

impl KvType {
    pub const ALL: [KvType; 2] = [KvType::F16, KvType::Q8_0];

    /// The name flags and logs use: "f16" or "q8_0".
    pub fn name(self) -> &'static str {
        match self {
            KvType::F16 => "f16",
            KvType::Q8_0 => "q8_0",
        }
    }

    /// Bytes of `values` cached values (a whole number of blocks for q8_0): 2 per value for
    /// f16, 34 per 32 for q8_0.
    pub fn bytes(self, values: u64) -> u64 {
        match self {
            KvType::F16 => 2 * values,
            KvType::Q8_0 => values + values / Q8_0_BLOCK as u64 * 2,
        }
    }

    /// Whether heads of `head_dim` values can be stored: q8_0 blocks must not straddle heads.
    pub fn check_head_dim(self, head_dim: usize) -> Result<(), String> {
        match self {
            KvType::Q8_0 if !head_dim.is_multiple_of(Q8_0_BLOCK) || head_dim == 0 => Err(format!(
                "a q8_0 KV cache needs a head size that is a multiple of {Q8_0_BLOCK}, and this model's is \
                 {head_dim}: use the f16 cache"
            )),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for KvType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KvType {
    type Err = String;

    fn from_str(s: &str) -> Result<KvType, String> {
        KvType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown KV cache type '{s}' (f16 or q8_0)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sizes_and_head_dims() {
        assert_eq!("q8_0".parse::<KvType>().unwrap(), KvType::Q8_0);
        assert_eq!("F16".parse::<KvType>().unwrap(), KvType::F16);
        assert!("q4_0".parse::<KvType>().is_err());
        assert_eq!(KvType::F16.bytes(64), 128);
        assert_eq!(KvType::Q8_0.bytes(64), 68);
        assert!(KvType::Q8_0.check_head_dim(128).is_ok());
        assert!(KvType::Q8_0.check_head_dim(80).unwrap_err().contains("multiple of 32"));
        assert!(KvType::F16.check_head_dim(80).is_ok());
    }
}
