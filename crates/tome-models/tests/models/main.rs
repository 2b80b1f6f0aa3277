//! The models against their real weights (MiniLM, SmolLM2, Whisper tiny.en) and the remote
//! clients against loopback servers that speak the real protocols: one test binary (one link)
//! for all of tome-models' integration tests.

mod gguf_chat;
mod minilm;
mod remote;
mod rerank;
mod whisper;
