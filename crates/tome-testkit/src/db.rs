//! Fresh databases: a new SQLite file per test, or a new PostgreSQL database cloned from a
//! template that was migrated and seeded once.

use std::path::PathBuf;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tempfile::TempDir;
use tome_store::{Backend, SqlStore, StoreOptions, migrations_fingerprint};

/// A migrated, seeded database that lives as long as this value.
pub struct TestDb {
    pub store: SqlStore,
    pub url: String,
    pub backend: Backend,
    /// The SQLite file's folder (also usable as a data folder).
    pub dir: TempDir,
}

/// The PostgreSQL URL of the ordinary `tome` role, if a test server is running.
pub fn postgres_url() -> Option<String> {
    env_or_file("TOME_TEST_POSTGRES_URL")
}

/// The superuser URL of the test server (for setup the app itself must not be able to do).
pub fn postgres_admin_url() -> Option<String> {
    env_or_file("TOME_TEST_POSTGRES_ADMIN_URL")
}

fn env_or_file(key: &str) -> Option<String> {
    if let Ok(value) = std::env::var(key) {
        return Some(value);
    }
    let home = std::env::var("TOME_PG_HOME").unwrap_or_else(|_| "/tmp/tome-pg".into());
    let text = std::fs::read_to_string(PathBuf::from(home).join("env")).ok()?;
    text.lines().find_map(|line| line.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

/// The URL of a database through the test PgBouncer (transaction mode; `scripts/pg start`).
pub fn pooler_url(db: &TestDb) -> Option<String> {
    let base = env_or_file("TOME_TEST_PGBOUNCER_URL")?;
    let name = db.url.split('?').next()?.rsplit('/').next()?;
    Some(format!("{base}/{name}"))
}

/// `SELECT COUNT(*)` of a table on a new connection that sets no tenant scope at all.
pub async fn count_unscoped(url: &str, table: &str) -> i64 {
    let mut connection = PgConnection::connect(url).await.expect("connect");
    let sql = format!("SELECT COUNT(*) FROM {table}");
    // The simple protocol: one round trip, whichever server connection a pooler picks.
    let rows = sqlx::raw_sql(&sql).fetch_all(&mut connection).await.expect("count");
    connection.close().await.ok();
    rows.first().map(|row| sqlx::Row::get::<i64, _>(row, 0)).expect("a count")
}

/// Whether a missing PostgreSQL may be skipped (never in CI).
fn may_skip_postgres() -> bool {
    std::env::var("TOME_TEST_POSTGRES").is_ok_and(|v| v == "skip") && std::env::var("CI").is_err()
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite://{}", dir.path().join("tome.db").display());
        let store = SqlStore::open(&url, &StoreOptions::default()).await.expect("open SQLite");
        Self { store, url, backend: Backend::Sqlite, dir }
    }

    /// A fresh PostgreSQL database, or None when PostgreSQL is explicitly skipped.
    pub async fn postgres() -> Option<Self> {
        let Some(base_url) = postgres_url() else {
            if may_skip_postgres() {
                eprintln!(
                    "\n*** SKIPPED: PostgreSQL is not running (TOME_TEST_POSTGRES=skip); this test did NOT run on PostgreSQL ***\n"
                );
                return None;
            }
            panic!(
                "PostgreSQL is not available: run `scripts/pg start` (or the test script), or set TOME_TEST_POSTGRES=skip to skip loudly"
            );
        };
        let template = ensure_template(&base_url).await;
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&base_url).await.expect("connect to PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = with_database(&base_url, &name);
        let store = SqlStore::connect(&url, &StoreOptions::default()).await.expect("connect test database");
        Some(Self { store, url, backend: Backend::Postgres, dir: tempfile::tempdir().expect("temporary folder") })
    }

    /// Either backend by name.
    pub async fn of(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::Postgres => Self::postgres().await,
        }
    }
}

impl TestDb {
    /// Runs raw SQL on a connection of its own, as the application's database role: what
    /// someone with the application's credentials could do behind its back.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let mut connection = sqlx::SqliteConnection::connect(&self.url).await?;
                sqlx::raw_sql(sql).execute(&mut connection).await.map(|done| done.rows_affected())
            }
            Backend::Postgres => {
                let mut connection = PgConnection::connect(&self.url).await?;
                // Platform scope: row-level security would otherwise hide every row.
                sqlx::query("SELECT set_config('tome.tenant_id', '*', false)").execute(&mut connection).await?;
                sqlx::raw_sql(sql).execute(&mut connection).await.map(|done| done.rows_affected())
            }
        }
    }

    /// PostgreSQL: how many rows of `table` belong to `tenant` (None: to no tenant), counted
    /// in the platform scope, with the tenant filter in the query.
    pub async fn count_rows(&self, table: &str, tenant: Option<tome_domain::TenantId>) -> i64 {
        assert_eq!(self.backend, Backend::Postgres, "count_rows reads PostgreSQL");
        let mut connection = PgConnection::connect(&self.url).await.expect("connect");
        let condition = tenant.map_or_else(|| "tenant_id IS NULL".to_owned(), |t| format!("tenant_id = '{t}'"));
        let sql =
            format!("SELECT set_config('tome.tenant_id', '*', false); SELECT COUNT(*) FROM {table} WHERE {condition}");
        let rows = sqlx::raw_sql(&sql).fetch_all(&mut connection).await.expect("count");
        connection.close().await.ok();
        rows.last().map(|row| sqlx::Row::get::<i64, _>(row, 0)).expect("a count")
    }

    /// PostgreSQL: runs `sql` on the test database as the server's superuser (what only an
    /// operator could do, such as marking an index invalid as a crashed build leaves it).
    pub async fn execute_as_superuser(&self, sql: &str) {
        let admin = postgres_admin_url().expect("the superuser URL of the test server");
        let name = self.url.split('?').next().and_then(|url| url.rsplit('/').next()).expect("a database name");
        let mut connection = PgConnection::connect(&with_database(&admin, name)).await.expect("connect as superuser");
        sqlx::raw_sql(sql).execute(&mut connection).await.expect("superuser statement");
        connection.close().await.ok();
    }

    /// Rewrites one audit entry's summary past the append-only trigger, as an attacker with
    /// the database's keys could.
    pub async fn tamper_audit_entry(&self, id: &str, summary: &str) {
        let id = uuid::Uuid::parse_str(id).expect("entry id");
        let sql = match self.backend {
            Backend::Sqlite => format!(
                "DROP TRIGGER audit_log_append_only; UPDATE audit_log SET summary = '{summary}' WHERE hex(id) = '{}'",
                id.simple().to_string().to_uppercase()
            ),
            Backend::Postgres => format!(
                "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; \
                 UPDATE audit_log SET summary = '{summary}' WHERE id = '{id}'; \
                 ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"
            ),
        };
        self.execute_raw(&sql).await.expect("tamper with the audit log");
    }
}

/// Replaces the database name at the end of a PostgreSQL URL.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// Creates (once, under an advisory lock shared by every test process) a database migrated
/// and seeded with the current migrations, and returns its name.
async fn ensure_template(base_url: &str) -> String {
    let name = format!("tome_tpl_{}", migrations_fingerprint(Backend::Postgres));
    let mut admin = PgConnection::connect(base_url).await.expect("connect to PostgreSQL");
    sqlx::query("SELECT pg_advisory_lock(7316001)").execute(&mut admin).await.expect("advisory lock");
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .expect("look up template");
    if !exists {
        let building = format!("{name}_building");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {building}")).execute(&mut admin).await.expect("drop");
        sqlx::query(&format!("CREATE DATABASE {building}")).execute(&mut admin).await.expect("create template");
        let store = SqlStore::open(&with_database(base_url, &building), &StoreOptions::default())
            .await
            .expect("migrate template");
        // Closing the pool is bounded, and whatever sessions remain on the template (a
        // connection still closing, one the pool was opening) are ended: PostgreSQL refuses
        // to rename a database that has sessions (55006).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), store.close()).await;
        let rename = format!("ALTER DATABASE {building} RENAME TO {name}");
        let terminate =
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()";
        let mut attempts = 0;
        loop {
            sqlx::query(terminate).bind(&building).execute(&mut admin).await.expect("end template sessions");
            match sqlx::query(&rename).execute(&mut admin).await {
                Ok(_) => break,
                Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("55006") && attempts < 100 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(error) => panic!("publish template: {error}"),
            }
        }
    }
    sqlx::query("SELECT pg_advisory_unlock(7316001)").execute(&mut admin).await.expect("unlock");
    admin.close().await.ok();
    name
}
