//! The small endpoints: `/v1/models`, `/health`, `/metrics`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::AppState;

fn model_object(state: &AppState) -> Value {
    json!({
        "id": state.cfg.model_id,
        "object": "model",
        "created": state.started,
        "owned_by": "rocmforge",
        "max_model_len": state.cfg.n_ctx,
    })
}

pub async fn list(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(json!({ "object": "list", "data": [model_object(&state)] }))
}

pub async fn one(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    match id == state.cfg.model_id {
        true => Ok(Json(model_object(&state))),
        false => Err(ApiError::model_not_found(&id, &state.cfg.model_id)),
    }
}

/// 200 while serving, 503 once shutting down (so a load balancer stops sending).
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    match state.is_draining() {
        false => Json(json!({ "status": "ok" })).into_response(),
        true => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "shutting down" }))).into_response(),
    }
}

pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let body = state.metrics.render(&state.gauges());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}
