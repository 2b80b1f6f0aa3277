//! Test support: fresh databases on both backends, `TestApp` (the real server on
//! `127.0.0.1:0`), and `contract_tests!`, which runs one test body against SQLite and
//! PostgreSQL.
//!
//! PostgreSQL comes from `scripts/pg start` (`TOME_TEST_POSTGRES_URL`, or the env file it
//! writes). Without it the PostgreSQL half of each test fails, saying how to start it;
//! `TOME_TEST_POSTGRES=skip` makes it skip instead, loudly — never in CI.

#![expect(clippy::expect_used, reason = "test support: a broken fixture should stop the test at once")]

mod app;
pub mod corpus;
mod db;
pub mod files;
pub mod llm;
pub mod rerank;
pub mod speech;

pub use app::TestApp;
pub use db::{TestDb, count_unscoped, pooler_url, postgres_admin_url, postgres_url};

/// The all-MiniLM-L6-v2 folder for tests: `TOME_TEST_EMBED_MODEL_DIR`, else the workspace's
/// `.cache/models/all-MiniLM-L6-v2` (what `scripts/models minilm` writes). Panics, saying
/// how to get it, when neither exists: a test that needs the model never passes without it.
pub fn minilm_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("TOME_TEST_EMBED_MODEL_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models/all-MiniLM-L6-v2")
    });
    assert!(
        dir.join("model.safetensors").is_file(),
        "no embedding model at {}: run `scripts/models minilm` (scripts/test does)",
        dir.display()
    );
    dir
}

/// all-MiniLM-L6-v2 from `minilm_dir`, loaded once per test binary.
pub fn minilm() -> tome_models::minilm::MiniLm {
    static MODEL: std::sync::OnceLock<tome_models::minilm::MiniLm> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| tome_models::minilm::MiniLm::load(&minilm_dir()).expect("all-MiniLM-L6-v2 loads")).clone()
}

/// The SmolLM2-135M-Instruct GGUF file for tests: `TOME_TEST_CHAT_MODEL`, else the
/// workspace's `.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf` (what `scripts/models smollm`
/// writes). Panics, saying how to get it, when neither exists.
pub fn smollm_path() -> std::path::PathBuf {
    let path = std::env::var_os("TOME_TEST_CHAT_MODEL").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf")
    });
    assert!(path.is_file(), "no chat model at {}: run `scripts/models smollm` (scripts/test does)", path.display());
    path
}

/// SmolLM2 from `smollm_path`, loaded once per test binary.
pub fn smollm() -> tome_models::gguf_chat::LocalChatModel {
    static MODEL: std::sync::OnceLock<tome_models::gguf_chat::LocalChatModel> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| tome_models::gguf_chat::LocalChatModel::load(&smollm_path()).expect("SmolLM2 loads")).clone()
}

/// An embedding server that is down: every call fails as the remote embedder does after
/// its retries.
pub struct Unreachable;

#[async_trait::async_trait]
impl tome_models::embed::Embedder for Unreachable {
    fn model_name(&self) -> &str {
        "remote-model"
    }
    fn dimensions(&self) -> Option<usize> {
        None
    }
    fn max_tokens(&self) -> usize {
        512
    }
    fn token_counter(&self) -> Option<std::sync::Arc<dyn tome_models::tokens::TokenCounter>> {
        None
    }
    async fn embed(&self, _texts: Vec<String>) -> Result<Vec<Vec<f32>>, tome_models::embed::EmbedError> {
        Err(tome_models::embed::EmbedError::Remote("503 Service Unavailable after 4 attempts".into()))
    }
}

/// The password that test accounts get.
pub const PASSWORD: &str = "correct horse battery staple";

/// Runs each named `async fn name(store: SqlStore)` against a fresh SQLite database and a
/// fresh PostgreSQL database, as two tests `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::TestDb::sqlite().await;
                super::$name(db.store.clone()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::TestDb::postgres().await else { return };
                super::$name(db.store.clone()).await;
            }
        }
    )*};
}
