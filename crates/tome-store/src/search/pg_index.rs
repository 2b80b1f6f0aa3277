//! PostgreSQL's vector indexes: one partial HNSW index per (embedding model, dimensions),
//! built with `CREATE INDEX CONCURRENTLY` so that writes and searches go on meanwhile. They
//! are made by `tome migrate`, `tome reindex` and the start of `tome serve`
//! (`ensure_vector_indexes`), and in the background when a model's first vectors arrive;
//! never on a request's path. A search before its index exists is exact, only slower.

use tome_domain::DomainResult;

use super::quoted;
use sqlx::{Connection, Executor, PgConnection};

use crate::pool::Pool;
use crate::sql::Sql;
use crate::{Backend, SqlStore};

#[derive(sqlx::FromRow)]
struct Model {
    model: String,
}

#[derive(sqlx::FromRow)]
struct Dimensions {
    dims: i32,
}

/// The index's name: stable for a (model, dimensions) pair, whatever characters the model has.
fn index_name(model: &str, dims: usize) -> String {
    format!("document_chunks_hnsw_{:016x}", crate::pool::fnv1a(format!("{model}\u{0}{dims}").as_bytes()))
}

impl SqlStore {
    /// PostgreSQL: builds the HNSW index of every embedding model that has vectors and lacks
    /// a valid index (an interrupted concurrent build leaves an invalid one: it is dropped and
    /// built again). Returns the names of the indexes built; nothing on SQLite.
    pub async fn ensure_vector_indexes(&self) -> DomainResult<Vec<String>> {
        if self.backend_kind() != Backend::Postgres {
            return Ok(Vec::new());
        }
        let models: Vec<Model> = self
            .all(
                "document",
                Sql::new(
                    "SELECT DISTINCT embedding_model AS model FROM documents WHERE embedding_model IS NOT NULL \
                     ORDER BY model",
                ),
            )
            .await?;
        let mut built = Vec::new();
        for Model { model } in models {
            let sql = Sql::new("SELECT vector_dims(embedding) AS dims FROM document_chunks WHERE embedding_model = ")
                .bind(&model)
                .push(" AND embedding IS NOT NULL LIMIT 1");
            let Some(Dimensions { dims }) = self.optional("chunk", sql).await? else { continue };
            let dims = usize::try_from(dims).unwrap_or_default();
            if let Some(name) = self.build_vector_index(&model, dims, true).await? {
                built.push(name);
            }
            self.mark_vector_index(&model, dims);
        }
        Ok(built)
    }

    /// PostgreSQL: after vectors of `model` were written, starts building its index in the
    /// background unless this process already made sure of it.
    pub(crate) fn vector_index_in_background(&self, model: &str, dims: usize) {
        if self.backend_kind() != Backend::Postgres || !self.mark_vector_index(model, dims) {
            return;
        }
        let store = self.clone();
        let model = model.to_owned();
        tokio::spawn(async move {
            if let Err(error) = store.build_vector_index(&model, dims, false).await {
                tracing::warn!(%error, model, "cannot build the vector index; searching without it");
                if let Ok(mut ready) = store.search.hnsw_ready.lock() {
                    ready.remove(&index_name(&model, dims));
                }
            }
        });
    }

    /// Notes that the index of (model, dims) is made or being made; false if it already was.
    fn mark_vector_index(&self, model: &str, dims: usize) -> bool {
        self.search.hnsw_ready.lock().map(|mut ready| ready.insert(index_name(model, dims))).unwrap_or(false)
    }

    /// Builds one model's index unless a valid one exists; its name when it built one. One
    /// builder at a time across every node: a session advisory lock on a connection of its
    /// own (closed afterwards, which releases the lock whatever happened). With `wait`, a
    /// caller that finds another build running waits for it; without, it leaves it be. An
    /// invalid index found while holding the lock is a build that was interrupted: dropped.
    async fn build_vector_index(&self, model: &str, dims: usize, wait: bool) -> DomainResult<Option<String>> {
        let Pool::Postgres(pool) = &self.pool else { return Ok(None) };
        let name = index_name(model, dims);
        let map = crate::error::map("index");
        let mut connection = pool.acquire().await.map_err(&map)?.detach();
        let built = build_locked(&mut connection, &name, model, dims, wait).await;
        // Closing the connection releases the lock; a failed goodbye releases it too.
        let _ = connection.close().await;
        let built = built.map_err(&map)?;
        if let Some(name) = &built {
            tracing::info!(model, dims, index = name, "vector index built");
        }
        Ok(built)
    }
}

/// `build_vector_index` on its own connection: lock, look, drop an interrupted build, build.
async fn build_locked(
    connection: &mut PgConnection,
    name: &str,
    model: &str,
    dims: usize,
    wait: bool,
) -> Result<Option<String>, sqlx::Error> {
    let key = i64::from_le_bytes(crate::pool::fnv1a(name.as_bytes()).to_le_bytes());
    let locked = if wait {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut *connection).await?;
        true
    } else {
        sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)").bind(key).fetch_one(&mut *connection).await?
    };
    if !locked {
        return Ok(None);
    }
    let valid: Option<bool> = sqlx::query_scalar(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = $1",
    )
    .bind(name)
    .fetch_optional(&mut *connection)
    .await?;
    match valid {
        Some(true) => return Ok(None),
        Some(false) => {
            let drop = format!("DROP INDEX CONCURRENTLY {name}");
            connection.execute(drop.as_str()).await?;
        }
        None => {}
    }
    let create = format!(
        "CREATE INDEX CONCURRENTLY {name} ON document_chunks \
         USING hnsw ((embedding::vector({dims})) vector_cosine_ops) WHERE embedding_model = {}",
        quoted(model)
    );
    connection.execute(create.as_str()).await?;
    Ok(Some(name.to_owned()))
}
