// Row and element formulas shared by the separate kernels (elementwise.cu) and the int8 GEMV's
// fused prologue and epilogues (gemv_q8.cu), so that a fused launch computes the same bits as
// the separate launches it replaces.
#pragma once
#include "prelude.h"

// ---- RMS norm: the sum of squares in one order for every block size ------------------------
// A row is cut into chunks of RF_RMS_CHUNK values. Lane l of a warp squares values 4l..4l+3 of
// a chunk (a fused multiply-add chain), a butterfly sums the chunk's lanes; then lane l adds the
// sums of chunks l, l + RF_WARP, ... in order and a butterfly sums the lanes. Which warp computes
// which chunk does not matter, so the norm kernels (one block per row) and the GEMV (a block per
// row group, several tokens) get the same scale.
#define RF_RMS_CHUNK (4 * RF_WARP)

// The chunk sum from this lane's four values (0 past the row's end); every lane of the warp
// calls it and gets the sum.
RF_DEVICE float rf_rms_chunk(float a, float b, float c, float d) {
    return rf_warp_sum(fmaf(d, d, fmaf(c, c, fmaf(b, b, a * a))));
}

// 1 / rms of a row of n values from its chunk sums sums[0 .. ceil(n / RF_RMS_CHUNK)); every lane
// of the warp calls it and gets the scale.
RF_DEVICE float rf_rms_scale_of(const float* sums, int n, float eps) {
    const int chunks = (n + RF_RMS_CHUNK - 1) / RF_RMS_CHUNK;
    float s = 0.0f;
    for (int c = rf_lane(); c < chunks; c += RF_WARP) s += sums[c];
    return rsqrtf(rf_warp_sum(s) / (float)n + eps);
}

// ---- gated activations ------------------------------------------------------------------------
// silu(g) * u.
RF_DEVICE float rf_swiglu(float g, float u) { return g / (1.0f + expf(-g)) * u; }

// gelu_tanh(g) * u, rounded as cpu::geglu (llama.cpp's CPU GGML_GELU_FP16): gelu of the
// f16-rounded input, rounded to f16; g itself above 10 and 0 below -10.
RF_DEVICE float rf_geglu(float g, float u) {
    float y;
    if (g <= -10.0f) {
        y = 0.0f;
    } else if (g >= 10.0f) {
        y = g;
    } else {
        const float h = rf_f16_to_f32(rf_f32_to_f16(g));
        const float sqrt_2_over_pi = 0.7978846f;
        const float r = 0.5f * h * (1.0f + tanhf(sqrt_2_over_pi * h * (1.0f + 0.044715f * h * h)));
        y = rf_f16_to_f32(rf_f32_to_f16(r));
    }
    return y * u;
}

// ---- how a fused product stores a row's sum -----------------------------------------------------
// (`StoreMode` in Rust; the int8 GEMV's and GEMM's epilogues.)
#define RF_STORE 0       // y = v
#define RF_ACCUMULATE 1  // y += v: a projection into the residual stream
#define RF_SWIGLU 2      // y = silu(v) * u: v the gate row's sum, u the up row's
#define RF_GEGLU 3       // y = gelu(v) * u, the same way
RF_DEVICE void rf_store_sum(float* y, int mode, float v, float u) {
    switch (mode) {
        case RF_ACCUMULATE: *y += v; break;
        case RF_SWIGLU: *y = rf_swiglu(v, u); break;
        case RF_GEGLU: *y = rf_geglu(v, u); break;
        default: *y = v;
    }
}
