// Row-wise and element-wise f32 kernels: RMS norms, adds, gated activations, row gathers.
#include "prelude.h"
#include "fused.h"

// Most chunks of a row the norm kernels take: rows of up to RF_RMS_MAX_CHUNKS * RF_RMS_CHUNK
// values (the launcher checks).
#define RF_RMS_MAX_CHUNKS 512

// The row's RMS scale (fused.h's order): the block's warps take its chunks, then every warp
// adds them up (the same sum in every warp).
RF_DEVICE float rf_rms_scale(const float* row, int n, float eps, float* sums) {
    const int chunks = (n + RF_RMS_CHUNK - 1) / RF_RMS_CHUNK, nwarps = (int)(blockDim.x / RF_WARP);
    for (int c = rf_warp_id(); c < chunks; c += nwarps) {
        const int i = c * RF_RMS_CHUNK + 4 * rf_lane();
        float v[4];
#pragma unroll
        for (int k = 0; k < 4; k++) v[k] = i + k < n ? row[i + k] : 0.0f;
        const float s = rf_rms_chunk(v[0], v[1], v[2], v[3]);
        if (rf_lane() == 0) sums[c] = s;
    }
    __syncthreads();
    return rf_rms_scale_of(sums, n, eps);
}

// y[r, i] = x[r, i] / sqrt(mean_i(x[r, :]^2) + eps) * w[i]. One block per row; blockDim.x a
// multiple of RF_WARP, at most 1024.
RF_KERNEL void rf_rms_norm_f32(const float* RF_RESTRICT x, const float* RF_RESTRICT w, float* RF_RESTRICT y,
                               int n, float eps) {
    __shared__ float sums[RF_RMS_MAX_CHUNKS];
    const rf_i64 row = (rf_i64)blockIdx.x * n;
    const float scale = rf_rms_scale(x + row, n, eps, sums);
    for (int i = threadIdx.x; i < n; i += blockDim.x) y[row + i] = x[row + i] * scale * w[i];
}

// y[i] = a[i] + b[i] for i < n.
RF_KERNEL void rf_add_f32(const float* RF_RESTRICT a, const float* RF_RESTRICT b, float* RF_RESTRICT y, int n) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a[i] + b[i];
}

// rf_rms_norm_f32 in place (per-head QK-norm, post-norms). The sum reads the row before the
// block's barrier; after it each thread reads and writes only its own elements.
RF_KERNEL void rf_rms_norm_in_place_f32(float* x, const float* RF_RESTRICT w, int n, float eps) {
    __shared__ float sums[RF_RMS_MAX_CHUNKS];
    float* row = x + (rf_i64)blockIdx.x * n;
    const float scale = rf_rms_scale(row, n, eps, sums);
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
    if (i < n) gate[i] = rf_swiglu(gate[i], up[i]);
}

// gate[i] = gelu_tanh(gate[i]) * up[i], rounded as cpu::geglu (fused.h).
RF_KERNEL void rf_geglu_f32(float* RF_RESTRICT gate, const float* RF_RESTRICT up, rf_i64 n) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) gate[i] = rf_geglu(gate[i], up[i]);
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
