//! Accepting connections: a cap on how many are open at once, a deadline for
//! reading request headers (so slow clients cannot hold sockets), and a
//! graceful drain on stop.
//!
//! Past the cap a new connection is answered `503` with `Retry-After` and
//! closed at once, rather than left waiting in the kernel's backlog.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    /// From a connection's start (or its previous response) to the end of
    /// the next request's headers.
    pub header_read_timeout: Duration,
    /// How long in-flight requests may take to finish after a stop.
    pub drain_for: Duration,
}

/// Room for the request line and headers of any real browser.
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// What a refused connection is told; it is closed right after.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: 35\r\nConnection: close\r\n\r\n{\"error\":\"too many open connections\"}";

/// Serves `app` until `stop`, then drains open connections for at most
/// `limits.drain_for`.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, stop: CancellationToken) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Bounds the request line plus headers (hyper's default is ~400 KB).
        .max_buf_size(MAX_HEADER_BYTES);
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off briefly.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let service =
            app.clone()
                .map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request
                        .extensions_mut()
                        .insert(ConnectInfo::<SocketAddr>(peer));
                    request
                });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Timeouts and broken clients; the error names no request data.
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_for, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the drain period; no longer waiting for them");
    }
}

/// Answers 503 without reading the request, within a short deadline.
async fn refuse(mut stream: TcpStream) {
    let write = async {
        stream.write_all(BUSY).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}
