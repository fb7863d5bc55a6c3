//! The one error type of the GPU layer. Every message names what failed and why, in one line
//! (compiler errors add the compiler's log below that line).

use std::path::PathBuf;

use super::util::human_bytes;

/// Anything that can go wrong in the GPU layer.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No usable runtime library (driver, HIP runtime or RTC compiler) was found or loaded.
    #[error("{0}")]
    NoRuntime(String),
    /// The runtime loaded but reports no device (or not the one asked for).
    #[error("{0}")]
    NoDevice(String),
    /// A library loaded but lacks a symbol the function table needs.
    #[error("{library}: symbol {field} not found (tried {tried})")]
    MissingSymbol { library: String, field: &'static str, tried: String },
    /// A driver/runtime/RTC call returned an error status.
    #[error("{call} failed: {name} ({code}): {message}{context}")]
    Call {
        call: &'static str,
        code: i32,
        name: String,
        message: String,
        /// Extra detail, such as the kernel that was launched; empty or starting with "; ".
        context: String,
    },
    /// The device had too little memory for an allocation (or an arena was exhausted).
    #[error(
        "out of GPU memory allocating {what}: asked for {}, {} free of {}{detail}",
        human_bytes(*requested),
        human_bytes(*free),
        human_bytes(*total)
    )]
    OutOfMemory {
        what: String,
        requested: u64,
        free: u64,
        total: u64,
        /// Empty, or "; " and the driver's own words.
        detail: String,
    },
    /// Run-time compilation failed; `log` is the compiler's output.
    #[error("compiling {name} for {arch} with {compiler} failed: {status}\n{log}")]
    Compile { name: String, arch: String, compiler: String, status: String, log: String },
    /// The API was used in a way the device cannot honour (wrong kernel arguments, a launch
    /// configuration over the device's limits, buffers of another device, length mismatches).
    #[error("{0}")]
    Invalid(String),
    /// The kernel cache directory could not be written or read.
    #[error("kernel cache {path}: {source}")]
    Cache { path: PathBuf, source: std::io::Error },
}

impl GpuError {
    /// Adds context (such as the kernel being launched) to a call error; other errors are
    /// returned unchanged.
    pub fn with_context(self, extra: impl FnOnce() -> String) -> Self {
        match self {
            GpuError::Call { call, code, name, message, mut context } => {
                context.push_str("; ");
                context.push_str(&extra());
                GpuError::Call { call, code, name, message, context }
            }
            other => other,
        }
    }
}

/// Result of the GPU layer.
pub type Result<T, E = GpuError> = std::result::Result<T, E>;
