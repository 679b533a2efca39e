//! Accepting HTTP connections for a service: a cap on how many are open at
//! once, a deadline for each request's headers, a cap on their size, the
//! peer address for handlers, and a bounded drain on stop.
//!
//! Why each bound: without the cap every idle socket costs a task and a
//! file descriptor; without the header deadline a client that sends half a
//! request line (slowloris) holds its socket forever, also between requests
//! of a keep-alive connection; without the size cap hyper buffers about
//! 400 KB of headers per connection. Past the cap a new connection is
//! answered `503` with `Retry-After` and closed at once, rather than left
//! waiting in the kernel's backlog where a client cannot tell busy from
//! dead. Body deadlines are the handlers' business: they know which
//! routes stream long bodies.
//!
//! Both services serve through this: the query service and the
//! collector's admin port with a router ([`serve`]), the collector's public
//! port with its own service ([`serve_with`]).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::{Request, Response};
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

/// Room for the request line and headers of any real browser or client.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections open at once; more are refused with `503`.
    pub max_connections: usize,
    /// From a connection's start (or its previous response) to the end of
    /// the next request's headers.
    pub header_read_timeout: Duration,
    /// How long in-flight requests may take to finish after a stop.
    pub drain_for: Duration,
}

/// What a refused connection is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    Retry-After: 1\r\n\
    Content-Type: application/json\r\n\
    Cache-Control: no-store\r\n\
    X-Content-Type-Options: nosniff\r\n\
    Content-Length: 37\r\n\
    Connection: close\r\n\r\n\
    {\"error\":\"too many open connections\"}";

/// Serves `app` until `stop`, then drains open connections for at most
/// `limits.drain_for`. Handlers find the peer as `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: TcpListener, app: Router, limits: Limits, stop: CancellationToken) {
    let per_connection = move |peer: SocketAddr| {
        let service = app
            .clone()
            .map_request(move |mut request: axum::extract::Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        TowerToHyperService::new(service)
    };
    serve_with(listener, per_connection, limits, stop).await;
}

/// Like [`serve`], for a service that is not (only) a router: `service`
/// makes each connection's hyper service from the peer's address. The
/// collector answers its beacon route this way, without the router's layers.
pub async fn serve_with<F, S, B>(
    listener: TcpListener,
    mut service: F,
    limits: Limits,
    stop: CancellationToken,
) where
    F: FnMut(SocketAddr) -> S,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Both: the buffer cap alone is checked only while a head is
        // incomplete, so a larger head that arrives in one read passed.
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_HEADER_BYTES);
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
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
        let Ok(place) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service(peer)));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                // Deadlines and broken clients; the error names no request data.
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(place);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_one_well_formed_response() {
        let text = std::str::from_utf8(BUSY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(body.len(), length, "{body}");
        assert!(body.starts_with("{\"error\":\"") && body.ends_with("\"}"));
    }
}
