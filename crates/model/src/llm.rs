//! A loaded model: the mapped file, its hyperparameters, architecture spec and weights.

use std::path::Path;

use gguf::GgufFile;

use crate::arch::ArchSpec;
use crate::error::ModelError;
use crate::hparams::HParams;
use crate::weights::Weights;

pub struct Model {
    pub file: GgufFile,
    pub hparams: HParams,
    pub spec: ArchSpec,
    pub weights: Weights,
}

impl Model {
    pub fn load(path: impl AsRef<Path>) -> Result<Model, ModelError> {
        Self::from_file(GgufFile::open(path)?)
    }

    /// Checks the architecture, hyperparameters and every tensor's shape.
    pub fn from_file(file: GgufFile) -> Result<Model, ModelError> {
        let hparams = HParams::from_metadata(&file.metadata)?;
        let spec =
            ArchSpec::for_arch(&hparams.arch).ok_or_else(|| ModelError::UnsupportedArch(hparams.arch.clone()))?;
        let weights = Weights::load(&file, &hparams, &spec)?;
        Ok(Model { file, hparams, spec, weights })
    }

    /// Rows of the output matrix (the logits per token).
    pub fn vocab_size(&self) -> usize {
        self.hparams.vocab_size.unwrap_or(0) as usize
    }
}
