//! A bounds-checked little-endian reader over the file bytes. Every read names the field it is
//! for, so a short file reports which field ran past the end and where.

use crate::error::{GgufError, Problem, Result};

pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    pub fn pos(&self) -> u64 {
        self.pos as u64
    }

    pub fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    pub fn file_len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The next `n` bytes, or a `Truncated` error naming `field`.
    pub fn take(&mut self, n: u64, field: &dyn Fn() -> String) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(GgufError::malformed(
                self.pos(),
                field(),
                Problem::Truncated { needed: n - self.remaining(), file_len: self.file_len() },
            ));
        }
        let start = self.pos;
        self.pos += n as usize; // n <= remaining, which fits usize
        Ok(&self.bytes[start..self.pos])
    }

    pub fn array<const N: usize>(&mut self, field: &dyn Fn() -> String) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N as u64, field)?);
        Ok(out)
    }

    pub fn u8(&mut self, field: &dyn Fn() -> String) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    pub fn u16(&mut self, field: &dyn Fn() -> String) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub fn u32(&mut self, field: &dyn Fn() -> String) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    pub fn u64(&mut self, field: &dyn Fn() -> String) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// A count that must leave room for `count * min_bytes_each` more bytes; refusing it here
    /// keeps a forged count from driving a huge allocation.
    pub fn count(&mut self, min_bytes_each: u64, field: &dyn Fn() -> String) -> Result<u64> {
        let at = self.pos();
        let count = self.u64(field)?;
        let need = count.checked_mul(min_bytes_each);
        if need.is_none_or(|need| need > self.remaining()) {
            let bytes_left = self.remaining();
            return Err(GgufError::malformed(at, field(), Problem::CountTooLarge { count, bytes_left }));
        }
        Ok(count)
    }

    /// A u64-length-prefixed UTF-8 string of at most `limit` bytes.
    pub fn string(&mut self, limit: u64, field: &dyn Fn() -> String) -> Result<String> {
        let at = self.pos();
        let len = self.u64(field)?;
        if len > limit {
            return Err(GgufError::malformed(at, field(), Problem::TooLong { len, limit }));
        }
        let bytes = self.take(len, field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| GgufError::malformed(at + 8, field(), Problem::Utf8))
    }
}
