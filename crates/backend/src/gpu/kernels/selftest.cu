// Kernels that exercise every prelude helper, so each dialect's implementation is checked
// against the CPU on a real device.
#include "prelude.h"

// out[i] = dp4a(a[i], b[i], c[i]).
RF_KERNEL void rf_test_dp4a(const rf_i32* a, const rf_i32* b, const rf_i32* c, rf_i32* out, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = rf_dp4a(a[i], b[i], c[i]);
}

// Conversions both ways: h = f16(x), hb = f32(h); b = bf16(x), bb = f32(b).
RF_KERNEL void rf_test_half(const float* x, rf_f16* h, float* hb, rf_bf16* b, float* bb, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        h[i] = rf_f32_to_f16(x[i]);
        hb[i] = rf_f16_to_f32(h[i]);
        b[i] = rf_f32_to_bf16(x[i]);
        bb[i] = rf_bf16_to_f32(b[i]);
    }
}

// Per block: out[3 * blk] = sum, out[3 * blk + 1] = max of the block's x; out[3 * blk + 2] = the
// sum of each warp's integer lane sum (checks shuffles on ints). Also writes warp sums per
// lane into lanes[] (every lane must see the same sum).
RF_KERNEL void rf_test_reduce(const float* x, float* out, float* lanes) {
    __shared__ float scratch[RF_MAX_WARPS];
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const float v = x[i];
    lanes[i] = rf_warp_sum(v);
    const float s = rf_block_sum(v, scratch);
    const float m = rf_block_max(v, scratch);
    const int lane_sum = rf_warp_sum_int(rf_lane());
    const float ls = rf_block_sum(rf_lane() == 0 ? (float)lane_sum : 0.0f, scratch);
    if (threadIdx.x == 0) {
        out[3 * blockIdx.x] = s;
        out[3 * blockIdx.x + 1] = m;
        out[3 * blockIdx.x + 2] = ls;
    }
}

// Reports the warp size the code was compiled for and reads back a broadcast shuffle.
RF_KERNEL void rf_test_warp(rf_i32* out) {
    const float v = rf_shfl((float)rf_lane() + 1.0f, RF_WARP - 1);
    if (threadIdx.x == 0) {
        out[0] = RF_WARP;
        out[1] = (int)v;
    }
}
