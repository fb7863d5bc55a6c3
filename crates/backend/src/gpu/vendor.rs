//! What differs between the two GPU APIs, apart from symbol names (those live with the function
//! tables in `ffi`): enum values, status codes, version encodings, library names.

use std::fmt;

/// The GPU vendor, which is also the API family: AMD through HIP, NVIDIA through CUDA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Vendor {
    Amd,
    Nvidia,
}

impl Vendor {
    /// Both vendors, in the order the engine tries them (AMD first).
    pub const ALL: [Vendor; 2] = [Vendor::Amd, Vendor::Nvidia];

    /// The runtime API's name: "HIP" or "CUDA".
    pub fn api(self) -> &'static str {
        match self {
            Vendor::Amd => "HIP",
            Vendor::Nvidia => "CUDA",
        }
    }

    /// Lower-case identifier used in cache keys and JSON: "amd" or "nvidia".
    pub fn id(self) -> &'static str {
        match self {
            Vendor::Amd => "amd",
            Vendor::Nvidia => "nvidia",
        }
    }

    /// The run-time compiler's name: "hipRTC" or "NVRTC".
    pub fn rtc_name(self) -> &'static str {
        match self {
            Vendor::Amd => "hipRTC",
            Vendor::Nvidia => "NVRTC",
        }
    }

    /// Parses "amd"/"hip"/"rocm" or "nvidia"/"cuda" (any case).
    pub fn parse(s: &str) -> Option<Vendor> {
        match s.trim().to_ascii_lowercase().as_str() {
            "amd" | "hip" | "rocm" => Some(Vendor::Amd),
            "nvidia" | "cuda" => Some(Vendor::Nvidia),
            _ => None,
        }
    }

    /// Status code for "no device" (`hipErrorNoDevice`, `CUDA_ERROR_NO_DEVICE`).
    pub fn status_no_device(self) -> i32 {
        100
    }

    /// Status code for an allocation that did not fit (`hipErrorOutOfMemory`,
    /// `CUDA_ERROR_OUT_OF_MEMORY`).
    pub fn status_out_of_memory(self) -> i32 {
        2
    }

    /// `hipStreamNonBlocking` / `CU_STREAM_NON_BLOCKING`: our streams never synchronise with the
    /// legacy default stream.
    pub fn stream_non_blocking(self) -> u32 {
        1
    }

    /// `hipStreamCaptureModeThreadLocal` / `CU_STREAM_CAPTURE_MODE_THREAD_LOCAL`: a capture is
    /// disturbed only by unsafe calls from the capturing thread itself.
    pub fn capture_mode_thread_local(self) -> i32 {
        1
    }

    /// The device attribute id for `attr`. The enums differ: CUDA numbers its attributes in the
    /// order they were added, HIP alphabetically (stable since ROCm 5.0, unchanged in 6.x).
    pub fn attribute_id(self, attr: DeviceAttr) -> i32 {
        match (self, attr) {
            (Vendor::Nvidia, DeviceAttr::MaxThreadsPerBlock) => 1,
            (Vendor::Nvidia, DeviceAttr::MaxSharedMemoryPerBlock) => 8,
            (Vendor::Nvidia, DeviceAttr::WarpSize) => 10,
            (Vendor::Nvidia, DeviceAttr::MultiprocessorCount) => 16,
            (Vendor::Nvidia, DeviceAttr::L2CacheSize) => 38,
            (Vendor::Nvidia, DeviceAttr::ComputeCapabilityMajor) => 75,
            (Vendor::Nvidia, DeviceAttr::ComputeCapabilityMinor) => 76,
            (Vendor::Nvidia, DeviceAttr::MaxSharedMemoryPerBlockOptin) => 97,
            (Vendor::Amd, DeviceAttr::L2CacheSize) => 19,
            (Vendor::Amd, DeviceAttr::ComputeCapabilityMajor) => 23,
            (Vendor::Amd, DeviceAttr::MaxThreadsPerBlock) => 56,
            (Vendor::Amd, DeviceAttr::ComputeCapabilityMinor) => 61,
            (Vendor::Amd, DeviceAttr::MultiprocessorCount) => 63,
            (Vendor::Amd, DeviceAttr::MaxSharedMemoryPerBlock) => 74,
            (Vendor::Amd, DeviceAttr::MaxSharedMemoryPerBlockOptin) => 75,
            (Vendor::Amd, DeviceAttr::WarpSize) => 87,
        }
    }

    /// Formats the value of `cuDriverGetVersion` (1000 * major + 10 * minor) or
    /// `hipDriverGetVersion` (10^7 * major + 10^5 * minor + patch).
    pub fn format_driver_version(self, v: i32) -> String {
        match self {
            Vendor::Nvidia => format!("{}.{}", v / 1000, (v % 1000) / 10),
            Vendor::Amd if v >= 10_000_000 => {
                format!("{}.{}.{}", v / 10_000_000, (v / 100_000) % 100, v % 100_000)
            }
            Vendor::Amd => v.to_string(),
        }
    }

    /// Offset of `gcnArchName` in `hipDeviceProp_t`: 1160 in the ROCm 6 layout
    /// (`hipGetDevicePropertiesR0600`), 396 in the ROCm 5 layout (`hipGetDeviceProperties`).
    pub fn hip_gcn_arch_name_offset(r0600_layout: bool) -> usize {
        if r0600_layout {
            1160
        } else {
            396
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Vendor::Amd => "AMD",
            Vendor::Nvidia => "NVIDIA",
        })
    }
}

/// The enum values a BLAS library's GemmEx takes. They differ by vendor and, for hipBLAS, by
/// version: cuBLAS's `cublasOperation_t` / `cudaDataType` / `cublasComputeType_t`; hipBLAS's
/// `hipblasOperation_t` with either the ROCm 6+ `hipDataType` / `hipblasComputeType_t` (the
/// `_v2` API, the only one from hipBLAS 3) or the older `hipblasDatatype_t` for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlasEnums {
    Cublas,
    HipblasV2,
    HipblasLegacy,
}

impl BlasEnums {
    /// `CUBLAS_OP_N` / `HIPBLAS_OP_N`.
    pub fn op_n(self) -> i32 {
        match self {
            BlasEnums::Cublas => 0,
            _ => 111,
        }
    }

    /// `CUBLAS_OP_T` / `HIPBLAS_OP_T`.
    pub fn op_t(self) -> i32 {
        match self {
            BlasEnums::Cublas => 1,
            _ => 112,
        }
    }

    /// `CUDA_R_16F` / `HIP_R_16F` / `HIPBLAS_R_16F`.
    pub fn r_16f(self) -> i32 {
        match self {
            BlasEnums::Cublas | BlasEnums::HipblasV2 => 2,
            BlasEnums::HipblasLegacy => 150,
        }
    }

    /// `CUDA_R_32F` / `HIP_R_32F` / `HIPBLAS_R_32F`.
    pub fn r_32f(self) -> i32 {
        match self {
            BlasEnums::Cublas | BlasEnums::HipblasV2 => 0,
            BlasEnums::HipblasLegacy => 151,
        }
    }

    /// f32 accumulation: `CUBLAS_COMPUTE_32F` / `HIPBLAS_COMPUTE_32F` / `HIPBLAS_R_32F`.
    pub fn compute_32f(self) -> i32 {
        match self {
            BlasEnums::Cublas => 68,
            BlasEnums::HipblasV2 => 2,
            BlasEnums::HipblasLegacy => 151,
        }
    }

    /// `CUBLAS_GEMM_DEFAULT` / `HIPBLAS_GEMM_DEFAULT`.
    pub fn gemm_default(self) -> i32 {
        match self {
            BlasEnums::Cublas => -1,
            _ => 160,
        }
    }
}

/// The device attributes the engine reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceAttr {
    WarpSize,
    MultiprocessorCount,
    ComputeCapabilityMajor,
    ComputeCapabilityMinor,
    MaxThreadsPerBlock,
    MaxSharedMemoryPerBlock,
    MaxSharedMemoryPerBlockOptin,
    L2CacheSize,
}

/// Reads the NUL-terminated `gcnArchName` out of the raw bytes `hipGetDeviceProperties` wrote.
/// The offset is that of the layout the symbol implies; if the string there does not look like
/// an arch name (an unexpected layout), the bytes are searched for one, so a future layout
/// change degrades to a search rather than a wrong answer.
pub fn gcn_arch_name_from_props(props: &[u8], offset: usize) -> Option<String> {
    let c_string_at = |at: usize| -> Option<String> {
        let tail = props.get(at..)?;
        let end = tail.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&tail[..end]).ok().map(str::to_owned)
    };
    let looks_like_arch = |s: &str| {
        s.len() > 3
            && s.starts_with("gfx")
            && s[3..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'+' || b == b'-')
    };
    if let Some(s) = c_string_at(offset).filter(|s| looks_like_arch(s)) {
        return Some(s);
    }
    // Search the whole struct (skipping the 256-byte marketing name, which could contain "gfx").
    (256..props.len().saturating_sub(3))
        .filter(|&i| &props[i..i + 3] == b"gfx" && props[i - 1] == 0)
        .filter_map(c_string_at)
        .find(|s| looks_like_arch(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_ids_differ_by_vendor() {
        assert_eq!(Vendor::Nvidia.attribute_id(DeviceAttr::WarpSize), 10);
        assert_eq!(Vendor::Amd.attribute_id(DeviceAttr::WarpSize), 87);
        assert_eq!(Vendor::Nvidia.attribute_id(DeviceAttr::MultiprocessorCount), 16);
        assert_eq!(Vendor::Amd.attribute_id(DeviceAttr::MultiprocessorCount), 63);
    }

    #[test]
    fn blas_enums_differ_by_vendor() {
        assert_eq!((BlasEnums::Cublas.op_n(), BlasEnums::Cublas.op_t()), (0, 1));
        assert_eq!((BlasEnums::HipblasV2.op_n(), BlasEnums::HipblasLegacy.op_t()), (111, 112));
        assert_eq!(BlasEnums::Cublas.compute_32f(), 68);
        assert_eq!(BlasEnums::HipblasV2.compute_32f(), 2);
        assert_eq!(BlasEnums::HipblasLegacy.r_16f(), 150);
        assert_eq!(BlasEnums::Cublas.gemm_default(), -1);
    }

    #[test]
    fn driver_versions() {
        assert_eq!(Vendor::Nvidia.format_driver_version(13000), "13.0");
        assert_eq!(Vendor::Nvidia.format_driver_version(12080), "12.8");
        assert_eq!(Vendor::Amd.format_driver_version(50221153), "5.2.21153");
        assert_eq!(Vendor::Amd.format_driver_version(60443483), "6.4.43483");
    }

    #[test]
    fn vendor_names_parse() {
        assert_eq!(Vendor::parse("HIP"), Some(Vendor::Amd));
        assert_eq!(Vendor::parse(" cuda "), Some(Vendor::Nvidia));
        assert_eq!(Vendor::parse("metal"), None);
    }

    fn props_with(name_at: usize, name: &str) -> Vec<u8> {
        let mut p = vec![0u8; 2048];
        p[..17].copy_from_slice(b"AMD Instinct gfx1");
        p[name_at..name_at + name.len()].copy_from_slice(name.as_bytes());
        p
    }

    #[test]
    fn gcn_arch_name_at_known_offsets() {
        let p = props_with(396, "gfx90a:sramecc+:xnack-");
        assert_eq!(
            gcn_arch_name_from_props(&p, Vendor::hip_gcn_arch_name_offset(false)).as_deref(),
            Some("gfx90a:sramecc+:xnack-")
        );
        let p = props_with(1160, "gfx1100");
        assert_eq!(gcn_arch_name_from_props(&p, Vendor::hip_gcn_arch_name_offset(true)).as_deref(), Some("gfx1100"));
    }

    #[test]
    fn gcn_arch_name_found_when_layout_moved() {
        let p = props_with(1200, "gfx942:sramecc+:xnack-");
        assert_eq!(gcn_arch_name_from_props(&p, 1160).as_deref(), Some("gfx942:sramecc+:xnack-"));
        assert_eq!(gcn_arch_name_from_props(&vec![0u8; 2048], 1160), None);
    }
}
