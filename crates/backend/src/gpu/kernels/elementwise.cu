// Row-wise and element-wise f32 kernels.
#include "prelude.h"

// y[r, i] = x[r, i] / sqrt(mean_i(x[r, :]^2) + eps) * w[i]. One block per row; blockDim.x a
// multiple of RF_WARP, at most 1024.
RF_KERNEL void rf_rms_norm_f32(const float* RF_RESTRICT x, const float* RF_RESTRICT w, float* RF_RESTRICT y,
                               int n, float eps) {
    __shared__ float scratch[RF_MAX_WARPS];
    const rf_i64 row = (rf_i64)blockIdx.x * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float v = x[row + i];
        ss += v * v;
    }
    ss = rf_block_sum(ss, scratch);
    const float scale = rsqrtf(ss / (float)n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) y[row + i] = x[row + i] * scale * w[i];
}

// y[i] = a[i] + b[i] for i < n.
RF_KERNEL void rf_add_f32(const float* RF_RESTRICT a, const float* RF_RESTRICT b, float* RF_RESTRICT y, int n) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a[i] + b[i];
}
