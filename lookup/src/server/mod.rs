//! The HTTP server: hyper 1 over a caller-bound listener, one task per
//! connection, graceful shutdown.

mod guard;
mod info;
mod lookup;
pub mod openapi;
mod query;
mod reply;
mod router;

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use didroute_net::tls_server::HANDSHAKE_TIMEOUT;
use didroute_net::ServerTls;
use futures_util::stream::{FuturesUnordered, StreamExt};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::app::App;

pub use query::{DEFAULT_WAIT_MS, MAX_WAIT_MS};
pub use reply::SEQ_HEADER;

/// How long open connections get to finish their requests after shutdown
/// begins (a `min_seq` wait can take up to 30 s; it is cut short).
const DRAIN: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` resolves, then stops
/// accepting, lets open connections finish (up to a few seconds) and
/// returns. Bind the listener to port 0 in tests.
pub async fn serve(listener: TcpListener, app: Arc<App>, shutdown: impl Future<Output = ()>) {
    serve_tls(listener, app, None, shutdown).await
}

/// [`serve`], over TLS when `tls` is given (the handshake runs in the
/// connection's own task, so a slow client delays nobody else; the
/// certificate is reloaded while this runs).
pub async fn serve_tls(
    listener: TcpListener,
    app: Arc<App>,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()>,
) {
    let reload = tls.as_ref().map(ServerTls::watch);
    let (closing, close) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {
                app.metrics().connections.set(connections.len() as i64);
            }
            // At the limit the node stops accepting until a connection ends:
            // new ones wait in the kernel's accept queue at no cost to the
            // node, so the connections served keep a latency bounded by the
            // limit, not by the crowd (BENCHMARKS.md, O2). Answering each
            // with a 503 instead cost more CPU than serving it, once clients
            // reconnected at once.
            accepted = listener.accept(), if below_limit(&app, connections.len()) => match accepted {
                Ok((stream, _peer)) => {
                    match &tls {
                        None => {
                            // Lookups are small request/response pairs: do not wait to coalesce.
                            let _ = stream.set_nodelay(true);
                            connections.spawn(connection(stream, Arc::clone(&app), close.clone()));
                        }
                        Some(tls) => {
                            connections.spawn(handshake(stream, tls.clone(), Arc::clone(&app), close.clone()));
                        }
                    }
                    app.metrics().connections.set(connections.len() as i64);
                    if connections.len() == app.connection_limit() {
                        app.metrics().connection_limit_reached.inc();
                    }
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
    if let Some(reload) = reload {
        reload.abort();
    }
    closing.send_replace(true);
    let open = connections.len();
    let drained = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(open, left = connections.len(), "closing connections that did not finish in time");
        connections.abort_all();
    }
    tracing::debug!("server stopped");
}

/// What a connection's requests share: the app, and the counts its guard
/// watches (one `Arc` clone a request, as the app alone would be).
struct Connection {
    app: Arc<App>,
    activity: guard::Activity,
}

/// What ended a connection's task besides the connection itself.
enum Side {
    /// The server is shutting down.
    Stop,
    /// The connection sat without a request for [`guard::IDLE_LIMIT`].
    Idle,
}

/// Whether another connection may be accepted.
fn below_limit(app: &App, open: usize) -> bool {
    open < app.connection_limit()
}

async fn handshake(stream: TcpStream, tls: ServerTls, app: Arc<App>, close: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor().accept(stream)).await {
        Ok(Ok(stream)) => connection(stream, app, close).await,
        Ok(Err(error)) => tracing::debug!(%error, "tls handshake failed"),
        Err(_) => tracing::debug!("tls handshake timed out"),
    }
}

async fn connection<S>(stream: S, app: Arc<App>, mut close: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::new(Connection { app, activity: guard::Activity::default() });
    let state = Arc::clone(&shared);
    let service = service_fn(move |request| {
        let state = Arc::clone(&state);
        async move {
            state.activity.begin();
            let reply = router::handle(&state.app, request).await;
            state.activity.end();
            Ok::<_, Infallible>(reply)
        }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    // The shutdown signal and the idle guard wait beside the connection.
    // `select!` would poll both on every wake of this task, i.e. on every
    // request (~430 instructions a request in callgrind, a sixth of the
    // lookup's own work); `FuturesUnordered` polls one only when its own
    // waker fired.
    let mut side: FuturesUnordered<Pin<Box<dyn Future<Output = Side> + Send + '_>>> = FuturesUnordered::new();
    side.push(Box::pin(async {
        crate::stopped(&mut close).await;
        Side::Stop
    }));
    side.push(Box::pin(async {
        guard::idle(&shared.activity, guard::IDLE_LIMIT, guard::TICK).await;
        Side::Idle
    }));
    let ended = poll_fn(|cx| {
        // The connection first, as a biased select would.
        if let Poll::Ready(result) = conn.as_mut().poll(cx) {
            return Poll::Ready(Err(result));
        }
        match side.poll_next_unpin(cx) {
            Poll::Ready(Some(side)) => Poll::Ready(Ok(side)),
            // never empty before one of them ended, and the first to end ends this
            Poll::Ready(None) | Poll::Pending => Poll::Pending,
        }
    })
    .await;
    match ended {
        Err(result) => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        Ok(Side::Stop) => {
            drop(side);
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
        // Dropping `conn` closes the socket.
        Ok(Side::Idle) => tracing::debug!(limit = ?guard::IDLE_LIMIT, "closing a connection without a request"),
    }
}

#[cfg(test)]
mod tests {
    //! The slow-client guard over real loopback TCP, on tokio's paused clock
    //! (it jumps to the next timer whenever every task waits).

    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::{sleep, timeout, Instant};

    use super::guard::{IDLE_LIMIT, TICK};
    use super::*;
    use crate::Snapshot;

    const LOOKUP: &[u8] = b"GET /v1/routes/+15551234567 HTTP/1.1\r\nHost: t\r\n\r\n";

    async fn start() -> SocketAddr {
        start_app(App::with_snapshot("test", Snapshot::empty())).await
    }

    async fn start_app(app: App) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Arc::new(app);
        app.status().set_ready();
        app.status().observe(true);
        tokio::spawn(serve(listener, app, std::future::pending()));
        addr
    }

    /// Waits (a minute at most) for the server to close `stream`; what it
    /// sent before.
    async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
        let mut got = Vec::new();
        let read = timeout(Duration::from_secs(60), stream.read_to_end(&mut got)).await;
        assert!(read.is_ok(), "the server kept the connection open for a minute");
        got
    }

    /// One answer's head (a lookup's answer arrives in one segment).
    async fn answer(stream: &mut TcpStream) -> String {
        let mut buf = [0u8; 4096];
        let n = timeout(Duration::from_secs(60), stream.read(&mut buf)).await.expect("an answer").unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    fn within_a_tick_after(start: Instant, limit: Duration) {
        let waited = start.elapsed();
        assert!(waited >= limit && waited <= limit + 2 * TICK, "closed after {waited:?}, limit {limit:?}");
    }

    #[tokio::test]
    async fn connections_past_the_limit_wait_for_a_free_slot() {
        let addr = start_app(App::with_snapshot("test", Snapshot::empty()).max_connections(2)).await;
        let mut served = Vec::new();
        for _ in 0..2 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(LOOKUP).await.unwrap();
            assert!(answer(&mut stream).await.starts_with("HTTP/1.1 404"));
            served.push(stream);
        }
        // the kernel completes the handshake, but the node does not take it up
        let mut third = TcpStream::connect(addr).await.unwrap();
        third.write_all(LOOKUP).await.unwrap();
        let mut buf = [0u8; 64];
        assert!(
            timeout(Duration::from_millis(300), third.read(&mut buf)).await.is_err(),
            "a connection past the limit is not served"
        );
        // the connections served go on being served
        served[0].write_all(LOOKUP).await.unwrap();
        assert!(answer(&mut served[0]).await.starts_with("HTTP/1.1 404"));
        // once one closes, the waiting one is taken up and answered
        drop(served.pop());
        assert!(answer(&mut third).await.starts_with("HTTP/1.1 404"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickled_head_is_dropped() {
        let mut stream = TcpStream::connect(start().await).await.unwrap();
        let start = Instant::now();
        stream.write_all(&LOOKUP[..30]).await.unwrap();
        assert_eq!(until_closed(&mut stream).await, b"", "an incomplete head gets no answer");
        within_a_tick_after(start, IDLE_LIMIT);
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_counts_from_the_last_request() {
        let mut stream = TcpStream::connect(start().await).await.unwrap();
        for _ in 0..3 {
            // 3 × 7 s: longer than the limit in all, never idle that long.
            stream.write_all(LOOKUP).await.unwrap();
            let head = answer(&mut stream).await;
            assert!(head.starts_with("HTTP/1.1 404"), "{head}");
            sleep(Duration::from_secs(7)).await;
        }
        stream.write_all(LOOKUP).await.unwrap();
        assert!(answer(&mut stream).await.starts_with("HTTP/1.1 404"));
        let last = Instant::now();
        assert_eq!(until_closed(&mut stream).await, b"");
        within_a_tick_after(last, IDLE_LIMIT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_longer_than_the_limit_is_answered() {
        let mut stream = TcpStream::connect(start().await).await.unwrap();
        let start = Instant::now();
        let wait = 3 * IDLE_LIMIT;
        let request = format!(
            "GET /v1/routes/+15551234567?min_seq=5&wait_ms={} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
            wait.as_millis()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let got = String::from_utf8(until_closed(&mut stream).await).unwrap();
        assert!(got.starts_with("HTTP/1.1 503"), "{got}");
        assert!(got.contains("not-caught-up"), "{got}");
        assert!(start.elapsed() >= wait, "answered after {:?}", start.elapsed());
    }
}
