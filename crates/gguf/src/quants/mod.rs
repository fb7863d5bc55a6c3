//! Reference (scalar) dequantization of ggml blocks to f32, and random valid blocks for
//! synthetic models.
