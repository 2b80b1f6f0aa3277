//! The `tome` binary end to end: started as a process, talked to over a socket.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;
use tome_domain::repo::{AccessRepo, KnowledgeRepo, TenantRepo, UserRepo};
use tome_store::{SqlStore, StoreOptions};

/// `tome` with a clean environment (no TOME_* or DATABASE_URL from the caller) in `dir`.
fn tome(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tome"));
    command.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// A new, empty PostgreSQL database on the test server; its URL.
async fn empty_postgres_database(base_url: &str) -> String {
    let name = format!("cli_{}", tome_domain::JobId::new().0.simple());
    let mut admin = sqlx::PgConnection::connect(base_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    format!("{}/{name}", base_url.rsplit_once('/').unwrap().0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits (at most 15 s) until `/healthz` answers 200.
async fn wait_healthy(base: &str, child: &mut Child) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("tome exited early with {status}: {}", stderr_of(child));
        }
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("tome did not become healthy within 15 s");
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
    }
    text
}

/// SIGTERM, then wait (at most 15 s) for a clean exit.
fn terminate(mut child: Child) -> (bool, String) {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), stderr_of(&mut child));
        }
        assert!(Instant::now() < deadline, "tome did not stop within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A run that must fail: exit code 1 and one line on stderr saying why, never a panic.
fn assert_fails_with_one_line(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(needle), "expected {needle:?} in {stderr}");
}

#[tokio::test]
async fn serve_with_no_configuration_creates_data_folder_and_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The default bind is 127.0.0.1:8080; the test moves only the port so runs can overlap.
    let mut child = tome(dir.path()).arg("serve").env("TOME_BIND", format!("127.0.0.1:{port}")).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base, &mut child).await;
    let client = reqwest::Client::new();
    for path in ["/readyz", "/metrics", "/api/openapi.json", "/api/docs"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let database = dir.path().join("data/tome.db");
    assert!(database.is_file(), "data/tome.db in the working folder");
    let (clean, stderr) = terminate(child);
    assert!(clean, "clean exit on SIGTERM: {stderr}");
    let store = SqlStore::connect(&format!("sqlite://{}", database.display()), &StoreOptions::default()).await.unwrap();
    let tables = store.table_names().await.unwrap();
    for table in tome_store::TABLES {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
    let journal: String = {
        let mut connection =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", database.display())).await.unwrap();
        sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut connection).await.unwrap()
    };
    assert_eq!(journal, "wal");
    assert_eq!(store.default_tenant().await.unwrap().slug, "default", "seeded");
}

#[tokio::test]
async fn the_same_binary_migrates_and_serves_postgresql() {
    let Some(base_url) = tome_testkit::postgres_url() else {
        // TestDb::postgres says loudly why (or fails, unless skipping was asked for).
        assert!(tome_testkit::TestDb::postgres().await.is_none());
        return;
    };
    // A brand-new, empty database: the binary itself must migrate it.
    let url = empty_postgres_database(&base_url).await;
    let dir = tempfile::tempdir().unwrap();
    let migrate = tome(dir.path()).arg("migrate").env("DATABASE_URL", &url).output().unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let applied = String::from_utf8_lossy(&migrate.stdout).into_owned();
    let migrations =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../tome-store/migrations/postgres")).unwrap().count();
    assert!(applied.contains(&format!("applied {migrations} migration(s); postgres")), "{applied}");
    let again = tome(dir.path()).arg("migrate").env("DATABASE_URL", &url).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("applied 0 migration(s)"), "idempotent");

    let port = free_port();
    let mut child = tome(dir.path())
        .arg("serve")
        .env("TOME_DATABASE_URL", &url)
        .env("TOME_BIND", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base, &mut child).await;
    let ready: serde_json::Value = reqwest::get(format!("{base}/readyz")).await.unwrap().json().await.unwrap();
    assert_eq!((ready["status"].as_str(), ready["database"].as_str()), (Some("ready"), Some("postgres")));
    assert!(terminate(child).0);
    assert!(!dir.path().join("data/tome.db").exists(), "no SQLite file when PostgreSQL is configured");

    let store = SqlStore::connect(&url, &StoreOptions::default()).await.unwrap();
    let tables = store.table_names().await.unwrap();
    for table in tome_store::TABLES {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }
    let types: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text || '.' || column_name::text, udt_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND (table_name, column_name) IN \
         (('document_chunks', 'embedding'), ('users', 'profile'), ('users', 'id'), ('users', 'created_at'))",
    )
    .fetch_all(&mut sqlx::PgConnection::connect(&url).await.unwrap())
    .await
    .unwrap()
    .into_iter()
    .map(|(column, kind): (String, String)| (column, kind))
    .collect();
    let mut types = types;
    types.sort();
    assert_eq!(
        types,
        [
            ("document_chunks.embedding".to_owned(), "vector".to_owned()),
            ("users.created_at".to_owned(), "timestamptz".to_owned()),
            ("users.id".to_owned(), "uuid".to_owned()),
            ("users.profile".to_owned(), "jsonb".to_owned()),
        ]
    );
}

#[test]
fn invalid_configuration_value_stops_startup_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = tome(dir.path()).arg("serve").env("TOME_BIND", "not-an-address").output().unwrap();
    assert_fails_with_one_line(&output, "TOME_BIND");
    let output = tome(dir.path()).arg("serve").env("TOME_SIGNUP", "sometimes").output().unwrap();
    assert_fails_with_one_line(&output, "signup");
    std::fs::write(dir.path().join("tome.toml"), "max_upload_bytes = \"lots\"\n").unwrap();
    let output = tome(dir.path()).arg("config").output().unwrap();
    assert_fails_with_one_line(&output, "max_upload_bytes");
}

#[test]
fn a_port_in_use_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let output = tome(dir.path()).arg("serve").env("TOME_BIND", address.to_string()).output().unwrap();
    assert_fails_with_one_line(&output, &format!("cannot listen on {address}"));
}

#[test]
fn an_unreachable_or_unsupported_database_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let output = tome(dir.path())
        .args(["serve", "--bind", &format!("127.0.0.1:{}", free_port())])
        .env("DATABASE_URL", format!("postgres://tome:secret@127.0.0.1:{port}/tome"))
        .output()
        .unwrap();
    assert_fails_with_one_line(&output, "cannot open the database");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("secret"), "no password in the message");
    let output = tome(dir.path()).arg("migrate").env("DATABASE_URL", "mysql://db/tome").output().unwrap();
    assert_fails_with_one_line(&output, "unsupported database URL");
}

#[test]
fn config_prints_the_effective_configuration_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tome.toml"), "signup = \"open\"\nbind = \"127.0.0.1:9000\"\n").unwrap();
    let output = tome(dir.path())
        .arg("config")
        .env("TOME_BIND", "127.0.0.1:9001")
        .env("TOME_DATABASE_URL", "postgres://tome:hunter2@db.internal/tome")
        .env("TOME_LLM_API_KEY", "sk-very-secret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(stdout.contains("bind = \"127.0.0.1:9001\""), "environment wins over the file: {stdout}");
    assert!(stdout.contains("signup = \"open\""), "{stdout}");
    assert!(stdout.contains("postgres://tome:[redacted]@db.internal/tome"), "{stdout}");
    assert!(!stdout.contains("hunter2") && !stdout.contains("sk-very-secret"), "{stdout}");
    let flagged = tome(dir.path()).args(["config", "--data-dir", "/srv/tome"]).output().unwrap();
    assert!(String::from_utf8_lossy(&flagged.stdout).contains("data_dir = \"/srv/tome\""), "flags win");
}

#[tokio::test]
async fn user_create_makes_the_first_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let run = |password: &'static str, username: &'static str| {
        let mut child = tome(dir.path())
            .args(["user", "create", "--email", "Admin@Example.com", "--username", username, "--superadmin"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let output = run("correct horse battery staple\n", "admin");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("created user admin <admin@example.com>"));
    let again = run("correct horse battery staple\n", "admin2");
    assert_fails_with_one_line(&again, "email");
    let weak = run("short\n", "other");
    assert_fails_with_one_line(&weak, "password");

    let url = format!("sqlite://{}", dir.path().join("data/tome.db").display());
    let store = SqlStore::connect(&url, &StoreOptions::default()).await.unwrap();
    let admin = store.find_user_by_login("admin").await.unwrap();
    assert!(admin.is_superadmin && admin.is_active);
    assert!(tome_domain::password::verify_blocking("correct horse battery staple", &admin.password_hash));
    let tenant = store.default_tenant().await.unwrap();
    let permissions = store.effective_permissions(tenant.id, admin.id).await.unwrap();
    assert_eq!(permissions.len(), tome_domain::catalog::PERMISSIONS.len(), "owner of the default tenant");
    assert_eq!(store.count_users().await.unwrap(), 1, "failed attempts left nothing behind");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = tome(dir.path())
        .arg("serve")
        .env("TOME_BIND", format!("127.0.0.1:{port}"))
        .env("TOME_LOG_FORMAT", "json")
        .spawn()
        .unwrap();
    wait_healthy(&format!("http://127.0.0.1:{port}"), &mut child).await;
    let (clean, stderr) = terminate(child);
    assert!(clean);
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{stderr}");
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(value["level"].is_string() && value["timestamp"].is_string(), "{line}");
    }
    assert!(stderr.contains("Tome is listening on"));
}

#[tokio::test]
async fn worker_runs_the_job_loop_until_sigterm() {
    use tome_domain::jobs::{JobStatus, NewJob};
    use tome_domain::repo::JobQueue;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("data/tome.db").display());
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    let store = SqlStore::open(&url, &StoreOptions::default()).await.unwrap();
    // No handler knows this kind yet: the worker must claim it and record why it failed.
    let job = store
        .enqueue(NewJob {
            tenant_id: None,
            kind: "unheard-of".into(),
            payload: serde_json::json!({}),
            max_attempts: 1,
            run_at: tome_domain::now(),
        })
        .await
        .unwrap();
    let child = tome(dir.path()).args(["worker", "--concurrency", "1"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let failed = loop {
        let current = store.get_job(job.id).await.unwrap();
        if current.status == JobStatus::Failed {
            break current;
        }
        assert!(Instant::now() < deadline, "the worker did not process the job");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(failed.last_error.unwrap().contains("no handler for jobs of kind `unheard-of`"));
    let (clean, stderr) = terminate(child);
    assert!(clean, "{stderr}");
    assert!(stderr.contains("worker stopped"), "{stderr}");
}

#[tokio::test]
async fn audit_verify_checks_every_chain_and_fails_on_tampering() {
    let dir = tempfile::tempdir().unwrap();
    assert!(tome(dir.path()).arg("migrate").output().unwrap().status.success());
    let url = format!("sqlite://{}", dir.path().join("data/tome.db").display());
    let store = SqlStore::connect(&url, &StoreOptions::default()).await.unwrap();
    let tenant = store.default_tenant().await.unwrap().id;
    let client = tome_domain::auth::ClientInfo::default();
    for summary in ["first", "second", "third"] {
        let entry =
            tome_domain::knowledge::NewAuditEntry::new(None, "folder.create", ("folder", None), summary, &client);
        store.append_audit(Some(tenant), entry).await.unwrap();
    }
    let verified = tome(dir.path()).args(["audit", "verify"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(verified.status.success(), "{stdout}{}", String::from_utf8_lossy(&verified.stderr));
    assert!(stdout.contains("default: ok, 3 entries"), "{stdout}");
    assert!(stdout.contains("(platform): ok, 0 entries"), "{stdout}");

    let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("DROP TRIGGER audit_log_append_only; UPDATE audit_log SET summary = 'x' WHERE seq = 2")
        .execute(&mut connection)
        .await
        .unwrap();
    let broken = tome(dir.path()).args(["audit", "verify", "--tenant", "default"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&broken.stdout).into_owned();
    assert!(!broken.status.success(), "a broken chain fails the command");
    assert!(stdout.contains("default: BROKEN at entry 2"), "{stdout}");
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn models_reports_where_the_embedder_is_and_whether_it_loads() {
    let dir = tempfile::tempdir().unwrap();
    let none = tome(dir.path()).arg("models").output().unwrap();
    let text = stdout_of(&none);
    assert!(none.status.success(), "no model installed is a supported state: {text}");
    assert!(text.contains("data/models/all-MiniLM-L6-v2 (default folder)"), "{text}");
    assert!(text.contains("found:   no") && text.contains("keywords only"), "{text}");
    assert!(text.contains("not configured (TOME_CHAT_MODEL; answers are extractive"), "{text}");

    let real = tome(dir.path()).arg("models").env("TOME_EMBED_MODEL_DIR", tome_testkit::minilm_dir()).output().unwrap();
    let text = stdout_of(&real);
    assert!(real.status.success(), "{text}{}", String::from_utf8_lossy(&real.stderr));
    assert!(text.contains("loads:   yes: all-MiniLM-L6-v2 gives 384-dimensional vectors"), "{text}");

    let chat = tome(dir.path()).arg("models").env("TOME_CHAT_MODEL", tome_testkit::smollm_path()).output().unwrap();
    let text = stdout_of(&chat);
    assert!(chat.status.success(), "{text}{}", String::from_utf8_lossy(&chat.stderr));
    assert!(text.contains("loads:   yes: SmolLM2-135M-Instruct.Q4_1 (context 4096 tokens)"), "{text}");
    let whisper = tome(dir.path())
        .arg("models")
        .env("TOME_WHISPER_MODEL_DIR", tome_testkit::speech::whisper_dir())
        .output()
        .unwrap();
    let text = stdout_of(&whisper);
    assert!(whisper.status.success(), "{text}{}", String::from_utf8_lossy(&whisper.stderr));
    assert!(text.contains("loads:   yes: whisper-tiny.en (English only)"), "{text}");
    let no_whisper = tome(dir.path()).arg("models").env("TOME_WHISPER_MODEL_DIR", dir.path()).output().unwrap();
    assert!(stdout_of(&no_whisper).contains("found:   no (missing model.bin"), "{}", stdout_of(&no_whisper));
    assert!(!no_whisper.status.success());
    let broken = dir.path().join("broken.gguf");
    std::fs::write(&broken, b"GGUF but not really").unwrap();
    let bad_chat = tome(dir.path()).arg("models").env("TOME_CHAT_MODEL", &broken).output().unwrap();
    assert!(stdout_of(&bad_chat).contains("loads:   no:"), "{}", stdout_of(&bad_chat));
    assert!(!bad_chat.status.success());

    let missing =
        tome(dir.path()).arg("models").env("TOME_EMBED_MODEL_DIR", dir.path().join("nowhere")).output().unwrap();
    assert!(stdout_of(&missing).contains("found:   no (missing model.safetensors"), "{}", stdout_of(&missing));
    assert_fails_with_one_line(&missing, "a configured model is not usable");

    let remote = tome(dir.path()).arg("models").env("TOME_EMBED_BASE_URL", "http://127.0.0.1:9/v1").output().unwrap();
    assert!(stdout_of(&remote).contains("TOME_EMBED_MODEL must name"), "{}", stdout_of(&remote));
    assert!(!remote.status.success());
}

#[tokio::test]
async fn reindex_embeds_documents_processed_without_a_model() {
    use tome_domain::knowledge::{ChunkSet, DocumentPatch, DocumentStatus, NewChunk, NewDocument};
    let dir = tempfile::tempdir().unwrap();
    assert!(tome(dir.path()).arg("migrate").output().unwrap().status.success());
    let url = format!("sqlite://{}", dir.path().join("data/tome.db").display());
    let store = SqlStore::connect(&url, &StoreOptions::default()).await.unwrap();
    let tenant = store.default_tenant().await.unwrap().id;
    let new = NewDocument {
        owner_id: None,
        project_id: None,
        visibility: tome_domain::knowledge::Visibility::Tenant,
        original_name: "notes.txt".into(),
        storage_key: "nowhere".into(),
        mime_type: "text/plain".into(),
        size_bytes: 10,
        sha256: "0".repeat(64),
        document_type: tome_domain::knowledge::DocumentType::GeneralDocument,
    };
    let doc = store.create_document(tenant, new).await.unwrap();
    let chunk = |ordinal: i32, content: &str| NewChunk {
        ordinal,
        content: content.into(),
        token_count: 5,
        metadata: serde_json::json!({}),
        embedding: None,
    };
    let set = ChunkSet {
        chunks: vec![chunk(0, "Parking is on level two."), chunk(1, "Lunch is at noon.")],
        embedding_model: None,
    };
    store.replace_chunks(tenant, doc.id, set).await.unwrap();
    let processed = DocumentPatch { status: Some(DocumentStatus::Processed), ..DocumentPatch::default() };
    store.update_document(tenant, doc.id, processed).await.unwrap();

    let without = tome(dir.path()).arg("reindex").output().unwrap();
    assert_fails_with_one_line(&without, "no embedding model is configured or found");

    let model = tome_testkit::minilm_dir();
    let output = tome(dir.path()).args(["reindex", "--wait"]).env("TOME_EMBED_MODEL_DIR", &model).output().unwrap();
    let text = stdout_of(&output);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("queued 1 document(s) for embedding with all-MiniLM-L6-v2"), "{text}");
    assert!(text.contains("done: 1 job(s) succeeded, 0 failed"), "{text}");
    let stored = store.get_document(tenant, doc.id).await.unwrap();
    assert_eq!(stored.embedding_model.as_deref(), Some("all-MiniLM-L6-v2"));
    let chunks = store.list_chunks(tenant, doc.id, tome_domain::PageRequest::default()).await.unwrap();
    for chunk in chunks.items {
        assert_eq!(store.get_chunk_embedding(tenant, chunk.id).await.unwrap().map(|v| v.len()), Some(384));
    }

    let again = tome(dir.path()).args(["reindex"]).env("TOME_EMBED_MODEL_DIR", &model).output().unwrap();
    assert!(stdout_of(&again).contains("queued 0 document(s)"), "{}", stdout_of(&again));
}

#[tokio::test]
async fn ingest_takes_folders_through_the_pipeline_and_lists_failures() {
    use tome_domain::knowledge::{DocumentFilter, DocumentStatus};
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join("reports/2026")).unwrap();
    std::fs::create_dir_all(docs.join(".git")).unwrap();
    std::fs::write(docs.join("handbook.md"), "# Handbook\n\n## Parking\n\nSpaces are on level two.").unwrap();
    std::fs::write(docs.join("reports/2026/q1.pdf"), tome_testkit::files::pdf(&[&["Revenue grew."], &["Costs fell."]]))
        .unwrap();
    std::fs::write(docs.join("reports/notes.txt"), "Plain notes about the offsite.").unwrap();
    std::fs::write(docs.join("reports/copy-of-handbook.md"), "# Handbook\n\n## Parking\n\nSpaces are on level two.")
        .unwrap();
    std::fs::write(docs.join("reports/broken.pdf"), b"%PDF-1.7\n garbage that is no PDF").unwrap();
    std::fs::write(docs.join("tool.bin"), [0u8, 1, 2, 3, 0xff, 0xfe]).unwrap();
    std::fs::write(docs.join(".git/config"), "[core]").unwrap();

    let nobody = tome(dir.path()).args(["ingest", "docs"]).output().unwrap();
    assert_fails_with_one_line(&nobody, "no active superadmin");

    // Two superadmins: the documents go to the oldest unless --user names another.
    for (email, username) in [("a@example.com", "admin"), ("b@example.com", "later")] {
        let mut child = tome(dir.path())
            .args(["user", "create", "--email", email, "--username", username, "--superadmin"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"correct horse battery staple\n").unwrap();
        assert!(child.wait_with_output().unwrap().status.success());
    }

    // Only Markdown, at any depth.
    let markdown = tome(dir.path()).args(["ingest", "docs", "--include", "*.md"]).output().unwrap();
    let text = stdout_of(&markdown);
    assert!(markdown.status.success(), "{text}{}", String::from_utf8_lossy(&markdown.stderr));
    assert!(text.contains("2 file(s): 1 processed, 1 already there, 0 failed"), "{text}");
    assert!(text.contains("no embedding model"), "{text}");

    // Everything else but the binary: the broken PDF is listed with its reason.
    let rest = tome(dir.path()).args(["ingest", "docs", "--exclude", "*.bin", "--exclude", "*.md"]).output().unwrap();
    let text = stdout_of(&rest);
    assert!(text.contains("3 file(s): 2 processed, 0 already there, 1 failed"), "{text}");
    assert!(text.contains("failed: docs/reports/broken.pdf: "), "{text}");
    assert_fails_with_one_line(&rest, "1 of 3 file(s) failed");

    let binary = tome(dir.path()).args(["ingest", "docs/tool.bin"]).output().unwrap();
    assert!(stdout_of(&binary).contains("which Tome cannot read; supported types: PDF"), "{}", stdout_of(&binary));
    assert_fails_with_one_line(&binary, "1 of 1 file(s) failed");

    let url = format!("sqlite://{}", dir.path().join("data/tome.db").display());
    let store = SqlStore::connect(&url, &StoreOptions::default()).await.unwrap();
    let tenant = store.default_tenant().await.unwrap().id;
    let all =
        store.list_documents(tenant, DocumentFilter::default(), tome_domain::PageRequest::default()).await.unwrap();
    let mut names: Vec<(String, DocumentStatus)> =
        all.items.iter().map(|d| (d.original_name.clone(), d.status)).collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        names,
        [
            ("broken.pdf".to_owned(), DocumentStatus::Error),
            ("handbook.md".to_owned(), DocumentStatus::Processed),
            ("notes.txt".to_owned(), DocumentStatus::Processed),
            ("q1.pdf".to_owned(), DocumentStatus::Processed),
        ],
        "hidden folders are skipped, duplicates and refused files leave no document"
    );
    let admin = store.find_user_by_login("admin").await.unwrap();
    assert!(
        all.items
            .iter()
            .all(|d| d.owner_id == Some(admin.id) && d.chunk_count >= d.status.eq(&DocumentStatus::Processed) as i32)
    );

    // With the model: vectors come with the chunks.
    std::fs::write(dir.path().join("extra.md"), "# Lunch\n\nLunch is served at noon in the atrium.").unwrap();
    let embedded = tome(dir.path())
        .args(["ingest", "extra.md", "--visibility", "private"])
        .env("TOME_EMBED_MODEL_DIR", tome_testkit::minilm_dir())
        .output()
        .unwrap();
    let text = stdout_of(&embedded);
    assert!(embedded.status.success(), "{text}{}", String::from_utf8_lossy(&embedded.stderr));
    assert!(text.contains("embedded with all-MiniLM-L6-v2"), "{text}");
    let filter = DocumentFilter { name_contains: Some("extra".into()), ..DocumentFilter::default() };
    let extra =
        store.list_documents(tenant, filter, tome_domain::PageRequest::default()).await.unwrap().items.remove(0);
    assert_eq!(extra.embedding_model.as_deref(), Some("all-MiniLM-L6-v2"));
    assert_eq!(extra.visibility, tome_domain::knowledge::Visibility::Private);

    let bad = tome(dir.path()).args(["ingest", "extra.md", "--visibility", "secret"]).output().unwrap();
    assert_fails_with_one_line(&bad, "--visibility must be `tenant` or `private`");
    let missing = tome(dir.path()).args(["ingest", "nowhere"]).output().unwrap();
    assert_fails_with_one_line(&missing, "cannot read nowhere");
}

/// A PDF that inflates to 300 MiB is read by a child capped at 128 MiB: the child dies, the
/// document ends in error with a sentence that says why, the next file is processed, and no
/// reader process is left behind.
#[tokio::test]
async fn a_decompression_bomb_costs_one_child_process_not_the_server() {
    use tome_domain::knowledge::{DocumentFilter, DocumentStatus};
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    let bomb = tome_testkit::files::pdf_bomb(300);
    assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());
    std::fs::write(docs.join("bomb.pdf"), bomb).unwrap();
    std::fs::write(docs.join("fine.pdf"), tome_testkit::files::pdf(&[&["Revenue grew."]])).unwrap();
    std::fs::write(
        docs.join("fine.docx"),
        tome_testkit::files::docx(&[(Some("Heading1"), "Security"), (None, "Lock your screen.")]),
    )
    .unwrap();
    let mut child = tome(dir.path())
        .args(["user", "create", "--email", "a@example.com", "--username", "admin", "--superadmin"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse battery staple\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    let run = tome(dir.path()).args(["ingest", "docs"]).env("TOME_EXTRACT_MEMORY_MB", "128").output().unwrap();
    let text = stdout_of(&run);
    assert!(text.contains("3 file(s): 2 processed, 0 already there, 1 failed"), "{text}");
    assert!(
        text.contains("failed: docs/bomb.pdf: Reading the file needed more than 128 MiB of memory"),
        "{text}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Readers started for this test's folder (other tests run theirs at the same time).
    let readers: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (std::fs::read_link(path.join("cwd")).ok()? == dir.path())
                .then_some(std::fs::read(path.join("cmdline")).ok()?)
        })
        .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
        .filter(|cmdline| cmdline.contains("extract-file"))
        .collect();
    assert!(readers.is_empty(), "reader processes left: {readers:?}");

    let url = format!("sqlite://{}", dir.path().join("data/tome.db").display());
    let store = SqlStore::connect(&url, &StoreOptions::default()).await.unwrap();
    let tenant = store.default_tenant().await.unwrap().id;
    let all =
        store.list_documents(tenant, DocumentFilter::default(), tome_domain::PageRequest::default()).await.unwrap();
    let bomb = all.items.iter().find(|d| d.original_name == "bomb.pdf").unwrap();
    assert_eq!(bomb.status, DocumentStatus::Error);
    assert!(bomb.error.as_deref().unwrap_or_default().contains("decompression bomb"), "{:?}", bomb.error);
    let fine = all.items.iter().filter(|d| d.status == DocumentStatus::Processed && d.chunk_count >= 1).count();
    assert_eq!(fine, 2, "{:?}", all.items);
}

/// Kills (SIGKILL) a `tome worker` in the middle of a document, starts another one, and
/// checks that the document ends processed once: one set of chunks, each with its vector,
/// the job done on its second attempt. On SQLite and on PostgreSQL.
#[tokio::test]
async fn a_worker_killed_mid_document_leaves_it_processed_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("data/tome.db").display());
    killed_worker_case(dir.path(), &sqlite).await;
    match tome_testkit::postgres_url() {
        Some(base_url) => {
            let dir = tempfile::tempdir().unwrap();
            killed_worker_case(dir.path(), &empty_postgres_database(&base_url).await).await;
        }
        None => assert!(tome_testkit::TestDb::postgres().await.is_none()),
    }
}

async fn killed_worker_case(dir: &Path, url: &str) {
    use tome_domain::documents::UploadOptions;
    use tome_domain::jobs::JobStatus;
    use tome_domain::knowledge::DocumentStatus;
    use tome_domain::repo::JobQueue;
    let migrate = tome(dir).arg("migrate").env("DATABASE_URL", url).output().unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let store = SqlStore::connect(url, &StoreOptions::default()).await.unwrap();
    let input = tome_domain::accounts::AccountInput {
        email: "a@example.com".into(),
        username: "admin".into(),
        name: None,
        password: "correct horse battery staple".into(),
        is_active: true,
        is_superadmin: true,
        tenant_id: None,
        role: "owner".into(),
    };
    tome_domain::accounts::create_account(&store, input).await.unwrap();
    let access = tome_domain::auth::operator_access(&store, Some("admin"), None).await.unwrap();
    let tenant = access.tenant_id;

    // About 40 chunks: several seconds of embedding, so the kill lands mid-document.
    let mut text = String::from("# Field guide\n\n");
    for i in 0..160 {
        text.push_str(&format!(
            "Paragraph {i}. The survey team records every bird species seen along transect {i}, with the time, \
             the weather, the habitat and the observer's confidence, before moving on to the next point.\n\n"
        ));
    }
    let files = tome_rag::storage::FileStore::open(None, &dir.join("data/files")).unwrap();
    let intake = tome_rag::intake::Intake::new(files, 100 << 20);
    let bytes: futures::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>> =
        Box::pin(futures::stream::iter([Ok(bytes::Bytes::from(text))]));
    let received = intake.receive(tenant, "field-guide.md", bytes).await.unwrap();
    let client = tome_domain::auth::ClientInfo::default();
    let registered = intake.register(&store, &access, vec![received], UploadOptions::default(), &client).await.unwrap();
    let document = registered[0].document.id;

    let worker = |dir: &Path| {
        tome(dir)
            .args(["worker", "--concurrency", "1"])
            .env("DATABASE_URL", url)
            .env("TOME_EMBED_MODEL_DIR", tome_testkit::minilm_dir())
            .env("TOME_JOB_LEASE_SECS", "3")
            .spawn()
            .unwrap()
    };
    let mut first = worker(dir);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = store.get_document(tenant, document).await.unwrap();
        if current.status == DocumentStatus::Processing {
            break;
        }
        assert_ne!(current.status, DocumentStatus::Processed, "the document was processed before the kill");
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the worker exited with {status}: {}", stderr_of(&mut first));
        }
        assert!(Instant::now() < deadline, "the worker never started the document");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    Command::new("kill").args(["-KILL", &first.id().to_string()]).status().unwrap();
    first.wait().unwrap();
    let killed = store.get_document(tenant, document).await.unwrap();
    assert_eq!(killed.status, DocumentStatus::Processing, "killed mid-document");
    assert_eq!(killed.chunk_count, 0, "no chunk is visible before the document is done");
    let page = tome_domain::PageRequest::default();
    assert!(store.list_chunks(tenant, document, page).await.unwrap().items.is_empty());

    // Another worker takes the job over once the dead one's lease has run out.
    let second = worker(dir);
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let current = store.get_document(tenant, document).await.unwrap();
        if current.status != DocumentStatus::Processing && current.status != DocumentStatus::Uploaded {
            break current;
        }
        assert!(Instant::now() < deadline, "the document was not taken over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (clean, stderr) = terminate(second);
    assert!(clean, "{stderr}");
    assert_eq!(done.status, DocumentStatus::Processed, "{:?}", done.error);
    assert_eq!(done.embedding_model.as_deref(), Some("all-MiniLM-L6-v2"));
    let chunks = store.list_chunks(tenant, document, tome_domain::PageRequest::first(200)).await.unwrap().items;
    assert!(chunks.len() >= 20, "{} chunks", chunks.len());
    assert_eq!(chunks.len() as i32, done.chunk_count, "one set of chunks, no duplicates");
    assert_eq!(chunks.iter().map(|c| c.ordinal).collect::<Vec<_>>(), (0..chunks.len() as i32).collect::<Vec<_>>());
    assert!(chunks.iter().all(|c| c.embedding_model.as_deref() == Some("all-MiniLM-L6-v2")));
    let jobs = store.list_jobs(None, tome_domain::PageRequest::default()).await.unwrap().items;
    let ingest: Vec<_> = jobs.iter().filter(|j| j.kind == "document.ingest").collect();
    assert_eq!(ingest.len(), 1);
    assert_eq!((ingest[0].status, ingest[0].attempts), (JobStatus::Succeeded, 2), "{:?}", ingest[0]);
}

/// A small BEIR-layout dataset: each query is about one document, by words or by meaning.
fn tiny_beir(dir: &Path) {
    let corpus = [
        ("d1", "Photosynthesis", "Plants turn sunlight, water and carbon dioxide into glucose and oxygen."),
        ("d2", "Mitochondria", "The mitochondrion produces most of the cell's chemical energy as ATP."),
        ("d3", "Volcanoes", "Magma rises through the crust and erupts as lava and ash."),
        ("d4", "Glaciers", "Compacted snow forms slowly moving rivers of ice that carve valleys."),
        ("d5", "Tides", "The moon's gravity pulls the oceans, raising and lowering sea level twice a day."),
    ];
    let mut lines = String::new();
    for (id, title, text) in corpus {
        lines.push_str(&serde_json::json!({"_id": id, "title": title, "text": text}).to_string());
        lines.push('\n');
    }
    std::fs::write(dir.join("corpus.jsonl"), lines).unwrap();
    let queries = [
        ("q1", "how do plants make glucose from sunlight"),
        ("q2", "which organelle produces ATP energy"),
        ("q3", "lava eruption from magma"),
        ("q4", "why does the sea level rise and fall every day"),
        ("q9", "a query without judgements is skipped"),
    ];
    let mut lines = String::new();
    for (id, text) in queries {
        lines.push_str(&serde_json::json!({"_id": id, "text": text}).to_string());
        lines.push('\n');
    }
    std::fs::write(dir.join("queries.jsonl"), lines).unwrap();
    std::fs::create_dir_all(dir.join("qrels")).unwrap();
    std::fs::write(
        dir.join("qrels/test.tsv"),
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\nq4\td5\t1\n",
    )
    .unwrap();
}

#[test]
fn eval_scores_every_mode_on_a_beir_dataset() {
    let dir = tempfile::tempdir().unwrap();
    tiny_beir(dir.path());
    let output = tome(dir.path())
        .args(["eval", ".", "--json"])
        .env("TOME_EMBED_MODEL_DIR", tome_testkit::minilm_dir())
        .output()
        .unwrap();
    let text = stdout_of(&output);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!((report["documents"].as_u64(), report["queries"].as_u64()), (Some(5), Some(4)));
    for mode in ["keyword", "semantic", "hybrid", "hybrid_convex"] {
        let scores = &report["modes"][mode];
        let ndcg = scores["ndcg@10"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&ndcg), "{mode}: {scores}");
        assert_eq!(scores["recall@100"].as_f64(), Some(1.0), "{mode} finds every relevant document: {scores}");
        let latency = &report["latency_ms"][mode];
        assert!(latency["p50"].as_f64().unwrap() > 0.0 && latency["p99"].as_f64() >= latency["p50"].as_f64());
    }
    // Each query names its document by words or by meaning: the semantic and hybrid rankings
    // put it first; keyword search misses where no word is shared.
    assert_eq!(report["modes"]["semantic"]["mrr@10"].as_f64(), Some(1.0), "{report}");
    assert_eq!(report["modes"]["hybrid"]["mrr@10"].as_f64(), Some(1.0), "{report}");
    assert_eq!(report["embedding_model"], "all-MiniLM-L6-v2");

    // Without a model only keyword search is scored, and the table form is printed.
    let table = tome(dir.path()).args(["eval", "."]).output().unwrap();
    let text = stdout_of(&table);
    assert!(table.status.success(), "{text}");
    assert!(text.contains("only keyword search is evaluated") && text.contains("keyword "), "{text}");
    assert!(!text.contains("semantic"), "{text}");

    let missing = tome(dir.path()).args(["eval", "nowhere"]).output().unwrap();
    assert_fails_with_one_line(&missing, "nowhere/corpus.jsonl");
}

#[test]
fn transcribe_saves_transcripts_and_minutes_and_lists_failures() {
    let dir = tempfile::tempdir().unwrap();
    let spoken =
        "We decided to move the product launch to the second week of May. Alice will send the budget report by Friday.";
    tome_testkit::speech::speak(&spoken.replace(". ", ". <break time=\"1s\"/> "), &dir.path().join("hiring.wav"));
    std::fs::write(dir.path().join("notes.wav"), b"not a recording at all").unwrap();
    // Without a model, one line says which setting is missing.
    let output = tome(dir.path()).args(["transcribe", "hiring.wav"]).output().unwrap();
    assert_fails_with_one_line(&output, "TOME_WHISPER_MODEL_DIR");
    let output = tome(dir.path())
        .env("TOME_WHISPER_MODEL_DIR", tome_testkit::speech::whisper_dir())
        .args(["transcribe", "hiring.wav", "notes.wav", "--out", "minutes"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("failed: notes.wav: "), "{stderr}");
    assert!(stderr.contains("1 of 2 recording(s) could not be transcribed"), "{stderr}");
    let transcript = std::fs::read_to_string(dir.path().join("minutes/hiring.transcript.md")).unwrap();
    assert!(transcript.starts_with("# Transcript: hiring.wav"), "{transcript}");
    let said: String = transcript.lines().filter(|l| l.starts_with("[00:00:")).collect::<Vec<_>>().join(" ");
    let heard: String = said.split("] ").skip(1).collect::<Vec<_>>().join(" ");
    let error_rate = tome_testkit::speech::wer(spoken, &heard);
    assert!(error_rate < 0.25, "WER {error_rate}: {transcript}");
    let minutes = std::fs::read_to_string(dir.path().join("minutes/hiring.minutes.md")).unwrap();
    assert!(minutes.contains("## Decisions\n\n- We decided to move the product launch"), "{minutes}");
    assert!(minutes.contains("**Alice** (due friday)"), "{minutes}");
}
