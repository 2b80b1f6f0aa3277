//! Extractors whose rejections answer in the error envelope instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tome_domain::{DomainError, PageRequest};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// `axum::Json`, with rejections in the envelope; a string holding a NUL character (which
/// PostgreSQL cannot store in text) is refused with 422 before anything reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json =
            request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(|value| {
                let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
                essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
            });
        if !json {
            return Err(ApiError::Rejected {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: "Expected request with `Content-Type: application/json`".into(),
            });
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::Rejected { status: rejection.status(), message: rejection.body_text() })?;
        if has_escaped_nul(&bytes) {
            return Err(DomainError::invalid("body", "text must not contain NUL characters (\\u0000)").into());
        }
        let axum::Json(value) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Self(value))
    }
}

/// Whether JSON text holds the escape `\u0000` (an odd run of backslashes before `u0000`).
/// A raw NUL byte is not valid JSON and fails parsing anyway.
pub fn has_escaped_nul(json: &[u8]) -> bool {
    let mut index = 0;
    while let Some(offset) = json[index..].windows(5).position(|window| window.eq_ignore_ascii_case(b"u0000")) {
        let at = index + offset;
        let backslashes = json[..at].iter().rev().take_while(|byte| **byte == b'\\').count();
        if backslashes % 2 == 1 {
            return true;
        }
        index = at + 1;
    }
    false
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query`, with rejections in the envelope; `%00` is refused with 422.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(|query| query.to_ascii_lowercase().contains("%00")) {
            return Err(DomainError::invalid("query", "parameters must not contain NUL characters (%00)").into());
        }
        let axum::extract::Query(value) = axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// `axum::extract::Path`, with rejections in the envelope; a path with `%00` names nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.path().to_ascii_lowercase().contains("%00") {
            return Err(ApiError::Rejected { status: StatusCode::NOT_FOUND, message: "no such path".into() });
        }
        let axum::extract::Path(value) = axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::Rejected { status: rejection.status(), message: rejection.body_text() }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::Rejected { status: rejection.status(), message: rejection.body_text() }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // A malformed id in the path names nothing that exists.
        ApiError::Rejected { status: axum::http::StatusCode::NOT_FOUND, message: rejection.body_text() }
    }
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.limit, self.cursor.as_deref())?)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageResponse<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> PageResponse<T> {
    pub fn from_page<U>(page: tome_domain::Page<U>, f: impl FnMut(U) -> T) -> Self {
        let page = page.map(f);
        Self { items: page.items, next_cursor: page.next_cursor }
    }
}

/// For PATCH bodies: absent → `None` (leave as is), `null` → `Some(None)` (clear), a value →
/// `Some(Some(v))`. Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::has_escaped_nul;

    #[test]
    fn an_escaped_nul_is_found_and_an_escaped_backslash_before_u0000_is_not() {
        assert!(has_escaped_nul(br#"{"login":"x\u0000"}"#));
        assert!(has_escaped_nul(br#"{"a":"\U0000"}"#));
        assert!(has_escaped_nul(br#"{"a":"\\\u0000"}"#), "three backslashes: an escaped one, then the escape");
        assert!(!has_escaped_nul(br#"{"a":"\\u0000"}"#), "two backslashes: a literal backslash and text");
        assert!(!has_escaped_nul(br#"{"a":"u0000 \u0001"}"#));
    }
}
