//! Tome's knowledge pipeline: where uploaded files live, what they are, the text and
//! structure inside them, and how that text becomes chunks; recordings become transcripts
//! and minutes (`meeting`).

pub mod chat;
pub mod chunk;
pub mod detect;
pub mod encoding;
pub mod extract;
pub mod intake;
pub mod meeting;
pub mod pipeline;
pub mod retrieve;
pub mod storage;
