//! Protective middleware: time limits (uploads get their own), security headers on every
//! response, and a bounded request id.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{code_for_status, envelope};

/// How long a request may take before it is answered 408.
#[derive(Clone, Copy, Debug)]
pub struct TimeLimits {
    pub request: Duration,
    /// For `multipart/form-data` bodies (uploads), which stream for as long as the link needs.
    pub upload: Duration,
}

/// Answers 408 when the handler has not answered within the request's time limit.
pub async fn time_limit(limits: TimeLimits, request: Request, next: Next) -> Response {
    let upload = request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"multipart/form-data"));
    let limit = if upload { limits.upload } else { limits.request };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let status = StatusCode::REQUEST_TIMEOUT;
            envelope(status, code_for_status(status), format!("no answer within {} s", limit.as_secs()), None)
        }
    }
}

/// The Content-Security-Policy of everything that sets none itself: nothing may load, and
/// no page may frame it. The API documentation page loads its own scripts and styles.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";
const DOCS_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
frame-ancestors 'none'; object-src 'none'; base-uri 'none'";
/// What a download gets: it runs nothing even if opened in the browser.
const DOWNLOAD_POLICY: &str = "sandbox; default-src 'none'";

/// Sets `nosniff`, `no-referrer`, `DENY` framing and a Content-Security-Policy on every
/// response that did not choose its own; an attachment gets a sandboxing policy.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let docs = request.uri().path().starts_with("/api/docs");
    let mut response = next.run(request).await;
    let attachment = response
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .is_some_and(|value| value.as_bytes().starts_with(b"attachment"));
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = match (attachment, docs) {
            (true, _) => DOWNLOAD_POLICY,
            (false, true) => DOCS_POLICY,
            (false, false) => API_POLICY,
        };
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    }
    response
}

/// The longest request id kept from a client; longer ones, or ones with other characters
/// than `[A-Za-z0-9._:-]`, are replaced by a fresh id.
pub const MAX_REQUEST_ID: usize = 64;

/// Whether a client's `X-Request-Id` is kept (echoed and logged) as it is.
pub fn acceptable_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Drops a client's request id that is too long or holds odd characters, so that the
/// request-id layer makes a fresh one instead of echoing and logging it.
pub async fn bound_request_id(mut request: Request, next: Next) -> Response {
    let header = crate::REQUEST_ID.clone();
    if request.headers().get(&header).is_some_and(|value| !acceptable_request_id(value)) {
        request.headers_mut().remove(&header);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_short_and_plain() {
        assert!(acceptable_request_id(&HeaderValue::from_static("abc-123_x.y:z")));
        assert!(!acceptable_request_id(&HeaderValue::from_static("")));
        assert!(!acceptable_request_id(&HeaderValue::from_static("has space")));
        assert!(!acceptable_request_id(&HeaderValue::from_static("<script>")));
        let long = "a".repeat(MAX_REQUEST_ID + 1);
        assert!(!acceptable_request_id(&HeaderValue::from_str(&long).unwrap_or(HeaderValue::from_static(""))));
    }
}
