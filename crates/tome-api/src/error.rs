//! One error type for every handler; it renders the envelope
//! `{"error": {"code", "message"}}`. Domain errors are mapped exhaustively (no `_` arm), so
//! a new variant cannot slip through as a 500.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tome_domain::DomainError;
use utoipa::ToSchema;

/// The error envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `invalid`, `conflict`.
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
    /// The offending field, for `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answered to the client.
#[derive(Debug)]
pub enum ApiError {
    Domain(DomainError),
    /// A request that could not be parsed (bad JSON, bad query string, too large).
    Rejected {
        status: StatusCode,
        message: String,
    },
    /// Too many attempts: try again after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
    /// A model server behind Tome failed (502).
    Gateway(String),
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        Self::Domain(error)
    }
}

/// The code that goes with a status when nothing more specific is known.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "invalid",
        429 => "rate_limited",
        503 => "unavailable",
        code if code >= 500 => "internal",
        _ => "error",
    }
}

/// Builds an envelope response.
pub fn envelope(status: StatusCode, code: &'static str, message: impl Into<String>, field: Option<String>) -> Response {
    let body = ErrorBody { error: ErrorDetail { code, message: message.into(), field } };
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Rejected { status, message } => envelope(status, code_for_status(status), message, None),
            ApiError::RateLimited { retry_after_secs } => {
                let message = format!("too many requests: try again in {retry_after_secs} s");
                retry_after(envelope(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message, None), retry_after_secs)
            }
            ApiError::Gateway(message) => envelope(StatusCode::BAD_GATEWAY, "model_failed", message, None),
            ApiError::Domain(error) => match error {
                DomainError::NotFound(what) => {
                    envelope(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"), None)
                }
                DomainError::Conflict(message) => envelope(StatusCode::CONFLICT, "conflict", message, None),
                DomainError::Invalid { field, reason } => {
                    envelope(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("{field}: {reason}"), Some(field))
                }
                DomainError::Forbidden(message) => envelope(StatusCode::FORBIDDEN, "forbidden", message, None),
                DomainError::Unauthorized(message) => {
                    let mut response = envelope(StatusCode::UNAUTHORIZED, "unauthorized", message, None);
                    response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
                    response
                }
                DomainError::TooLarge(message) => envelope(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message, None),
                DomainError::Unsupported(message) => {
                    envelope(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message, None)
                }
                DomainError::QuotaExceeded { message, retry_after_secs: Some(seconds) } => {
                    retry_after(envelope(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded", message, None), seconds)
                }
                DomainError::QuotaExceeded { message, retry_after_secs: None } => {
                    envelope(StatusCode::FORBIDDEN, "quota_exceeded", message, None)
                }
                DomainError::Unavailable(message) => {
                    envelope(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message, None)
                }
                DomainError::Internal(detail) => {
                    // The client learns nothing of the cause; the log (with the request's span) does.
                    tracing::error!(error = %detail, "internal error");
                    envelope(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error", None)
                }
            },
        }
    }
}

fn retry_after(mut response: Response, seconds: u64) -> Response {
    if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

pub type ApiResult<T> = Result<T, ApiError>;
