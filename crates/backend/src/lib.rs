//! Devices and the op set the forward pass runs on. Today: the CPU backend (f32 activations,
//! quantized weights read in place from the model file, a persistent thread pool).

pub mod cpu;
pub mod gpu;
mod kv_type;
pub mod weight;

pub use kv_type::{KvType, Q8_0_BLOCK};
pub use weight::{WeightError, WeightView};
