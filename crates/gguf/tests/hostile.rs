//! One test per class of malformed file: each corrupts one field of a tiny valid file written by
//! our writer and checks the typed error, the field it names and the file offset.

mod common;

use common::*;
use gguf::{GgufError, GgufFile, Problem};

/// Parses `file`, expecting a malformed-file error at `offset` whose field mentions `field`.
fn expect(file: Vec<u8>, offset: usize, field: &str) -> Problem {
    match GgufFile::from_bytes(file) {
        Err(GgufError::Malformed { offset: got, field: f, problem }) => {
            assert_eq!(got, offset as u64, "offset of {problem:?} in field {f}");
            assert!(f.contains(field), "field '{f}' should mention '{field}' ({problem:?})");
            problem
        }
        Err(e) => panic!("wrong error kind: {e}"),
        Ok(_) => panic!("corrupted file was accepted"),
    }
}

#[test]
fn the_tiny_file_is_valid() {
    let f = GgufFile::from_bytes(tiny()).unwrap();
    assert_eq!(f.tensors.len(), 3);
    assert_eq!(f.metadata.len(), 6);
}

#[test]
fn bad_magic_version_and_endianness() {
    let mut f = tiny();
    f[0] = b'X';
    assert!(matches!(expect(f, 0, "magic"), Problem::BadMagic(_)));
    let mut f = tiny();
    put_u32(&mut f, 4, 1);
    assert_eq!(expect(f, 4, "version"), Problem::Version(1));
    let mut f = tiny();
    put_u32(&mut f, 4, 3u32.swap_bytes());
    assert_eq!(expect(f, 4, "version"), Problem::BigEndian);
}

#[test]
fn counts_larger_than_the_bytes_left() {
    let mut f = tiny();
    put_u64(&mut f, 8, 1 << 40);
    assert!(matches!(expect(f, 8, "n_tensors"), Problem::CountTooLarge { count, .. } if count == 1 << 40));
    let mut f = tiny();
    put_u64(&mut f, 16, u64::MAX);
    assert!(matches!(expect(f, 16, "n_kv"), Problem::CountTooLarge { .. }));
    // Array element count: follows the element type after the value type.
    let mut f = tiny();
    let count_at = kv_type_at(&f, "test.words") + 8;
    put_u64(&mut f, count_at, 1 << 50);
    assert!(matches!(expect(f, count_at, "test.words"), Problem::CountTooLarge { .. }));
}

#[test]
fn strings_over_their_caps() {
    let mut f = tiny();
    let len_at = find(&f, b"general.architecture") - 8;
    put_u64(&mut f, len_at, (1 << 16) + 1);
    assert!(matches!(expect(f, len_at, "metadata[0].key"), Problem::TooLong { .. }));
    // A value string longer than the file is truncated; longer than the cap is TooLong.
    let mut f = tiny();
    let len_at = kv_type_at(&f, "general.architecture") + 4;
    put_u64(&mut f, len_at, 1 << 40);
    assert!(matches!(expect(f, len_at, "general.architecture"), Problem::TooLong { .. }));
    let mut f = tiny();
    put_u64(&mut f, len_at, 1 << 20);
    assert!(matches!(expect(f, len_at + 8, "general.architecture"), Problem::Truncated { .. }));
    // Tensor names are shorter than ggml's GGML_MAX_NAME (64).
    let mut f = tiny();
    let len_at = find(&f, b"tok.weight") - 8;
    put_u64(&mut f, len_at, 64);
    assert!(matches!(expect(f, len_at, "tensor[0].name"), Problem::TooLong { len: 64, limit: 63 }));
}

#[test]
fn invalid_utf8_and_bool_bytes() {
    let mut f = tiny();
    let at = find(&f, b"alpha");
    f[at] = 0xff;
    expect(f, at, "'test.words'[0]");
    let mut f = tiny();
    let at = kv_type_at(&f, "test.flag") + 4;
    f[at] = 2;
    assert_eq!(expect(f, at, "test.flag"), Problem::BadBool(2));
}

#[test]
fn unknown_value_types_and_arrays_of_arrays() {
    let mut f = tiny();
    let at = kv_type_at(&f, "test.count");
    put_u32(&mut f, at, 13);
    assert_eq!(expect(f, at, "test.count"), Problem::UnknownValueType(13));
    let mut f = tiny();
    let elem_at = kv_type_at(&f, "test.bytes") + 4;
    put_u32(&mut f, elem_at, 9);
    assert_eq!(expect(f, elem_at, "test.bytes"), Problem::NestedArray);
    let mut f = tiny();
    put_u32(&mut f, elem_at, 99);
    assert_eq!(expect(f, elem_at, "'test.bytes'.element_type"), Problem::UnknownValueType(99));
}

#[test]
fn duplicate_keys_and_tensor_names() {
    // Rename "test.bytes" to "test.count" (same length): the second one is refused.
    let mut f = tiny();
    let key_at = find(&f, b"test.bytes");
    f[key_at..key_at + 10].copy_from_slice(b"test.count");
    assert_eq!(expect(f, key_at - 8, "test.count"), Problem::DuplicateKey("test.count".into()));
    let mut f = tiny();
    let at = find(&f, b"norm.w");
    f[at..at + 6].copy_from_slice(b"blk.q8");
    let n = GgufFile::from_bytes(f);
    assert!(
        matches!(n, Err(GgufError::Malformed { problem: Problem::DuplicateTensor(ref s), .. }) if s == "blk.q8"),
        "{:?}",
        n.err()
    );
}

#[test]
fn n_dims_outside_one_to_four() {
    for bad in [0, 5, u32::MAX] {
        let mut f = tiny();
        let (n_dims_at, ..) = tensor_fields(&f, "norm.w", 1);
        put_u32(&mut f, n_dims_at, bad);
        assert_eq!(expect(f, n_dims_at, "norm.w"), Problem::Dims(bad));
    }
}

#[test]
fn zero_and_huge_dims() {
    let mut f = tiny();
    let (_, dims_at, ..) = tensor_fields(&f, "tok.weight", 2);
    put_u64(&mut f, dims_at + 8, 0);
    assert_eq!(expect(f, dims_at + 8, "ne[1]"), Problem::BadDim { index: 1, value: 0 });
    let mut f = tiny();
    put_u64(&mut f, dims_at, 1 << 63);
    assert_eq!(expect(f, dims_at, "ne[0]"), Problem::BadDim { index: 0, value: 1 << 63 });
}

#[test]
fn element_and_byte_counts_that_overflow() {
    let mut f = tiny();
    let (n_dims_at, dims_at, ..) = tensor_fields(&f, "tok.weight", 2);
    put_u64(&mut f, dims_at, 1 << 33);
    put_u64(&mut f, dims_at + 8, 1 << 33);
    assert_eq!(expect(f, n_dims_at - "tok.weight".len() - 8, "tok.weight"), Problem::Overflow);
    // Elements fit in u64 but bytes (x4 for F32) do not.
    let mut f = tiny();
    put_u64(&mut f, dims_at, 1 << 31);
    put_u64(&mut f, dims_at + 8, 1 << 31);
    assert_eq!(expect(f, n_dims_at - "tok.weight".len() - 8, "tok.weight"), Problem::Overflow);
}

#[test]
fn unknown_tensor_type_and_partial_blocks() {
    let mut f = tiny();
    let (_, _, type_at, _) = tensor_fields(&f, "norm.w", 1);
    put_u32(&mut f, type_at, 4); // Q4_2, retired from ggml
    assert_eq!(expect(f, type_at, "norm.w"), Problem::UnknownTensorType(4));
    let mut f = tiny();
    let (_, dims_at, ..) = tensor_fields(&f, "blk.q8", 2);
    put_u64(&mut f, dims_at, 16);
    let record = find(&f, b"blk.q8") - 8;
    assert!(matches!(expect(f, record, "blk.q8"), Problem::PartialBlock { ne0: 16, block: 32, .. }));
}

#[test]
fn alignment_must_be_a_u32_power_of_two() {
    let mut f = tiny();
    let at = kv_type_at(&f, "general.alignment") + 4;
    put_u32(&mut f, at, 48);
    assert_eq!(expect(f, 0, "general.alignment"), Problem::Alignment(48));
    let mut f = tiny();
    put_u32(&mut f, at, 0);
    assert_eq!(expect(f, 0, "general.alignment"), Problem::Alignment(0));
    let mut f = tiny();
    put_u32(&mut f, at - 4, 5); // type u32 -> i32
    assert!(matches!(expect(f, 0, "general.alignment"), Problem::AlignmentType(_)));
}

#[test]
fn offsets_misaligned_out_of_bounds_and_overlapping() {
    let mut f = tiny();
    let (.., offset_at) = tensor_fields(&f, "norm.w", 1);
    put_u64(&mut f, offset_at, 65);
    assert!(matches!(expect(f, offset_at, "norm.w"), Problem::Misaligned { offset: 65, alignment: 32 }));
    let mut f = tiny();
    put_u64(&mut f, offset_at, 1 << 20);
    assert!(matches!(expect(f, offset_at, "norm.w"), Problem::OutOfBounds { .. }));
    let mut f = tiny();
    put_u64(&mut f, offset_at, u64::MAX - 31);
    assert!(matches!(expect(f, offset_at, "norm.w"), Problem::OutOfBounds { .. }));
    // Cutting the last tensor's data short.
    let mut f = tiny();
    f.truncate(f.len() - 30);
    let (.., offset_at) = tensor_fields(&f, "norm.w", 1);
    assert!(matches!(expect(f, offset_at, "norm.w"), Problem::OutOfBounds { .. }));
    // Pointing "blk.q8" at "tok.weight"'s bytes.
    let mut f = tiny();
    let (.., q8_offset_at) = tensor_fields(&f, "blk.q8", 2);
    put_u64(&mut f, q8_offset_at, 0);
    let p = expect(f, q8_offset_at, "offset");
    assert!(matches!(p, Problem::Overlap(_)), "{p:?}");
}

#[test]
fn every_truncation_of_the_header_is_an_error() {
    let full = tiny();
    let data_offset = GgufFile::from_bytes(full.clone()).unwrap().data_offset as usize;
    for len in 0..data_offset {
        let r = GgufFile::from_bytes(full[..len].to_vec());
        assert!(r.is_err(), "prefix of {len} bytes accepted");
    }
}
