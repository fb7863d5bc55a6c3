//! An opened GGUF file: the validated header plus zero-copy access to the tensor bytes.

use std::collections::HashMap;
use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{GgufError, Problem, Result};
use crate::quants;
use crate::read::{self, Header};
use crate::tensor::TensorInfo;
use crate::value::Metadata;

/// Where the file bytes live: a read-only memory map, or memory (tests, fuzzing).
enum Storage {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Deref for Storage {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Storage::Mapped(m) => m,
            Storage::Owned(v) => v,
        }
    }
}

pub struct GgufFile {
    storage: Storage,
    path: Option<PathBuf>,
    pub version: u32,
    /// `general.alignment`, 32 when absent.
    pub alignment: u64,
    pub metadata: Metadata,
    /// In file order.
    pub tensors: Vec<TensorInfo>,
    tensor_index: HashMap<String, usize>,
    /// Absolute offset of the tensor data section.
    pub data_offset: u64,
}

impl GgufFile {
    /// Maps and validates a file. Only the header is read now; tensor bytes are paged in when
    /// used.
    pub fn open(path: impl AsRef<Path>) -> Result<GgufFile> {
        let path = path.as_ref();
        let io = |cause| GgufError::Io { path: path.to_path_buf(), cause };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private to this process. Another process truncating
        // or rewriting the model while we run is outside what we can defend against (as for
        // every mmap-based loader); we never write through the map.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Self::from_storage(Storage::Mapped(map), Some(path.to_path_buf()))
    }

    /// Parses a file held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GgufFile> {
        Self::from_storage(Storage::Owned(bytes), None)
    }

    fn from_storage(storage: Storage, path: Option<PathBuf>) -> Result<GgufFile> {
        let Header { version, alignment, metadata, tensors, tensor_index, data_offset } = read::parse(&storage)?;
        Ok(GgufFile { storage, path, version, alignment, metadata, tensors, tensor_index, data_offset })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Total file size in bytes.
    pub fn file_len(&self) -> u64 {
        self.storage.len() as u64
    }

    /// Position of a tensor in [`Self::tensors`].
    pub fn tensor_index(&self, name: &str) -> Option<usize> {
        self.tensor_index.get(name).copied()
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensor_index.get(name).map(|&i| &self.tensors[i])
    }

    /// Like [`Self::tensor`], but a missing tensor is an error naming it.
    pub fn require_tensor(&self, name: &str) -> Result<&TensorInfo> {
        self.tensor(name).ok_or_else(|| GgufError::MissingTensor { name: name.to_string() })
    }

    /// Reads one byte of every page of the tensor data so the first forward pass does not stall
    /// on page faults; `progress(done, total)` is called every 64 MiB (for a progress bar).
    pub fn prefault(&self, mut progress: impl FnMut(u64, u64)) {
        const PAGE: usize = 4096;
        const REPORT: usize = 64 << 20;
        let data = &self.storage[(self.data_offset as usize).min(self.storage.len())..];
        let total = data.len() as u64;
        let mut sum = 0u8;
        for (i, chunk) in data.chunks(REPORT).enumerate() {
            sum = chunk.iter().step_by(PAGE).fold(sum, |a, &b| a ^ b);
            progress(((i + 1) * REPORT).min(data.len()) as u64, total);
        }
        std::hint::black_box(sum);
    }

    /// A tensor converted to f32 with the reference dequantization. Types without one give
    /// "unsupported tensor type X in tensor Y".
    pub fn dequantize(&self, t: &TensorInfo) -> Result<Vec<f32>> {
        if !t.ty.has_reference_dequant() {
            return Err(GgufError::UnsupportedType { tensor: t.name.clone(), ty: t.ty });
        }
        quants::dequantize_to_vec(t.ty, self.tensor_data(t)?)
            .map_err(|source| GgufError::Dequant { tensor: t.name.clone(), source })
    }

    /// The raw bytes of a tensor, borrowed from the map (no copy). Tensors of this file's table
    /// always resolve (their range was checked at parse time); a foreign `TensorInfo` that does
    /// not fit is an error.
    pub fn tensor_data(&self, t: &TensorInfo) -> Result<&[u8]> {
        let range =
            usize::try_from(t.start).ok().and_then(|s| Some(s..s.checked_add(usize::try_from(t.n_bytes).ok()?)?));
        range.and_then(|r| self.storage.get(r)).ok_or_else(|| {
            let end = t.start.saturating_add(t.n_bytes);
            let problem = Problem::OutOfBounds { start: t.start, end, file_len: self.file_len() };
            GgufError::malformed(t.start, format!("tensor '{}'", t.name), problem)
        })
    }
}
