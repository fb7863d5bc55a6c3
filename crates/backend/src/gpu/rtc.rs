//! Run-time compilation of kernel sources (NVRTC / hipRTC) for the exact device, and the disk
//! cache of the resulting code objects.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::arch::Arch;
use super::error::{GpuError, Result};
use super::ffi::RtcLib;
use super::kernels::HEADERS;
use super::search::SearchEnv;
use super::vendor::Vendor;

/// A kernel source file: single-source C++ that includes `prelude.h`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelSource {
    /// File name, used in messages and as the program name (`elementwise.cu`).
    pub name: Cow<'static, str>,
    pub source: Cow<'static, str>,
}

impl KernelSource {
    /// A source compiled into the binary.
    pub const fn new_static(name: &'static str, source: &'static str) -> KernelSource {
        KernelSource { name: Cow::Borrowed(name), source: Cow::Borrowed(source) }
    }

    /// A source made at run time.
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> KernelSource {
        KernelSource { name: Cow::Owned(name.into()), source: Cow::Owned(source.into()) }
    }

    /// Only the entry points of part `part` of this source (prelude.h's RF_PART_ONLY), named
    /// `<name>[<part>]`.
    pub fn part(&self, part: &str) -> KernelSource {
        // `#line 1`: the compiler's messages give the file's own line numbers.
        let source = format!("#define RF_PART_ONLY 1\n#define RF_PART_{part} 1\n#line 1\n{}", self.source);
        KernelSource::new(format!("{}[{part}]", self.name), source)
    }
}

/// The name under which kernels include the prelude.
pub const PRELUDE_NAME: &str = "prelude.h";

/// A loaded run-time compiler.
pub struct Rtc {
    lib: RtcLib,
    version: (i32, i32),
    id: String,
}

impl Rtc {
    /// Loads the vendor's compiler from the usual locations (and `$ROCMFORGE_NVRTC` /
    /// `$ROCMFORGE_HIPRTC`).
    pub fn load(vendor: Vendor) -> Result<Rtc> {
        Rtc::load_with(vendor, &SearchEnv::from_process())
    }

    pub fn load_with(vendor: Vendor, env: &SearchEnv) -> Result<Rtc> {
        Rtc::new(RtcLib::load(vendor, env)?)
    }

    /// Loads the compiler from one library file.
    pub fn load_path(vendor: Vendor, path: &Path) -> Result<Rtc> {
        Rtc::new(RtcLib::load_path(vendor, path)?)
    }

    fn new(lib: RtcLib) -> Result<Rtc> {
        let version = lib.version()?;
        let file = lib
            .path()
            .file_name()
            .map_or_else(|| lib.path().display().to_string(), |f| f.to_string_lossy().into_owned());
        let size = std::fs::metadata(lib.path())
            .map(|m| format!("{} bytes", m.len()))
            .unwrap_or_else(|_| "size unknown".into());
        let id = format!("{} {}.{} ({file}, {size})", lib.vendor().rtc_name(), version.0, version.1);
        Ok(Rtc { lib, version, id })
    }

    pub fn vendor(&self) -> Vendor {
        self.lib.vendor()
    }

    pub fn library_path(&self) -> &Path {
        self.lib.path()
    }

    /// (major, minor) as the library reports it.
    pub fn version(&self) -> (i32, i32) {
        self.version
    }

    /// The compiler's identity for cache keys: name, version, library file and size.
    pub fn compiler_id(&self) -> &str {
        &self.id
    }

    /// The options used for `arch`: the target and `RF_WARP` from [`Arch::compile_options`].
    pub fn options_for(&self, arch: &Arch) -> Result<Vec<String>> {
        if arch.vendor() != self.vendor() {
            return Err(GpuError::Invalid(format!("{} cannot compile for {arch}", self.vendor().rtc_name())));
        }
        Ok(arch.compile_options())
    }

    /// Compiles `source` (with the headers of [`HEADERS`], the prelude among them) for `arch` and returns the
    /// code object (a cubin for NVIDIA, a code object for AMD). Errors carry the compiler log.
    pub fn compile(&self, source: &KernelSource, arch: &Arch) -> Result<Vec<u8>> {
        let options = self.options_for(arch)?;
        self.compile_with_options(source, arch, &options)
    }

    fn compile_with_options(&self, source: &KernelSource, arch: &Arch, options: &[String]) -> Result<Vec<u8>> {
        let out = self.lib.compile(&source.name, &source.source, HEADERS, options)?;
        match out {
            Ok(code) if code.is_empty() => Err(GpuError::Compile {
                name: source.name.to_string(),
                arch: arch.to_string(),
                compiler: self.id.clone(),
                status: "empty code object".into(),
                log: String::new(),
            }),
            Ok(code) => Ok(code),
            Err((status, log)) => Err(GpuError::Compile {
                name: source.name.to_string(),
                arch: arch.to_string(),
                compiler: self.id.clone(),
                status,
                log,
            }),
        }
    }
}

/// The cache key of a compilation: SHA-256 over the vendor, the exact target, the compiler's
/// identity, every option, and the full source text (every header included), each field
/// length-prefixed so that no two different inputs hash the same bytes.
pub fn cache_key(vendor: Vendor, arch: &Arch, compiler_id: &str, options: &[String], source: &KernelSource) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &[u8]| {
        h.update((s.len() as u64).to_le_bytes());
        h.update(s);
    };
    field(b"rocmforge kernel cache v1");
    field(vendor.id().as_bytes());
    field(arch.target().as_bytes());
    field(compiler_id.as_bytes());
    field(&(options.len() as u64).to_le_bytes());
    for o in options {
        field(o.as_bytes());
    }
    field(source.name.as_bytes());
    for (name, text) in HEADERS {
        field(name.as_bytes());
        field(text.as_bytes());
    }
    field(source.source.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Code objects on disk, one file per cache key. Files carry a checksum of their contents; a
/// damaged file is ignored (and rewritten by the next compilation).
#[derive(Clone, Debug)]
pub struct KernelCache {
    dir: PathBuf,
}

const MAGIC: &[u8; 8] = b"RFKCODE1";

impl KernelCache {
    pub fn new(dir: impl Into<PathBuf>) -> KernelCache {
        KernelCache { dir: dir.into() }
    }

    /// `$ROCMFORGE_KERNEL_CACHE` (`off` disables the cache), else [`KernelCache::default_dir`].
    pub fn from_env() -> Option<KernelCache> {
        match std::env::var("ROCMFORGE_KERNEL_CACHE") {
            Ok(v) if v == "off" || v == "0" || v.is_empty() => None,
            Ok(v) => Some(KernelCache::new(v)),
            Err(_) => KernelCache::default_dir().map(KernelCache::new),
        }
    }

    /// `$XDG_CACHE_HOME/rocmforge/kernels`, else `~/.cache/rocmforge/kernels`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("rocmforge").join("kernels"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file for a key: `<vendor>-<arch>-<key>.bin`.
    pub fn path_for(&self, vendor: Vendor, arch: &Arch, key: &str) -> PathBuf {
        let arch: String = arch.name().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        self.dir.join(format!("{}-{arch}-{key}.bin", vendor.id()))
    }

    /// The cached code object, if present and intact.
    pub fn load(&self, path: &Path) -> Option<Vec<u8>> {
        let data = std::fs::read(path).ok()?;
        let body = data.strip_prefix(MAGIC.as_slice())?;
        if body.len() < 32 {
            return None;
        }
        let (sum, code) = body.split_at(32);
        (Sha256::digest(code).as_slice() == sum && !code.is_empty()).then(|| code.to_vec())
    }

    /// Writes a code object atomically (a temporary file renamed into place).
    pub fn store(&self, path: &Path, code: &[u8]) -> Result<()> {
        let io = |source| GpuError::Cache { path: path.to_owned(), source };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let tmp = path.with_extension(format!("tmp{}-{}", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
        let mut data = Vec::with_capacity(MAGIC.len() + 32 + code.len());
        data.extend_from_slice(MAGIC);
        data.extend_from_slice(&Sha256::digest(code));
        data.extend_from_slice(code);
        std::fs::write(&tmp, &data).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }
}

/// A compiled (or cached) code object.
#[derive(Clone, Debug)]
pub struct Built {
    pub code: Vec<u8>,
    /// True when the code object came from the disk cache and nothing was compiled.
    pub from_cache: bool,
    pub key: String,
    /// Time spent compiling (zero for a cache hit).
    pub compile_time: Duration,
}

/// A compiler with its disk cache; counts compilations and cache hits.
pub struct Compiler {
    rtc: Arc<Rtc>,
    cache: Option<KernelCache>,
    compiled: AtomicUsize,
    cache_hits: AtomicUsize,
    warned: AtomicBool,
    /// Whether a compilation has been announced on stderr (once: a first run waits for them).
    announced: AtomicBool,
    /// Compiler time summed over compilations, and the slowest one (source name, time).
    compile_time: Mutex<(Duration, Option<(String, Duration)>)>,
}

impl Compiler {
    pub fn new(rtc: Arc<Rtc>, cache: Option<KernelCache>) -> Compiler {
        Compiler {
            rtc,
            cache,
            compiled: AtomicUsize::new(0),
            cache_hits: AtomicUsize::new(0),
            warned: AtomicBool::new(false),
            announced: AtomicBool::new(false),
            compile_time: Mutex::new((Duration::ZERO, None)),
        }
    }

    pub fn rtc(&self) -> &Arc<Rtc> {
        &self.rtc
    }

    pub fn cache(&self) -> Option<&KernelCache> {
        self.cache.as_ref()
    }

    /// Compilations run by this compiler.
    pub fn compiled(&self) -> usize {
        self.compiled.load(Ordering::Relaxed)
    }

    /// Code objects taken from the cache by this compiler.
    pub fn cache_hits(&self) -> usize {
        self.cache_hits.load(Ordering::Relaxed)
    }

    /// What this compiler did, for a verbose report: "N compiled (S s summed over compilations,
    /// the longest NAME T s), M from the cache". Each time is the compilation's wall time, so
    /// compilations side by side include waiting for a core (or for hipRTC's lock).
    pub fn summary(&self) -> String {
        let (total, slowest) = self.compile_time.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let slowest =
            slowest.map(|(name, t)| format!(", the longest {name} {:.1} s", t.as_secs_f64())).unwrap_or_default();
        format!(
            "{} compiled ({:.1} s summed over compilations{slowest}), {} from the cache",
            self.compiled(),
            total.as_secs_f64(),
            self.cache_hits()
        )
    }

    /// The code object for `source` on `arch`: from the cache when present, else compiled (and
    /// stored; a cache that cannot be written is reported once on stderr, not an error).
    pub fn build(&self, source: &KernelSource, arch: &Arch) -> Result<Built> {
        let options = self.rtc.options_for(arch)?;
        let key = cache_key(self.rtc.vendor(), arch, self.rtc.compiler_id(), &options, source);
        let path = self.cache.as_ref().map(|c| c.path_for(self.rtc.vendor(), arch, &key));
        if let (Some(cache), Some(path)) = (&self.cache, &path) {
            if let Some(code) = cache.load(path) {
                self.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Built { code, from_cache: true, key, compile_time: Duration::ZERO });
            }
        }
        if !self.announced.swap(true, Ordering::Relaxed) {
            let kept = match &self.cache {
                Some(c) => format!("kept in {} for later runs", c.dir().display()),
                None => "the kernel cache is off, so every run compiles them".into(),
            };
            eprintln!("compiling GPU kernels for {arch} (once per build and device; {kept})");
        }
        let start = Instant::now();
        let code = self.rtc.compile_with_options(source, arch, &options)?;
        let compile_time = start.elapsed();
        self.compiled.fetch_add(1, Ordering::Relaxed);
        {
            let mut times = self.compile_time.lock().unwrap_or_else(|p| p.into_inner());
            times.0 += compile_time;
            if times.1.as_ref().is_none_or(|(_, t)| compile_time > *t) {
                times.1 = Some((source.name.to_string(), compile_time));
            }
        }
        if let (Some(cache), Some(path)) = (&self.cache, &path) {
            if let Err(e) = cache.store(path, &code) {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    eprintln!("warning: {e} (kernels will be compiled again next time)");
                }
            }
        }
        Ok(Built { code, from_cache: false, key, compile_time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> KernelSource {
        KernelSource::new("k.cu", text)
    }

    #[test]
    fn cache_key_covers_every_input() {
        let sm90 = Arch::nvidia(9, 0);
        let opts = sm90.compile_options();
        let base = cache_key(Vendor::Nvidia, &sm90, "NVRTC 13.0", &opts, &src("a"));
        assert_eq!(base.len(), 64);
        assert_eq!(base, cache_key(Vendor::Nvidia, &sm90, "NVRTC 13.0", &opts, &src("a")));
        let others = [
            cache_key(Vendor::Amd, &sm90, "NVRTC 13.0", &opts, &src("a")),
            cache_key(Vendor::Nvidia, &Arch::nvidia(8, 0), "NVRTC 13.0", &opts, &src("a")),
            cache_key(Vendor::Nvidia, &sm90, "NVRTC 12.8", &opts, &src("a")),
            cache_key(Vendor::Nvidia, &sm90, "NVRTC 13.0", &opts[..2], &src("a")),
            cache_key(Vendor::Nvidia, &sm90, "NVRTC 13.0", &opts, &src("b")),
            cache_key(Vendor::Nvidia, &sm90, "NVRTC 13.0", &opts, &KernelSource::new("other.cu", "a")),
        ];
        for k in others {
            assert_ne!(k, base);
        }
        // Field boundaries matter: ("ab", "c") and ("a", "bc") differ.
        let a = cache_key(Vendor::Nvidia, &sm90, "x", &["ab".into(), "c".into()], &src("a"));
        let b = cache_key(Vendor::Nvidia, &sm90, "x", &["a".into(), "bc".into()], &src("a"));
        assert_ne!(a, b);
        // Target features of AMD targets are part of the key.
        let g1 = Arch::parse("gfx90a:xnack-").unwrap();
        let g2 = Arch::parse("gfx90a:xnack+").unwrap();
        assert_ne!(cache_key(Vendor::Amd, &g1, "h", &[], &src("a")), cache_key(Vendor::Amd, &g2, "h", &[], &src("a")));
    }

    #[test]
    fn cache_files_round_trip_and_reject_damage() {
        let dir = std::env::temp_dir().join(format!("rf-kcache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cache = KernelCache::new(&dir);
        let arch = Arch::parse("gfx90a:sramecc+:xnack-").unwrap();
        let path = cache.path_for(Vendor::Amd, &arch, "abc");
        assert_eq!(path, dir.join("amd-gfx90a-abc.bin"));
        assert_eq!(cache.load(&path), None);
        cache.store(&path, b"\x7fELF code").unwrap();
        assert_eq!(cache.load(&path).as_deref(), Some(&b"\x7fELF code"[..]));
        let mut data = std::fs::read(&path).unwrap();
        *data.last_mut().unwrap() ^= 1;
        std::fs::write(&path, &data).unwrap();
        assert_eq!(cache.load(&path), None, "a damaged file is not used");
        std::fs::write(&path, b"short").unwrap();
        assert_eq!(cache.load(&path), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
