//! GPU-layer checks that need no GPU, run in CI: the HIP function table resolves against a real
//! ROCm library, NVRTC (and hipRTC where it works without a device) compile every kernel through
//! our RTC wrapper, a second compiler start takes everything from the disk cache, and a machine
//! without runtime or device gets one clean error line.
//!
//! `ROCMFORGE_REQUIRE_NVRTC=1` (set by scripts/check-kernels.sh and scripts/test.sh) turns a
//! missing NVRTC into a failure instead of a skip; `ROCMFORGE_REQUIRE_HIP=1` does the same for
//! Debian's libamdhip64.so.5.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use backend::gpu::ffi::{blas_symbols, driver_symbols, rtc_symbols, BlasLib};
use backend::gpu::{
    discover_with, kernels, Arch, Compiler, Gpu, GpuError, KernelCache, KernelSource, Rtc, Runtime, SearchEnv, Vendor,
};

const DEBIAN_HIP: &str = "/usr/lib/x86_64-linux-gnu/libamdhip64.so.5";

fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

fn nvrtc() -> Option<Arc<Rtc>> {
    match Rtc::load(Vendor::Nvidia) {
        Ok(r) => Some(Arc::new(r)),
        Err(e) if required("ROCMFORGE_REQUIRE_NVRTC") => {
            panic!("NVRTC is required but not usable: {e}")
        }
        Err(e) => {
            eprintln!("skipped: {e} (pip install nvidia-cuda-nvrtc, or set ROCMFORGE_NVRTC)");
            None
        }
    }
}

fn debian_hip() -> Option<&'static Path> {
    let p = Path::new(DEBIAN_HIP);
    if p.exists() {
        return Some(p);
    }
    assert!(!required("ROCMFORGE_REQUIRE_HIP"), "{DEBIAN_HIP} is required (apt-get install libamdhip64-dev)");
    eprintln!("skipped: {DEBIAN_HIP} not installed (apt-get install libamdhip64-dev)");
    None
}

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rocmforge-gpu-ci-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn is_elf(code: &[u8]) -> bool {
    code.starts_with(b"\x7fELF")
}

#[test]
fn nvrtc_compiles_every_kernel_for_sm80_and_sm90() {
    let Some(rtc) = nvrtc() else { return };
    eprintln!("{} from {}", rtc.compiler_id(), rtc.library_path().display());
    for arch in [Arch::nvidia(8, 0), Arch::nvidia(9, 0)] {
        for src in kernels::ALL {
            let t = std::time::Instant::now();
            let code = rtc.compile(src, &arch).unwrap_or_else(|e| panic!("{e}"));
            assert!(is_elf(&code), "{} for {arch}: NVRTC did not return a cubin", src.name);
            eprintln!("{} for {arch}: {} bytes in {:?}", src.name, code.len(), t.elapsed());
        }
    }
}

#[test]
fn compile_errors_carry_the_compiler_log() {
    let Some(rtc) = nvrtc() else { return };
    let bad = KernelSource::new(
        "broken.cu",
        "#include \"prelude.h\"\nRF_KERNEL void k(float* y) { y[0] = undefined_name; }\n",
    );
    let e = rtc.compile(&bad, &Arch::nvidia(9, 0)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, GpuError::Compile { .. }), "{msg}");
    assert!(msg.starts_with("compiling broken.cu for sm_90 with NVRTC"), "{msg}");
    assert!(msg.contains("undefined_name"), "the log names the culprit: {msg}");
    // A missing RF_WARP is caught by the prelude itself.
    let opts_less = KernelSource::new("nowarp.cu", "#undef RF_WARP\n#include \"prelude.h\"\n");
    let msg = rtc.compile(&opts_less, &Arch::nvidia(9, 0)).unwrap_err().to_string();
    assert!(msg.contains("RF_WARP"), "{msg}");
    // The wrong vendor's arch is refused before compiling.
    assert!(rtc.compile(&kernels::ELEMENTWISE, &Arch::parse("gfx90a").unwrap()).is_err());
}

#[test]
fn second_compiler_start_compiles_nothing() {
    let Some(rtc) = nvrtc() else { return };
    let dir = tmpdir("cache");
    let arch = Arch::nvidia(9, 0);
    let first = Compiler::new(rtc, Some(KernelCache::new(&dir)));
    let built: Vec<_> = kernels::ALL.iter().map(|k| first.build(k, &arch).unwrap()).collect();
    assert_eq!((first.compiled(), first.cache_hits()), (kernels::ALL.len(), 0));
    assert!(built.iter().all(|b| !b.from_cache));

    // A new start: the compiler library loaded again, a new compiler over the same directory.
    let second = Compiler::new(nvrtc().unwrap(), Some(KernelCache::new(&dir)));
    let again: Vec<_> = kernels::ALL.iter().map(|k| second.build(k, &arch).unwrap()).collect();
    assert_eq!(
        (second.compiled(), second.cache_hits()),
        (0, kernels::ALL.len()),
        "nothing compiled on the second start"
    );
    for (a, b) in built.iter().zip(&again) {
        assert!(b.from_cache);
        assert_eq!(a.key, b.key);
        assert_eq!(a.code, b.code);
    }
    // Another arch is another key.
    let other = second.build(&kernels::ELEMENTWISE, &Arch::nvidia(8, 0)).unwrap();
    assert!(!other.from_cache);
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(files, kernels::ALL.len() + 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The vendor BLAS table for HIP. Debian 12 ships no hipBLAS (nor rocBLAS), so on the CI
/// machine the library is absent and loading must fail with one clean line naming what was
/// tried; where a hipBLAS is installed, the table resolves and names its GemmEx enum set.
#[test]
fn hip_blas_table_resolves_where_installed() {
    for spec in blas_symbols() {
        assert!(spec.names(Vendor::Amd).iter().all(|n| n.starts_with("hipblas")), "{}", spec.field);
    }
    match BlasLib::load(Vendor::Amd, &SearchEnv::from_process()) {
        Ok(lib) => eprintln!("{}: {} ({:?} enums)", lib.path().display(), lib.gemm_symbol(), lib.enums()),
        Err(e) => {
            let msg = e.to_string();
            eprintln!("no hipBLAS here: {msg}");
            assert!(matches!(e, GpuError::NoRuntime(_)) && msg.contains("hipBLAS") && !msg.contains('\n'), "{msg}");
        }
    }
}

#[test]
fn hip_tables_resolve_against_rocm5_libamdhip64() {
    let Some(path) = debian_hip() else { return };
    // Loading resolves every required entry and checks the HIP-only ones (error strings,
    // hipSetDevice, a hipGetDeviceProperties variant); a renamed symbol fails here.
    let rt = Runtime::load_path(Vendor::Amd, path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rt.vendor(), Vendor::Amd);
    // ROCm 5.x keeps hipRTC in the runtime library.
    let rtc = Rtc::load_path(Vendor::Amd, path).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{}", rtc.compiler_id());
    assert!(rtc.compiler_id().starts_with("hipRTC "), "{}", rtc.compiler_id());
    // Without an AMD GPU, hipGetDeviceCount's "no device" becomes one clean line.
    match rt.device_count() {
        Ok(n) => eprintln!("this machine has {n} AMD GPU(s)"),
        Err(e @ GpuError::NoDevice(_)) => {
            let msg = e.to_string();
            eprintln!("{msg}");
            assert!(
                msg.starts_with("HIP:") && (msg.contains("no usable device") || msg.contains("no device")),
                "{msg}"
            );
            assert!(!msg.contains('\n'));
        }
        Err(e) => panic!("expected a no-device error, got {e}"),
    }
    // Every HIP name listed in the tables exists in the library's dynamic symbols (optional
    // ones that only newer ROCm has are allowed to be absent).
    let newer_only = ["hipGetDevicePropertiesR0600"];
    let dynsym = std::fs::read(path).unwrap();
    for spec in driver_symbols().iter().chain(rtc_symbols()) {
        let names = spec.names(Vendor::Amd);
        if names.is_empty() {
            continue;
        }
        let found = names.iter().any(|n| contains_symbol(&dynsym, n));
        assert!(
            found || names.iter().all(|n| newer_only.contains(n)),
            "{}: none of {names:?} in {DEBIAN_HIP}",
            spec.field
        );
    }
}

fn contains_symbol(lib: &[u8], name: &str) -> bool {
    let mut needle = Vec::with_capacity(name.len() + 2);
    needle.push(0);
    needle.extend_from_slice(name.as_bytes());
    needle.push(0);
    lib.windows(needle.len()).any(|w| w == needle.as_slice())
}

#[test]
fn hiprtc_compiles_every_kernel_without_a_device() {
    let Some(path) = debian_hip() else { return };
    let rtc = Rtc::load_path(Vendor::Amd, path).unwrap();
    for arch in ["gfx90a", "gfx1030"] {
        let arch = Arch::parse(arch).unwrap();
        for src in kernels::ALL {
            match rtc.compile(src, &arch) {
                Ok(code) => {
                    assert!(code.len() > 1000, "{} for {arch}: {} bytes", src.name, code.len());
                    eprintln!("{} for {arch}: {} bytes", src.name, code.len());
                }
                // ROCm 5.2's hipRTC initialises the HIP runtime first, which fails without a
                // device; the offline hipcc check in scripts/check-kernels.sh covers this case.
                Err(e @ GpuError::Call { .. }) => {
                    assert!(!required("ROCMFORGE_REQUIRE_HIP"), "hipRTC failed: {e}");
                    eprintln!("skipped: hipRTC needs a device here: {e}");
                    return;
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
}

#[test]
fn no_runtime_is_one_clean_error() {
    let e = Gpu::new_with(0, &Vendor::ALL, &SearchEnv::empty()).unwrap_err();
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(msg.starts_with("no GPU found: HIP: HIP runtime (libamdhip64.so) not found"), "{msg}");
    assert!(msg.contains("CUDA: CUDA driver (libcuda.so.1) not found"), "{msg}");
    assert!(!msg.contains('\n'));
    let d = discover_with(&SearchEnv::empty());
    assert!(d.devices.is_empty());
    assert_eq!(d.problems.len(), 2, "{:?}", d.problems);
    assert!(Rtc::load_with(Vendor::Nvidia, &SearchEnv::empty()).is_err());
}

#[test]
fn gpu_new_on_this_machine_never_panics() {
    match Gpu::new(0) {
        Ok(gpu) => eprintln!("found {gpu:?}"),
        Err(e) => {
            let msg = e.to_string();
            eprintln!("{msg}");
            assert!(msg.starts_with("no GPU found: "), "{msg}");
            assert!(!msg.contains('\n'));
        }
    }
}

/// Every HIP constant of our vendor table against the value in the installed HIP headers
/// (Debian's ROCm 5.2, as in CI): a C++ file of static_asserts built from the Rust values,
/// checked by the host compiler. The attribute enum was renumbered in ROCm 5.0, so a table
/// written from memory or from CUDA would fail here.
#[test]
fn hip_constants_match_the_installed_headers() {
    use backend::gpu::vendor::DeviceAttr;
    let header = Path::new("/usr/include/hip/hip_runtime_api.h");
    if !header.exists() {
        assert!(
            !required("ROCMFORGE_REQUIRE_HIP"),
            "{} is required (apt-get install libamdhip64-dev)",
            header.display()
        );
        eprintln!("skipped: {} not installed", header.display());
        return;
    }
    let amd = Vendor::Amd;
    let attrs = [
        ("hipDeviceAttributeWarpSize", DeviceAttr::WarpSize),
        ("hipDeviceAttributeMultiprocessorCount", DeviceAttr::MultiprocessorCount),
        ("hipDeviceAttributeComputeCapabilityMajor", DeviceAttr::ComputeCapabilityMajor),
        ("hipDeviceAttributeComputeCapabilityMinor", DeviceAttr::ComputeCapabilityMinor),
        ("hipDeviceAttributeMaxThreadsPerBlock", DeviceAttr::MaxThreadsPerBlock),
        ("hipDeviceAttributeMaxSharedMemoryPerBlock", DeviceAttr::MaxSharedMemoryPerBlock),
        ("hipDeviceAttributeSharedMemPerBlockOptin", DeviceAttr::MaxSharedMemoryPerBlockOptin),
        ("hipDeviceAttributeL2CacheSize", DeviceAttr::L2CacheSize),
    ];
    let mut checks: Vec<(String, i64)> =
        attrs.iter().map(|(name, a)| (name.to_string(), i64::from(amd.attribute_id(*a)))).collect();
    checks.extend([
        ("hipErrorNoDevice".to_string(), i64::from(amd.status_no_device())),
        ("hipErrorOutOfMemory".to_string(), i64::from(amd.status_out_of_memory())),
        ("hipStreamNonBlocking".to_string(), i64::from(amd.stream_non_blocking())),
        ("hipStreamCaptureModeThreadLocal".to_string(), i64::from(amd.capture_mode_thread_local())),
        // The ROCm 5 layout of hipDeviceProp_t, read by hipGetDeviceProperties.
        ("offsetof(hipDeviceProp_t, gcnArchName)".to_string(), Vendor::hip_gcn_arch_name_offset(false) as i64),
    ]);
    let mut src = String::from("#include <cstddef>\n#include <hip/hip_runtime_api.h>\n");
    for (name, value) in &checks {
        src += &format!("static_assert((long long)({name}) == {value}LL, \"{name} is not {value}\");\n");
    }
    let dir = tmpdir("hip-constants");
    let file = dir.join("constants.cpp");
    std::fs::write(&file, src).unwrap();
    let out = std::process::Command::new("c++")
        .args(["-fsyntax-only", "-D__HIP_PLATFORM_AMD__"])
        .arg(&file)
        .output()
        .expect("c++ runs");
    assert!(out.status.success(), "HIP constants differ from the headers:\n{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{} HIP constants match {}", checks.len(), header.display());
}
