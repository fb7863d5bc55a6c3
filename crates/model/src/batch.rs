//! BatchPlan: one forward step over a flat list of tokens from any number of sequences
//! (prefill, chunked prefill, decode and mixes of them are the same call).

use std::collections::HashSet;

use backend::cpu::InBatch;

use crate::error::ModelError;

#[derive(Clone, Debug, Default)]
pub struct BatchPlan {
    pub tokens: Vec<u32>,      // [T]
    pub positions: Vec<u32>,   // [T] position of each token in its sequence
    pub token_seq: Vec<usize>, // [T] index into `block_tables`
    /// Per sequence: logical block i of the sequence is physical block `table[i]`.
    pub block_tables: Vec<Vec<u32>>,
    /// Rows of the batch whose logits the caller wants, in the order they are returned.
    pub logits_rows: Vec<usize>,
    /// [T] the batch llama.cpp would evaluate each token in and its index there, whose kernels'
    /// rounding the CPU reproduces (`InBatch`): a prompt token's batch is its prompt (or the
    /// tokens passed together), a generated token is alone. Results never depend on the rest
    /// of the step; this says which llama.cpp run they match bit for bit.
    pub llama_batch: Vec<InBatch>,
}

impl BatchPlan {
    /// `tokens` of one sequence starting at `start_pos`; logits for the last token, or for all.
    pub fn single(tokens: &[u32], start_pos: usize, block_table: &[u32], all_logits: bool) -> BatchPlan {
        let n = tokens.len();
        BatchPlan {
            tokens: tokens.to_vec(),
            positions: (start_pos..start_pos + n).map(|p| p as u32).collect(),
            token_seq: vec![0; n],
            block_tables: vec![block_table.to_vec()],
            logits_rows: if all_logits { (0..n).collect() } else { n.checked_sub(1).into_iter().collect() },
            llama_batch: InBatch::whole(n),
        }
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Cache slot of token `i`: physical block * block_size + offset in the block.
    pub fn slot(&self, i: usize, block_size: usize) -> usize {
        let pos = self.positions[i] as usize;
        self.block_tables[self.token_seq[i]][pos / block_size] as usize * block_size + pos % block_size
    }

    /// Everything the forward indexes with: token ids, positions covered by block tables,
    /// physical blocks in range, no slot written twice, logits rows in range.
    pub fn validate(&self, vocab: usize, block_size: usize, n_blocks: usize) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Batch(m));
        let t = self.tokens.len();
        if t == 0 {
            return bad("no tokens".into());
        }
        if self.positions.len() != t || self.token_seq.len() != t || self.llama_batch.len() != t {
            return bad(format!(
                "{t} tokens but {} positions, {} sequence indices and {} llama_batch entries",
                self.positions.len(),
                self.token_seq.len(),
                self.llama_batch.len()
            ));
        }
        if let Some(b) = self.llama_batch.iter().find(|b| b.index >= b.size) {
            return bad(format!("a token's llama.cpp batch index {} is not below its size {}", b.index, b.size));
        }
        if let Some(&id) = self.tokens.iter().find(|&&id| id as usize >= vocab) {
            return bad(format!("token id {id} is outside the vocabulary of {vocab}"));
        }
        if let Some(b) = self.block_tables.iter().flatten().find(|&&b| b as usize >= n_blocks) {
            return bad(format!("block {b} is outside the cache's {n_blocks} blocks"));
        }
        let mut slots = HashSet::with_capacity(t);
        for i in 0..t {
            let Some(table) = self.block_tables.get(self.token_seq[i]) else {
                return bad(format!("token {i} names sequence {} of {}", self.token_seq[i], self.block_tables.len()));
            };
            let pos = self.positions[i] as usize;
            if pos / block_size >= table.len() {
                return bad(format!("position {pos} of token {i} is beyond its {} blocks", table.len()));
            }
            if !slots.insert(self.slot(i, block_size)) {
                return bad(format!("token {i} writes a cache slot another token of the batch writes"));
            }
        }
        if let Some(&r) = self.logits_rows.iter().find(|&&r| r >= t) {
            return bad(format!("logits row {r} of a {t}-token batch"));
        }
        Ok(())
    }
}
