//! One module per resource, each with its own `router()`.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod avatar;
pub mod documents;
pub mod folders;
pub mod health;
pub mod jobs;
pub mod passwords;
pub mod permissions;
pub mod projects;
pub mod roles;
pub mod search;
pub mod settings;
pub mod social_links;
pub mod tenants;
pub mod two_factor;
pub mod users;
