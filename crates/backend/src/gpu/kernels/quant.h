// Decoders of every weight type of the CPU backend, shared by the matmul kernels (matmul.cu)
// and the dequantization to f16 for the vendor BLAS (dequant.cu). Row r of a weight matrix W is
// `row_bytes` bytes at r * row_bytes, row_bytes = cols / VALUES * BYTES of its block type.
//
// Every type is read in halves of "chunks": a chunk is 32 values (a legacy block, 1/8 of a
// K-quant super-block, 32 plain floats), a half 16 consecutive values. One device function per
// type decodes a half (Block*::half, row_half below).
#pragma once
#ifndef RF_QUANT_H
#define RF_QUANT_H
#include "prelude.h"

// ---- small helpers ---------------------------------------------------------------------------

struct alignas(16) rf_f4 {
    float x, y, z, w;
};
struct alignas(16) rf_u32x4 {
    rf_u32 v[4];
};
struct alignas(8) rf_u32x2 {
    rf_u32 v[2];
};

RF_DEVICE rf_u16 ld_u16(const rf_u8* p) { return *(const rf_u16*)p; }  // p 2-byte aligned
RF_DEVICE float ld_f16(const rf_u8* p) { return rf_f16_to_f32(ld_u16(p)); }

// The little-endian u32 at p, which is aligned to A bytes (blocks of odd sizes are only 1- or
// 2-byte aligned in a row).
template <int A>
RF_DEVICE rf_u32 ld_u32(const rf_u8* p) {
    if constexpr (A >= 4) {
        return *(const rf_u32*)p;
    } else if constexpr (A == 2) {
        return (rf_u32)ld_u16(p) | ((rf_u32)ld_u16(p + 2) << 16);
    } else {
        return (rf_u32)p[0] | ((rf_u32)p[1] << 8) | ((rf_u32)p[2] << 16) | ((rf_u32)p[3] << 24);
    }
}

// The 16 bytes at p (aligned to A) as four little-endian words, in the widest loads A allows.
template <int A>
RF_DEVICE rf_u32x4 ld_16(const rf_u8* p) {
    if constexpr (A >= 16) {
        return *(const rf_u32x4*)p;
    } else if constexpr (A == 8) {
        const rf_u32x2 a = *(const rf_u32x2*)p, b = *(const rf_u32x2*)(p + 8);
        return rf_u32x4{{a.v[0], a.v[1], b.v[0], b.v[1]}};
    } else {
        return rf_u32x4{{ld_u32<A>(p), ld_u32<A>(p + 4), ld_u32<A>(p + 8), ld_u32<A>(p + 12)}};
    }
}

// (v >> shift) & mask on each word: 4 packed fields per word at once.
RF_DEVICE rf_u32x4 bits_of(rf_u32x4 v, int shift, rf_u32 mask) {
    rf_u32x4 r;
#pragma unroll
    for (int i = 0; i < 4; i++) r.v[i] = (v.v[i] >> shift) & mask;
    return r;
}

// a | b << shift on each word.
RF_DEVICE rf_u32x4 merge(rf_u32x4 a, rf_u32x4 b, int shift) {
    rf_u32x4 r;
#pragma unroll
    for (int i = 0; i < 4; i++) r.v[i] = a.v[i] | (b.v[i] << shift);
    return r;
}

// Bits 0..4 of x (x < 16) spread to bit 0 of bytes 0..4: the four shifted copies x << 7k never
// overlap, so the product has no carries.
RF_DEVICE rf_u32 spread_bits(rf_u32 x) { return (x * 0x00204081u) & 0x01010101u; }

// (float)q - minus for byte i (0..3) q of `word`, exactly: 0x4B000000 is 2^23 as f32, so putting
// q in its low mantissa bits gives 2^23 + q, and one subtraction (of 2^23 + minus, also exact)
// converts without the int-to-float unit (a quarter-rate pipe on NVIDIA).
RF_DEVICE float byte_to_f32(rf_u32 word, int i, float minus) {
#if defined(RF_CUDA)
    const rf_u32 m = __byte_perm(word, 0x4B000000u, 0x7440u | (rf_u32)i);  // [byte i, 0, 0, 0x4B]
#else
    const rf_u32 m = ((word >> (8 * i)) & 0xFFu) | 0x4B000000u;
#endif
    return __uint_as_float(m) - (8388608.0f + minus);
}
// The same for a small integer q (< 2^22) in a register.
RF_DEVICE float small_to_f32(rf_u32 q) { return __uint_as_float(0x4B000000u | q) - 8388608.0f; }

// Products and sums rounded one by one, never fused into an FMA: the row gather must match the
// reference dequantization (gguf::quants) bit for bit.
RF_DEVICE float mul_rn(float a, float b) {
#if defined(RF_CUDA)
    return __fmul_rn(a, b);
#else
#pragma clang fp contract(off)
    return a * b;
#endif
}
RF_DEVICE float add_rn(float a, float b) {
#if defined(RF_CUDA)
    return __fadd_rn(a, b);
#else
#pragma clang fp contract(off)
    return a + b;
#endif
}

// a * b + c: as the reference rounds it when EXACT, else one FMA.
template <bool EXACT>
RF_DEVICE float mad(float a, float b, float c) {
    if constexpr (EXACT) {
        return add_rn(mul_rn(a, b), c);
    } else {
        return fmaf(a, b, c);
    }
}

// Each byte (a 4-bit index) of q replaced by its entry in a table of 16 bytes packed
// little-endian into t0..t3.
RF_DEVICE rf_u32x4 lookup16(rf_u32x4 q, rf_u32 t0, rf_u32 t1, rf_u32 t2, rf_u32 t3) {
    rf_u32x4 r;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const rf_u32 v = q.v[i];
#if defined(RF_CUDA)
        // Two byte permutes pick entries idx & 7 from t0:t1 and t2:t3 (a selector nibble's bit 3
        // is ignored); bit 3 of each index then chooses between them.
        const rf_u32 sel = (v & 0x7u) | ((v >> 4) & 0x70u) | ((v >> 8) & 0x700u) | ((v >> 12) & 0x7000u);
        const rf_u32 hi = ((v >> 3) & 0x01010101u) * 0xFFu;
        r.v[i] = (__byte_perm(t0, t1, sel) & ~hi) | (__byte_perm(t2, t3, sel) & hi);
#else
        r.v[i] = 0;
#pragma unroll
        for (int b = 0; b < 4; b++) {
            const rf_u32 idx = (v >> (8 * b)) & 0xFu;
            const rf_u32 word = (idx & 8) ? ((idx & 4) ? t3 : t2) : ((idx & 4) ? t1 : t0);
            r.v[i] |= ((word >> (8 * (idx & 3))) & 0xFFu) << (8 * b);
        }
#endif
    }
    return r;
}
// kvalues_iq4nl (ggml-common.h) + 128, as bytes.
RF_DEVICE rf_u32x4 iq4_levels(rf_u32x4 q) { return lookup16(q, 0x3f2d1801u, 0x766a5d4fu, 0xa6998d81u, 0xf1d9c5b5u); }
// kvalues_mxfp4 (doubled E2M1 values) + 128, as bytes.
RF_DEVICE rf_u32x4 mxfp4_levels(rf_u32x4 q) { return lookup16(q, 0x83828180u, 0x8c888684u, 0x7d7e7f80u, 0x74787a7cu); }

// w[i] = d * (q_i - minus), q_i byte i of q, as the reference rounds it.
RF_DEVICE void scaled(float* w, rf_u32x4 q, float d, float minus) {
#pragma unroll
    for (int i = 0; i < 16; i++) w[i] = d * byte_to_f32(q.v[i / 4], i % 4, minus);
}

// w[i] = d * q_i + m (the reference: product, then sum).
template <bool EXACT>
RF_DEVICE void scaled_plus(float* w, rf_u32x4 q, float d, float m) {
#pragma unroll
    for (int i = 0; i < 16; i++) w[i] = mad<EXACT>(d, byte_to_f32(q.v[i / 4], i % 4, 0.0f), m);
}

// ---- block types -----------------------------------------------------------------------------
// Each type: VALUES per block, BYTES per block, ALIGN (the alignment every block has in a row:
// gcd(BYTES, 256), as buffers are 256-byte aligned), and
//   half<EXACT>(b, j, h, w): w[0..16] = values 16h..16h+16 (h = 0, 1) of chunk j (32 values,
//   j < VALUES / 32) of block b.
// Layouts and formulas as gguf::quants (ggml's dequantize_row_*); element k of a block is named
// as there. A half of a K-quant chunk is exactly one of its 16-value sub-blocks.

// d f16 | qs[16]; y = d * (q - 8); element k: nibble k / 16 of qs[k % 16].
struct BlockQ4_0 {
    static constexpr int VALUES = 32, BYTES = 18, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        scaled(w, bits_of(ld_16<ALIGN>(b + 2), 4 * h, 0x0F0F0F0Fu), ld_f16(b), 8.0f);
    }
};

// d f16 | m f16 | qs[16]; y = d * q + m.
struct BlockQ4_1 {
    static constexpr int VALUES = 32, BYTES = 20, ALIGN = 4;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        const rf_u32 dm = ld_u32<ALIGN>(b);
        const rf_u32x4 q = bits_of(ld_16<ALIGN>(b + 4), 4 * h, 0x0F0F0F0Fu);
        scaled_plus<EXACT>(w, q, rf_f16_to_f32((rf_u16)dm), rf_f16_to_f32((rf_u16)(dm >> 16)));
    }
};

// Nibbles of qs (as Q4_0) with the 5th bits of elements 16h..16h+16 (bit k of qh) at bit 4.
template <int A>
RF_DEVICE rf_u32x4 quints(const rf_u8* qs, rf_u32 qh, int h) {
    const rf_u32x4 n = bits_of(ld_16<A>(qs), 4 * h, 0x0F0F0F0Fu);
    const rf_u32 hb = qh >> (16 * h);
    rf_u32x4 r;
#pragma unroll
    for (int i = 0; i < 4; i++) r.v[i] = n.v[i] | (spread_bits((hb >> (4 * i)) & 0xFu) << 4);
    return r;
}

// d f16 | qh u32 | qs[16]; y = d * (q - 16), q = nibble | bit k of qh << 4.
struct BlockQ5_0 {
    static constexpr int VALUES = 32, BYTES = 22, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        scaled(w, quints<ALIGN>(b + 6, ld_u32<ALIGN>(b + 2), h), ld_f16(b), 16.0f);
    }
};

// d f16 | m f16 | qh u32 | qs[16]; y = d * q + m.
struct BlockQ5_1 {
    static constexpr int VALUES = 32, BYTES = 24, ALIGN = 8;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        const rf_u32x2 dmh = *(const rf_u32x2*)b;
        const rf_u32x4 q = quints<ALIGN>(b + 8, dmh.v[1], h);
        scaled_plus<EXACT>(w, q, rf_f16_to_f32((rf_u16)dmh.v[0]), rf_f16_to_f32((rf_u16)(dmh.v[0] >> 16)));
    }
};

// d f16 | qs[32] i8; y = q * d.
struct BlockQ8_0 {
    static constexpr int VALUES = 32, BYTES = 34, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        rf_u32x4 q = ld_16<ALIGN>(b + 2 + 16 * h);
#pragma unroll
        for (int i = 0; i < 4; i++) q.v[i] ^= 0x80808080u;  // i8 + 128 as u8
        scaled(w, q, ld_f16(b), 128.0f);
    }
};

// scales[16] (per 16 values: low nibble scale, high nibble min) | qs[64] 2-bit | d f16 | dmin f16;
// y = (d * scale) * q - (dmin * min); element k: bits 2 * (k / 32 % 4) of qs[32 * (k / 128) + k % 32].
struct BlockQ2_K {
    static constexpr int VALUES = 256, BYTES = 84, ALIGN = 4;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int j, int h, float* w) {
        const rf_u32 dm = ld_u32<ALIGN>(b + 80);
        const rf_u32 sc = b[2 * j + h];
        const float dl = rf_f16_to_f32((rf_u16)dm) * small_to_f32(sc & 0xFu);
        const float ml = rf_f16_to_f32((rf_u16)(dm >> 16)) * small_to_f32(sc >> 4);
        const rf_u32x4 q = bits_of(ld_16<ALIGN>(b + 16 + 32 * (j >> 2) + 16 * h), 2 * (j & 3), 0x03030303u);
        scaled_plus<EXACT>(w, q, dl, -ml);
    }
};

// hmask[32] | qs[64] 2-bit | scales[12] (16 6-bit, offset 32) | d f16;
// y = (d * scale) * (q - (hmask bit set ? 0 : 4)); element k: crumb as Q2_K, bit k / 32 of hmask[k % 32].
struct BlockQ3_K {
    static constexpr int VALUES = 256, BYTES = 110, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int j, int h, float* w) {
        const int s = 2 * j + h;  // scale index
        const rf_u32 low = (b[96 + (s & 7)] >> (4 * (s >> 3))) & 0xFu;
        const rf_u32 high = (b[104 + (s & 3)] >> (2 * (s >> 2))) & 3u;
        const float dl = ld_f16(b + 108) * (small_to_f32(low | (high << 4)) - 32.0f);
        const rf_u32x4 c = bits_of(ld_16<ALIGN>(b + 32 + 32 * (j >> 2) + 16 * h), 2 * (j & 3), 0x03030303u);
        const rf_u32x4 hm = bits_of(ld_16<ALIGN>(b + 16 * h), j, 0x01010101u);
        // crumb + 4 * hbit - 4 == crumb - (hbit ? 0 : 4)
        scaled(w, merge(c, hm, 2), dl, 4.0f);
    }
};

// Scale and min of sub-block j (0..8) from the 12 packed bytes s of Q4_K/Q5_K (get_scale_min_k4),
// without branching: a = s[j % 4], b = s[j % 4 + 4], c = s[j % 4 + 8] serve both halves.
RF_DEVICE void scale_min_k4(const rf_u8* s, int j, float& sc, float& m) {
    const rf_u32 a = s[j & 3], b = s[(j & 3) + 4], c = s[(j & 3) + 8];
    const bool lo = j < 4;
    sc = small_to_f32(lo ? a & 63u : (c & 0xFu) | ((a >> 6) << 4));
    m = small_to_f32(lo ? b & 63u : (c >> 4) | ((b >> 6) << 4));
}

// d f16 | dmin f16 | scales[12] | qs[128]; per 32-value sub-block j: y = (d * sc) * q - (dmin * m);
// element k: nibble k / 32 % 2 of qs[32 * (k / 64) + k % 32].
struct BlockQ4_K {
    static constexpr int VALUES = 256, BYTES = 144, ALIGN = 16;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int j, int h, float* w) {
        const rf_u32 dm = ld_u32<ALIGN>(b);
        float sc, m;
        scale_min_k4(b + 4, j, sc, m);
        const float dl = rf_f16_to_f32((rf_u16)dm) * sc, ml = rf_f16_to_f32((rf_u16)(dm >> 16)) * m;
        const rf_u32x4 q = bits_of(ld_16<ALIGN>(b + 16 + 32 * (j >> 1) + 16 * h), 4 * (j & 1), 0x0F0F0F0Fu);
        scaled_plus<EXACT>(w, q, dl, -ml);
    }
};

// d f16 | dmin f16 | scales[12] | qh[32] | qs[128]; as Q4_K with a 5th bit: bit k / 32 of qh[k % 32].
struct BlockQ5_K {
    static constexpr int VALUES = 256, BYTES = 176, ALIGN = 16;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int j, int h, float* w) {
        const rf_u32 dm = ld_u32<ALIGN>(b);
        float sc, m;
        scale_min_k4(b + 4, j, sc, m);
        const float dl = rf_f16_to_f32((rf_u16)dm) * sc, ml = rf_f16_to_f32((rf_u16)(dm >> 16)) * m;
        const rf_u32x4 hb = bits_of(ld_16<ALIGN>(b + 16 + 16 * h), j, 0x01010101u);
        const rf_u32x4 n = bits_of(ld_16<ALIGN>(b + 48 + 32 * (j >> 1) + 16 * h), 4 * (j & 1), 0x0F0F0F0Fu);
        scaled_plus<EXACT>(w, merge(n, hb, 4), dl, -ml);
    }
};

// ql[128] low 4 bits | qh[64] high 2 bits | scales[16] i8 | d f16; y = (d * scale) * (q - 32);
// element k: nibble k / 64 % 2 of ql[64 * (k / 128) + k % 64], crumb of qh as Q2_K's qs.
struct BlockQ6_K {
    static constexpr int VALUES = 256, BYTES = 210, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int j, int h, float* w) {
        const float dl = ld_f16(b + 208) * (float)(rf_i8)b[192 + 2 * j + h];
        const rf_u32x4 lo =
            bits_of(ld_16<ALIGN>(b + 64 * (j >> 2) + 32 * (j & 1) + 16 * h), 4 * ((j >> 1) & 1), 0x0F0F0F0Fu);
        const rf_u32x4 hi = bits_of(ld_16<ALIGN>(b + 128 + 32 * (j >> 2) + 16 * h), 2 * (j & 3), 0x03030303u);
        scaled(w, merge(lo, hi, 4), dl, 32.0f);
    }
};

// d f16 | qs[16]; y = d * kvalues_iq4nl[q], nibbles as Q4_0.
struct BlockIQ4_NL {
    static constexpr int VALUES = 32, BYTES = 18, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        scaled(w, iq4_levels(bits_of(ld_16<ALIGN>(b + 2), 4 * h, 0x0F0F0F0Fu)), ld_f16(b), 128.0f);
    }
};

// d f16 | scales_h u16 | scales_l[4] | qs[128]; sub-block j: scale (nibble j % 2 of scales_l[j / 2])
// | (bits 2j..2j+2 of scales_h) << 4, offset 32; y = (d * scale) * kvalues_iq4nl[q], qs[16 j..16 j + 16]
// nibbles as Q4_0.
struct BlockIQ4_XS {
    static constexpr int VALUES = 256, BYTES = 136, ALIGN = 8;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int j, int h, float* w) {
        const rf_u32 low = (b[4 + (j >> 1)] >> (4 * (j & 1))) & 0xFu;
        const rf_u32 high = (ld_u16(b + 2) >> (2 * j)) & 3u;
        const float dl = ld_f16(b) * (small_to_f32(low | (high << 4)) - 32.0f);
        scaled(w, iq4_levels(bits_of(ld_16<ALIGN>(b + 8 + 16 * j), 4 * h, 0x0F0F0F0Fu)), dl, 128.0f);
    }
};

// e u8 (E8M0) | qs[16]; y = kvalues_mxfp4[q] * 2^(e - 128), nibbles as Q4_0.
struct BlockMXFP4 {
    static constexpr int VALUES = 32, BYTES = 17, ALIGN = 1;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        const rf_u32 e = b[0];
        const float d = __uint_as_float(e < 2 ? 0x00200000u << e : (e - 1) << 23);  // ggml_e8m0_to_fp32_half
        scaled(w, mxfp4_levels(bits_of(ld_16<ALIGN>(b + 1), 4 * h, 0x0F0F0F0Fu)), d, 128.0f);
    }
};

// Plain floats: a "block" is one 32-value chunk.
struct BlockF16 {
    static constexpr int VALUES = 32, BYTES = 64, ALIGN = 64;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        const rf_u32x4* v = (const rf_u32x4*)(b + 32 * h);
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const rf_u32 u = v[i / 4].v[i % 4];
            w[2 * i] = rf_f16_to_f32((rf_u16)u);
            w[2 * i + 1] = rf_f16_to_f32((rf_u16)(u >> 16));
        }
    }
};

struct BlockBF16 {
    static constexpr int VALUES = 32, BYTES = 64, ALIGN = 64;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        const rf_u32x4* v = (const rf_u32x4*)(b + 32 * h);
#pragma unroll
        for (int i = 0; i < 8; i++) {
            const rf_u32 u = v[i / 4].v[i % 4];
            w[2 * i] = __uint_as_float(u << 16);
            w[2 * i + 1] = __uint_as_float(u & 0xFFFF0000u);
        }
    }
};

struct BlockF32 {
    static constexpr int VALUES = 32, BYTES = 128, ALIGN = 128;
    template <bool EXACT>
    RF_DEVICE void half(const rf_u8* b, int, int h, float* w) {
        const rf_f4* v = (const rf_f4*)(b + 64 * h);
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const rf_f4 a = v[i];
            w[4 * i] = a.x, w[4 * i + 1] = a.y, w[4 * i + 2] = a.z, w[4 * i + 3] = a.w;
        }
    }
};

// Half k (16 values from value 16k) of a row of Q blocks, decoded into w[0..16].
template <class Q, bool EXACT>
RF_DEVICE void row_half(const rf_u8* row, int k, float* w) {
    constexpr int CHUNKS = Q::VALUES / 32;
    const int c = k >> 1;
    Q::template half<EXACT>(row + (rf_i64)(c / CHUNKS) * Q::BYTES, c % CHUNKS, k & 1, w);
}

template <class Q>
RF_DEVICE rf_i64 row_bytes(int cols) {
    return (rf_i64)(cols / Q::VALUES) * Q::BYTES;
}

#endif  // RF_QUANT_H
