//! Loaded code objects and kernel launches.

use std::sync::Arc;

use super::device::GpuInner;
use super::error::{GpuError, Result};
use super::ffi::{DeviceElem, Dims, Handle, RawArg};
use super::memory::{Allocation, DeviceBuffer};
use super::rtc::KernelSource;
use super::signature::{parse_kernels, ArgKind, ElemType, KernelSignature};
use super::stream::Stream;

struct ModuleInner {
    gpu: Arc<GpuInner>,
    handle: Handle,
    name: String,
    kernels: Vec<KernelSignature>,
    from_cache: bool,
}

impl Drop for ModuleInner {
    fn drop(&mut self) {
        if self.gpu.bind().is_ok() {
            let _ = self.gpu.driver().module_unload(self.handle);
        }
    }
}

/// A code object loaded on a device, with the kernel signatures read from its source.
#[derive(Clone)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

impl Module {
    pub(crate) fn load(gpu: &Arc<GpuInner>, source: &KernelSource, code: &[u8], from_cache: bool) -> Result<Module> {
        let kernels = parse_kernels(&source.source).map_err(|e| GpuError::Invalid(format!("{}: {e}", source.name)))?;
        gpu.bind()?;
        let handle = gpu
            .driver()
            .module_load_data(code)
            .map_err(|e| e.with_context(|| format!("loading {} for {}", source.name, gpu.info.arch)))?;
        Ok(Module {
            inner: Arc::new(ModuleInner {
                gpu: gpu.clone(),
                handle,
                name: source.name.to_string(),
                kernels,
                from_cache,
            }),
        })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Whether the code object came from the disk cache (no compilation ran).
    pub fn from_cache(&self) -> bool {
        self.inner.from_cache
    }

    /// The kernels the source declares.
    pub fn kernel_names(&self) -> Vec<&str> {
        self.inner.kernels.iter().map(|k| k.name.as_str()).collect()
    }

    /// Looks up a kernel by name.
    pub fn kernel(&self, name: &str) -> Result<Kernel> {
        let sig = self.inner.kernels.iter().find(|k| k.name == name).ok_or_else(|| {
            GpuError::Invalid(format!(
                "{} has no kernel {name} (it has: {})",
                self.inner.name,
                self.kernel_names().join(", ")
            ))
        })?;
        let gpu = &self.inner.gpu;
        gpu.bind()?;
        let func = gpu.driver().module_get_function(self.inner.handle, name)?;
        Ok(Kernel { module: self.inner.clone(), func, sig: Arc::new(sig.clone()), name: name.into() })
    }
}

/// Grid, block and dynamic shared memory of a launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaunchConfig {
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub shared_bytes: u32,
}

impl LaunchConfig {
    pub fn new(grid: [u32; 3], block: [u32; 3]) -> LaunchConfig {
        LaunchConfig { grid, block, shared_bytes: 0 }
    }

    /// One block of `threads` per row.
    pub fn rows(rows: u32, threads: u32) -> LaunchConfig {
        LaunchConfig::new([rows, 1, 1], [threads, 1, 1])
    }

    /// Enough blocks of `threads` to cover `n` elements, one thread each.
    pub fn for_elements(n: usize, threads: u32) -> LaunchConfig {
        let blocks = n.div_ceil(threads.max(1) as usize).max(1);
        LaunchConfig::new([u32::try_from(blocks).unwrap_or(u32::MAX), 1, 1], [threads, 1, 1])
    }

    pub fn with_shared_bytes(mut self, bytes: u32) -> LaunchConfig {
        self.shared_bytes = bytes;
        self
    }
}

/// One launch argument: a buffer (shared or mutable borrow) or a scalar. Made with `From`
/// (`Arg::from(&buf)`, `Arg::from(&mut buf)`, `Arg::from(3i32)`) or [`gpu_args!`](crate::gpu_args).
#[derive(Clone)]
pub struct Arg<'a>(ArgInner<'a>);

#[derive(Clone)]
enum ArgInner<'a> {
    Buffer {
        ptr: u64,
        elem: ElemType,
        mutable: bool,
        alloc: &'a Arc<Allocation>,
    },
    /// A null pointer (an absent optional buffer).
    Null(ElemType),
    Scalar(RawArg, ElemType),
}

impl<'a, T: DeviceElem> From<&'a DeviceBuffer<T>> for Arg<'a> {
    fn from(b: &'a DeviceBuffer<T>) -> Self {
        Arg(ArgInner::Buffer { ptr: b.device_ptr(), elem: T::ELEM, mutable: false, alloc: b.allocation() })
    }
}

impl<'a, T: DeviceElem> From<&'a mut DeviceBuffer<T>> for Arg<'a> {
    fn from(b: &'a mut DeviceBuffer<T>) -> Self {
        Arg(ArgInner::Buffer { ptr: b.device_ptr(), elem: T::ELEM, mutable: true, alloc: b.allocation() })
    }
}

macro_rules! scalar_arg {
    ($($t:ty => $v:ident),*) => {
        $(impl From<$t> for Arg<'_> {
            fn from(v: $t) -> Self {
                Arg(ArgInner::Scalar(RawArg::$v(v), ElemType::$v))
            }
        })*
    };
}
scalar_arg!(i32 => I32, u32 => U32, i64 => I64, u64 => U64, f32 => F32, f64 => F64);

impl<'a, T: DeviceElem> From<Option<&'a DeviceBuffer<T>>> for Arg<'a> {
    /// A buffer, or a null pointer for `None`: an optional input the kernel checks for null.
    fn from(b: Option<&'a DeviceBuffer<T>>) -> Self {
        b.map_or(Arg(ArgInner::Null(T::ELEM)), Arg::from)
    }
}

impl Arg<'_> {
    /// A null pointer for a `T*` parameter, const or not, that the kernel checks for null or
    /// never dereferences (an absent optional buffer).
    pub fn null<T: DeviceElem>() -> Arg<'static> {
        Arg(ArgInner::Null(T::ELEM))
    }

    fn kind(&self) -> ArgKind {
        match self.0 {
            ArgInner::Buffer { elem, mutable, .. } => ArgKind::Buffer { elem, mutable },
            ArgInner::Null(elem) => ArgKind::Buffer { elem, mutable: true },
            ArgInner::Scalar(_, e) => ArgKind::Scalar(e),
        }
    }

    fn raw(&self) -> RawArg {
        match self.0 {
            ArgInner::Buffer { ptr, .. } => RawArg::Ptr(ptr),
            ArgInner::Null(_) => RawArg::Ptr(0),
            ArgInner::Scalar(v, _) => v,
        }
    }

    fn allocation(&self) -> Option<&Arc<Allocation>> {
        match &self.0 {
            ArgInner::Buffer { alloc, .. } => Some(alloc),
            ArgInner::Null(_) | ArgInner::Scalar(..) => None,
        }
    }
}

/// Builds a launch argument array: `gpu_args![&x, &w, &mut y, n as i32, 1e-6f32]`.
#[macro_export]
macro_rules! gpu_args {
    ($($a:expr),* $(,)?) => {
        [$($crate::gpu::Arg::from($a)),*]
    };
}

/// A kernel of a loaded module. Cheap to clone.
#[derive(Clone)]
pub struct Kernel {
    module: Arc<ModuleInner>,
    func: Handle,
    sig: Arc<KernelSignature>,
    name: Arc<str>,
}

impl Kernel {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn signature(&self) -> &KernelSignature {
        &self.sig
    }

    /// Queues the kernel on `stream`. The arguments are checked against the kernel's declared
    /// parameters and the configuration against the device's limits first; buffers passed
    /// stay allocated until the work has finished.
    pub fn launch(&self, stream: &Stream, cfg: LaunchConfig, args: &[Arg<'_>]) -> Result<()> {
        let gpu = &self.module.gpu;
        if !Arc::ptr_eq(gpu, stream.gpu()) {
            return Err(GpuError::Invalid(format!("kernel {} launched on a stream of another device", self.name)));
        }
        let kinds: Vec<ArgKind> = args.iter().map(Arg::kind).collect();
        self.sig.check(&kinds).map_err(GpuError::Invalid)?;
        for alloc in args.iter().filter_map(Arg::allocation) {
            if !Arc::ptr_eq(alloc.gpu(), gpu) {
                return Err(GpuError::Invalid(format!(
                    "kernel {}: buffer {} belongs to another device",
                    self.name,
                    alloc.what()
                )));
            }
        }
        self.check_config(&cfg)?;
        let raw: Vec<RawArg> = args.iter().map(Arg::raw).collect();
        gpu.bind()?;
        let dims = Dims { grid: cfg.grid, block: cfg.block, shared_bytes: cfg.shared_bytes };
        gpu.driver().launch(self.func, dims, stream.handle(), &raw).map_err(|e| {
            e.with_context(|| format!("launching {} with grid {:?} block {:?}", self.name, cfg.grid, cfg.block))
        })?;
        stream.note_op(&self.name);
        stream.keep(self.module.clone());
        for alloc in args.iter().filter_map(Arg::allocation) {
            stream.keep(alloc.clone());
        }
        Ok(())
    }

    fn check_config(&self, cfg: &LaunchConfig) -> Result<()> {
        let info = &self.module.gpu.info;
        let threads: u64 = cfg.block.iter().map(|&b| u64::from(b)).product();
        let bad = |why: String| Err(GpuError::Invalid(format!("kernel {}: {why}", self.name)));
        if cfg.grid.contains(&0) || cfg.block.contains(&0) {
            return bad(format!("empty launch (grid {:?}, block {:?})", cfg.grid, cfg.block));
        }
        if threads > u64::from(info.max_threads_per_block) {
            return bad(format!(
                "block of {threads} threads is over the device's {} per block",
                info.max_threads_per_block
            ));
        }
        if cfg.grid[0] > i32::MAX as u32 || cfg.grid[1] > 65535 || cfg.grid[2] > 65535 {
            return bad(format!("grid {:?} is over the limits (2^31-1, 65535, 65535)", cfg.grid));
        }
        if cfg.shared_bytes > info.max_shared_memory_per_block {
            return bad(format!(
                "{} bytes of dynamic shared memory is over the device's {} per block",
                cfg.shared_bytes, info.max_shared_memory_per_block
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kernel({} in {})", self.name, self.module.name)
    }
}
