// Rotary position embedding, in place, with the semantics of cpu::rope (ggml's rope with
// ext_factor 0): pair i of a head turns by theta_i = pos * freq_scale * theta_scale^i. And the
// same rope of q and k fused with the KV cache write of the rotated k and of v (decode's
// launches per layer: one instead of two).
#include "prelude.h"
#include "kv_store.h"  // the cache write's encodings, shared with attention.cu's kv_write

// One token's rope, by every thread of the block: row: [n_heads, head_dim], row2: [n_heads2,
// head_dim] (the keys, rotated by the same launch as the queries; n_heads2 may be 0); cs:
// shared memory for the token's cos and sin of the n_rot / 2 pairs (2 * n_rot / 2 floats).
// theta_scale = base^(-2 / n_rot) comes from the host, and theta is built by repeated
// multiplication in f32 as the CPU does, so both see bit-identical angles. neox = 0: pairs
// (2i, 2i + 1) (NORM); neox = 1: pairs (i, i + n_rot / 2) (NEOX). Dimensions from n_rot on pass
// through. Ends without a barrier: the caller synchronises before it reads the rows back.
RF_DEVICE void rf_rope_token(float* cs, float* row, float* row2, rf_u32 pos, int n_heads, int n_heads2,
                             int head_dim, int n_rot, float freq_scale, float theta_scale, int neox) {
    const int half = n_rot / 2;
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        float theta = (float)pos * freq_scale;
        for (int k = 0; k < i; k++) theta *= theta_scale;
        cs[i] = cosf(theta);
        cs[half + i] = sinf(theta);
    }
    __syncthreads();
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

// x: [t, n_heads, head_dim], and x2: [t, n_heads2, head_dim] (null when n_heads2 is 0);
// positions: [t]. One block per token; dynamic shared memory: n_rot floats (rf_rope_token).
RF_KERNEL void rf_rope_f32(float* RF_RESTRICT x, float* RF_RESTRICT x2, const rf_u32* RF_RESTRICT positions,
                           int n_heads, int n_heads2, int head_dim, int n_rot, float freq_scale, float theta_scale,
                           int neox) {
    extern __shared__ float cs[];  // [2, n_rot / 2]: cos then sin
    const int tok = blockIdx.x;
    rf_rope_token(cs, x + (rf_i64)tok * n_heads * head_dim, x2 + (rf_i64)tok * n_heads2 * head_dim, positions[tok],
                  n_heads, n_heads2, head_dim, n_rot, freq_scale, theta_scale, neox);
}

// ---- rope fused with the KV cache write ----------------------------------------------------------
// q: [t, n_q, head_dim] and k: [t, n_k, head_dim] rotated in place as rf_rope_f32 rotates them;
// then the token's k row (as rotated) and v row (v: [t, width], width = n_k * head_dim) are
// stored at row slots[tok] of the caches ([n_slots, width] values), as attention.cu's kv_write
// stores them. A slot out of range (padding tokens of a captured step) is skipped, its q and k
// still rotated. One block per token; dynamic shared memory: n_rot floats.
//
// The block's threads read back k values that other threads rotated: the barrier between makes
// the block's global writes visible to it.

// f16 cache: a thread per value.
RF_KERNEL void rf_rope_kv_write_f16(float* RF_RESTRICT q, float* RF_RESTRICT k, const float* RF_RESTRICT v,
                                    const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT slots,
                                    rf_u8* RF_RESTRICT k_cache, rf_u8* RF_RESTRICT v_cache, int n_q, int n_k,
                                    int head_dim, int n_rot, float freq_scale, float theta_scale, int neox,
                                    rf_u32 n_slots) {
    extern __shared__ float cs[];  // [2, n_rot / 2]: cos then sin
    const int tok = blockIdx.x;
    const int width = n_k * head_dim;
    float* k_row = k + (rf_i64)tok * width;
    rf_rope_token(cs, q + (rf_i64)tok * n_q * head_dim, k_row, positions[tok], n_q, n_k, head_dim, n_rot,
                  freq_scale, theta_scale, neox);
    const rf_u32 slot = slots[tok];
    if (slot >= n_slots) return;
    __syncthreads();
    const float* v_row = v + (rf_i64)tok * width;
    const rf_i64 dst = (rf_i64)slot * width;
    for (int c = threadIdx.x; c < width; c += blockDim.x) {
        rf_kv_store_f16(k_row[c], k_cache, dst + c);
        rf_kv_store_f16(v_row[c], v_cache, dst + c);
    }
}

// q8_0 cache (width a multiple of 32): a thread per 32-value block, the k row's blocks then v's.
RF_KERNEL void rf_rope_kv_write_q8_0(float* RF_RESTRICT q, float* RF_RESTRICT k, const float* RF_RESTRICT v,
                                     const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT slots,
                                     rf_u8* RF_RESTRICT k_cache, rf_u8* RF_RESTRICT v_cache, int n_q, int n_k,
                                     int head_dim, int n_rot, float freq_scale, float theta_scale, int neox,
                                     rf_u32 n_slots) {
    extern __shared__ float cs[];  // [2, n_rot / 2]: cos then sin
    const int tok = blockIdx.x;
    const int width = n_k * head_dim;
    float* k_row = k + (rf_i64)tok * width;
    rf_rope_token(cs, q + (rf_i64)tok * n_q * head_dim, k_row, positions[tok], n_q, n_k, head_dim, n_rot,
                  freq_scale, theta_scale, neox);
    const rf_u32 slot = slots[tok];
    if (slot >= n_slots) return;
    __syncthreads();
    const int per_row = width / 32;
    const rf_i64 n_vals = (rf_i64)n_slots * width;
    const rf_i64 dst = (rf_i64)slot * width;
    for (int b = threadIdx.x; b < 2 * per_row; b += blockDim.x) {
        if (b < per_row) {
            // Copied through a non-const pointer: k was written by this launch, and the
            // encoder's const restrict argument must not become a read-only-cache load of it.
            float x[32];
#pragma unroll
            for (int i = 0; i < 32; i++) x[i] = k_row[b * 32 + i];
            rf_kv_store_q8_0(x, k_cache, n_vals, dst + b * 32);
        } else {
            const int e = (b - per_row) * 32;  // the block's first value in the row
            rf_kv_store_q8_0(v + (rf_i64)tok * width + e, v_cache, n_vals, dst + e);
        }
    }
}
