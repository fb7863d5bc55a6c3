//! Budgets that bound what one template call may cost, and the thread that enforces the last
//! of them: enough stack for whatever nesting the other budgets allow.
//!
//! Fuel bounds time and heap, the output cap bounds the prompt, the recursion limit bounds
//! nested calls. What none of them bounds directly is the native stack: minijinja drops,
//! prints and compares nested values recursively, and a template can nest a list a level per
//! fuel or two (`{% set ns.l = [[[ns.l]]] %}` in a loop), and a 256 KiB source parses into an
//! expression tree as deep. So compiling and rendering run on a thread whose stack is reserved
//! for the worst case the fuel and the source cap allow. The reservation is virtual memory;
//! only what a template actually uses gets touched.

use crate::error::ModelError;

/// Stack bytes per unit of fuel that a nested value can cost when printed: measured about
/// 0.5 KiB per level in release builds and 2.5 KiB in debug builds, at 1.5 fuel per level.
const STACK_PER_FUEL: usize = if cfg!(debug_assertions) { 2048 } else { 512 };

/// Budgets for one render. Every render gets the full budget again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// minijinja fuel: about one per instruction plus one per 64 bytes of data created, so it
    /// bounds both time and heap (roughly `fuel * 64` bytes).
    pub fuel: u64,
    /// Depth of nested blocks and calls (macros count about 10 each).
    pub max_recursion: usize,
    /// Size of the rendered prompt in bytes.
    pub max_output: usize,
    /// Stack reserved for the thread that compiles and renders (see the module docs).
    pub stack_size: usize,
}

impl Limits {
    /// Limits with `fuel` and the stack that fuel calls for.
    pub fn with_fuel(fuel: u64) -> Limits {
        let stack = usize::try_from(fuel).unwrap_or(usize::MAX).saturating_mul(STACK_PER_FUEL);
        Limits { fuel, stack_size: stack.max(MIN_STACK), ..Limits::default() }
    }
}

const MIN_STACK: usize = 16 << 20;

impl Default for Limits {
    fn default() -> Limits {
        // Qwen2.5's template spends about 100k fuel per MiB of prompt, so 1M leaves ample room
        // at the 1 MiB output cap and stops a runaway template in ~0.25 s even in debug builds.
        const FUEL: u64 = 1_000_000;
        Limits {
            fuel: FUEL,
            max_recursion: 200,
            max_output: 1 << 20,
            stack_size: (FUEL as usize).saturating_mul(STACK_PER_FUEL).max(MIN_STACK),
        }
    }
}

/// Runs `f` on a fresh thread with `stack` bytes of stack and waits for it.
pub(crate) fn on_render_thread<T, F>(stack: usize, f: F) -> Result<T, ModelError>
where
    T: Send,
    F: FnOnce() -> Result<T, ModelError> + Send,
{
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("chat-template".to_string())
            .stack_size(stack)
            .spawn_scoped(scope, f)
            .map_err(|e| {
                ModelError::Template(format!("cannot start a render thread with {stack} bytes of stack: {e}"))
            })?;
        handle.join().map_err(|_| ModelError::Template("template engine panicked".to_string()))?
    })
}
