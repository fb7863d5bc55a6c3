// Int8 GEMM ("MMQ") of the quantized weight types, for products of 17 and more tokens.
//
//   y[t0 + i, r] = sum_c x[t0 + i, c] * W[r, c]   for i < t, r < rows; x, y row-major f32.
//
// Two launches per product (per chunk of tokens):
// - rf_mmq_encode_<act> encodes each token's activations into a global scratch with the int8
//   GEMV's encoders (q8.h: Q8_0, Q8_1 or Q8_K per weight type, the CPU's encoding bit for bit).
//   Scratch layout for t tokens of `cols` values: q [t][cols] i8, then d [t][cols / BLOCK] f32,
//   then s [t][cols / SUMV] i32 (see mmq_scratch).
// - rf_mmq_<type>_n32 computes tiles of MMQ_BM rows x 32 tokens (BN; 64-token tiles were tried
//   and lost to two 32-token tiles on the H100: they spill under two blocks per SM). Per slice of 256 columns it
//   unpacks the tile's weights from the file's block encoding (not repacked) into signed bytes
//   ([BM][256]) and per-sub-block scales in shared memory, copies the slice of the encoded
//   activations ([BN][256]) beside them, and takes the integer dot product of every (row, token,
//   sub-block) on the int8 matrix cores (mma.sync m16n8k32, or m16n8k16 for types whose scales
//   cover 16 values; NVIDIA sm_80+) or with dp4a (elsewhere, same tiles and lanes).
//
// Arithmetic, as the GEMV's (so a token's result is the GEMV's up to the f32 order of the block
// terms). Constant offsets (Q4_0's 8, Q5_0's 16, Q3_K's 4, Q6_K's 32) are subtracted from the
// weight bytes, which gives the GEMV's integer sums exactly. 32-value types add one f32 term per
// block: (d_w * d_x) * isum (+ m_w * s_x for Q4_1/Q5_1). K-quants sum sc_j * isum_j over the
// sub-blocks of a super-block in integers and add (d_w * d_x) * isum, and for types with mins
// -(dmin_w * d_x) * sum_j m_j * bsum_j, that last integer sum also on the matrix cores (bsum split
// as 128 h + l, both bytes). Every (row, token) sums its terms in column order, one thread, so
// its result depends on neither the tile shape nor the batch.
//
// Loads: the next slice's weights and activations are read into registers while the current one
// is computed. Shared memory stays under 48 KiB (no opt-in needed on any device). The kernel is
// bound by shared-memory traffic (ncu, H100: L1 ~80% busy), so its stores are ordered to put a
// store's lanes on different banks (st_pair, chunk_rotation), scales are stored and read as
// words, and a row's scales are 48 bytes apart.
//
// Fused forms (as the int8 GEMV's): the encoder may RMS-norm the tokens first (q8.h's prologue,
// rf_rms_norm_f32's bits), one encoding serves every matrix that shares the input, and a row's
// sum is stored by `mode` with an optional bias (mmq_store), in the kernel or, for split
// products, in rf_mmq_reduce. Each form gives the bits of the separate kernels it replaces.
#include "prelude.h"
#include "fused.h"
#include "q8.h"

#if defined(RF_CUDA) && !defined(RF_MMQ_PORTABLE) && (!defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800)
#define RF_MMQ_MMA 1
#endif

#define MMQ_BM 64
#define MMQ_THREADS 256
#define MMQ_SLICE 256
// Bytes per row of a shared tile: a slice plus 16 (the fragment reads of 8 rows x 4 lanes then
// hit 32 different banks).
#define MMQ_LD (MMQ_SLICE + 16)
#define MMQ_FN static __device__ __forceinline__

// ---- activation encoding ------------------------------------------------------------------------

// The quantizers' placement of a block's pieces: plain column order.
struct Linear {
    MMQ_FN int xaddr(int b, int p) { return 32 * b + 16 * p; }
    MMQ_FN int xslot(int p, int) { return p; }
};

// Grid (t, ceil(cols / MMQ_ENC_COLS)), MMQ_ENC_THREADS threads: block (i, j) encodes columns
// j * MMQ_ENC_COLS .. of token t0 + i into token i of the scratch; of rms_norm(x) * nw (eps)
// when nw is not null, each block then summing the token's whole row first (dynamic shared
// memory: ceil(cols / RF_RMS_CHUNK) floats).
#define MMQ_ENC_COLS 2048
#define MMQ_ENC_THREADS 256
template <class A>
RF_DEVICE void mmq_encode(const float* RF_RESTRICT x, rf_u8* RF_RESTRICT scratch, int cols, int t, int t0,
                          const float* RF_RESTRICT nw, float eps) {
    extern __shared__ float mmq_sums[];
    __shared__ float nsc[1];
    const int i = blockIdx.x, c0 = blockIdx.y * MMQ_ENC_COLS, n = min(MMQ_ENC_COLS, cols - c0);
    const int nd = cols / A::BLOCK, ns = cols / A::SUMV;
    XS xs;  // one token: only the placement matters
    xs.qstride = cols, xs.dstride = nd, xs.sstride = ns;
    rf_u8* q = scratch + (rf_i64)i * cols + c0;
    float* d = (float*)(scratch + (rf_i64)t * cols) + (rf_i64)i * nd + c0 / A::BLOCK;
    int* s = (int*)(scratch + (rf_i64)t * cols + 4 * (rf_i64)t * nd) + (rf_i64)i * ns + c0 / A::SUMV;
    const float* xi = x + (rf_i64)(t0 + i) * cols;
    if (nw) q8_rms_scales(xi, cols, 1, eps, mmq_sums, nsc);  // block-uniform
    const float* w = nw ? nw + c0 : nullptr;
    if constexpr (A::BLOCK == 256) {
        quantize_q8_k<Linear>(xi + c0, n, 1, w, nsc, q, d, s, xs);
    } else {
        quantize_q8_32<A, Linear>(xi + c0, n, 1, w, nsc, q, d, s, xs);
    }
}

// How a row's sum v (+ b[row]) is stored: by fused.h's modes, the GLU ones as the second product
// of a pair (y already holds the gate's product, v is the up row's).
RF_DEVICE void mmq_store(float* y, const float* b, int mode, int row, float v) {
    if (b) v += b[row];
    if (mode >= RF_SWIGLU) {
        rf_store_sum(y, mode, *y, v);
    } else {
        rf_store_sum(y, mode, v, 0.0f);
    }
}

// clang-format off
#if !defined(RF_PART_ONLY) || defined(RF_PART_common)
RF_KERNEL void __launch_bounds__(MMQ_ENC_THREADS) rf_mmq_encode_q8_0(const float* x, rf_u8* scratch, int cols, int t, int t0, const float* nw, float eps) { mmq_encode<ActQ8_0>(x, scratch, cols, t, t0, nw, eps); }
RF_KERNEL void __launch_bounds__(MMQ_ENC_THREADS) rf_mmq_encode_q8_1(const float* x, rf_u8* scratch, int cols, int t, int t0, const float* nw, float eps) { mmq_encode<ActQ8_1>(x, scratch, cols, t, t0, nw, eps); }
RF_KERNEL void __launch_bounds__(MMQ_ENC_THREADS) rf_mmq_encode_q8_k(const float* x, rf_u8* scratch, int cols, int t, int t0, const float* nw, float eps) { mmq_encode<ActQ8_K>(x, scratch, cols, t, t0, nw, eps); }
#endif
// clang-format on

// ---- per-slice scales in shared memory --------------------------------------------------------

// A weight row's scales for one slice: 32-value types one f32 scale per block (and min for
// Q4_1/Q5_1); K-quants signed byte scales per sub-block (and mins), f32 d (and dmin).
struct ScalesLegacy {
    float d[8], m[8];
};
struct alignas(16) ScalesK {  // 48 bytes: sc read as 16, mn's rows 48 bytes apart hit no bank twice
    rf_i8 sc[16], mn[16];  // mn[j] = 0 past the type's sub-blocks
    float d, dmin;
};

// A token's activation data for one slice: Q8_0 the 8 block scales; Q8_1 also the 8 f16(d * sum);
// Q8_K the super-block's d and (types with mins) the sums per sub-block as bytes h[16], l[16]
// with sum = 128 h + l.
struct XSliceQ8_0 {
    float d[8];
};
struct XSliceQ8_1 {
    float d[8], s[8];
};
struct XSliceQ8_K {
    float d;
    rf_i8 h[16], l[16];
};

// ---- weight types ---------------------------------------------------------------------------------
// Each: Act (the activation encoding), BYTES per block of VALUES, SUB (values per scale: the
// mma's k), MINS (the mins term), UNITS (a slice's pieces per row, one thread each), Raw (a
// unit's registers), load(base, off, u, raw) reading unit u of the slice that starts at byte
// off of base (16-byte aligned), and unpack(raw, u, a, sc) writing the unit's values (signed
// bytes, slice order) into the tile row a and its scales into sc.

// Bytes x - c for bytes of x < 0x80 and c <= 0x80 (no borrow crosses a byte).
RF_DEVICE rf_u32 sub_bytes(rf_u32 x, rf_u32 c) { return ((x | 0x80808080u) - c) ^ 0x80808080u; }

RF_DEVICE void st16(rf_i8* p, rf_u32 a, rf_u32 b, rf_u32 c, rf_u32 d) { *(q8_u4*)p = q8_u4{{a, b, c, d}}; }

// Two 16-byte pieces at a and a + off, the one at a + off first when `swap`: eight lanes
// storing one row's 32-value blocks (or Q4_K's 64-value pairs) then write 8 different 16-byte
// bank groups with each instruction instead of 4 twice.
RF_DEVICE void st_pair(rf_i8* a, int off, const rf_u32* x, const rf_u32* y, bool swap) {
    const rf_u32* f = swap ? y : x;
    const rf_u32* s = swap ? x : y;
    st16(a + (swap ? off : 0), f[0], f[1], f[2], f[3]);
    st16(a + (swap ? 0 : off), s[0], s[1], s[2], s[3]);
}

// Nibbles of 4 words of unit u: low ones values 0..15, high ones 16..31 of a 32-value block.
RF_DEVICE void st_nibbles(rf_i8* a, const rf_u32* lo, const rf_u32* hi, int u) { st_pair(a, 16, lo, hi, u & 4); }

// 32-value blocks, 8 per slice, one per unit, read as N words from the block's start.
template <int N>
struct Legacy32 {
    using Scales = ScalesLegacy;
    static constexpr int VALUES = 32, SUB = 32, UNITS = 8;
    static constexpr bool MINS = false, K = false;
    struct Raw {
        rf_u32 w[N];
    };
    static constexpr int WORDS = N;
};

// d f16 | qs[16]; y = d * (q - 8).
struct MQ4_0 : Legacy32<5> {
    using Act = ActQ8_0;
    using XSlice = XSliceQ8_0;
    static constexpr int BYTES = 18;
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const rf_u32 qs = q8_funnel(r.w[k], r.w[k + 1], 2);
            lo[k] = sub_bytes(qs & 0x0F0F0F0Fu, 0x08080808u);
            hi[k] = sub_bytes((qs >> 4) & 0x0F0F0F0Fu, 0x08080808u);
        }
        st_nibbles(a + 32 * u, lo, hi, u);
        sc.d[u] = f16_lo(r.w[0]);
    }
};

// d f16 | m f16 | qs[16]; y = d * q + m.
struct MQ4_1 : Legacy32<5> {
    using Act = ActQ8_1;
    using XSlice = XSliceQ8_1;
    static constexpr int BYTES = 20;
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            lo[k] = r.w[k + 1] & 0x0F0F0F0Fu;
            hi[k] = (r.w[k + 1] >> 4) & 0x0F0F0F0Fu;
        }
        st_nibbles(a + 32 * u, lo, hi, u);
        sc.d[u] = f16_lo(r.w[0]);
        sc.m[u] = f16_hi(r.w[0]);
    }
};

// d f16 | qh u32 | qs[16]; y = d * (q - 16).
struct MQ5_0 : Legacy32<6> {
    using Act = ActQ8_0;
    using XSlice = XSliceQ8_0;
    static constexpr int BYTES = 22;
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        rf_u32 qs[4], lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) qs[k] = q8_funnel(r.w[k + 1], r.w[k + 2], 2);
        quints(qs, q8_funnel(r.w[0], r.w[1], 2), lo, hi);
#pragma unroll
        for (int k = 0; k < 4; k++) lo[k] = sub_bytes(lo[k], 0x10101010u), hi[k] = sub_bytes(hi[k], 0x10101010u);
        st_nibbles(a + 32 * u, lo, hi, u);
        sc.d[u] = f16_lo(r.w[0]);
    }
};

// d f16 | m f16 | qh u32 | qs[16]; y = d * q + m.
struct MQ5_1 : Legacy32<6> {
    using Act = ActQ8_1;
    using XSlice = XSliceQ8_1;
    static constexpr int BYTES = 24;
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        rf_u32 lo[4], hi[4];
        quints(r.w + 2, r.w[1], lo, hi);
        st_nibbles(a + 32 * u, lo, hi, u);
        sc.d[u] = f16_lo(r.w[0]);
        sc.m[u] = f16_hi(r.w[0]);
    }
};

// d f16 | qs[32] i8; y = d * q.
struct MQ8_0 : Legacy32<9> {
    using Act = ActQ8_0;
    using XSlice = XSliceQ8_0;
    static constexpr int BYTES = 34;
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        rf_u32 q[8];
#pragma unroll
        for (int k = 0; k < 8; k++) q[k] = q8_funnel(r.w[k], r.w[k + 1], 2);
        st_nibbles(a + 32 * u, q, q + 4, u);
        sc.d[u] = f16_lo(r.w[0]);
    }
};

// d f16 | qs[16]; y = d * kvalues_iq4nl[q], nibbles as Q4_0.
struct MIQ4_NL : Legacy32<5> {
    using Act = ActQ8_0;
    using XSlice = XSliceQ8_0;
    static constexpr int BYTES = 18;
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const rf_u32 qs = q8_funnel(r.w[k], r.w[k + 1], 2);
            lo[k] = iq4nl_levels(qs & 0x0F0F0F0Fu);
            hi[k] = iq4nl_levels((qs >> 4) & 0x0F0F0F0Fu);
        }
        st_nibbles(a + 32 * u, lo, hi, u);
        sc.d[u] = f16_lo(r.w[0]);
    }
};

// e u8 (E8M0) | qs[16]; y = kvalues_mxfp4[q] * 2^(e - 128), nibbles as Q4_0.
struct MMXFP4 : Legacy32<5> {
    using Act = ActQ8_0;
    using XSlice = XSliceQ8_0;
    static constexpr int BYTES = 17;
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const rf_u32 qs = q8_funnel(r.w[k], r.w[k + 1], 1);
            lo[k] = mxfp4_levels(qs & 0x0F0F0F0Fu);
            hi[k] = mxfp4_levels((qs >> 4) & 0x0F0F0F0Fu);
        }
        st_nibbles(a + 32 * u, lo, hi, u);
        const rf_u32 e = r.w[0] & 0xFFu;
        sc.d[u] = __uint_as_float(e < 2 ? 0x00200000u << e : (e - 1) << 23);  // ggml_e8m0_to_fp32_half
    }
};

// The 32-value types load a block's N words (realigned: blocks of 17..34 bytes).
template <class Q>
MMQ_FN void load_legacy(const rf_u8* base, int off, int u, typename Q::Raw& r) {
    ld_words<Q::WORDS>(base, off + u * Q::BYTES, r.w);
}

// K-quants: one super-block per slice.
struct KQuant {
    using Scales = ScalesK;
    using Act = ActQ8_K;
    using XSlice = XSliceQ8_K;
    static constexpr int VALUES = 256;
    static constexpr bool K = true;
};

// The 16-value types' units store their four 16-byte chunks c (values 128h + 32c + 16e ..) in the
// order c = (k + rot) & 3, k = 0..3: eight lanes store units 0..3 of two rows (272 bytes apart,
// one 16-byte bank group per row; MmqStage::store gives thread tid rows (tid + 256 k) / 4), and
// this order puts each store's eight lanes on eight different groups (in column order, 4 met).
MMQ_FN int chunk_rotation(int h, int e) {
    const int rho = (threadIdx.x >> 2) & 1;
    return h + (rho != e ? 2 * rho : rho);
}

// Units (h, e) = (u >> 1, u & 1): positions 16e..16e+16 of each 32-value chunk c of half h,
// values 128h + 32c + 16e + 0..16 = sub-block 8h + 2c + e.
// scales[16] (low nibble scale, high nibble min) | qs[64] 2-bit | d f16 | dmin f16;
// y = (d * scale) * q - (dmin * min); element 128h + 32c + l: crumb c of qs[32h + l].
struct MQ2_K : KQuant {
    static constexpr int BYTES = 84, SUB = 16, UNITS = 4;
    static constexpr bool MINS = true;
    struct Raw {
        rf_u32 qs[4], sc[2], dm;
    };
    MMQ_FN void load(const rf_u8* base, int off, int u, Raw& r) {
        const int h = u >> 1, e = u & 1;
        ld_words<4>(base, off + 16 + 32 * h + 16 * e, r.qs);
        ld_words<2>(base, off + 8 * h, r.sc);
        ld_words<1>(base, off + 80, &r.dm);
    }
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        const int h = u >> 1, e = u & 1, rot = chunk_rotation(h, e);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const int c = (k + rot) & 3;
            rf_u32 q[4];
#pragma unroll
            for (int j = 0; j < 4; j++) q[j] = (r.qs[j] >> (2 * c)) & 0x03030303u;
            st16(a + 128 * h + 32 * c + 16 * e, q[0], q[1], q[2], q[3]);
        }
        // Sub-block 8h + j: byte j of the half's scales, scale in the low nibble, min in the high.
        if (e == 0) {
            *(q8_u2*)&sc.sc[8 * h] = q8_u2{{r.sc[0] & 0x0F0F0F0Fu, r.sc[1] & 0x0F0F0F0Fu}};
            *(q8_u2*)&sc.mn[8 * h] = q8_u2{{(r.sc[0] >> 4) & 0x0F0F0F0Fu, (r.sc[1] >> 4) & 0x0F0F0F0Fu}};
        }
        if (u == 0) sc.d = f16_lo(r.dm), sc.dmin = f16_hi(r.dm);
    }
};

// hmask[32] | qs[64] 2-bit | scales[12] (16 6-bit, offset 32) | d f16;
// y = (d * scale) * (q - (hmask bit set ? 0 : 4)); element 128h + 32c + l: crumb c of qs[32h + l],
// bit 4h + c of hmask[l].
struct MQ3_K : KQuant {
    static constexpr int BYTES = 110, SUB = 16, UNITS = 4;
    static constexpr bool MINS = false;
    struct Raw {
        rf_u32 qs[4], hm[4], s3[3], d;
    };
    MMQ_FN void load(const rf_u8* base, int off, int u, Raw& r) {
        const int h = u >> 1, e = u & 1;
        ld_words<4>(base, off + 32 + 32 * h + 16 * e, r.qs);
        ld_words<4>(base, off + 16 * e, r.hm);
        ld_words<3>(base, off + 96, r.s3);
        ld_words<1>(base, off + 108, &r.d);
    }
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        const int h = u >> 1, e = u & 1, rot = chunk_rotation(h, e);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const int c = (k + rot) & 3;
            rf_u32 q[4];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const rf_u32 v = ((r.qs[j] >> (2 * c)) & 0x03030303u) | (((r.hm[j] >> (4 * h + c)) & 0x01010101u) << 2);
                q[j] = sub_bytes(v, 0x04040404u);
            }
            st16(a + 128 * h + 32 * c + 16 * e, q[0], q[1], q[2], q[3]);
        }
        // Scale 8h + j (j = 4w + b): low nibble h of byte j of scales[0..8], 2 bits 2 (2h + w)
        // of byte 8 + b, offset 32.
        if (e == 0) {
            rf_u32 w[2];
#pragma unroll
            for (int k = 0; k < 2; k++) {
                const rf_u32 low = (r.s3[k] >> (4 * h)) & 0x0F0F0F0Fu;
                const rf_u32 high = (r.s3[2] >> (2 * (2 * h + k))) & 0x03030303u;
                w[k] = sub_bytes(low | (high << 4), 0x20202020u);
            }
            *(q8_u2*)&sc.sc[8 * h] = q8_u2{{w[0], w[1]}};
        }
        if (u == 0) sc.d = f16_lo(r.d);
    }
};

// ql[128] low 4 bits | qh[64] high 2 bits | scales[16] i8 | d f16; y = (d * scale) * (q - 32);
// element 128h + 32c + l: nibble c / 2 of ql[64h + 32 (c % 2) + l], crumb c of qh[32h + l].
struct MQ6_K : KQuant {
    static constexpr int BYTES = 210, SUB = 16, UNITS = 4;
    static constexpr bool MINS = false;
    struct Raw {
        rf_u32 qa[4], qb[4], qh[4], sc[2], d;
    };
    MMQ_FN void load(const rf_u8* base, int off, int u, Raw& r) {
        const int h = u >> 1, e = u & 1;
        ld_words<4>(base, off + 64 * h + 16 * e, r.qa);
        ld_words<4>(base, off + 64 * h + 32 + 16 * e, r.qb);
        ld_words<4>(base, off + 128 + 32 * h + 16 * e, r.qh);
        ld_words<2>(base, off + 192 + 8 * h, r.sc);
        ld_words<1>(base, off + 208, &r.d);
    }
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        const int h = u >> 1, e = u & 1;
        const int rot = chunk_rotation(h, e);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            const int c = (k + rot) & 3;
            rf_u32 v[4];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const rf_u32 lo = ((c & 1 ? r.qb[j] : r.qa[j]) >> (4 * (c >> 1))) & 0x0F0F0F0Fu;
                const rf_u32 hi = (c < 2 ? r.qh[j] << (4 - 2 * c) : r.qh[j] >> (2 * c - 4)) & 0x30303030u;
                v[j] = sub_bytes(lo | hi, 0x20202020u);
            }
            st16(a + 128 * h + 32 * c + 16 * e, v[0], v[1], v[2], v[3]);
        }
        if (e == 0) *(q8_u2*)&sc.sc[8 * h] = q8_u2{{r.sc[0], r.sc[1]}};  // scales 8h .. 8h + 8 in order
        if (u == 0) sc.d = f16_lo(r.d);
    }
};

// Q4_K/Q5_K units: 16 bytes of qs, unit i = 2g + hh, holding values 64g + 16hh + 0..16
// (sub-block 2g, low nibbles) and 64g + 32 + 16hh + 0..16 (sub-block 2g + 1, high nibbles).
struct NibbleK : KQuant {
    static constexpr int SUB = 32, UNITS = 8;
    static constexpr bool MINS = true;
    MMQ_FN void finish(const q8_u4& hd, const rf_u32* lo, const rf_u32* hi, int u, rf_i8* a, Scales& sc) {
        const int g = u >> 1, hh = u & 1;
        st_pair(a + 64 * g + 16 * hh, 32, lo, hi, g & 2);
        if (hh == 0) {
            rf_u32 s, m;
            scale_min_k4(hd, g, s, m);  // bytes 0, 1: sub-blocks 2g, 2g + 1
            *(rf_u16*)&sc.sc[2 * g] = (rf_u16)s;
            *(rf_u16*)&sc.mn[2 * g] = (rf_u16)m;
            *(rf_u16*)&sc.mn[8 + 2 * g] = 0;
        }
        if (u == 0) sc.d = f16_lo(hd.v[0]), sc.dmin = f16_hi(hd.v[0]);
    }
};

// d f16 | dmin f16 | scales[12] | qs[128]; per 32-value sub-block j: y = (d * sc) * q - (dmin * m);
// element k: nibble k / 32 % 2 of qs[32 * (k / 64) + k % 32].
struct MQ4_K : NibbleK {
    static constexpr int BYTES = 144;
    struct Raw {
        q8_u4 hd, qs;
    };
    MMQ_FN void load(const rf_u8* base, int off, int u, Raw& r) {
        r.hd = *(const q8_u4*)(base + off);
        r.qs = *(const q8_u4*)(base + off + 16 + 16 * u);
    }
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            lo[j] = r.qs.v[j] & 0x0F0F0F0Fu;
            hi[j] = (r.qs.v[j] >> 4) & 0x0F0F0F0Fu;
        }
        finish(r.hd, lo, hi, u, a, sc);
    }
};

// d f16 | dmin f16 | scales[12] | qh[32] | qs[128]; as Q4_K with a 5th bit: bit k / 32 of qh[k % 32].
struct MQ5_K : NibbleK {
    static constexpr int BYTES = 176;
    struct Raw {
        q8_u4 hd, qh, qs;
    };
    MMQ_FN void load(const rf_u8* base, int off, int u, Raw& r) {
        r.hd = *(const q8_u4*)(base + off);
        r.qh = *(const q8_u4*)(base + off + 16 + 16 * (u & 1));
        r.qs = *(const q8_u4*)(base + off + 48 + 16 * u);
    }
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        const int g = u >> 1;
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            lo[j] = (r.qs.v[j] & 0x0F0F0F0Fu) | (((r.qh.v[j] >> (2 * g)) & 0x01010101u) << 4);
            hi[j] = ((r.qs.v[j] >> 4) & 0x0F0F0F0Fu) | (((r.qh.v[j] >> (2 * g + 1)) & 0x01010101u) << 4);
        }
        finish(r.hd, lo, hi, u, a, sc);
    }
};

// d f16 | scales_h u16 | scales_l[4] | qs[128]; sub-block j (unit j): scale (nibble j % 2 of
// scales_l[j / 2]) | (bits 2j..2j+2 of scales_h) << 4, offset 32; y = (d * scale) *
// kvalues_iq4nl[q], qs[16j..16j+16] nibbles: low ones values 32j + 0..16, high ones 32j + 16..32.
struct MIQ4_XS : KQuant {
    static constexpr int BYTES = 136, SUB = 32, UNITS = 8;
    static constexpr bool MINS = false;
    struct Raw {
        q8_u2 hd, q0, q1;
    };
    MMQ_FN void load(const rf_u8* base, int off, int u, Raw& r) {
        r.hd = *(const q8_u2*)(base + off);
        r.q0 = *(const q8_u2*)(base + off + 8 + 16 * u);
        r.q1 = *(const q8_u2*)(base + off + 16 + 16 * u);
    }
    MMQ_FN void unpack(const Raw& r, int u, rf_i8* a, Scales& sc) {
        const rf_u32 qs[4] = {r.q0.v[0], r.q0.v[1], r.q1.v[0], r.q1.v[1]};
        rf_u32 lo[4], hi[4];
#pragma unroll
        for (int k = 0; k < 4; k++) {
            lo[k] = iq4nl_levels(qs[k] & 0x0F0F0F0Fu);
            hi[k] = iq4nl_levels((qs[k] >> 4) & 0x0F0F0F0Fu);
        }
        st_nibbles(a + 32 * u, lo, hi, u);
        const rf_u32 low = (r.hd.v[1] >> (8 * (u >> 1) + 4 * (u & 1))) & 0xFu;
        const rf_u32 high = (r.hd.v[0] >> (16 + 2 * u)) & 3u;
        sc.sc[u] = (rf_i8)((int)(low | (high << 4)) - 32);
        if (u == 0) sc.d = f16_lo(r.hd.v[0]);
    }
};

template <class Q>
MMQ_FN void load_unit(const rf_u8* base, int off, int u, typename Q::Raw& r) {
    if constexpr (Q::K) {
        Q::load(base, off, u, r);
    } else {
        load_legacy<Q>(base, off, u, r);
    }
}

// ---- the integer products of a 16 x 8 tile ---------------------------------------------------------
// c[0..3] = the dot products over K (16 or 32) values of rows (g, g, g + 8, g + 8) of a with
// columns (2q, 2q + 1, 2q, 2q + 1) of b, where g = lane / 4 and q = lane % 4 of a 32-lane group
// (the mma accumulator layout); a: 16 rows of lda bytes, b: 8 columns (tokens) of ldb bytes.
template <int K>
RF_DEVICE void tile_dot(const rf_i8* a, int lda, const rf_i8* b, int ldb, int* c) {
    const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
#if defined(RF_MMQ_MMA)
    const rf_i8* a0 = a + g * lda + 4 * q;
    const rf_i8* b0 = b + g * ldb + 4 * q;
    c[0] = c[1] = c[2] = c[3] = 0;
    if constexpr (K == 32) {
        const rf_u32 a_0 = *(const rf_u32*)a0, a_1 = *(const rf_u32*)(a0 + 8 * lda);
        const rf_u32 a_2 = *(const rf_u32*)(a0 + 16), a_3 = *(const rf_u32*)(a0 + 8 * lda + 16);
        const rf_u32 b_0 = *(const rf_u32*)b0, b_1 = *(const rf_u32*)(b0 + 16);
        asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
            "{%0,%1,%2,%3};\n"
            : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
            : "r"(a_0), "r"(a_1), "r"(a_2), "r"(a_3), "r"(b_0), "r"(b_1));
    } else {
        const rf_u32 a_0 = *(const rf_u32*)a0, a_1 = *(const rf_u32*)(a0 + 8 * lda);
        const rf_u32 b_0 = *(const rf_u32*)b0;
        asm("mma.sync.aligned.m16n8k16.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};\n"
            : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
            : "r"(a_0), "r"(a_1), "r"(b_0));
    }
#else
    const rf_i8* r0 = a + g * lda;
    const rf_i8* r1 = r0 + 8 * lda;
    const rf_i8* c0 = b + 2 * q * ldb;
    const rf_i8* c1 = c0 + ldb;
    int s00 = 0, s01 = 0, s10 = 0, s11 = 0;
#pragma unroll
    for (int k = 0; k < K; k += 4) {
        const int x0 = *(const int*)(r0 + k), x1 = *(const int*)(r1 + k);
        const int y0 = *(const int*)(c0 + k), y1 = *(const int*)(c1 + k);
        s00 = rf_dp4a(x0, y0, s00), s01 = rf_dp4a(x0, y1, s01);
        s10 = rf_dp4a(x1, y0, s10), s11 = rf_dp4a(x1, y1, s11);
    }
    c[0] = s00, c[1] = s01, c[2] = s10, c[3] = s11;
#endif
}

// ---- the GEMM ---------------------------------------------------------------------------------------

template <class Q, int BN>
struct MmqSmem {
    alignas(16) rf_i8 a[MMQ_BM][MMQ_LD];      // weights of the slice, signed bytes
    alignas(16) rf_i8 b[BN][MMQ_LD];          // encoded activations of the slice
    typename Q::Scales ws[MMQ_BM];            // per row
    typename Q::XSlice xs[BN];                // per token
};

// What a thread loads for one slice: its weight units and activation pieces, and (threads < BN)
// its token's scales and sums.
template <class Q, int BN>
struct MmqStage {
    static constexpr int WU = MMQ_BM * Q::UNITS / MMQ_THREADS;  // weight units per thread
    static constexpr int XP = BN * (MMQ_SLICE / 16) / MMQ_THREADS;  // 16-byte activation pieces
    static_assert(WU * MMQ_THREADS == MMQ_BM * Q::UNITS && XP * MMQ_THREADS == BN * (MMQ_SLICE / 16), "split");
    static constexpr bool XSUMS = Q::MINS || Q::Act::Q8_1;  // the activations' sums are needed
    typename Q::Raw w[WU];
    q8_u4 x[XP];
    float xd[MMQ_SLICE / Q::Act::BLOCK];
    int xs[XSUMS ? MMQ_SLICE / Q::Act::SUMV : 1];

    // Slice `slice` (ncol <= 256 columns of it exist: 32-value types may end in a partial one).
    // rowp[k]: byte offset of unit k's row in wm (16-byte aligned).
    __device__ __forceinline__ void load(const rf_u8* wm, const rf_i64* rowp, int slice, int ncol, const rf_u8* xq,
                                         const float* xd_g, const int* xs_g, int cols, int t) {
        const int tid = threadIdx.x;
        const rf_i64 soff = (rf_i64)slice * (MMQ_SLICE / Q::VALUES) * Q::BYTES;
#pragma unroll
        for (int k = 0; k < WU; k++) {
            const int u = (tid + k * MMQ_THREADS) % Q::UNITS;
            if (Q::K || 32 * u < ncol) {
                const rf_i64 off = rowp[k] + soff;
                load_unit<Q>(wm + (off & ~(rf_i64)15), (int)(off & 15), u, w[k]);
            }
        }
#pragma unroll
        for (int k = 0; k < XP; k++) {
            const int p = tid + k * MMQ_THREADS, tok = min(p / (MMQ_SLICE / 16), t - 1), c = 16 * (p % (MMQ_SLICE / 16));
            if (c < ncol) x[k] = *(const q8_u4*)(xq + (rf_i64)tok * cols + slice * MMQ_SLICE + c);
        }
        if (tid < BN) {
            const int tok = min(tid, t - 1);
            constexpr int ND = MMQ_SLICE / Q::Act::BLOCK, NS = sizeof(xs) / 4;
#pragma unroll
            for (int k = 0; k < ND; k++)
                if (k * Q::Act::BLOCK < ncol) xd[k] = xd_g[(rf_i64)tok * (cols / Q::Act::BLOCK) + slice * ND + k];
            if constexpr (XSUMS) {
#pragma unroll
                for (int k = 0; k < NS; k++)
                    if (k * Q::Act::SUMV < ncol) xs[k] = xs_g[(rf_i64)tok * (cols / Q::Act::SUMV) + slice * NS + k];
            }
        }
    }

    // Writes what load read; the parts of a partial slice past ncol stay stale (never used).
    __device__ __forceinline__ void store(MmqSmem<Q, BN>& sm, int ncol) const {
        const int tid = threadIdx.x;
#pragma unroll
        for (int k = 0; k < WU; k++) {
            const int i = tid + k * MMQ_THREADS, row = i / Q::UNITS, u = i % Q::UNITS;
            if (Q::K || 32 * u < ncol) Q::unpack(w[k], u, sm.a[row], sm.ws[row]);
        }
#pragma unroll
        for (int k = 0; k < XP; k++) {
            const int p = tid + k * MMQ_THREADS, c = 16 * (p % (MMQ_SLICE / 16));
            if (c < ncol) *(q8_u4*)&sm.b[p / (MMQ_SLICE / 16)][c] = x[k];
        }
        if (tid < BN) {
            auto& o = sm.xs[tid];
            if constexpr (Q::K) {
                o.d = xd[0];
                if constexpr (Q::MINS) {
                    // Sums per sub-block (per 16 values from the encoder) as 128 h + l.
#pragma unroll
                    for (int j = 0; j < 16; j += 4) {
                        rf_u32 h = 0, l = 0;
#pragma unroll
                        for (int k = 0; k < 4; k++) {
                            const int i = j + k;
                            const int s = Q::SUB == 16 ? xs[i] : (i < 8 ? xs[2 * i] + xs[2 * i + 1] : 0);
                            h |= (rf_u32)(rf_u8)(s >> 7) << (8 * k);
                            l |= (rf_u32)(s & 127) << (8 * k);
                        }
                        *(rf_u32*)&o.h[j] = h;
                        *(rf_u32*)&o.l[j] = l;
                    }
                }
            } else {
#pragma unroll
                for (int k = 0; k < 8; k++) o.d[k] = xd[k];
                if constexpr (Q::Act::Q8_1) {
#pragma unroll
                    for (int k = 0; k < 8; k++) o.s[k] = __int_as_float(xs[k]);
                }
            }
        }
    }
};

// Grid (ceil(t / BN), ceil(rows / MMQ_BM), splits), MMQ_THREADS threads. w: the matrix (rows of
// row_bytes, 16-byte aligned start, readable 16 bytes past the last row); scratch: the encoded
// activations of tokens t0 .. t0 + t (mmq_encode's layout for t tokens); y: [t0 + t, rows], each
// sum stored by mmq_store (b: [rows] or null).
// Eight groups of 32 threads ("warps", also on wave64) each own 16 rows x BN / 2 tokens of the
// tile. With splits > 1, block z takes the z-th of `splits` even ranges of slices and writes its
// sums to part[z] ([splits][t][rows]) for rf_mmq_reduce; the split is a function of the matrix,
// so a token's result still does not depend on the batch.
template <class Q, int BN>
RF_DEVICE void mmq(const rf_u8* RF_RESTRICT w, const rf_u8* RF_RESTRICT scratch, float* RF_RESTRICT y,
                   float* RF_RESTRICT part, int rows, int cols, int t, int t0, int splits, const float* RF_RESTRICT b,
                   int mode) {
    constexpr int WM = 4, WN = 2;                // warps along rows and tokens
    constexpr int MT = MMQ_BM / WM / 16, NT = BN / WN / 8;  // 16 x 8 tiles per warp
    static_assert(WN * WM == MMQ_THREADS / 32 && MT == 1 && NT >= 1, "warp layout");
    __shared__ MmqSmem<Q, BN> sm;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2, q = lane & 3;
    const int wm = warp % WM, wn = warp / WM;
    const int tok0 = blockIdx.x * BN, row0 = blockIdx.y * MMQ_BM;
    const int tt = t - tok0;  // tokens of this tile (may exceed BN)
    const rf_u8* xq = scratch + (rf_i64)tok0 * cols;
    const float* xd = (const float*)(scratch + (rf_i64)t * cols) + (rf_i64)tok0 * (cols / Q::Act::BLOCK);
    const int* xs = (const int*)(scratch + (rf_i64)t * cols + 4 * (rf_i64)t * (cols / Q::Act::BLOCK)) +
                    (rf_i64)tok0 * (cols / Q::Act::SUMV);
    const rf_i64 row_bytes = (rf_i64)(cols / Q::VALUES) * Q::BYTES;
    using Stage = MmqStage<Q, BN>;
    rf_i64 rowp[Stage::WU];
#pragma unroll
    for (int k = 0; k < Stage::WU; k++)
        rowp[k] = (rf_i64)min(row0 + (tid + k * MMQ_THREADS) / Q::UNITS, rows - 1) * row_bytes;

    float acc[MT][NT][4];
#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < NT; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.0f;

    const int nslices = (cols + MMQ_SLICE - 1) / MMQ_SLICE;
    const int s0 = nslices * blockIdx.z / splits, slices = nslices * (blockIdx.z + 1) / splits;
    Stage st;
    st.load(w, rowp, s0, min(MMQ_SLICE, cols - s0 * MMQ_SLICE), xq, xd, xs, cols, tt);
    for (int s = s0; s < slices; s++) {
        const int ncol = min(MMQ_SLICE, cols - s * MMQ_SLICE);
        __syncthreads();  // the previous slice's readers are done
        st.store(sm, ncol);
        __syncthreads();
        if (s + 1 < slices) {  // in flight during the products
            st.load(w, rowp, s + 1, min(MMQ_SLICE, cols - (s + 1) * MMQ_SLICE), xq, xd, xs, cols, tt);
        }

        int isum[MT][NT][4];  // K-quants: sum_j sc_j * isum_j of the super-block
        // K-quants: the 16 sub-block scale bytes of the thread's two rows (g, g + 8 of each
        // 16-row tile), read as words once per slice.
        rf_u32 scw[MT][2][Q::K ? 4 : 1];
        if constexpr (Q::K) {
#pragma unroll
            for (int i = 0; i < MT; i++)
#pragma unroll
                for (int h = 0; h < 2; h++) {
                    const q8_u4 v = *(const q8_u4*)sm.ws[wm * (MMQ_BM / WM) + 16 * i + g + 8 * h].sc;
#pragma unroll
                    for (int k = 0; k < 4; k++) scw[i][h][k] = v.v[k];
                }
#pragma unroll
            for (int i = 0; i < MT; i++)
#pragma unroll
                for (int j = 0; j < NT; j++)
#pragma unroll
                    for (int e = 0; e < 4; e++) isum[i][j][e] = 0;
        }
#pragma unroll
        for (int sb = 0; sb < MMQ_SLICE / Q::SUB; sb++) {
            const bool in = Q::K || Q::SUB * sb < ncol;  // 32-value types: past a partial slice's end
#pragma unroll
            for (int i = 0; i < MT; i++) {
                const int r = wm * (MMQ_BM / WM) + 16 * i;  // the 16-row tile's first row
#pragma unroll
                for (int j = 0; j < NT; j++) {
                    const int n = wn * (BN / WN) + 8 * j;  // the 8-token tile's first token
                    int c[4];
                    tile_dot<Q::SUB>(&sm.a[r][Q::SUB * sb], MMQ_LD, &sm.b[n][Q::SUB * sb], MMQ_LD, c);
#pragma unroll
                    for (int e = 0; e < 4 && in; e++) {
                        const int row = r + g + 8 * (e >> 1), tok = n + 2 * q + (e & 1);
                        if constexpr (Q::K) {
                            isum[i][j][e] += sbyte(scw[i][e >> 1][sb >> 2], sb & 3) * c[e];
                        } else if constexpr (Q::Act::Q8_1) {
                            acc[i][j][e] += (sm.ws[row].d[sb] * sm.xs[tok].d[sb]) * (float)c[e] +
                                            sm.ws[row].m[sb] * sm.xs[tok].s[sb];
                        } else {
                            acc[i][j][e] = fmaf(sm.ws[row].d[sb] * sm.xs[tok].d[sb], (float)c[e], acc[i][j][e]);
                        }
                    }
                }
            }
        }
        if constexpr (Q::K) {
#pragma unroll
            for (int i = 0; i < MT; i++) {
                const int r = wm * (MMQ_BM / WM) + 16 * i;
#pragma unroll
                for (int j = 0; j < NT; j++) {
                    const int n = wn * (BN / WN) + 8 * j;
                    int ch[4], cl[4];
                    if constexpr (Q::MINS) {
                        // sum_j m_j * bsum_j = 128 (m . h) + (m . l)
                        const int ld_s = (int)sizeof(typename Q::Scales), ld_x = (int)sizeof(typename Q::XSlice);
                        tile_dot<16>(sm.ws[r].mn, ld_s, sm.xs[n].h, ld_x, ch);
                        tile_dot<16>(sm.ws[r].mn, ld_s, sm.xs[n].l, ld_x, cl);
                    }
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        const int row = r + g + 8 * (e >> 1), tok = n + 2 * q + (e & 1);
                        const float dx = sm.xs[tok].d;
                        acc[i][j][e] = fmaf(sm.ws[row].d * dx, (float)isum[i][j][e], acc[i][j][e]);
                        if constexpr (Q::MINS) {
                            const int imin = 128 * ch[e] + cl[e];
                            acc[i][j][e] = fmaf(-(sm.ws[row].dmin * dx), (float)imin, acc[i][j][e]);
                        }
                    }
                }
            }
        }
    }

#pragma unroll
    for (int i = 0; i < MT; i++)
#pragma unroll
        for (int j = 0; j < NT; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int row = row0 + wm * (MMQ_BM / WM) + 16 * i + g + 8 * (e >> 1);
                const int tok = tok0 + wn * (BN / WN) + 8 * j + 2 * q + (e & 1);
                if (row < rows && tok < t) {
                    if (splits == 1) {
                        mmq_store(y + (rf_i64)(t0 + tok) * rows + row, b, mode, row, acc[i][j][e]);
                    } else {
                        part[((rf_i64)blockIdx.z * t + tok) * rows + row] = acc[i][j][e];
                    }
                }
            }
}

// y[t0 + i, r] (stored by mmq_store) = sum_z part[z, i, r] in order of z, for i < t, r < rows.
// Grid (ceil(t * rows / 256)), 256 threads.
#if !defined(RF_PART_ONLY) || defined(RF_PART_common)
RF_KERNEL void __launch_bounds__(256) rf_mmq_reduce(const float* RF_RESTRICT part, float* RF_RESTRICT y, int rows,
                                                   int t, int t0, int splits, const float* RF_RESTRICT b, int mode) {
    const rf_i64 i = (rf_i64)blockIdx.x * 256 + threadIdx.x, n = (rf_i64)t * rows;
    if (i >= n) return;
    float v = part[i];
    for (int z = 1; z < splits; z++) v += part[z * n + i];
    mmq_store(y + (rf_i64)t0 * rows + i, b, mode, (int)(i % rows), v);
}
#endif

// ---- kernels: rf_mmq_<type>_n<BN> -------------------------------------------------------------
// clang-format off
#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_0)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q4_0_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ4_0, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_1)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q4_1_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ4_1, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_0)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q5_0_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ5_0, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_1)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q5_1_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ5_1, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_q8_0)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q8_0_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ8_0, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_q2_k)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q2_k_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ2_K, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_q3_k)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q3_k_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ3_K, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_k)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q4_k_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ4_K, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_k)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q5_k_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ5_K, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_q6_k)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_q6_k_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MQ6_K, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_iq4_nl)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_iq4_nl_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MIQ4_NL, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_iq4_xs)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_iq4_xs_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MIQ4_XS, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
#if !defined(RF_PART_ONLY) || defined(RF_PART_mxfp4)
RF_KERNEL void __launch_bounds__(MMQ_THREADS, 2) rf_mmq_mxfp4_n32(const rf_u8* w, const rf_u8* scratch, float* y, float* part, int rows, int cols, int t, int t0, int splits, const float* b, int mode) { mmq<MMXFP4, 32>(w, scratch, y, part, rows, cols, t, t0, splits, b, mode); }
#endif
// clang-format on
