//! `rocmforge serve`: the OpenAI-compatible HTTP server. Loads the model, starts the batching
//! engine, prints the URL, and serves until SIGTERM or Ctrl-C, after which running requests
//! may finish (up to --shutdown-timeout) and the process exits with status 0.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use engine::{Engine, EngineConfig};
use model::Tokenizer;
use server::{AppState, ServerConfig, DEFAULT_MAX_BODY_BYTES};

use crate::load;
use crate::options::ModelArgs;
use crate::usage::usage;

/// Without --kv-tokens a GPU's cache takes this share of its free memory (after the weights),
/// up to a full context for every sequence.
const KV_MEMORY_SHARE: f64 = 0.8;
/// The CPU's cache (host memory, written when allocated) is this size, or what fits in a
/// quarter of the available memory if that is less; also the GPU's when it cannot say.
const HOST_KV_TOKENS: usize = 16384;
const KV_HOST_SHARE: f64 = 0.25;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Require 'Authorization: Bearer KEY' on the API (not on /health or the chat page).
    #[arg(long, env = "ROCMFORGE_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Most sequences generated at once (continuous batching).
    #[arg(long, default_value_t = 64)]
    max_concurrency: usize,
    /// Most requests waiting to start; more are answered 429.
    #[arg(long, default_value_t = 256)]
    max_queue: usize,
    /// KV cache capacity in tokens, shared by all sequences (default: on a GPU what fits in 80%
    /// of its free memory, up to --max-concurrency full contexts; on the CPU 16384 or what fits
    /// in 25% of the available memory; at least --ctx-size).
    #[arg(long)]
    kv_tokens: Option<usize>,
    /// The model id clients use (default: the file name without .gguf).
    #[arg(long)]
    alias: Option<String>,
    /// Seconds running requests may take to finish after SIGTERM before they are cancelled.
    #[arg(long, default_value_t = 30)]
    shutdown_timeout: u64,
}

/// The cache size when --kv-tokens is not given (see KV_MEMORY_SHARE).
fn default_kv_tokens(loaded: &load::Loaded, max_concurrency: usize) -> usize {
    let fits = |share| loaded.device.kv_tokens_that_fit(&loaded.model, loaded.kv_type, share).unwrap_or(HOST_KV_TOKENS);
    match loaded.device {
        model::Device::Cpu(_) => fits(KV_HOST_SHARE).min(HOST_KV_TOKENS),
        model::Device::Gpu(_) => fits(KV_MEMORY_SHARE).min(max_concurrency.saturating_mul(loaded.n_ctx)),
    }
}

pub fn run(args: Args) -> Result<()> {
    if args.max_concurrency == 0 {
        usage!("--max-concurrency must be at least 1");
    }
    if args.max_queue == 0 {
        usage!("--max-queue must be at least 1");
    }
    if args.api_key.as_deref().is_some_and(|k| k.trim().is_empty()) {
        usage!("--api-key (or ROCMFORGE_API_KEY) is empty");
    }
    let model_id = match &args.alias {
        Some(a) => a.clone(),
        None => {
            args.model.model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into())
        }
    };
    eprintln!("loading {} ...", args.model.model.display());
    let loaded = load::load(&args.model)?;
    let template = load::template(&loaded, args.model.chat_template.as_deref())?;
    // The engine thread owns one tokenizer; the handlers need their own.
    let tok = Arc::new(Tokenizer::from_metadata(&loaded.model.file.metadata)?);
    let n_vocab = loaded.model.vocab_size();
    let n_ctx = loaded.n_ctx;
    let cfg = EngineConfig {
        n_ctx,
        kv_tokens: args.kv_tokens.unwrap_or_else(|| default_kv_tokens(&loaded, args.max_concurrency)).max(n_ctx),
        max_running: args.max_concurrency,
        max_waiting: args.max_queue,
        token_budget: EngineConfig::default().token_budget.max(args.max_concurrency),
        kv_type: loaded.kv_type,
        ..EngineConfig::default()
    };
    let (kv_tokens, kv_type) = (cfg.kv_tokens, cfg.kv_type);
    let engine = Engine::start(loaded.model, loaded.device, loaded.tok, cfg).context("cannot start the engine")?;
    eprintln!("loaded in {:.1} s: context {n_ctx} tokens, KV cache {kv_tokens} tokens of {kv_type}", loaded.load_secs);
    let state = Arc::new(AppState::new(
        ServerConfig {
            model_id: model_id.clone(),
            api_key: args.api_key.clone(),
            n_ctx,
            n_vocab,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
        },
        engine,
        tok,
        template,
    ));

    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let result = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
        let addr = listener.local_addr()?;
        let auth = if args.api_key.is_some() { ", API key required" } else { "" };
        eprintln!("serving {model_id} on http://{addr} (chat page at /, OpenAI API at /v1{auth})");
        let left = server::shutdown::serve(listener, state, async {
            server::shutdown::signal().await;
            eprintln!("shutting down: refusing new requests, letting running ones finish");
        })
        .await?;
        if left > 0 {
            eprintln!("cancelled {left} requests still running after {} s", args.shutdown_timeout);
        }
        anyhow::Ok(())
    });
    // Forwarding tasks notice closed streams within milliseconds; do not wait on stragglers.
    rt.shutdown_timeout(Duration::from_secs(2));
    result?;
    eprintln!("stopped");
    Ok(())
}
