//! Serving until told to stop, then a graceful shutdown: new API requests get 503 at once,
//! running ones may finish for up to `shutdown_timeout`, then whatever is left is cancelled
//! and the server returns (the process then exits with status 0).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use crate::state::AppState;

/// How often the drain checks for running requests.
const DRAIN_POLL: Duration = Duration::from_millis(50);
/// How long connections get to close once the drain is over.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            // Without a SIGTERM handler, Ctrl-C still works.
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// Serves `state` on `listener` until `stop` resolves, then drains as described above.
/// Returns how many requests were still running when the time ran out.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<usize> {
    let app = crate::router(state.clone());
    let (close_tx, close_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async {
        let _ = close_rx.await;
    });
    let mut task = tokio::spawn(async move { server.await });
    tokio::select! {
        r = &mut task => {
            // The server ended by itself (it only does on an I/O error).
            return r.map_err(std::io::Error::other)?.map(|()| 0);
        }
        _ = stop => {}
    }
    state.start_draining();
    let deadline = Instant::now() + state.cfg.shutdown_timeout;
    while state.n_inflight() > 0 && Instant::now() < deadline {
        tokio::time::sleep(DRAIN_POLL).await;
    }
    let left = state.n_inflight();
    let _ = close_tx.send(());
    // Connections still streaming after the deadline are cut here; dropping them cancels
    // their sequences in the engine.
    match tokio::time::timeout(CLOSE_GRACE, &mut task).await {
        Ok(r) => r.map_err(std::io::Error::other)??,
        Err(_) => task.abort(),
    }
    Ok(left)
}
