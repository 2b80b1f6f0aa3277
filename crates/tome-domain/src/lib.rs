//! Tome's domain: the records of the data model, validated input types, the closed error
//! enum, access rules and the repository traits that storage backends implement.
//!
//! Nothing here knows HTTP or SQL. The optional `sqlx` feature only derives row decoding on
//! the plain record types; the store turns it on.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod audio;
pub mod audit;
pub mod auth;
pub mod auth_cache;
pub mod authority;
pub mod avatar;
pub mod catalog;
pub mod chat;
pub mod conversations;
pub mod document_text;
pub mod documents;
pub mod error;
pub mod feedback;
pub mod identity;
pub mod ids;
pub mod invitations;
pub mod jobs;
pub mod knowledge;
pub mod members;
pub mod objects;
pub mod organization;
pub mod outbox;
pub mod page;
pub mod password;
pub mod passwords;
pub mod personas;
pub mod repo;
pub mod roles;
pub mod search;
pub mod secrets;
pub mod settings;
pub mod social_links;
pub mod tenancy;
pub mod text_enum;
pub mod transcriptions;
pub mod two_factor;
pub mod usage;
pub mod validate;
pub mod workspace;

pub use error::{DomainError, DomainResult};
pub use ids::*;
pub use page::{Page, PageRequest};

/// Timestamps everywhere are UTC.
pub type Timestamp = time::OffsetDateTime;

/// The current time, truncated to microseconds so that it survives a round trip through
/// either database unchanged (PostgreSQL keeps microseconds).
pub fn now() -> Timestamp {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000).unwrap_or(now)
}
