//! Metadata values and the ordered key/value map with typed accessors.
//!
//! Accessors never panic: a missing key is `MissingKey`, a value of another type is `WrongType`.
//! Integer accessors accept any integer type whose value fits losslessly (converters disagree
//! on u32 vs i32 vs u64 for the same key; the value is what matters).

use std::collections::HashMap;

use crate::error::{GgufError, Result};

/// The GGUF value type ids (`enum gguf_type` in gguf.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12,
}

impl ValueType {
    pub fn from_id(id: u32) -> Option<ValueType> {
        use ValueType::*;
        Some(match id {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    /// Bytes one value of this type takes in the file; `None` for strings (length-prefixed) and
    /// arrays.
    pub fn fixed_size(self) -> Option<u64> {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => Some(1),
            U16 | I16 => Some(2),
            U32 | I32 | F32 => Some(4),
            U64 | I64 | F64 => Some(8),
            String | Array => None,
        }
    }

    pub fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "u8",
            I8 => "i8",
            U16 => "u16",
            I16 => "i16",
            U32 => "u32",
            I32 => "i32",
            F32 => "f32",
            Bool => "bool",
            String => "string",
            Array => "array",
            U64 => "u64",
            I64 => "i64",
            F64 => "f64",
        }
    }
}

/// One metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    U64(u64),
    I64(i64),
    F64(f64),
    Array(Array),
}

/// A typed array (GGUF arrays hold one element type; arrays of arrays are refused).
#[derive(Clone, Debug, PartialEq)]
pub enum Array {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    Bool(Vec<bool>),
    String(Vec<String>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

impl Array {
    pub fn elem_type(&self) -> ValueType {
        match self {
            Array::U8(_) => ValueType::U8,
            Array::I8(_) => ValueType::I8,
            Array::U16(_) => ValueType::U16,
            Array::I16(_) => ValueType::I16,
            Array::U32(_) => ValueType::U32,
            Array::I32(_) => ValueType::I32,
            Array::F32(_) => ValueType::F32,
            Array::Bool(_) => ValueType::Bool,
            Array::String(_) => ValueType::String,
            Array::U64(_) => ValueType::U64,
            Array::I64(_) => ValueType::I64,
            Array::F64(_) => ValueType::F64,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Array::U8(v) => v.len(),
            Array::I8(v) => v.len(),
            Array::U16(v) => v.len(),
            Array::I16(v) => v.len(),
            Array::U32(v) => v.len(),
            Array::I32(v) => v.len(),
            Array::F32(v) => v.len(),
            Array::Bool(v) => v.len(),
            Array::String(v) => v.len(),
            Array::U64(v) => v.len(),
            Array::I64(v) => v.len(),
            Array::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Integer elements widened to i128 (None for float, bool and string arrays).
    fn integers(&self) -> Option<Vec<i128>> {
        fn widen<T: Copy + Into<i128>>(v: &[T]) -> Vec<i128> {
            v.iter().map(|&x| x.into()).collect()
        }
        Some(match self {
            Array::U8(v) => widen(v),
            Array::I8(v) => widen(v),
            Array::U16(v) => widen(v),
            Array::I16(v) => widen(v),
            Array::U32(v) => widen(v),
            Array::I32(v) => widen(v),
            Array::U64(v) => widen(v),
            Array::I64(v) => widen(v),
            _ => return None,
        })
    }
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::F32(_) => ValueType::F32,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
            Value::Array(_) => ValueType::Array,
        }
    }

    /// "u32", "string", "array of f32 (5)" ... for error messages.
    pub fn describe(&self) -> String {
        match self {
            Value::Array(a) => format!("array of {} ({})", a.elem_type().name(), a.len()),
            v => v.value_type().name().to_string(),
        }
    }

    /// The value as an integer when it is one (any width or signedness).
    pub fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            Value::U8(x) => x.into(),
            Value::I8(x) => x.into(),
            Value::U16(x) => x.into(),
            Value::I16(x) => x.into(),
            Value::U32(x) => x.into(),
            Value::I32(x) => x.into(),
            Value::U64(x) => x.into(),
            Value::I64(x) => x.into(),
            _ => return None,
        })
    }
}

/// Metadata in file order, with an index by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    entries: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

impl Metadata {
    /// Adds a key; returns false (and changes nothing) when the key is already present.
    pub(crate) fn insert(&mut self, key: String, value: Value) -> bool {
        if self.index.contains_key(&key) {
            return false;
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, value));
        true
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    fn require(&self, key: &str) -> Result<&Value> {
        self.get(key).ok_or_else(|| GgufError::MissingKey { key: key.to_string() })
    }

    fn wrong(key: &str, expected: &'static str, found: &Value) -> GgufError {
        GgufError::WrongType { key: key.to_string(), expected, found: found.describe() }
    }

    /// An integer key converted to `T` without loss.
    pub fn int<T: TryFrom<i128>>(&self, key: &str) -> Result<T> {
        let v = self.require(key)?;
        v.as_integer().and_then(|x| T::try_from(x).ok()).ok_or_else(|| Self::wrong(key, std::any::type_name::<T>(), v))
    }

    pub fn opt_int<T: TryFrom<i128>>(&self, key: &str) -> Result<Option<T>> {
        self.get(key).map(|_| self.int(key)).transpose()
    }

    /// A float key (f32, f64, or an integer, as some converters write whole numbers).
    pub fn float(&self, key: &str) -> Result<f64> {
        let v = self.require(key)?;
        match *v {
            Value::F32(x) => Ok(x.into()),
            Value::F64(x) => Ok(x),
            _ => v.as_integer().map(|x| x as f64).ok_or_else(|| Self::wrong(key, "float", v)),
        }
    }

    pub fn opt_float(&self, key: &str) -> Result<Option<f64>> {
        self.get(key).map(|_| self.float(key)).transpose()
    }

    pub fn bool(&self, key: &str) -> Result<bool> {
        match self.require(key)? {
            Value::Bool(b) => Ok(*b),
            v => Err(Self::wrong(key, "bool", v)),
        }
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.get(key).map(|_| self.bool(key)).transpose()
    }

    pub fn str(&self, key: &str) -> Result<&str> {
        match self.require(key)? {
            Value::String(s) => Ok(s),
            v => Err(Self::wrong(key, "string", v)),
        }
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&str>> {
        self.get(key).map(|_| self.str(key)).transpose()
    }

    pub fn array(&self, key: &str) -> Result<&Array> {
        match self.require(key)? {
            Value::Array(a) => Ok(a),
            v => Err(Self::wrong(key, "array", v)),
        }
    }

    pub fn str_array(&self, key: &str) -> Result<&[String]> {
        match self.array(key)? {
            Array::String(v) => Ok(v),
            a => Err(Self::wrong(key, "array of string", &Value::Array(a.clone()))),
        }
    }

    pub fn f32_array(&self, key: &str) -> Result<&[f32]> {
        match self.array(key)? {
            Array::F32(v) => Ok(v),
            a => Err(Self::wrong(key, "array of f32", &Value::Array(a.clone()))),
        }
    }

    /// An integer array converted element-wise to `T` without loss.
    pub fn int_array<T: TryFrom<i128>>(&self, key: &str) -> Result<Vec<T>> {
        let a = self.array(key)?;
        let bad = || Self::wrong(key, "array of integers", &Value::Array(a.clone()));
        a.integers().ok_or_else(bad)?.into_iter().map(|x| T::try_from(x).map_err(|_| bad())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Metadata {
        let mut m = Metadata::default();
        m.insert("a.u32".into(), Value::U32(7));
        m.insert("a.i64".into(), Value::I64(-1));
        m.insert("a.f32".into(), Value::F32(0.5));
        m.insert("a.str".into(), Value::String("hi".into()));
        m.insert("a.arr".into(), Value::Array(Array::I32(vec![1, 2, 3])));
        m
    }

    #[test]
    fn typed_accessors_convert_losslessly() {
        let m = meta();
        assert_eq!(m.int::<u32>("a.u32").unwrap(), 7);
        assert_eq!(m.int::<u64>("a.u32").unwrap(), 7);
        assert_eq!(m.int::<i8>("a.i64").unwrap(), -1);
        assert_eq!(m.float("a.f32").unwrap(), 0.5);
        assert_eq!(m.float("a.u32").unwrap(), 7.0);
        assert_eq!(m.str("a.str").unwrap(), "hi");
        assert_eq!(m.int_array::<u64>("a.arr").unwrap(), vec![1, 2, 3]);
        assert_eq!(m.opt_int::<u32>("nope").unwrap(), None);
    }

    #[test]
    fn wrong_types_and_missing_keys_are_errors() {
        let m = meta();
        assert!(matches!(m.int::<u32>("a.i64"), Err(GgufError::WrongType { .. })));
        assert!(matches!(m.str("a.u32"), Err(GgufError::WrongType { .. })));
        assert!(matches!(m.bool("a.str"), Err(GgufError::WrongType { .. })));
        assert!(matches!(m.str_array("a.arr"), Err(GgufError::WrongType { .. })));
        assert!(matches!(m.int::<u32>("missing"), Err(GgufError::MissingKey { .. })));
        let e = m.str("a.arr").unwrap_err().to_string();
        assert!(e.contains("a.arr") && e.contains("array of i32 (3)"), "{e}");
    }

    #[test]
    fn duplicate_insert_is_refused() {
        let mut m = meta();
        assert!(!m.insert("a.u32".into(), Value::U8(1)));
        assert_eq!(m.int::<u32>("a.u32").unwrap(), 7);
    }
}
