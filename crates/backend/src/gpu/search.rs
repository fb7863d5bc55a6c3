//! Where the runtime libraries are looked for. Pure logic over an environment snapshot, so the
//! candidate lists can be tested without any SDK installed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The libraries the GPU layer loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibKind {
    /// `libamdhip64.so`: the HIP runtime (and, in ROCm 5.x, hipRTC too).
    HipRuntime,
    /// `libhiprtc.so` (ROCm 6+).
    HipRtc,
    /// `libhipblas.so` (optional).
    HipBlas,
    /// `libcuda.so.1`: the CUDA driver API.
    CudaDriver,
    /// `libnvrtc.so`.
    Nvrtc,
    /// `libcublas.so` (optional).
    Cublas,
}

impl LibKind {
    /// Versioned and unversioned file names, most preferred first.
    pub fn sonames(self) -> &'static [&'static str] {
        match self {
            LibKind::HipRuntime => &["libamdhip64.so", "libamdhip64.so.7", "libamdhip64.so.6", "libamdhip64.so.5"],
            LibKind::HipRtc => &["libhiprtc.so", "libhiprtc.so.7", "libhiprtc.so.6", "libhiprtc.so.5"],
            LibKind::HipBlas => {
                &["libhipblas.so", "libhipblas.so.3", "libhipblas.so.2", "libhipblas.so.1", "libhipblas.so.0"]
            }
            LibKind::CudaDriver => &["libcuda.so.1", "libcuda.so"],
            LibKind::Nvrtc => &["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"],
            LibKind::Cublas => &["libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11"],
        }
    }

    /// The environment variable that, when set, is the only place looked at (a file, or a
    /// directory holding one of the sonames).
    pub fn override_var(self) -> Option<&'static str> {
        match self {
            LibKind::HipRuntime => Some("ROCMFORGE_HIP"),
            LibKind::HipRtc => Some("ROCMFORGE_HIPRTC"),
            LibKind::CudaDriver => Some("ROCMFORGE_CUDA_DRIVER"),
            LibKind::Nvrtc => Some("ROCMFORGE_NVRTC"),
            LibKind::HipBlas | LibKind::Cublas => None,
        }
    }

    fn is_cuda(self) -> bool {
        matches!(self, LibKind::CudaDriver | LibKind::Nvrtc | LibKind::Cublas)
    }
}

/// A snapshot of the variables the search reads (and the home directory).
#[derive(Clone, Debug, Default)]
pub struct SearchEnv {
    vars: HashMap<String, String>,
    /// When false, bare sonames (the system loader's own search) and the fixed system
    /// directories are not tried: only what the variables name. Tests use this to simulate a
    /// machine without any runtime.
    pub system: bool,
}

const VARS: [&str; 10] = [
    "ROCMFORGE_HIP",
    "ROCMFORGE_HIPRTC",
    "ROCMFORGE_CUDA_DRIVER",
    "ROCMFORGE_NVRTC",
    "CUDA_PATH",
    "CUDA_HOME",
    "ROCM_PATH",
    "HIP_PATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
];

impl SearchEnv {
    /// The process environment, with system locations enabled.
    pub fn from_process() -> SearchEnv {
        let mut vars: HashMap<String, String> =
            VARS.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect();
        if let Ok(home) = std::env::var("HOME") {
            vars.insert("HOME".into(), home);
        }
        SearchEnv { vars, system: true }
    }

    /// No variables and no system locations: nothing will be found.
    pub fn empty() -> SearchEnv {
        SearchEnv::default()
    }

    /// Sets a variable in the snapshot (not in the process).
    pub fn with_var(mut self, key: &str, value: impl Into<String>) -> SearchEnv {
        self.vars.insert(key.to_owned(), value.into());
        self
    }

    fn var(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// Paths to try for `kind`, in order. Directory candidates are listed only where the file
/// exists; bare sonames (left to the system loader: `LD_LIBRARY_PATH`, the ld.so cache) are
/// always listed when system locations are enabled.
pub fn candidates(kind: LibKind, env: &SearchEnv) -> Vec<PathBuf> {
    if let Some(var) = kind.override_var() {
        if let Some(value) = env.var(var) {
            let p = PathBuf::from(value);
            if p.is_dir() {
                return kind.sonames().iter().map(|s| p.join(s)).filter(|p| p.exists()).collect();
            }
            return vec![p];
        }
    }
    let mut out: Vec<PathBuf> = Vec::new();
    let push_dir = |dir: &Path, out: &mut Vec<PathBuf>| {
        for name in kind.sonames() {
            let p = dir.join(name);
            if p.is_file() && !out.contains(&p) {
                out.push(p);
            }
        }
    };
    let bare = |out: &mut Vec<PathBuf>| {
        for name in kind.sonames() {
            out.push(PathBuf::from(name));
        }
    };
    if kind == LibKind::CudaDriver {
        // The driver matches the kernel module: the system loader's copy comes first.
        if env.system {
            bare(&mut out);
            for d in ["/usr/local/nvidia/lib64", "/usr/lib/wsl/lib", "/usr/lib64", "/usr/lib/x86_64-linux-gnu"] {
                push_dir(Path::new(d), &mut out);
            }
        }
        return out;
    }
    if kind.is_cuda() {
        for var in ["CUDA_PATH", "CUDA_HOME"] {
            if let Some(root) = env.var(var) {
                for sub in ["lib64", "lib", "targets/x86_64-linux/lib"] {
                    push_dir(&Path::new(root).join(sub), &mut out);
                }
            }
        }
        if env.system {
            bare(&mut out);
            let mut roots = vec![PathBuf::from("/usr/local/cuda")];
            roots.extend(glob(Path::new("/usr/local/cuda-*")));
            roots.extend(glob(Path::new("/opt/cuda")));
            for root in roots {
                for sub in ["lib64", "targets/x86_64-linux/lib"] {
                    push_dir(&root.join(sub), &mut out);
                }
            }
        }
        // Python wheels: nvidia-cuda-nvrtc (cu13 layout and the older per-library layout),
        // nvidia-cublas.
        let sub: &[&str] = match kind {
            LibKind::Nvrtc => &["nvidia/cu13/lib", "nvidia/cuda_nvrtc/lib"],
            _ => &["nvidia/cu13/lib", "nvidia/cublas/lib"],
        };
        for site in python_site_dirs(env) {
            for s in sub {
                push_dir(&site.join(s), &mut out);
            }
        }
        return out;
    }
    // AMD.
    for var in ["ROCM_PATH", "HIP_PATH"] {
        if let Some(root) = env.var(var) {
            push_dir(&Path::new(root).join("lib"), &mut out);
        }
    }
    if env.system {
        push_dir(Path::new("/opt/rocm/lib"), &mut out);
        for root in glob(Path::new("/opt/rocm-*")) {
            push_dir(&root.join("lib"), &mut out);
        }
        bare(&mut out);
    }
    out
}

/// The file a loaded library really is: the canonical path of `path` when it names a file, or,
/// for a bare soname the system loader resolved (or that matched a library already loaded),
/// the mapped file of that name in `/proc/self/maps`. Falls back to `path` itself.
pub fn loaded_library_path(path: &Path) -> PathBuf {
    if path.components().count() > 1 {
        return std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    }
    let name = path.to_string_lossy();
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return path.to_owned();
    };
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(Path::new)
        .find(|p| p.file_name().is_some_and(|f| same_library(&f.to_string_lossy(), &name)))
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_owned()))
        .unwrap_or_else(|| path.to_owned())
}

/// Whether a mapped file name is the library a soname refers to: the same name, or the same
/// stem up to `.so` with another version (`libcuda.so.1` is a link to `libcuda.so.580.159.04`).
fn same_library(file: &str, soname: &str) -> bool {
    if file == soname {
        return true;
    }
    let Some(stem_end) = soname.find(".so").map(|i| i + 3) else {
        return false;
    };
    file.strip_prefix(&soname[..stem_end]).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Python `site-packages`/`dist-packages` directories worth a look for NVIDIA wheels.
fn python_site_dirs(env: &SearchEnv) -> Vec<PathBuf> {
    let mut patterns: Vec<PathBuf> = Vec::new();
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(root) = env.var(var) {
            patterns.push(Path::new(root).join("lib/python3*/site-packages"));
        }
    }
    if env.system {
        if let Some(home) = env.var("HOME") {
            patterns.push(Path::new(home).join(".local/lib/python3*/site-packages"));
            patterns.push(Path::new(home).join(".pyenv/versions/*/lib/python3*/site-packages"));
        }
        for p in [
            "/usr/local/lib/python3*/dist-packages",
            "/usr/local/lib/python3*/site-packages",
            "/usr/lib/python3/dist-packages",
            "/usr/lib/python3*/site-packages",
            "/opt/conda/lib/python3*/site-packages",
            "/opt/*/.venv/lib/python3*/site-packages",
        ] {
            patterns.push(PathBuf::from(p));
        }
    }
    patterns.iter().flat_map(|p| glob(p)).collect()
}

/// Expands `*` inside path components (`/usr/local/cuda-*`, `lib/python3*/site-packages`) to
/// the existing paths, newest version first (numbers compared as numbers).
pub fn glob(pattern: &Path) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::new()];
    for comp in pattern.components() {
        let comp = comp.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &current {
            if let Some((prefix, suffix)) = comp.split_once('*') {
                let dir = if base.as_os_str().is_empty() { Path::new(".") } else { base.as_path() };
                let Ok(entries) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix))
                    .collect();
                names.sort_by(|a, b| version_cmp(b, a));
                next.extend(names.into_iter().map(|n| base.join(n)));
            } else {
                next.push(base.join(comp.as_ref()));
            }
        }
        current = next;
    }
    current.into_iter().filter(|p| p.exists()).collect()
}

/// Compares strings with embedded numbers numerically: "cuda-12.10" > "cuda-12.9".
fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let ord = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rf-search-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"").unwrap();
    }

    #[test]
    fn sonames_try_versioned_names() {
        assert_eq!(
            LibKind::HipRuntime.sonames(),
            ["libamdhip64.so", "libamdhip64.so.7", "libamdhip64.so.6", "libamdhip64.so.5"]
        );
        assert!(LibKind::Nvrtc.sonames().contains(&"libnvrtc.so.13"));
        assert!(LibKind::Nvrtc.sonames().contains(&"libnvrtc.so.12"));
        assert_eq!(LibKind::CudaDriver.sonames()[0], "libcuda.so.1");
    }

    #[test]
    fn empty_environment_finds_nothing() {
        for kind in [LibKind::HipRuntime, LibKind::HipRtc, LibKind::CudaDriver, LibKind::Nvrtc, LibKind::Cublas] {
            assert!(candidates(kind, &SearchEnv::empty()).is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn override_is_exclusive() {
        let d = tmp("override");
        touch(&d.join("libnvrtc.so.13"));
        let env = SearchEnv::empty().with_var("ROCMFORGE_NVRTC", d.to_string_lossy());
        assert_eq!(candidates(LibKind::Nvrtc, &env), vec![d.join("libnvrtc.so.13")]);
        let file = SearchEnv::empty().with_var("ROCMFORGE_NVRTC", "/x/libnvrtc.so.12");
        assert_eq!(candidates(LibKind::Nvrtc, &file), vec![PathBuf::from("/x/libnvrtc.so.12")]);
    }

    #[test]
    fn cuda_path_layouts_and_wheels() {
        let d = tmp("cuda");
        touch(&d.join("cuda/targets/x86_64-linux/lib/libnvrtc.so.12"));
        touch(&d.join("cuda/lib64/libcublas.so.12"));
        touch(&d.join("venv/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13"));
        let env = SearchEnv::empty()
            .with_var("CUDA_PATH", d.join("cuda").to_string_lossy())
            .with_var("VIRTUAL_ENV", d.join("venv").to_string_lossy());
        assert_eq!(
            candidates(LibKind::Nvrtc, &env),
            vec![
                d.join("cuda/targets/x86_64-linux/lib/libnvrtc.so.12"),
                d.join("venv/lib/python3.12/site-packages/nvidia/cu13/lib/libnvrtc.so.13"),
            ]
        );
        assert_eq!(candidates(LibKind::Cublas, &env), vec![d.join("cuda/lib64/libcublas.so.12")]);
    }

    #[test]
    fn rocm_path_layout() {
        let d = tmp("rocm");
        touch(&d.join("lib/libamdhip64.so.6"));
        touch(&d.join("lib/libhiprtc.so.6"));
        let env = SearchEnv::empty().with_var("ROCM_PATH", d.to_string_lossy());
        assert_eq!(candidates(LibKind::HipRuntime, &env), vec![d.join("lib/libamdhip64.so.6")]);
        assert_eq!(candidates(LibKind::HipRtc, &env), vec![d.join("lib/libhiprtc.so.6")]);
    }

    #[test]
    fn mapped_files_match_their_soname() {
        assert!(same_library("libcuda.so.580.159.04", "libcuda.so.1"));
        assert!(same_library("libnvrtc.so.13.0.88", "libnvrtc.so.13"));
        assert!(same_library("libnvrtc.so.13", "libnvrtc.so.13"));
        assert!(!same_library("libcudart.so.13", "libcuda.so.1"));
        assert!(!same_library("libnvrtc-builtins.so.13.0", "libnvrtc.so.13"));
        assert!(!same_library("libnvrtc.sox", "libnvrtc.so"));
    }

    #[test]
    fn glob_sorts_versions_newest_first() {
        let d = tmp("glob");
        for v in ["cuda-12.9", "cuda-12.10", "cuda-11.8", "other"] {
            std::fs::create_dir_all(d.join(v)).unwrap();
        }
        let got = glob(&d.join("cuda-*"));
        assert_eq!(got, vec![d.join("cuda-12.10"), d.join("cuda-12.9"), d.join("cuda-11.8")]);
        assert!(glob(&d.join("nothing-*")).is_empty());
    }
}
