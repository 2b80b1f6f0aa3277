//! The HTTP API over a real socket, against SQLite and PostgreSQL: one test binary for all of
//! tome-api's integration tests (one link of the whole server instead of one per file).

mod auth;
mod auth_cache;
mod authority;
mod basics;
mod browser;
mod chat;
mod documents;
mod embeddings;
mod hardening;
mod mail;
mod matrix;
mod middleware;
mod openai;
mod organization;
mod rates;
mod routes;
mod search;
mod streams;
mod tenants;
mod transcriptions;
mod two_factor;
