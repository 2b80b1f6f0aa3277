//! Maps database errors to domain errors: missing rows → not found, unique violations →
//! conflict, check and foreign-key violations → invalid; anything else is internal.

use sqlx::error::ErrorKind;
use tome_domain::DomainError;

pub(crate) fn map(what: &'static str) -> impl Fn(sqlx::Error) -> DomainError {
    move |error| match error {
        sqlx::Error::RowNotFound => DomainError::NotFound(what),
        sqlx::Error::Database(db) => {
            let detail = db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned());
            match db.kind() {
                ErrorKind::UniqueViolation => {
                    DomainError::Conflict(format!("{what} already exists ({})", field_of(&detail)))
                }
                ErrorKind::ForeignKeyViolation => DomainError::invalid(
                    what,
                    format!("refers to something that does not exist or is still in use ({detail})"),
                ),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    DomainError::invalid(what, format!("a value is out of range ({detail})"))
                }
                _ => internal(sqlx::Error::Database(db)),
            }
        }
        other => internal(other),
    }
}

fn internal(error: sqlx::Error) -> DomainError {
    tracing::error!(%error, "database error");
    DomainError::Internal(error.to_string())
}

/// Names the field behind a unique constraint, for a message a person understands.
fn field_of(detail: &str) -> String {
    const FIELDS: &[&str] = &["email", "username", "slug", "name", "prefix", "path", "ordinal", "token_hash"];
    FIELDS
        .iter()
        .find(|field| detail.contains(*field))
        .map(|field| format!("same {field}"))
        .unwrap_or_else(|| detail.to_owned())
}
