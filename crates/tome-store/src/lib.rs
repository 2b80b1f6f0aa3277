//! Tome's storage: one `SqlStore` over SQLite or PostgreSQL that implements every repository
//! trait of `tome_domain::repo`.
//!
//! SQL is written once where the dialects agree: `sql::Sql` holds text and typed arguments
//! and is turned into a backend's `QueryBuilder` only when it runs. Backend-specific code is
//! confined to what really differs (connection setup, vectors, job claiming).

mod access;
mod access_changes;
mod audio;
mod audit;
mod chat;
mod error;
mod jobs;
mod knowledge;
mod organization;
mod outbox;
mod pool;
mod search;
mod seed;
mod sessions;
mod sql;
mod tenants;
mod users;

pub use pool::{Backend, Scope, SqlStore, StoreError, StoreOptions, migrations_fingerprint};

/// SQLite's retrieval table beside the data model's: the change feed that the in-process
/// keyword and vector indexes replay (migrations 0006 and 0010).
pub const SQLITE_SEARCH_TABLES: &[&str] = &["search_changes"];

/// The tables of the data model (DESIGN.md), in alphabetical order; the migration tool
/// keeps its own `_sqlx_migrations` beside them.
pub const TABLES: &[&str] = &[
    "api_keys",
    "audit_log",
    "auth_epoch",
    "auth_sessions",
    "conversations",
    "document_chunks",
    "documents",
    "feedback",
    "folders",
    "invitations",
    "jobs",
    "memberships",
    "messages",
    "objects",
    "password_reset_tokens",
    "permissions",
    "personas",
    "projects",
    "recovery_codes",
    "role_permissions",
    "roles",
    "social_links",
    "tenants",
    "token_usage",
    "transcription_jobs",
    "user_roles",
    "user_settings",
    "user_two_factor",
    "users",
];
