//! The kernel sources compiled into the binary. Every `kernels/*.cu` file must be listed in
//! [`ALL`] (a test checks it), so the CI compile checks cover each one.

use super::rtc::KernelSource;

/// The prelude every kernel includes as `prelude.h`.
pub const PRELUDE: &str = include_str!("kernels/prelude.h");

/// The per-type weight decoders (`quant.h`), shared by the matmul and dequantization kernels.
pub const QUANT: &str = include_str!("kernels/quant.h");

/// Formulas shared by the separate kernels and the int8 GEMV's fused forms (`fused.h`): the RMS
/// norm's order of summation, the gated activations.
pub const FUSED: &str = include_str!("kernels/fused.h");

/// The int8 encodings shared by the int8 GEMV and GEMM (`q8.h`): activation encoders, unpacking
/// helpers.
pub const Q8: &str = include_str!("kernels/q8.h");

/// How the KV cache stores a value (`kv_store.h`: f16, q8_0), shared by the cache write and the
/// rope fused with it.
pub const KV_STORE: &str = include_str!("kernels/kv_store.h");

/// The headers every compilation can include, by name.
pub const HEADERS: &[(&str, &str)] = &[
    (super::rtc::PRELUDE_NAME, PRELUDE),
    ("quant.h", QUANT),
    ("fused.h", FUSED),
    ("q8.h", Q8),
    ("kv_store.h", KV_STORE),
];

/// f32 row and element ops: RMS norms, adds, bias, SwiGLU/GeGLU, row gathers.
pub const ELEMENTWISE: KernelSource =
    KernelSource::new_static("elementwise.cu", include_str!("kernels/elementwise.cu"));

/// Quantized matrix products (GEMV, GEMM) and embedding-row gathers for every weight type.
pub const MATMUL: KernelSource = KernelSource::new_static("matmul.cu", include_str!("kernels/matmul.cu"));

/// Weight matrices dequantized to f16 and activations converted to f16, for the vendor BLAS.
pub const DEQUANT: KernelSource = KernelSource::new_static("dequant.cu", include_str!("kernels/dequant.cu"));

/// The int8 GEMV of the quantized weight types (decode): activations encoded per token as the
/// CPU backend encodes them, dp4a per block.
pub const GEMV_Q8: KernelSource = KernelSource::new_static("gemv_q8.cu", include_str!("kernels/gemv_q8.cu"));

/// The int8 GEMM of the quantized weight types (17 and more tokens): activations encoded once per
/// product as the GEMV encodes them, weight tiles unpacked to bytes, int8 matrix cores.
pub const MMQ: KernelSource = KernelSource::new_static("mmq.cu", include_str!("kernels/mmq.cu"));

/// Rotary position embedding (NORM and NEOX), alone or fused with the KV cache write.
pub const ROPE: KernelSource = KernelSource::new_static("rope.cu", include_str!("kernels/rope.cu"));

/// Paged attention over the f16 KV cache, and the KV cache write.
pub const ATTENTION: KernelSource = KernelSource::new_static("attention.cu", include_str!("kernels/attention.cu"));

/// Greedy token choice per row of logits.
pub const ARGMAX: KernelSource = KernelSource::new_static("argmax.cu", include_str!("kernels/argmax.cu"));

/// Kernels that check the prelude's helpers on a device.
pub const SELFTEST: KernelSource = KernelSource::new_static("selftest.cu", include_str!("kernels/selftest.cu"));

/// Every kernel source.
pub const ALL: &[KernelSource] = &[ELEMENTWISE, MATMUL, GEMV_Q8, MMQ, DEQUANT, ROPE, ATTENTION, ARGMAX, SELFTEST];

/// Directory of the kernel sources in the repository (for tests that list it).
pub const SOURCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/gpu/kernels");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::signature::parse_kernels;

    #[test]
    fn every_cu_file_is_listed() {
        let mut on_disk: Vec<String> = std::fs::read_dir(SOURCE_DIR)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".cu"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = ALL.iter().map(|k| k.name.to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed);
    }

    #[test]
    fn every_kernel_signature_parses() {
        for k in ALL {
            let sigs = parse_kernels(&k.source).unwrap_or_else(|e| panic!("{}: {e}", k.name));
            assert!(!sigs.is_empty(), "{} declares no kernel", k.name);
            assert!(k.source.contains("#include \"prelude.h\""), "{}", k.name);
        }
    }
}
