//! Parsing of the GGUF header: magic, version, metadata and tensor infos, then validation of the
//! tensor layout against the bytes actually present. Layout as in gguf.h / gguf.cpp:
//!
//! ```text
//! magic "GGUF" | version u32 | n_tensors u64 | n_kv u64
//! n_kv x      { key: string | type u32 | value }
//! n_tensors x { name: string | n_dims u32 | ne[n_dims] u64 | type u32 | offset u64 }
//! padding to general.alignment (default 32) | tensor data (offsets relative to here)
//! ```
//! Strings are a u64 length and that many UTF-8 bytes; arrays are an element type u32, a u64
//! count and the elements. All integers are little-endian.

use std::collections::HashMap;

use crate::cursor::Cursor;
use crate::error::{GgufError, Problem, Result};
use crate::tensor::TensorInfo;
use crate::types::GgmlType;
use crate::value::{Array, Metadata, Value, ValueType};

pub const MAGIC: [u8; 4] = *b"GGUF";
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's GGML_MAX_DIMS.
pub const MAX_DIMS: u32 = 4;
/// ggml's GGML_MAX_NAME: tensor names are shorter than this.
pub const MAX_TENSOR_NAME: u64 = 63;
pub const MAX_KEY_LEN: u64 = 1 << 16;
/// Chat templates are the longest strings in practice (tens of KiB).
pub const MAX_STRING_LEN: u64 = 1 << 26;
pub const MAX_ARRAY_LEN: u64 = 1 << 28;

/// Smallest possible encodings, used to bound counts by the bytes left.
const MIN_KV_BYTES: u64 = 8 + 1 + 4 + 1; // key len, 1-byte key, type, 1-byte value
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 1 + 4 + 8 + 4 + 8; // name len, name, n_dims, 1 dim, type, offset

/// Everything the header says, validated.
pub(crate) struct Header {
    pub version: u32,
    pub alignment: u64,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    pub tensor_index: HashMap<String, usize>,
    /// Absolute file offset of the tensor data section.
    pub data_offset: u64,
}

pub(crate) fn parse(bytes: &[u8]) -> Result<Header> {
    let mut c = Cursor::new(bytes);
    let magic: [u8; 4] = c.array(&|| "magic".into())?;
    if magic != MAGIC {
        return Err(GgufError::malformed(0, "magic", Problem::BadMagic(magic)));
    }
    let version = c.u32(&|| "version".into())?;
    if version.swap_bytes() == 2 || version.swap_bytes() == 3 {
        return Err(GgufError::malformed(4, "version", Problem::BigEndian));
    }
    if version != 2 && version != 3 {
        return Err(GgufError::malformed(4, "version", Problem::Version(version)));
    }
    let n_tensors = c.count(MIN_TENSOR_INFO_BYTES, &|| "n_tensors".into())?;
    let n_kv = c.count(MIN_KV_BYTES, &|| "n_kv".into())?;

    let mut metadata = Metadata::default();
    for i in 0..n_kv {
        let at = c.pos();
        let key = c.string(MAX_KEY_LEN, &|| format!("metadata[{i}].key"))?;
        if key.is_empty() {
            return Err(GgufError::malformed(at, format!("metadata[{i}].key"), Problem::Empty));
        }
        let field = |what: &str| format!("metadata '{key}'{what}");
        let ty = value_type(&mut c, &|| field(".type"))?;
        let value = read_value(&mut c, ty, &|| field(""))?;
        if !metadata.insert(key.clone(), value) {
            return Err(GgufError::malformed(at, field(""), Problem::DuplicateKey(key)));
        }
    }

    let mut raw = Vec::with_capacity(n_tensors as usize); // bounded by the file size above
    let mut tensor_index = HashMap::with_capacity(n_tensors as usize);
    for i in 0..n_tensors {
        let info = read_tensor_info(&mut c, i)?;
        if tensor_index.insert(info.name.clone(), raw.len()).is_some() {
            let name = info.name.clone();
            return Err(GgufError::malformed(info.at, format!("tensor[{i}].name"), Problem::DuplicateTensor(name)));
        }
        raw.push(info);
    }

    let alignment = alignment(&metadata)?;
    let data_offset = c
        .pos()
        .div_ceil(alignment)
        .checked_mul(alignment)
        .ok_or_else(|| GgufError::malformed(c.pos(), "data section", Problem::Overflow))?;
    let tensors = layout(raw, alignment, data_offset, c.file_len())?;
    Ok(Header { version, alignment, metadata, tensors, tensor_index, data_offset })
}

fn value_type(c: &mut Cursor, field: &dyn Fn() -> String) -> Result<ValueType> {
    let at = c.pos();
    let id = c.u32(field)?;
    ValueType::from_id(id).ok_or_else(|| GgufError::malformed(at, field(), Problem::UnknownValueType(id)))
}

fn read_value(c: &mut Cursor, ty: ValueType, field: &dyn Fn() -> String) -> Result<Value> {
    let at = c.pos();
    Ok(match ty {
        ValueType::U8 => Value::U8(c.u8(field)?),
        ValueType::I8 => Value::I8(c.u8(field)? as i8),
        ValueType::U16 => Value::U16(c.u16(field)?),
        ValueType::I16 => Value::I16(c.u16(field)? as i16),
        ValueType::U32 => Value::U32(c.u32(field)?),
        ValueType::I32 => Value::I32(c.u32(field)? as i32),
        ValueType::F32 => Value::F32(f32::from_bits(c.u32(field)?)),
        ValueType::U64 => Value::U64(c.u64(field)?),
        ValueType::I64 => Value::I64(c.u64(field)? as i64),
        ValueType::F64 => Value::F64(f64::from_bits(c.u64(field)?)),
        ValueType::Bool => Value::Bool(bool_byte(c.u8(field)?, at, field)?),
        ValueType::String => Value::String(c.string(MAX_STRING_LEN, field)?),
        ValueType::Array => Value::Array(read_array(c, field)?),
    })
}

fn bool_byte(b: u8, at: u64, field: &dyn Fn() -> String) -> Result<bool> {
    match b {
        0 => Ok(false),
        1 => Ok(true),
        b => Err(GgufError::malformed(at, field(), Problem::BadBool(b))),
    }
}

fn read_array(c: &mut Cursor, field: &dyn Fn() -> String) -> Result<Array> {
    let at = c.pos();
    let elem = value_type(c, &|| format!("{}.element_type", field()))?;
    if elem == ValueType::Array {
        return Err(GgufError::malformed(at, field(), Problem::NestedArray));
    }
    let count_at = c.pos();
    let min_each = elem.fixed_size().unwrap_or(8); // a string is at least its u64 length
    let n = c.count(min_each, &|| format!("{}.count", field()))?;
    if n > MAX_ARRAY_LEN {
        let problem = Problem::TooLong { len: n, limit: MAX_ARRAY_LEN };
        return Err(GgufError::malformed(count_at, format!("{}.count", field()), problem));
    }
    if elem == ValueType::String {
        let strings =
            (0..n).map(|i| c.string(MAX_STRING_LEN, &|| format!("{}[{i}]", field()))).collect::<Result<_>>()?;
        return Ok(Array::String(strings));
    }
    // Fixed-size elements: one bounds check for the whole array, then decode.
    let body_at = c.pos();
    let bytes = c.take(n * min_each, field)?; // n * min_each <= bytes left, checked by count()
    fn le<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        bytes.chunks_exact(N).map(|ch| f(ch.try_into().unwrap_or([0; N]))).collect()
    }
    Ok(match elem {
        ValueType::U8 => Array::U8(bytes.to_vec()),
        ValueType::I8 => Array::I8(bytes.iter().map(|&b| b as i8).collect()),
        ValueType::U16 => Array::U16(le(bytes, u16::from_le_bytes)),
        ValueType::I16 => Array::I16(le(bytes, i16::from_le_bytes)),
        ValueType::U32 => Array::U32(le(bytes, u32::from_le_bytes)),
        ValueType::I32 => Array::I32(le(bytes, i32::from_le_bytes)),
        ValueType::F32 => Array::F32(le(bytes, f32::from_le_bytes)),
        ValueType::U64 => Array::U64(le(bytes, u64::from_le_bytes)),
        ValueType::I64 => Array::I64(le(bytes, i64::from_le_bytes)),
        ValueType::F64 => Array::F64(le(bytes, f64::from_le_bytes)),
        ValueType::Bool => Array::Bool(
            bytes
                .iter()
                .enumerate()
                .map(|(i, &b)| bool_byte(b, body_at + i as u64, &|| format!("{}[{i}]", field())))
                .collect::<Result<_>>()?,
        ),
        ValueType::String | ValueType::Array => unreachable!("handled above"),
    })
}

/// A tensor info as read, before the layout is checked.
pub(crate) struct RawTensorInfo {
    pub name: String,
    pub ty: GgmlType,
    pub dims: Vec<u64>,
    pub offset: u64,
    /// File offsets of the record and of its offset field, for error messages.
    pub at: u64,
    pub offset_at: u64,
}

fn read_tensor_info(c: &mut Cursor, i: u64) -> Result<RawTensorInfo> {
    let at = c.pos();
    let name = c.string(MAX_TENSOR_NAME, &|| format!("tensor[{i}].name"))?;
    if name.is_empty() {
        return Err(GgufError::malformed(at, format!("tensor[{i}].name"), Problem::Empty));
    }
    let field = |what: &str| format!("tensor '{name}'.{what}");
    let dims_at = c.pos();
    let n_dims = c.u32(&|| field("n_dims"))?;
    if n_dims == 0 || n_dims > MAX_DIMS {
        return Err(GgufError::malformed(dims_at, field("n_dims"), Problem::Dims(n_dims)));
    }
    let mut dims = Vec::with_capacity(n_dims as usize);
    for d in 0..n_dims as usize {
        let dim_at = c.pos();
        let value = c.u64(&|| field(&format!("ne[{d}]")))?;
        if value == 0 || value > i64::MAX as u64 {
            let problem = Problem::BadDim { index: d, value };
            return Err(GgufError::malformed(dim_at, field(&format!("ne[{d}]")), problem));
        }
        dims.push(value);
    }
    let type_at = c.pos();
    let type_id = c.u32(&|| field("type"))?;
    let ty = GgmlType::from_id(type_id)
        .ok_or_else(|| GgufError::malformed(type_at, field("type"), Problem::UnknownTensorType(type_id)))?;
    let offset_at = c.pos();
    let offset = c.u64(&|| field("offset"))?;
    Ok(RawTensorInfo { name, ty, dims, offset, at, offset_at })
}

/// `general.alignment`: a u32 power of two, 32 when absent (as gguf.cpp).
fn alignment(metadata: &Metadata) -> Result<u64> {
    let field = "metadata 'general.alignment'";
    let align = match metadata.get("general.alignment") {
        None => return Ok(DEFAULT_ALIGNMENT),
        Some(Value::U32(a)) => u64::from(*a),
        Some(v) => return Err(GgufError::malformed(0, field, Problem::AlignmentType(v.describe()))),
    };
    if !align.is_power_of_two() {
        return Err(GgufError::malformed(0, field, Problem::Alignment(align)));
    }
    Ok(align)
}

/// Sizes every tensor with checked arithmetic and checks that its data is aligned, inside the
/// file and disjoint from every other tensor's.
fn layout(raw: Vec<RawTensorInfo>, alignment: u64, data_offset: u64, file_len: u64) -> Result<Vec<TensorInfo>> {
    let mut tensors = Vec::with_capacity(raw.len());
    let mut offset_fields = Vec::with_capacity(raw.len());
    for r in raw {
        let field = |what: &str| format!("tensor '{}'.{what}", r.name);
        let overflow = || GgufError::malformed(r.at, field("ne"), Problem::Overflow);
        let n_elements = r.dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)).ok_or_else(overflow)?;
        if r.dims[0] % r.ty.block_size() as u64 != 0 {
            let problem = Problem::PartialBlock { ne0: r.dims[0], ty: r.ty, block: r.ty.block_size() };
            return Err(GgufError::malformed(r.at, field("ne[0]"), problem));
        }
        let n_bytes = r.ty.bytes_for(n_elements).ok_or_else(overflow)?;
        if r.offset % alignment != 0 {
            let problem = Problem::Misaligned { offset: r.offset, alignment };
            return Err(GgufError::malformed(r.offset_at, field("offset"), problem));
        }
        let start = data_offset.checked_add(r.offset);
        let end = start.and_then(|s| s.checked_add(n_bytes));
        match (start, end) {
            (Some(start), Some(end)) if end <= file_len => {
                offset_fields.push(r.offset_at);
                tensors.push(TensorInfo {
                    name: r.name,
                    ty: r.ty,
                    dims: r.dims,
                    offset: r.offset,
                    n_elements,
                    n_bytes,
                    start,
                })
            }
            _ => {
                let start = start.unwrap_or(u64::MAX);
                let problem = Problem::OutOfBounds { start, end: end.unwrap_or(u64::MAX), file_len };
                return Err(GgufError::malformed(r.offset_at, field("offset"), problem));
            }
        }
    }
    let mut by_start: Vec<usize> = (0..tensors.len()).collect();
    by_start.sort_by_key(|&i| tensors[i].start);
    for pair in by_start.windows(2) {
        let (a, b) = (&tensors[pair[0]], &tensors[pair[1]]);
        if a.start + a.n_bytes > b.start {
            let field = format!("tensor '{}'.offset", b.name);
            return Err(GgufError::malformed(offset_fields[pair[1]], field, Problem::Overlap(a.name.clone())));
        }
    }
    Ok(tensors)
}
