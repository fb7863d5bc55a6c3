// Rotary position embedding, in place, with the semantics of cpu::rope (ggml's rope with
// ext_factor 0): pair i of a head turns by theta_i = pos * freq_scale * theta_scale^i.
#include "prelude.h"

// x: [t, n_heads, head_dim], and x2: [t, n_heads2, head_dim] (the keys, rotated in the same
// launch as the queries; null when n_heads2 is 0); positions: [t]. One block per token; dynamic
// shared memory holds the token's cos and sin for the n_rot / 2 pairs (2 * n_rot / 2 floats).
// theta_scale = base^(-2 / n_rot) comes from the host, and theta is built by repeated
// multiplication in f32 as the CPU does, so both see bit-identical angles. neox = 0: pairs
// (2i, 2i + 1) (NORM); neox = 1: pairs (i, i + n_rot / 2) (NEOX). Dimensions from n_rot on pass
// through.
RF_KERNEL void rf_rope_f32(float* RF_RESTRICT x, float* RF_RESTRICT x2, const rf_u32* RF_RESTRICT positions,
                           int n_heads, int n_heads2, int head_dim, int n_rot, float freq_scale, float theta_scale,
                           int neox) {
    extern __shared__ float cs[];  // [2, n_rot / 2]: cos then sin
    const int half = n_rot / 2;
    const int tok = blockIdx.x;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float theta = (float)positions[tok] * freq_scale;
        for (int k = 0; k < i; k++) theta *= theta_scale;
        cs[i] = cosf(theta);
        cs[half + i] = sinf(theta);
    }
    __syncthreads();
    float* row = x + (rf_i64)tok * n_heads * head_dim;
    float* row2 = x2 + (rf_i64)tok * n_heads2 * head_dim;
    for (int item = threadIdx.x; item < (n_heads + n_heads2) * half; item += blockDim.x) {
        const int h = item / half;
        const int i = item - h * half;
        const int a = neox ? i : 2 * i;
        const int b = neox ? i + half : 2 * i + 1;
        float* head = h < n_heads ? row + (rf_i64)h * head_dim : row2 + (rf_i64)(h - n_heads) * head_dim;
        const float c = cs[i];
        const float s = cs[half + i];
        const float x0 = head[a];
        const float x1 = head[b];
        head[a] = x0 * c - x1 * s;
        head[b] = x0 * s + x1 * c;
    }
}
