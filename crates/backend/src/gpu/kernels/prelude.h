// ROCmForge kernel prelude: one dialect for CUDA (NVRTC) and HIP (hipRTC, hipcc).
//
// Included by every kernel as "prelude.h". Self-contained: no system or SDK header is needed,
// since NVRTC may run without the CUDA include directory. The build passes -DRF_WARP=<32|64>:
// 64 on AMD CDNA/GCN (gfx9xx), 32 on AMD RDNA (gfx10+) and on NVIDIA.
#pragma once

#ifndef RF_WARP
#error "RF_WARP (threads per warp/wavefront) must be defined: -DRF_WARP=32 or -DRF_WARP=64"
#endif
#if RF_WARP != 32 && RF_WARP != 64
#error "RF_WARP must be 32 or 64"
#endif

#if defined(__HIP__) || defined(__HIPCC__) || defined(__HIPCC_RTC__)
#define RF_HIP 1
#if !defined(__HIPCC_RTC__)
// Offline hipcc builds (the CI compile check) need the runtime header; hipRTC provides its
// declarations itself.
#include <hip/hip_runtime.h>
#endif
#elif defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define RF_CUDA 1
#else
#error "prelude.h: compile with NVRTC/nvcc or hipRTC/hipcc"
#endif

// Parts: a file with many per-type entry points (matmul.cu, gemv_q8.cu, mmq.cu) guards each
// type's group with `#if !defined(RF_PART_ONLY) || defined(RF_PART_<name>)`, so the host can
// compile one part per thread (KernelSource::part defines RF_PART_ONLY and RF_PART_<name>);
// without RF_PART_ONLY the whole file is compiled.

// ---- integer and float storage types ------------------------------------------------------
typedef signed char rf_i8;
typedef unsigned char rf_u8;
typedef short rf_i16;
typedef unsigned short rf_u16;
typedef int rf_i32;
typedef unsigned int rf_u32;
typedef long long rf_i64;
typedef unsigned long long rf_u64;
// IEEE half and bfloat16 are passed and stored as their 16 bits; convert with the helpers.
typedef unsigned short rf_f16;
typedef unsigned short rf_bf16;

static_assert(sizeof(rf_i8) == 1 && sizeof(rf_i16) == 2 && sizeof(rf_i32) == 4 && sizeof(rf_i64) == 8,
              "integer sizes");

// Kernels are declared `RF_KERNEL void name(...)`: unmangled names, found by the loader.
#define RF_KERNEL extern "C" __global__
#define RF_DEVICE static __device__ __forceinline__
#define RF_RESTRICT __restrict__
// Most warps a 1024-thread block can hold: size of the scratch arrays of block reductions.
#define RF_MAX_WARPS (1024 / RF_WARP)

// ---- thread indexing -----------------------------------------------------------------------
RF_DEVICE int rf_lane() { return (int)(threadIdx.x % RF_WARP); }
RF_DEVICE int rf_warp_id() { return (int)(threadIdx.x / RF_WARP); }

// ---- warp shuffles (CUDA needs a lane mask; HIP has none) ----------------------------------
RF_DEVICE float rf_shfl_xor(float v, int lane_mask) {
#if defined(RF_CUDA)
    return __shfl_xor_sync(0xffffffffu, v, lane_mask, RF_WARP);
#else
    return __shfl_xor(v, lane_mask, RF_WARP);
#endif
}

RF_DEVICE int rf_shfl_xor_int(int v, int lane_mask) {
#if defined(RF_CUDA)
    return __shfl_xor_sync(0xffffffffu, v, lane_mask, RF_WARP);
#else
    return __shfl_xor(v, lane_mask, RF_WARP);
#endif
}

// Value of `v` in lane `src` of this warp.
RF_DEVICE float rf_shfl(float v, int src) {
#if defined(RF_CUDA)
    return __shfl_sync(0xffffffffu, v, src, RF_WARP);
#else
    return __shfl(v, src, RF_WARP);
#endif
}

// ---- warp and block reductions -------------------------------------------------------------
// Every lane of a full warp must take part; every lane gets the result.
RF_DEVICE float rf_warp_sum(float v) {
#pragma unroll
    for (int o = RF_WARP / 2; o > 0; o >>= 1) v += rf_shfl_xor(v, o);
    return v;
}

RF_DEVICE float rf_warp_max(float v) {
#pragma unroll
    for (int o = RF_WARP / 2; o > 0; o >>= 1) v = fmaxf(v, rf_shfl_xor(v, o));
    return v;
}

RF_DEVICE int rf_warp_sum_int(int v) {
#pragma unroll
    for (int o = RF_WARP / 2; o > 0; o >>= 1) v += rf_shfl_xor_int(v, o);
    return v;
}

// Sum over a 1-D block whose size is a multiple of RF_WARP. `scratch` is a __shared__ array of
// RF_MAX_WARPS floats; every thread gets the result. Safe to call repeatedly with one scratch.
RF_DEVICE float rf_block_sum(float v, float* scratch) {
    const int nwarps = (int)(blockDim.x / RF_WARP);
    v = rf_warp_sum(v);
    __syncthreads();  // the previous call's readers are done with scratch
    if (rf_lane() == 0) scratch[rf_warp_id()] = v;
    __syncthreads();
    v = rf_lane() < nwarps ? scratch[rf_lane()] : 0.0f;
    return rf_warp_sum(v);
}

RF_DEVICE float rf_block_max(float v, float* scratch) {
    const int nwarps = (int)(blockDim.x / RF_WARP);
    v = rf_warp_max(v);
    __syncthreads();
    if (rf_lane() == 0) scratch[rf_warp_id()] = v;
    __syncthreads();
    v = rf_lane() < nwarps ? scratch[rf_lane()] : -__int_as_float(0x7f800000);
    return rf_warp_max(v);
}

// ---- half and bfloat16 ---------------------------------------------------------------------
RF_DEVICE float rf_f16_to_f32(rf_f16 h) {
#if defined(RF_CUDA)
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
#else
    return (float)__builtin_bit_cast(_Float16, h);
#endif
}

// Round to nearest even, as every conversion in the engine does.
RF_DEVICE rf_f16 rf_f32_to_f16(float f) {
#if defined(RF_CUDA)
    rf_u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    return h;
#else
    return __builtin_bit_cast(rf_u16, (_Float16)f);
#endif
}

RF_DEVICE float rf_bf16_to_f32(rf_bf16 b) { return __uint_as_float(((rf_u32)b) << 16); }

// Round to nearest even; NaN stays a (quiet) NaN.
RF_DEVICE rf_bf16 rf_f32_to_bf16(float f) {
    rf_u32 u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (rf_bf16)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (rf_bf16)(u >> 16);
}

// ---- packed int8 dot product ---------------------------------------------------------------
// c + the dot product of the four signed bytes of a and of b.
RF_DEVICE int rf_dp4a(int a, int b, int c) {
#if defined(RF_CUDA)
    return __dp4a(a, b, c);
#elif defined(__gfx906__) || defined(__gfx908__) || defined(__gfx90a__) || defined(__gfx940__) || \
    defined(__gfx941__) || defined(__gfx942__) || defined(__gfx950__) || defined(__gfx1030__) ||  \
    defined(__gfx1031__) || defined(__gfx1032__) || defined(__gfx1033__) || defined(__gfx1034__) || \
    defined(__gfx1035__) || defined(__gfx1036__)
    return __builtin_amdgcn_sdot4(a, b, c, false);
#elif defined(__GFX11__) || defined(__GFX12__) || defined(__gfx1100__) || defined(__gfx1101__) || \
    defined(__gfx1102__) || defined(__gfx1103__) || defined(__gfx1150__) || defined(__gfx1151__) || \
    defined(__gfx1152__) || defined(__gfx1200__) || defined(__gfx1201__)
    return __builtin_amdgcn_sudot4(true, a, true, b, c, false);
#else
    // Targets without a packed dot instruction (and the host pass of hipcc).
    int s = c;
#pragma unroll
    for (int i = 0; i < 4; i++) s += (int)(signed char)(a >> (8 * i)) * (int)(signed char)(b >> (8 * i));
    return s;
#endif
}

// ---- warp-level memory ordering and integer conversion ---------------------------------------
// Orders this warp's shared-memory writes before its later reads (all lanes must call it).
RF_DEVICE void rf_syncwarp() {
#if defined(RF_CUDA)
    __syncwarp();
#else
    // A wavefront runs in lockstep; the fences keep the compiler (and the memory model) from
    // moving shared accesses across this point.
    __builtin_amdgcn_fence(__ATOMIC_RELEASE, "wavefront");
    __builtin_amdgcn_wave_barrier();
    __builtin_amdgcn_fence(__ATOMIC_ACQUIRE, "wavefront");
#endif
}

// f rounded to the nearest integer, ties to even (f within int range; NaN gives an unspecified
// value).
RF_DEVICE int rf_float2int_rn(float f) {
#if defined(RF_CUDA)
    return __float2int_rn(f);
#else
    return (int)__builtin_rintf(f);
#endif
}
