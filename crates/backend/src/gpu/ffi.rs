//! The only module with `unsafe` code: loading the vendor libraries, the function tables, and
//! safe methods around each call. Everything above this module is safe Rust.
//!
//! The CUDA driver API and HIP correspond one to one; the tables below give, for each entry,
//! the symbol names to try for each vendor (newest ABI first). Signatures are identical for both
//! vendors except where an entry exists for one vendor only (error strings, contexts, device
//! properties); those entries are optional and [`Driver::load`] checks that the ones its vendor
//! needs are present.
//!
//! Device pointers are `u64` (`CUdeviceptr`, and HIP's `void*`, are 64-bit on every supported
//! platform); handles are opaque pointers.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::path::{Path, PathBuf};

use libloading::Library;

use super::error::{GpuError, Result};
use super::search::{candidates, loaded_library_path, LibKind, SearchEnv};
use super::signature::ElemType;
use super::vendor::{gcn_arch_name_from_props, BlasEnums, DeviceAttr, Vendor};

type Status = c_int;
type Ptr = *mut c_void;

/// An opaque driver handle (stream, event, module, function, graph, context).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub struct Handle(Ptr);

// SAFETY: driver handles are opaque tokens that both APIs allow any thread to use (the driver
// synchronises internally); the pointer is never dereferenced on the host.
unsafe impl Send for Handle {}
// SAFETY: as above; sharing a token between threads gives no access to host memory.
unsafe impl Sync for Handle {}

impl Handle {
    pub fn is_null(self) -> bool {
        self.0.is_null()
    }
    /// The handle's address, as an identity (thread-local "current context" bookkeeping).
    pub fn addr(self) -> usize {
        self.0 as usize
    }
}

/// One entry of a function table, for listing and checking the table (tests).
#[derive(Debug)]
pub struct SymbolSpec {
    pub field: &'static str,
    pub cuda: &'static [&'static str],
    pub hip: &'static [&'static str],
    pub required: bool,
}

impl SymbolSpec {
    pub fn names(&self, vendor: Vendor) -> &'static [&'static str] {
        match vendor {
            Vendor::Nvidia => self.cuda,
            Vendor::Amd => self.hip,
        }
    }
}

/// Looks up the first of `names` in `lib` as a value of type `T`.
///
/// # Safety
/// `T` must be the exact `extern "C"` function pointer type of each named symbol.
unsafe fn resolve<T: Copy>(lib: &Library, names: &'static [&'static str]) -> Option<(T, &'static str)> {
    names.iter().find_map(|name| {
        // SAFETY: the caller guarantees `T` matches the symbol's C declaration.
        let sym = unsafe { lib.get::<T>(name.as_bytes()) }.ok()?;
        Some((*sym, *name))
    })
}

macro_rules! fn_table {
    (
        $(#[$doc:meta])* $fns:ident, $names:ident;
        required { $( $f:ident : fn($($a:ty),*) -> $r:ty = cuda [$($cn:literal),*] hip [$($hn:literal),*]; )* }
        optional { $( $of:ident : fn($($oa:ty),*) -> $or:ty = cuda [$($ocn:literal),*] hip [$($ohn:literal),*]; )* }
    ) => {
        $(#[$doc])*
        #[allow(dead_code)]
        pub(crate) struct $fns {
            $( $f: unsafe extern "C" fn($($a),*) -> $r, )*
            $( $of: Option<unsafe extern "C" fn($($oa),*) -> $or>, )*
        }

        /// The symbol each entry was resolved to (for error messages).
        #[derive(Default, Debug)]
        #[allow(dead_code)]
        pub(crate) struct $names {
            $( $f: &'static str, )*
            $( $of: &'static str, )*
        }

        impl $fns {
            pub(crate) const SPEC: &'static [SymbolSpec] = &[
                $( SymbolSpec { field: stringify!($f), cuda: &[$($cn),*], hip: &[$($hn),*], required: true }, )*
                $( SymbolSpec { field: stringify!($of), cuda: &[$($ocn),*], hip: &[$($ohn),*], required: false }, )*
            ];

            fn load(lib: &Library, path: &Path, vendor: Vendor) -> Result<(Self, $names)> {
                let pick = |cuda: &'static [&'static str], hip: &'static [&'static str]| match vendor {
                    Vendor::Nvidia => cuda,
                    Vendor::Amd => hip,
                };
                let mut names = $names::default();
                $(
                    let candidates: &'static [&'static str] = pick(&[$($cn),*], &[$($hn),*]);
                    // SAFETY: the type is the C declaration of every name listed for this entry.
                    let (ptr, name) = unsafe { resolve::<unsafe extern "C" fn($($a),*) -> $r>(lib, candidates) }
                        .ok_or_else(|| GpuError::MissingSymbol {
                            library: path.display().to_string(),
                            field: stringify!($f),
                            tried: candidates.join(", "),
                        })?;
                    names.$f = name;
                    let $f = ptr;
                )*
                $(
                    let candidates: &'static [&'static str] = pick(&[$($ocn),*], &[$($ohn),*]);
                    // SAFETY: the type is the C declaration of every name listed for this entry.
                    let found = unsafe { resolve::<unsafe extern "C" fn($($oa),*) -> $or>(lib, candidates) };
                    names.$of = found.map_or("", |(_, n)| n);
                    let $of = found.map(|(p, _)| p);
                )*
                Ok((Self { $($f,)* $($of,)* }, names))
            }
        }
    };
}

fn_table! {
    /// The driver/runtime table: `libcuda.so.1` or `libamdhip64.so`.
    DriverFns, DriverNames;
    required {
        init: fn(c_uint) -> Status = cuda ["cuInit"] hip ["hipInit"];
        driver_get_version: fn(*mut c_int) -> Status = cuda ["cuDriverGetVersion"] hip ["hipDriverGetVersion"];
        device_get_count: fn(*mut c_int) -> Status = cuda ["cuDeviceGetCount"] hip ["hipGetDeviceCount"];
        device_get: fn(*mut c_int, c_int) -> Status = cuda ["cuDeviceGet"] hip ["hipDeviceGet"];
        device_get_name: fn(*mut c_char, c_int, c_int) -> Status = cuda ["cuDeviceGetName"] hip ["hipDeviceGetName"];
        device_total_mem: fn(*mut usize, c_int) -> Status = cuda ["cuDeviceTotalMem_v2", "cuDeviceTotalMem"] hip ["hipDeviceTotalMem"];
        device_get_attribute: fn(*mut c_int, c_int, c_int) -> Status = cuda ["cuDeviceGetAttribute"] hip ["hipDeviceGetAttribute"];
        mem_get_info: fn(*mut usize, *mut usize) -> Status = cuda ["cuMemGetInfo_v2"] hip ["hipMemGetInfo"];
        mem_alloc: fn(*mut u64, usize) -> Status = cuda ["cuMemAlloc_v2"] hip ["hipMalloc"];
        mem_free: fn(u64) -> Status = cuda ["cuMemFree_v2"] hip ["hipFree"];
        mem_host_alloc: fn(*mut Ptr, usize, c_uint) -> Status = cuda ["cuMemHostAlloc"] hip ["hipHostMalloc"];
        mem_free_host: fn(Ptr) -> Status = cuda ["cuMemFreeHost"] hip ["hipHostFree"];
        memcpy_htod_async: fn(u64, *const c_void, usize, Ptr) -> Status = cuda ["cuMemcpyHtoDAsync_v2"] hip ["hipMemcpyHtoDAsync"];
        memcpy_dtoh_async: fn(Ptr, u64, usize, Ptr) -> Status = cuda ["cuMemcpyDtoHAsync_v2"] hip ["hipMemcpyDtoHAsync"];
        memcpy_dtod_async: fn(u64, u64, usize, Ptr) -> Status = cuda ["cuMemcpyDtoDAsync_v2"] hip ["hipMemcpyDtoDAsync"];
        memset_d8_async: fn(u64, u8, usize, Ptr) -> Status = cuda ["cuMemsetD8Async"] hip ["hipMemsetD8Async"];
        memset_d32_async: fn(u64, c_uint, usize, Ptr) -> Status = cuda ["cuMemsetD32Async"] hip ["hipMemsetD32Async"];
        stream_create: fn(*mut Ptr, c_uint) -> Status = cuda ["cuStreamCreate"] hip ["hipStreamCreateWithFlags"];
        stream_destroy: fn(Ptr) -> Status = cuda ["cuStreamDestroy_v2", "cuStreamDestroy"] hip ["hipStreamDestroy"];
        stream_synchronize: fn(Ptr) -> Status = cuda ["cuStreamSynchronize"] hip ["hipStreamSynchronize"];
        event_create: fn(*mut Ptr, c_uint) -> Status = cuda ["cuEventCreate"] hip ["hipEventCreateWithFlags"];
        event_record: fn(Ptr, Ptr) -> Status = cuda ["cuEventRecord"] hip ["hipEventRecord"];
        event_synchronize: fn(Ptr) -> Status = cuda ["cuEventSynchronize"] hip ["hipEventSynchronize"];
        event_elapsed_time: fn(*mut f32, Ptr, Ptr) -> Status = cuda ["cuEventElapsedTime_v2", "cuEventElapsedTime"] hip ["hipEventElapsedTime"];
        event_destroy: fn(Ptr) -> Status = cuda ["cuEventDestroy_v2", "cuEventDestroy"] hip ["hipEventDestroy"];
        module_load_data: fn(*mut Ptr, *const c_void) -> Status = cuda ["cuModuleLoadData"] hip ["hipModuleLoadData"];
        module_get_function: fn(*mut Ptr, Ptr, *const c_char) -> Status = cuda ["cuModuleGetFunction"] hip ["hipModuleGetFunction"];
        module_unload: fn(Ptr) -> Status = cuda ["cuModuleUnload"] hip ["hipModuleUnload"];
        launch_kernel: fn(Ptr, c_uint, c_uint, c_uint, c_uint, c_uint, c_uint, c_uint, Ptr, *mut Ptr, *mut Ptr) -> Status
            = cuda ["cuLaunchKernel"] hip ["hipModuleLaunchKernel"];
        stream_begin_capture: fn(Ptr, c_int) -> Status = cuda ["cuStreamBeginCapture_v2"] hip ["hipStreamBeginCapture"];
        stream_end_capture: fn(Ptr, *mut Ptr) -> Status = cuda ["cuStreamEndCapture"] hip ["hipStreamEndCapture"];
        graph_instantiate: fn(*mut Ptr, Ptr, u64) -> Status = cuda ["cuGraphInstantiateWithFlags"] hip ["hipGraphInstantiateWithFlags"];
        graph_launch: fn(Ptr, Ptr) -> Status = cuda ["cuGraphLaunch"] hip ["hipGraphLaunch"];
        graph_exec_destroy: fn(Ptr) -> Status = cuda ["cuGraphExecDestroy"] hip ["hipGraphExecDestroy"];
        graph_destroy: fn(Ptr) -> Status = cuda ["cuGraphDestroy"] hip ["hipGraphDestroy"];
    }
    optional {
        cu_get_error_name: fn(Status, *mut *const c_char) -> Status = cuda ["cuGetErrorName"] hip [];
        cu_get_error_string: fn(Status, *mut *const c_char) -> Status = cuda ["cuGetErrorString"] hip [];
        hip_get_error_name: fn(Status) -> *const c_char = cuda [] hip ["hipGetErrorName"];
        hip_get_error_string: fn(Status) -> *const c_char = cuda [] hip ["hipGetErrorString"];
        primary_ctx_retain: fn(*mut Ptr, c_int) -> Status = cuda ["cuDevicePrimaryCtxRetain"] hip [];
        primary_ctx_release: fn(c_int) -> Status = cuda ["cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"] hip [];
        ctx_set_current: fn(Ptr) -> Status = cuda ["cuCtxSetCurrent"] hip [];
        set_device: fn(c_int) -> Status = cuda [] hip ["hipSetDevice"];
        hip_device_props_r0600: fn(Ptr, c_int) -> Status = cuda [] hip ["hipGetDevicePropertiesR0600"];
        hip_device_props_r0000: fn(Ptr, c_int) -> Status = cuda [] hip ["hipGetDeviceProperties"];
    }
}

fn_table! {
    /// The run-time compiler table: NVRTC or hipRTC.
    RtcFns, RtcNames;
    required {
        version: fn(*mut c_int, *mut c_int) -> Status = cuda ["nvrtcVersion"] hip ["hiprtcVersion"];
        get_error_string: fn(Status) -> *const c_char = cuda ["nvrtcGetErrorString"] hip ["hiprtcGetErrorString"];
        create_program: fn(*mut Ptr, *const c_char, *const c_char, c_int, *const *const c_char, *const *const c_char) -> Status
            = cuda ["nvrtcCreateProgram"] hip ["hiprtcCreateProgram"];
        compile_program: fn(Ptr, c_int, *const *const c_char) -> Status = cuda ["nvrtcCompileProgram"] hip ["hiprtcCompileProgram"];
        get_program_log_size: fn(Ptr, *mut usize) -> Status = cuda ["nvrtcGetProgramLogSize"] hip ["hiprtcGetProgramLogSize"];
        get_program_log: fn(Ptr, *mut c_char) -> Status = cuda ["nvrtcGetProgramLog"] hip ["hiprtcGetProgramLog"];
        get_code_size: fn(Ptr, *mut usize) -> Status = cuda ["nvrtcGetCUBINSize"] hip ["hiprtcGetCodeSize"];
        get_code: fn(Ptr, *mut c_char) -> Status = cuda ["nvrtcGetCUBIN"] hip ["hiprtcGetCode"];
        destroy_program: fn(*mut Ptr) -> Status = cuda ["nvrtcDestroyProgram"] hip ["hiprtcDestroyProgram"];
    }
    optional {}
}

fn_table! {
    /// The vendor BLAS table: cuBLAS (`libcublas.so`) or hipBLAS (`libhipblas.so`). Optional as a
    /// whole: without it the engine's own GEMM serves every product. hipBLAS 2.x (ROCm 6) exports
    /// `hipblasGemmEx_v2` (hipDataType / hipblasComputeType_t enums) beside the older
    /// `hipblasGemmEx` (hipblasDatatype_t enums); hipBLAS 3 gives `hipblasGemmEx` the new enums.
    BlasFns, BlasNames;
    required {
        create: fn(*mut Ptr) -> Status = cuda ["cublasCreate_v2"] hip ["hipblasCreate"];
        destroy: fn(Ptr) -> Status = cuda ["cublasDestroy_v2"] hip ["hipblasDestroy"];
        set_stream: fn(Ptr, Ptr) -> Status = cuda ["cublasSetStream_v2"] hip ["hipblasSetStream"];
        gemm_ex: fn(Ptr, c_int, c_int, c_int, c_int, c_int, *const c_void, *const c_void, c_int, c_int,
                    *const c_void, c_int, c_int, *const c_void, *mut c_void, c_int, c_int, c_int, c_int) -> Status
            = cuda ["cublasGemmEx"] hip ["hipblasGemmEx_v2", "hipblasGemmEx"];
    }
    optional {
        set_workspace: fn(Ptr, *mut c_void, usize) -> Status = cuda ["cublasSetWorkspace_v2"] hip [];
        status_name: fn(Status) -> *const c_char = cuda ["cublasGetStatusName"] hip [];
        status_string: fn(Status) -> *const c_char = cuda ["cublasGetStatusString"] hip ["hipblasStatusToString"];
    }
}

/// Every symbol the driver table lists, per vendor (for tests and diagnostics).
pub fn driver_symbols() -> &'static [SymbolSpec] {
    DriverFns::SPEC
}

/// Every symbol the RTC table lists, per vendor.
pub fn rtc_symbols() -> &'static [SymbolSpec] {
    RtcFns::SPEC
}

/// Every symbol the BLAS table lists, per vendor.
pub fn blas_symbols() -> &'static [SymbolSpec] {
    BlasFns::SPEC
}

/// Opens the first candidate that loads; the error lists what was tried and why each failed.
fn open_first(kind: LibKind, env: &SearchEnv, what: &str) -> Result<(Library, PathBuf)> {
    let paths = candidates(kind, env);
    let mut failures = Vec::new();
    for p in &paths {
        // SAFETY: loading a vendor runtime runs its initialisers; these are the vendors' own
        // libraries found in their install locations, which is how their SDKs are meant to be
        // used.
        match unsafe { Library::new(p) } {
            Ok(lib) => return Ok((lib, loaded_library_path(p))),
            Err(e) => failures.push(format!("{}: {}", p.display(), short_dl_error(&e.to_string()))),
        }
    }
    let tried = if paths.is_empty() { "nothing to try".to_owned() } else { failures.join("; ") };
    Err(GpuError::NoRuntime(format!("{what} not found ({tried})")))
}

/// dlopen errors repeat the path; keep the reason.
fn short_dl_error(e: &str) -> String {
    let e = e.rsplit(": ").next().unwrap_or(e);
    e.trim().to_owned()
}

/// Reads a C string the library owns (static error strings).
fn c_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the vendors document these strings as static, NUL-terminated and never freed.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// A kernel argument value as the driver receives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RawArg {
    Ptr(u64),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
}

impl RawArg {
    /// The value in the low bytes of an 8-byte slot (little-endian targets only, as both APIs
    /// are on the platforms we load them).
    fn slot(self) -> u64 {
        match self {
            RawArg::Ptr(v) | RawArg::U64(v) => v,
            RawArg::I64(v) => v as u64,
            RawArg::I32(v) => u64::from(v as u32),
            RawArg::U32(v) => u64::from(v),
            RawArg::F32(v) => u64::from(v.to_bits()),
            RawArg::F64(v) => v.to_bits(),
        }
    }
}

/// A launch's grid, block and dynamic shared memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dims {
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub shared_bytes: u32,
}

/// A loaded driver/runtime library and its function table.
pub struct Driver {
    vendor: Vendor,
    path: PathBuf,
    f: DriverFns,
    n: DriverNames,
    _lib: Library,
}

impl Driver {
    /// Loads the vendor's driver library and resolves the whole table. Nothing is initialised.
    pub fn load(vendor: Vendor, env: &SearchEnv) -> Result<Driver> {
        let (kind, what) = match vendor {
            Vendor::Amd => (LibKind::HipRuntime, "HIP runtime (libamdhip64.so)"),
            Vendor::Nvidia => (LibKind::CudaDriver, "CUDA driver (libcuda.so.1)"),
        };
        let (lib, path) = open_first(kind, env, what)?;
        Driver::from_library(vendor, lib, path)
    }

    /// Loads the table from a specific file.
    pub fn load_path(vendor: Vendor, path: &Path) -> Result<Driver> {
        // SAFETY: as in `open_first`: a vendor runtime named by the caller.
        let lib = unsafe { Library::new(path) }
            .map_err(|e| GpuError::NoRuntime(format!("{}: {}", path.display(), short_dl_error(&e.to_string()))))?;
        Driver::from_library(vendor, lib, loaded_library_path(path))
    }

    fn from_library(vendor: Vendor, lib: Library, path: PathBuf) -> Result<Driver> {
        let (f, n) = DriverFns::load(&lib, &path, vendor)?;
        let missing = |field: &'static str, tried: &str| GpuError::MissingSymbol {
            library: path.display().to_string(),
            field,
            tried: tried.to_owned(),
        };
        match vendor {
            Vendor::Nvidia => {
                if f.cu_get_error_name.is_none() || f.cu_get_error_string.is_none() {
                    return Err(missing("cu_get_error_string", "cuGetErrorName, cuGetErrorString"));
                }
                if f.primary_ctx_retain.is_none() || f.primary_ctx_release.is_none() || f.ctx_set_current.is_none() {
                    return Err(missing(
                        "primary_ctx_retain",
                        "cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease_v2, cuCtxSetCurrent",
                    ));
                }
            }
            Vendor::Amd => {
                if f.hip_get_error_name.is_none() || f.hip_get_error_string.is_none() {
                    return Err(missing("hip_get_error_string", "hipGetErrorName, hipGetErrorString"));
                }
                if f.set_device.is_none() {
                    return Err(missing("set_device", "hipSetDevice"));
                }
                if f.hip_device_props_r0600.is_none() && f.hip_device_props_r0000.is_none() {
                    return Err(missing("hip_device_props", "hipGetDevicePropertiesR0600, hipGetDeviceProperties"));
                }
            }
        }
        Ok(Driver { vendor, path, f, n, _lib: lib })
    }

    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The symbol names the table resolved, as `field = symbol` lines (diagnostics).
    pub fn resolved_symbols(&self) -> String {
        format!("{:#?}", self.n)
    }

    /// The status's name and description from the runtime itself.
    pub fn describe(&self, status: i32) -> (String, String) {
        match self.vendor {
            Vendor::Nvidia => {
                let get = |f: Option<unsafe extern "C" fn(Status, *mut *const c_char) -> Status>| {
                    let f = f?;
                    let mut p: *const c_char = std::ptr::null();
                    // SAFETY: `p` is a valid out-pointer; the string it receives is static.
                    let rc = unsafe { f(status, &mut p) };
                    if rc == 0 {
                        c_str(p)
                    } else {
                        None
                    }
                };
                (
                    get(self.f.cu_get_error_name).unwrap_or_else(|| format!("CUresult {status}")),
                    get(self.f.cu_get_error_string).unwrap_or_else(|| "unknown error".into()),
                )
            }
            Vendor::Amd => {
                // SAFETY: these take a status by value and return a static string.
                let name = self.f.hip_get_error_name.and_then(|f| c_str(unsafe { f(status) }));
                // SAFETY: as above.
                let msg = self.f.hip_get_error_string.and_then(|f| c_str(unsafe { f(status) }));
                (name.unwrap_or_else(|| format!("hipError_t {status}")), msg.unwrap_or_else(|| "unknown error".into()))
            }
        }
    }

    /// Turns a status into a result naming the call.
    pub fn check(&self, status: Status, call: &'static str) -> Result<()> {
        if status == 0 {
            return Ok(());
        }
        let (name, message) = self.describe(status);
        Err(GpuError::Call { call, code: status, name, message, context: String::new() })
    }

    pub fn init(&self) -> Result<()> {
        // SAFETY: plain call with a flags value of 0, as both APIs require.
        self.check(unsafe { (self.f.init)(0) }, self.n.init)
    }

    pub fn driver_version(&self) -> Result<i32> {
        let mut v = 0;
        // SAFETY: `v` is a valid out-pointer.
        self.check(unsafe { (self.f.driver_get_version)(&mut v) }, self.n.driver_get_version)?;
        Ok(v)
    }

    /// The raw status of the device count call and the count (HIP returns 100 with no device).
    pub fn device_count(&self) -> (i32, i32) {
        let mut n = 0;
        // SAFETY: `n` is a valid out-pointer.
        let rc = unsafe { (self.f.device_get_count)(&mut n) };
        (rc, n)
    }

    pub fn device_count_call(&self) -> &'static str {
        self.n.device_get_count
    }

    /// The device handle of an ordinal (on HIP the handle is the ordinal).
    pub fn device_get(&self, ordinal: i32) -> Result<i32> {
        let mut d = 0;
        // SAFETY: `d` is a valid out-pointer.
        self.check(unsafe { (self.f.device_get)(&mut d, ordinal) }, self.n.device_get)?;
        Ok(d)
    }

    pub fn device_name(&self, dev: i32) -> Result<String> {
        let mut buf = [0 as c_char; 256];
        // SAFETY: the buffer holds `len` bytes and the driver writes a NUL-terminated name into it.
        self.check(
            unsafe { (self.f.device_get_name)(buf.as_mut_ptr(), buf.len() as c_int, dev) },
            self.n.device_get_name,
        )?;
        let bytes: Vec<u8> = buf.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        Ok(String::from_utf8_lossy(&bytes).trim().to_owned())
    }

    pub fn device_total_mem(&self, dev: i32) -> Result<u64> {
        let mut b = 0usize;
        // SAFETY: `b` is a valid out-pointer.
        self.check(unsafe { (self.f.device_total_mem)(&mut b, dev) }, self.n.device_total_mem)?;
        Ok(b as u64)
    }

    pub fn device_attribute(&self, attr: DeviceAttr, dev: i32) -> Result<i32> {
        let mut v = 0;
        let id = self.vendor.attribute_id(attr);
        // SAFETY: `v` is a valid out-pointer; `id` is this vendor's id for the attribute.
        self.check(unsafe { (self.f.device_get_attribute)(&mut v, id, dev) }, self.n.device_get_attribute)?;
        Ok(v)
    }

    /// AMD only: the device's `gcnArchName` (`gfx90a:sramecc+:xnack-`).
    pub fn amd_arch_name(&self, dev: i32) -> Result<String> {
        let (f, call, r0600) = match (self.f.hip_device_props_r0600, self.f.hip_device_props_r0000) {
            (Some(f), _) => (f, self.n.hip_device_props_r0600, true),
            (None, Some(f)) => (f, self.n.hip_device_props_r0000, false),
            (None, None) => return Err(GpuError::Invalid("no hipGetDeviceProperties in this runtime".into())),
        };
        // 8 KiB of 8-byte-aligned zeroes: several times the size of any hipDeviceProp_t layout
        // (792 bytes in ROCm 5, 1472 in ROCm 6).
        let mut buf = vec![0u64; 1024];
        // SAFETY: the buffer is larger than the struct the function writes and suitably aligned.
        self.check(unsafe { f(buf.as_mut_ptr().cast(), dev) }, call)?;
        let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
        gcn_arch_name_from_props(&bytes, Vendor::hip_gcn_arch_name_offset(r0600))
            .ok_or_else(|| GpuError::Invalid(format!("{call} returned no gcnArchName")))
    }

    /// CUDA: retains the device's primary context. HIP: no context object (returns null).
    pub fn context_retain(&self, dev: i32) -> Result<Handle> {
        match self.f.primary_ctx_retain {
            Some(f) => {
                let mut ctx: Ptr = std::ptr::null_mut();
                // SAFETY: `ctx` is a valid out-pointer.
                self.check(unsafe { f(&mut ctx, dev) }, self.n.primary_ctx_retain)?;
                Ok(Handle(ctx))
            }
            None => Ok(Handle(std::ptr::null_mut())),
        }
    }

    /// CUDA: releases the primary context retained by [`Driver::context_retain`].
    pub fn context_release(&self, dev: i32) -> Result<()> {
        match self.f.primary_ctx_release {
            // SAFETY: plain call; releases one retain of this device's primary context.
            Some(f) => self.check(unsafe { f(dev) }, self.n.primary_ctx_release),
            None => Ok(()),
        }
    }

    /// Makes the device current on this thread: `cuCtxSetCurrent(ctx)` or `hipSetDevice(dev)`.
    pub fn make_current(&self, ctx: Handle, dev: i32) -> Result<()> {
        if let Some(f) = self.f.ctx_set_current {
            // SAFETY: `ctx` is a context this driver returned and that is still retained.
            return self.check(unsafe { f(ctx.0) }, self.n.ctx_set_current);
        }
        if let Some(f) = self.f.set_device {
            // SAFETY: plain call with a device ordinal.
            return self.check(unsafe { f(dev) }, self.n.set_device);
        }
        Ok(())
    }

    /// (free, total) bytes of the current device.
    pub fn mem_get_info(&self) -> Result<(u64, u64)> {
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: valid out-pointers.
        self.check(unsafe { (self.f.mem_get_info)(&mut free, &mut total) }, self.n.mem_get_info)?;
        Ok((free as u64, total as u64))
    }

    /// Allocates device memory on the current device. A failure is a [`GpuError::Call`] whose
    /// code tells "out of memory" from other errors.
    pub fn mem_alloc(&self, bytes: usize) -> Result<u64> {
        let mut p = 0u64;
        // SAFETY: `p` is a valid out-pointer.
        self.check(unsafe { (self.f.mem_alloc)(&mut p, bytes) }, self.n.mem_alloc)?;
        Ok(p)
    }

    pub fn mem_free(&self, ptr: u64) -> Result<()> {
        // SAFETY: frees device memory; the driver validates the pointer and no host memory is
        // touched.
        self.check(unsafe { (self.f.mem_free)(ptr) }, self.n.mem_free)
    }

    /// Copies host bytes to device memory and waits for the stream, so `src` is no longer
    /// needed when this returns whatever kind of host memory it is.
    pub fn memcpy_htod(&self, dst: u64, src: &[u8], stream: Handle) -> Result<()> {
        // SAFETY: `src` is valid for reads of its length until the stream synchronisation below
        // completes the copy.
        self.check(
            unsafe { (self.f.memcpy_htod_async)(dst, src.as_ptr().cast(), src.len(), stream.0) },
            self.n.memcpy_htod_async,
        )?;
        self.stream_synchronize(stream)
    }

    /// Copies device memory into `dst` and waits for the stream, so `dst` holds the data when
    /// this returns (and is not written afterwards).
    pub fn memcpy_dtoh(&self, dst: &mut [u8], src: u64, stream: Handle) -> Result<()> {
        // SAFETY: `dst` is valid for writes of its length, and stays borrowed until the stream
        // synchronisation below has completed the copy.
        let rc = unsafe { (self.f.memcpy_dtoh_async)(dst.as_mut_ptr().cast(), src, dst.len(), stream.0) };
        self.check(rc, self.n.memcpy_dtoh_async)?;
        self.stream_synchronize(stream)
    }

    /// Device-to-device copy, ordered on the stream (no host memory involved).
    pub fn memcpy_dtod_async(&self, dst: u64, src: u64, bytes: usize, stream: Handle) -> Result<()> {
        // SAFETY: only device memory is accessed; the driver validates the ranges.
        self.check(unsafe { (self.f.memcpy_dtod_async)(dst, src, bytes, stream.0) }, self.n.memcpy_dtod_async)
    }

    pub fn memset_d8_async(&self, dst: u64, value: u8, count: usize, stream: Handle) -> Result<()> {
        // SAFETY: only device memory is written.
        self.check(unsafe { (self.f.memset_d8_async)(dst, value, count, stream.0) }, self.n.memset_d8_async)
    }

    pub fn memset_d32_async(&self, dst: u64, value: u32, count: usize, stream: Handle) -> Result<()> {
        // SAFETY: only device memory is written.
        self.check(unsafe { (self.f.memset_d32_async)(dst, value, count, stream.0) }, self.n.memset_d32_async)
    }

    pub fn stream_create(&self) -> Result<Handle> {
        let mut s: Ptr = std::ptr::null_mut();
        // SAFETY: `s` is a valid out-pointer.
        let rc = unsafe { (self.f.stream_create)(&mut s, self.vendor.stream_non_blocking()) };
        self.check(rc, self.n.stream_create)?;
        Ok(Handle(s))
    }

    /// `bytes` of page-locked host memory (the device copies to and from it directly).
    pub fn host_alloc(&self, bytes: usize) -> Result<Ptr> {
        let mut p: Ptr = std::ptr::null_mut();
        // SAFETY: `p` is a valid out-pointer; flags 0 = default (cuMemHostAlloc, hipHostMalloc).
        self.check(unsafe { (self.f.mem_host_alloc)(&mut p, bytes.max(1), 0) }, self.n.mem_host_alloc)?;
        Ok(p)
    }

    /// Frees memory from [`Driver::host_alloc`].
    ///
    /// # Safety
    /// `p` came from `host_alloc` of this driver, is freed once, and no copy or reference uses
    /// it any more.
    pub unsafe fn host_free(&self, p: Ptr) -> Result<()> {
        // SAFETY: the caller's contract.
        self.check(unsafe { (self.f.mem_free_host)(p) }, self.n.mem_free_host)
    }

    /// A staging buffer of `bytes` page-locked host bytes (see [`Staging`]).
    pub fn staging(&self, bytes: usize) -> Result<Staging<'_>> {
        let p = self.host_alloc(bytes)?;
        let event = match self.event_create() {
            Ok(e) => e,
            Err(e) => {
                // SAFETY: `p` was allocated just above and is not used elsewhere.
                let _ = unsafe { self.host_free(p) };
                return Err(e);
            }
        };
        Ok(Staging { driver: self, ptr: p.cast(), cap: bytes, event, in_flight: false })
    }

    pub fn stream_destroy(&self, s: Handle) -> Result<()> {
        // SAFETY: `s` is a stream this driver created; the caller drops its last use.
        self.check(unsafe { (self.f.stream_destroy)(s.0) }, self.n.stream_destroy)
    }

    pub fn stream_synchronize(&self, s: Handle) -> Result<()> {
        // SAFETY: plain call on a live stream.
        self.check(unsafe { (self.f.stream_synchronize)(s.0) }, self.n.stream_synchronize)
    }

    pub fn event_create(&self) -> Result<Handle> {
        let mut e: Ptr = std::ptr::null_mut();
        // SAFETY: `e` is a valid out-pointer; flags 0 = default (timing enabled).
        self.check(unsafe { (self.f.event_create)(&mut e, 0) }, self.n.event_create)?;
        Ok(Handle(e))
    }

    pub fn event_record(&self, e: Handle, s: Handle) -> Result<()> {
        // SAFETY: plain call on a live event and stream.
        self.check(unsafe { (self.f.event_record)(e.0, s.0) }, self.n.event_record)
    }

    pub fn event_synchronize(&self, e: Handle) -> Result<()> {
        // SAFETY: plain call on a live event.
        self.check(unsafe { (self.f.event_synchronize)(e.0) }, self.n.event_synchronize)
    }

    pub fn event_elapsed_ms(&self, start: Handle, end: Handle) -> Result<f32> {
        let mut ms = 0f32;
        // SAFETY: `ms` is a valid out-pointer.
        self.check(unsafe { (self.f.event_elapsed_time)(&mut ms, start.0, end.0) }, self.n.event_elapsed_time)?;
        Ok(ms)
    }

    pub fn event_destroy(&self, e: Handle) -> Result<()> {
        // SAFETY: `e` is an event this driver created; the caller drops its last use.
        self.check(unsafe { (self.f.event_destroy)(e.0) }, self.n.event_destroy)
    }

    /// Loads a code object (cubin / hsaco) into the current context.
    pub fn module_load_data(&self, image: &[u8]) -> Result<Handle> {
        if image.is_empty() {
            return Err(GpuError::Invalid("empty code object".into()));
        }
        let mut m: Ptr = std::ptr::null_mut();
        // SAFETY: `image` is a complete code object (ELF images carry their own size; the driver
        // reads no further than the image) and stays valid for the call; the driver copies it.
        self.check(unsafe { (self.f.module_load_data)(&mut m, image.as_ptr().cast()) }, self.n.module_load_data)?;
        Ok(Handle(m))
    }

    pub fn module_get_function(&self, module: Handle, name: &str) -> Result<Handle> {
        let c = CString::new(name).map_err(|_| GpuError::Invalid(format!("kernel name {name:?} contains NUL")))?;
        let mut f: Ptr = std::ptr::null_mut();
        // SAFETY: `c` is NUL-terminated and outlives the call; `f` is a valid out-pointer.
        self.check(unsafe { (self.f.module_get_function)(&mut f, module.0, c.as_ptr()) }, self.n.module_get_function)?;
        Ok(Handle(f))
    }

    pub fn module_unload(&self, module: Handle) -> Result<()> {
        // SAFETY: `module` was loaded by this driver and the caller holds its last use.
        self.check(unsafe { (self.f.module_unload)(module.0) }, self.n.module_unload)
    }

    /// Launches `func` on `stream`. The argument values are copied by the driver during the
    /// call, so the storage built here may go away when it returns.
    pub fn launch(&self, func: Handle, dims: Dims, stream: Handle, args: &[RawArg]) -> Result<()> {
        let mut slots: Vec<u64> = args.iter().map(|a| a.slot()).collect();
        let mut ptrs: Vec<Ptr> = slots.iter_mut().map(|s| (s as *mut u64).cast::<c_void>()).collect();
        let params = if ptrs.is_empty() { std::ptr::null_mut() } else { ptrs.as_mut_ptr() };
        let [gx, gy, gz] = dims.grid;
        let [bx, by, bz] = dims.block;
        // SAFETY: `params` holds one pointer per kernel parameter, each to an 8-byte slot whose
        // low bytes hold the value (the caller checked the arguments against the kernel's
        // parameter list); `slots` and `ptrs` outlive the call, which copies the values.
        let rc = unsafe {
            (self.f.launch_kernel)(
                func.0,
                gx,
                gy,
                gz,
                bx,
                by,
                bz,
                dims.shared_bytes,
                stream.0,
                params,
                std::ptr::null_mut(),
            )
        };
        self.check(rc, self.n.launch_kernel)
    }

    pub fn stream_begin_capture(&self, s: Handle) -> Result<()> {
        let mode = self.vendor.capture_mode_thread_local();
        // SAFETY: plain call on a live stream.
        self.check(unsafe { (self.f.stream_begin_capture)(s.0, mode) }, self.n.stream_begin_capture)
    }

    /// Ends a capture; the graph may be null when the capture was invalidated.
    pub fn stream_end_capture(&self, s: Handle) -> Result<Handle> {
        let mut g: Ptr = std::ptr::null_mut();
        // SAFETY: `g` is a valid out-pointer.
        self.check(unsafe { (self.f.stream_end_capture)(s.0, &mut g) }, self.n.stream_end_capture)?;
        Ok(Handle(g))
    }

    pub fn graph_instantiate(&self, g: Handle) -> Result<Handle> {
        let mut e: Ptr = std::ptr::null_mut();
        // SAFETY: `e` is a valid out-pointer; `g` is a live graph.
        self.check(unsafe { (self.f.graph_instantiate)(&mut e, g.0, 0) }, self.n.graph_instantiate)?;
        Ok(Handle(e))
    }

    pub fn graph_launch(&self, exec: Handle, s: Handle) -> Result<()> {
        // SAFETY: plain call on a live executable graph and stream.
        self.check(unsafe { (self.f.graph_launch)(exec.0, s.0) }, self.n.graph_launch)
    }

    pub fn graph_exec_destroy(&self, exec: Handle) -> Result<()> {
        // SAFETY: the caller holds the last use; an in-flight graph is freed on completion.
        self.check(unsafe { (self.f.graph_exec_destroy)(exec.0) }, self.n.graph_exec_destroy)
    }

    pub fn graph_destroy(&self, g: Handle) -> Result<()> {
        // SAFETY: the caller holds the last use of the graph.
        self.check(unsafe { (self.f.graph_destroy)(g.0) }, self.n.graph_destroy)
    }
}

/// A loaded run-time compiler library (NVRTC or hipRTC) and its table.
pub struct RtcLib {
    vendor: Vendor,
    path: PathBuf,
    f: RtcFns,
    n: RtcNames,
    _lib: Library,
}

impl RtcLib {
    /// Loads NVRTC, or hipRTC (`libhiprtc.so`, else the HIP runtime, which holds hipRTC in
    /// ROCm 5.x).
    pub fn load(vendor: Vendor, env: &SearchEnv) -> Result<RtcLib> {
        let first = match vendor {
            Vendor::Nvidia => open_first(LibKind::Nvrtc, env, "NVRTC (libnvrtc.so)"),
            Vendor::Amd => open_first(LibKind::HipRtc, env, "hipRTC (libhiprtc.so)"),
        };
        match first {
            Ok((lib, path)) => RtcLib::from_library(vendor, lib, path),
            Err(e) if vendor == Vendor::Amd => {
                let (lib, path) = open_first(LibKind::HipRuntime, env, "hipRTC (libhiprtc.so or libamdhip64.so)")
                    .map_err(|e2| GpuError::NoRuntime(format!("{e}; {e2}")))?;
                RtcLib::from_library(vendor, lib, path)
            }
            Err(e) => Err(e),
        }
    }

    /// Loads the table from a specific file.
    pub fn load_path(vendor: Vendor, path: &Path) -> Result<RtcLib> {
        // SAFETY: as in `open_first`: a vendor compiler library named by the caller.
        let lib = unsafe { Library::new(path) }
            .map_err(|e| GpuError::NoRuntime(format!("{}: {}", path.display(), short_dl_error(&e.to_string()))))?;
        RtcLib::from_library(vendor, lib, loaded_library_path(path))
    }

    fn from_library(vendor: Vendor, lib: Library, path: PathBuf) -> Result<RtcLib> {
        let (f, n) = RtcFns::load(&lib, &path, vendor)?;
        Ok(RtcLib { vendor, path, f, n, _lib: lib })
    }

    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check(&self, status: Status, call: &'static str) -> Result<()> {
        if status == 0 {
            return Ok(());
        }
        // SAFETY: takes a status by value and returns a static string.
        let message = c_str(unsafe { (self.f.get_error_string)(status) }).unwrap_or_else(|| "unknown error".into());
        Err(GpuError::Call { call, code: status, name: message.clone(), message, context: String::new() })
    }

    pub fn version(&self) -> Result<(i32, i32)> {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: valid out-pointers.
        self.check(unsafe { (self.f.version)(&mut major, &mut minor) }, self.n.version)?;
        Ok((major, minor))
    }

    /// Compiles one translation unit with in-memory headers. Returns the code object, or the
    /// status text and the compiler log.
    pub fn compile(
        &self,
        name: &str,
        source: &str,
        headers: &[(&str, &str)],
        options: &[String],
    ) -> Result<std::result::Result<Vec<u8>, (String, String)>> {
        let cstr =
            |s: &str| CString::new(s).map_err(|_| GpuError::Invalid(format!("{name}: text contains a NUL byte")));
        let c_source = cstr(source)?;
        let c_name = cstr(name)?;
        let c_headers: Vec<CString> = headers.iter().map(|(_, h)| cstr(h)).collect::<Result<_>>()?;
        let c_hnames: Vec<CString> = headers.iter().map(|(n, _)| cstr(n)).collect::<Result<_>>()?;
        let c_opts: Vec<CString> = options.iter().map(|o| cstr(o)).collect::<Result<_>>()?;
        let p_headers: Vec<*const c_char> = c_headers.iter().map(|c| c.as_ptr()).collect();
        let p_hnames: Vec<*const c_char> = c_hnames.iter().map(|c| c.as_ptr()).collect();
        let p_opts: Vec<*const c_char> = c_opts.iter().map(|c| c.as_ptr()).collect();

        let mut prog: Ptr = std::ptr::null_mut();
        // SAFETY: all strings are NUL-terminated and outlive the call; the two header arrays
        // have `headers.len()` entries each.
        let rc = unsafe {
            (self.f.create_program)(
                &mut prog,
                c_source.as_ptr(),
                c_name.as_ptr(),
                headers.len() as c_int,
                p_headers.as_ptr(),
                p_hnames.as_ptr(),
            )
        };
        self.check(rc, self.n.create_program)?;
        let result = self.compile_program(prog, &p_opts);
        // SAFETY: `prog` was created above and is not used after this.
        let rc = unsafe { (self.f.destroy_program)(&mut prog) };
        let out = result?;
        self.check(rc, self.n.destroy_program)?;
        Ok(out)
    }

    fn compile_program(
        &self,
        prog: Ptr,
        opts: &[*const c_char],
    ) -> Result<std::result::Result<Vec<u8>, (String, String)>> {
        // SAFETY: `opts` holds `opts.len()` valid NUL-terminated strings that outlive the call.
        let rc = unsafe { (self.f.compile_program)(prog, opts.len() as c_int, opts.as_ptr()) };
        if rc != 0 {
            // SAFETY: takes a status by value and returns a static string.
            let status = c_str(unsafe { (self.f.get_error_string)(rc) }).unwrap_or_else(|| format!("status {rc}"));
            return Ok(Err((status, self.log(prog)?)));
        }
        let mut size = 0usize;
        // SAFETY: valid out-pointer on a compiled program.
        self.check(unsafe { (self.f.get_code_size)(prog, &mut size) }, self.n.get_code_size)?;
        let mut code = vec![0u8; size];
        if size > 0 {
            // SAFETY: `code` has exactly the size the compiler reported for the code object.
            self.check(unsafe { (self.f.get_code)(prog, code.as_mut_ptr().cast()) }, self.n.get_code)?;
        }
        Ok(Ok(code))
    }

    fn log(&self, prog: Ptr) -> Result<String> {
        let mut size = 0usize;
        // SAFETY: valid out-pointer.
        self.check(unsafe { (self.f.get_program_log_size)(prog, &mut size) }, self.n.get_program_log_size)?;
        let mut buf = vec![0u8; size.max(1)];
        // SAFETY: `buf` has the size the compiler reported (it includes the NUL).
        self.check(unsafe { (self.f.get_program_log)(prog, buf.as_mut_ptr().cast()) }, self.n.get_program_log)?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Ok(String::from_utf8_lossy(&buf[..end]).trim_end().to_owned())
    }
}

/// The arguments of one GemmEx call (column-major, as both BLAS libraries define it):
/// C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C. Matrices are device addresses; the
/// enum values are the library's own ([`BlasEnums`]).
#[derive(Clone, Copy, Debug)]
pub struct GemmEx {
    pub trans_a: i32,
    pub trans_b: i32,
    pub m: i32,
    pub n: i32,
    pub k: i32,
    pub alpha: f32,
    pub a: u64,
    pub a_type: i32,
    pub lda: i32,
    pub b: u64,
    pub b_type: i32,
    pub ldb: i32,
    pub beta: f32,
    pub c: u64,
    pub c_type: i32,
    pub ldc: i32,
    pub compute: i32,
    pub algo: i32,
}

/// A loaded vendor BLAS library (cuBLAS or hipBLAS) and its table.
pub struct BlasLib {
    vendor: Vendor,
    path: PathBuf,
    enums: BlasEnums,
    f: BlasFns,
    n: BlasNames,
    _lib: Library,
}

impl BlasLib {
    /// Loads cuBLAS or hipBLAS from the usual locations.
    pub fn load(vendor: Vendor, env: &SearchEnv) -> Result<BlasLib> {
        let (kind, what) = match vendor {
            Vendor::Amd => (LibKind::HipBlas, "hipBLAS (libhipblas.so)"),
            Vendor::Nvidia => (LibKind::Cublas, "cuBLAS (libcublas.so)"),
        };
        let (lib, path) = open_first(kind, env, what)?;
        BlasLib::from_library(vendor, lib, path)
    }

    /// Loads the table from a specific file.
    pub fn load_path(vendor: Vendor, path: &Path) -> Result<BlasLib> {
        // SAFETY: as in `open_first`: a vendor BLAS library named by the caller.
        let lib = unsafe { Library::new(path) }
            .map_err(|e| GpuError::NoRuntime(format!("{}: {}", path.display(), short_dl_error(&e.to_string()))))?;
        BlasLib::from_library(vendor, lib, loaded_library_path(path))
    }

    fn from_library(vendor: Vendor, lib: Library, path: PathBuf) -> Result<BlasLib> {
        let (f, n) = BlasFns::load(&lib, &path, vendor)?;
        let enums = match vendor {
            Vendor::Nvidia => BlasEnums::Cublas,
            Vendor::Amd if n.gemm_ex == "hipblasGemmEx_v2" => BlasEnums::HipblasV2,
            Vendor::Amd => match hipblas_major(&path) {
                Some(major) if major >= 3 => BlasEnums::HipblasV2,
                Some(_) => BlasEnums::HipblasLegacy,
                None => {
                    return Err(GpuError::NoRuntime(format!(
                        "{}: hipblasGemmEx without hipblasGemmEx_v2 and no version in the file name: its enum \
                         set is unknown",
                        path.display()
                    )))
                }
            },
        };
        Ok(BlasLib { vendor, path, enums, f, n, _lib: lib })
    }

    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The enum set of the resolved GemmEx.
    pub fn enums(&self) -> BlasEnums {
        self.enums
    }

    /// The symbol the GemmEx entry resolved to.
    pub fn gemm_symbol(&self) -> &'static str {
        self.n.gemm_ex
    }

    fn check(&self, status: Status, call: &'static str) -> Result<()> {
        if status == 0 {
            return Ok(());
        }
        let text = |f: Option<unsafe extern "C" fn(Status) -> *const c_char>| {
            // SAFETY: takes a status by value and returns a static string (or null).
            f.and_then(|f| c_str(unsafe { f(status) }))
        };
        let name = text(self.f.status_name).unwrap_or_else(|| format!("BLAS status {status}"));
        let message = text(self.f.status_string).unwrap_or_else(|| "unknown error".into());
        Err(GpuError::Call { call, code: status, name, message, context: String::new() })
    }

    /// A new handle, on the device current on this thread.
    pub fn create(&self) -> Result<Handle> {
        let mut h: Ptr = std::ptr::null_mut();
        // SAFETY: `h` is a valid out-pointer.
        self.check(unsafe { (self.f.create)(&mut h) }, self.n.create)?;
        Ok(Handle(h))
    }

    pub fn destroy(&self, h: Handle) -> Result<()> {
        // SAFETY: `h` was created by this library and the caller holds its last use.
        self.check(unsafe { (self.f.destroy)(h.0) }, self.n.destroy)
    }

    /// Queues the handle's next calls on `stream`.
    pub fn set_stream(&self, h: Handle, stream: Handle) -> Result<()> {
        // SAFETY: plain call on a live handle and stream.
        self.check(unsafe { (self.f.set_stream)(h.0, stream.0) }, self.n.set_stream)
    }

    /// Whether the library takes a caller-owned workspace (cuBLAS).
    pub fn has_set_workspace(&self) -> bool {
        self.f.set_workspace.is_some()
    }

    /// Gives the handle `bytes` of device memory at `ptr` as its workspace (so that it never
    /// allocates while working). The memory must outlive the handle's use of it.
    pub fn set_workspace(&self, h: Handle, ptr: u64, bytes: usize) -> Result<()> {
        let Some(f) = self.f.set_workspace else {
            return Err(GpuError::Invalid("this BLAS library takes no workspace".into()));
        };
        // SAFETY: `ptr` is a device allocation of `bytes` bytes that the caller keeps alive
        // while the handle exists.
        self.check(unsafe { f(h.0, ptr as *mut c_void, bytes) }, self.n.set_workspace)
    }

    /// Queues one GemmEx on the handle's stream. `alpha` and `beta` are read from host memory
    /// during the call (the default pointer mode). Device-side bounds are the caller's duty, as
    /// for a kernel launch.
    pub fn gemm_ex(&self, h: Handle, g: &GemmEx) -> Result<()> {
        let (alpha, beta) = (g.alpha, g.beta);
        // SAFETY: the handle is live; alpha and beta are host f32 values (the compute type's
        // scale type) that outlive the call; the matrices are device addresses, which the
        // library only passes to the device.
        let rc = unsafe {
            (self.f.gemm_ex)(
                h.0,
                g.trans_a,
                g.trans_b,
                g.m,
                g.n,
                g.k,
                (&alpha as *const f32).cast(),
                g.a as *const c_void,
                g.a_type,
                g.lda,
                g.b as *const c_void,
                g.b_type,
                g.ldb,
                (&beta as *const f32).cast(),
                g.c as *mut c_void,
                g.c_type,
                g.ldc,
                g.compute,
                g.algo,
            )
        };
        self.check(rc, self.n.gemm_ex)
    }
}

/// The major version in a hipBLAS file name (`libhipblas.so.2.1.60100` -> 2).
fn hipblas_major(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let rest = name.split(".so.").nth(1)?;
    rest.split('.').next()?.parse().ok()
}

/// Plain-old-data element types that device buffers hold: every bit pattern is a valid value
/// and there is no padding, so they can be copied to and from device memory as bytes.
///
/// # Safety
/// Implementors must be `Copy` types without padding for which every bit pattern is valid.
/// The trait is sealed: only the impls below exist.
pub unsafe trait DeviceElem: Copy + Default + Send + Sync + 'static + sealed::Sealed {
    /// The element type kernels declare for it.
    const ELEM: ElemType;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! device_elem {
    ($($t:ty => $e:ident),* $(,)?) => {
        $(
            impl sealed::Sealed for $t {}
            // SAFETY: a primitive number type (or `half`'s `repr(transparent)` u16 wrappers):
            // no padding, every bit pattern valid.
            unsafe impl DeviceElem for $t {
                const ELEM: ElemType = ElemType::$e;
            }
        )*
    };
}

device_elem! {
    f32 => F32, f64 => F64, half::f16 => F16, half::bf16 => Bf16,
    i8 => I8, u8 => U8, i16 => I16, u16 => U16, i32 => I32, u32 => U32, i64 => I64, u64 => U64,
}

/// The bytes of a slice of device elements.
/// Page-locked host memory through which host bytes reach the device: [`Staging::send`] copies
/// them in (on several threads) and queues the device's copy from it without waiting, so the
/// host can fill another staging buffer while the copy engine reads this one. The memory is
/// written again only after the last copy from it has finished (an event marks it), and freed
/// only then.
pub struct Staging<'d> {
    driver: &'d Driver,
    ptr: *mut u8,
    cap: usize,
    event: Handle,
    in_flight: bool,
}

/// Host threads that fill a staging buffer (reads of a mapped file's pages are the slow part),
/// each with at least STAGING_PART_MIN bytes.
const STAGING_THREADS: usize = 4;
const STAGING_PART_MIN: usize = 1 << 20;

impl Staging<'_> {
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Copies `src` (at most [`Staging::capacity`] bytes) to device address `dst` on `stream`:
    /// waits for this buffer's previous copy, fills it, queues the copy and returns.
    pub fn send(&mut self, src: &[u8], dst: u64, stream: Handle) -> Result<()> {
        if src.len() > self.cap {
            return Err(GpuError::Invalid(format!("staging {} bytes through a {}-byte buffer", src.len(), self.cap)));
        }
        self.wait()?;
        // SAFETY: `ptr` holds `cap` bytes owned by this buffer, no copy from it is in flight
        // (waited above), and `&mut self` keeps every other user away.
        let buf = unsafe { std::slice::from_raw_parts_mut(self.ptr, src.len()) };
        let part = src.len().div_ceil(STAGING_THREADS).max(STAGING_PART_MIN);
        if src.len() <= part {
            buf.copy_from_slice(src);
        } else {
            std::thread::scope(|scope| {
                for (d, s) in buf.chunks_mut(part).zip(src.chunks(part)) {
                    scope.spawn(move || d.copy_from_slice(s));
                }
            });
        }
        // SAFETY: the copy reads `src.len()` bytes of this buffer, which stays allocated and
        // unwritten until the event recorded below has completed (`wait`, and `Drop`).
        let rc = unsafe { (self.driver.f.memcpy_htod_async)(dst, self.ptr.cast(), src.len(), stream.0) };
        self.driver.check(rc, self.driver.n.memcpy_htod_async)?;
        self.in_flight = true;
        self.driver.event_record(self.event, stream)
    }

    /// Waits until the last copy from this buffer has finished.
    pub fn wait(&mut self) -> Result<()> {
        if self.in_flight {
            self.driver.event_synchronize(self.event)?;
            self.in_flight = false;
        }
        Ok(())
    }
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        // A copy that cannot be waited for leaves the memory allocated rather than freed
        // under the copy engine.
        if self.wait().is_ok() {
            // SAFETY: nothing reads the buffer any more; it was allocated by `host_alloc`.
            let _ = unsafe { self.driver.host_free(self.ptr.cast()) };
        }
        let _ = self.driver.event_destroy(self.event);
    }
}

pub fn as_bytes<T: DeviceElem>(s: &[T]) -> &[u8] {
    // SAFETY: `T` has no padding (DeviceElem's contract), so its memory is initialised bytes;
    // the length is the slice's size in bytes and the lifetime is the slice's.
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast(), std::mem::size_of_val(s)) }
}

/// The bytes of a mutable slice of device elements, for the device to write into.
pub fn as_bytes_mut<T: DeviceElem>(s: &mut [T]) -> &mut [u8] {
    // SAFETY: as `as_bytes`; in addition every bit pattern is a valid `T` (DeviceElem's
    // contract), so any bytes written leave valid values, and the borrow is exclusive.
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast(), std::mem::size_of_val(s)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_required_entry_names_both_vendors() {
        for spec in driver_symbols().iter().chain(rtc_symbols()).chain(blas_symbols()) {
            if spec.required {
                assert!(!spec.cuda.is_empty() && !spec.hip.is_empty(), "{}", spec.field);
            } else {
                assert!(!spec.cuda.is_empty() || !spec.hip.is_empty(), "{}", spec.field);
            }
        }
        let names =
            |v: Vendor| -> Vec<&str> { driver_symbols().iter().flat_map(|s| s.names(v).iter().copied()).collect() };
        assert!(names(Vendor::Nvidia).iter().all(|n| n.starts_with("cu")));
        assert!(names(Vendor::Amd).iter().all(|n| n.starts_with("hip")));
        let blas =
            |v: Vendor| -> Vec<&str> { blas_symbols().iter().flat_map(|s| s.names(v).iter().copied()).collect() };
        assert!(blas(Vendor::Nvidia).iter().all(|n| n.starts_with("cublas")));
        assert!(blas(Vendor::Amd).iter().all(|n| n.starts_with("hipblas")));
    }

    #[test]
    fn hipblas_versions_from_file_names() {
        assert_eq!(hipblas_major(Path::new("/opt/rocm/lib/libhipblas.so.2.1.60100")), Some(2));
        assert_eq!(hipblas_major(Path::new("libhipblas.so.3")), Some(3));
        assert_eq!(hipblas_major(Path::new("libhipblas.so")), None);
    }

    #[test]
    fn raw_args_fill_the_low_bytes() {
        assert_eq!(RawArg::I32(-1).slot(), 0xffff_ffff);
        assert_eq!(RawArg::F32(1.0).slot(), 0x3f80_0000);
        assert_eq!(RawArg::Ptr(0xdead_beef_0000).slot(), 0xdead_beef_0000);
        assert_eq!(RawArg::I64(-2).slot(), u64::MAX - 1);
    }

    #[test]
    fn byte_views() {
        let v = [1.0f32, -2.0];
        assert_eq!(as_bytes(&v), &[0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
        let mut h = [half::f16::ZERO; 2];
        as_bytes_mut(&mut h).copy_from_slice(&[0x00, 0x3c, 0x00, 0xc0]);
        assert_eq!(h, [half::f16::ONE, half::f16::from_f32(-2.0)]);
    }
}
