//! The HTTP server: hyper 1 over a caller-bound listener, one task per
//! connection, graceful shutdown.

mod info;
mod lookup;
mod query;
mod reply;
mod router;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::app::App;

pub use query::{DEFAULT_WAIT_MS, MAX_WAIT_MS};
pub use reply::SEQ_HEADER;

/// How long open connections get to finish their requests after shutdown
/// begins (a `min_seq` wait can take up to 30 s; it is cut short).
const DRAIN: Duration = Duration::from_secs(5);
/// A client must send its request head within this, or is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting, lets open connections finish (up to a few seconds) and
/// returns. Bind the listener to port 0 in tests.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    let (closing, close) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(connection(stream, Arc::clone(&app), close.clone()));
                }
                Err(error) => {
                    // Out of file descriptors and the like: pause instead of
                    // spinning, keep serving the open connections.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    closing.send_replace(true);
    let open = connections.len();
    let drained = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open, left = connections.len(), "closing connections that did not finish in time");
        connections.abort_all();
    }
    tracing::debug!("server stopped");
}

async fn connection(stream: TcpStream, app: Arc<App>, mut close: watch::Receiver<bool>) {
    // Lookups are small request/response pairs: do not wait to coalesce.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(router::handle(&app, request).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        _ = crate::stopped(&mut close) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
