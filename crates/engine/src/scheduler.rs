//! The scheduler: which tokens of which sequences go into the next forward step.
//!
//! Each step first gives every running sequence (oldest first) what it needs next: one token to
//! decode, or the next chunk of a prompt still being filled in. What is left of the token budget
//! then admits waiting sequences in arrival order (chunked prefill): the head of the queue
//! waits for room rather than being overtaken, so nobody starves. A sequence first looks its
//! prompt's full blocks up in the prefix cache and computes only the rest.
//!
//! When a running sequence needs a block and none is left, the newest running sequence is
//! preempted: its blocks are released (they stay in the prefix cache while nobody needs the
//! room) and it goes back to the front of the queue to be recomputed later, prompt and tokens
//! generated so far. Requests that could never fit are refused when they arrive.
//!
//! The scheduler knows nothing of the model: the engine turns a [`Step`] into a `BatchPlan`,
//! runs it, then reports back with [`Scheduler::complete`] and [`Scheduler::append`].

use std::collections::VecDeque;

use backend::cpu::InBatch;
use model::BatchPlan;

use crate::block_manager::BlockManager;

pub type SeqId = u64;

#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Physical KV blocks in the cache.
    pub n_blocks: usize,
    /// Tokens per block.
    pub block_size: usize,
    /// Most tokens one sequence may hold (prompt and generated).
    pub n_ctx: usize,
    /// Most tokens in one forward step.
    pub token_budget: usize,
    /// Most sequences running at once.
    pub max_running: usize,
    /// Most requests waiting for their first step; beyond that, submissions are refused.
    pub max_waiting: usize,
}

impl SchedulerConfig {
    pub fn validate(&self) -> Result<(), String> {
        let c = self;
        if c.block_size == 0 || c.n_blocks == 0 || c.n_ctx == 0 {
            return Err(format!(
                "a cache of {} blocks of {} tokens with a context of {} is not usable",
                c.n_blocks, c.block_size, c.n_ctx
            ));
        }
        if c.max_running == 0 || c.token_budget < c.max_running {
            return Err(format!(
                "token budget {} must be at least max running sequences {} (>= 1)",
                c.token_budget, c.max_running
            ));
        }
        Ok(())
    }
}

/// Why a request is refused when it is submitted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("the server is overloaded: {waiting} requests are already waiting")]
    Overloaded { waiting: usize },
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("the prompt of {prompt} tokens does not fit the context of {n_ctx} tokens")]
    PromptTooLong { prompt: usize, n_ctx: usize },
    #[error("the request needs {needed} tokens of KV cache but the whole cache holds {capacity}")]
    NeverFits { needed: usize, capacity: usize },
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("the engine has stopped")]
    EngineStopped,
}

/// One sequence as the scheduler sees it.
#[derive(Clone, Debug)]
pub struct Sequence {
    pub id: SeqId,
    /// Prompt then generated tokens.
    pub tokens: Vec<u32>,
    pub prompt_len: usize,
    /// Tokens whose K/V are in the cache (a prefix of `tokens`).
    n_computed: usize,
    /// Logical block i is physical block `blocks[i]`.
    blocks: Vec<u32>,
    /// Chain hashes of the first `hashes.len()` blocks (all full and computed).
    hashes: Vec<u64>,
    /// Whether the sequence has been admitted at least once.
    pub started: bool,
    /// Prompt tokens found in the prefix cache when first admitted.
    pub cached_tokens: usize,
    pub n_preemptions: u32,
}

impl Sequence {
    pub fn n_computed(&self) -> usize {
        self.n_computed
    }

    pub fn blocks(&self) -> &[u32] {
        &self.blocks
    }

    pub fn n_generated(&self) -> usize {
        self.tokens.len() - self.prompt_len
    }

    /// Leading full blocks that may be shared through the prefix cache: those of the prompt
    /// whose tokens take the same kernels in any prompt that holds them. A block's K/V depend
    /// on the arithmetic its tokens were computed with (`BatchPlan::llama_batch`: a prompt
    /// token's follows the prompt's length, `InBatch::prefix_is_settled`), and the cache keys
    /// blocks by their tokens only; blocks holding generated tokens (one-token arithmetic) are
    /// neither offered nor taken.
    fn cacheable_blocks(&self, block_size: usize) -> usize {
        // Settled at the first block's end means settled at every later one (multiples of it).
        if InBatch::prefix_is_settled(block_size) {
            self.prompt_len / block_size
        } else {
            0
        }
    }
}

/// One sequence's part of a step: tokens `start..start + len` of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduled {
    pub id: SeqId,
    pub start: usize,
    pub len: usize,
    /// The chunk reaches the sequence's last token: its logits choose the next token.
    pub logits: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Step {
    pub seqs: Vec<Scheduled>,
    /// Sequences preempted while making this step (back in the queue).
    pub preempted: Vec<SeqId>,
    /// Sequences admitted for the first time in this step.
    pub started: Vec<SeqId>,
}

impl Step {
    pub fn n_tokens(&self) -> usize {
        self.seqs.iter().map(|s| s.len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }
}

pub struct Scheduler {
    cfg: SchedulerConfig,
    bm: BlockManager,
    waiting: VecDeque<Sequence>,
    /// In admission order, oldest first.
    running: Vec<Sequence>,
}

impl Scheduler {
    pub fn new(cfg: SchedulerConfig) -> Result<Scheduler, String> {
        cfg.validate()?;
        Ok(Scheduler {
            bm: BlockManager::new(cfg.n_blocks, cfg.block_size),
            cfg,
            waiting: VecDeque::new(),
            running: Vec::new(),
        })
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.cfg
    }

    pub fn block_manager(&self) -> &BlockManager {
        &self.bm
    }

    /// Refuses a request that could never run: empty, longer than the context, or needing more
    /// KV than the whole cache even alone. Returns how many tokens it may generate at most
    /// (`max_tokens`, cut at the context end).
    pub fn check_fits(cfg: &SchedulerConfig, prompt_len: usize, max_tokens: Option<u32>) -> Result<usize, SubmitError> {
        if prompt_len == 0 {
            return Err(SubmitError::EmptyPrompt);
        }
        if prompt_len > cfg.n_ctx {
            return Err(SubmitError::PromptTooLong { prompt: prompt_len, n_ctx: cfg.n_ctx });
        }
        if max_tokens == Some(0) {
            return Err(SubmitError::Invalid("max_tokens must be at least 1".into()));
        }
        // Every token but the last generated one goes through the model; the context end cuts
        // generation once the cache holds n_ctx tokens.
        let max_gen = max_tokens.map_or(usize::MAX, |m| m as usize);
        let kv = (prompt_len + max_gen.min(cfg.n_ctx + 1) - 1).min(cfg.n_ctx);
        let capacity = cfg.n_blocks * cfg.block_size;
        if kv > capacity {
            return Err(SubmitError::NeverFits { needed: kv, capacity });
        }
        Ok(max_gen.min(cfg.n_ctx + 1 - prompt_len))
    }

    /// Queues a new sequence.
    pub fn add(&mut self, id: SeqId, prompt: Vec<u32>, max_tokens: Option<u32>) -> Result<(), SubmitError> {
        Self::check_fits(&self.cfg, prompt.len(), max_tokens)?;
        let waiting = self.waiting.iter().filter(|s| !s.started).count();
        if waiting >= self.cfg.max_waiting {
            return Err(SubmitError::Overloaded { waiting });
        }
        self.waiting.push_back(Sequence {
            id,
            prompt_len: prompt.len(),
            tokens: prompt,
            n_computed: 0,
            blocks: Vec::new(),
            hashes: Vec::new(),
            started: false,
            cached_tokens: 0,
            n_preemptions: 0,
        });
        Ok(())
    }

    pub fn n_waiting(&self) -> usize {
        self.waiting.len()
    }

    pub fn n_running(&self) -> usize {
        self.running.len()
    }

    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty() && self.running.is_empty()
    }

    pub fn get(&self, id: SeqId) -> Option<&Sequence> {
        self.running.iter().chain(&self.waiting).find(|s| s.id == id)
    }

    /// Ids of every sequence held, running then waiting.
    pub fn ids(&self) -> Vec<SeqId> {
        self.running.iter().chain(&self.waiting).map(|s| s.id).collect()
    }

    /// Chooses the next step and gives its sequences the blocks it writes.
    pub fn schedule(&mut self) -> Step {
        let bs = self.cfg.block_size;
        let mut budget = self.cfg.token_budget;
        let mut step = Step::default();
        let mut i = 0;
        while i < self.running.len() && budget > 0 {
            let s = &self.running[i];
            let n = (s.tokens.len() - s.n_computed).min(budget);
            if n == 0 {
                i += 1; // waiting for its sampled token
                continue;
            }
            let need = (s.n_computed + n).div_ceil(bs).saturating_sub(s.blocks.len());
            while self.bm.n_free() < need && i < self.running.len() {
                let victim = self.running.len() - 1;
                step.preempted.push(self.running[victim].id);
                self.preempt(victim);
            }
            if i == self.running.len() {
                break; // preempted itself: nothing older could make room
            }
            let s = &mut self.running[i];
            s.blocks.extend(self.bm.alloc_n(need).expect("room was made"));
            step.seqs.push(Scheduled {
                id: s.id,
                start: s.n_computed,
                len: n,
                logits: s.n_computed + n == s.tokens.len(),
            });
            budget -= n;
            i += 1;
        }
        // Admit waiting sequences in order, unless this step had to preempt (no room then).
        while budget > 0 && step.preempted.is_empty() && self.running.len() < self.cfg.max_running {
            let Some(s) = self.waiting.front() else { break };
            // Full blocks of the prefix already in the cache; the last token is always computed
            // (its logits are needed), so a block holding it is never taken from the cache.
            let max_hit = ((s.tokens.len() - 1) / bs).min(s.cacheable_blocks(bs));
            let mut parent = None;
            let (mut hits, mut cached_hits) = (0, 0);
            while hits < max_hit {
                let Some((b, hash)) = self.bm.peek(parent, &s.tokens[hits * bs..(hits + 1) * bs]) else { break };
                cached_hits += usize::from(self.bm.is_cached(b));
                parent = Some(hash);
                hits += 1;
            }
            let start = hits * bs;
            let n = (s.tokens.len() - start).min(budget);
            let need = (start + n).div_ceil(bs) - hits;
            if self.bm.n_free() < need + cached_hits {
                break; // the head waits for room; nobody overtakes it
            }
            let mut s = self.waiting.pop_front().expect("front");
            let mut parent = None;
            for k in 0..hits {
                let (b, hash) = self.bm.lookup(parent, &s.tokens[k * bs..(k + 1) * bs]).expect("checked");
                s.blocks.push(b);
                s.hashes.push(hash);
                parent = Some(hash);
            }
            s.blocks.extend(self.bm.alloc_n(need).expect("counted"));
            s.n_computed = start;
            if !s.started {
                s.started = true;
                s.cached_tokens = start;
                step.started.push(s.id);
            }
            step.seqs.push(Scheduled { id: s.id, start, len: n, logits: start + n == s.tokens.len() });
            budget -= n;
            self.running.push(s);
        }
        step
    }

    fn preempt(&mut self, i: usize) {
        let mut s = self.running.remove(i);
        self.bm.release(&s.blocks);
        s.blocks.clear();
        s.hashes.clear();
        s.n_computed = 0;
        s.n_preemptions += 1;
        self.waiting.push_front(s);
    }

    /// The forward input of `step`: its tokens, positions and block tables, logits rows of the
    /// sequences that sample (in `step.seqs` order).
    pub fn plan(&self, step: &Step) -> BatchPlan {
        let mut plan = BatchPlan::default();
        for (k, sch) in step.seqs.iter().enumerate() {
            let s = self.get(sch.id).expect("scheduled sequence is running");
            plan.tokens.extend_from_slice(&s.tokens[sch.start..sch.start + sch.len]);
            plan.positions.extend((sch.start..sch.start + sch.len).map(|p| p as u32));
            plan.token_seq.extend(std::iter::repeat_n(k, sch.len));
            // As the request alone through llama.cpp: its prompt as one batch, then one token
            // at a time.
            plan.llama_batch.extend((sch.start..sch.start + sch.len).map(|p| {
                if p < s.prompt_len {
                    InBatch { size: s.prompt_len as u32, index: p as u32 }
                } else {
                    InBatch::ALONE
                }
            }));
            plan.block_tables.push(s.blocks.clone());
            if sch.logits {
                plan.logits_rows.push(plan.tokens.len() - 1);
            }
        }
        plan
    }

    /// The step ran: its tokens are in the cache. Newly full blocks join the prefix cache.
    pub fn complete(&mut self, step: &Step) {
        let bs = self.cfg.block_size;
        for sch in &step.seqs {
            let Some(s) = self.running.iter_mut().find(|s| s.id == sch.id) else { continue };
            s.n_computed = sch.start + sch.len;
            while (s.hashes.len() + 1) * bs <= s.n_computed && s.hashes.len() < s.cacheable_blocks(bs) {
                let k = s.hashes.len();
                let hash = self.bm.register(s.blocks[k], s.hashes.last().copied(), &s.tokens[k * bs..(k + 1) * bs]);
                s.hashes.push(hash);
            }
        }
    }

    /// Appends the token sampled for running sequence `id`.
    pub fn append(&mut self, id: SeqId, token: u32) {
        if let Some(s) = self.running.iter_mut().find(|s| s.id == id) {
            s.tokens.push(token);
        }
    }

    /// Removes a sequence (finished or cancelled), releasing its blocks at once.
    pub fn remove(&mut self, id: SeqId) -> Option<Sequence> {
        let s = if let Some(i) = self.running.iter().position(|s| s.id == id) {
            self.running.remove(i)
        } else {
            let i = self.waiting.iter().position(|s| s.id == id)?;
            self.waiting.remove(i).expect("index")
        };
        self.bm.release(&s.blocks);
        Some(s)
    }

    /// Checks block ownership against every sequence's table (for tests).
    pub fn check(&self) -> Result<(), String> {
        self.bm.check(self.running.iter().chain(&self.waiting).map(|s| &s.blocks[..]))?;
        for s in &self.running {
            if s.blocks.len() * self.cfg.block_size < s.n_computed {
                return Err(format!(
                    "sequence {} has {} tokens computed in {} blocks",
                    s.id,
                    s.n_computed,
                    s.blocks.len()
                ));
            }
        }
        if let Some(s) = self.waiting.iter().find(|s| !s.blocks.is_empty()) {
            return Err(format!("waiting sequence {} holds blocks", s.id));
        }
        Ok(())
    }
}
