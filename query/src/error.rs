//! The one error type of the query service, and the one place it becomes
//! an HTTP status and a `{"error": "..."}` body.
//!
//! A caller is told precisely what was wrong with its own request, and
//! nothing of ours: an error that carries ClickHouse's text (which names
//! tables, the database, settings and sometimes the server's address) is
//! logged once with a random request id, and the caller gets a plain
//! message with the same id, e.g. `storage unavailable (request
//! 7f3a09c2d4e1b865)`, to quote when asking an operator.

use crate::auth::throttle::RetryAfter;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or unknown token; send `Authorization: Bearer <token>` or sign in to the dashboard")]
    Unauthorized,
    /// Deliberately the same whether or not such an editor exists.
    #[error("that token was not accepted")]
    LoginRefused,
    #[error("too many sign-in attempts from your network; try again in {} s", .0.0)]
    TooManyLogins(RetryAfter),
    #[error("too many refused tokens from your network; try again in {} s", .0.0)]
    TooManyTokenFailures(RetryAfter),
    #[error("a cookie-authenticated request must come from the dashboard's own pages (send `X-Requested-With`)")]
    CrossSite,
    #[error("this token may not read site `{0}`")]
    Forbidden(String),
    #[error("{0}")]
    BadQuery(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("the request body did not arrive within {} ms", .0.as_millis())]
    BodyTimeout(std::time::Duration),
    #[error("the report exceeded the {0}; narrow the date range or the filters")]
    LimitExceeded(&'static str),
    #[error("{0}; retry in a moment")]
    Crowded(Crowded),
    /// RE2 refused a pattern that `regex` and [`crate::api::pattern`]
    /// accepted (a Unicode property it lacks, say).
    #[error("a `matches` pattern was refused by ClickHouse's regular expressions (RE2); see the Stats API's filter docs")]
    PatternRefused(schema::DbError),
    #[error("storage unavailable")]
    Storage(#[from] schema::DbError),
}

/// Which bound on reports in flight a refused report met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crowded {
    /// `[query] max_concurrent_reports_per_editor`.
    Editor(usize),
    /// `[query] max_concurrent_reports`.
    Service(usize),
}

impl std::fmt::Display for Crowded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Editor(n) => write!(
                f,
                "this editor has {n} reports running already (the most it may)"
            ),
            Self::Service(n) => write!(
                f,
                "the service is running {n} reports already (the most it may)"
            ),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized | Self::LoginRefused => StatusCode::UNAUTHORIZED,
            Self::TooManyLogins(_) | Self::TooManyTokenFailures(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::CrossSite => StatusCode::FORBIDDEN,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadQuery(_) | Self::PatternRefused(_) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::LimitExceeded(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Crowded(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Sorts a failed report query: a ClickHouse time or memory limit is the
    /// query's fault and gets its own message; anything else is storage.
    pub fn from_report(e: schema::DbError) -> Self {
        let text = e.to_string();
        // ClickHouse error codes: 159 TIMEOUT_EXCEEDED, 241 MEMORY_LIMIT_EXCEEDED,
        // 158 TOO_MANY_ROWS.
        if text.contains("Code: 159") || matches!(e, schema::DbError::Timeout(_)) {
            Self::LimitExceeded("query time limit")
        } else if text.contains("Code: 241") {
            Self::LimitExceeded("query memory limit")
        } else if text.contains("Code: 158") {
            Self::LimitExceeded("limit on rows read")
        } else if text.contains("Code: 427") {
            Self::PatternRefused(e)
        } else {
            Self::Storage(e)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            Self::Storage(detail) => {
                let id = request_id();
                tracing::warn!(request_id = %id, error = %detail, "report failed");
                format!("{self} (request {id})")
            }
            Self::PatternRefused(detail) => {
                let id = request_id();
                tracing::info!(request_id = %id, error = %detail, "pattern refused by clickhouse");
                format!("{self} (request {id})")
            }
            _ => self.to_string(),
        };
        let body = Json(serde_json::json!({ "error": message }));
        let mut response = (status, body).into_response();
        let retry_after = match self {
            Self::TooManyLogins(RetryAfter(s)) | Self::TooManyTokenFailures(RetryAfter(s)) => {
                Some(s)
            }
            Self::Crowded(_) => Some(1),
            Self::Storage(_) => Some(STORAGE_RETRY_SECS),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// When to try again after ClickHouse failed (`Retry-After` of a 503).
pub const STORAGE_RETRY_SECS: u64 = 5;

/// 64 random bits in hex: unique enough to find one log line.
fn request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_text(text: &str) -> ApiError {
        ApiError::from_report(schema::DbError::Unexpected(text.into()))
    }

    #[test]
    fn clickhouse_limits_become_clear_client_errors() {
        let timeout = from_text("Code: 159, e.displayText() = DB::Exception: Timeout exceeded");
        assert_eq!(timeout.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(timeout.to_string().contains("time limit"));
        let memory = from_text("Code: 241, e.displayText() = DB::Exception: Memory limit");
        assert!(memory.to_string().contains("memory limit"));
        let rows = from_text(
            "Code: 158, e.displayText() = DB::Exception: Limit for rows to read exceeded",
        );
        assert_eq!(rows.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(rows.to_string().contains("rows read"));
        let ours =
            ApiError::from_report(schema::DbError::Timeout(std::time::Duration::from_secs(1)));
        assert!(ours.to_string().contains("time limit"));
        assert_eq!(
            from_text("Code: 427, bad regexp").status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            from_text("Connection refused").status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    async fn body_of(error: ApiError) -> (StatusCode, String) {
        let response = error.into_response();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn storage_errors_show_an_id_and_nothing_of_clickhouse() {
        let leaky = [
            schema::DbError::Unexpected(
                "Code: 60, DB::Exception: Table db_x.events doesn't exist".into(),
            ),
            schema::DbError::SchemaMismatch {
                table: "events".into(),
                detail: "http://10.0.0.7:8123 db_x".into(),
            },
        ];
        for error in leaky {
            let (status, body) = body_of(ApiError::from_report(error)).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            for needle in ["Code", "DB::", "db_x", "10.0.0.7", "events"] {
                assert!(!body.contains(needle), "{needle} in {body}");
            }
            assert!(
                body.starts_with("{\"error\":\"storage unavailable (request "),
                "{body}"
            );
        }
        let (status, body) = body_of(from_text("Code: 427, DB::Exception: re2 db_x")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(!body.contains("db_x") && !body.contains("Code"), "{body}");
    }
}
