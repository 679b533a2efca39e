//! The collector's request errors and their one mapping to HTTP. Clients get
//! a precise message for their own mistakes and a generic one for ours;
//! internal details are logged once, here, without request data.

use crate::beacon::FieldErrors;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, HeaderValue, StatusCode};
use serde_json::json;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request")]
    BadInput(FieldErrors),
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported content type {got:?}; send {expected}")]
    UnsupportedMediaType {
        got: String,
        /// The types the endpoint takes, for the message.
        expected: &'static str,
    },
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    /// A resource that does not exist, with the reason the client needs.
    #[error("{0}")]
    Missing(String),
    #[error("event queue is full")]
    Overloaded,
    #[error("the request body did not arrive within {0:?}")]
    BodyTimeout(std::time::Duration),
    #[error("storage unavailable: {0}")]
    Storage(#[from] schema::DbError),
    #[error("the collector is stopping")]
    ShuttingDown,
    /// An import that stopped part way: `cause` says why (and sets the
    /// status); every line before `resume_from_line` is done (accepted,
    /// dropped or invalid, as `report` counts them) and none after it is.
    #[error("import stopped before line {resume_from_line}: {cause}")]
    ImportStopped {
        cause: Box<ApiError>,
        resume_from_line: u64,
        report: serde_json::Value,
    },
}

impl ApiError {
    /// A single-field input error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Self::BadInput(errors)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadInput(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound | Self::Missing(_) => StatusCode::NOT_FOUND,
            Self::Overloaded | Self::Storage(_) | Self::ShuttingDown => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::ImportStopped { cause, .. } => cause.status(),
        }
    }

    fn body(&self) -> serde_json::Value {
        match self {
            Self::BadInput(errors) => json!({ "errors": errors }),
            Self::PayloadTooLarge { .. } | Self::BodyTimeout(_) => {
                json!({ "errors": { "request": [self.to_string()] } })
            }
            Self::UnsupportedMediaType { .. } => {
                json!({ "errors": { "request": [self.to_string()] } })
            }
            Self::MethodNotAllowed
            | Self::Forbidden(_)
            | Self::NotFound
            | Self::Missing(_)
            | Self::Overloaded
            | Self::Unauthorized
            | Self::ShuttingDown => json!({ "error": self.to_string() }),
            Self::Storage(_) => json!({ "error": "storage temporarily unavailable" }),
            Self::ImportStopped {
                cause,
                resume_from_line,
                report,
            } => {
                // The counts so far, plus why it stopped and where to resume.
                let mut body = report.clone();
                if let (Some(body), serde_json::Value::Object(why)) =
                    (body.as_object_mut(), cause.body())
                {
                    body.extend(why);
                    body.insert("resume_from_line".into(), json!(resume_from_line));
                }
                body
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Storage(e) => tracing::error!(error = %e, "request failed on storage"),
            // The line number and cause only: never a line's content.
            Self::ImportStopped {
                cause,
                resume_from_line,
                ..
            } => tracing::warn!(resume_from_line, cause = %cause, "import stopped part way"),
            _ => {}
        }
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            ApiError::field("url", "x").status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ApiError::PayloadTooLarge { limit: 1 }.status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
        assert_eq!(
            ApiError::UnsupportedMediaType {
                got: "a".into(),
                expected: "b"
            }
            .status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let unauthorized = ApiError::Unauthorized.into_response();
        assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(unauthorized.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let overloaded = ApiError::Overloaded.into_response();
        assert_eq!(overloaded.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(overloaded.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn field_errors_are_plausible_shaped() {
        let body = ApiError::field("name", "is required").body();
        assert_eq!(body, json!({ "errors": { "name": ["is required"] } }));
    }

    #[test]
    fn a_stopped_import_keeps_its_cause_status_and_says_where_to_resume() {
        let stopped = ApiError::ImportStopped {
            cause: Box::new(ApiError::Overloaded),
            resume_from_line: 7,
            report: json!({ "accepted": 5, "invalid_count": 1 }),
        };
        assert_eq!(stopped.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            stopped.body(),
            json!({
                "accepted": 5,
                "invalid_count": 1,
                "error": "event queue is full",
                "resume_from_line": 7
            })
        );
        let too_large = ApiError::ImportStopped {
            cause: Box::new(ApiError::PayloadTooLarge { limit: 10 }),
            resume_from_line: 2,
            report: json!({}),
        };
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
