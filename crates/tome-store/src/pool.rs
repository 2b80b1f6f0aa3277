//! Connecting, migrating and running `Sql` on either backend.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Connection, FromRow, Row};
use tome_domain::repo::{Readiness, StoreAdmin};
use tome_domain::{DomainError, DomainResult};

use crate::error;
use crate::sql::Sql;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the store could not be opened; shown to the operator as one line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: expected sqlite:… or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("cannot apply migrations: {0}")]
    Migrate(String),
    #[error("cannot seed the database: {0}")]
    Seed(String),
}

/// Pool sizing and timeouts.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 10, acquire_timeout: Duration::from_secs(5) }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The one store; cheap to clone (it holds a pool).
#[derive(Clone, Debug)]
pub struct SqlStore {
    pub(crate) pool: Pool,
    pub(crate) scope: Scope,
    /// Retrieval state shared by every scoped copy: the in-process vector indexes (SQLite)
    /// and which HNSW indexes exist (PostgreSQL).
    pub(crate) search: std::sync::Arc<crate::search::SearchState>,
    /// Whether statements are prepared under names the connection keeps: not behind a
    /// transaction-mode pooler, which hands each transaction to any server connection (the
    /// URL says so with `statement-cache-capacity=0`).
    pub(crate) named_statements: bool,
}

/// Whose rows a store may see on PostgreSQL (the `tome.tenant_id` setting that the
/// row-level security policies read; see migration 0003).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every tenant's: authentication, tenant administration, workers, seeding.
    Platform,
    /// One tenant's: a request in that tenant.
    Tenant(tome_domain::TenantId),
}

/// Runs `$body` once per backend with `$pool` bound to that backend's pool and `$Db` to its
/// sqlx database type, so that one piece of code serves both.
macro_rules! on_backend {
    ($store:expr, |$pool:ident, $Db:ident| $body:expr) => {
        match &$store.pool {
            $crate::pool::Pool::Sqlite($pool) => {
                #[allow(dead_code)]
                type $Db = sqlx::Sqlite;
                $body
            }
            $crate::pool::Pool::Postgres($pool) => {
                #[allow(dead_code)]
                type $Db = sqlx::Postgres;
                $body
            }
        }
    };
}

pub(crate) use on_backend;

/// Like `on_backend!`, with `$conn` a connection in the store's scope, for a body that runs
/// one statement on it. On PostgreSQL that is a transaction whose first round trip sets the
/// scope for that transaction only (`SqlStore::begin_statement`), committed after the body:
/// behind a transaction-mode pooler (PgBouncer) the scope and the statement share one server
/// connection, and nothing of the scope outlives them. SQLite has no scope: a plain connection.
macro_rules! on_scoped_connection {
    ($store:expr, |$conn:ident, $Db:ident| $body:expr) => {{
        let begin = match $store.backend_kind() {
            $crate::pool::Backend::Sqlite => None,
            $crate::pool::Backend::Postgres => Some($store.begin_statement()),
        };
        on_backend!($store, |pool, $Db| async {
            match begin {
                None => {
                    let mut $conn = pool.acquire().await?;
                    $body
                }
                Some(begin) => {
                    let mut $conn = pool.begin_with(begin).await?;
                    let value = $body?;
                    $conn.commit().await?;
                    Ok(value)
                }
            }
        }
        .await)
    }};
}

/// A row type both backends can decode.
pub(crate) trait Record: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> Record for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

impl SqlStore {
    /// Opens (creating a SQLite file if needed) without migrating.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let connect_error = |error: sqlx::Error| StoreError::Connect(error.to_string());
        let mut index_dir = None;
        let pool = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url).map_err(connect_error)?;
            let file = connect.get_filename();
            if file != std::path::Path::new(":memory:") && !file.as_os_str().is_empty() {
                index_dir = file.parent().map(|folder| folder.join("index"));
            }
            let connect = connect
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(connect_error)?;
            Pool::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url).map_err(connect_error)?;
            // One direct connection first: the pool would retry until its acquire timeout
            // and then report only "timed out", hiding the cause (refused, bad password, …).
            let probe = PgConnection::connect_with(&connect)
                .await
                .map_err(|error| StoreError::Connect(format!("{}: {error}", tome_config::redact_url(url))))?;
            // A failed goodbye on a connection that worked is of no consequence.
            let _ = probe.close().await;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(connect_error)?;
            Pool::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(tome_config::redact_url(url)));
        };
        let search = std::sync::Arc::new(crate::search::SearchState::new(index_dir));
        let named_statements = !url.split_once('?').is_some_and(|(_, query)| {
            query.split('&').any(|pair| pair.replace(' ', "") == "statement-cache-capacity=0")
        });
        Ok(Self { pool, scope: Scope::Platform, search, named_statements })
    }

    /// The same pool confined to `tenant` (see `Scope`).
    pub fn scoped(&self, tenant: tome_domain::TenantId) -> Self {
        Self { scope: Scope::Tenant(tenant), ..self.clone() }
    }

    /// The statement that opens a transaction of this store: SQLite's `BEGIN IMMEDIATE` (it
    /// waits for the write lock up front instead of failing half-way); on PostgreSQL `BEGIN`
    /// and the store's scope as a transaction-local setting (`set_config(…, true)`), in one
    /// round trip. The scope ends with the transaction, so a connection handed back to the
    /// pool (or to PgBouncer) carries none, and a statement run without one sees no tenant
    /// rows at all (migration 0003). The value is a UUID or `*`: nothing to escape.
    pub(crate) fn begin_statement(&self) -> String {
        match (&self.pool, self.scope) {
            (Pool::Sqlite(_), _) => "BEGIN IMMEDIATE".to_owned(),
            (Pool::Postgres(_), scope) => {
                let value = match scope {
                    Scope::Platform => "*".to_owned(),
                    Scope::Tenant(tenant) => tenant.to_string(),
                };
                format!("BEGIN; SELECT set_config('tome.tenant_id', '{value}', true)")
            }
        }
    }

    /// Counts a table's rows with no condition at all: what a query that forgot its tenant
    /// filter would see. Row-level security is what keeps it to the scope's tenant.
    pub async fn count_unfiltered(&self, table: &str) -> DomainResult<i64> {
        if !crate::TABLES.contains(&table) {
            return Err(DomainError::invalid("table", "not a table of the data model"));
        }
        let count: Count = self.one("row", Sql::new(format!("SELECT COUNT(*) AS n FROM {table}"))).await?;
        Ok(count.n)
    }

    /// Opens, migrates and seeds: what `tome serve` does at start.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let store = Self::connect(url, options).await?;
        store.migrate().await?;
        store.seed().await.map_err(|error| StoreError::Seed(error.to_string()))?;
        Ok(store)
    }

    pub fn backend_kind(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// `column` written so that the planner uses it only as a filter. SQLite plans without
    /// statistics and may pick `tenant_id`'s index over a far more selective condition
    /// (walking every chunk of the tenant); a unary `+` rules the index out there.
    /// PostgreSQL plans by statistics (and has no unary `+` for uuid).
    pub(crate) fn filter_only(&self, column: &str) -> String {
        match self.backend_kind() {
            Backend::Sqlite => format!("+{column}"),
            Backend::Postgres => column.to_owned(),
        }
    }

    fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies pending migrations; returns how many there were.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        // On a new database the migrations table does not exist yet: nothing was applied.
        let before = self.applied_migration().await.unwrap_or(None);
        let migrate_error = |error: sqlx::migrate::MigrateError| StoreError::Migrate(error.to_string());
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await.map_err(migrate_error)?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await.map_err(migrate_error)?,
        }
        Ok(self.migrator().iter().filter(|migration| before.is_none_or(|applied| migration.version > applied)).count())
    }

    /// The newest migration version that the code carries.
    pub fn latest_known_migration(&self) -> Option<i64> {
        self.migrator().iter().map(|migration| migration.version).max()
    }

    async fn applied_migration(&self) -> Result<Option<i64>, sqlx::Error> {
        let sql = "SELECT MAX(version) AS version FROM _sqlx_migrations WHERE success";
        on_backend!(self, |pool, Db| {
            let row = sqlx::query(sql).persistent(false).fetch_one(pool).await?;
            row.try_get::<Option<i64>, _>("version")
        })
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(pool) => pool.close().await,
            Pool::Postgres(pool) => pool.close().await,
        }
    }

    pub(crate) async fn one<T: Record>(&self, what: &'static str, sql: Sql) -> DomainResult<T> {
        on_scoped_connection!(self, |connection, Db| sql
            .build::<Db>()
            .build_query_as::<T>()
            .persistent(self.named_statements)
            .fetch_one(&mut *connection)
            .await)
        .map_err(error::map(what))
    }

    pub(crate) async fn optional<T: Record>(&self, what: &'static str, sql: Sql) -> DomainResult<Option<T>> {
        on_scoped_connection!(self, |connection, Db| sql
            .build::<Db>()
            .build_query_as::<T>()
            .persistent(self.named_statements)
            .fetch_optional(&mut *connection)
            .await)
        .map_err(error::map(what))
    }

    pub(crate) async fn all<T: Record>(&self, what: &'static str, sql: Sql) -> DomainResult<Vec<T>> {
        on_scoped_connection!(self, |connection, Db| sql
            .build::<Db>()
            .build_query_as::<T>()
            .persistent(self.named_statements)
            .fetch_all(&mut *connection)
            .await)
        .map_err(error::map(what))
    }

    /// Like `all`, with settings (`SET LOCAL …`, for this statement's transaction) made first.
    pub(crate) async fn all_with_settings<T: Record>(
        &self,
        what: &'static str,
        settings: &[&str],
        sql: Sql,
    ) -> DomainResult<Vec<T>> {
        on_scoped_connection!(self, |connection, Db| {
            for setting in settings {
                sqlx::query(setting).execute(&mut *connection).await?;
            }
            sql.build::<Db>().build_query_as::<T>().persistent(self.named_statements).fetch_all(&mut *connection).await
        })
        .map_err(error::map(what))
    }

    /// Runs a statement; returns the rows affected.
    pub(crate) async fn exec(&self, what: &'static str, sql: Sql) -> DomainResult<u64> {
        on_scoped_connection!(self, |connection, Db| sql
            .build::<Db>()
            .build()
            .persistent(self.named_statements)
            .execute(&mut *connection)
            .await
            .map(|done| done.rows_affected()))
        .map_err(error::map(what))
    }

    /// Like `exec`, but zero rows affected is `NotFound`.
    pub(crate) async fn exec_one(&self, what: &'static str, sql: Sql) -> DomainResult<()> {
        match self.exec(what, sql).await? {
            0 => Err(DomainError::NotFound(what)),
            _ => Ok(()),
        }
    }

    /// Runs statements in one transaction (`begin_statement`); returns each one's rows affected.
    pub(crate) async fn transaction(&self, what: &'static str, statements: Vec<Sql>) -> DomainResult<Vec<u64>> {
        self.transaction_checked(what, statements, false).await
    }

    /// Like `transaction`, but every statement must change a row: otherwise nothing is kept
    /// and the answer is `Conflict` (the rows changed since the caller read them).
    pub(crate) async fn transaction_all(&self, what: &'static str, statements: Vec<Sql>) -> DomainResult<()> {
        self.transaction_checked(what, statements, true).await.map(|_| ())
    }

    async fn transaction_checked(
        &self,
        what: &'static str,
        statements: Vec<Sql>,
        every_one: bool,
    ) -> DomainResult<Vec<u64>> {
        let result: Result<Option<Vec<u64>>, sqlx::Error> = on_backend!(self, |pool, Db| {
            async {
                let mut tx = pool.begin_with(self.begin_statement()).await?;
                let mut affected = Vec::with_capacity(statements.len());
                for statement in statements {
                    let mut query = statement.build::<Db>();
                    let rows = query.build().persistent(self.named_statements).execute(&mut *tx).await?.rows_affected();
                    if every_one && rows == 0 {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    affected.push(rows);
                }
                tx.commit().await?;
                Ok(Some(affected))
            }
            .await
        });
        result.map_err(error::map(what))?.ok_or_else(|| DomainError::Conflict(format!("the {what} changed meanwhile")))
    }
}

#[async_trait]
impl StoreAdmin for SqlStore {
    fn backend(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    async fn readiness(&self) -> Readiness {
        let ping: Result<(), sqlx::Error> =
            on_backend!(self, |pool, Db| sqlx::query("SELECT 1").persistent(false).execute(pool).await.map(|_| ()));
        if ping.is_err() {
            return Readiness { reachable: false, migrations_applied: false, latest_migration: None };
        }
        // Reachable but without a readable migrations table means "not migrated": that is
        // exactly what readiness reports, so the error itself is not needed here.
        let applied = self.applied_migration().await.ok().flatten();
        Readiness {
            reachable: true,
            migrations_applied: applied.is_some() && applied == self.latest_known_migration(),
            latest_migration: applied,
        }
    }

    async fn seed(&self) -> DomainResult<()> {
        crate::seed::seed(self).await
    }

    fn for_tenant(&self, tenant: tome_domain::TenantId) -> std::sync::Arc<dyn tome_domain::repo::Store> {
        std::sync::Arc::new(self.scoped(tenant))
    }

    fn pool_state(&self) -> (u32, u32) {
        match &self.pool {
            Pool::Sqlite(pool) => (pool.size(), pool.num_idle() as u32),
            Pool::Postgres(pool) => (pool.size(), pool.num_idle() as u32),
        }
    }
}

impl SqlStore {
    /// Runs a list query (which must already hold a `WHERE`), newest first after the cursor.
    pub(crate) async fn page_of<T: Record>(
        &self,
        what: &'static str,
        sql: Sql,
        page: tome_domain::PageRequest,
        id_of: impl Fn(&T) -> uuid::Uuid,
    ) -> DomainResult<tome_domain::Page<T>> {
        let rows = self.all(what, sql.page(page)).await?;
        Ok(tome_domain::Page::from_rows(rows, page, id_of))
    }

    /// `NotFound(what)` unless a row with this id exists in the tenant: guards references
    /// from one tenant's row to another's.
    pub(crate) async fn ensure_in_tenant(
        &self,
        what: &'static str,
        table: &str,
        tenant: tome_domain::TenantId,
        id: Option<uuid::Uuid>,
    ) -> DomainResult<()> {
        let Some(id) = id else { return Ok(()) };
        let sql = Sql::new(format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND id = ")
            .bind(id);
        let count: Count = self.one(what, sql).await?;
        if count.n == 0 { Err(DomainError::NotFound(what)) } else { Ok(()) }
    }
}

/// A `SELECT COUNT(*) AS n` row.
#[derive(sqlx::FromRow)]
pub(crate) struct Count {
    pub n: i64,
}

/// A single-column `name` row.
#[derive(sqlx::FromRow)]
pub(crate) struct Name {
    pub name: String,
}

/// A short fingerprint of a backend's migrations (versions and checksums): test support
/// names its migrated template database after it, so that a changed schema gets a new one.
pub fn migrations_fingerprint(backend: Backend) -> String {
    let migrator = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    let bytes: Vec<u8> = migrator
        .iter()
        .flat_map(|migration| migration.version.to_le_bytes().into_iter().chain(migration.checksum.iter().copied()))
        .collect();
    format!("{:016x}", fnv1a(&bytes))
}

/// FNV-1a: a short name for some bytes, stable across runs and platforms.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

impl SqlStore {
    /// The names of the tables in the database (excluding the engine's own), sorted.
    pub async fn table_names(&self) -> tome_domain::DomainResult<Vec<String>> {
        let sql = match self.backend_kind() {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            }
            Backend::Postgres => {
                "SELECT CAST(table_name AS text) AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY name"
            }
        };
        let names: Vec<Name> = self.all("table", Sql::new(sql)).await?;
        Ok(names.into_iter().map(|n| n.name).collect())
    }
}
