//! GGUF v3 writer. It writes valid files only (sizes are checked as tensors are added); tests
//! that need malformed files write a valid one and then corrupt chosen bytes.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::error::{GgufError, Result};
use crate::read::{DEFAULT_ALIGNMENT, MAGIC, MAX_DIMS, MAX_TENSOR_NAME};
use crate::types::GgmlType;
use crate::value::{Array, Value};

/// Produces a tensor's bytes at write time; must write exactly the tensor's byte size.
pub type TensorStream<'a> = Box<dyn FnMut(&mut dyn Write) -> io::Result<()> + 'a>;

/// Where a tensor's bytes come from when the file is written.
pub enum TensorData<'a> {
    Bytes(Cow<'a, [u8]>),
    /// Lets multi-GiB synthetic models be written without holding them in memory.
    Stream(TensorStream<'a>),
}

struct PendingTensor<'a> {
    name: String,
    ty: GgmlType,
    dims: Vec<u64>,
    n_bytes: u64,
    data: TensorData<'a>,
}

#[derive(Default)]
pub struct GgufWriter<'a> {
    kvs: Vec<(String, Value)>,
    keys: HashSet<String>,
    tensors: Vec<PendingTensor<'a>>,
    names: HashSet<String>,
}

impl<'a> GgufWriter<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a metadata entry. `general.alignment` (a u32 power of two) sets the data alignment.
    pub fn add_kv(&mut self, key: impl Into<String>, value: Value) -> Result<&mut Self> {
        let key = key.into();
        if key.is_empty() || !self.keys.insert(key.clone()) {
            return Err(GgufError::Write(format!("metadata key '{key}' is empty or repeated")));
        }
        if key == "general.alignment" && !matches!(value, Value::U32(a) if a.is_power_of_two()) {
            return Err(GgufError::Write(format!("general.alignment must be a u32 power of two, not {value:?}")));
        }
        self.kvs.push((key, value));
        Ok(self)
    }

    /// Adds a tensor with `dims` in ggml order (ne0 first).
    pub fn add_tensor(
        &mut self,
        name: impl Into<String>,
        ty: GgmlType,
        dims: &[u64],
        data: TensorData<'a>,
    ) -> Result<&mut Self> {
        let name = name.into();
        let bad = |why: String| GgufError::Write(format!("tensor '{name}': {why}"));
        if name.is_empty() || name.len() as u64 > MAX_TENSOR_NAME {
            return Err(bad(format!("name length must be 1..={MAX_TENSOR_NAME}")));
        }
        if self.names.contains(&name) {
            return Err(bad("repeated name".into()));
        }
        if dims.is_empty() || dims.len() > MAX_DIMS as usize || dims.iter().any(|&d| d == 0 || d > i64::MAX as u64) {
            return Err(bad(format!("bad dims {dims:?}")));
        }
        if !dims[0].is_multiple_of(ty.block_size() as u64) {
            return Err(bad(format!("ne0 {} is not a multiple of {ty}'s block size {}", dims[0], ty.block_size())));
        }
        let n_elements = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        let n_bytes = n_elements.and_then(|n| ty.bytes_for(n)).ok_or_else(|| bad("size overflows".into()))?;
        if let TensorData::Bytes(b) = &data {
            if b.len() as u64 != n_bytes {
                return Err(bad(format!("{} data bytes given, {n_bytes} needed", b.len())));
            }
        }
        self.names.insert(name.clone());
        self.tensors.push(PendingTensor { name, ty, dims: dims.to_vec(), n_bytes, data });
        Ok(self)
    }

    fn alignment(&self) -> u64 {
        self.kvs
            .iter()
            .find_map(|(k, v)| match (k.as_str(), v) {
                ("general.alignment", Value::U32(a)) => Some(u64::from(*a)),
                _ => None,
            })
            .unwrap_or(DEFAULT_ALIGNMENT)
    }

    /// Writes the whole file.
    pub fn write_to(self, w: &mut dyn Write) -> Result<()> {
        self.write_inner(w).map_err(|e| GgufError::Write(e.to_string()))
    }

    pub fn write_file(self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |cause| GgufError::Io { path: path.to_path_buf(), cause };
        let mut w = BufWriter::new(File::create(path).map_err(io)?);
        self.write_to(&mut w)?;
        w.flush().map_err(io)
    }

    pub fn to_bytes(self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    fn write_inner(mut self, w: &mut dyn Write) -> io::Result<()> {
        let alignment = self.alignment();
        let mut header = Vec::new();
        header.extend_from_slice(&MAGIC);
        header.extend_from_slice(&3u32.to_le_bytes());
        header.extend_from_slice(&(self.tensors.len() as u64).to_le_bytes());
        header.extend_from_slice(&(self.kvs.len() as u64).to_le_bytes());
        for (key, value) in &self.kvs {
            put_string(&mut header, key);
            put_u32(&mut header, value.value_type() as u32);
            put_value(&mut header, value);
        }
        let mut offset = 0u64;
        for t in &self.tensors {
            put_string(&mut header, &t.name);
            put_u32(&mut header, t.dims.len() as u32);
            t.dims.iter().for_each(|d| header.extend_from_slice(&d.to_le_bytes()));
            put_u32(&mut header, t.ty.id());
            header.extend_from_slice(&offset.to_le_bytes());
            offset = (offset + t.n_bytes).next_multiple_of(alignment);
        }
        let pad = |len: u64| vec![0u8; (len.next_multiple_of(alignment) - len) as usize];
        w.write_all(&header)?;
        w.write_all(&pad(header.len() as u64))?;
        for t in &mut self.tensors {
            let mut counted = CountingWriter { inner: &mut *w, n: 0 };
            match &mut t.data {
                TensorData::Bytes(b) => counted.write_all(b)?,
                TensorData::Stream(f) => f(&mut counted)?,
            }
            if counted.n != t.n_bytes {
                let msg = format!("tensor '{}': {} bytes produced, {} expected", t.name, counted.n, t.n_bytes);
                return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
            }
            w.write_all(&pad(t.n_bytes))?;
        }
        Ok(())
    }
}

struct CountingWriter<'w> {
    inner: &'w mut dyn Write,
    n: u64,
}

impl Write for CountingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn put_u32(out: &mut Vec<u8>, x: u32) {
    out.extend_from_slice(&x.to_le_bytes());
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::String(s) => put_string(out, s),
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Array(a) => {
            put_u32(out, a.elem_type() as u32);
            out.extend_from_slice(&(a.len() as u64).to_le_bytes());
            match a {
                Array::U8(v) => out.extend_from_slice(v),
                Array::I8(v) => v.iter().for_each(|x| out.push(*x as u8)),
                Array::U16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                Array::I16(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                Array::U32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                Array::I32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                Array::F32(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                Array::Bool(v) => v.iter().for_each(|x| out.push(u8::from(*x))),
                Array::String(v) => v.iter().for_each(|s| put_string(out, s)),
                Array::U64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                Array::I64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
                Array::F64(v) => v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            }
        }
    }
}
