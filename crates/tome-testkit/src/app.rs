//! `TestApp`: the real router served on `127.0.0.1:0` over a fresh database, with a client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tome_api::AppState;
use tome_config::Config;
use tome_domain::passwords::MemoryMailer;
use tome_jobs::{Step, Worker, WorkerOptions};
use tome_models::chat::ChatModel;
use tome_models::embed::Embedder;
use tome_rag::pipeline::Pipeline;
use tome_rag::storage::FileStore;
use tome_store::Backend;

use crate::TestDb;

pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    pub db: TestDb,
    /// Mail the app sent (password resets).
    pub outbox: Arc<MemoryMailer>,
    /// Where the app keeps uploaded files.
    pub files: FileStore,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

/// Request rates no test reaches by accident.
pub const GENEROUS_RATES: &str = "register=100000/min,refresh=100000/min,chat=100000/min,search=100000/min,v1=100000/min,upload=100000/min,transcribe=100000/min";

impl TestApp {
    /// Serves a fresh database of `backend`; None only when PostgreSQL is explicitly skipped.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        Some(Self::spawn_with(TestDb::of(backend).await?, |_| {}).await)
    }

    /// Serves `db` with a configuration adjusted by `configure`.
    pub async fn spawn_with(db: TestDb, configure: impl FnOnce(&mut Config)) -> Self {
        Self::spawn_with_routes(db, configure, axum::Router::new()).await
    }

    /// Like `spawn_with`, with probe routes mounted inside the real middleware stack.
    pub async fn spawn_with_routes(
        db: TestDb,
        configure: impl FnOnce(&mut Config),
        extra: axum::Router<AppState>,
    ) -> Self {
        Self::launch(db, configure, extra, None, Vec::new()).await
    }

    /// Serves `db` with searches that embed their queries with `embedder`, as `tome serve`
    /// does with its configured model.
    pub async fn spawn_with_embedder(db: TestDb, embedder: Arc<dyn Embedder>) -> Self {
        Self::launch(db, |_| {}, axum::Router::new(), Some(embedder), Vec::new()).await
    }

    /// Serves `db` with chat answered by `models` (the first is the default; the extractive
    /// answerer follows them) and searches embedded by `embedder`, if any.
    pub async fn spawn_with_chat(
        db: TestDb,
        embedder: Option<Arc<dyn Embedder>>,
        models: Vec<Arc<dyn ChatModel>>,
    ) -> Self {
        Self::launch(db, |_| {}, axum::Router::new(), embedder, models).await
    }

    /// `spawn_with_chat` with a configuration adjusted by `configure` and no embedder.
    pub async fn spawn_with_chat_configured(
        db: TestDb,
        configure: impl FnOnce(&mut Config),
        models: Vec<Arc<dyn ChatModel>>,
    ) -> Self {
        Self::launch(db, configure, axum::Router::new(), None, models).await
    }

    async fn launch(
        db: TestDb,
        configure: impl FnOnce(&mut Config),
        extra: axum::Router<AppState>,
        embedder: Option<Arc<dyn Embedder>>,
        chat_models: Vec<Arc<dyn ChatModel>>,
    ) -> Self {
        let mut config = Config::for_data_dir(db.dir.path());
        config.shutdown_grace_secs = 5;
        // Tests act faster than people; a test of the limits sets its own.
        config.rate_limits = Some(GENEROUS_RATES.to_owned());
        configure(&mut config);
        let key = tome_domain::auth::random_secret();
        let smtp = config.smtp_url.is_some();
        let mut state = AppState::new(Arc::new(db.store.clone()), config, key.as_bytes())
            .expect("app state")
            .with_embedder(embedder)
            .with_chat_models(chat_models);
        let files = state.intake.files().clone();
        let outbox = Arc::new(MemoryMailer::default());
        if !smtp {
            state.mailer = outbox.clone();
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let options = tome_api::ServeOptions::from_config(&state.config);
        let server = tokio::spawn(tome_api::serve_with(
            listener,
            tome_api::router_with(extra, state),
            async move {
                let _ = stopped.await;
            },
            options,
        ));
        // Idle pooled connections are dropped before the server's idle cut-off (its header
        // timeout, 10 s by default) would close them under a request being sent.
        // The whole exchange, a streamed answer's body included: a local model on a loaded
        // 2-core machine can take longer than half a minute (seen: the GGUF chat test).
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .expect("HTTP client");
        Self { address, client, db, outbox, files, stop: Some(stop), server: Some(server) }
    }

    /// Every file under the app's upload folder.
    pub fn stored_files(&self) -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() { walk(&path, found) } else { found.push(path) }
            }
        }
        let mut found = Vec::new();
        walk(&self.db.dir.path().join("files"), &mut found);
        found
    }

    /// The ingestion pipeline of `tome serve`, over this app's store and files.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(Arc::new(self.db.store.clone()), self.files.clone())
    }

    /// A worker running `pipeline`'s jobs, retrying at once.
    pub fn worker(&self, pipeline: Pipeline) -> Worker {
        let store = pipeline.store.clone();
        let options = WorkerOptions { base_backoff: Duration::ZERO, ..WorkerOptions::default() };
        Worker::new(store, pipeline.handlers(), "test-worker", options)
    }

    /// Runs queued jobs until none is due (at most 200); returns the steps taken.
    pub async fn work(&self) -> Vec<Step> {
        self.work_with(self.pipeline()).await
    }

    /// `work` with an adjusted pipeline.
    pub async fn work_with(&self, pipeline: Pipeline) -> Vec<Step> {
        let worker = self.worker(pipeline);
        let mut steps = Vec::new();
        for _ in 0..200 {
            match worker.step().await.expect("job queue") {
                Step::Idle => break,
                step => steps.push(step),
            }
        }
        steps
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.expect("POST")
    }

    /// Registers an account; panics unless the answer is 201.
    pub async fn register(&self, username: &str, password: &str) -> Value {
        let body = serde_json::json!({
            "email": format!("{username}@example.com"),
            "username": username,
            "name": format!("{username} Example"),
            "password": password,
        });
        let response = self.post_json("/api/v1/auth/register", &body).await;
        assert_eq!(response.status(), 201, "register {username}");
        response.json().await.expect("JSON body")
    }

    /// Logs in; returns the token response (panics unless 200).
    pub async fn login(&self, login: &str, password: &str) -> Value {
        let body = serde_json::json!({"login": login, "password": password});
        let response = self.post_json("/api/v1/auth/login", &body).await;
        assert_eq!(response.status(), 200, "login {login}");
        response.json().await.expect("JSON body")
    }

    /// Any request with a bearer token and an optional JSON body; returns the status and the
    /// JSON answer (Null when empty or not JSON).
    pub async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (reqwest::StatusCode, Value) {
        let request = self.client.request(method, self.url(path)).bearer_auth(token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Uploads files (name, content) with extra form fields to `/api/v1/documents`; returns
    /// the status and the JSON answer.
    /// `GET /api/v1/documents/{id}` as `token`, which must answer 200.
    pub async fn document(&self, token: &str, id: &str) -> Value {
        let (status, doc) = self.call(token, reqwest::Method::GET, &format!("/api/v1/documents/{id}"), None).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{doc}");
        doc
    }

    /// The first 200 chunks of a document as `token`.
    pub async fn document_chunks(&self, token: &str, id: &str) -> Vec<Value> {
        let path = format!("/api/v1/documents/{id}/chunks?limit=200");
        let (status, page) = self.call(token, reqwest::Method::GET, &path, None).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        page["items"].as_array().cloned().unwrap_or_default()
    }

    pub async fn upload(
        &self,
        token: &str,
        files: &[(&str, Vec<u8>)],
        fields: &[(&str, &str)],
    ) -> (reqwest::StatusCode, Value) {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        for (name, content) in files {
            form = form.part("file", reqwest::multipart::Part::bytes(content.clone()).file_name(name.to_string()));
        }
        let response = self
            .client
            .post(self.url("/api/v1/documents"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("upload");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Registers `username` (password `PASSWORD`), has `admin` activate the account and
    /// returns its access token.
    pub async fn active_user(&self, admin: &str, username: &str) -> String {
        let id = self.register(username, crate::PASSWORD).await["user"]["id"].as_str().expect("id").to_owned();
        let (status, _) = self.call(admin, reqwest::Method::POST, &format!("/api/v1/users/{id}/activate"), None).await;
        assert_eq!(status, reqwest::StatusCode::OK, "activate {username}");
        self.login(username, crate::PASSWORD).await["access_token"].as_str().expect("token").to_owned()
    }

    /// Registers the installation's first account (superadmin) and returns its access token.
    pub async fn superadmin(&self, username: &str) -> String {
        self.register(username, crate::PASSWORD).await;
        self.login(username, crate::PASSWORD).await["access_token"].as_str().expect("token").to_owned()
    }

    /// GET with a bearer token; returns the status and the JSON body (Null when empty).
    pub async fn get_as(&self, token: &str, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self.client.get(self.url(path)).bearer_auth(token).send().await.expect("GET");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// GET and parse the JSON body, returning the status too.
    pub async fn get_json(&self, path: &str) -> (reqwest::StatusCode, Value) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    /// Starts the graceful shutdown; `finished` waits for the server to stop.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits (bounded) for the server task to end.
    pub async fn finished(&mut self) -> std::io::Result<()> {
        match self.server.take() {
            Some(server) => tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("server stops within 10 s")
                .expect("server task"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// Runs each named `async fn name(app: TestApp)` against the real server over SQLite and
/// over PostgreSQL, as `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! app_tests {
    (configure($configure:expr) => $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::TestDb::sqlite().await;
                super::$name($crate::TestApp::spawn_with(db, $configure).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::TestDb::postgres().await else { return };
                super::$name($crate::TestApp::spawn_with(db, $configure).await).await;
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::TestApp::spawn(tome_store::Backend::Sqlite).await.expect("SQLite app");
                super::$name(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::TestApp::spawn(tome_store::Backend::Postgres).await else { return };
                super::$name(app).await;
            }
        }
    )*};
}
