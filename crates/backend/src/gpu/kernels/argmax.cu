// Greedy token choice on the device, so a greedy decode step copies 8 bytes per sequence back
// to the host instead of a whole vocabulary of logits.
//
// Per row r of x [rows, n]: out[2r] = the index of the row's largest value, out[2r + 1] = that
// value's bits. The CPU sampler's greedy rule: NaN counts as -inf, ties go to the lowest index,
// and a row of only NaN and -inf gives index n (there is nothing to choose).
#include "prelude.h"

// Threads per block (one block per row).
#define ARGMAX_THREADS 1024

// The better of (v, i) and (w, j): the larger value, the lower index between equals.
RF_DEVICE void argmax_merge(float& v, int& i, float w, int j) {
    if (w > v || (w == v && j < i)) {
        v = w;
        i = j;
    }
}

RF_KERNEL void rf_argmax_rows_f32(const float* RF_RESTRICT x, int n, rf_u32* RF_RESTRICT out) {
    __shared__ float best_v[RF_MAX_WARPS];
    __shared__ int best_i[RF_MAX_WARPS];
    const float* row = x + (rf_i64)blockIdx.x * n;
    float v = -__int_as_float(0x7f800000);
    int at = n;
    // Increasing indices per thread and a strict comparison keep the lowest of equal maxima;
    // NaN never compares greater.
    for (int c = threadIdx.x; c < n; c += blockDim.x) {
        const float w = row[c];
        if (w > v) {
            v = w;
            at = c;
        }
    }
#pragma unroll
    for (int o = RF_WARP / 2; o > 0; o >>= 1) argmax_merge(v, at, rf_shfl_xor(v, o), rf_shfl_xor_int(at, o));
    if (rf_lane() == 0) {
        best_v[rf_warp_id()] = v;
        best_i[rf_warp_id()] = at;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int w = 1; w < (int)(blockDim.x / RF_WARP); w++) argmax_merge(v, at, best_v[w], best_i[w]);
        out[2 * blockIdx.x] = (rf_u32)at;
        out[2 * blockIdx.x + 1] = __float_as_uint(v);
    }
}
