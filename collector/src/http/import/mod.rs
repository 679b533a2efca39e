//! `POST /api/import`: NDJSON backfills, migrations from other tools and
//! server-side events, for editors with the `admin` role.
//!
//! - **Same pipeline.** Each line is a beacon (parsed by [`crate::beacon`])
//!   plus `timestamp`, `ip` and `user_agent` ([`mod@line`]). It goes through
//!   [`crate::pipeline`] like a beacon: site rules, bots and spam, address
//!   truncation, enrichment, the keyed visitor id. Two differences, both on
//!   purpose: the import request's own headers (DNT, GPC, the opt-out
//!   cookie, prefetch) are not the visitors' and are not consulted; and the
//!   per-visitor and per-site rate limits, which protect the public beacon
//!   endpoint, do not throttle an admin's bulk import.
//! - **Salts.** Today's and yesterday's real salts, so server-side events
//!   join live traffic; a random salt per older day, made for this request
//!   only and zeroized with it ([`crate::privacy::salt::ImportSalts`]).
//! - **Streaming.** The body is read chunk by chunk and split into lines
//!   ([`lines`]); no more than one line is held. A line over
//!   [`MAX_LINE_BYTES`] is an invalid line; a body over [`IMPORT_MAX_BYTES`]
//!   stops the import with `413`.
//! - **No loss.** Accepted rows take the durable path of `/api/event`: the
//!   batcher's queue, or the spool with `durability = "spool"`. When it is
//!   full the import waits for room (back-pressure) instead of dropping; if
//!   no room frees up for the import wait (ClickHouse down), it stops with
//!   `503`, and the body says from which line to resume: every line before
//!   it is done, none after it was handed over.
//! - **The answer** counts lines ([`report`]); `/metrics` counts them in
//!   `analytics_import_lines_total{outcome}`.

pub mod line;
pub mod lines;
pub mod report;

use crate::beacon::Beacon;
use crate::clock::day_of;
use crate::error::ApiError;
use crate::http::ingest::{check_content_type, declared_length};
use crate::pipeline::outcome::DropReason;
use crate::pipeline::Request;
use crate::privacy::salt::ImportSalts;
use crate::privacy::ClientAddress;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use http::{header, HeaderMap};
use http_body_util::BodyExt;
use lines::{Line, LineSplitter};
use report::Report;
use schema::config::EditorConfig;
use schema::{Config, EventRow};
use std::sync::Arc;
use std::time::Duration;

/// Longest accepted line; a longer one is an invalid line, not a failed request.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Largest import body (1 GiB). A constant rather than a config key; split
/// bigger backfills into several requests (the answer counts per request).
pub const IMPORT_MAX_BYTES: u64 = 1 << 30;

/// How long an import waits for room in the queue or the spool before it
/// stops with `503` (the default; see `Collector::with_import_wait`).
/// Longer than one insert's timeout, so a slow ClickHouse slows an import
/// down, and only one that makes no progress at all stops it.
pub const DEFAULT_IMPORT_WAIT: Duration = Duration::from_secs(45);

/// With `durability = "spool"`, accepted rows are appended (and fsynced)
/// in groups of about this many, rather than one fsync per line.
const SPOOL_GROUP_ROWS: usize = 1_000;

const CONTENT_TYPES: &[&str] = &["application/x-ndjson", "application/json", "text/plain"];

pub async fn import(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let editor = authorize(&state.config, &headers)?.clone();
    check_content_type(
        &headers,
        CONTENT_TYPES,
        "application/x-ndjson, application/json or text/plain",
    )?;
    if declared_length(&headers).is_some_and(|n| n > IMPORT_MAX_BYTES) {
        return Err(too_large());
    }
    let mut import = Import::new(state, editor);
    let read = import.read(body).await;
    import.finish(read).await
}

/// An `admin` editor's bearer token: 401 without a known token, 403 for
/// any other role.
fn authorize<'c>(config: &'c Config, headers: &HeaderMap) -> Result<&'c EditorConfig, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(schema::auth::bearer)
        .ok_or(ApiError::Unauthorized)?;
    let editor = schema::auth::find_editor(&config.editor, token).ok_or(ApiError::Unauthorized)?;
    if !editor.is_admin() {
        return Err(ApiError::Forbidden("importing needs an admin token"));
    }
    Ok(editor)
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge {
        limit: usize::try_from(IMPORT_MAX_BYTES).unwrap_or(usize::MAX),
    }
}

/// Why reading stopped early.
enum Stop {
    /// The body: too large, too slow, unreadable, or the collector stopping.
    /// The lines read before it are still handed over.
    Input(ApiError),
    /// Handing rows over failed: the pending lines are not done.
    HandOver(ApiError),
}

/// What became of one line that produced no rows.
enum NoRows {
    Dropped(DropReason),
    Invalid(String),
}

/// Lines whose outcome is not final yet: their rows wait to be handed over.
#[derive(Default)]
struct Pending {
    rows: Vec<EventRow>,
    report: Report,
    first_line: Option<u64>,
}

/// One import request in progress.
struct Import {
    state: Arc<AppState>,
    editor: EditorConfig,
    salts: ImportSalts,
    /// Lines whose outcome is final: handed over, dropped or invalid.
    done: Report,
    pending: Pending,
    last_line: u64,
}

impl Import {
    fn new(state: Arc<AppState>, editor: EditorConfig) -> Self {
        Self {
            salts: ImportSalts::new(state.salts.clone()),
            state,
            editor,
            done: Report::default(),
            pending: Pending::default(),
            last_line: 0,
        }
    }

    /// Reads the body to its end, handling each line as it completes.
    async fn read(&mut self, mut body: Body) -> Result<(), Stop> {
        let mut splitter = LineSplitter::new(MAX_LINE_BYTES);
        let mut lines = Vec::new();
        let mut received = 0u64;
        while let Some(chunk) = self.next_chunk(&mut body).await.map_err(Stop::Input)? {
            received += chunk.len() as u64;
            if received > IMPORT_MAX_BYTES {
                return Err(Stop::Input(too_large()));
            }
            splitter.push(chunk, &mut lines);
            for line in lines.drain(..) {
                self.line(line).await.map_err(Stop::HandOver)?;
            }
        }
        splitter.finish(&mut lines);
        for line in lines {
            self.line(line).await.map_err(Stop::HandOver)?;
        }
        Ok(())
    }

    /// The next data chunk. A client idle for `body_read_timeout_ms` gets
    /// `408` (an import may take long, but each chunk must keep coming);
    /// a stopping collector ends the import so it can answer in time.
    async fn next_chunk(&self, body: &mut Body) -> Result<Option<Bytes>, ApiError> {
        let idle = Duration::from_millis(self.state.config.collector.body_read_timeout_ms);
        loop {
            let frame = tokio::select! {
                biased;
                _ = self.state.stopping.cancelled() => return Err(ApiError::ShuttingDown),
                frame = tokio::time::timeout(idle, body.frame()) => {
                    frame.map_err(|_| ApiError::BodyTimeout(idle))?
                }
            };
            match frame {
                None => return Ok(None),
                Some(Err(_)) => {
                    return Err(ApiError::field("request", "the body could not be read"))
                }
                // Trailers carry no lines.
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// Records one line's outcome, handing rows over when enough wait.
    async fn line(&mut self, line: Line) -> Result<(), ApiError> {
        let number = match &line {
            Line::Text { number, .. } | Line::TooLong { number } => *number,
        };
        self.last_line = number;
        self.pending.first_line.get_or_insert(number);
        match line {
            Line::TooLong { .. } => {
                let error = format!("line is longer than {MAX_LINE_BYTES} bytes");
                self.pending.report.invalid(number, error);
            }
            // Blank lines are skipped (but keep their numbers).
            Line::Text { bytes, .. } if bytes.trim_ascii().is_empty() => {}
            Line::Text { bytes, .. } => match self.rows_of(&bytes).await {
                Ok(rows) => {
                    self.pending.report.accepted += 1;
                    self.pending.rows.extend(rows);
                }
                Err(NoRows::Dropped(reason)) => self.pending.report.dropped(reason),
                Err(NoRows::Invalid(error)) => self.pending.report.invalid(number, error),
            },
        }
        self.settle().await
    }

    /// The rows of one line, through the same pipeline as a beacon.
    async fn rows_of(&mut self, bytes: &[u8]) -> Result<Vec<EventRow>, NoRows> {
        let line = line::parse(bytes).map_err(NoRows::Invalid)?;
        self.state.metrics.fields_ignored(line.beacon.ignored);
        self.check_allowed(&line.beacon).map_err(NoRows::Invalid)?;
        line::check_timestamp(line.timestamp, self.state.clock.now()).map_err(NoRows::Invalid)?;
        let state = self.state.clone();
        // The import request's headers are the importer's, not the visitor's.
        let no_headers = HeaderMap::new();
        let request = Request {
            beacon: line.beacon,
            headers: &no_headers,
            client: ClientAddress::given(line.ip),
            user_agent: &line.user_agent,
            now: line.timestamp,
        };
        let accepted = state.pipeline.check(&request).map_err(NoRows::Dropped)?;
        let hasher = self.salts.hasher(day_of(line.timestamp)).await;
        Ok(state.pipeline.imported_rows(request, accepted, &hasher))
    }

    /// Every domain of the line must be one the token may read.
    fn check_allowed(&self, beacon: &Beacon) -> Result<(), String> {
        match beacon.domains.iter().find(|d| !self.editor.may_read(d)) {
            Some(domain) => Err(format!(
                "domain: this token may not import events for {domain}"
            )),
            None => Ok(()),
        }
    }

    /// Makes pending lines final: at once while none of them has rows,
    /// else by handing the rows over once enough wait (one line's worth in
    /// memory mode, where queueing is cheap; a group per fsync when spooling).
    async fn settle(&mut self) -> Result<(), ApiError> {
        let group = if self.state.spool.is_some() {
            SPOOL_GROUP_ROWS
        } else {
            1
        };
        if self.pending.rows.is_empty() {
            self.commit();
        } else if self.pending.rows.len() >= group {
            self.hand_over().await?;
        }
        Ok(())
    }

    /// Queues (or spools) the pending rows, waiting for room. On failure the
    /// pending lines stay pending: the answer names the first as the line
    /// to resume from.
    async fn hand_over(&mut self) -> Result<(), ApiError> {
        let rows = std::mem::take(&mut self.pending.rows);
        let wait = self.state.import_wait;
        if !rows.is_empty() {
            match &self.state.spool {
                Some(spool) => spool.append_waiting(rows, wait).await.map_err(|e| {
                    tracing::warn!(error = %e, "import could not spool its rows");
                    ApiError::Overloaded
                })?,
                None => self
                    .state
                    .queue
                    .push_all_waiting(rows, wait)
                    .await
                    .map_err(|_| ApiError::Overloaded)?,
            }
        }
        self.commit();
        Ok(())
    }

    fn commit(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.done.merge(pending.report, &self.state.metrics);
    }

    /// Hands over what is pending, then answers with the counts, or with
    /// why the import stopped and the line to resume from.
    async fn finish(mut self, read: Result<(), Stop>) -> Result<Response, ApiError> {
        let cause = match read {
            Ok(()) => self.hand_over().await.err(),
            Err(Stop::Input(cause)) => Some(self.hand_over().await.err().unwrap_or(cause)),
            Err(Stop::HandOver(cause)) => Some(cause),
        };
        let report = &self.done;
        tracing::info!(
            accepted = report.accepted,
            dropped = report.dropped.values().sum::<u64>(),
            invalid = report.invalid_count,
            ephemeral_salt_days = self.salts.ephemeral_days(),
            complete = cause.is_none(),
            "import finished"
        );
        match cause {
            None => Ok(Json(report.to_json()).into_response()),
            Some(cause) => Err(ApiError::ImportStopped {
                cause: Box::new(cause),
                resume_from_line: self.pending.first_line.unwrap_or(self.last_line + 1),
                report: report.to_json(),
            }),
        }
    }
}
