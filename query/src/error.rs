//! The one error type of the query service, and the one place it becomes
//! an HTTP status and a `{"error": "..."}` body.

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
    #[error("too many sign-in attempts; try again in a minute")]
    TooManyLogins,
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
    #[error("storage unavailable: {0}")]
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
            Self::Editor(n) => write!(f, "this editor has {n} reports running already (the most it may)"),
            Self::Service(n) => write!(f, "the service is running {n} reports already (the most it may)"),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized | Self::LoginRefused => StatusCode::UNAUTHORIZED,
            Self::TooManyLogins => StatusCode::TOO_MANY_REQUESTS,
            Self::CrossSite => StatusCode::FORBIDDEN,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadQuery(_) => StatusCode::BAD_REQUEST,
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
            // re2 refused a pattern that Rust's regex accepted.
            Self::BadQuery(format!(
                "a `matches` pattern was refused by ClickHouse: {text}"
            ))
        } else {
            Self::Storage(e)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "report failed");
        }
        let body = Json(serde_json::json!({ "error": self.to_string() }));
        let mut response = (status, body).into_response();
        let retry_after = match self {
            Self::TooManyLogins => Some("60"),
            Self::Crowded(_) => Some("1"),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(seconds));
        }
        response
    }
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
        let rows = from_text("Code: 158, e.displayText() = DB::Exception: Limit for rows to read exceeded");
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
}
