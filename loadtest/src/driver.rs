//! Sending: one task per persistent HTTP/1.1 connection (hyper's client
//! over plain TCP, keep-alive), each taking the next ticket from a shared
//! counter until the run's count or deadline is reached.
//!
//! Closed-loop, a sender sends its next request as soon as the previous one
//! is answered. Open-loop, ticket `i` is due at `start + i / rate`; a sender
//! waits until then, and latency is measured from that due time, not from
//! when the request actually left, so a server that falls behind shows its
//! queueing (no coordinated omission).

use crate::stats::Tally;
use crate::workload::Beacon;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use indicatif::ProgressBar;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

static DNT: HeaderName = HeaderName::from_static("dnt");
static SEC_GPC: HeaderName = HeaderName::from_static("sec-gpc");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static DROPPED: HeaderName = HeaderName::from_static("x-analytics-dropped");
static ONE: HeaderValue = HeaderValue::from_static("1");
static TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain");

/// What every sender shares.
pub struct Plan {
    pub addr: SocketAddr,
    /// The `Host` header: the target's authority.
    pub host: HeaderValue,
    pub path: Uri,
    pub pool: Vec<Beacon>,
    /// Tickets; a sender stops once it draws one at or past `count`.
    pub next: AtomicU64,
    /// Requests finished (answered or failed), for the progress bar.
    pub finished: AtomicU64,
    pub count: u64,
    pub start: Instant,
    pub deadline: Instant,
    pub rate: Option<f64>,
    pub request_timeout: Duration,
}

type Sender = SendRequest<Full<Bytes>>;

impl Plan {
    /// When ticket `i` is due, or `None` when the run is over.
    fn due(&self, i: u64) -> Option<Instant> {
        if i >= self.count {
            return None;
        }
        let at = match self.rate {
            Some(rate) => self.start + Duration::from_secs_f64(i as f64 / rate),
            None => Instant::now(),
        };
        (at < self.deadline).then_some(at)
    }

    fn request(&self, beacon: &Beacon) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(beacon.body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.path.clone();
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(CONTENT_TYPE, TEXT_PLAIN.clone());
        headers.insert(USER_AGENT, beacon.user_agent.clone());
        headers.insert(X_FORWARDED_FOR.clone(), beacon.forwarded_for.clone());
        if beacon.dnt {
            headers.insert(DNT.clone(), ONE.clone());
        }
        if beacon.gpc {
            headers.insert(SEC_GPC.clone(), ONE.clone());
        }
        request
    }
}

/// One connection's sender loop; returns what it counted.
pub async fn sender(plan: Arc<Plan>, progress: ProgressBar) -> Tally {
    let mut tally = Tally::default();
    let mut connection: Option<Sender> = None;
    loop {
        let i = plan.next.fetch_add(1, Ordering::Relaxed);
        let Some(due) = plan.due(i) else { break };
        // Latency counts from the due time when the sender is behind it (a
        // slow server's queueing); when the sender is early, from when the
        // timer woke it, so the timer's millisecond grain is not counted.
        let since = if due > Instant::now() {
            tokio::time::sleep_until(due).await;
            Instant::now()
        } else {
            due
        };
        let beacon = &plan.pool[(i % plan.pool.len() as u64) as usize];
        tally.sent += 1;
        let outcome = tokio::time::timeout(
            plan.request_timeout,
            exchange(&plan, &mut connection, beacon),
        )
        .await
        .unwrap_or(Err("timeout"));
        match outcome {
            Ok(answer) => {
                tally.record_latency(since.elapsed());
                match answer {
                    Answer::Accepted => tally.accepted += 1,
                    Answer::Dropped(reason) => count(&mut tally.dropped, &reason),
                    Answer::Status(status) => *tally.errors.entry(status).or_default() += 1,
                }
            }
            Err(kind) => {
                count(&mut tally.transport_errors, kind);
                // The connection is in an unknown state: start a new one,
                // after a pause so a refusing server is not hammered.
                connection = None;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let finished = plan.finished.fetch_add(1, Ordering::Relaxed) + 1;
        if finished % 256 == 0 {
            progress.set_position(finished);
        }
    }
    tally
}

fn count(map: &mut std::collections::BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

enum Answer {
    Accepted,
    Dropped(String),
    Status(u16),
}

/// Sends one beacon on the connection (opening one if needed) and reads
/// the whole answer, so the connection can be reused.
async fn exchange(
    plan: &Plan,
    connection: &mut Option<Sender>,
    beacon: &Beacon,
) -> Result<Answer, &'static str> {
    let sender = match connection {
        Some(sender) if !sender.is_closed() => sender,
        _ => connection.insert(connect(plan.addr).await?),
    };
    sender.ready().await.map_err(|_| "connection closed")?;
    let response = sender
        .send_request(plan.request(beacon))
        .await
        .map_err(|_| "request failed")?;
    let status = response.status().as_u16();
    let dropped = response
        .headers()
        .get(&DROPPED)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let keep_alive = !response
        .headers()
        .get(http::header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    response
        .into_body()
        .collect()
        .await
        .map_err(|_| "body failed")?;
    if !keep_alive {
        *connection = None;
    }
    Ok(match (status, dropped) {
        (202, None) => Answer::Accepted,
        (202, Some(reason)) => Answer::Dropped(reason),
        (status, _) => Answer::Status(status),
    })
}

async fn connect(addr: SocketAddr) -> Result<Sender, &'static str> {
    let stream = TcpStream::connect(addr).await.map_err(|_| "connect")?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| "handshake")?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the server closes.
        let _ = connection.await;
    });
    Ok(sender)
}
