//! Tome's knowledge pipeline: where uploaded files live, what they are, the text and
//! structure inside them, and how that text becomes chunks.

pub mod chat;
pub mod chunk;
pub mod detect;
pub mod extract;
pub mod intake;
pub mod pipeline;
pub mod retrieve;
pub mod storage;
