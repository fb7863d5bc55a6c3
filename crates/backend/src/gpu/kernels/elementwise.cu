// Row-wise and element-wise f32 kernels: RMS norms, adds, gated activations, row gathers.
#include "prelude.h"

// Sum of squares of one row of n, over the whole block, then the row's scale.
RF_DEVICE float rf_rms_scale(const float* row, int n, float eps, float* scratch) {
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float v = row[i];
        ss += v * v;
    }
    ss = rf_block_sum(ss, scratch);
    return rsqrtf(ss / (float)n + eps);
}

// y[r, i] = x[r, i] / sqrt(mean_i(x[r, :]^2) + eps) * w[i]. One block per row; blockDim.x a
// multiple of RF_WARP, at most 1024.
RF_KERNEL void rf_rms_norm_f32(const float* RF_RESTRICT x, const float* RF_RESTRICT w, float* RF_RESTRICT y,
                               int n, float eps) {
    __shared__ float scratch[RF_MAX_WARPS];
    const rf_i64 row = (rf_i64)blockIdx.x * n;
    const float scale = rf_rms_scale(x + row, n, eps, scratch);
    for (int i = threadIdx.x; i < n; i += blockDim.x) y[row + i] = x[row + i] * scale * w[i];
}

// y[i] = a[i] + b[i] for i < n.
RF_KERNEL void rf_add_f32(const float* RF_RESTRICT a, const float* RF_RESTRICT b, float* RF_RESTRICT y, int n) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a[i] + b[i];
}

// rf_rms_norm_f32 in place (per-head QK-norm, post-norms). Each thread writes only the elements
// it read itself, and only after the block's sum, so no element is read after being written.
RF_KERNEL void rf_rms_norm_in_place_f32(float* x, const float* RF_RESTRICT w, int n, float eps) {
    __shared__ float scratch[RF_MAX_WARPS];
    float* row = x + (rf_i64)blockIdx.x * n;
    const float scale = rf_rms_scale(row, n, eps, scratch);
    for (int i = threadIdx.x; i < n; i += blockDim.x) row[i] = row[i] * scale * w[i];
}

// acc[i] += x[i] for i < n (the residual add).
RF_KERNEL void rf_add_in_place_f32(float* RF_RESTRICT acc, const float* RF_RESTRICT x, rf_i64 n) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) acc[i] += x[i];
}

// x[r, c] += b[c]: x is [n / width, width].
RF_KERNEL void rf_add_bias_f32(float* RF_RESTRICT x, const float* RF_RESTRICT b, rf_i64 n, int width) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += b[i % width];
}

// gate[i] = silu(gate[i]) * up[i].
RF_KERNEL void rf_swiglu_f32(float* RF_RESTRICT gate, const float* RF_RESTRICT up, rf_i64 n) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

// gate[i] = gelu_tanh(gate[i]) * up[i], rounded as cpu::geglu (llama.cpp's CPU GGML_GELU_FP16):
// gelu of the f16-rounded input, rounded to f16; x itself above 10 and 0 below -10.
RF_KERNEL void rf_geglu_f32(float* RF_RESTRICT gate, const float* RF_RESTRICT up, rf_i64 n) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float x = gate[i];
    float y;
    if (x <= -10.0f) {
        y = 0.0f;
    } else if (x >= 10.0f) {
        y = x;
    } else {
        const float h = rf_f16_to_f32(rf_f32_to_f16(x));
        const float sqrt_2_over_pi = 0.7978846f;
        const float g = 0.5f * h * (1.0f + tanhf(sqrt_2_over_pi * h * (1.0f + 0.044715f * h * h)));
        y = rf_f16_to_f32(rf_f32_to_f16(g));
    }
    gate[i] = y * up[i];
}

// out[i, c] = x[rows[i], c] for i < n / width; x has x_rows rows. A row index out of range
// gives a row of NaN (a device-side index cannot be checked before the launch).
RF_KERNEL void rf_gather_rows_f32(const float* RF_RESTRICT x, const rf_u32* RF_RESTRICT rows,
                                  float* RF_RESTRICT out, rf_i64 n, int width, rf_u32 x_rows) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const rf_i64 r = i / width;
    const rf_u32 src = rows[r];
    out[i] = src < x_rows ? x[(rf_i64)src * width + (i - r * width)] : __int_as_float(0x7fc00000);
}
