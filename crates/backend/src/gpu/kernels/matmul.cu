// Products of f32 activations with a quantized weight matrix, and embedding-row gathers, for
// every weight type of the CPU backend. The weights stay in the file's block encoding: row r of
// W is `row_bytes` bytes at r * row_bytes, row_bytes = cols / VALUES * BYTES of its block type.
//
// Every type is read in halves of "chunks": a chunk is 32 values (a legacy block, 1/8 of a
// K-quant super-block, 32 plain floats), a half 16 consecutive values. One device function per
// type decodes a half; the GEMV, the GEMM and the row gather all use it.
//
//   GEMV (few tokens; 1, or groups of 8): the threads of a block split its rows into halves
//     (consecutive threads read consecutive weight bytes and x values); each half's weights are
//     decoded once and used for every token of the group, each x half once for all the rows.
//   GEMM (prefill): a block computes a 64-row x 32-token tile; per 64-value step it decodes the
//     weight tile into shared memory once and reuses it across the 32 tokens.
// Accumulation is f32 throughout. Activations are f32 (later work: int8 dp4a, tensor cores).
#include "prelude.h"
#include "quant.h"  // the per-type decoders

// 16 consecutive floats at p (64-byte aligned... at least 16-byte aligned).
RF_DEVICE void ld_x16(const float* p, float* x) {
    const rf_f4* v = (const rf_f4*)p;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const rf_f4 a = v[i];
        x[4 * i] = a.x, x[4 * i + 1] = a.y, x[4 * i + 2] = a.z, x[4 * i + 3] = a.w;
    }
}

// ---- GEMV ------------------------------------------------------------------------------------
// y[i, r] = sum_c x[i, c] * W[r, c] for i < t, r < rows; x: [t, cols], y: [t, rows].
// Block (bx, by): ROWS consecutive rows from bx * ROWS (the last block's extra rows re-read the
// last row and are not written) and tokens by * NT .. by * NT + NT (grid.y = ceil(t / NT)); its
// threads take the rows' halves k, k + blockDim.x, ... (16 values each), so consecutive threads
// read consecutive weight bytes and x values. blockDim.x a multiple of RF_WARP, at most 1024.
// cols a multiple of 32.
template <class Q, int ROWS, int NT>
RF_DEVICE void gemv(const rf_u8* RF_RESTRICT w, const float* RF_RESTRICT x, float* RF_RESTRICT y, int rows, int cols,
                    int t) {
    __shared__ float partial[RF_MAX_WARPS][ROWS * NT];  // per-warp sums
    const rf_i64 rb = row_bytes<Q>(cols);
    const int row0 = blockIdx.x * ROWS;
    const int tok0 = blockIdx.y * NT, nt = min(t - tok0, NT);  // this block's tokens
    x += (rf_i64)tok0 * cols;
    y += (rf_i64)tok0 * rows;
    const rf_u8* wr[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) wr[r] = w + (rf_i64)min(row0 + r, rows - 1) * rb;

    float acc[ROWS][NT];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int i = 0; i < NT; i++) acc[r][i] = 0.0f;

    const int halves = cols / 16;
    for (int k = threadIdx.x; k < halves; k += blockDim.x) {
        float wv[ROWS][16];
#pragma unroll
        for (int r = 0; r < ROWS; r++) row_half<Q, false>(wr[r], k, wv[r]);
#pragma unroll
        for (int i = 0; i < NT; i++) {
            if (i < nt) {
                float xv[16];
                ld_x16(x + (rf_i64)i * cols + 16 * k, xv);
#pragma unroll
                for (int r = 0; r < ROWS; r++)
#pragma unroll
                    for (int e = 0; e < 16; e++) acc[r][i] = fmaf(wv[r][e], xv[e], acc[r][i]);
            }
        }
    }

#pragma unroll
    for (int r = 0; r < ROWS; r++)
#pragma unroll
        for (int i = 0; i < NT; i++) {
            if (i < nt) {
                const float s = rf_warp_sum(acc[r][i]);
                if (rf_lane() == 0) partial[rf_warp_id()][r * NT + i] = s;
            }
        }
    __syncthreads();
    const int o = threadIdx.x;  // one output per thread: row o / NT, token o % NT
    if (o < ROWS * NT) {
        const int r = o / NT, i = o % NT;
        if (i < nt && row0 + r < rows) {
            float s = 0.0f;
            for (int wi = 0; wi < (int)(blockDim.x / RF_WARP); wi++) s += partial[wi][o];
            y[(rf_i64)i * rows + row0 + r] = s;
        }
    }
}

// ---- GEMM ------------------------------------------------------------------------------------
// y as the GEMV. Block: 128 threads, a GEMM_BM x GEMM_BN tile of rows x tokens; grid
// (ceil(rows / GEMM_BM), ceil(t / GEMM_BN)). Each step takes 64 values (two chunks; a missing
// last one is zeros) into shared memory. Thread (tm, tn) = (tid % 16, tid / 16) owns rows
// tm + 16 i and tokens tn + 8 j (i, j < 4): strided, so a warp's shared reads hit distinct banks.
#define GEMM_BM 64
#define GEMM_BN 32
#define GEMM_THREADS 128
// Shared tile rows: 64 values and 4 floats of padding (float4-aligned; rows start 4 banks apart).
#define GEMM_LD4 17

template <class Q>
RF_DEVICE void gemm(const rf_u8* RF_RESTRICT w, const float* RF_RESTRICT x, float* RF_RESTRICT y, int rows, int cols,
                    int t) {
    __shared__ rf_f4 ws[GEMM_BM][GEMM_LD4];  // [BM rows, 64 values]: this step's weights
    __shared__ rf_f4 xs[GEMM_BN][GEMM_LD4];  // [BN tokens, 64 values]: this step's activations
    const int tid = threadIdx.x, tm = tid % 16, tn = tid / 16;
    const int row0 = blockIdx.x * GEMM_BM, tok0 = blockIdx.y * GEMM_BN;
    const rf_i64 rb = row_bytes<Q>(cols);

    // Loaders. Weights: thread -> half tid / 64 of both chunks of row tid % 64. Activations:
    // thread -> token tid / 4, values 16 (tid % 4) .. + 16. Rows and tokens past the end re-read
    // the last one; their results are not stored.
    const int lrow = tid % GEMM_BM, lhalf = tid / GEMM_BM;
    const rf_u8* wrow = w + (rf_i64)min(row0 + lrow, rows - 1) * rb;
    const int ltok = tid / 4, lval = 16 * (tid % 4);
    const float* xrow = x + (rf_i64)min(tok0 + ltok, t - 1) * cols + lval;

    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;

    const int chunks = cols / 32;
    for (int c = 0; c < chunks; c += 2) {
#pragma unroll
        for (int cc = 0; cc < 2; cc++) {
            float v[16] = {};
            if (c + cc < chunks) row_half<Q, false>(wrow, 2 * (c + cc) + lhalf, v);
            const int h = 2 * cc + lhalf;  // half of the step
#pragma unroll
            for (int q = 0; q < 4; q++) ws[lrow][4 * h + q] = rf_f4{v[4 * q], v[4 * q + 1], v[4 * q + 2], v[4 * q + 3]};
        }
        const bool x_in = c + lval / 32 < chunks;
#pragma unroll
        for (int q = 0; q < 4; q++)
            xs[ltok][lval / 4 + q] = x_in ? ((const rf_f4*)(xrow + 32 * c))[q] : rf_f4{0.0f, 0.0f, 0.0f, 0.0f};
        __syncthreads();
#pragma unroll
        for (int kq = 0; kq < 16; kq++) {
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
// threads over the row's halves. An id >= rows (the caller's bug) gives a row of NaN, never a
// read out of bounds.
template <class Q>
RF_DEVICE void get_rows(const rf_u8* RF_RESTRICT w, const rf_u32* RF_RESTRICT ids, float* RF_RESTRICT out, int rows,
                        int cols, float scale) {
    const rf_u32 id = ids[blockIdx.x];
    rf_f4* o = (rf_f4*)(out + (rf_i64)blockIdx.x * cols);
    if (id >= (rf_u32)rows) {
        const float nan = __uint_as_float(0x7fc00000u);
        for (int k = threadIdx.x; k < cols / 4; k += blockDim.x) o[k] = rf_f4{nan, nan, nan, nan};
        return;
    }
    const rf_u8* row = w + (rf_i64)id * row_bytes<Q>(cols);
    for (int k = threadIdx.x; k < cols / 16; k += blockDim.x) {
        float v[16];
        row_half<Q, true>(row, k, v);
#pragma unroll
        for (int q = 0; q < 4; q++)
            o[4 * k + q] = rf_f4{v[4 * q] * scale, v[4 * q + 1] * scale, v[4 * q + 2] * scale, v[4 * q + 3] * scale};
    }
}

// ---- kernels: per type, rf_mm_{gemv1,gemv8,gemm,rows}_<type> ----------------------------------
// gemv1: one token per block (t == 1); gemv8: 8 tokens per block. GEMV blocks compute
// GEMV_ROWS rows.
#define GEMV_ROWS 4

// clang-format off
#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_0)
RF_KERNEL void rf_mm_gemv1_q4_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_0, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q4_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_0, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q4_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ4_0>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q4_0(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ4_0>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_1)
RF_KERNEL void rf_mm_gemv1_q4_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_1, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q4_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_1, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q4_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ4_1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q4_1(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ4_1>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_0)
RF_KERNEL void rf_mm_gemv1_q5_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_0, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q5_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_0, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q5_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ5_0>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q5_0(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ5_0>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_1)
RF_KERNEL void rf_mm_gemv1_q5_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_1, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q5_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_1, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q5_1(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ5_1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q5_1(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ5_1>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q8_0)
RF_KERNEL void rf_mm_gemv1_q8_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ8_0, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q8_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ8_0, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q8_0(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ8_0>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q8_0(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ8_0>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q2_k)
RF_KERNEL void rf_mm_gemv1_q2_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ2_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q2_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ2_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q2_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ2_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q2_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ2_K>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q3_k)
RF_KERNEL void rf_mm_gemv1_q3_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ3_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q3_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ3_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q3_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ3_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q3_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ3_K>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q4_k)
RF_KERNEL void rf_mm_gemv1_q4_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q4_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ4_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q4_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ4_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q4_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ4_K>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q5_k)
RF_KERNEL void rf_mm_gemv1_q5_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q5_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ5_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q5_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ5_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q5_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ5_K>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_q6_k)
RF_KERNEL void rf_mm_gemv1_q6_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ6_K, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_q6_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockQ6_K, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_q6_k(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockQ6_K>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_q6_k(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockQ6_K>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_iq4_nl)
RF_KERNEL void rf_mm_gemv1_iq4_nl(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockIQ4_NL, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_iq4_nl(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockIQ4_NL, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_iq4_nl(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockIQ4_NL>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_iq4_nl(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockIQ4_NL>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_iq4_xs)
RF_KERNEL void rf_mm_gemv1_iq4_xs(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockIQ4_XS, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_iq4_xs(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockIQ4_XS, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_iq4_xs(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockIQ4_XS>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_iq4_xs(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockIQ4_XS>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_mxfp4)
RF_KERNEL void rf_mm_gemv1_mxfp4(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockMXFP4, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_mxfp4(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockMXFP4, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_mxfp4(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockMXFP4>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_mxfp4(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockMXFP4>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_f16)
RF_KERNEL void rf_mm_gemv1_f16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockF16, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_f16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockF16, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_f16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockF16>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_f16(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockF16>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_bf16)
RF_KERNEL void rf_mm_gemv1_bf16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockBF16, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_bf16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockBF16, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_bf16(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockBF16>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_bf16(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockBF16>(w, ids, out, rows, cols, scale); }
#endif

#if !defined(RF_PART_ONLY) || defined(RF_PART_f32)
RF_KERNEL void rf_mm_gemv1_f32(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockF32, GEMV_ROWS, 1>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_gemv8_f32(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemv<BlockF32, GEMV_ROWS, 8>(w, x, y, rows, cols, t); }
RF_KERNEL void __launch_bounds__(GEMM_THREADS) rf_mm_gemm_f32(const rf_u8* w, const float* x, float* y, int rows, int cols, int t) { gemm<BlockF32>(w, x, y, rows, cols, t); }
RF_KERNEL void rf_mm_rows_f32(const rf_u8* w, const rf_u32* ids, float* out, int rows, int cols, float scale) { get_rows<BlockF32>(w, ids, out, rows, cols, scale); }
#endif
// clang-format on
