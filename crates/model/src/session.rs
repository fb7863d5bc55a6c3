//! One sequence's state for terminal use (`run`, `chat`, goldens): its KV blocks and the tokens
//! already in them. The engine schedules many sequences itself; this is the simple case.

use backend::KvType;

use crate::batch::BatchPlan;
use crate::device::{Device, DeviceKv};
use crate::error::ModelError;
use crate::kv_cache::DEFAULT_BLOCK_SIZE;
use crate::step_logits::Logits;
use crate::Model;

pub struct Session<'m> {
    model: &'m Model,
    device: &'m Device,
    kv: DeviceKv,
    table: Vec<u32>,
    /// Tokens whose K/V are in the cache, in order.
    tokens: Vec<u32>,
    n_ctx: usize,
}

impl<'m> Session<'m> {
    /// A session holding up to `n_ctx` tokens in a `ty` KV cache (sized for exactly that).
    pub fn new(model: &'m Model, device: &'m Device, ty: KvType, n_ctx: usize) -> Result<Self, ModelError> {
        let kv = device.kv_cache(model, ty, n_ctx.div_ceil(DEFAULT_BLOCK_SIZE).max(1), DEFAULT_BLOCK_SIZE)?;
        Ok(Session { model, device, kv, table: Vec::new(), tokens: Vec::new(), n_ctx })
    }

    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Room left in the context.
    pub fn remaining(&self) -> usize {
        self.n_ctx - self.tokens.len()
    }

    /// Appends `tokens` and returns the logits after the last one ([vocab]), or of every one
    /// ([tokens.len(), vocab]) when `all` is set. Fails without changing anything when the
    /// tokens do not fit in the context.
    pub fn eval(&mut self, tokens: &[u32], all: bool) -> Result<Logits, ModelError> {
        let end = self.tokens.len() + tokens.len();
        if end > self.n_ctx {
            return Err(ModelError::ContextFull { needed: end, n_ctx: self.n_ctx });
        }
        if !self.kv.reserve(&mut self.table, end) {
            return Err(ModelError::ContextFull { needed: end, n_ctx: self.n_ctx });
        }
        let plan = BatchPlan::single(tokens, self.tokens.len(), &self.table, all);
        let logits = self.device.forward(self.model, &mut self.kv, &plan)?;
        self.tokens.extend_from_slice(tokens);
        Ok(logits)
    }

    /// Forgets the tokens after the first `n` (their cache slots are overwritten next time).
    pub fn truncate(&mut self, n: usize) {
        self.tokens.truncate(n);
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        self.tokens.clear();
    }
}
