//! Multipart forms, read with bounds: a text field is capped while it streams (a field of
//! gigabytes is refused after a few KiB, never held), and what is left of a refused form is
//! drained up to a limit so that the client still hears the answer.

use axum::extract::multipart::{Field, Multipart, MultipartRejection};
use axum::http::StatusCode;
use tome_domain::DomainError;

use crate::error::ApiError;

/// The longest text field of a form (ids, enums, language codes).
pub const MAX_TEXT_FIELD_BYTES: usize = 4 * 1024;

/// Reads a small text field: 413 past `MAX_TEXT_FIELD_BYTES`, 422 unless UTF-8 text without
/// NUL characters.
pub(crate) async fn text(mut field: Field<'_>, name: &str) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(piece) = field.chunk().await.map_err(form_error)? {
        if bytes.len() + piece.len() > MAX_TEXT_FIELD_BYTES {
            return Err(DomainError::TooLarge(format!(
                "the form field `{name}` is longer than {MAX_TEXT_FIELD_BYTES} bytes"
            ))
            .into());
        }
        bytes.extend_from_slice(&piece);
    }
    let text = String::from_utf8(bytes).map_err(|_| DomainError::invalid(name, "is not UTF-8 text"))?;
    if text.contains('\0') {
        return Err(DomainError::invalid(name, "must not contain NUL characters").into());
    }
    Ok(text)
}

pub(crate) fn multipart_error(rejection: MultipartRejection) -> ApiError {
    ApiError::Rejected {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        message: format!("{rejection}: send multipart/form-data"),
    }
}

pub(crate) fn form_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    DomainError::invalid("file", format!("the multipart body is malformed: {}", error.body_text())).into()
}

pub(crate) fn parse_field<T: std::str::FromStr<Err = DomainError>>(field: &str, raw: &str) -> Result<T, ApiError> {
    raw.trim().parse::<T>().map_err(|_| DomainError::invalid(field, format!("`{raw}` is not a valid value")).into())
}

/// Reads and drops what is left of a refused upload (up to 64 MiB), so that the client,
/// still sending, receives the error instead of a reset connection.
pub(crate) async fn drain(multipart: &mut Multipart) {
    const MOST: usize = 64 * 1024 * 1024;
    let mut drained = 0usize;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(piece)) = field.chunk().await {
            drained += piece.len();
            if drained > MOST {
                return;
            }
        }
    }
}
