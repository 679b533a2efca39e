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
    #[error("unsupported content type {0:?}")]
    UnsupportedMediaType(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("event queue is full")]
    Overloaded,
    #[error("the request body did not arrive within {0:?}")]
    BodyTimeout(std::time::Duration),
    #[error("storage unavailable: {0}")]
    Storage(#[from] schema::DbError),
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
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Overloaded | Self::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn body(&self) -> serde_json::Value {
        match self {
            Self::BadInput(errors) => json!({ "errors": errors }),
            Self::PayloadTooLarge { .. } | Self::BodyTimeout(_) => {
                json!({ "errors": { "request": [self.to_string()] } })
            }
            Self::UnsupportedMediaType(_) => json!({ "errors": { "request": [format!(
                "{self}; send application/json or text/plain"
            )] } }),
            Self::MethodNotAllowed | Self::Forbidden(_) | Self::NotFound | Self::Overloaded => {
                json!({ "error": self.to_string() })
            }
            Self::Storage(_) => json!({ "error": "storage temporarily unavailable" }),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Storage(e) = &self {
            tracing::error!(error = %e, "request failed on storage");
        }
        let status = self.status();
        let mut response = (status, Json(self.body())).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
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
            ApiError::UnsupportedMediaType("a".into()).status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        let overloaded = ApiError::Overloaded.into_response();
        assert_eq!(overloaded.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(overloaded.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn field_errors_are_plausible_shaped() {
        let body = ApiError::field("name", "is required").body();
        assert_eq!(body, json!({ "errors": { "name": ["is required"] } }));
    }
}
