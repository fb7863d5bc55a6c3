//! Where llama.cpp would evaluate a token, which decides the kernels whose rounding it gets.
//!
//! llama.cpp's x86 CPU build (repacking and the tiled K-quant kernel on, as every build since
//! 2025 has them) picks kernels by the size of the batch a product runs in, and they round
//! differently (ARCHITECTURE.md, "Goldens against llama.cpp"):
//! * attention over the f16 cache: tinyBLAS from 2 tokens, `ggml_vec_dot_f16` for one;
//! * Q6_K: the tiled kernel from 8 tokens, `vec_dot` below;
//! * Q4_K with a multiple of 8 rows (repacked 8x8): the GEMM for the first `size - size % 4`
//!   tokens of the batch, the GEMV for the rest.
//!
//! Every token of a step carries its own [`InBatch`], so its results never depend on what else
//! the step holds: they are those of one llama.cpp run.

use gguf::GgmlType;

use super::attention::DotOrder;
use super::qdot::Path;

/// A token's place in the batch llama.cpp would evaluate it in: `index` of `size` tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InBatch {
    pub size: u32,
    pub index: u32,
}

impl InBatch {
    /// A token evaluated on its own (a generation step).
    pub const ALONE: InBatch = InBatch { size: 1, index: 0 };

    /// The tokens of one batch of `n`, in order.
    pub fn whole(n: usize) -> Vec<InBatch> {
        (0..n).map(|i| InBatch { size: n as u32, index: i as u32 }).collect()
    }

    /// Whether the first `n` tokens of a batch take the same kernels in every batch of `n`
    /// tokens or more, so their K/V may be shared between prompts that start alike: from 8
    /// tokens (Q6_K's tiled kernel) at a multiple of 4 (the Q4_K GEMM's groups of tokens).
    pub fn prefix_is_settled(n: usize) -> bool {
        n >= 8 && n.is_multiple_of(4)
    }

    /// The attention's dot order.
    pub fn dot_order(self) -> DotOrder {
        if self.size >= 2 {
            DotOrder::Batch
        } else {
            DotOrder::Single
        }
    }

    /// The kernel path of a product with a `ty` weight of `rows` rows. Other K-quants (and Q4_K
    /// with rows off a multiple of 8) also take the tiled kernel from 8 tokens in llama.cpp and
    /// its `vec_dot` below; we round those one way, a few ulps from either.
    pub fn path(self, ty: GgmlType, rows: usize) -> Path {
        let batched = match ty {
            GgmlType::Q4_K if rows.is_multiple_of(8) => self.index < self.size - self.size % 4,
            GgmlType::Q6_K => self.size >= 8,
            _ => false,
        };
        if batched {
            Path::Batched
        } else {
            Path::Single
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel choice a token makes.
    fn kernels(b: InBatch) -> (DotOrder, Path, Path, Path) {
        (b.dot_order(), b.path(GgmlType::Q4_K, 16), b.path(GgmlType::Q4_K, 12), b.path(GgmlType::Q6_K, 16))
    }

    /// `prefix_is_settled(n)` holds exactly where the first n tokens choose alike in every
    /// batch of n tokens or more.
    #[test]
    fn settled_prefixes_choose_the_same_kernels_in_longer_batches() {
        for n in 1..40 {
            let alike = (n..90).all(|size| {
                (0..n).all(|i| {
                    let at = |size: usize| InBatch { size: size as u32, index: i as u32 };
                    kernels(at(size)) == kernels(at(n))
                })
            });
            assert_eq!(InBatch::prefix_is_settled(n), alike, "n = {n}");
        }
    }

    #[test]
    fn paths_follow_llama_cpp() {
        let b = |size, index| InBatch { size, index };
        // The repacked Q4_K: GEMM for the first size - size % 4 tokens, GEMV for the rest.
        assert_eq!(b(126, 123).path(GgmlType::Q4_K, 896), Path::Batched);
        assert_eq!(b(126, 124).path(GgmlType::Q4_K, 896), Path::Single);
        assert_eq!(b(3, 0).path(GgmlType::Q4_K, 896), Path::Single);
        assert_eq!(b(126, 0).path(GgmlType::Q4_K, 900), Path::Single);
        // Q6_K: tiled from 8 tokens.
        assert_eq!(b(7, 0).path(GgmlType::Q6_K, 896), Path::Single);
        assert_eq!(b(8, 7).path(GgmlType::Q6_K, 896), Path::Batched);
        assert_eq!(b(126, 5).path(GgmlType::Q5_0, 896), Path::Single);
        assert_eq!(InBatch::ALONE.dot_order(), DotOrder::Single);
        assert_eq!(b(2, 1).dot_order(), DotOrder::Batch);
    }
}
