//! Usage errors: a flag out of range or an input that cannot be used. `main` prints them as one
//! line and exits with status 2, as clap does for malformed command lines.

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Returns a usage error from the enclosing function.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err($crate::usage::UsageError(format!($($arg)*)).into())
    };
}
pub(crate) use usage;
