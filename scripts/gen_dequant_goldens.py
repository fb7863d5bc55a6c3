#!/usr/bin/env python3
"""Write the bit-exact dequantization goldens in crates/gguf/tests/fixtures/dequant/.

For each ggml type the Rust reference decoder supports, this writes
  <type>.in.bin   a few raw blocks: random payload bytes, scale fields set to finite values
                  (random, plus edge cases: +-0, negative, large, smallest normal, subnormal)
  <type>.out.f32  what `gguf.quants.dequantize` (the `gguf` PyPI package) makes of them,
                  little-endian f32
and `crates/gguf/tests/dequant_golden.rs` checks our decoders against them bit for bit.

Rerun (from the repository root; deterministic, fixed seed, so an unchanged run rewrites
identical files):
    pip install gguf==0.19.0 numpy
    python3 scripts/gen_dequant_goldens.py

Notes on the reference:
- gguf-py computes every product in numpy float32 in the same order as ggml's C
  `dequantize_row_*` (e.g. Q4_K: (d * scale) * q - (dmin * min)), never fused, so the Rust
  decoders reproduce it exactly.
- gguf-py has no Q8_K decoder (Q8_K is ggml's activation format, not a weight format), so its
  golden is computed here with the one-line float32 expression of ggml's `dequantize_row_q8_K`,
  y = d * q. It is the only golden not produced by `gguf.quants.dequantize`.
- No NaN is ever fed in (its payload handling is not something to pin down). Infinities are:
  F16/BF16/F32 inputs include +-inf, and MXFP4 exponent 255 (2^127, ggml has no NaN code) makes
  +-inf weights; both are well-defined and compared bit for bit.
"""

from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

OUT_DIR = Path(__file__).resolve().parent.parent / "crates/gguf/tests/fixtures/dequant"
SEED = 20240611

# Scale fields of each block layout: (byte offset, encoding). Everything else is random.
FIELDS = {
    T.Q4_0: [(0, "f16")],
    T.Q4_1: [(0, "f16"), (2, "f16")],
    T.Q5_0: [(0, "f16")],
    T.Q5_1: [(0, "f16"), (2, "f16")],
    T.Q8_0: [(0, "f16")],
    T.Q2_K: [(80, "f16"), (82, "f16")],
    T.Q3_K: [(108, "f16")],
    T.Q4_K: [(0, "f16"), (2, "f16")],
    T.Q5_K: [(0, "f16"), (2, "f16")],
    T.Q6_K: [(208, "f16")],
    T.Q8_K: [(0, "f32")],
    T.IQ4_NL: [(0, "f16")],
    T.IQ4_XS: [(0, "f16")],
    T.MXFP4: [(0, "e8m0")],
}

# Block i sets its first scale field by MODES[i % 6] and its second (dmin / m) by
# MODES[(i + 3) % 6], so every field sees every mode.
MODES = ["random", "zero", "negative", "large", "tiny", "subnormal"]


def f16_bits(rng, mode):
    sign = np.uint16(0x8000) if rng.integers(2) else np.uint16(0)
    if mode == "zero":
        return sign  # +0 or -0
    if mode == "subnormal":
        return sign | np.uint16(rng.integers(1, 0x400))
    if mode == "tiny":  # the smallest normal binade
        return sign | np.uint16(0x0400 + rng.integers(0, 0x400))
    if mode == "large":  # up to f16 max, 65504
        return np.float16(2.0 ** rng.uniform(10, 15.99)).view(np.uint16) | sign
    magnitude = np.float16(2.0 ** rng.uniform(-10, 3)).view(np.uint16)
    return magnitude | (np.uint16(0x8000) if mode == "negative" else sign)


def f32_bits(rng, mode):
    sign = np.uint32(0x80000000) if rng.integers(2) else np.uint32(0)
    if mode == "zero":
        return sign
    if mode == "subnormal":
        return sign | np.uint32(rng.integers(1, 0x800000))
    if mode == "tiny":
        return sign | np.uint32(0x00800000 + rng.integers(0, 0x800000))
    if mode == "large":  # times |q| <= 128 stays finite
        return np.float32(2.0 ** rng.uniform(100, 120)).view(np.uint32) | sign
    magnitude = np.float32(2.0 ** rng.uniform(-10, 3)).view(np.uint32)
    return magnitude | (np.uint32(0x80000000) if mode == "negative" else sign)


def e8m0(rng, mode):
    # d = 2^(e - 128): 0 and 1 are f32 subnormals, 254 is the largest with finite weights for
    # every level, 255 makes +-inf for |level| >= 2 (still well-defined).
    return {"random": rng.integers(100, 150), "zero": 0, "negative": 1, "large": 254,
            "tiny": 2, "subnormal": 255}[mode]


def quant_blocks(rng, qtype, n_blocks):
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for i, block in enumerate(blocks):
        for f, (at, enc) in enumerate(FIELDS[qtype]):
            mode = MODES[(i + 3 * f) % len(MODES)]
            if enc == "f16":
                block[at:at + 2] = np.array([f16_bits(rng, mode)], dtype="<u2").view(np.uint8)
            elif enc == "f32":
                block[at:at + 4] = np.array([f32_bits(rng, mode)], dtype="<u4").view(np.uint8)
            else:
                block[at] = e8m0(rng, mode)
    return blocks.reshape(-1)


def float_elements(rng, qtype, n):
    """F32/F16/BF16 elements: the special values, then random non-NaN bit patterns."""
    if qtype == T.F32:
        width, exp_mask, frac_mask = np.uint32, 0x7F800000, 0x007FFFFF
        special = [0x0, 0x80000000, 0x1, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0xFF7FFFFF,
                   0x7F800000, 0xFF800000, 0x3F800000, 0xC0000000]
    elif qtype == T.F16:
        width, exp_mask, frac_mask = np.uint16, 0x7C00, 0x03FF
        special = [0x0, 0x8000, 0x1, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x3C00, 0xC000]
    else:  # BF16
        width, exp_mask, frac_mask = np.uint16, 0x7F80, 0x007F
        special = [0x0, 0x8000, 0x1, 0x007F, 0x0080, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x3F80, 0xC000]
    bits = rng.integers(0, np.iinfo(width).max, size=n, dtype=width, endpoint=True)
    bits[: len(special)] = special
    is_nan = ((bits & exp_mask) == exp_mask) & ((bits & frac_mask) != 0)
    bits[is_nan] &= width(~exp_mask & np.iinfo(width).max)  # NaN -> a finite value
    return bits.astype(bits.dtype.newbyteorder("<")).view(np.uint8)


def reference(qtype, data):
    if qtype == T.Q8_K:  # dequantize_row_q8_K: y = d * q (gguf-py has no Q8_K)
        blocks = data.reshape(-1, GGML_QUANT_SIZES[qtype][1])
        d = blocks[:, 0:4].copy().view("<f4").astype(np.float32)
        q = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
        return (d * q).reshape(-1)
    with np.errstate(over="ignore"):  # MXFP4 exponent 255 overflows to +-inf on purpose
        return dequantize(data, qtype).reshape(-1)


def main():
    rng = np.random.default_rng(SEED)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for qtype in [T.F32, T.F16, T.BF16, *FIELDS]:
        block_size, _ = GGML_QUANT_SIZES[qtype]
        if qtype in (T.F32, T.F16, T.BF16):
            data = float_elements(rng, qtype, 64)
        else:
            data = quant_blocks(rng, qtype, 6 if block_size == 256 else 8)
        out = np.ascontiguousarray(reference(qtype, data), dtype=np.float32)
        assert out.dtype == np.float32 and not np.isnan(out).any(), qtype.name
        name = qtype.name.lower()
        (OUT_DIR / f"{name}.in.bin").write_bytes(data.tobytes())
        (OUT_DIR / f"{name}.out.f32").write_bytes(out.astype("<f4").tobytes())
        print(f"{name:7} {data.size:5} bytes -> {out.size:5} values")


if __name__ == "__main__":
    main()
