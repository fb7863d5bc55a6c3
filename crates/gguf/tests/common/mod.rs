//! A tiny valid GGUF file written by our writer, and helpers to corrupt chosen fields of it.

#![allow(dead_code)] // each test binary uses a different subset

use gguf::{Array, GgmlType, GgufWriter, TensorData, Value};

/// Metadata: an arch string, a u32, a u8 array, a string array, a bool, general.alignment.
/// Tensors: "tok.weight" F32 [8, 2], "blk.q8" Q8_0 [32, 2], "norm.w" F16 [4].
pub fn tiny_writer() -> GgufWriter<'static> {
    let mut w = GgufWriter::new();
    w.add_kv("general.architecture", Value::String("llama".into())).unwrap();
    w.add_kv("general.alignment", Value::U32(32)).unwrap();
    w.add_kv("test.count", Value::U32(7)).unwrap();
    w.add_kv("test.bytes", Value::Array(Array::U8(vec![1, 2, 3]))).unwrap();
    w.add_kv("test.words", Value::Array(Array::String(vec!["alpha".into(), "beta".into()]))).unwrap();
    w.add_kv("test.flag", Value::Bool(true)).unwrap();
    let f32s: Vec<u8> = (0..16).flat_map(|i| (i as f32 * 0.5).to_le_bytes()).collect();
    w.add_tensor("tok.weight", GgmlType::F32, &[8, 2], TensorData::Bytes(f32s.into())).unwrap();
    let q8: Vec<u8> = (0..68u8).collect();
    w.add_tensor("blk.q8", GgmlType::Q8_0, &[32, 2], TensorData::Bytes(q8.into())).unwrap();
    w.add_tensor("norm.w", GgmlType::F16, &[4], TensorData::Bytes(vec![0x3c; 8].into())).unwrap();
    w
}

pub fn tiny() -> Vec<u8> {
    tiny_writer().to_bytes().unwrap()
}

/// Position of the only occurrence of `needle` in the header.
pub fn find(hay: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> =
        hay.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect();
    assert_eq!(hits.len(), 1, "{:?} occurs {} times", String::from_utf8_lossy(needle), hits.len());
    hits[0]
}

/// Offset of the value type field of metadata key `key` (the value follows it).
pub fn kv_type_at(file: &[u8], key: &str) -> usize {
    find(file, key.as_bytes()) + key.len()
}

/// Offsets of a tensor info's fields: (n_dims, first dim, type, offset) for `n_dims` dims.
pub fn tensor_fields(file: &[u8], name: &str, n_dims: usize) -> (usize, usize, usize, usize) {
    let n_dims_at = find(file, name.as_bytes()) + name.len();
    let dims_at = n_dims_at + 4;
    let type_at = dims_at + 8 * n_dims;
    (n_dims_at, dims_at, type_at, type_at + 4)
}

pub fn put_u32(file: &mut [u8], at: usize, v: u32) {
    file[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn put_u64(file: &mut [u8], at: usize, v: u64) {
    file[at..at + 8].copy_from_slice(&v.to_le_bytes());
}
