//! Runtimes, devices and the [`Gpu`] handle: a device, its context and a default stream.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::arch::Arch;
use super::error::{GpuError, Result};
use super::ffi::{BlasLib, Driver, Handle};
use super::memory::{Arena, DeviceBuffer};
use super::module::Module;
use super::rtc::{Compiler, KernelCache, KernelSource, Rtc};
use super::search::{candidates, LibKind, SearchEnv};
use super::stream::{Event, Stream};
use super::vendor::{DeviceAttr, Vendor};
use super::DeviceElem;

/// A loaded vendor runtime (driver library + function table). Loading resolves every symbol;
/// initialisation (`cuInit`/`hipInit`) happens once, on first use of a device.
pub struct Runtime {
    driver: Driver,
    env: SearchEnv,
    init: OnceLock<std::result::Result<(), String>>,
    rtc: OnceLock<std::result::Result<Arc<Rtc>, String>>,
    blas: OnceLock<std::result::Result<Arc<BlasLib>, String>>,
}

impl Runtime {
    /// Loads the vendor's runtime from the usual locations.
    pub fn load(vendor: Vendor) -> Result<Arc<Runtime>> {
        Runtime::load_with(vendor, &SearchEnv::from_process())
    }

    /// Loads the vendor's runtime from the locations `env` describes.
    pub fn load_with(vendor: Vendor, env: &SearchEnv) -> Result<Arc<Runtime>> {
        let driver = Driver::load(vendor, env)?;
        Ok(Arc::new(Runtime {
            driver,
            env: env.clone(),
            init: OnceLock::new(),
            rtc: OnceLock::new(),
            blas: OnceLock::new(),
        }))
    }

    /// Loads the runtime from one library file (tests pin Debian's `libamdhip64.so.5`).
    pub fn load_path(vendor: Vendor, path: &Path) -> Result<Arc<Runtime>> {
        let driver = Driver::load_path(vendor, path)?;
        Ok(Arc::new(Runtime {
            driver,
            env: SearchEnv::from_process(),
            init: OnceLock::new(),
            rtc: OnceLock::new(),
            blas: OnceLock::new(),
        }))
    }

    pub fn vendor(&self) -> Vendor {
        self.driver.vendor()
    }

    /// The library file the table was loaded from.
    pub fn library_path(&self) -> &Path {
        self.driver.path()
    }

    pub(crate) fn driver(&self) -> &Driver {
        &self.driver
    }

    fn ensure_init(&self) -> Result<()> {
        let r = self.init.get_or_init(|| {
            // Any failure here means no usable device: HIP's hipInit answers
            // hipErrorInvalidDevice (101) or hipErrorNoDevice (100) on a machine without an AMD
            // GPU, cuInit CUDA_ERROR_NO_DEVICE (100) without an NVIDIA one.
            self.driver.init().map_err(|e| {
                format!(
                    "{}: {} loaded but reports no usable device ({e})",
                    self.vendor().api(),
                    self.library_path().display()
                )
            })
        });
        r.clone().map_err(GpuError::NoDevice)
    }

    /// The driver version, formatted ("13.0", "6.4.43483").
    pub fn driver_version(&self) -> Result<String> {
        self.ensure_init()?;
        Ok(self.vendor().format_driver_version(self.driver.driver_version()?))
    }

    /// Number of devices. "No device" statuses (HIP's `hipGetDeviceCount` returns 100 when the
    /// machine has no AMD GPU) are an error naming the reason, as is a count of zero.
    pub fn device_count(&self) -> Result<usize> {
        self.ensure_init()?;
        let (rc, n) = self.driver.device_count();
        if rc == self.vendor().status_no_device() || (rc == 0 && n <= 0) {
            let (name, _) = self.driver.describe(rc);
            let why = if rc == 0 { "count 0".to_owned() } else { name };
            return Err(GpuError::NoDevice(format!(
                "{}: {} loaded but {} reports no device ({why})",
                self.vendor().api(),
                self.library_path().display(),
                self.driver.device_count_call()
            )));
        }
        self.driver.check(rc, self.driver.device_count_call())?;
        Ok(n as usize)
    }

    /// Describes one device (briefly making it current to read its free memory).
    pub fn device_info(&self, ordinal: usize) -> Result<DeviceInfo> {
        let count = self.device_count()?;
        if ordinal >= count {
            return Err(GpuError::NoDevice(format!("{}: no device {ordinal} (found {count})", self.vendor().api())));
        }
        let d = &self.driver;
        let dev = d.device_get(ordinal as i32)?;
        let attr = |a| d.device_attribute(a, dev);
        let arch = match self.vendor() {
            Vendor::Nvidia => Arch::nvidia(
                attr(DeviceAttr::ComputeCapabilityMajor)? as u32,
                attr(DeviceAttr::ComputeCapabilityMinor)? as u32,
            ),
            Vendor::Amd => Arch::parse(&d.amd_arch_name(dev)?)?,
        };
        let ctx = d.context_retain(dev)?;
        let free_total = d.make_current(ctx, dev).and_then(|()| d.mem_get_info());
        let _ = d.context_release(dev);
        CURRENT.with(|c| c.set(0));
        let (free, _) = free_total?;
        Ok(DeviceInfo {
            ordinal,
            vendor: self.vendor(),
            name: d.device_name(dev)?,
            arch,
            total_memory: d.device_total_mem(dev)?,
            free_memory: free,
            driver_version: self.driver_version()?,
            warp_size: attr(DeviceAttr::WarpSize)? as u32,
            multiprocessors: attr(DeviceAttr::MultiprocessorCount)? as u32,
            max_threads_per_block: attr(DeviceAttr::MaxThreadsPerBlock)? as u32,
            max_shared_memory_per_block: attr(DeviceAttr::MaxSharedMemoryPerBlock)? as u32,
            l2_cache_bytes: attr(DeviceAttr::L2CacheSize)? as u32,
            runtime_library: self.library_path().to_owned(),
        })
    }

    /// The vendor's run-time compiler, loaded on first use.
    pub fn rtc(&self) -> Result<Arc<Rtc>> {
        self.rtc
            .get_or_init(|| Rtc::load_with(self.vendor(), &self.env).map(Arc::new).map_err(|e| e.to_string()))
            .clone()
            .map_err(GpuError::NoRuntime)
    }

    /// The vendor BLAS library (cuBLAS / hipBLAS), loaded on first use. Optional: the error says
    /// why it is not usable, and the engine's own kernels serve instead.
    pub fn blas(&self) -> Result<Arc<BlasLib>> {
        self.blas
            .get_or_init(|| BlasLib::load(self.vendor(), &self.env).map(Arc::new).map_err(|e| e.to_string()))
            .clone()
            .map_err(GpuError::NoRuntime)
    }

    /// The vendor BLAS library's path, if one is installed (it is optional: our own kernels
    /// are the fallback). Not loaded here.
    pub fn blas_library(&self) -> Option<PathBuf> {
        let kind = match self.vendor() {
            Vendor::Amd => LibKind::HipBlas,
            Vendor::Nvidia => LibKind::Cublas,
        };
        candidates(kind, &self.env).into_iter().find(|p| p.is_absolute())
    }
}

/// What `rocmforge devices` shows for one GPU.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceInfo {
    pub ordinal: usize,
    pub vendor: Vendor,
    pub name: String,
    pub arch: Arch,
    pub total_memory: u64,
    pub free_memory: u64,
    pub driver_version: String,
    pub warp_size: u32,
    pub multiprocessors: u32,
    pub max_threads_per_block: u32,
    pub max_shared_memory_per_block: u32,
    pub l2_cache_bytes: u32,
    pub runtime_library: PathBuf,
}

/// The result of looking for GPUs of both vendors.
#[derive(Debug, Default)]
pub struct Discovery {
    pub devices: Vec<DeviceInfo>,
    /// Why a vendor contributed no device ("HIP: ... reports no device", "CUDA: libcuda.so.1
    /// not found ..."), one entry per vendor without devices.
    pub problems: Vec<String>,
}

impl Discovery {
    /// One line saying why no GPU was found.
    pub fn why_none(&self) -> String {
        self.problems.join("; ")
    }
}

/// Looks for devices of both vendors (AMD first).
pub fn discover() -> Discovery {
    discover_with(&SearchEnv::from_process())
}

/// [`discover`] over the locations `env` describes.
pub fn discover_with(env: &SearchEnv) -> Discovery {
    let mut out = Discovery::default();
    for vendor in Vendor::ALL {
        let found = Runtime::load_with(vendor, env).and_then(|rt| {
            let n = rt.device_count()?;
            (0..n).map(|i| rt.device_info(i)).collect::<Result<Vec<_>>>()
        });
        match found {
            Ok(devs) => out.devices.extend(devs),
            Err(e) => out.problems.push(match e {
                GpuError::NoRuntime(m) => format!("{}: {m}", vendor.api()),
                other => other.to_string(),
            }),
        }
    }
    out
}

thread_local! {
    /// The id of the [`Gpu`] whose context (CUDA) or device (HIP) is current on this thread,
    /// so that binding is a compare in the common case.
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

/// Ids for opened devices (0 means none).
static NEXT_GPU_ID: AtomicU64 = AtomicU64::new(1);

/// The most kernel compilations [`Gpu::compile_all`] runs at once (each holds a compiler's
/// working memory, a few hundred MB for the large parts).
const MAX_COMPILE_THREADS: usize = 16;

/// Shared state of one opened device.
pub(crate) struct GpuInner {
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) device: i32,
    ctx: Handle,
    id: u64,
    pub(crate) info: DeviceInfo,
    compiler: OnceLock<std::result::Result<Arc<Compiler>, String>>,
    custom_compiler: Mutex<Option<Arc<Compiler>>>,
}

impl GpuInner {
    pub(crate) fn driver(&self) -> &Driver {
        self.runtime.driver()
    }

    /// Makes this device current on the calling thread (a no-op when it already is).
    pub(crate) fn bind(&self) -> Result<()> {
        if CURRENT.with(|c| c.get()) == self.id {
            return Ok(());
        }
        self.driver().make_current(self.ctx, self.device)?;
        CURRENT.with(|c| c.set(self.id));
        Ok(())
    }
}

impl Drop for GpuInner {
    fn drop(&mut self) {
        let _ = self.driver().context_release(self.device);
        CURRENT.with(|c| c.set(0));
    }
}

/// One opened GPU: its runtime, context and a default stream. Cheap to clone.
#[derive(Clone)]
pub struct Gpu {
    inner: Arc<GpuInner>,
    stream: Stream,
}

impl Gpu {
    /// Opens device `ordinal` of the first vendor that has devices, AMD first. The environment
    /// variable `ROCMFORGE_GPU_VENDOR` (`amd`/`hip` or `nvidia`/`cuda`) picks one vendor.
    pub fn new(ordinal: usize) -> Result<Gpu> {
        let env = SearchEnv::from_process();
        let forced = std::env::var("ROCMFORGE_GPU_VENDOR").ok().and_then(|v| Vendor::parse(&v));
        let vendors: Vec<Vendor> = match forced {
            Some(v) => vec![v],
            None => Vendor::ALL.to_vec(),
        };
        Gpu::new_with(ordinal, &vendors, &env)
    }

    /// Opens device `ordinal` of the first of `vendors` whose runtime has devices.
    pub fn new_with(ordinal: usize, vendors: &[Vendor], env: &SearchEnv) -> Result<Gpu> {
        let mut problems = Vec::new();
        for &vendor in vendors {
            let opened = Runtime::load_with(vendor, env).and_then(|rt| {
                rt.device_count()?;
                Gpu::open(rt, ordinal)
            });
            match opened {
                Ok(g) => return Ok(g),
                Err(GpuError::NoRuntime(m)) => problems.push(format!("{}: {m}", vendor.api())),
                Err(GpuError::NoDevice(m)) => problems.push(m),
                Err(e) => return Err(e),
            }
        }
        Err(GpuError::NoDevice(format!("no GPU found: {}", problems.join("; "))))
    }

    /// Opens device `ordinal` of a loaded runtime.
    pub fn open(runtime: Arc<Runtime>, ordinal: usize) -> Result<Gpu> {
        let info = runtime.device_info(ordinal)?;
        let driver = runtime.driver();
        let device = driver.device_get(ordinal as i32)?;
        let ctx = driver.context_retain(device)?;
        let inner = Arc::new(GpuInner {
            runtime,
            device,
            ctx,
            id: NEXT_GPU_ID.fetch_add(1, Ordering::Relaxed),
            info,
            compiler: OnceLock::new(),
            custom_compiler: Mutex::new(None),
        });
        inner.bind()?;
        let stream = Stream::new(&inner)?;
        Ok(Gpu { inner, stream })
    }

    pub fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    pub fn vendor(&self) -> Vendor {
        self.inner.info.vendor
    }

    pub fn arch(&self) -> &Arch {
        &self.inner.info.arch
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.inner.runtime
    }

    pub(crate) fn inner(&self) -> &Arc<GpuInner> {
        &self.inner
    }

    /// The default stream (a non-blocking stream of our own, never the legacy null stream).
    pub fn stream(&self) -> &Stream {
        &self.stream
    }

    /// A new stream on this device.
    pub fn new_stream(&self) -> Result<Stream> {
        Stream::new(&self.inner)
    }

    /// A new timing event.
    pub fn event(&self) -> Result<Event> {
        Event::new(&self.inner)
    }

    /// (free, total) bytes of device memory now.
    pub fn memory_info(&self) -> Result<(u64, u64)> {
        self.inner.bind()?;
        self.inner.driver().mem_get_info()
    }

    /// An uninitialised buffer of `len` elements. `what` names it in errors ("layer 3 K cache").
    pub fn alloc<T: DeviceElem>(&self, len: usize, what: &str) -> Result<DeviceBuffer<T>> {
        DeviceBuffer::alloc(&self.inner, len, what)
    }

    /// A buffer holding a copy of `data` (waits for the upload).
    pub fn upload<T: DeviceElem>(&self, data: &[T], what: &str) -> Result<DeviceBuffer<T>> {
        let mut b = self.alloc(data.len(), what)?;
        b.write(&self.stream, data)?;
        Ok(b)
    }

    /// One allocation of `bytes`, handed out in aligned pieces (see [`Arena`]).
    pub fn arena(&self, bytes: usize, what: &str) -> Result<Arena> {
        Arena::new(&self.inner, bytes, what)
    }

    /// Replaces the compiler (its cache directory, say) used by [`Gpu::compile`].
    pub fn set_compiler(&self, compiler: Arc<Compiler>) {
        *self.inner.custom_compiler.lock().unwrap_or_else(|p| p.into_inner()) = Some(compiler);
    }

    /// The compiler [`Gpu::compile`] uses: the vendor's RTC with the default disk cache
    /// (`$ROCMFORGE_KERNEL_CACHE`, else `~/.cache/rocmforge/kernels`), unless replaced.
    pub fn compiler(&self) -> Result<Arc<Compiler>> {
        if let Some(c) = self.inner.custom_compiler.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(c);
        }
        self.inner
            .compiler
            .get_or_init(|| {
                self.inner
                    .runtime
                    .rtc()
                    .map(|rtc| Arc::new(Compiler::new(rtc, KernelCache::from_env())))
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(GpuError::NoRuntime)
    }

    /// Compiles (or takes from the cache) a kernel source for this device and loads it.
    pub fn compile(&self, source: &KernelSource) -> Result<Module> {
        let built = self.compiler()?.build(source, self.arch())?;
        Module::load(&self.inner, source, &built.code, built.from_cache)
    }

    /// [`Gpu::compile`] of each source, the compilations on up to one thread per core (at most
    /// MAX_COMPILE_THREADS; NVRTC runs them side by side, hipRTC one at a time behind its own
    /// lock), the modules loaded in order on this thread.
    pub fn compile_all(&self, sources: &[KernelSource]) -> Result<Vec<Module>> {
        let compiler = self.compiler()?;
        let arch = self.arch();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = cores.min(MAX_COMPILE_THREADS).min(sources.len());
        let build = |src: &KernelSource| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compiler.build(src, arch)))
                .unwrap_or_else(|_| Err(GpuError::Invalid(format!("{}: the compiler panicked", src.name))))
        };
        let mut built: Vec<Option<Result<crate::gpu::rtc::Built>>> = (0..sources.len()).map(|_| None).collect();
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(src) = sources.get(i) else { return done };
                            done.push((i, build(src)));
                        }
                    })
                })
                .collect();
            for w in workers {
                // A build's panic is caught above; a slot left empty is reported below.
                for (i, b) in w.join().unwrap_or_default() {
                    built[i] = Some(b);
                }
            }
        });
        sources
            .iter()
            .zip(built)
            .map(|(src, b)| {
                let b = b.ok_or_else(|| GpuError::Invalid(format!("{}: not compiled", src.name)))??;
                Module::load(&self.inner, src, &b.code, b.from_cache)
            })
            .collect()
    }
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gpu({} {} {})", self.vendor(), self.info().name, self.arch())
    }
}
