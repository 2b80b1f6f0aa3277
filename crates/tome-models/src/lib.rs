//! Tome's models: sentence embedders behind one trait — all-MiniLM-L6-v2 run in-process with
//! candle, or any OpenAI-compatible `/v1/embeddings` server — and the token counting that
//! chunk sizes follow.

pub mod embed;
pub mod minilm;
pub mod openai;
pub mod tokens;
