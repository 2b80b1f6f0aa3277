//! One module per resource, each with its own `router()`.

pub mod auth;
pub mod health;
pub mod permissions;
