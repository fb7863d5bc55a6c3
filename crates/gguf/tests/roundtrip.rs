//! Write, read back: identical metadata (every value type, in order) and tensor bytes.

mod common;

use gguf::{Array, GgmlType, GgufFile, GgufWriter, TensorData, Value};

fn every_value() -> Vec<(String, Value)> {
    vec![
        ("v.u8".into(), Value::U8(200)),
        ("v.i8".into(), Value::I8(-100)),
        ("v.u16".into(), Value::U16(60_000)),
        ("v.i16".into(), Value::I16(-30_000)),
        ("v.u32".into(), Value::U32(4_000_000_000)),
        ("v.i32".into(), Value::I32(-2_000_000_000)),
        ("v.f32".into(), Value::F32(-1.25e-7)),
        ("v.bool".into(), Value::Bool(true)),
        ("v.string".into(), Value::String("héllo ✓ {{ template }}".into())),
        ("v.u64".into(), Value::U64(u64::MAX)),
        ("v.i64".into(), Value::I64(i64::MIN)),
        ("v.f64".into(), Value::F64(std::f64::consts::PI)),
        ("a.u8".into(), Value::Array(Array::U8(vec![0, 255]))),
        ("a.i8".into(), Value::Array(Array::I8(vec![-128, 127]))),
        ("a.u16".into(), Value::Array(Array::U16(vec![1, 65535]))),
        ("a.i16".into(), Value::Array(Array::I16(vec![-1]))),
        ("a.u32".into(), Value::Array(Array::U32(vec![]))),
        ("a.i32".into(), Value::Array(Array::I32(vec![-5, 5, 7]))),
        ("a.f32".into(), Value::Array(Array::F32(vec![0.0, -0.0, 1e30]))),
        ("a.bool".into(), Value::Array(Array::Bool(vec![true, false]))),
        ("a.string".into(), Value::Array(Array::String(vec!["".into(), "Ġthe".into(), "<0x0A>".into()]))),
        ("a.u64".into(), Value::Array(Array::U64(vec![u64::MAX]))),
        ("a.i64".into(), Value::Array(Array::I64(vec![i64::MIN, 0]))),
        ("a.f64".into(), Value::Array(Array::F64(vec![f64::MIN_POSITIVE]))),
    ]
}

fn tensors() -> Vec<(&'static str, GgmlType, Vec<u64>, Vec<u8>)> {
    let bytes = |n: usize, salt: u8| (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt)).collect();
    vec![
        ("f32.vec", GgmlType::F32, vec![5], bytes(20, 1)),
        ("q4k.mat", GgmlType::Q4_K, vec![256, 3], bytes(3 * 144, 2)),
        ("q6k.3d", GgmlType::Q6_K, vec![256, 2, 2], bytes(4 * 210, 3)),
        ("iq2xxs.4d", GgmlType::IQ2_XXS, vec![256, 1, 1, 2], bytes(2 * 66, 4)),
        ("bf16.mat", GgmlType::BF16, vec![3, 7], bytes(42, 5)),
    ]
}

fn write(alignment: Option<u32>) -> Vec<u8> {
    let mut w = GgufWriter::new();
    if let Some(a) = alignment {
        w.add_kv("general.alignment", Value::U32(a)).unwrap();
    }
    for (k, v) in every_value() {
        w.add_kv(k, v).unwrap();
    }
    for (name, ty, dims, data) in tensors() {
        w.add_tensor(name, ty, &dims, TensorData::Bytes(data.into())).unwrap();
    }
    w.to_bytes().unwrap()
}

fn check(file: &GgufFile, alignment: u64) {
    assert_eq!(file.alignment, alignment);
    let got: Vec<_> = file
        .metadata
        .iter()
        .filter(|(k, _)| *k != "general.alignment")
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    assert_eq!(got, every_value());
    assert_eq!(file.tensors.len(), tensors().len());
    for (t, (name, ty, dims, data)) in file.tensors.iter().zip(tensors()) {
        assert_eq!((t.name.as_str(), t.ty, &t.dims), (name, ty, &dims));
        assert_eq!(file.tensor_data(t).unwrap(), &data[..], "{name}");
        assert_eq!(t.start % alignment, 0, "{name} aligned");
    }
}

#[test]
fn roundtrip_default_alignment() {
    check(&GgufFile::from_bytes(write(None)).unwrap(), 32);
}

#[test]
fn roundtrip_custom_alignment() {
    check(&GgufFile::from_bytes(write(Some(256))).unwrap(), 256);
}

#[test]
fn roundtrip_through_a_file_and_mmap() {
    let dir = std::env::temp_dir().join(format!("gguf-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.gguf");
    std::fs::write(&path, write(Some(64))).unwrap();
    check(&GgufFile::open(&path).unwrap(), 64);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn version_2_files_read_the_same() {
    let mut bytes = write(None);
    bytes[4..8].copy_from_slice(&2u32.to_le_bytes());
    let f = GgufFile::from_bytes(bytes).unwrap();
    assert_eq!(f.version, 2);
    check(&f, 32);
}

#[test]
fn streamed_tensor_data_is_counted() {
    let mut w = GgufWriter::new();
    w.add_tensor("s", GgmlType::F32, &[4], TensorData::Stream(Box::new(|out| out.write_all(&[0u8; 12])))).unwrap();
    let err = w.to_bytes().unwrap_err().to_string();
    assert!(err.contains("12 bytes produced, 16 expected"), "{err}");
}

#[test]
fn writer_refuses_invalid_tensors_and_keys() {
    let mut w = GgufWriter::new();
    assert!(w.add_tensor("x", GgmlType::Q4_K, &[100], TensorData::Bytes(vec![].into())).is_err());
    assert!(w.add_tensor("x", GgmlType::F32, &[0], TensorData::Bytes(vec![].into())).is_err());
    assert!(w.add_tensor("x", GgmlType::F32, &[2], TensorData::Bytes(vec![0; 7].into())).is_err());
    assert!(w.add_tensor("n".repeat(64), GgmlType::F32, &[1], TensorData::Bytes(vec![0; 4].into())).is_err());
    w.add_kv("k", Value::U8(1)).unwrap();
    assert!(w.add_kv("k", Value::U8(2)).is_err());
    assert!(w.add_kv("general.alignment", Value::U32(3)).is_err());
}

#[test]
fn dequantize_tensors_and_name_unsupported_types() {
    let f = GgufFile::from_bytes(write(None)).unwrap();
    let v = f.dequantize(f.tensor("f32.vec").unwrap()).unwrap();
    let want: Vec<f32> = tensors()[0].3.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), want.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    assert_eq!(f.dequantize(f.tensor("q4k.mat").unwrap()).unwrap().len(), 768);
    let err = f.dequantize(f.tensor("iq2xxs.4d").unwrap()).unwrap_err().to_string();
    assert_eq!(err, "unsupported tensor type IQ2_XXS in tensor 'iq2xxs.4d'");
}
