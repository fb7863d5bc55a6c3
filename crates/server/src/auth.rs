//! API keys: `Authorization: Bearer KEY` on every API route when the server has a key.
//! The comparison takes the same time whatever the key sent: both sides are hashed first, so
//! neither the position of the first differing byte nor the length shows in the timing.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// Whether `given` equals `expected`, in time independent of where they differ.
pub fn keys_match(given: &[u8], expected: &[u8]) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn require_key(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(expected) = state.cfg.api_key.as_deref() else {
        return next.run(req).await;
    };
    let given = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim);
    let key = given.and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")));
    match key {
        None => ApiError::unauthorized("missing API key: send 'Authorization: Bearer KEY'").into_response(),
        Some(k) if !keys_match(k.trim().as_bytes(), expected.as_bytes()) => {
            ApiError::unauthorized("incorrect API key").into_response()
        }
        Some(_) => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_whole_keys() {
        assert!(keys_match(b"secret", b"secret"));
        assert!(!keys_match(b"secret", b"secreT"));
        assert!(!keys_match(b"secret", b"secret2"));
        assert!(!keys_match(b"", b"secret"));
    }
}
