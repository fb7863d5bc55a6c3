// Products of f32 activations with a quantized weight matrix, and embedding-row gathers, for
// every weight type of the CPU backend. The weights stay in the file's block encoding: row r of
// W is `row_bytes` bytes at r * row_bytes, row_bytes = cols / VALUES * BYTES of its block type.
//
// Every type is read in "parts" of 8 consecutive values: part p (0..3) of chunk j, a chunk being
// 32 values (a legacy block, 1/8 of a K-quant super-block, 32 plain floats). One device
// function per type decodes a part; the GEMV, the GEMM and the row gather all use it.
//
//   GEMV (t <= 8 tokens): the threads of a block split the row into parts (consecutive threads
//     read consecutive weight bytes and x values); each part's weights are decoded once and
//     used for every token, each x part once for all the rows of the block.
//   GEMM (prefill): a block computes a 64-row x 32-token tile; per 32-value step it decodes the
//     weight tile into shared memory once and reuses it across the 32 tokens.
// Accumulation is f32 throughout. Activations are f32 (later work: int8 dp4a, tensor cores).
#include "prelude.h"

// ---- small helpers ---------------------------------------------------------------------------

struct alignas(16) rf_f4 {
    float x, y, z, w;
};
struct alignas(8) rf_u32x2 {
    rf_u32 lo, hi;
};
struct alignas(16) rf_u32x4 {
    rf_u32 a, b, c, d;
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

// The 8 bytes at p (aligned to A) as two little-endian words.
template <int A>
RF_DEVICE rf_u32x2 ld_8(const rf_u8* p) {
    if constexpr (A >= 8) {
        return *(const rf_u32x2*)p;
    } else {
        return rf_u32x2{ld_u32<A>(p), ld_u32<A>(p + 4)};
    }
}

// Byte i (0..7) of (lo, hi).
RF_DEVICE rf_u32 byte_at(rf_u32x2 v, int i) { return ((i < 4 ? v.lo : v.hi) >> (8 * (i & 3))) & 0xFFu; }

// Applies `shift` and `mask` to both words (4 fields per word at once).
RF_DEVICE rf_u32x2 bits_of(rf_u32x2 v, int shift, rf_u32 mask) { return rf_u32x2{(v.lo >> shift) & mask, (v.hi >> shift) & mask}; }

// (float)q - minus for an integer 0 <= q < 2^22, exactly: 0x4B000000 is 2^23 as f32, so OR-ing q
// into its mantissa gives 2^23 + q, and one subtraction (of 2^23 + minus, also exact) is the
// whole conversion, cheaper than the int-to-float unit.
RF_DEVICE float small_to_f32(rf_u32 q, float minus) { return __uint_as_float(0x4B000000u | q) - (8388608.0f + minus); }

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

// Entry `idx` (0..15) of a table of 16 bytes packed little-endian into t0..t3.
RF_DEVICE rf_u32 table16(rf_u32 t0, rf_u32 t1, rf_u32 t2, rf_u32 t3, rf_u32 idx) {
    const rf_u32 lo = (idx & 4) ? t1 : t0;
    const rf_u32 hi = (idx & 4) ? t3 : t2;
    return (((idx & 8) ? hi : lo) >> (8 * (idx & 3))) & 0xFFu;
}

// kvalues_iq4nl (ggml-common.h) + 128, as bytes.
RF_DEVICE rf_u32 iq4_level(rf_u32 idx) { return table16(0x3f2d1801u, 0x766a5d4fu, 0xa6998d81u, 0xf1d9c5b5u, idx); }
// kvalues_mxfp4 (doubled E2M1 values) + 128, as bytes.
RF_DEVICE rf_u32 mxfp4_level(rf_u32 idx) { return table16(0x83828180u, 0x8c888684u, 0x7d7e7f80u, 0x74787a7cu, idx); }

// ---- block types -----------------------------------------------------------------------------
// Each type: VALUES per block, BYTES per block, ALIGN (the alignment every block has in a row:
// gcd(BYTES, 256), as buffers are 256-byte aligned), and
//   part<EXACT>(b, j, p, w): w[0..8] = values 8p..8p+8 of chunk j (0..VALUES/32) of block b.
// Layouts and formulas as gguf::quants (ggml's dequantize_row_*); element k of a block is
// named as there.

// d f16 | qs[16]; y = d * (q - 8); element k: nibble k / 16 of qs[k % 16].
struct BlockQ4_0 {
    static constexpr int VALUES = 32, BYTES = 18, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const float d = ld_f16(b);
        const rf_u32x2 q = bits_of(ld_8<ALIGN>(b + 2 + 8 * (p & 1)), 4 * (p >> 1), 0x0F0F0F0Fu);
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = d * small_to_f32(byte_at(q, i), 8.0f);
    }
};

// d f16 | m f16 | qs[16]; y = d * q + m.
struct BlockQ4_1 {
    static constexpr int VALUES = 32, BYTES = 20, ALIGN = 4;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const float d = ld_f16(b), m = ld_f16(b + 2);
        const rf_u32x2 q = bits_of(ld_8<ALIGN>(b + 4 + 8 * (p & 1)), 4 * (p >> 1), 0x0F0F0F0Fu);
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = mad<EXACT>(d, small_to_f32(byte_at(q, i), 0.0f), m);
    }
};

// The 5th bits of elements 8p..8p+8 (bit k of qh is element k's), one per byte at bit 4.
RF_DEVICE rf_u32x2 q5_high(rf_u32 qh, int p) {
    const rf_u32 h = qh >> (8 * p);
    rf_u32x2 r{0, 0};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        r.lo |= ((h >> i) & 1u) << (8 * i + 4);
        r.hi |= ((h >> (i + 4)) & 1u) << (8 * i + 4);
    }
    return r;
}

// d f16 | qh u32 | qs[16]; y = d * (q - 16), q = nibble | bit k of qh << 4.
struct BlockQ5_0 {
    static constexpr int VALUES = 32, BYTES = 22, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const float d = ld_f16(b);
        const rf_u32x2 h = q5_high(ld_u32<ALIGN>(b + 2), p);
        const rf_u32x2 q = bits_of(ld_8<ALIGN>(b + 6 + 8 * (p & 1)), 4 * (p >> 1), 0x0F0F0F0Fu);
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = d * small_to_f32(byte_at(q, i) | byte_at(h, i), 16.0f);
    }
};

// d f16 | m f16 | qh u32 | qs[16]; y = d * q + m.
struct BlockQ5_1 {
    static constexpr int VALUES = 32, BYTES = 24, ALIGN = 8;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const float d = ld_f16(b), m = ld_f16(b + 2);
        const rf_u32x2 h = q5_high(ld_u32<ALIGN>(b + 4), p);
        const rf_u32x2 q = bits_of(ld_8<ALIGN>(b + 8 + 8 * (p & 1)), 4 * (p >> 1), 0x0F0F0F0Fu);
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = mad<EXACT>(d, small_to_f32(byte_at(q, i) | byte_at(h, i), 0.0f), m);
    }
};

// d f16 | qs[32] i8; y = q * d.
struct BlockQ8_0 {
    static constexpr int VALUES = 32, BYTES = 34, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const float d = ld_f16(b);
        rf_u32x2 q = ld_8<ALIGN>(b + 2 + 8 * p);
        q = rf_u32x2{q.lo ^ 0x80808080u, q.hi ^ 0x80808080u};  // i8 + 128 as u8
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = small_to_f32(byte_at(q, i), 128.0f) * d;
    }
};

// scales[16] (per 16 values: low nibble scale, high nibble min) | qs[64] 2-bit | d f16 | dmin f16;
// y = (d * scale) * q - (dmin * min); element k: bits 2 * (k / 32 % 4) of qs[32 * (k / 128) + k % 32].
struct BlockQ2_K {
    static constexpr int VALUES = 256, BYTES = 84, ALIGN = 4;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int j, int p, float* w) {
        const rf_u32 dm = ld_u32<ALIGN>(b + 80);
        const rf_u32 sc = b[2 * j + (p >> 1)];
        const float dl = rf_f16_to_f32((rf_u16)dm) * (float)(sc & 0xF);
        const float ml = rf_f16_to_f32((rf_u16)(dm >> 16)) * (float)(sc >> 4);
        const rf_u32x2 q = bits_of(ld_8<ALIGN>(b + 16 + 32 * (j >> 2) + 8 * p), 2 * (j & 3), 0x03030303u);
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = mad<EXACT>(dl, small_to_f32(byte_at(q, i), 0.0f), -ml);
    }
};

// hmask[32] | qs[64] 2-bit | scales[12] (16 6-bit, offset 32) | d f16;
// y = (d * scale) * (q - (hmask bit set ? 0 : 4)); element k: crumb as Q2_K, bit k / 32 of hmask[k % 32].
struct BlockQ3_K {
    static constexpr int VALUES = 256, BYTES = 110, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int j, int p, float* w) {
        const int s = 2 * j + (p >> 1);  // scale index: 16 values each
        const rf_u32 low = (b[96 + (s & 7)] >> (4 * (s >> 3))) & 0xFu;
        const rf_u32 high = (b[104 + (s & 3)] >> (2 * (s >> 2))) & 3u;
        const float dl = ld_f16(b + 108) * (float)((int)(low | (high << 4)) - 32);
        const rf_u32x2 c = bits_of(ld_8<ALIGN>(b + 32 + 32 * (j >> 2) + 8 * p), 2 * (j & 3), 0x03030303u);
        const rf_u32x2 h = bits_of(ld_8<ALIGN>(b + 8 * p), j, 0x01010101u);
        // crumb + 4 * hbit - 4 == crumb - (hbit ? 0 : 4)
        const rf_u32x2 q{c.lo | (h.lo << 2), c.hi | (h.hi << 2)};
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = dl * small_to_f32(byte_at(q, i), 4.0f);
    }
};

// Scale and min of sub-block j (0..8) from the 12 packed bytes of Q4_K/Q5_K (get_scale_min_k4).
RF_DEVICE void scale_min_k4(const rf_u8* s, int j, rf_u32& sc, rf_u32& m) {
    if (j < 4) {
        sc = s[j] & 63u;
        m = s[j + 4] & 63u;
    } else {
        sc = (s[j + 4] & 0xFu) | ((rf_u32)(s[j - 4] >> 6) << 4);
        m = (s[j + 4] >> 4) | ((rf_u32)(s[j] >> 6) << 4);
    }
}

// d f16 | dmin f16 | scales[12] | qs[128]; per 32-value sub-block j: y = (d * sc) * q - (dmin * m);
// element k: nibble k / 32 % 2 of qs[32 * (k / 64) + k % 32].
struct BlockQ4_K {
    static constexpr int VALUES = 256, BYTES = 144, ALIGN = 16;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int j, int p, float* w) {
        const rf_u32 dm = ld_u32<ALIGN>(b);
        rf_u32 sc, m;
        scale_min_k4(b + 4, j, sc, m);
        const float dl = rf_f16_to_f32((rf_u16)dm) * (float)sc;
        const float ml = rf_f16_to_f32((rf_u16)(dm >> 16)) * (float)m;
        const rf_u32x2 q = bits_of(ld_8<ALIGN>(b + 16 + 32 * (j >> 1) + 8 * p), 4 * (j & 1), 0x0F0F0F0Fu);
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = mad<EXACT>(dl, small_to_f32(byte_at(q, i), 0.0f), -ml);
    }
};

// d f16 | dmin f16 | scales[12] | qh[32] | qs[128]; as Q4_K with a 5th bit: bit k / 32 of qh[k % 32].
struct BlockQ5_K {
    static constexpr int VALUES = 256, BYTES = 176, ALIGN = 16;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int j, int p, float* w) {
        const rf_u32 dm = ld_u32<ALIGN>(b);
        rf_u32 sc, m;
        scale_min_k4(b + 4, j, sc, m);
        const float dl = rf_f16_to_f32((rf_u16)dm) * (float)sc;
        const float ml = rf_f16_to_f32((rf_u16)(dm >> 16)) * (float)m;
        const rf_u32x2 h = bits_of(ld_8<ALIGN>(b + 16 + 8 * p), j, 0x01010101u);
        const rf_u32x2 n = bits_of(ld_8<ALIGN>(b + 48 + 32 * (j >> 1) + 8 * p), 4 * (j & 1), 0x0F0F0F0Fu);
        const rf_u32x2 q{n.lo | (h.lo << 4), n.hi | (h.hi << 4)};
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = mad<EXACT>(dl, small_to_f32(byte_at(q, i), 0.0f), -ml);
    }
};

// ql[128] low 4 bits | qh[64] high 2 bits | scales[16] i8 | d f16; y = (d * scale) * (q - 32);
// element k: nibble k / 64 % 2 of ql[64 * (k / 128) + k % 64], crumb of qh as Q2_K's qs.
struct BlockQ6_K {
    static constexpr int VALUES = 256, BYTES = 210, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int j, int p, float* w) {
        const float dl = ld_f16(b + 208) * (float)(rf_i8)b[192 + 2 * j + (p >> 1)];
        const rf_u32x2 lo = bits_of(ld_8<ALIGN>(b + 64 * (j >> 2) + 32 * (j & 1) + 8 * p), 4 * ((j >> 1) & 1), 0x0F0F0F0Fu);
        const rf_u32x2 hi = bits_of(ld_8<ALIGN>(b + 128 + 32 * (j >> 2) + 8 * p), 2 * (j & 3), 0x03030303u);
        const rf_u32x2 q{lo.lo | (hi.lo << 4), lo.hi | (hi.hi << 4)};
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = dl * small_to_f32(byte_at(q, i), 32.0f);
    }
};

// d f16 | qs[16]; y = d * kvalues_iq4nl[q], nibbles as Q4_0.
struct BlockIQ4_NL {
    static constexpr int VALUES = 32, BYTES = 18, ALIGN = 2;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const float d = ld_f16(b);
        const rf_u32x2 q = bits_of(ld_8<ALIGN>(b + 2 + 8 * (p & 1)), 4 * (p >> 1), 0x0F0F0F0Fu);
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = d * small_to_f32(iq4_level(byte_at(q, i)), 128.0f);
    }
};

// d f16 | scales_h u16 | scales_l[4] | qs[128]; sub-block j: scale (nibble j % 2 of scales_l[j / 2])
// | (bits 2j..2j+2 of scales_h) << 4, offset 32; y = (d * scale) * kvalues_iq4nl[q], qs[16 j..16 j + 16]
// nibbles as Q4_0.
struct BlockIQ4_XS {
    static constexpr int VALUES = 256, BYTES = 136, ALIGN = 8;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int j, int p, float* w) {
        const rf_u32 low = (b[4 + (j >> 1)] >> (4 * (j & 1))) & 0xFu;
        const rf_u32 high = (ld_u16(b + 2) >> (2 * j)) & 3u;
        const float dl = ld_f16(b) * (float)((int)(low | (high << 4)) - 32);
        const rf_u32x2 q = bits_of(ld_8<ALIGN>(b + 8 + 16 * j + 8 * (p & 1)), 4 * (p >> 1), 0x0F0F0F0Fu);
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = dl * small_to_f32(iq4_level(byte_at(q, i)), 128.0f);
    }
};

// e u8 (E8M0) | qs[16]; y = kvalues_mxfp4[q] * 2^(e - 128), nibbles as Q4_0.
struct BlockMXFP4 {
    static constexpr int VALUES = 32, BYTES = 17, ALIGN = 1;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const rf_u32 e = b[0];
        const float d = __uint_as_float(e < 2 ? 0x00200000u << e : (e - 1) << 23);  // ggml_e8m0_to_fp32_half
        const rf_u32x2 q = bits_of(ld_8<ALIGN>(b + 1 + 8 * (p & 1)), 4 * (p >> 1), 0x0F0F0F0Fu);
#pragma unroll
        for (int i = 0; i < 8; i++) w[i] = small_to_f32(mxfp4_level(byte_at(q, i)), 128.0f) * d;
    }
};

// Plain floats: a "block" is one 32-value chunk.
struct BlockF16 {
    static constexpr int VALUES = 32, BYTES = 64, ALIGN = 64;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const rf_u32x4 v = *(const rf_u32x4*)(b + 16 * p);
        const rf_u32 u[4] = {v.a, v.b, v.c, v.d};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            w[2 * i] = rf_f16_to_f32((rf_u16)u[i]);
            w[2 * i + 1] = rf_f16_to_f32((rf_u16)(u[i] >> 16));
        }
    }
};

struct BlockBF16 {
    static constexpr int VALUES = 32, BYTES = 64, ALIGN = 64;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const rf_u32x4 v = *(const rf_u32x4*)(b + 16 * p);
        const rf_u32 u[4] = {v.a, v.b, v.c, v.d};
#pragma unroll
        for (int i = 0; i < 4; i++) {
            w[2 * i] = __uint_as_float(u[i] << 16);
            w[2 * i + 1] = __uint_as_float(u[i] & 0xFFFF0000u);
        }
    }
};

struct BlockF32 {
    static constexpr int VALUES = 32, BYTES = 128, ALIGN = 128;
    template <bool EXACT>
    RF_DEVICE void part(const rf_u8* b, int, int p, float* w) {
        const rf_f4* v = (const rf_f4*)(b + 32 * p);
        const rf_f4 a = v[0], c = v[1];
        w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w;
        w[4] = c.x, w[5] = c.y, w[6] = c.z, w[7] = c.w;
    }
};

// Part k (8 values from value 8k) of a row of Q blocks, decoded into w[0..8].
template <class Q, bool EXACT>
RF_DEVICE void row_part(const rf_u8* row, int k, float* w) {
    constexpr int CHUNKS = Q::VALUES / 32;
    const int c = k >> 2;
    Q::template part<EXACT>(row + (rf_i64)(c / CHUNKS) * Q::BYTES, c % CHUNKS, k & 3, w);
}

template <class Q>
RF_DEVICE rf_i64 row_bytes(int cols) {
    return (rf_i64)(cols / Q::VALUES) * Q::BYTES;
}

// ---- GEMV: t <= NT tokens --------------------------------------------------------------------
// y[i, r] = sum_c x[i, c] * W[r, c] for i < t <= NT, r < rows; x: [t, cols], y: [t, rows].
// Block: ROWS consecutive rows (the last block's extra rows re-read the last row and are not
// written); blockDim.x a multiple of RF_WARP, at most 1024. cols a multiple of 32.
template <class Q, int ROWS, int NT>
RF_DEVICE void gemv(const rf_u8* RF_RESTRICT w, const float* RF_RESTRICT x, float* RF_RESTRICT y, int rows, int cols,
                    int t) {
    __shared__ float partial[RF_MAX_WARPS][ROWS * NT];  // per-warp sums
    const rf_i64 rb = row_bytes<Q>(cols);
    const int row0 = blockIdx.x * ROWS;
    const rf_u8* wr[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) wr[r] = w + (rf_i64)min(row0 + r, rows - 1) * rb;

    float acc[ROWS][NT];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int i = 0; i < NT; i++) acc[r][i] = 0.0f;

    const int parts = cols / 8;
    for (int k = threadIdx.x; k < parts; k += blockDim.x) {
        float wv[ROWS][8];
#pragma unroll
        for (int r = 0; r < ROWS; r++) row_part<Q, false>(wr[r], k, wv[r]);
#pragma unroll
        for (int i = 0; i < NT; i++) {
            if (i < t) {
                const rf_f4* xp = (const rf_f4*)(x + (rf_i64)i * cols + 8 * k);
                const rf_f4 a = xp[0], b = xp[1];
                const float xv[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
                for (int r = 0; r < ROWS; r++)
#pragma unroll
                    for (int e = 0; e < 8; e++) acc[r][i] = fmaf(wv[r][e], xv[e], acc[r][i]);
            }
        }
    }

#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int i = 0; i < NT; i++) {
            if (i < t) {
                const float s = rf_warp_sum(acc[r][i]);
                if (rf_lane() == 0) partial[rf_warp_id()][r * NT + i] = s;
            }
        }
    __syncthreads();
    const int o = threadIdx.x;  // one output per thread: row o / NT, token o % NT
    if (o < ROWS * NT) {
        const int r = o / NT, i = o % NT;
        if (i < t && row0 + r < rows) {
            float s = 0.0f;
            for (int wi = 0; wi < (int)(blockDim.x / RF_WARP); wi++) s += partial[wi][o];
            y[(rf_i64)i * rows + row0 + r] = s;
        }
    }
}

// ---- GEMM: any t -----------------------------------------------------------------------------
// y as the GEMV. Block: 128 threads, a GEMM_BM x GEMM_BN tile of rows x tokens; grid
// (ceil(rows / GEMM_BM), ceil(t / GEMM_BN)). Thread (tm, tn) = (tid % 16, tid / 16) owns rows
// tm + 16 i and tokens tn + 8 j (i, j < 4): strided, so a warp's shared reads hit distinct banks.
#define GEMM_BM 64
#define GEMM_BN 32
#define GEMM_THREADS 128
// Shared tile rows: 32 values and 4 floats of padding (float4-aligned; rows start 4 banks apart).
#define GEMM_LD4 9

template <class Q>
RF_DEVICE void gemm(const rf_u8* RF_RESTRICT w, const float* RF_RESTRICT x, float* RF_RESTRICT y, int rows, int cols,
                    int t) {
    __shared__ rf_f4 ws[GEMM_BM][GEMM_LD4];  // [BM rows, 32 values]: this step's weights
    __shared__ rf_f4 xs[GEMM_BN][GEMM_LD4];  // [BN tokens, 32 values]: this step's activations
    const int tid = threadIdx.x, tm = tid % 16, tn = tid / 16;
    const int row0 = blockIdx.x * GEMM_BM, tok0 = blockIdx.y * GEMM_BN;
    const rf_i64 rb = row_bytes<Q>(cols);

    // Loaders. Weights: thread -> row tid % 64, parts tid / 64 and tid / 64 + 2 of the chunk.
    // Activations: thread -> token tid / 4, values 8 (tid % 4) .. + 8. Rows and tokens past the
    // end re-read the last one; their results are not stored.
    const int lrow = tid % GEMM_BM, lpart = tid / GEMM_BM;
    const rf_u8* wrow = w + (rf_i64)min(row0 + lrow, rows - 1) * rb;
    const int ltok = tid / 4, lval = 8 * (tid % 4);
    const float* xrow = x + (rf_i64)min(tok0 + ltok, t - 1) * cols + lval;

    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;

    const int chunks = cols / 32;
    for (int c = 0; c < chunks; c++) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int p = lpart + 2 * h;
            float v[8];
            row_part<Q, false>(wrow, 4 * c + p, v);
            ws[lrow][2 * p] = rf_f4{v[0], v[1], v[2], v[3]};
            ws[lrow][2 * p + 1] = rf_f4{v[4], v[5], v[6], v[7]};
        }
        const rf_f4* xp = (const rf_f4*)(xrow + 32 * c);
        xs[ltok][lval / 4] = xp[0];
        xs[ltok][lval / 4 + 1] = xp[1];
        __syncthreads();
#pragma unroll
        for (int kq = 0; kq < 8; kq++) {
            rf_f4 a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = ws[tm + 16 * i][kq];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = xs[tn + 8 * j][kq];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    float s = acc[i][j];
                    s = fmaf(a[i].x, b[j].x, s);
                    s = fmaf(a[i].y, b[j].y, s);
                    s = fmaf(a[i].z, b[j].z, s);
                    acc[i][j] = fmaf(a[i].w, b[j].w, s);
                }
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int r = row0 + tm + 16 * i, tok = tok0 + tn + 8 * j;
            if (r < rows && tok < t) y[(rf_i64)tok * rows + r] = acc[i][j];
        }
}

// ---- row gather ------------------------------------------------------------------------------
// out[i, :] = dequant(W[ids[i], :]) * scale, bit-exact with the reference. Block i (grid n),
// threads over the row's parts. An id >= rows (the caller's bug) gives a row of NaN, never a
// read out of bounds.
template <class Q>
RF_DEVICE void get_rows(const rf_u8* RF_RESTRICT w, const rf_u32* RF_RESTRICT ids, float* RF_RESTRICT out, int rows,
                        int cols, float scale) {
    const rf_u32 id = ids[blockIdx.x];
    rf_f4* o = (rf_f4*)(out + (rf_i64)blockIdx.x * cols);
    const int parts = cols / 8;
    if (id >= (rf_u32)rows) {
        const float nan = __uint_as_float(0x7fc00000u);
        for (int k = threadIdx.x; k < 2 * parts; k += blockDim.x) o[k] = rf_f4{nan, nan, nan, nan};
        return;
    }
    const rf_u8* row = w + (rf_i64)id * row_bytes<Q>(cols);
    for (int k = threadIdx.x; k < parts; k += blockDim.x) {
        float v[8];
        row_part<Q, true>(row, k, v);
        o[2 * k] = rf_f4{v[0] * scale, v[1] * scale, v[2] * scale, v[3] * scale};
        o[2 * k + 1] = rf_f4{v[4] * scale, v[5] * scale, v[6] * scale, v[7] * scale};
    }
}

// ---- kernels: per type, rf_mm_{gemv1,gemv8,gemm,rows}_<type> ----------------------------------
// gemv1: t == 1; gemv8: t <= 8. GEMV blocks compute GEMV_ROWS rows.
#define GEMV_ROWS 2

// clang-format off
RF_KERNEL void rf_mm_gemv1_q4_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_0, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q4_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_0, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q4_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ4_0>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q4_0(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ4_0>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_q4_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_1, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q4_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_1, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q4_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ4_1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q4_1(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ4_1>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_q5_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_0, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q5_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_0, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q5_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ5_0>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q5_0(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ5_0>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_q5_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_1, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q5_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_1, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q5_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ5_1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q5_1(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ5_1>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_q8_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ8_0, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q8_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ8_0, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q8_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ8_0>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q8_0(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ8_0>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_q2_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ2_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q2_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ2_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q2_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ2_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q2_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ2_K>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_q3_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ3_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q3_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ3_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q3_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ3_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q3_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ3_K>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_q4_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q4_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q4_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ4_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q4_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ4_K>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_q5_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q5_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q5_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ5_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q5_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ5_K>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_q6_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ6_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q6_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ6_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q6_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ6_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q6_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ6_K>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_iq4_nl(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockIQ4_NL, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_iq4_nl(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockIQ4_NL, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_iq4_nl(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockIQ4_NL>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_iq4_nl(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockIQ4_NL>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_iq4_xs(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockIQ4_XS, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_iq4_xs(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockIQ4_XS, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_iq4_xs(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockIQ4_XS>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_iq4_xs(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockIQ4_XS>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_mxfp4(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockMXFP4, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_mxfp4(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockMXFP4, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_mxfp4(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockMXFP4>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_mxfp4(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockMXFP4>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_f16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockF16, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_f16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockF16, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_f16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockF16>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_f16(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockF16>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_bf16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockBF16, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_bf16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockBF16, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_bf16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockBF16>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_bf16(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockBF16>(w, ids, out, rows, cols, scale); }

RF_KERNEL void rf_mm_gemv1_f32(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockF32, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_f32(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockF32, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_f32(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockF32>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_f32(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockF32>(w, ids, out, rows, cols, scale); }
// clang-format on
