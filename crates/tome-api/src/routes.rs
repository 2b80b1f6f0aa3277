//! One module per resource, each with its own `router()`.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod avatar;
pub mod conversations;
pub mod documents;
pub mod feedback;
pub mod folders;
pub mod health;
pub mod jobs;
pub mod messages;
pub mod objects;
pub mod openai;
pub mod passwords;
pub mod permissions;
pub mod personas;
pub mod projects;
pub mod roles;
pub mod search;
pub mod settings;
pub mod social_links;
pub mod tenants;
pub mod turns;
pub mod two_factor;
pub mod usage;
pub mod users;
