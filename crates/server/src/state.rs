//! What every handler shares: the configuration, the engine, the tokenizer and chat template,
//! the grammar compiler, metrics, and the counters that drive a graceful shutdown.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::Engine;
use model::{ChatTemplate, Tokenizer};

use crate::metrics::{Gauges, Metrics};
use crate::structured::Grammars;

/// Most bytes of a request body unless configured otherwise.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 << 20;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The id clients name in `model` (and `/v1/models` lists).
    pub model_id: String,
    /// Bearer key every API request must carry; `None` leaves the API open.
    pub api_key: Option<String>,
    /// Context size in tokens: prompt plus completion must fit.
    pub n_ctx: usize,
    /// Size of a logits row (token ids below it are valid).
    pub n_vocab: usize,
    pub max_body_bytes: usize,
    /// How long a shutdown waits for running requests before cancelling them.
    pub shutdown_timeout: Duration,
}

pub struct AppState {
    pub cfg: ServerConfig,
    pub engine: Engine,
    pub tok: Arc<Tokenizer>,
    pub template: ChatTemplate,
    pub grammars: Grammars,
    pub metrics: Metrics,
    /// Seconds since the epoch when the server started (`created` of the model).
    pub started: u64,
    /// Set once a shutdown began: new API requests get 503.
    draining: AtomicBool,
    /// Generation requests not yet answered in full (a drain waits for zero).
    inflight: AtomicUsize,
    /// Sequences submitted to the engine and not yet finished.
    live_sequences: AtomicUsize,
}

impl AppState {
    pub fn new(cfg: ServerConfig, engine: Engine, tok: Arc<Tokenizer>, template: ChatTemplate) -> AppState {
        let grammars = Grammars::new(tok.clone(), cfg.n_vocab);
        let started = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        AppState {
            cfg,
            engine,
            tok,
            template,
            grammars,
            metrics: Metrics::default(),
            started,
            draining: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
            live_sequences: AtomicUsize::new(0),
        }
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn n_inflight(&self) -> usize {
        self.inflight.load(Ordering::Acquire)
    }

    /// Counts a generation request until the guard is dropped (its response fully sent).
    pub fn inflight_guard(self: &Arc<Self>) -> Inflight {
        self.inflight.fetch_add(1, Ordering::AcqRel);
        Inflight(self.clone())
    }

    pub fn sequence_started(&self) {
        self.live_sequences.fetch_add(1, Ordering::AcqRel);
    }

    pub fn sequence_ended(&self) {
        self.live_sequences.fetch_sub(1, Ordering::AcqRel);
    }

    pub fn gauges(&self) -> Gauges {
        let waiting = self.engine.n_pending();
        let total = self.engine.n_blocks();
        Gauges {
            waiting,
            running: self.live_sequences.load(Ordering::Acquire).saturating_sub(waiting),
            kv_blocks_used: total.saturating_sub(self.engine.n_free_blocks()),
            kv_blocks_total: total,
        }
    }
}

/// See [`AppState::inflight_guard`].
pub struct Inflight(Arc<AppState>);

impl Drop for Inflight {
    fn drop(&mut self) {
        self.0.inflight.fetch_sub(1, Ordering::AcqRel);
    }
}
