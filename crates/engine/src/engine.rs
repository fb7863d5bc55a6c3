//! The engine: one thread owns the model, the device and the KV cache and runs continuous
//! batching over every live request; callers talk to it through channels.
//!
//! [`Engine::submit`] checks a request (parameters, fit, queue room) and returns a
//! [`RequestHandle`] that streams [`Event`]s: a piece of text and the token id (with logprobs
//! when asked) per generated token, the held-back text at the end, then the finish reason with
//! usage counts. [`RequestHandle::cancel`], or dropping the handle, ends the request; its blocks
//! are released before the next step runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use model::{Detokenizer, Device, DeviceKv, KvType, Model, ModelError, Row, RowNeed, Tokenizer};

use crate::finish::FinishReason;
use crate::sampler::{Sampler, SamplingParams, TokenConstraint};
use crate::scheduler::{Scheduler, SchedulerConfig, SeqId, SubmitError};
use crate::step_times::StepTimes;
use crate::stop::StopMatcher;

#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Tokens per KV block. The prefix cache shares blocks only when this is a multiple of 4
    /// from 8 up (`InBatch::prefix_is_settled`; the default is 16): smaller or odd blocks hold
    /// prompt tokens whose CPU rounding depends on the prompt's length.
    pub block_size: usize,
    /// KV cache capacity in tokens, shared by all sequences (rounded up to whole blocks).
    pub kv_tokens: usize,
    /// Most tokens one sequence may hold.
    pub n_ctx: usize,
    /// Most tokens per forward step (decode tokens plus prefill chunks).
    pub token_budget: usize,
    /// Most sequences running at once.
    pub max_running: usize,
    /// Most requests waiting to start; more are refused as overload.
    pub max_waiting: usize,
    /// The KV cache's element type.
    pub kv_type: KvType,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            block_size: model::kv_cache::DEFAULT_BLOCK_SIZE,
            kv_tokens: 16384,
            n_ctx: 4096,
            token_budget: 512,
            max_running: 64,
            max_waiting: 1024,
            kv_type: KvType::F16,
        }
    }
}

impl EngineConfig {
    fn scheduler(&self) -> SchedulerConfig {
        SchedulerConfig {
            n_blocks: self.kv_tokens.div_ceil(self.block_size.max(1)).max(1),
            block_size: self.block_size,
            n_ctx: self.n_ctx,
            token_budget: self.token_budget,
            max_running: self.max_running,
            max_waiting: self.max_waiting,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("engine configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("cannot start the engine thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Token counts and times of one request.
#[derive(Clone, Debug)]
pub struct Usage {
    pub prompt_tokens: usize,
    /// Tokens sampled, including a final EOS or stop token.
    pub completion_tokens: usize,
    /// Prompt tokens whose K/V came from the prefix cache.
    pub cached_tokens: usize,
    /// Times the request was preempted and recomputed.
    pub preemptions: u32,
    pub submitted: Instant,
    pub first_token: Option<Instant>,
    pub finished: Instant,
}

#[derive(Clone, Debug)]
pub enum Event {
    /// A generated token (not sent for a final EOS or stop token) and the text it releases
    /// (possibly empty: an incomplete character, or text that may start a stop string).
    Token { id: u32, text: String, logprob: Option<f32>, top_logprobs: Vec<(u32, f32)> },
    /// Text held back until the end (sent just before `Finished` when the request ends by EOS,
    /// a stop token or length).
    Text(String),
    /// Always the last event.
    Finished { reason: FinishReason, usage: Usage, error: Option<String> },
}

/// What a finished request produced, gathered from its events.
#[derive(Clone, Debug)]
pub struct Completion {
    pub tokens: Vec<u32>,
    pub text: String,
    pub reason: FinishReason,
    pub usage: Usage,
    pub error: Option<String>,
}

/// A submitted request: its event stream and its cancel switch. Dropping it cancels.
pub struct RequestHandle {
    id: SeqId,
    events: Receiver<Event>,
    cancel: Arc<AtomicBool>,
}

impl RequestHandle {
    pub fn id(&self) -> SeqId {
        self.id
    }

    /// The next event; `None` once the stream has ended.
    pub fn recv(&self) -> Option<Event> {
        self.events.recv().ok()
    }

    pub fn try_recv(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }

    /// The next event if one comes within `timeout`; `Err(true)` once the stream has ended,
    /// `Err(false)` on time-out (lets a forwarding thread check whether its reader is gone).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Event, bool> {
        self.events.recv_timeout(timeout).map_err(|e| e == mpsc::RecvTimeoutError::Disconnected)
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Waits for the end and gathers everything; `None` if the engine went away first.
    pub fn wait(self) -> Option<Completion> {
        let (mut tokens, mut text) = (Vec::new(), String::new());
        while let Some(ev) = self.recv() {
            match ev {
                Event::Token { id, text: t, .. } => {
                    tokens.push(id);
                    text.push_str(&t);
                }
                Event::Text(t) => text.push_str(&t),
                Event::Finished { reason, usage, error } => {
                    return Some(Completion { tokens, text, reason, usage, error });
                }
            }
        }
        None
    }
}

impl Drop for RequestHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

enum Command {
    Submit(Box<NewRequest>),
    Shutdown,
}

struct NewRequest {
    id: SeqId,
    prompt: Vec<u32>,
    max_tokens: Option<u32>,
    sampler: Sampler,
    events: Sender<Event>,
    cancel: Arc<AtomicBool>,
    submitted: Instant,
}

pub struct Engine {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
    cfg: SchedulerConfig,
    vocab: usize,
    next_id: AtomicUsize,
    /// Requests submitted and not yet started (the bounded waiting queue).
    pending: Arc<AtomicUsize>,
    /// KV blocks free or evictable, as of the engine thread's last step.
    free_blocks: Arc<AtomicUsize>,
    times: Arc<Mutex<StepTimes>>,
}

impl Engine {
    /// Starts the engine thread, which owns `model`, the device it runs on and a KV cache of
    /// `cfg.kv_tokens` tokens.
    pub fn start(
        model: Model,
        device: impl Into<Device>,
        tok: Tokenizer,
        cfg: EngineConfig,
    ) -> Result<Engine, EngineError> {
        let scfg = cfg.scheduler();
        scfg.validate().map_err(EngineError::Config)?;
        let sched = Scheduler::new(scfg.clone()).map_err(EngineError::Config)?;
        let device = device.into();
        let kv = device.kv_cache(&model, cfg.kv_type, scfg.n_blocks, scfg.block_size)?;
        let vocab = model.vocab_size();
        let (tx, rx) = mpsc::channel();
        let pending = Arc::new(AtomicUsize::new(0));
        let free_blocks = Arc::new(AtomicUsize::new(scfg.n_blocks));
        let times = Arc::new(Mutex::new(StepTimes::default()));
        let worker = Worker {
            model,
            device,
            kv,
            sched,
            pending: pending.clone(),
            free_blocks: free_blocks.clone(),
            times: times.clone(),
        };
        let thread = std::thread::Builder::new().name("engine".into()).spawn(move || worker.run(&tok, rx))?;
        Ok(Engine {
            commands: tx,
            thread: Some(thread),
            cfg: scfg,
            vocab,
            next_id: AtomicUsize::new(0),
            pending,
            free_blocks,
            times,
        })
    }

    /// Queues a request. Refused at once when the parameters are invalid, a token is outside
    /// the vocabulary, the request could never fit the context or the cache, or the waiting
    /// queue is full.
    pub fn submit(&self, prompt: Vec<u32>, params: SamplingParams) -> Result<RequestHandle, SubmitError> {
        self.submit_constrained(prompt, params, None)
    }

    /// [`Engine::submit`] with a [`TokenConstraint`] that every sampling step of the request obeys
    /// (structured output).
    pub fn submit_constrained(
        &self,
        prompt: Vec<u32>,
        params: SamplingParams,
        constraint: Option<Box<dyn TokenConstraint>>,
    ) -> Result<RequestHandle, SubmitError> {
        if let Some(&t) = prompt.iter().find(|&&t| t as usize >= self.vocab) {
            return Err(SubmitError::Invalid(format!("token {t} is outside the vocabulary of {}", self.vocab)));
        }
        Scheduler::check_fits(&self.cfg, prompt.len(), params.max_tokens)?;
        let max_tokens = params.max_tokens;
        let mut sampler = Sampler::new(params, self.vocab).map_err(|e| SubmitError::Invalid(e.to_string()))?;
        if let Some(c) = constraint {
            sampler = sampler.with_constraint(c);
        }
        let max = self.cfg.max_waiting;
        self.pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1))
            .map_err(|waiting| SubmitError::Overloaded { waiting })?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) as SeqId;
        let (etx, erx) = mpsc::channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let req = NewRequest {
            id,
            prompt,
            max_tokens,
            sampler,
            events: etx,
            cancel: cancel.clone(),
            submitted: Instant::now(),
        };
        if self.commands.send(Command::Submit(Box::new(req))).is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(SubmitError::EngineStopped);
        }
        Ok(RequestHandle { id, events: erx, cancel })
    }

    /// Requests submitted and not yet started.
    pub fn n_pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// KV blocks free or holding only evictable prefix cache, as of the engine's last step
    /// (all of them when idle).
    pub fn n_free_blocks(&self) -> usize {
        self.free_blocks.load(Ordering::Acquire)
    }

    /// KV blocks in the cache.
    pub fn n_blocks(&self) -> usize {
        self.cfg.n_blocks
    }

    /// The engine thread's time so far, by phase (see [`StepTimes`]).
    pub fn step_times(&self) -> StepTimes {
        *self.times.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A live request on the engine thread.
struct Live<'t> {
    sampler: Sampler,
    detok: Detokenizer<'t>,
    stops: StopMatcher,
    events: Sender<Event>,
    cancel: Arc<AtomicBool>,
    max_gen: usize,
    prompt_tokens: usize,
    sampled: usize,
    started: bool,
    submitted: Instant,
    first_token: Option<Instant>,
    /// Why sampling failed, for the `Finished` event.
    error: Option<String>,
}

struct Worker {
    model: Model,
    device: Device,
    kv: DeviceKv,
    sched: Scheduler,
    pending: Arc<AtomicUsize>,
    free_blocks: Arc<AtomicUsize>,
    times: Arc<Mutex<StepTimes>>,
}

impl Worker {
    fn run(mut self, tok: &Tokenizer, commands: Receiver<Command>) {
        let mut live: HashMap<SeqId, Live> = HashMap::new();
        loop {
            // Take new requests; sleep only when there is nothing to do.
            let mut next = if self.sched.is_idle() { commands.recv().ok() } else { commands.try_recv().ok() };
            while let Some(cmd) = next {
                match cmd {
                    Command::Submit(req) => self.admit(tok, *req, &mut live),
                    Command::Shutdown => {
                        for id in self.sched.ids() {
                            self.finish(id, FinishReason::Cancelled, None, &mut live);
                        }
                        return;
                    }
                }
                next = commands.try_recv().ok();
            }
            if self.sched.is_idle() && live.is_empty() {
                // The channel closed (the Engine is gone) with nothing left to run.
                if matches!(commands.try_recv(), Err(mpsc::TryRecvError::Disconnected)) {
                    return;
                }
                continue;
            }
            let cancelled: Vec<SeqId> =
                live.iter().filter(|(_, l)| l.cancel.load(Ordering::Relaxed)).map(|(&id, _)| id).collect();
            for id in cancelled {
                self.finish(id, FinishReason::Cancelled, None, &mut live);
            }
            self.step(tok, &mut live);
            self.free_blocks.store(self.sched.block_manager().n_free(), Ordering::Release);
        }
    }

    fn admit<'t>(&mut self, tok: &'t Tokenizer, req: NewRequest, live: &mut HashMap<SeqId, Live<'t>>) {
        let prompt_tokens = req.prompt.len();
        let max_gen = match Scheduler::check_fits(self.sched.config(), prompt_tokens, req.max_tokens) {
            Ok(m) => m,
            Err(e) => return self.reject(req, e),
        };
        // The engine counts the waiting queue itself (`pending`), so this cannot overflow.
        if let Err(e) = self.sched.add(req.id, req.prompt, req.max_tokens) {
            let usage = usage_now(prompt_tokens, 0, req.submitted);
            self.pending.fetch_sub(1, Ordering::AcqRel);
            let _ = req.events.send(Event::Finished { reason: FinishReason::Error, usage, error: Some(e.to_string()) });
            return;
        }
        let stops = StopMatcher::new(req.sampler.params().stop.iter());
        live.insert(
            req.id,
            Live {
                sampler: req.sampler,
                detok: Detokenizer::new(tok),
                stops,
                events: req.events,
                cancel: req.cancel,
                max_gen,
                prompt_tokens,
                sampled: 0,
                started: false,
                submitted: req.submitted,
                first_token: None,
                error: None,
            },
        );
    }

    fn reject(&mut self, req: NewRequest, e: SubmitError) {
        self.pending.fetch_sub(1, Ordering::AcqRel);
        let usage = usage_now(req.prompt.len(), 0, req.submitted);
        let _ = req.events.send(Event::Finished { reason: FinishReason::Error, usage, error: Some(e.to_string()) });
    }

    /// Ends a request: its blocks go back now, the client hears why.
    fn finish(&mut self, id: SeqId, reason: FinishReason, error: Option<String>, live: &mut HashMap<SeqId, Live>) {
        let seq = self.sched.remove(id);
        let Some(l) = live.remove(&id) else { return };
        if !l.started {
            self.pending.fetch_sub(1, Ordering::AcqRel);
        }
        let usage = Usage {
            prompt_tokens: l.prompt_tokens,
            completion_tokens: l.sampled,
            cached_tokens: seq.as_ref().map_or(0, |s| s.cached_tokens),
            preemptions: seq.as_ref().map_or(0, |s| s.n_preemptions),
            submitted: l.submitted,
            first_token: l.first_token,
            finished: Instant::now(),
        };
        let _ = l.events.send(Event::Finished { reason, usage, error });
    }

    fn step<'t>(&mut self, tok: &'t Tokenizer, live: &mut HashMap<SeqId, Live<'t>>) {
        let t0 = Instant::now();
        let step = self.sched.schedule();
        for id in &step.started {
            if let Some(l) = live.get_mut(id) {
                l.started = true;
                self.pending.fetch_sub(1, Ordering::AcqRel);
            }
        }
        if step.is_empty() {
            return;
        }
        let plan = self.sched.plan(&step);
        let sampling: Vec<SeqId> = step.seqs.iter().filter(|s| s.logits).map(|s| s.id).collect();
        let needs: Vec<RowNeed> = sampling
            .iter()
            .map(|id| match live.get(id).is_some_and(|l| l.sampler.wants_argmax_only()) {
                true => RowNeed::Argmax,
                false => RowNeed::Full,
            })
            .collect();
        let t1 = Instant::now();
        let logits = self.device.forward_rows(&self.model, &mut self.kv, &plan, &needs);
        let t2 = Instant::now();
        let mut logits = match logits {
            Ok(l) => l,
            Err(e) => {
                for s in &step.seqs {
                    self.finish(s.id, FinishReason::Error, Some(e.to_string()), live);
                }
                return;
            }
        };
        self.sched.complete(&step);
        for (row, &id) in sampling.iter().enumerate() {
            let Some(l) = logits.row(row) else {
                self.finish(
                    id,
                    FinishReason::Error,
                    Some("the step returned no logits for this sequence".into()),
                    live,
                );
                continue;
            };
            if let Some(reason) = self.sample(tok, id, l, live) {
                let error = (reason == FinishReason::Error).then(|| {
                    live.get_mut(&id).and_then(|l| l.error.take()).unwrap_or_else(|| "no token could be sampled".into())
                });
                self.finish(id, reason, error, live);
            }
        }
        let mut times = self.times.lock().unwrap_or_else(|p| p.into_inner());
        times.steps += 1;
        times.tokens += plan.len() as u64;
        times.schedule += t1 - t0;
        times.forward += t2 - t1;
        times.sample += t2.elapsed();
    }

    /// Samples sequence `id`'s next token, streams it, and says whether the request ends.
    fn sample(
        &mut self,
        tok: &Tokenizer,
        id: SeqId,
        logits: Row,
        live: &mut HashMap<SeqId, Live>,
    ) -> Option<FinishReason> {
        let l = live.get_mut(&id)?;
        let seq = self.sched.get(id)?;
        let n_generated = seq.n_generated();
        let history = match l.sampler.params().penalize_prompt {
            true => &seq.tokens[..],
            false => seq.tokens.get(seq.prompt_len..).unwrap_or_default(),
        };
        let t = match logits {
            Row::Full(logits) => l.sampler.sample(logits, history),
            Row::Argmax(pick) => l.sampler.take_argmax(pick),
        };
        let t = match t {
            Ok(t) => t,
            Err(e) => {
                l.error = Some(e.to_string());
                return Some(FinishReason::Error);
            }
        };
        l.sampled += 1;
        l.first_token.get_or_insert_with(Instant::now);
        let p = l.sampler.params();
        let end = if !p.ignore_eos && tok.is_eog(t.id) {
            Some(FinishReason::Eos)
        } else if p.stop_token_ids.contains(&t.id) {
            Some(FinishReason::StopToken(t.id))
        } else {
            None
        };
        if let Some(reason) = end {
            flush(l);
            return Some(reason);
        }
        self.sched.append(id, t.id);
        let piece = l.detok.push(t.id);
        let pushed = l.stops.push(&piece);
        let ev = Event::Token { id: t.id, text: pushed.text, logprob: t.logprob, top_logprobs: t.top_logprobs };
        if l.events.send(ev).is_err() {
            return Some(FinishReason::Cancelled);
        }
        if let Some(i) = pushed.stop {
            return Some(FinishReason::StopString(i));
        }
        if n_generated + 1 >= l.max_gen {
            flush(l);
            return Some(FinishReason::Length);
        }
        None
    }
}

/// Sends the text held back for a possible stop string or an incomplete character.
fn flush(l: &mut Live) {
    let mut text = l.stops.push(&l.detok.finish()).text;
    text.push_str(&l.stops.finish());
    if !text.is_empty() {
        let _ = l.events.send(Event::Text(text));
    }
}

fn usage_now(prompt_tokens: usize, completion_tokens: usize, submitted: Instant) -> Usage {
    let now = Instant::now();
    Usage {
        prompt_tokens,
        completion_tokens,
        cached_tokens: 0,
        preemptions: 0,
        submitted,
        first_token: None,
        finished: now,
    }
}
