//! The store against SQLite and PostgreSQL: one test binary (one link) for the store
//! contract and the retrieval contract.

mod contract;
mod isolation;
mod outbox;
mod search;
