//! The GPU runtime layer: one code path for AMD (HIP) and NVIDIA (CUDA).
//!
//! Neither SDK is needed to build. At run time a function table is loaded with `libloading`
//! from the vendor's libraries ([`ffi`], the only module with `unsafe`); everything above it is
//! vendor-neutral:
//!
//! - [`Runtime`] — a loaded driver library; [`discover`] lists the devices of both vendors.
//! - [`Gpu`] — one device with its context and default [`Stream`].
//! - [`DeviceBuffer`] — typed device memory, allocated directly or from an [`Arena`]; running out
//!   of memory is an error naming what was being allocated, how much, and how much is free.
//! - [`Rtc`] / [`Compiler`] / [`KernelCache`] — NVRTC/hipRTC compilation for the exact device,
//!   with a disk cache of code objects, so a second start compiles nothing.
//! - [`Module`] / [`Kernel`] — loaded code objects; launches are checked against the kernel's
//!   parameter list (read from its source) and the device's limits.
//! - [`Graph`] — captured launch sequences, replayed with one call.
//! - [`Uploader`] — large uploads through page-locked staging buffers, the host's reads
//!   overlapping the device's copies.
//! - [`Matmul`] / [`GpuMatrix`] — quantized weight matrices and their products with f32
//!   activations (GEMV, GEMM), and embedding-row gathers.
//! - [`Ops`] — the forward pass's ops (norms, rope, KV write, paged attention, activations);
//!   [`KvBuffers`] — a layer's KV cache (f16 or q8_0).
//! - [`Argmax`] — greedy token choice per row of logits.
//!
//! Every driver call's status is checked and turned into a [`GpuError`] naming the call and the
//! driver's own description. Synchronisation is per stream, never the whole device.
//!
//! Device-side safety: a kernel can still read or write out of its buffers' bounds on the
//! device (as in any GPU API); the driver reports that at the next synchronisation, and host
//! memory is never exposed to it.

pub mod arch;
mod argmax;
mod blas;
mod device;
mod error;
pub mod ffi;
pub mod kernels;
mod kv;
pub mod matmul;
mod memory;
mod mmq;
mod module;
pub mod ops;
mod pinned;
pub mod rtc;
pub mod search;
pub mod signature;
mod stream;
mod upload;
mod util;
pub mod vendor;

pub use arch::Arch;
pub use argmax::{decode_pick, Argmax};
pub use device::{discover, discover_with, DeviceInfo, Discovery, Gpu, Runtime};
pub use error::{GpuError, Result};
pub use ffi::DeviceElem;
pub use kv::{host_bytes, KvBuffers};
pub use matmul::{GemvConfig, GemvOut, Glu, GpuMatrix, Matmul, MatmulKernel};
pub use memory::{Allocation, Arena, DeviceBuffer, ARENA_ALIGN};
pub use module::{Arg, Kernel, LaunchConfig, Module};
pub use ops::{AttnKernel, Ops, PagedPlaces};
pub use pinned::{HostBuf, Pinned, PinnedPool};
pub use rtc::{cache_key, Built, Compiler, KernelCache, KernelSource, Rtc};
pub use search::{LibKind, SearchEnv};
pub use signature::ElemType;
pub use stream::{Event, Graph, Stream};
pub use upload::Uploader;
pub use util::human_bytes;
pub use vendor::Vendor;
