//! The OpenAI-compatible HTTP server over the engine.
//!
//! Routes: `POST /v1/chat/completions`, `POST /v1/completions`, `GET /v1/models`,
//! `GET /v1/models/{id}`, `GET /metrics` (all behind the API key when one is set),
//! `GET /health` and `GET /` (the chat page), which stay open.
//!
//! - [`request`] and [`params`]: wire fields, parsing and validation (400s name the field).
//! - [`prompt`]: chat messages and completion prompts to token ids, the context check.
//! - [`structured`]: `response_format` enforced with llguidance through the engine's
//!   token-constraint hook.
//! - [`generate`]: submitting to the engine and forwarding its events into async code.
//! - [`sse`], [`chat`], [`completions`]: the two endpoints' answers, whole or streamed.
//! - [`auth`], [`metrics`], [`shutdown`], [`page`].

pub mod auth;
mod chat;
mod common;
mod completions;
pub mod error;
mod generate;
pub mod metrics;
mod models;
mod page;
pub mod params;
pub mod prompt;
pub mod request;
pub mod shutdown;
pub mod state;
pub mod structured;

mod sse;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use error::ApiError;
pub use state::{AppState, ServerConfig, DEFAULT_MAX_BODY_BYTES};

/// `system_fingerprint` of every answer: the build that produced it.
pub const FINGERPRINT: &str = concat!("rocmforge-", env!("CARGO_PKG_VERSION"));

/// Endpoints counted by name in the metrics; anything else is counted as "other".
const ENDPOINTS: &[&str] = &["/", "/health", "/metrics", "/v1/models", "/v1/chat/completions", "/v1/completions"];

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/v1/chat/completions", post(chat::handler))
        .route("/v1/completions", post(completions::handler))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{id}", get(models::one))
        .route("/metrics", get(models::metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_key));
    Router::new()
        .merge(api)
        .route("/health", get(models::health))
        .route("/", get(page::index))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(state.cfg.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), count_and_gate))
        .with_state(state)
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(req.uri().path())
}

/// Counts every answer by endpoint and status; while draining, refuses new API requests.
async fn count_and_gate(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let endpoint = ENDPOINTS.iter().find(|&&e| e == path).copied().unwrap_or("other");
    let res = if state.is_draining() && path.starts_with("/v1/") {
        ApiError::shutting_down().into_response()
    } else {
        next.run(req).await
    };
    state.metrics.request(endpoint, res.status().as_u16());
    res
}
