// Paged causal attention over the KV cache (f16 or q8_0), and the cache writes that feed it.
//
// Cache layout (one layer): K and V each [n_phys * block_size, n_kv * head_dim] values; the row
// of slot = physical block * block_size + offset holds every KV head of one position. A
// sequence's logical block b lives in physical block block_tables[seq * max_blocks + b]. A cache
// is passed as bytes: f16 values, or q8_0's int8 quants [n_vals] followed by their f16 scales
// [n_vals / 32] (one per 32 values of a head row; backend/src/kv_type.rs). Every kernel is a
// template over the element type (rf_kv_f16, rf_kv_q8_0 below), which loads 8 values at a time
// and widens them where the kernel uses them.
#include "prelude.h"
#include "kv_store.h"  // the cache writes' encodings

#define RF_NEG_INF (-__int_as_float(0x7f800000))
#define RF_NAN __int_as_float(0x7fc00000)

// Threads of an attention block; the same on every vendor, so that keys are dealt to the same
// key slots whatever the warp size.
#define RF_ATTN_THREADS 256
#define RF_ATTN_WARPS (RF_ATTN_THREADS / RF_WARP)
// Largest head_dim: 32 lanes of 8 dimensions.
#define RF_ATTN_MAX_HD 256
// Rounds of keys per step of a block's loop (more keys in flight, fewer rescales). The same in
// every kernel, so that a query head gets bit-identical results whichever kernel serves it.
#define RF_ATTN_UNROLL 4

// k_cache[slots[i], c] = f16(k[i, c]) and the same for v; k, v: [n / width, width]; caches:
// [n_slots, width] f16. A slot out of range is skipped (a device-side index cannot be checked
// before the launch).
RF_KERNEL void rf_kv_write_f16(const float* RF_RESTRICT k, const float* RF_RESTRICT v,
                               const rf_u32* RF_RESTRICT slots, rf_u8* RF_RESTRICT k_cache,
                               rf_u8* RF_RESTRICT v_cache, rf_i64 n, int width, rf_u32 n_slots) {
    const rf_i64 i = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const rf_i64 r = i / width;
    const rf_u32 slot = slots[r];
    if (slot >= n_slots) return;
    const rf_i64 dst = (rf_i64)slot * width + (i - r * width);
    rf_kv_store_f16(k[i], k_cache, dst);
    rf_kv_store_f16(v[i], v_cache, dst);
}

// The q8_0 cache write: each thread encodes one 32-value block of a K row and of the V row.
// k, v: [n_blocks * 32 / width, width] f32; caches: quants [n_slots, width] i8, then scales
// [n_slots, width / 32] f16; width a multiple of 32. A slot out of range is skipped.
RF_KERNEL void rf_kv_write_q8_0(const float* RF_RESTRICT k, const float* RF_RESTRICT v,
                                const rf_u32* RF_RESTRICT slots, rf_u8* RF_RESTRICT k_cache,
                                rf_u8* RF_RESTRICT v_cache, rf_i64 n_blocks, int width, rf_u32 n_slots) {
    const rf_i64 b = (rf_i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= n_blocks) return;
    const int per_row = width / 32;
    const rf_i64 r = b / per_row;
    const rf_u32 slot = slots[r];
    if (slot >= n_slots) return;
    const rf_i64 dst = (rf_i64)slot * width + (b - r * per_row) * 32;  // first value of the block
    const rf_i64 n_vals = (rf_i64)n_slots * width;
    rf_kv_store_q8_0(k + b * 32, k_cache, n_vals, dst);
    rf_kv_store_q8_0(v + b * 32, v_cache, n_vals, dst);
}

// Eight f16 values in one 16-byte load.
struct alignas(16) rf_h8 {
    rf_u32 w[4];
};

RF_DEVICE void rf_h8_to_f32(const rf_h8& h, float* f) {
#pragma unroll
    for (int i = 0; i < 4; i++) {
        f[2 * i] = rf_f16_to_f32((rf_f16)(h.w[i] & 0xffffu));
        f[2 * i + 1] = rf_f16_to_f32((rf_f16)(h.w[i] >> 16));
    }
}

// ---- cache element types -----------------------------------------------------------------------
// What the kernels know of a cache type: `piece`, 8 consecutive values of a head row as loaded;
// load(cache, n_vals, e) the piece at value e (a multiple of 8) of a cache of n_vals values;
// to_f32 widens it exactly; to_h8 gives it as 8 f16 (the tiled kernels' shared tiles: exact for
// f16, q8_0's d * q rounded to nearest).
struct rf_kv_f16 {
    typedef rf_h8 piece;
    RF_DEVICE piece zero() { return rf_h8{{0u, 0u, 0u, 0u}}; }
    RF_DEVICE piece load(const rf_u8* c, rf_i64, rf_i64 e) { return *(const rf_h8*)(c + 2 * e); }
    RF_DEVICE void to_f32(const piece& p, float* f) { rf_h8_to_f32(p, f); }
    RF_DEVICE rf_h8 to_h8(const piece& p) { return p; }
};

// Eight int8 quants (one 8-byte load) and their block's scale.
struct rf_q8_piece {
    rf_u32 q[2];
    float d;
};

struct alignas(8) rf_u32x2 {
    rf_u32 w[2];
};

struct rf_kv_q8_0 {
    typedef rf_q8_piece piece;
    RF_DEVICE piece zero() { return rf_q8_piece{{0u, 0u}, 0.0f}; }
    RF_DEVICE piece load(const rf_u8* c, rf_i64 n_vals, rf_i64 e) {
        const rf_u32x2 q = *(const rf_u32x2*)(c + e);
        return rf_q8_piece{{q.w[0], q.w[1]}, rf_f16_to_f32(((const rf_f16*)(c + n_vals))[e / 32])};
    }
    RF_DEVICE void to_f32(const piece& p, float* f) {
#pragma unroll
        for (int i = 0; i < 8; i++) f[i] = p.d * (float)(signed char)(p.q[i / 4] >> (8 * (i % 4)));
    }
    RF_DEVICE rf_h8 to_h8(const piece& p) {
        float f[8];
        to_f32(p, f);
        rf_h8 h;
#pragma unroll
        for (int i = 0; i < 4; i++) h.w[i] = (rf_u32)rf_f32_to_f16(f[2 * i]) | ((rf_u32)rf_f32_to_f16(f[2 * i + 1]) << 16);
        return h;
    }
};

// Physical blocks of this lane's keys in the step starting at key `base` (counted from the
// token's first key `start`): UNROLL rounds of key_slots keys; 0 past the last key.
template <int UNROLL>
RF_DEVICE void rf_attn_blocks(const rf_u32* table, int base, int key_slots, int key_slot, int n, int start,
                              int block_size, rf_u32* phys) {
#pragma unroll
    for (int u = 0; u < UNROLL; u++) {
        const int idx = base + u * key_slots + key_slot;
        phys[u] = idx < n ? table[(start + idx) / block_size] : 0u;
    }
}

// This lane's 8 dimensions of the K and V rows of the same keys, zero where there is no key.
// valid[u]: the key exists and its block is in the cache; a block outside it sets `bad`.
template <int UNROLL, class KV>
RF_DEVICE void rf_attn_load(const rf_u8* k_cache, const rf_u8* v_cache, rf_i64 n_vals, const rf_u32* phys, int base,
                            int key_slots, int key_slot, int n, int start, int block_size, rf_u32 n_phys,
                            bool has_dims, rf_i64 row_stride, rf_i64 head_off, typename KV::piece* kr,
                            typename KV::piece* vr, bool* valid, bool& bad) {
#pragma unroll
    for (int u = 0; u < UNROLL; u++) {
        const int idx = base + u * key_slots + key_slot;
        valid[u] = idx < n;
        kr[u] = vr[u] = KV::zero();
        if (!valid[u]) continue;
        if (phys[u] >= n_phys) {
            bad = true;
            valid[u] = false;
        } else if (has_dims) {
            const int key = start + idx;
            const rf_i64 off = ((rf_i64)phys[u] * block_size + key % block_size) * row_stride + head_off;
            kr[u] = KV::load(k_cache, n_vals, off);
            vr[u] = KV::load(v_cache, n_vals, off);
        }
    }
}

// Folds the softmax state (mo, lo, ao) of other keys into (m, l, a): running max, sum of
// exp(score - max), and the exp-weighted sum of V over this lane's 8 dimensions.
RF_DEVICE void rf_softmax_merge(float& m, float& l, float* a, float mo, float lo, const float* ao) {
    const float mx = fmaxf(m, mo);
    if (mx == RF_NEG_INF) return;  // neither side has seen a key
    const float c = expf(m - mx);
    const float co = expf(mo - mx);
    l = l * c + lo * co;
#pragma unroll
    for (int d = 0; d < 8; d++) a[d] = a[d] * c + ao[d] * co;
    m = mx;
}

// One block per (token, KV head, part of its query-head group): the block reads each K and V
// row once for up to MAXG query heads (GQA without copying K/V). Work split:
//   - a lane holds 8 dimensions of a head (one 16-byte f16 load); lk lanes (a power of two,
//     8 * lk >= head_dim) hold one key, so a warp reads RF_WARP / lk keys at once and the
//     block RF_ATTN_THREADS / lk ("key slots"), RF_ATTN_UNROLL rounds of them per step; the
//     next step's K/V rows (and the block ids of the one after) are loaded before the
//     current step's arithmetic;
//   - each key slot keeps an online softmax (running max, sum, weighted V) per query head;
//     the slots are merged at the end, within a warp by shuffles, across warps in shared
//     memory, always in the same order.
// No score array over the context: any context length works. The split depends only on the
// token's own context and a head's arithmetic not on MAXG, so a token's output is the same
// whatever it is batched with and whichever kernel serves it. Q, scores, softmax are f32.
// A token whose sequence index or position does not fit the block table, or whose block table
// names a block outside the cache, gets NaN outputs (device-side indices are checked here).
template <int MAXG, class KV>
RF_DEVICE void rf_attention(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache,
                            const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions,
                            const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables,
                            float* RF_RESTRICT out, int n_head, int n_kv, int head_dim, int lk, int block_size,
                            int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    __shared__ float sm_m[RF_ATTN_WARPS][MAXG];             // per warp and head: max
    __shared__ float sm_l[RF_ATTN_WARPS][MAXG];             // per warp and head: sum
    __shared__ float sm_acc[RF_ATTN_WARPS][RF_ATTN_MAX_HD];  // per warp, one head at a time
    __shared__ int sm_bad;

    const int tok = blockIdx.x / n_kv;
    const int kvh = blockIdx.x - tok * n_kv;
    const int group = n_head / n_kv;
    const int nh = min(MAXG, group - (int)blockIdx.y * MAXG);  // query heads served here
    const int h0 = kvh * group + (int)blockIdx.y * MAXG;       // the first of them
    const int lane = rf_lane();
    const int warp = rf_warp_id();
    const int d0 = (lane % lk) * 8;  // this lane's dimensions d0..d0+7
    const bool has_dims = d0 < head_dim;
    const int per_warp = RF_WARP / lk;
    const int key_slots = RF_ATTN_WARPS * per_warp;
    const int key_slot = warp * per_warp + lane / lk;

    const rf_u32 pos_u = positions[tok];
    const rf_u32 seq = token_seq[tok];
    const bool token_ok = seq < (rf_u32)n_seq && pos_u < (rf_u32)max_blocks * (rf_u32)block_size;
    const int pos = token_ok ? (int)pos_u : 0;
    const int start = (window > 0 && pos + 1 > window) ? pos + 1 - window : 0;
    const int n = token_ok ? pos - start + 1 : 0;  // keys start..=pos
    const rf_u32* table = block_tables + (rf_i64)(token_ok ? seq : 0u) * max_blocks;
    const rf_i64 row_stride = (rf_i64)n_kv * head_dim;
    const rf_i64 head_off = (rf_i64)kvh * head_dim + d0;
    const rf_i64 n_vals = (rf_i64)n_phys * block_size * row_stride;

    float qv[MAXG][8];  // [head][dim] this lane's part of each query
#pragma unroll
    for (int g = 0; g < MAXG; g++) {
        const rf_i64 at = ((rf_i64)tok * n_head + h0 + g) * head_dim + d0;
#pragma unroll
        for (int d = 0; d < 8; d++) qv[g][d] = (g < nh && has_dims) ? q[at + d] : 0.0f;
    }
    float m[MAXG], l[MAXG], acc[MAXG][8];
#pragma unroll
    for (int g = 0; g < MAXG; g++) {
        m[g] = RF_NEG_INF;
        l[g] = 0.0f;
#pragma unroll
        for (int d = 0; d < 8; d++) acc[g][d] = 0.0f;
    }

    const int UNROLL = RF_ATTN_UNROLL;
    const int step = key_slots * UNROLL;
    bool bad_block = false;
    rf_u32 phys[UNROLL];  // physical blocks of this lane's keys in the next step to load
    typename KV::piece kr[UNROLL], vr[UNROLL];
    bool valid[UNROLL];
    rf_attn_blocks<UNROLL>(table, 0, key_slots, key_slot, n, start, block_size, phys);
    rf_attn_load<UNROLL, KV>(k_cache, v_cache, n_vals, phys, 0, key_slots, key_slot, n, start, block_size, n_phys,
                             has_dims, row_stride, head_off, kr, vr, valid, bad_block);
    rf_attn_blocks<UNROLL>(table, step, key_slots, key_slot, n, start, block_size, phys);
    for (int base = 0; base < n; base += step) {
        // The next step's rows are in flight during this step's arithmetic.
        typename KV::piece kn[UNROLL], vn[UNROLL];
        bool valid_n[UNROLL];
        rf_attn_load<UNROLL, KV>(k_cache, v_cache, n_vals, phys, base + step, key_slots, key_slot, n, start,
                                 block_size, n_phys, has_dims, row_stride, head_off, kn, vn, valid_n, bad_block);
        rf_attn_blocks<UNROLL>(table, base + 2 * step, key_slots, key_slot, n, start, block_size, phys);
        float s[UNROLL][MAXG];  // scores
        float vf[UNROLL][8];    // V rows, this lane's dimensions
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            float kf[8];
            KV::to_f32(kr[u], kf);
            KV::to_f32(vr[u], vf[u]);
#pragma unroll
            for (int g = 0; g < MAXG; g++) {
                s[u][g] = RF_NEG_INF;
                if (g >= nh) continue;  // uniform over the block: shuffles stay converged
                float dot = 0.0f;
#pragma unroll
                for (int d = 0; d < 8; d++) dot += qv[g][d] * kf[d];
                for (int o = lk / 2; o > 0; o >>= 1) dot += rf_shfl_xor(dot, o);
                dot *= scale;
                if (softcap > 0.0f) dot = softcap * tanhf(dot / softcap);
                if (valid[u]) s[u][g] = dot;
            }
        }
#pragma unroll
        for (int g = 0; g < MAXG; g++) {
            if (g >= nh) continue;
            float mx = m[g];
#pragma unroll
            for (int u = 0; u < UNROLL; u++) mx = fmaxf(mx, s[u][g]);
            if (mx == RF_NEG_INF) continue;  // no key in this slot yet
            const float corr = expf(m[g] - mx);
            l[g] *= corr;
#pragma unroll
            for (int d = 0; d < 8; d++) acc[g][d] *= corr;
#pragma unroll
            for (int u = 0; u < UNROLL; u++) {
                const float p = expf(s[u][g] - mx);
                l[g] += p;
#pragma unroll
                for (int d = 0; d < 8; d++) acc[g][d] += p * vf[u][d];
            }
            m[g] = mx;
        }
#pragma unroll
        for (int u = 0; u < UNROLL; u++) {
            kr[u] = kn[u];
            vr[u] = vn[u];
            valid[u] = valid_n[u];
        }
    }

    // Merge the key slots of a warp: lanes lk, 2 lk, ... apart hold the same dimensions.
    for (int o = lk; o < RF_WARP; o <<= 1) {
#pragma unroll
        for (int g = 0; g < MAXG; g++) {
            if (g >= nh) continue;
            const float mo = rf_shfl_xor(m[g], o);
            const float lo = rf_shfl_xor(l[g], o);
            float ao[8];
#pragma unroll
            for (int d = 0; d < 8; d++) ao[d] = rf_shfl_xor(acc[g][d], o);
            rf_softmax_merge(m[g], l[g], acc[g], mo, lo, ao);
        }
    }

    // Merge the warps, one head at a time, warp 0 first.
    if (threadIdx.x == 0) sm_bad = 0;
    __syncthreads();
    if (bad_block) sm_bad = 1;
    if (lane == 0) {
#pragma unroll
        for (int g = 0; g < MAXG; g++) {
            sm_m[warp][g] = m[g];
            sm_l[warp][g] = l[g];
        }
    }
    __syncthreads();
    const bool bad = !token_ok || sm_bad != 0;
#pragma unroll
    for (int g = 0; g < MAXG; g++) {
        if (g < nh) {  // uniform over the block
            if (lane < lk && has_dims) {
#pragma unroll
                for (int d = 0; d < 8; d++) sm_acc[warp][d0 + d] = acc[g][d];
            }
            __syncthreads();
            float mx = RF_NEG_INF;
            for (int w = 0; w < RF_ATTN_WARPS; w++) mx = fmaxf(mx, sm_m[w][g]);
            float* o = out + ((rf_i64)tok * n_head + h0 + g) * head_dim;
            for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
                float sum = 0.0f;
                float wv = 0.0f;
                for (int w = 0; w < RF_ATTN_WARPS; w++) {
                    if (sm_m[w][g] == RF_NEG_INF) continue;
                    const float c = expf(sm_m[w][g] - mx);
                    sum += sm_l[w][g] * c;
                    wv += sm_acc[w][d] * c;
                }
                o[d] = bad ? RF_NAN : wv / sum;
            }
            __syncthreads();
        }
    }
}

// The kernels, by the largest query-head group a block serves (blocks of RF_ATTN_THREADS) and
// cache type. q, out: [t, n_head, head_dim] f32; caches as above; positions, token_seq: [t];
// block_tables: [n_seq, max_blocks]; grid (t * n_kv, ceil(group / MAXG)).
// clang-format off
RF_KERNEL void rf_attention_g1_f16(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int n_head, int n_kv, int head_dim, int lk, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention<1, rf_kv_f16>(q, k_cache, v_cache, positions, token_seq, block_tables, out, n_head, n_kv, head_dim, lk, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void rf_attention_g2_f16(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int n_head, int n_kv, int head_dim, int lk, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention<2, rf_kv_f16>(q, k_cache, v_cache, positions, token_seq, block_tables, out, n_head, n_kv, head_dim, lk, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void rf_attention_g4_f16(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int n_head, int n_kv, int head_dim, int lk, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention<4, rf_kv_f16>(q, k_cache, v_cache, positions, token_seq, block_tables, out, n_head, n_kv, head_dim, lk, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void rf_attention_g1_q8_0(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int n_head, int n_kv, int head_dim, int lk, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention<1, rf_kv_q8_0>(q, k_cache, v_cache, positions, token_seq, block_tables, out, n_head, n_kv, head_dim, lk, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void rf_attention_g2_q8_0(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int n_head, int n_kv, int head_dim, int lk, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention<2, rf_kv_q8_0>(q, k_cache, v_cache, positions, token_seq, block_tables, out, n_head, n_kv, head_dim, lk, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void rf_attention_g4_q8_0(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int n_head, int n_kv, int head_dim, int lk, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention<4, rf_kv_q8_0>(q, k_cache, v_cache, positions, token_seq, block_tables, out, n_head, n_kv, head_dim, lk, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
// clang-format on

// ---- tiled attention (prefill) ---------------------------------------------------------------
// For steps whose sequences bring many tokens (prefill chunks), the kernels above would read
// every K/V row once per token. Here a block takes a tile of consecutive tokens of the step and
// one KV head with (up to) its whole query-head group: R query rows (token, head), which share
// every K/V tile loaded into shared memory. Per tile of BK keys: scores S = Q K^T (f32, from
// the f16 cache), an online softmax per row (running max and sum), O = O * rescale + P V.
//
// The tile's tokens are split into segments of consecutive tokens of one sequence (a prefill
// chunk is one segment; a decode token beside it is a segment of its own); each segment walks
// the keys of its sequence from the first key any of its rows sees to the last position, and
// masks per row (causal, sliding window). Key tiles are aligned to multiples of BK positions and
// a row skips every tile in which it sees no key, so a row's result depends only on its own
// query and context: the same whatever the rest of the step (it does differ from the per-token
// kernels above, which sum in another order). Q, scores, softmax and sums are f32, as there.
// A token whose sequence index or position does not fit the block table, or whose keys lie in a
// block outside the cache, gets NaN outputs.
#define RF_FA_THREADS 128

struct alignas(16) rf_fa4 {
    float x, y, z, w;
};

// For keys kb .. kb + n - 1 of a sequence (block table `table`): the offset of each key's K/V
// row for this head (first dimension), or -1 where the key is outside lo..hi or its block is
// outside the cache (then bad[kk] = 1). Threads 0..n-1 read one block-table entry each, so a
// step's loads depend on one table read per key instead of one per 16-byte piece.
RF_DEVICE void rf_key_rows(const rf_u32* table, int kb, int n, int lo, int hi, int block_size, rf_u32 n_phys,
                           rf_i64 row_stride, rf_i64 head_off, rf_i64* rows, int* bad) {
    const int kk = threadIdx.x;
    if (kk >= n) return;
    const int key = kb + kk;
    rf_i64 row = -1;
    int b = 0;
    if (key >= lo && key <= hi) {
        const rf_u32 phys = table[key / block_size];
        if (phys < n_phys) {
            row = ((rf_i64)phys * block_size + key % block_size) * row_stride + head_off;
        } else {
            b = 1;
        }
    }
    rows[kk] = row;
    bad[kk] = b;
}

// Threads: 128. Score tile: thread (tr, tk) computes rows tr + TR i (i < RI) x keys tk + TK j
// (j < KJ). Output: thread (to, td) owns rows to + TRO i (i < OI) x dims 4 (td + TDO q) .. + 4
// (q < OQ). Shared rows are padded by 16 bytes so that consecutive rows start 4 banks apart.
template <class KV, int HDP, int R, int BK, int RI, int KJ, int OI, int OQ>
RF_DEVICE void rf_attention_tiled(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache,
                                  const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions,
                                  const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables,
                                  float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb,
                                  int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale,
                                  float softcap) {
    constexpr int NT = RF_FA_THREADS;
    constexpr int TR = R / RI;
    constexpr int TK = NT / TR;
    static_assert(TR * RI == R && TK * TR == NT && TK * KJ == BK, "score tiling");
    constexpr int TDO = HDP / (4 * OQ);
    constexpr int TRO = NT / TDO;
    static_assert(TDO * OQ * 4 == HDP && TRO * TDO == NT && TRO * OI == R, "output tiling");
    constexpr int QP = HDP + 4;  // f32 stride of a Q row
    constexpr int KP = HDP + 8;  // f16 stride of a K or V row
    constexpr int PP = BK + 1;   // f32 stride of a row of scores
    constexpr int NW = NT / RF_WARP;

    __shared__ __align__(16) float sq[R * QP];    // [row][dim] the tile's queries
    __shared__ __align__(16) rf_f16 sk[BK * KP];  // [key][dim] this step's K rows
    __shared__ __align__(16) rf_f16 sv[BK * KP];  // [key][dim] this step's V rows
    __shared__ float sp[R * PP];                  // [row][key] scores, then weights
    __shared__ float s_m[R], s_l[R], s_alpha[R];  // per row: running max, sum, this step's rescale
    __shared__ int s_use[R], s_bad[R];            // per row: sees a key this step; read a bad block
    __shared__ rf_i64 s_row[2][BK];               // per key of this / the next step: K/V row offset
    __shared__ int s_kbad[2][BK];                 // per key: its block is outside the cache
    __shared__ rf_u32 s_seq[R];                   // per token of the tile: sequence
    __shared__ int s_pos[R], s_start[R], s_ok[R];  // position, first key, indices valid

    const int tid = threadIdx.x;
    const int group = n_head / n_kv;
    const int parts = (group + hb - 1) / hb;
    const int kvh = blockIdx.y / parts;
    const int part = blockIdx.y - kvh * parts;
    const int h0 = kvh * group + part * hb;  // first query head served
    const int nh = min(hb, group - part * hb);
    const int tq_n = R / hb;  // tokens per tile
    const int tok0 = blockIdx.x * tq_n;
    const int nt = min(tq_n, t - tok0);
    const int rows = nt * nh;  // row r: token tok0 + r / nh, head h0 + r % nh
    const rf_i64 row_stride = (rf_i64)n_kv * head_dim;
    const rf_i64 head_off = (rf_i64)kvh * head_dim;
    const rf_i64 n_vals = (rf_i64)n_phys * block_size * row_stride;

    if (tid < nt) {
        const rf_u32 seq = token_seq[tok0 + tid];
        const rf_u32 p = positions[tok0 + tid];
        const bool ok = seq < (rf_u32)n_seq && p < (rf_u32)max_blocks * (rf_u32)block_size;
        s_seq[tid] = seq;
        s_ok[tid] = ok;
        s_pos[tid] = ok ? (int)p : 0;
        s_start[tid] = (ok && window > 0 && (int)p + 1 > window) ? (int)p + 1 - window : 0;
    }
    for (int r = tid; r < R; r += NT) {
        s_m[r] = RF_NEG_INF;
        s_l[r] = 0.0f;
        s_bad[r] = 0;
    }
    for (int i = tid; i < R * (HDP / 4); i += NT) {
        const int r = i / (HDP / 4), c = 4 * (i % (HDP / 4));
        rf_fa4 v = {0.0f, 0.0f, 0.0f, 0.0f};
        if (r < rows && c < head_dim) {
            const int tq = r / nh;
            v = *(const rf_fa4*)(q + ((rf_i64)(tok0 + tq) * n_head + h0 + (r - tq * nh)) * head_dim + c);
        }
        *(rf_fa4*)(sq + r * QP + c) = v;
    }
    __syncthreads();

    const int tr = tid / TK, tk = tid % TK;
    const int to = tid / TDO, td = tid % TDO;
    const int lane = rf_lane(), warp = rf_warp_id();
    float acc[OI][4 * OQ];
#pragma unroll
    for (int i = 0; i < OI; i++)
#pragma unroll
        for (int e = 0; e < 4 * OQ; e++) acc[i][e] = 0.0f;

    for (int sb = 0; sb < nt;) {  // segments (uniform over the block: read from shared memory)
        const rf_u32 seq = s_seq[sb];
        int se = sb + 1;
        while (se < nt && s_seq[se] == seq) se++;
        int lo = 0x7fffffff, hi = -1;  // keys the segment's rows see
        for (int i = sb; i < se; i++) {
            if (s_ok[i]) {
                lo = min(lo, s_start[i]);
                hi = max(hi, s_pos[i]);
            }
        }
        const rf_u32* table = block_tables + (rf_i64)(hi >= 0 ? seq : 0u) * max_blocks;
        const int kb0 = hi >= 0 ? lo / BK * BK : 0;
        if (hi >= 0) rf_key_rows(table, kb0, BK, lo, hi, block_size, n_phys, row_stride, head_off, s_row[0], s_kbad[0]);
        __syncthreads();
        int cur = 0;
        for (int kb = kb0; kb <= hi; kb += BK, cur ^= 1) {
            // K and V rows of keys kb .. kb + BK - 1, zeros outside lo..hi (never read garbage):
            // every piece's load in flight at once, and the next step's block-table reads.
            constexpr int NL = BK * (HDP / 8) / NT;
            static_assert(NL * NT == BK * (HDP / 8), "load split");
            typename KV::piece hk[NL], hv[NL];
#pragma unroll
            for (int u = 0; u < NL; u++) {
                const int i = tid + u * NT, kk = i / (HDP / 8), c = 8 * (i % (HDP / 8));
                const rf_i64 row = s_row[cur][kk];
                hk[u] = hv[u] = KV::zero();
                if (row >= 0 && c < head_dim) {
                    hk[u] = KV::load(k_cache, n_vals, row + c);
                    hv[u] = KV::load(v_cache, n_vals, row + c);
                }
            }
            if (kb + BK <= hi) {
                rf_key_rows(table, kb + BK, BK, lo, hi, block_size, n_phys, row_stride, head_off, s_row[cur ^ 1],
                            s_kbad[cur ^ 1]);
            }
#pragma unroll
            for (int u = 0; u < NL; u++) {
                const int i = tid + u * NT, kk = i / (HDP / 8), c = 8 * (i % (HDP / 8));
                *(rf_h8*)(sk + kk * KP + c) = KV::to_h8(hk[u]);
                *(rf_h8*)(sv + kk * KP + c) = KV::to_h8(hv[u]);
            }
            __syncthreads();

            // Scores.
            float s[RI][KJ];
#pragma unroll
            for (int i = 0; i < RI; i++)
#pragma unroll
                for (int j = 0; j < KJ; j++) s[i][j] = 0.0f;
            for (int d = 0; d < head_dim; d += 8) {
                float kf[KJ][8];
#pragma unroll
                for (int j = 0; j < KJ; j++) rf_h8_to_f32(*(const rf_h8*)(sk + (tk + TK * j) * KP + d), kf[j]);
#pragma unroll
                for (int i = 0; i < RI; i++) {
                    const rf_fa4 a = *(const rf_fa4*)(sq + (tr + TR * i) * QP + d);
                    const rf_fa4 b = *(const rf_fa4*)(sq + (tr + TR * i) * QP + d + 4);
                    const float qv[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
                    for (int j = 0; j < KJ; j++)
#pragma unroll
                        for (int e = 0; e < 8; e++) s[i][j] += qv[e] * kf[j][e];
                }
            }
#pragma unroll
            for (int i = 0; i < RI; i++) {
                const int r = tr + TR * i;
                const int tq = r < rows ? r / nh : 0;
                const bool row_in = r < rows && tq >= sb && tq < se && s_ok[tq];
#pragma unroll
                for (int j = 0; j < KJ; j++) {
                    const int kk = tk + TK * j, key = kb + kk;
                    float v = RF_NEG_INF;
                    if (row_in && key >= s_start[tq] && key <= s_pos[tq]) {
                        if (s_kbad[cur][kk]) {
                            s_bad[r] = 1;
                        } else {
                            v = s[i][j] * scale;
                            if (softcap > 0.0f) v = softcap * tanhf(v / softcap);
                        }
                    }
                    sp[r * PP + kk] = v;
                }
            }
            __syncthreads();

            // Online softmax, one warp per row.
            for (int r = warp; r < R; r += NW) {
                float mx = RF_NEG_INF;
                for (int k = lane; k < BK; k += RF_WARP) mx = fmaxf(mx, sp[r * PP + k]);
                mx = rf_warp_max(mx);
                const bool use = mx != RF_NEG_INF;  // uniform over the warp
                if (use) {
                    const float m_old = s_m[r];
                    const float m_new = fmaxf(m_old, mx);
                    float sum = 0.0f;
                    for (int k = lane; k < BK; k += RF_WARP) {
                        const float p = expf(sp[r * PP + k] - m_new);
                        sp[r * PP + k] = p;
                        sum += p;
                    }
                    sum = rf_warp_sum(sum);
                    if (lane == 0) {
                        const float a = expf(m_old - m_new);
                        s_alpha[r] = a;
                        s_l[r] = s_l[r] * a + sum;
                        s_m[r] = m_new;
                    }
                }
                if (lane == 0) s_use[r] = use;
            }
            __syncthreads();

            // O = O * rescale + P V for the rows that saw a key.
            bool use[OI];
#pragma unroll
            for (int i = 0; i < OI; i++) {
                const int r = to + TRO * i;
                use[i] = s_use[r] != 0;
                if (use[i]) {
                    const float a = s_alpha[r];
#pragma unroll
                    for (int e = 0; e < 4 * OQ; e++) acc[i][e] *= a;
                }
            }
            for (int k = 0; k < BK; k++) {
                float vf[4 * OQ];
#pragma unroll
                for (int qq = 0; qq < OQ; qq++) {
                    const rf_u32* vw = (const rf_u32*)(sv + k * KP + 4 * (td + TDO * qq));
                    const rf_u32 w0 = vw[0], w1 = vw[1];
                    vf[4 * qq] = rf_f16_to_f32((rf_f16)(w0 & 0xffffu));
                    vf[4 * qq + 1] = rf_f16_to_f32((rf_f16)(w0 >> 16));
                    vf[4 * qq + 2] = rf_f16_to_f32((rf_f16)(w1 & 0xffffu));
                    vf[4 * qq + 3] = rf_f16_to_f32((rf_f16)(w1 >> 16));
                }
#pragma unroll
                for (int i = 0; i < OI; i++) {
                    if (!use[i]) continue;
                    const float p = sp[(to + TRO * i) * PP + k];
#pragma unroll
                    for (int e = 0; e < 4 * OQ; e++) acc[i][e] = fmaf(p, vf[e], acc[i][e]);
                }
            }
            __syncthreads();
        }
        sb = se;
    }

#pragma unroll
    for (int i = 0; i < OI; i++) {
        const int r = to + TRO * i;
        if (r >= rows) continue;
        const int tq = r / nh;
        const bool bad = !s_ok[tq] || s_bad[r] != 0;
        const float l = s_l[r];
        float* o = out + ((rf_i64)(tok0 + tq) * n_head + h0 + (r - tq * nh)) * head_dim;
#pragma unroll
        for (int qq = 0; qq < OQ; qq++) {
            const int c = 4 * (td + TDO * qq);
            if (c >= head_dim) continue;
#pragma unroll
            for (int e = 0; e < 4; e++) o[c + e] = bad ? RF_NAN : acc[i][4 * qq + e] / l;
        }
    }
}

// The kernels, by padded head_dim (HDP, query rows R, keys per step BK, score and output
// tilings) and cache type. q, out: [t, n_head, head_dim] f32; caches, positions, token_seq,
// block_tables as for rf_attention_g*; hb: query heads per block (hb <= R; R / hb tokens per
// tile); grid (ceil(t / (R / hb)), n_kv * ceil(group / hb)); RF_FA_THREADS threads.
// clang-format off
RF_KERNEL void __launch_bounds__(RF_FA_THREADS) rf_attention_tiled_64_f16(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_tiled<rf_kv_f16, 64, 32, 64, 4, 4, 4, 1>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void __launch_bounds__(RF_FA_THREADS) rf_attention_tiled_128_f16(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_tiled<rf_kv_f16, 128, 32, 32, 4, 2, 4, 2>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void __launch_bounds__(RF_FA_THREADS) rf_attention_tiled_256_f16(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_tiled<rf_kv_f16, 256, 16, 16, 2, 1, 2, 4>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void __launch_bounds__(RF_FA_THREADS) rf_attention_tiled_64_q8_0(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_tiled<rf_kv_q8_0, 64, 32, 64, 4, 4, 4, 1>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void __launch_bounds__(RF_FA_THREADS) rf_attention_tiled_128_q8_0(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_tiled<rf_kv_q8_0, 128, 32, 32, 4, 2, 4, 2>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void __launch_bounds__(RF_FA_THREADS) rf_attention_tiled_256_q8_0(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_tiled<rf_kv_q8_0, 256, 16, 16, 2, 1, 2, 4>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
// clang-format on

// ---- tiled attention on the matrix cores (NVIDIA sm_80+) ---------------------------------------
// The tiled kernel's algorithm with both products on mma.sync (m16n8k16, f16 operands, f32
// accumulation). K and V are f16 already; Q (pre-multiplied by the scale) and the softmax
// weights are split into two f16 terms, hi = f16(x) and lo = f16(x - hi), each multiplied
// (two mma per product): x is represented to ~2^-22 of itself, so the scores and the weighted
// sums keep f32 accuracy, as in the other kernels. Each warp owns 16 query rows (a row's
// scores and output live in registers, in the mma accumulator layout); the block's warps share
// the K tile ([key][dim]) and the transposed V tile ([dim][key]) in shared memory. Segments,
// key tiles aligned to multiples of RF_MMA_BK, per-row masks, tiles without a key for a row
// leaving it untouched and NaN for bad indices: as the tiled kernel. head_dim a multiple of 16.
#if defined(RF_CUDA) && (!defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800)
#define RF_MMA_WARPS 2
#define RF_MMA_THREADS (RF_MMA_WARPS * 32)
#define RF_MMA_BK 32

// d += a * b for one m16n8k16 tile: a 4 f16x2 registers (rows g, g + 8; cols 2t, 2t + 8),
// b 2 f16x2 (k rows 2t, 2t + 8; col g), d 4 floats (rows g, g + 8; cols 2t, 2t + 1), where
// g = lane / 4 and t = lane % 4.
RF_DEVICE void rf_mma16816(float* d, const rf_u32* a, rf_u32 b0, rf_u32 b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// (x0, x1) as two f16x2 terms: hi = f16(x), lo = f16(x - hi); x0 in the low halves.
RF_DEVICE void rf_split_f16x2(float x0, float x1, rf_u32& hi, rf_u32& lo) {
    const rf_f16 h0 = rf_f32_to_f16(x0), h1 = rf_f32_to_f16(x1);
    const rf_f16 l0 = rf_f32_to_f16(x0 - rf_f16_to_f32(h0)), l1 = rf_f32_to_f16(x1 - rf_f16_to_f32(h1));
    hi = (rf_u32)h0 | ((rf_u32)h1 << 16);
    lo = (rf_u32)l0 | ((rf_u32)l1 << 16);
}

RF_DEVICE float rf_quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

RF_DEVICE float rf_quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

template <class KV, int HD>
RF_DEVICE void rf_attention_mma(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache,
                                const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions,
                                const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables,
                                float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb,
                                int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale,
                                float softcap) {
    constexpr int R = 16 * RF_MMA_WARPS;  // query rows per block
    constexpr int BK = RF_MMA_BK;         // keys per step
    constexpr int KS = HD / 16;           // k-steps of a score (dims)
    constexpr int NS = BK / 8;            // n-tiles of a step's scores (keys)
    constexpr int NO = HD / 8;            // n-tiles of the output (dims)
    constexpr int KP = HD + 8;            // f16 stride of a K row (rows 4 banks apart)
    constexpr int VP = BK + 8;            // f16 stride of a transposed V row
    static_assert(HD % 16 == 0 && BK % 16 == 0, "mma tiling");

    __shared__ __align__(16) rf_f16 sk[BK * KP];   // [key][dim]
    __shared__ __align__(16) rf_f16 svt[HD * VP];  // [dim][key]
    __shared__ rf_i64 s_row[2][BK];                // per key of this / the next step: K/V row offset
    __shared__ int s_kbad[2][BK];
    __shared__ rf_u32 s_seq[R];
    __shared__ int s_pos[R], s_start[R], s_ok[R];

    const int tid = threadIdx.x;
    const int lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, tg = lane & 3;
    const int group = n_head / n_kv;
    const int parts = (group + hb - 1) / hb;
    const int kvh = blockIdx.y / parts;
    const int part = blockIdx.y - kvh * parts;
    const int h0 = kvh * group + part * hb;
    const int nh = min(hb, group - part * hb);
    const int tq_n = R / hb;
    const int tok0 = blockIdx.x * tq_n;
    const int nt = min(tq_n, t - tok0);
    const int rows = nt * nh;
    const rf_i64 row_stride = (rf_i64)n_kv * head_dim;
    const rf_i64 head_off = (rf_i64)kvh * head_dim;
    const rf_i64 n_vals = (rf_i64)n_phys * block_size * row_stride;

    if (tid < nt) {
        const rf_u32 seq = token_seq[tok0 + tid];
        const rf_u32 p = positions[tok0 + tid];
        const bool ok = seq < (rf_u32)n_seq && p < (rf_u32)max_blocks * (rf_u32)block_size;
        s_seq[tid] = seq;
        s_ok[tid] = ok;
        s_pos[tid] = ok ? (int)p : 0;
        s_start[tid] = (ok && window > 0 && (int)p + 1 > window) ? (int)p + 1 - window : 0;
    }

    // This thread's two rows: warp * 16 + g and + 8.
    int rr[2], tq[2];
#pragma unroll
    for (int w = 0; w < 2; w++) {
        rr[w] = warp * 16 + g + 8 * w;
        tq[w] = rr[w] < rows ? rr[w] / nh : -1;
    }
    // Q fragments (scaled), hi and lo terms.
    rf_u32 qh[KS][4], ql[KS][4];
#pragma unroll
    for (int ks = 0; ks < KS; ks++) {
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int w = i & 1;  // a1, a3: row + 8
            const int c = 16 * ks + 2 * tg + ((i & 2) ? 8 : 0);
            float x0 = 0.0f, x1 = 0.0f;
            if (tq[w] >= 0 && c < head_dim) {
                const float* qr =
                    q + ((rf_i64)(tok0 + tq[w]) * n_head + h0 + (rr[w] - tq[w] * nh)) * head_dim + c;
                x0 = qr[0] * scale;
                x1 = qr[1] * scale;
            }
            rf_split_f16x2(x0, x1, qh[ks][i], ql[ks][i]);
        }
    }
    float m[2] = {RF_NEG_INF, RF_NEG_INF}, l[2] = {0.0f, 0.0f};
    bool bad[2] = {false, false};
    float acc[NO][4];
#pragma unroll
    for (int n = 0; n < NO; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[n][e] = 0.0f;
    __syncthreads();

    for (int sb = 0; sb < nt;) {
        const rf_u32 seq = s_seq[sb];
        int se = sb + 1;
        while (se < nt && s_seq[se] == seq) se++;
        int lo = 0x7fffffff, hi = -1;
        for (int i = sb; i < se; i++) {
            if (s_ok[i]) {
                lo = min(lo, s_start[i]);
                hi = max(hi, s_pos[i]);
            }
        }
        // This thread's rows in the segment: their key ranges.
        bool in[2];
        int kfirst[2], klast[2];
#pragma unroll
        for (int w = 0; w < 2; w++) {
            in[w] = tq[w] >= sb && tq[w] < se && s_ok[tq[w]];
            kfirst[w] = in[w] ? s_start[tq[w]] : 0;
            klast[w] = in[w] ? s_pos[tq[w]] : -1;
        }
        const rf_u32* table = block_tables + (rf_i64)(hi >= 0 ? seq : 0u) * max_blocks;
        const int kb0 = hi >= 0 ? lo / BK * BK : 0;
        if (hi >= 0) rf_key_rows(table, kb0, BK, lo, hi, block_size, n_phys, row_stride, head_off, s_row[0], s_kbad[0]);
        __syncthreads();
        int cur = 0;
        for (int kb = kb0; kb <= hi; kb += BK, cur ^= 1) {
            // K rows as they are (16-byte pieces, consecutive threads along a row), then V rows
            // transposed (consecutive threads down the keys, so the 2-byte stores spread). All of
            // one array's loads in flight at once (the next step's block-table reads beside them);
            // one array at a time keeps the registers for the Q fragments and the accumulators.
            constexpr int NL = BK * (HD / 8) / RF_MMA_THREADS;
            static_assert(NL * RF_MMA_THREADS == BK * (HD / 8), "load split");
            typename KV::piece h[NL];
#pragma unroll
            for (int u = 0; u < NL; u++) {
                const int i = tid + u * RF_MMA_THREADS, kk = i / (HD / 8), c = 8 * (i % (HD / 8));
                const rf_i64 row = s_row[cur][kk];
                h[u] = KV::zero();
                if (row >= 0 && c < head_dim) h[u] = KV::load(k_cache, n_vals, row + c);
            }
            if (kb + BK <= hi) {
                rf_key_rows(table, kb + BK, BK, lo, hi, block_size, n_phys, row_stride, head_off, s_row[cur ^ 1],
                            s_kbad[cur ^ 1]);
            }
#pragma unroll
            for (int u = 0; u < NL; u++) {
                const int i = tid + u * RF_MMA_THREADS, kk = i / (HD / 8), c = 8 * (i % (HD / 8));
                *(rf_h8*)(sk + kk * KP + c) = KV::to_h8(h[u]);
            }
#pragma unroll
            for (int u = 0; u < NL; u++) {
                const int i = tid + u * RF_MMA_THREADS, vk = i % BK, vc = 8 * (i / BK);
                const rf_i64 row = s_row[cur][vk];
                h[u] = KV::zero();
                if (row >= 0 && vc < head_dim) h[u] = KV::load(v_cache, n_vals, row + vc);
            }
#pragma unroll
            for (int u = 0; u < NL; u++) {
                const int i = tid + u * RF_MMA_THREADS, vk = i % BK, vc = 8 * (i / BK);
                const rf_h8 hv = KV::to_h8(h[u]);
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    svt[(vc + 2 * e) * VP + vk] = (rf_f16)(hv.w[e] & 0xffffu);
                    svt[(vc + 2 * e + 1) * VP + vk] = (rf_f16)(hv.w[e] >> 16);
                }
            }
            __syncthreads();

            // Scores of this warp's 16 rows x BK keys.
            float s[NS][4];
#pragma unroll
            for (int j = 0; j < NS; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) s[j][e] = 0.0f;
                const rf_f16* kr = sk + (8 * j + g) * KP + 2 * tg;
#pragma unroll
                for (int ks = 0; ks < KS; ks++) {
                    if (16 * ks >= head_dim) break;
                    const rf_u32 b0 = *(const rf_u32*)(kr + 16 * ks);
                    const rf_u32 b1 = *(const rf_u32*)(kr + 16 * ks + 8);
                    rf_mma16816(s[j], qh[ks], b0, b1);
                    rf_mma16816(s[j], ql[ks], b0, b1);
                }
            }
            // Masks (and softcap), then the online softmax per row (a row's 4 lanes together).
            float mx[2] = {RF_NEG_INF, RF_NEG_INF};
#pragma unroll
            for (int j = 0; j < NS; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int w = e >> 1;
                    const int kk = 8 * j + 2 * tg + (e & 1), key = kb + kk;
                    float v = RF_NEG_INF;
                    if (key >= kfirst[w] && key <= klast[w]) {
                        if (s_kbad[cur][kk]) {
                            bad[w] = true;
                        } else {
                            v = s[j][e];
                            if (softcap > 0.0f) v = softcap * tanhf(v / softcap);
                        }
                    }
                    s[j][e] = v;
                    mx[w] = fmaxf(mx[w], v);
                }
            }
            float alpha[2];
#pragma unroll
            for (int w = 0; w < 2; w++) {
                mx[w] = rf_quad_max(mx[w]);
                const bool use = mx[w] != RF_NEG_INF;
                const float m_new = use ? fmaxf(m[w], mx[w]) : m[w];
                alpha[w] = use ? expf(m[w] - m_new) : 1.0f;
                float sum = 0.0f;
#pragma unroll
                for (int j = 0; j < NS; j++) {
#pragma unroll
                    for (int e = 2 * w; e < 2 * w + 2; e++) {
                        const float p = use ? expf(s[j][e] - m_new) : 0.0f;
                        s[j][e] = p;
                        sum += p;
                    }
                }
                sum = rf_quad_sum(sum);
                if (use) {
                    l[w] = l[w] * alpha[w] + sum;
                    m[w] = m_new;
                }
            }
#pragma unroll
            for (int n = 0; n < NO; n++) {
                acc[n][0] *= alpha[0];
                acc[n][1] *= alpha[0];
                acc[n][2] *= alpha[1];
                acc[n][3] *= alpha[1];
            }
            // O += P V, 16 keys per k-step: P's fragments are the scores' accumulators.
#pragma unroll
            for (int c = 0; c < BK / 16; c++) {
                rf_u32 ph[4], pl[4];
                rf_split_f16x2(s[2 * c][0], s[2 * c][1], ph[0], pl[0]);
                rf_split_f16x2(s[2 * c][2], s[2 * c][3], ph[1], pl[1]);
                rf_split_f16x2(s[2 * c + 1][0], s[2 * c + 1][1], ph[2], pl[2]);
                rf_split_f16x2(s[2 * c + 1][2], s[2 * c + 1][3], ph[3], pl[3]);
#pragma unroll
                for (int n = 0; n < NO; n++) {
                    if (8 * n >= head_dim) break;
                    const rf_f16* vr = svt + (8 * n + g) * VP + 16 * c + 2 * tg;
                    const rf_u32 b0 = *(const rf_u32*)vr;
                    const rf_u32 b1 = *(const rf_u32*)(vr + 8);
                    rf_mma16816(acc[n], ph, b0, b1);
                    rf_mma16816(acc[n], pl, b0, b1);
                }
            }
            __syncthreads();
        }
        sb = se;
    }

#pragma unroll
    for (int w = 0; w < 2; w++) {
        // A row's bad flag may have been seen by any of its 4 lanes.
        const int b = (int)bad[w];
        bad[w] = (b | __shfl_xor_sync(0xffffffffu, b, 1) | __shfl_xor_sync(0xffffffffu, b, 2) |
                  __shfl_xor_sync(0xffffffffu, b, 3)) != 0;
    }
#pragma unroll
    for (int w = 0; w < 2; w++) {
        if (tq[w] < 0) continue;
        const bool nan = !s_ok[tq[w]] || bad[w];
        float* o = out + ((rf_i64)(tok0 + tq[w]) * n_head + h0 + (rr[w] - tq[w] * nh)) * head_dim;
#pragma unroll
        for (int n = 0; n < NO; n++) {
            const int c = 8 * n + 2 * tg;
            if (c >= head_dim) break;
            o[c] = nan ? RF_NAN : acc[n][2 * w] / l[w];
            o[c + 1] = nan ? RF_NAN : acc[n][2 * w + 1] / l[w];
        }
    }
}

// As rf_attention_tiled_*, for head_dim <= 64 / <= 128 (a multiple of 16), per cache type;
// RF_MMA_THREADS threads, R = 16 * RF_MMA_WARPS query rows per block.
// clang-format off
RF_KERNEL void __launch_bounds__(RF_MMA_THREADS) rf_attention_mma_64_f16(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_mma<rf_kv_f16, 64>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void __launch_bounds__(RF_MMA_THREADS) rf_attention_mma_128_f16(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_mma<rf_kv_f16, 128>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void __launch_bounds__(RF_MMA_THREADS) rf_attention_mma_64_q8_0(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_mma<rf_kv_q8_0, 64>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
RF_KERNEL void __launch_bounds__(RF_MMA_THREADS) rf_attention_mma_128_q8_0(const float* RF_RESTRICT q, const rf_u8* RF_RESTRICT k_cache, const rf_u8* RF_RESTRICT v_cache, const rf_u32* RF_RESTRICT positions, const rf_u32* RF_RESTRICT token_seq, const rf_u32* RF_RESTRICT block_tables, float* RF_RESTRICT out, int t, int n_head, int n_kv, int head_dim, int hb, int block_size, int max_blocks, int n_seq, rf_u32 n_phys, int window, float scale, float softcap) {
    rf_attention_mma<rf_kv_q8_0, 128>(q, k_cache, v_cache, positions, token_seq, block_tables, out, t, n_head, n_kv, head_dim, hb, block_size, max_blocks, n_seq, n_phys, window, scale, softcap);
}
// clang-format on
#endif
