// Int8 GEMV for the quantized weight types (decode: few tokens).
//
//   y[i, r] = sum_c x[i, c] * W[r, c]   for i < t, r < rows; x: [t, cols] f32, y: [t, rows] f32.
//
// Each block first encodes its tokens' rows of x in shared memory exactly as the CPU backend
// encodes activations for the weight type (backend/src/cpu/qdot: Q8_0 for Q4_0, Q5_0, Q8_0,
// IQ4_NL and MXFP4, Q8_1 for Q4_1 and Q5_1, Q8_K for the K-quants and IQ4_XS; same rounding, bit
// for bit), then takes integer dot products per (sub-)block with dp4a and applies the block
// scales in f32, as the CPU's dot products do. So the GPU computes the CPU's function; only the
// f32 order of the per-block terms differs.
//
// Work split. A team of threads (a warp, or up to a block for matrices of few rows) owns R
// consecutive rows at a time (a "row group"); teams take row groups grid-stride, so a launch of
// any size covers the matrix. A row is cut into "units" (a piece of a block, UPB per block,
// chosen per type so that a lane's loads are wide and its scales amortised); thread j of a team
// of T takes units j, j + T, j + 2T, ... of each of its rows, adds each unit's f32 term to its
// accumulator in that order, each warp sums its lanes with a butterfly and the team its warps
// in order. The order of every f32 operation for a (row, token) thus depends on the matrix alone
// (T is chosen from it): a token's result is the same bit for bit whatever the batch, R or the
// grid.
//
// Loads. Types whose blocks are 16-byte aligned (or 8) load their units straight from global
// memory ("direct"). Types with 2- or 1-byte aligned blocks ("staged") copy the span of W units
// of each row into a per-warp shared buffer with 16-byte loads (coalesced), then each lane reads
// its unit from there with realigned 4-byte reads. The next step's global loads are issued before
// the current step's arithmetic. (A ring of three steps per warp in shared memory filled with
// cp.async, measured on an H200, was slower: 1.5 against 2.2 TB/s on a 18944 x 3584 Q4_K matrix;
// the address arithmetic of the ring cost more than the deeper pipeline gained.)
#include "prelude.h"
#include "fused.h"
#include "q8.h"

#define Q8_THREADS 256
// Static member functions of the type structs (RF_DEVICE is for free functions).
#define Q8_FN static __device__ __forceinline__

// Where piece p (values 16p..16p+16) of 32-value block b goes: the pieces p of 8 consecutive
// blocks are 128 contiguous bytes (one lane per block reads them at once).
RF_DEVICE int xaddr32(int b, int p) { return 256 * (b >> 3) + 128 * p + 16 * (b & 7); }

RF_DEVICE int round256(int n) { return (n + 255) & ~255; }

// Byte sizes of the three arrays for nt tokens (each a multiple of 16).
template <class A>
RF_DEVICE int xs_qbytes(int cols) {
    return round256(cols);
}
template <class A>
RF_DEVICE int xs_dbytes(int cols) {
    return ((cols / A::BLOCK) * 4 + 15) & ~15;
}
template <class A>
RF_DEVICE int xs_sbytes(int cols) {
    return ((cols / A::SUMV) * 4 + 15) & ~15;
}

template <class A>
RF_DEVICE XS xs_layout(rf_u8* smem, int cols, int nt) {
    XS xs;
    xs.qstride = xs_qbytes<A>(cols);
    xs.dstride = xs_dbytes<A>(cols) / 4;
    xs.sstride = xs_sbytes<A>(cols) / 4;
    xs.q = smem;
    xs.d = (const float*)(smem + nt * xs.qstride);
    xs.s = (const int*)(smem + nt * (xs.qstride + 4 * xs.dstride));
    return xs;
}

// Encodes the nt tokens of x, or of rms_norm(x) * nw when nw is not null (nsc: the tokens'
// scales, q8_rms_scales).
template <class Q>
RF_DEVICE void quantize_x(const float* x, int cols, int nt, const float* nw, const float* nsc, rf_u8* smem,
                          const XS& xs) {
    rf_u8* q = smem;
    float* d = (float*)xs.d;
    int* s = (int*)xs.s;
    if constexpr (Q::Act::BLOCK == 256) {
        quantize_q8_k<Q>(x, cols, nt, nw, nsc, q, d, s, xs);
    } else {
        quantize_q8_32<typename Q::Act, Q>(x, cols, nt, nw, nsc, q, d, s, xs);
    }
}

// ---- weight types ----------------------------------------------------------------------------
// Each type: Act (its activation encoding), VALUES and BYTES per block, UPB units per block,
// STAGED, xaddr(b, p) / xslot(p, b) (where the quantizer puts piece p of activation block b), and
//   direct types: Raw (a unit's registers), load(block, i, raw) and dot<NT>(raw, u, xs, nt, acc);
//   staged types: dot<NT>(stage, off, u, xs, nt, acc) reading the block at stage + off.
// acc[k] += the unit's term for token k < nt.
// Block layouts as gguf::quants; dot products as backend/src/cpu/qdot.

// Offsets of the 32-value types' activation pieces (8 lanes read piece p of 8 blocks at once).
struct Legacy {
    static constexpr bool STAGED = true;
    static constexpr int VALUES = 32, UPB = 1;
    Q8_FN int xaddr(int b, int p) { return xaddr32(b, p); }
    Q8_FN int xslot(int p, int) { return p; }  // unused
    // The two activation pieces of block b of token k.
    Q8_FN void xload(const XS& xs, int k, int b, q8_u4& x0, q8_u4& x1) {
        const rf_u8* q = xs.q + k * xs.qstride;
        x0 = *(const q8_u4*)(q + xaddr32(b, 0));
        x1 = *(const q8_u4*)(q + xaddr32(b, 1));
    }
};

// sum of dp4a(a[k], b[k]) over 4 words.
RF_DEVICE int dot4(const rf_u32* a, const q8_u4& b, int c) {
#pragma unroll
    for (int k = 0; k < 4; k++) c = rf_dp4a((int)a[k], (int)b.v[k], c);
    return c;
}

// d f16 | qs[16]; y = d * (q - 8); element j < 16: low nibble of qs[j], j + 16: high nibble.
struct GQ4_0 : Legacy {
    using Act = ActQ8_0;
    static constexpr int BYTES = 18;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        rf_u32 w[5];
        ld_words<5>(st, off, w);
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const rf_u32 qs = q8_funnel(w[k], w[k + 1], 2);
            lo[k] = qs & 0x0F0F0F0Fu;
            hi[k] = (qs >> 4) & 0x0F0F0F0Fu;
        }
        const float d = f16_lo(w[0]);
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                q8_u4 x0, x1;
                xload(xs, k, u, x0, x1);
                const int s = dot4(hi, x1, dot4(lo, x0, 0)) - 8 * xs.s[k * xs.sstride + u];
                acc[k] = fmaf(d * xs.d[k * xs.dstride + u], (float)s, acc[k]);
            }
        }
    }
};

// d f16 | m f16 | qs[16]; y = d * q + m.
struct GQ4_1 : Legacy {
    using Act = ActQ8_1;
    static constexpr int BYTES = 20;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        rf_u32 w[5];
        ld_words<5>(st, off, w);
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            lo[k] = w[k + 1] & 0x0F0F0F0Fu;
            hi[k] = (w[k + 1] >> 4) & 0x0F0F0F0Fu;
        }
        const float d = f16_lo(w[0]), m = f16_hi(w[0]);
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                q8_u4 x0, x1;
                xload(xs, k, u, x0, x1);
                const int s = dot4(hi, x1, dot4(lo, x0, 0));
                const float t = (d * xs.d[k * xs.dstride + u]) * (float)s + m * __int_as_float(xs.s[k * xs.sstride + u]);
                acc[k] += t;
            }
        }
    }
};

// d f16 | qh u32 | qs[16]; y = d * (q - 16).
struct GQ5_0 : Legacy {
    using Act = ActQ8_0;
    static constexpr int BYTES = 22;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        rf_u32 w[6];
        ld_words<6>(st, off, w);
        rf_u32 qs[4], lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) qs[k] = q8_funnel(w[k + 1], w[k + 2], 2);
        quints(qs, q8_funnel(w[0], w[1], 2), lo, hi);
        const float d = f16_lo(w[0]);
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                q8_u4 x0, x1;
                xload(xs, k, u, x0, x1);
                const int s = dot4(hi, x1, dot4(lo, x0, 0)) - 16 * xs.s[k * xs.sstride + u];
                acc[k] = fmaf(d * xs.d[k * xs.dstride + u], (float)s, acc[k]);
            }
        }
    }
};

// d f16 | m f16 | qh u32 | qs[16]; y = d * q + m.
struct GQ5_1 : Legacy {
    using Act = ActQ8_1;
    static constexpr int BYTES = 24;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        rf_u32 w[6];
        ld_words<6>(st, off, w);
        rf_u32 lo[4], hi[4];
        quints(w + 2, w[1], lo, hi);
        const float d = f16_lo(w[0]), m = f16_hi(w[0]);
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                q8_u4 x0, x1;
                xload(xs, k, u, x0, x1);
                const int s = dot4(hi, x1, dot4(lo, x0, 0));
                const float t = (d * xs.d[k * xs.dstride + u]) * (float)s + m * __int_as_float(xs.s[k * xs.sstride + u]);
                acc[k] += t;
            }
        }
    }
};

// d f16 | qs[32] i8; y = d * q.
struct GQ8_0 : Legacy {
    using Act = ActQ8_0;
    static constexpr int BYTES = 34;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        rf_u32 qs[8];
        ld_words<8>(st, off + 2, qs);
        const float d = rf_f16_to_f32(*(const rf_u16*)(st + off));
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                q8_u4 x0, x1;
                xload(xs, k, u, x0, x1);
                const int s = dot4(qs + 4, x1, dot4(qs, x0, 0));
                acc[k] = fmaf(d * xs.d[k * xs.dstride + u], (float)s, acc[k]);
            }
        }
    }
};

// d f16 | qs[16]; y = d * kvalues_iq4nl[q], nibbles as Q4_0.
struct GIQ4_NL : Legacy {
    using Act = ActQ8_0;
    static constexpr int BYTES = 18;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        rf_u32 w[5];
        ld_words<5>(st, off, w);
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const rf_u32 qs = q8_funnel(w[k], w[k + 1], 2);
            lo[k] = iq4nl_levels(qs & 0x0F0F0F0Fu);
            hi[k] = iq4nl_levels((qs >> 4) & 0x0F0F0F0Fu);
        }
        const float d = f16_lo(w[0]);
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                q8_u4 x0, x1;
                xload(xs, k, u, x0, x1);
                const int s = dot4(hi, x1, dot4(lo, x0, 0));
                acc[k] = fmaf(xs.d[k * xs.dstride + u] * d, (float)s, acc[k]);
            }
        }
    }
};

// e u8 (E8M0) | qs[16]; y = kvalues_mxfp4[q] * 2^(e - 128), nibbles as Q4_0.
struct GMXFP4 : Legacy {
    using Act = ActQ8_0;
    static constexpr int BYTES = 17;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        rf_u32 w[5];
        ld_words<5>(st, off, w);
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const rf_u32 qs = q8_funnel(w[k], w[k + 1], 1);
            lo[k] = mxfp4_levels(qs & 0x0F0F0F0Fu);
            hi[k] = mxfp4_levels((qs >> 4) & 0x0F0F0F0Fu);
        }
        const rf_u32 e = w[0] & 0xFFu;
        const float de = __uint_as_float(e < 2 ? 0x00200000u << e : (e - 1) << 23);  // ggml_e8m0_to_fp32_half
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                q8_u4 x0, x1;
                xload(xs, k, u, x0, x1);
                const int s = dot4(hi, x1, dot4(lo, x0, 0));
                acc[k] = fmaf(xs.d[k * xs.dstride + u] * de, (float)s, acc[k]);
            }
        }
    }
};

// K-quants whose units are (half h, 16 positions from l0) of a super-block, covering chunks
// c = 0..3 (values 128h + 32c + l0 .. + 16): Q2_K, Q3_K, Q6_K. Unit i = 2h + l0 / 16; the
// activation piece of (unit i, chunk c) is at slot 4c + i, XOR 4 on odd blocks (the two blocks a
// quarter-warp reads then use different banks).
struct HalfUnits {
    static constexpr bool STAGED = true;
    static constexpr int VALUES = 256, UPB = 4;
    Q8_FN int xslot(int p, int b) {  // p = 8h + 2c + e, unit i = 2h + e
        return (4 * ((p >> 1) & 3) + 2 * (p >> 3) + (p & 1)) ^ (4 * (b & 1));
    }
    Q8_FN int xaddr(int, int) { return 0; }  // unused
    Q8_FN q8_u4 xpiece(const XS& xs, int k, int b, int i, int c) {
        return *(const q8_u4*)(xs.q + k * xs.qstride + 256 * b + 16 * ((4 * c + i) ^ (4 * (b & 1))));
    }
};

// scales[16] (per 16 values: low nibble scale, high nibble min) | qs[64] 2-bit | d f16 | dmin f16;
// y = (d * scale) * q - (dmin * min); element 128h + 32c + l: crumb c of qs[32h + l].
struct GQ2_K : HalfUnits {
    using Act = ActQ8_K;
    static constexpr int BYTES = 84;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        const int b = u >> 2, i = u & 3, h = i >> 1, e = i & 1;
        rf_u32 qs[4], sc[2], dm[1];
        ld_words<4>(st, off + 16 + 32 * h + 16 * e, qs);
        ld_words<2>(st, off + 8 * h, sc);  // scales 8h + 2c + e: byte e + 2c
        ld_words<1>(st, off + 80, dm);
        int scale[4], mn[4];
#pragma unroll
        for (int c = 0; c < 4; c++) {
            const rf_u32 byte = (sc[c >> 1] >> (8 * (e + 2 * (c & 1)))) & 0xFFu;
            scale[c] = byte & 0xF;
            mn[c] = byte >> 4;
        }
        const float d = f16_lo(dm[0]), dmin = f16_hi(dm[0]);
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                const int* bs = xs.s + k * xs.sstride + 16 * b + 8 * h + e;
                int isum = 0, imin = 0;
#pragma unroll
                for (int c = 0; c < 4; c++) {
                    rf_u32 q[4];
#pragma unroll
                    for (int j = 0; j < 4; j++) q[j] = (qs[j] >> (2 * c)) & 0x03030303u;
                    isum += scale[c] * dot4(q, xpiece(xs, k, b, i, c), 0);
                    imin += mn[c] * bs[2 * c];
                }
                const float dx = xs.d[k * xs.dstride + b];
                acc[k] = fmaf(dx * d, (float)isum, acc[k]);
                acc[k] = fmaf(-(dx * dmin), (float)imin, acc[k]);
            }
        }
    }
};

// hmask[32] | qs[64] 2-bit | scales[12] (16 6-bit, offset 32) | d f16;
// y = (d * scale) * (q - (hmask bit set ? 0 : 4)); element 128h + 32c + l: crumb c of qs[32h + l],
// bit 4h + c of hmask[l].
struct GQ3_K : HalfUnits {
    using Act = ActQ8_K;
    static constexpr int BYTES = 110;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        const int b = u >> 2, i = u & 3, h = i >> 1, e = i & 1;
        rf_u32 qs[4], hm[4], s3[3];
        ld_words<4>(st, off + 32 + 32 * h + 16 * e, qs);
        ld_words<4>(st, off + 16 * e, hm);
        ld_words<3>(st, off + 96, s3);
        const float d = rf_f16_to_f32(*(const rf_u16*)(st + off + 108));
        // Scale s = 8h + 2c + e: low nibble h of byte (e + 2c) of scales[0..8], 2 bits
        // 2 * (2h + c / 2) of byte 8 + e + 2 (c % 2).
        int scale[4];
#pragma unroll
        for (int c = 0; c < 4; c++) {
            const rf_u32 low = (s3[c >> 1] >> (8 * (e + 2 * (c & 1)) + 4 * h)) & 0xFu;
            const rf_u32 high = (s3[2] >> (8 * (e + 2 * (c & 1)) + 2 * (2 * h + (c >> 1)))) & 3u;
            scale[c] = (int)(low | (high << 4)) - 32;
        }
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                const int* bs = xs.s + k * xs.sstride + 16 * b + 8 * h + e;
                int isum = 0;
#pragma unroll
                for (int c = 0; c < 4; c++) {
                    rf_u32 q[4];
#pragma unroll
                    for (int j = 0; j < 4; j++)
                        q[j] = ((qs[j] >> (2 * c)) & 0x03030303u) | (((hm[j] >> (4 * h + c)) & 0x01010101u) << 2);
                    isum += scale[c] * (dot4(q, xpiece(xs, k, b, i, c), 0) - 4 * bs[2 * c]);
                }
                acc[k] = fmaf(d * xs.d[k * xs.dstride + b], (float)isum, acc[k]);
            }
        }
    }
};

// ql[128] low 4 bits | qh[64] high 2 bits | scales[16] i8 | d f16; y = (d * scale) * (q - 32);
// element 128h + 32c + l: nibble c / 2 of ql[64h + 32 (c % 2) + l], crumb c of qh[32h + l].
struct GQ6_K : HalfUnits {
    using Act = ActQ8_K;
    static constexpr int BYTES = 210;
    template <int NT>
    Q8_FN void dot(const rf_u8* st, int off, int u, const XS& xs, int nt, float* acc) {
        const int b = u >> 2, i = u & 3, h = i >> 1, e = i & 1;
        rf_u32 qa[4], qb[4], qh[4], sc[2];
        ld_words<4>(st, off + 64 * h + 16 * e, qa);
        ld_words<4>(st, off + 64 * h + 32 + 16 * e, qb);
        ld_words<4>(st, off + 128 + 32 * h + 16 * e, qh);
        ld_words<2>(st, off + 192 + 8 * h, sc);  // scale 8h + 2c + e: byte e + 2c
        const float d = rf_f16_to_f32(*(const rf_u16*)(st + off + 208));
        const int scale[4] = {sbyte(sc[0], e), sbyte(sc[0], 2 + e), sbyte(sc[1], e), sbyte(sc[1], 2 + e)};
        rf_u32 q[4][4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            q[0][j] = (qa[j] & 0x0F0F0F0Fu) | ((qh[j] << 4) & 0x30303030u);
            q[1][j] = (qb[j] & 0x0F0F0F0Fu) | ((qh[j] << 2) & 0x30303030u);
            q[2][j] = ((qa[j] >> 4) & 0x0F0F0F0Fu) | (qh[j] & 0x30303030u);
            q[3][j] = ((qb[j] >> 4) & 0x0F0F0F0Fu) | ((qh[j] >> 2) & 0x30303030u);
        }
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                const int* bs = xs.s + k * xs.sstride + 16 * b + 8 * h + e;
                int isum = 0;
#pragma unroll
                for (int c = 0; c < 4; c++) isum += scale[c] * (dot4(q[c], xpiece(xs, k, b, i, c), 0) - 32 * bs[2 * c]);
                acc[k] = fmaf(d * xs.d[k * xs.dstride + b], (float)isum, acc[k]);
            }
        }
    }
};

// Q4_K/Q5_K units: 16 bytes of qs, unit i = 2g + hh of a super-block, holding values
// 64g + 16hh + 0..16 (sub-block 2g, low nibbles) and 64g + 32 + 16hh + 0..16 (sub-block 2g + 1,
// high nibbles). Activation pieces: the low one at slot i, the high one at slot 8 + i.
struct NibbleUnits {
    static constexpr bool STAGED = false;
    static constexpr int VALUES = 256, UPB = 8;
    Q8_FN int xslot(int p, int) {  // p = 4g + 2 hi + hh
        return ((p & 2) ? 8 : 0) + 2 * (p >> 2) + (p & 1);
    }
    Q8_FN int xaddr(int, int) { return 0; }  // unused
    template <int NT>
    Q8_FN void finish(const q8_u4& hd, const rf_u32* lo, const rf_u32* hi, int u, const XS& xs, int nt,
                                 float* acc) {
        const int b = u >> 3, i = u & 7, g = i >> 1;
        rf_u32 sc, mn;
        scale_min_k4(hd, g, sc, mn);
        const int sc0 = sc & 0xFF, sc1 = sc >> 8, m0 = mn & 0xFF, m1 = mn >> 8;
        const float d = f16_lo(hd.v[0]), dmin = f16_hi(hd.v[0]);
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                const rf_u8* q = xs.q + k * xs.qstride + 256 * b + 16 * i;
                const int s0 = dot4(lo, *(const q8_u4*)q, 0), s1 = dot4(hi, *(const q8_u4*)(q + 128), 0);
                const int* bs = xs.s + k * xs.sstride + 16 * b + 4 * g + (i & 1);
                const int isum = sc0 * s0 + sc1 * s1, imin = m0 * bs[0] + m1 * bs[2];
                const float dx = xs.d[k * xs.dstride + b];
                acc[k] = fmaf(d * dx, (float)isum, acc[k]);
                acc[k] = fmaf(-(dmin * dx), (float)imin, acc[k]);
            }
        }
    }
};

// d f16 | dmin f16 | scales[12] | qs[128]; per 32-value sub-block j: y = (d * sc) * q - (dmin * m);
// element k: nibble k / 32 % 2 of qs[32 * (k / 64) + k % 32].
struct GQ4_K : NibbleUnits {
    using Act = ActQ8_K;
    static constexpr int BYTES = 144;
    struct Raw {
        q8_u4 hd, qs;
    };
    Q8_FN void load(const rf_u8* blk, int i, Raw& r) {
        r.hd = *(const q8_u4*)blk;
        r.qs = *(const q8_u4*)(blk + 16 + 16 * i);
    }
    template <int NT>
    Q8_FN void dot(const Raw& r, int u, const XS& xs, int nt, float* acc) {
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            lo[j] = r.qs.v[j] & 0x0F0F0F0Fu;
            hi[j] = (r.qs.v[j] >> 4) & 0x0F0F0F0Fu;
        }
        finish<NT>(r.hd, lo, hi, u, xs, nt, acc);
    }
};

// d f16 | dmin f16 | scales[12] | qh[32] | qs[128]; as Q4_K with a 5th bit: bit k / 32 of qh[k % 32].
struct GQ5_K : NibbleUnits {
    using Act = ActQ8_K;
    static constexpr int BYTES = 176;
    struct Raw {
        q8_u4 hd, qh, qs;
    };
    Q8_FN void load(const rf_u8* blk, int i, Raw& r) {
        r.hd = *(const q8_u4*)blk;
        r.qh = *(const q8_u4*)(blk + 16 + 16 * (i & 1));
        r.qs = *(const q8_u4*)(blk + 48 + 16 * i);
    }
    template <int NT>
    Q8_FN void dot(const Raw& r, int u, const XS& xs, int nt, float* acc) {
        const int g = (u & 7) >> 1;
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            lo[j] = (r.qs.v[j] & 0x0F0F0F0Fu) | (((r.qh.v[j] >> (2 * g)) & 0x01010101u) << 4);
            hi[j] = ((r.qs.v[j] >> 4) & 0x0F0F0F0Fu) | (((r.qh.v[j] >> (2 * g + 1)) & 0x01010101u) << 4);
        }
        finish<NT>(r.hd, lo, hi, u, xs, nt, acc);
    }
};

// d f16 | scales_h u16 | scales_l[4] | qs[128]; sub-block j (unit j): scale (nibble j % 2 of
// scales_l[j / 2]) | (bits 2j..2j+2 of scales_h) << 4, offset 32; y = (d * scale) *
// kvalues_iq4nl[q], qs[16j..16j+16] nibbles: low ones values 32j + 0..16, high ones 32j + 16..32.
// Activation pieces: 2j at slot j, 2j + 1 at slot 8 + j.
struct GIQ4_XS {
    static constexpr bool STAGED = false;
    static constexpr int VALUES = 256, UPB = 8, BYTES = 136;
    using Act = ActQ8_K;
    Q8_FN int xslot(int p, int) { return ((p & 1) ? 8 : 0) + (p >> 1); }
    Q8_FN int xaddr(int, int) { return 0; }  // unused
    struct Raw {
        q8_u2 hd, q0, q1;
    };
    Q8_FN void load(const rf_u8* blk, int i, Raw& r) {
        r.hd = *(const q8_u2*)blk;
        r.q0 = *(const q8_u2*)(blk + 8 + 16 * i);
        r.q1 = *(const q8_u2*)(blk + 16 + 16 * i);
    }
    template <int NT>
    Q8_FN void dot(const Raw& r, int u, const XS& xs, int nt, float* acc) {
        const int b = u >> 3, j = u & 7;
        const rf_u32 qs[4] = {r.q0.v[0], r.q0.v[1], r.q1.v[0], r.q1.v[1]};
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            lo[k] = iq4nl_levels(qs[k] & 0x0F0F0F0Fu);
            hi[k] = iq4nl_levels((qs[k] >> 4) & 0x0F0F0F0Fu);
        }
        const rf_u32 low = (r.hd.v[1] >> (8 * (j >> 1) + 4 * (j & 1))) & 0xFu;
        const rf_u32 high = (r.hd.v[0] >> (16 + 2 * j)) & 3u;
        const float ls = (float)((int)(low | (high << 4)) - 32);
        const float d = f16_lo(r.hd.v[0]);
#pragma unroll
        for (int k = 0; k < NT; k++) {
            if (k < nt) {
                const rf_u8* q = xs.q + k * xs.qstride + 256 * b + 16 * j;
                const int s = dot4(hi, *(const q8_u4*)(q + 128), dot4(lo, *(const q8_u4*)q, 0));
                acc[k] = fmaf((d * xs.d[k * xs.dstride + b]) * ls, (float)s, acc[k]);
            }
        }
    }
};

// ---- the GEMV ----------------------------------------------------------------------------------

// Bytes of a staged type's per-row buffer: RF_WARP / UPB blocks, up to 15 bytes of alignment
// before them and room for the realigned reads past the last one.
template <class Q>
RF_DEVICE constexpr int stage_row() {
    return ((RF_WARP / Q::UPB) * Q::BYTES + 15 + 8 + 15) / 16 * 16;
}

// 16-byte pieces a lane copies per staged row.
template <class Q>
RF_DEVICE constexpr int stage_pieces() {
    return (stage_row<Q>() / 16 + RF_WARP - 1) / RF_WARP;
}

// The span of the blocks of units base .. base + RF_WARP of a row: its 16-byte aligned start
// and the number of 16-byte pieces up to its end.
template <class Q>
RF_DEVICE const rf_u8* q8_span(const rf_u8* row, int base, int units, int& n16) {
    const int blk0 = base / Q::UPB, blk1 = min(base + RF_WARP, units) / Q::UPB;
    const rf_u8* start = row + (rf_i64)blk0 * Q::BYTES;
    const rf_u8* a = (const rf_u8*)((rf_u64)start & ~(rf_u64)15);
    n16 = (int)((row + (rf_i64)blk1 * Q::BYTES - a + 15) >> 4);
    return a;
}

// What a lane loads for one step: U units of each of its R rows (units base + lane + k * tpr,
// k < U: the lane's next U units in its order), as the units' registers (direct types), or its
// share of the rows' spans (staged types, U = 1).
template <class Q, int R, int U, bool STAGED = Q::STAGED>
struct Step;

template <class Q, int R, int U>
struct Step<Q, R, U, false> {
    typename Q::Raw raw[U][R];
    __device__ __forceinline__ void load(const rf_u8* const* rowp, int base, int tpr, int units) {
#pragma unroll
        for (int k = 0; k < U; k++) {
            const int u = base + rf_lane() + k * tpr;
            if (u < units) {
#pragma unroll
                for (int r = 0; r < R; r++) Q::load(rowp[r] + (rf_i64)(u / Q::UPB) * Q::BYTES, u % Q::UPB, raw[k][r]);
            }
        }
    }
    template <int NT>
    __device__ __forceinline__ void dots(int base, int tpr, int units, const XS& xs, int nt, float (*acc)[NT]) const {
#pragma unroll
        for (int k = 0; k < U; k++) {
            const int u = base + rf_lane() + k * tpr;
            if (u < units) {
#pragma unroll
                for (int r = 0; r < R; r++) Q::template dot<NT>(raw[k][r], u, xs, nt, acc[r]);
            }
        }
    }
};

template <class Q, int R, int U>
struct Step<Q, R, U, true> {
    static_assert(U == 1, "a staged step is one unit per lane");
    static constexpr int P = stage_pieces<Q>();
    q8_u4 piece[R][P];
    // The span of the blocks of units base .. base + RF_WARP of a row: its 16-byte aligned start
    // and the number of 16-byte pieces up to its end.
    Q8_FN const rf_u8* span(const rf_u8* row, int base, int units, int& n16) {
        return q8_span<Q>(row, base, units, n16);
    }
    __device__ __forceinline__ void load(const rf_u8* const* rowp, int base, int, int units) {
#pragma unroll
        for (int r = 0; r < R; r++) {
            int n16;
            const q8_u4* a = (const q8_u4*)span(rowp[r], base, units, n16);
#pragma unroll
            for (int k = 0; k < P; k++) {
                const int p = rf_lane() + k * RF_WARP;
                if (p < n16) piece[r][k] = a[p];
            }
        }
    }
    // Writes the pieces to the warp's stage; off[r] = where row r's first block starts in it.
    __device__ __forceinline__ void store(const rf_u8* const* rowp, int base, int units, rf_u8* stage, int* off) const {
#pragma unroll
        for (int r = 0; r < R; r++) {
            int n16;
            const rf_u8* a = span(rowp[r], base, units, n16);
            off[r] = r * stage_row<Q>() + (int)(rowp[r] + (rf_i64)(base / Q::UPB) * Q::BYTES - a);
            q8_u4* dst = (q8_u4*)(stage + r * stage_row<Q>());
#pragma unroll
            for (int k = 0; k < P; k++) {
                const int p = rf_lane() + k * RF_WARP;
                if (p < n16) dst[p] = piece[r][k];
            }
        }
    }
    template <int NT>
    Q8_FN void dots(const rf_u8* stage, const int* off, int base, int units, const XS& xs, int nt,
                               float (*acc)[NT]) {
        const int u = base + rf_lane();
        if (u < units) {
            const int rel = (rf_lane() / Q::UPB) * Q::BYTES;  // this unit's block in the span
#pragma unroll
            for (int r = 0; r < R; r++) Q::template dot<NT>(stage, off[r] + rel, u, xs, nt, acc[r]);
        }
    }
};

// Shared memory of the encoded activations of NT tokens; staged types add R stage rows per warp
// after it (the launcher computes the same sizes).
template <class Q, int NT>
RF_DEVICE int xs_bytes(int cols) {
    using A = typename Q::Act;
    return NT * (xs_qbytes<A>(cols) + xs_dbytes<A>(cols) + xs_sbytes<A>(cols));
}

// ---- fused forms ---------------------------------------------------------------------------------
// A launch covers up to three matrices that share the input x (Q/K/V, gate/up), each a
// "segment" with its own rows, threads per row, optional bias and output: segment s owns
// `grid` consecutive blocks of the grid's x dimension, so a block computes one matrix. The two
// weight types a kernel instance knows (QA, QB, the same for most) may differ between segments
// (bit s of `types`: segment s is of QB); they share one activation encoding. Optionally x is
// RMS-normed first (nw: the norm's weight), and a row's sums W x (+ b) are stored by `mode`
// (fused.h's RF_STORE .. RF_GEGLU; in the GLU modes a team's rows are pairs of gate (W) and
// up (U) rows, and y = act(W x) * (U x)).
// Each form computes the separate kernels' f32 operations in their order (rf_rms_norm_f32, then
// the GEMV, then rf_add_bias_f32, rf_add_in_place_f32, rf_swiglu_f32 or rf_geglu_f32), so it
// gives the same bits as launching them one after another.

// Launch-wide arguments.
struct Q8Fuse {
    const float* nw;    // [cols] RMS norm weight, or null: no norm
    float eps;
    int mode;           // RF_STORE .. RF_GEGLU
    const rf_u8* w_up;  // the up matrix of the GLU modes
};

// One segment: w [rows, cols] of its type, b [rows] or null, y [t, rows].
struct Q8Seg {
    const rf_u8* w;
    const float* b;
    float* y;
    int rows, grid, tpr;
};

// Stores the sum v of (row, token k) of a segment (u: the up row's sum in the GLU modes).
RF_DEVICE void q8_store(const Q8Fuse& f, const Q8Seg& sg, int row, int k, float v, float u) {
    if (row >= sg.rows) return;
    float* y = sg.y + (rf_i64)k * sg.rows + row;
    if (sg.b) v += sg.b[row];
    rf_store_sum(y, f.mode, v, u);
}

// Sums a finished row group over its team and stores it: a butterfly over each warp, then (teams
// of several warps) the team's warps in order through `red`, behind a block barrier that every
// thread of the block reaches at the same step. `g`: the group; its rows are g * RP + r for
// r < RP (RP = R, or R / 2 in the GLU modes, whose team rows R / 2 + r are the up rows).
template <int R, int NT>
RF_DEVICE void q8_finish(float (*acc)[NT], float (*red)[R * NT], int wpt, int j, int team, bool active, int g, int nt,
                         const Q8Fuse& f, const Q8Seg& sg) {
    const int warp = rf_warp_id(), lane = rf_lane();
    const bool glu = f.mode >= RF_SWIGLU;
    const int rp = glu ? R / 2 : R;
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int k = 0; k < NT; k++) {
            acc[r][k] = rf_warp_sum(acc[r][k]);
            if (wpt > 1 && lane == 0) red[warp][r * NT + k] = acc[r][k];
        }
    if (wpt == 1) {
        if (lane == 0 && active) {
#pragma unroll
            for (int r = 0; r < R; r++)
#pragma unroll
                for (int k = 0; k < NT; k++)
                    if (r < rp && k < nt) q8_store(f, sg, g * rp + r, k, acc[r][k], acc[r < R / 2 ? r + R / 2 : r][k]);
        }
    } else {
        __syncthreads();
        if (active && j < rp * NT) {
            const int r = j / NT, k = j % NT, w0 = team * wpt;
            float v = red[w0][j], u = glu ? red[w0][j + rp * NT] : 0.0f;
            for (int wi = 1; wi < wpt; wi++) {
                v += red[w0 + wi][j];
                if (glu) u += red[w0 + wi][j + rp * NT];
            }
            if (k < nt) q8_store(f, sg, g * rp + r, k, v, u);
        }
    }
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int k = 0; k < NT; k++) acc[r][k] = 0.0f;
}

// Row r of row group g: w's row g * R + r, or in the GLU modes (RP = R / 2) gate row g * RP + r
// for r < RP and up row g * RP + r - RP after them; the last row stands in past the end.
RF_DEVICE const rf_u8* q8_row(const Q8Fuse& f, const Q8Seg& sg, int rp, int g, int r, rf_i64 rb) {
    const bool up = r >= rp;
    return (up ? f.w_up : sg.w) + (rf_i64)min(g * rp + (up ? r - rp : r), sg.rows - 1) * rb;
}

// One segment's GEMV. The block is block `bx` of the segment's sg.grid blocks; grid y:
// ceil(t / NT); blockDim.x of 128 or 256 threads, dynamic shared memory xs_bytes<Q, NT>(cols)
// plus, for staged types, warps * R * stage_row<Q>(). cols a multiple of Q::VALUES; w readable 16
// bytes past its last row (staged spans are read in whole 16-byte pieces). The next step's loads
// are in registers while a step is computed.
//
// The block's threads form teams of `tpr` (threads per row: 32, 64, 128 or 256, dividing the
// block; the launcher picks it from the matrix alone). A team computes R rows at a time (a row
// group); thread j of a team takes units j, j + tpr, j + 2 tpr, ... of each row, so a team of
// several warps splits long rows. Teams take row groups in rounds: in round k, team m of block b
// has group (b + k * grid) * teams + m; every team of a block runs every round (idle when
// its group is past the end) so that the block's barriers line up. A row's sum: each thread's
// accumulator over its units in order, a butterfly over each warp, then the team's warps in
// order.
template <class Q, int R, int NT>
RF_DEVICE void q8_gemv(const float* RF_RESTRICT x, int cols, int t, const Q8Fuse& f, Q8Seg sg, int bx) {
    extern __shared__ q8_u4 q8_smem[];
    __shared__ float red[2][Q8_THREADS / RF_WARP][R * NT];  // warps' sums, by round parity
    __shared__ float nsc[NT];                               // the tokens' norm scales
    rf_u8* smem = (rf_u8*)q8_smem;
    const int warp = rf_warp_id(), lane = rf_lane(), tpr = sg.tpr;
    const int teams = blockDim.x / tpr, team = threadIdx.x / tpr, j = threadIdx.x % tpr;
    const int wpt = tpr / RF_WARP, wbase = j - lane;  // warps per team; this warp's first thread in the team
    const int tok0 = blockIdx.y * NT, nt = min(NT, t - tok0);
    x += (rf_i64)tok0 * cols;
    sg.y += (rf_i64)tok0 * sg.rows;
    const XS xs = xs_layout<typename Q::Act>(smem, cols, NT);
    constexpr int SROW = stage_row<Q>();
    rf_u8* stage = smem + xs_bytes<Q, NT>(cols) + warp * R * SROW;
    const int units = cols / Q::VALUES * Q::UPB;
    // Units per lane and step: direct types at one token keep R * U = 4 units in flight per lane
    // (the registers of R = 4), so fewer rows per team load further ahead in their rows.
    constexpr int U = Q::STAGED || NT > 1 ? 1 : 4 / R;
    const int steps = (units + U * tpr - 1) / (U * tpr);  // per row group
    const int rp = f.mode >= RF_SWIGLU ? R / 2 : R;
    const int groups = (sg.rows + rp - 1) / rp, rstride = sg.grid * teams;
    const rf_i64 rb = (rf_i64)(cols / Q::VALUES) * Q::BYTES;
    float acc[R][NT];
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int k = 0; k < NT; k++) acc[r][k] = 0.0f;

    // Round `rbase` (the group of team 0), step s of the group.
    int rbase = bx * teams, s = 0, parity = 0;
    const rf_u8* rowp[R];
#pragma unroll
    for (int r = 0; r < R; r++) rowp[r] = q8_row(f, sg, rp, rbase + team, r, rb);
    Step<Q, R, U> step;
    if (rbase + team < groups) step.load(rowp, wbase, tpr, units);  // in flight while x is encoded
    if (f.nw) q8_rms_scales(x, cols, nt, f.eps, (float*)smem, nsc);  // smem: scratch until encoded
    quantize_x<Q>(x, cols, nt, f.nw, nsc, smem, xs);
    __syncthreads();

    while (rbase < groups) {  // block-uniform
        const bool active = rbase + team < groups;  // team-uniform
        int ns = s + 1, nrbase = rbase;
        if (ns == steps) ns = 0, nrbase += rstride;
        const bool nactive = nrbase + team < groups;
        const rf_u8* nrowp[R];
#pragma unroll
        for (int r = 0; r < R; r++) nrowp[r] = ns != 0 ? rowp[r] : q8_row(f, sg, rp, nrbase + team, r, rb);
        const int base = s * U * tpr + wbase, nbase = ns * U * tpr + wbase;
        if constexpr (Q::STAGED) {
            if (active) {
                int off[R];
                step.store(rowp, base, units, stage, off);
                rf_syncwarp();
                if (nactive) step.load(nrowp, nbase, tpr, units);  // in flight during the arithmetic
                Step<Q, R, U>::template dots<NT>(stage, off, base, units, xs, nt, acc);
                rf_syncwarp();
            } else if (nactive) {
                step.load(nrowp, nbase, tpr, units);
            }
        } else {
            Step<Q, R, U> next;
            if (nactive) next.load(nrowp, nbase, tpr, units);
            if (active) step.template dots<NT>(base, tpr, units, xs, nt, acc);
            step = next;
        }
        if (ns == 0) {
            q8_finish<R, NT>(acc, red[parity], wpt, j, team, active, rbase + team, nt, f, sg);
            parity ^= 1;
        }
#pragma unroll
        for (int r = 0; r < R; r++) rowp[r] = nrowp[r];
        rbase = nrbase;
        s = ns;
    }
}

template <class A, class B>
struct q8_same {
    static constexpr bool value = false;
};
template <class A>
struct q8_same<A, A> {
    static constexpr bool value = true;
};

// A kernel's body: finds the block's segment and runs it with its type. GLU modes: segment 0
// holds the gate matrix and writes the output, segment 1 only lends its matrix (the up rows;
// grid1 = 0) and R is 2 or 4.
template <class QA, class QB, int R, int NT>
RF_DEVICE void q8_entry(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, Q8Seg s0,
                        Q8Seg s1, Q8Seg s2) {
    const Q8Fuse f{nw, eps, mode, s1.w};
    int bx = blockIdx.x, seg = 0;
    if (bx >= s0.grid) bx -= s0.grid, seg = bx >= s1.grid ? 2 : 1;
    if (seg == 2) bx -= s1.grid;
    Q8Seg sg = s0;  // copied field by field (no indexing into the parameters)
    if (seg == 1) sg = s1;
    if (seg == 2) sg = s2;
    if constexpr (q8_same<QA, QB>::value) {
        q8_gemv<QA, R, NT>(x, cols, t, f, sg, bx);
    } else if ((types >> seg) & 1) {  // block-uniform
        q8_gemv<QB, R, NT>(x, cols, t, f, sg, bx);
    } else {
        q8_gemv<QA, R, NT>(x, cols, t, f, sg, bx);
    }
}

// ---- kernels: rf_q8_gemv_r<R>_t<NT>_<type>[_<type B>] (R rows per team, NT tokens per block) -----
// One weight type, and the pairs of types that share a launch in common files (Q4_K_M and Q5_K_M:
// Q/K and V, gate/up and down of another type). Parameters: q8_entry's, segments spelled out.
// clang-format off
#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_0)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q4_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_0, GQ4_0, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q4_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_0, GQ4_0, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q4_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_0, GQ4_0, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q4_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_0, GQ4_0, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q4_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_0, GQ4_0, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q4_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_0, GQ4_0, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q4_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_0, GQ4_0, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q4_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_0, GQ4_0, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q4_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_0, GQ4_0, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_1)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q4_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_1, GQ4_1, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q4_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_1, GQ4_1, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q4_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_1, GQ4_1, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q4_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_1, GQ4_1, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q4_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_1, GQ4_1, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q4_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_1, GQ4_1, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q4_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_1, GQ4_1, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q4_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_1, GQ4_1, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q4_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_1, GQ4_1, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_0)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q5_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ5_0, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q5_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ5_0, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q5_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ5_0, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q5_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ5_0, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q5_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ5_0, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q5_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ5_0, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q5_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ5_0, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q5_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ5_0, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q5_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ5_0, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_1)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q5_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_1, GQ5_1, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q5_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_1, GQ5_1, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q5_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_1, GQ5_1, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q5_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_1, GQ5_1, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q5_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_1, GQ5_1, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q5_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_1, GQ5_1, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q5_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_1, GQ5_1, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q5_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_1, GQ5_1, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q5_1(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_1, GQ5_1, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q8_0)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ8_0, GQ8_0, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ8_0, GQ8_0, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ8_0, GQ8_0, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ8_0, GQ8_0, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ8_0, GQ8_0, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ8_0, GQ8_0, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ8_0, GQ8_0, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ8_0, GQ8_0, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ8_0, GQ8_0, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q2_k)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q2_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ2_K, GQ2_K, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q2_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ2_K, GQ2_K, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q2_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ2_K, GQ2_K, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q2_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ2_K, GQ2_K, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q2_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ2_K, GQ2_K, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q2_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ2_K, GQ2_K, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q2_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ2_K, GQ2_K, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q2_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ2_K, GQ2_K, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q2_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ2_K, GQ2_K, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q3_k)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q3_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ3_K, GQ3_K, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q3_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ3_K, GQ3_K, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q3_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ3_K, GQ3_K, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q3_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ3_K, GQ3_K, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q3_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ3_K, GQ3_K, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q3_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ3_K, GQ3_K, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q3_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ3_K, GQ3_K, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q3_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ3_K, GQ3_K, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q3_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ3_K, GQ3_K, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_k)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q4_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ4_K, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q4_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ4_K, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q4_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ4_K, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q4_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ4_K, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q4_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ4_K, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q4_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ4_K, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q4_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ4_K, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q4_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ4_K, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q4_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ4_K, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_k)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q5_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ5_K, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q5_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ5_K, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q5_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ5_K, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q5_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ5_K, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q5_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ5_K, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q5_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ5_K, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q5_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ5_K, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q5_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ5_K, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q5_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ5_K, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q6_k)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ6_K, GQ6_K, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ6_K, GQ6_K, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ6_K, GQ6_K, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ6_K, GQ6_K, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ6_K, GQ6_K, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ6_K, GQ6_K, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ6_K, GQ6_K, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ6_K, GQ6_K, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ6_K, GQ6_K, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_iq4_nl)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_iq4_nl(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_NL, GIQ4_NL, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_iq4_nl(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_NL, GIQ4_NL, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_iq4_nl(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_NL, GIQ4_NL, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_iq4_nl(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_NL, GIQ4_NL, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_iq4_nl(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_NL, GIQ4_NL, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_iq4_nl(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_NL, GIQ4_NL, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_iq4_nl(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_NL, GIQ4_NL, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_iq4_nl(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_NL, GIQ4_NL, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_iq4_nl(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_NL, GIQ4_NL, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_iq4_xs)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_iq4_xs(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_XS, GIQ4_XS, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_iq4_xs(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_XS, GIQ4_XS, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_iq4_xs(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_XS, GIQ4_XS, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_iq4_xs(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_XS, GIQ4_XS, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_iq4_xs(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_XS, GIQ4_XS, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_iq4_xs(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_XS, GIQ4_XS, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_iq4_xs(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_XS, GIQ4_XS, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_iq4_xs(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_XS, GIQ4_XS, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_iq4_xs(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GIQ4_XS, GIQ4_XS, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_mxfp4)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_mxfp4(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GMXFP4, GMXFP4, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_mxfp4(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GMXFP4, GMXFP4, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_mxfp4(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GMXFP4, GMXFP4, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_mxfp4(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GMXFP4, GMXFP4, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_mxfp4(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GMXFP4, GMXFP4, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_mxfp4(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GMXFP4, GMXFP4, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_mxfp4(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GMXFP4, GMXFP4, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_mxfp4(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GMXFP4, GMXFP4, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_mxfp4(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GMXFP4, GMXFP4, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_0_q8_0)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q5_0_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ8_0, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q5_0_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ8_0, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q5_0_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ8_0, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q5_0_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ8_0, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q5_0_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ8_0, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q5_0_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ8_0, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q5_0_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ8_0, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q5_0_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ8_0, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q5_0_q8_0(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_0, GQ8_0, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_k_q6_k)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q4_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ6_K, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q4_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ6_K, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q4_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ6_K, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q4_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ6_K, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q4_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ6_K, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q4_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ6_K, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q4_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ6_K, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q4_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ6_K, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q4_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ4_K, GQ6_K, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_k_q6_k)
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t1_q5_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ6_K, 1, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t1_q5_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ6_K, 2, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r4_t1_q5_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ6_K, 4, 1>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t2_q5_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ6_K, 1, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t2_q5_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ6_K, 2, 2>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t4_q5_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ6_K, 1, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t4_q5_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ6_K, 2, 4>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r1_t8_q5_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ6_K, 1, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
RF_KERNEL void __launch_bounds__(Q8_THREADS) rf_q8_gemv_r2_t8_q5_k_q6_k(const float* x, int cols, int t, const float* nw, float eps, int mode, int types, const rf_u8* w0, const float* b0, float* y0, int rows0, int grid0, int tpr0, const rf_u8* w1, const float* b1, float* y1, int rows1, int grid1, int tpr1, const rf_u8* w2, const float* b2, float* y2, int rows2, int grid2, int tpr2) { q8_entry<GQ5_K, GQ6_K, 2, 8>(x, cols, t, nw, eps, mode, types, Q8Seg{w0, b0, y0, rows0, grid0, tpr0}, Q8Seg{w1, b1, y1, rows1, grid1, tpr1}, Q8Seg{w2, b2, y2, rows2, grid2, tpr2}); }
#endif
// clang-format on
