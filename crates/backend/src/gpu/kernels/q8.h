// Int8 encodings shared by the int8 GEMV (gemv_q8.cu) and the int8 GEMM (mmq.cu): the activation
// encoders (Q8_0, Q8_1, Q8_K exactly as the CPU backend's `quantize_row`) and the small helpers
// that unpack weight blocks into signed or unsigned bytes.
#pragma once
#include "prelude.h"
#include "fused.h"

struct alignas(16) q8_u4 {
    rf_u32 v[4];
};
struct alignas(8) q8_u2 {
    rf_u32 v[2];
};
struct alignas(16) q8_f4 {
    float x, y, z, w;
};


// ---- small helpers ---------------------------------------------------------------------------

// Bytes s..s+3 (s < 4) of the 8 bytes lo | hi << 32.
RF_DEVICE rf_u32 q8_funnel(rf_u32 lo, rf_u32 hi, int s) {
#if defined(RF_CUDA)
    return __byte_perm(lo, hi, 0x3210u + 0x1111u * (rf_u32)s);
#else
    return (rf_u32)((((rf_u64)hi << 32) | lo) >> (8 * s));
#endif
}

// N little-endian words at byte offset `off` (any alignment) of `base` (4-byte aligned), read
// as N + 1 aligned words: up to 4 bytes past base + off + 4N are read.
template <int N>
RF_DEVICE void ld_words(const rf_u8* base, int off, rf_u32* out) {
    const rf_u32* w = (const rf_u32*)(base + (off & ~3));
    const int s = off & 3;
    rf_u32 v[N + 1];
#pragma unroll
    for (int i = 0; i <= N; i++) v[i] = w[i];
#pragma unroll
    for (int i = 0; i < N; i++) out[i] = q8_funnel(v[i], v[i + 1], s);
}

// Signed byte k (0..3) of w.
RF_DEVICE int sbyte(rf_u32 w, int k) { return (int)(w << (24 - 8 * k)) >> 24; }

// Bits 0..3 of x spread to bit 4 of bytes 0..3 (the four shifted copies never overlap).
RF_DEVICE rf_u32 bit4_of_bytes(rf_u32 x) { return ((x & 0xFu) * 0x02040810u) & 0x10101010u; }

// Each byte (a 4-bit index) of q replaced by its entry in a table of 16 signed bytes packed
// little-endian into t0..t3.
RF_DEVICE rf_u32 lookup16(rf_u32 v, rf_u32 t0, rf_u32 t1, rf_u32 t2, rf_u32 t3) {
#if defined(RF_CUDA)
    // Two byte permutes pick entries idx & 7 from t0:t1 and t2:t3 (a selector nibble's bit 3 is
    // ignored); bit 3 of each index then chooses between them.
    const rf_u32 sel = (v & 0x7u) | ((v >> 4) & 0x70u) | ((v >> 8) & 0x700u) | ((v >> 12) & 0x7000u);
    const rf_u32 hi = ((v >> 3) & 0x01010101u) * 0xFFu;
    return (__byte_perm(t0, t1, sel) & ~hi) | (__byte_perm(t2, t3, sel) & hi);
#else
    rf_u32 r = 0;
#pragma unroll
    for (int b = 0; b < 4; b++) {
        const rf_u32 idx = (v >> (8 * b)) & 0xFu;
        const rf_u32 word = (idx & 8) ? ((idx & 4) ? t3 : t2) : ((idx & 4) ? t1 : t0);
        r |= ((word >> (8 * (idx & 3))) & 0xFFu) << (8 * b);
    }
    return r;
#endif
}
// kvalues_iq4nl (ggml-common.h) as signed bytes.
RF_DEVICE rf_u32 iq4nl_levels(rf_u32 q) { return lookup16(q, 0xbfad9881u, 0xf6eaddcfu, 0x26190d01u, 0x71594535u); }
// kvalues_mxfp4 (doubled E2M1 values) as signed bytes.
RF_DEVICE rf_u32 mxfp4_levels(rf_u32 q) { return lookup16(q, 0x03020100u, 0x0c080604u, 0xfdfeff00u, 0xf4f8fafcu); }

RF_DEVICE float f16_lo(rf_u32 w) { return rf_f16_to_f32((rf_u16)(w & 0xFFFFu)); }
RF_DEVICE float f16_hi(rf_u32 w) { return rf_f16_to_f32((rf_u16)(w >> 16)); }
RF_DEVICE float f16_round(float f) { return rf_f16_to_f32(rf_f32_to_f16(f)); }

// |a| of largest magnitude, NaN if either is NaN.
RF_DEVICE float max_nan(float a, float b) { return (b > a || b != b) ? b : a; }


// ---- the encoded activations -------------------------------------------------------------------
// Per token i: quants q[i * qstride ..] (cols bytes, in 16-byte pieces placed by the weight
// type's xaddr, so that the lanes of a warp read them without bank conflicts), scales
// d[i * dstride + block] and sums s[i * sstride + ...] (Q8_0: the block's quant sum, int;
// Q8_1: f16(d * quant sum) as f32; Q8_K: bsums, the quant sum of each 16 values, int).
struct XS {
    const rf_u8* q;
    const float* d;
    const int* s;
    int qstride, dstride, sstride;
};

// Activation encodings: values per block (BLOCK) and per sum (SUMV).
struct ActQ8_0 {
    static constexpr int BLOCK = 32, SUMV = 32;
    static constexpr bool Q8_1 = false;
};
struct ActQ8_1 {
    static constexpr int BLOCK = 32, SUMV = 32;
    static constexpr bool Q8_1 = true;
};
struct ActQ8_K {
    static constexpr int BLOCK = 256, SUMV = 16;
    static constexpr bool Q8_1 = false;
};

// v[k] = v[k] * scale * w[k] for 4 values, as rf_rms_norm_f32 writes them: the encoders' optional
// norm (the int8 GEMV's fused prologue; scale from fused.h's sum of squares).
RF_DEVICE void q8_norm(float* v, const float* w, float scale) {
    const q8_f4 g = *(const q8_f4*)w;
    v[0] = v[0] * scale * g.x, v[1] = v[1] * scale * g.y, v[2] = v[2] * scale * g.z, v[3] = v[3] * scale * g.w;
}

// ---- the encoders' norm prologue (fused.h's order, so the values are rf_rms_norm_f32's bits) ---

// Chunks per pass of a warp in q8_rms_scales (their loads are in flight together).
#define Q8_RMS_BATCH 4

// nsc[i] = 1 / rms of token i < nt of x ([nt, cols]), from the chunk sums that the block's warps
// compute into `sums` (nt * ceil(cols / RF_RMS_CHUNK) floats); ends behind a block barrier.
RF_DEVICE void q8_rms_scales(const float* x, int cols, int nt, float eps, float* sums, float* nsc) {
    const int chunks = (cols + RF_RMS_CHUNK - 1) / RF_RMS_CHUNK, total = nt * chunks;
    const int nwarps = blockDim.x / RF_WARP, lane = rf_lane();
    for (int base = rf_warp_id(); base < total; base += Q8_RMS_BATCH * nwarps) {  // warp-uniform
        q8_f4 f[Q8_RMS_BATCH];
#pragma unroll
        for (int b = 0; b < Q8_RMS_BATCH; b++) {
            const int item = base + b * nwarps, i = item / chunks, c = item % chunks;
            const int col = c * RF_RMS_CHUNK + 4 * lane;
            f[b] = q8_f4{0.0f, 0.0f, 0.0f, 0.0f};
            if (item < total && col < cols) f[b] = *(const q8_f4*)(x + (rf_i64)i * cols + col);
        }
#pragma unroll
        for (int b = 0; b < Q8_RMS_BATCH; b++) {
            const float sum = rf_rms_chunk(f[b].x, f[b].y, f[b].z, f[b].w);
            if (lane == 0 && base + b * nwarps < total) sums[base + b * nwarps] = sum;
        }
    }
    __syncthreads();
    for (int i = rf_warp_id(); i < nt; i += nwarps) {
        const float scale = rf_rms_scale_of(sums + i * chunks, cols, eps);
        if (lane == 0) nsc[i] = scale;
    }
    __syncthreads();
}

// Q8_0 / Q8_1 of the x86 CPU backend (`quantize_row`, Q8Rounding::X86Avx): per 32 values,
// amax = max |x|, d = amax / 127, id = 127 / amax (0 when amax is 0), q = round-half-even(x *
// id) saturated to i8; d is stored as f16. Q8_1 adds s = f16(d * sum q). A NaN or infinity in
// the block makes d NaN (the CPU's result for such a block is not defined). One block per 8
// lanes, 4 values each (a short dependency chain: the encoding is on every launch's critical
// path). With nw not null the values encoded are x * nsc[token] * nw (q8_norm), else x.
template <class A, class Q>
RF_DEVICE void quantize_q8_32(const float* x, int cols, int nt, const float* nw, const float* nsc, rf_u8* q, float* d,
                              int* s, const XS& xs) {
    const int lane = rf_lane(), sub = lane >> 3, sl = lane & 7;
    const int nwarps = blockDim.x / RF_WARP;
    constexpr int BPW = RF_WARP / 8;  // blocks per warp pass
    const int nb = cols / 32, total = nt * nb;
    for (int base = rf_warp_id() * BPW; base < total; base += nwarps * BPW) {  // warp-uniform
        const int item = base + sub;
        const bool ok = item < total;
        const int i = ok ? item / nb : 0, b = ok ? item % nb : 0;
        float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (ok) {
            const q8_f4 f = *(const q8_f4*)(x + (rf_i64)i * cols + 32 * b + 4 * sl);
            v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
            if (nw) q8_norm(v, nw + 32 * b + 4 * sl, nsc[i]);
        }
        float amax = 0.0f;
#pragma unroll
        for (int k = 0; k < 4; k++) amax = max_nan(amax, fabsf(v[k]));
#pragma unroll
        for (int o = 1; o < 8; o <<= 1) amax = max_nan(amax, rf_shfl_xor(amax, o));
        const float dd = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        rf_u32 word = 0;
        int sum = 0;
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const int qk = min(127, max(-128, rf_float2int_rn(v[k] * id)));
            sum += qk;
            word |= ((rf_u32)qk & 0xFFu) << (8 * k);
        }
#pragma unroll
        for (int o = 1; o < 8; o <<= 1) sum += rf_shfl_xor_int(sum, o);
        if (ok) {
            *(rf_u32*)(q + i * xs.qstride + Q::xaddr(b, sl >> 2) + 4 * (sl & 3)) = word;
            if (sl == 0) {
                d[i * xs.dstride + b] = f16_round(dd);
                if constexpr (A::Q8_1) {
                    s[i * xs.sstride + b] = __float_as_int(f16_round(dd * (float)sum));
                } else {
                    s[i * xs.sstride + b] = sum;
                }
            }
        }
    }
}

// Q8_K of the CPU backend (`quantize_row_q8_K_ref`): per 256 values, max = the value of largest
// magnitude (the first one on ties), iscale = -127 / max, q = min(127, round-half-even(iscale *
// x)), d = 1 / iscale; bsums = the sum of each 16 quants. An all-zero block gets d = 0 and zero
// quants; a NaN or infinity makes d NaN. One 256-value block per 16 lanes, 16 values (one bsum)
// each.
template <class Q>
RF_DEVICE void quantize_q8_k(const float* x, int cols, int nt, const float* nw, const float* nsc, rf_u8* q, float* d,
                             int* s, const XS& xs) {
    const int lane = rf_lane(), sub = lane >> 4, sl = lane & 15, nwarps = blockDim.x / RF_WARP;
    constexpr int IPW = RF_WARP / 16;  // blocks per warp pass
    const int nb = cols / 256, total = nt * nb;
    for (int base = rf_warp_id() * IPW; base < total; base += nwarps * IPW) {  // warp-uniform
        const int item = base + sub;
        const bool ok = item < total;
        const int i = ok ? item / nb : 0, b = ok ? item % nb : 0;
        float v[16];
        if (ok) {
            const q8_f4* src = (const q8_f4*)(x + (rf_i64)i * cols + 256 * b + 16 * sl);
#pragma unroll
            for (int k = 0; k < 4; k++) {
                const q8_f4 f = src[k];
                v[4 * k] = f.x, v[4 * k + 1] = f.y, v[4 * k + 2] = f.z, v[4 * k + 3] = f.w;
                if (nw) q8_norm(v + 4 * k, nw + 256 * b + 16 * sl + 4 * k, nsc[i]);
            }
        } else {
#pragma unroll
            for (int k = 0; k < 16; k++) v[k] = 0.0f;
        }
        float amax = 0.0f, vmax = 0.0f;
        bool bad = false;
#pragma unroll
        for (int k = 0; k < 16; k++) {
            const float a = fabsf(v[k]);
            if (a > amax) amax = a, vmax = v[k];  // strict: the first on ties
            bad |= !(a <= 3.402823466e38f);       // NaN or infinity
        }
        // A bad lane wins the reduction with a NaN maximum, which makes d NaN.
        if (bad) amax = __int_as_float(0x7f800000), vmax = __int_as_float(0x7fc00000);
        // Across the 16 lanes: the larger magnitude wins, ties go to the lower lane (lower
        // indices).
#pragma unroll
        for (int o = 1; o < 16; o <<= 1) {
            const float oa = rf_shfl_xor(amax, o), ov = rf_shfl_xor(vmax, o);
            if (oa > amax || (oa == amax && (lane & o))) amax = oa, vmax = ov;
        }
        rf_u32 w[4] = {0, 0, 0, 0};
        int sum = 0;
        float dd = 0.0f;
        if (amax != 0.0f) {
            const float iscale = -127.0f / vmax;
#pragma unroll
            for (int k = 0; k < 16; k++) {
                const int qk = min(127, rf_float2int_rn(iscale * v[k]));
                sum += qk;
                w[k / 4] |= ((rf_u32)qk & 0xFFu) << (8 * (k % 4));
            }
            dd = 1.0f / iscale;
        }
        if (ok) {
            *(q8_u4*)(q + i * xs.qstride + 256 * b + 16 * Q::xslot(sl, b)) = q8_u4{{w[0], w[1], w[2], w[3]}};
            s[i * xs.sstride + 16 * b + sl] = sum;
            if (sl == 0) d[i * xs.dstride + b] = dd;
        }
    }
}

// The quants of Q5_0/Q5_1: nibbles of qs with bit j of qh (element j) at bit 4.
RF_DEVICE void quints(const rf_u32* qs, rf_u32 qh, rf_u32* lo, rf_u32* hi) {
#pragma unroll
    for (int k = 0; k < 4; k++) {
        lo[k] = (qs[k] & 0x0F0F0F0Fu) | bit4_of_bytes(qh >> (4 * k));
        hi[k] = ((qs[k] >> 4) & 0x0F0F0F0Fu) | bit4_of_bytes(qh >> (16 + 4 * k));
    }
}

// Scales and mins of sub-blocks 2g and 2g + 1 of a Q4_K/Q5_K block from its header words (d|dmin,
// s0..3, s4..7, s8..11; get_scale_min_k4), two at a time: byte 0 of each result for 2g, byte 1
// for 2g + 1.
RF_DEVICE void scale_min_k4(const q8_u4& hd, int g, rf_u32& sc, rf_u32& mn) {
    const int sh = 16 * (g & 1);
    const rf_u32 a = (hd.v[1] >> sh) & 0xFFFFu, b = (hd.v[2] >> sh) & 0xFFFFu, c = (hd.v[3] >> sh) & 0xFFFFu;
    if (g < 2) {
        sc = a & 0x3F3Fu;
        mn = b & 0x3F3Fu;
    } else {
        sc = (c & 0x0F0Fu) | ((a >> 2) & 0x3030u);
        mn = ((c >> 4) & 0x0F0Fu) | ((b >> 2) & 0x3030u);
    }
}
