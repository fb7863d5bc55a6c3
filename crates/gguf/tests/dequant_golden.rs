//! The reference dequantization against goldens from the `gguf` Python package (written by
//! `scripts/gen_dequant_goldens.py`), bit for bit; its errors; and `random_blocks`.

use std::path::PathBuf;

use gguf::quants::{dequantize, dequantize_to_vec, random_blocks, DequantError};
use gguf::GgmlType;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn supported() -> impl Iterator<Item = GgmlType> {
    GgmlType::all().filter(|t| t.has_reference_dequant())
}

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", "dequant", name].iter().collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn matches_gguf_py_bit_for_bit() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for ty in supported() {
        let name = ty.name().to_lowercase();
        let src = fixture(&format!("{name}.in.bin"));
        let expected: Vec<u32> = fixture(&format!("{name}.out.f32"))
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let got = dequantize_to_vec(ty, &src).unwrap_or_else(|e| panic!("{ty}: {e}"));
        assert_eq!(got.len(), expected.len(), "{ty}: element count");
        if let Some(i) = got.iter().zip(&expected).position(|(g, &e)| g.to_bits() != e) {
            failures.push(format!(
                "{ty}: first mismatch at element {i} (block {}): got {:e} ({:#010x}), \
                 gguf-py {:e} ({:#010x})",
                i / ty.block_size(),
                got[i],
                got[i].to_bits(),
                f32::from_bits(expected[i]),
                expected[i],
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 17);
}

#[test]
fn exactly_the_advertised_types_decode() {
    for ty in GgmlType::all() {
        let block = vec![0u8; ty.type_size()];
        let mut out = vec![0.0; ty.block_size()];
        let result = dequantize(ty, &block, &mut out);
        if ty.has_reference_dequant() {
            assert_eq!(result, Ok(()), "{ty}");
            assert!(out.iter().all(|&v| v == 0.0), "{ty}: zero block decodes to zeros");
        } else {
            assert_eq!(result, Err(DequantError::Unsupported(ty)));
        }
    }
    let mut rng = StdRng::seed_from_u64(1);
    let err = random_blocks(GgmlType::IQ2_XXS, 1, 1.0, &mut rng);
    assert_eq!(err, Err(DequantError::Unsupported(GgmlType::IQ2_XXS)));
    assert!(err.unwrap_err().to_string().contains("IQ2_XXS"));
}

#[test]
fn rejects_partial_blocks_and_wrong_output_length() {
    for ty in supported() {
        let (ts, bs) = (ty.type_size(), ty.block_size());
        let src = vec![0u8; 2 * ts];
        if ts > 1 {
            let err = dequantize(ty, &src[..2 * ts - 1], &mut vec![0.0; 2 * bs]);
            assert!(matches!(err, Err(DequantError::PartialBlock { .. })), "{ty}: {err:?}");
            assert!(dequantize_to_vec(ty, &src[..ts + 1]).is_err(), "{ty}");
        }
        for wrong in [0, bs, 2 * bs - 1, 2 * bs + 1, 3 * bs] {
            let err = dequantize(ty, &src, &mut vec![0.0; wrong]);
            let expected = DequantError::OutputLength { ty, n_blocks: 2, expected: 2 * bs, actual: wrong };
            assert_eq!(err, Err(expected.clone()), "{ty}, output {wrong}");
            assert!(expected.to_string().contains(ty.name()));
        }
        assert_eq!(dequantize(ty, &[], &mut []), Ok(()), "{ty}: empty input");
    }
    let msg = dequantize(GgmlType::Q4_K, &[0; 145], &mut [0.0; 256]).unwrap_err().to_string();
    assert!(msg.contains("Q4_K") && msg.contains("145") && msg.contains("144"), "{msg}");
}

#[test]
fn random_blocks_decode_to_finite_values_near_scale() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for ty in supported() {
        for scale in [1e-2f32, 1.0, 40.0, 1e4] {
            let n_blocks = 4096 / ty.block_size() + 2;
            let blocks = random_blocks(ty, n_blocks, scale, &mut rng).unwrap();
            assert_eq!(blocks.len(), n_blocks * ty.type_size(), "{ty}");
            let values = dequantize_to_vec(ty, &blocks).unwrap();
            assert!(values.iter().all(|v| v.is_finite()), "{ty} at scale {scale}: not finite");
            let max = values.iter().fold(0f32, |m, v| m.max(v.abs()));
            // Fields get scale / reach times [0.5, 1]: the bound is scale, give or take f16
            // rounding (coarse for the subnormal d of Q5_K at small scales) and, for MXFP4, a
            // power of two.
            assert!(max <= 1.1 * scale, "{ty} at scale {scale}: max |w| = {max}");
            assert!(max >= scale / 4.0, "{ty} at scale {scale}: max |w| = {max} is degenerate");
        }
    }
}

#[test]
fn random_blocks_edge_scales() {
    let mut rng = StdRng::seed_from_u64(7);
    for ty in supported() {
        for scale in [0.0f32, -1.0, f32::INFINITY, f32::NAN, f32::MAX] {
            let blocks = random_blocks(ty, 3, scale, &mut rng).unwrap();
            let values = dequantize_to_vec(ty, &blocks).unwrap();
            assert!(values.iter().all(|v| v.is_finite()), "{ty} at scale {scale}");
        }
        assert!(random_blocks(ty, 0, 1.0, &mut rng).unwrap().is_empty());
    }
}

#[test]
fn q8_k_random_blocks_have_consistent_bsums() {
    let mut rng = StdRng::seed_from_u64(3);
    let blocks = random_blocks(GgmlType::Q8_K, 3, 1.0, &mut rng).unwrap();
    for block in blocks.chunks_exact(GgmlType::Q8_K.type_size()) {
        for (j, sum) in block[260..].chunks_exact(2).enumerate() {
            let want: i16 = block[4 + 16 * j..4 + 16 * (j + 1)].iter().map(|&q| i16::from(q as i8)).sum();
            assert_eq!(i16::from_le_bytes([sum[0], sum[1]]), want);
        }
    }
}
