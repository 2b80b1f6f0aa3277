//! Tome's models: sentence embedders behind one trait — all-MiniLM-L6-v2 run in-process with
//! candle, or any OpenAI-compatible `/v1/embeddings` server —, chat models behind another
//! (an OpenAI-compatible `/v1/chat/completions` server, or a local GGUF model), and the
//! token counting that chunk sizes and prompts follow.

pub mod audio;
pub mod bert;
pub mod chat;
pub mod ct2;
pub mod embed;
pub mod gguf_chat;
mod gguf_tokenizer;
mod matmul;
mod mel;
pub mod minilm;
pub mod openai;
pub mod openai_chat;
pub mod rerank;
pub mod retry;
pub mod tokens;
pub mod transcribe;
pub mod whisper;
