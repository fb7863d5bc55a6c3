// Weight matrices dequantized to f16 and f32 activations converted to f16, so that the vendor
// BLAS (cuBLAS / hipBLAS GemmEx: f16 operands, f32 accumulation, matrix cores) computes the
// large products of prefill. The decoders are the matmul kernels' (quant.h).
//
// f16 holds every value of the synthetic and real models' weights and normalised activations;
// a larger magnitude is saturated to the largest finite f16 (65504) rather than turned into an
// infinity, and NaN stays NaN.
#include "prelude.h"
#include "quant.h"

#define RF_F16_MAX 65504.0f

// v clamped to +-65504 (NaN compares false and passes through), rounded to f16.
RF_DEVICE rf_u32 f16_sat(float v) {
    const float c = fabsf(v) > RF_F16_MAX ? copysignf(RF_F16_MAX, v) : v;
    return (rf_u32)rf_f32_to_f16(c);
}

RF_DEVICE rf_u32 pack_f16x2(float lo, float hi) { return f16_sat(lo) | (f16_sat(hi) << 16); }

// out[r, c] = f16(W[row0 + r, c]) for r < n_rows, c < cols: out is [n_rows, cols] row-major.
// Thread k of the grid decodes half k (16 values) of the rows row0.. and stores it as two
// 16-byte words, so consecutive threads write consecutive bytes. cols a multiple of 32.
template <class Q>
RF_DEVICE void dequant_f16(const rf_u8* RF_RESTRICT w, rf_f16* RF_RESTRICT out, int cols, int row0, int n_rows) {
    const int halves = cols / 16;
    const rf_i64 k = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= (rf_i64)n_rows * halves) return;
    const int r = (int)(k / halves);
    const int h = (int)(k - (rf_i64)r * halves);
    float v[16];
    row_half<Q, false>(w + (rf_i64)(row0 + r) * row_bytes<Q>(cols), h, v);
    rf_u32x4 a, b;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        a.v[i] = pack_f16x2(v[2 * i], v[2 * i + 1]);
        b.v[i] = pack_f16x2(v[8 + 2 * i], v[8 + 2 * i + 1]);
    }
    rf_u32x4* o = (rf_u32x4*)(out + 16 * k);
    o[0] = a;
    o[1] = b;
}

// y[i] = f16(x[i]) for i < n (n a multiple of 4; x 16-byte and y 8-byte aligned), four values
// per thread.
RF_KERNEL void rf_f32_to_f16_sat(const float* RF_RESTRICT x, rf_f16* RF_RESTRICT y, rf_i64 n) {
    const rf_i64 i = 4 * ((rf_i64)blockIdx.x * blockDim.x + threadIdx.x);
    if (i >= n) return;
    const rf_f4 v = *(const rf_f4*)(x + i);
    rf_u32* o = (rf_u32*)(y + i);
    o[0] = pack_f16x2(v.x, v.y);
    o[1] = pack_f16x2(v.z, v.w);
}

// ---- kernels: per type, rf_dq_f16_<type> ------------------------------------------------------
// clang-format off
RF_KERNEL void rf_dq_f16_q4_0(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ4_0>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_q4_1(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ4_1>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_q5_0(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ5_0>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_q5_1(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ5_1>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_q8_0(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ8_0>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_q2_k(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ2_K>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_q3_k(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ3_K>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_q4_k(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ4_K>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_q5_k(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ5_K>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_q6_k(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockQ6_K>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_iq4_nl(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockIQ4_NL>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_iq4_xs(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockIQ4_XS>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_mxfp4(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockMXFP4>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_f16(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockF16>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_bf16(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockBF16>(w, out, cols, row0, n_rows); }
RF_KERNEL void rf_dq_f16_f32(const rf_u8* w, rf_f16* out, int cols, int row0, int n_rows) { dequant_f16<BlockF32>(w, out, cols, row0, n_rows); }
// clang-format on
