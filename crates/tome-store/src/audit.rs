//! The audit log's hash chain: appending links an entry to the last one of its tenant's
//! chain inside one transaction that holds the chain's lock (SQLite: the write lock of
//! `BEGIN IMMEDIATE`; PostgreSQL: a transaction-scoped advisory lock per chain), so two
//! concurrent appends can never claim the same position.

use tome_domain::audit::{self, Chained};
use tome_domain::knowledge::{AuditEntry, AuditFilter, NewAuditEntry};
use tome_domain::{AuditEntryId, DomainResult, TenantId, now};

use crate::pool::on_backend;
use crate::sql::{Sql, values};
use crate::{Backend, SqlStore, error};

pub(crate) const AUDIT: &str = "id, tenant_id, actor_id, action, target_type, target_id, summary, changes, ip, \
user_agent, created_at, seq, prev_hash, hash, actor_ref";

/// One statement of a change written with its audit entry.
pub(crate) struct Change {
    pub sql: Sql,
    /// The error to answer (and roll back with) when the statement touches no row.
    pub unless_none: Option<tome_domain::DomainError>,
}

impl Change {
    /// A statement whose row count does not matter.
    pub fn any(sql: Sql) -> Self {
        Self { sql, unless_none: None }
    }

    /// A statement that must touch a row, else `refusal`.
    pub fn one(sql: Sql, refusal: tome_domain::DomainError) -> Self {
        Self { sql, unless_none: Some(refusal) }
    }
}

#[derive(sqlx::FromRow)]
struct Link {
    seq: i64,
    hash: String,
}

/// `coalesce(tenant_id, <none>) = coalesce($tenant, <none>)`: one condition for a tenant's
/// chain and the platform's (tenant NULL), matching the chain index.
fn same_chain(backend: Backend, tenant: Option<TenantId>) -> Sql {
    let none = match backend {
        Backend::Sqlite => "x''",
        Backend::Postgres => "'00000000-0000-0000-0000-000000000000'::uuid",
    };
    Sql::new(format!("coalesce(tenant_id, {none}) = coalesce(")).bind(tenant).push(format!(", {none})"))
}

impl SqlStore {
    pub(crate) async fn append_chained(
        &self,
        tenant: Option<TenantId>,
        entry: NewAuditEntry,
    ) -> DomainResult<AuditEntry> {
        self.append_chained_after(tenant, entry, Vec::new(), "audit entry").await
    }

    /// Runs `changes` and then appends `entry`, all in one transaction: the audit line is
    /// written exactly when the change is. A change whose statement must touch a row and
    /// touches none rolls everything back with its error.
    pub(crate) async fn append_chained_after(
        &self,
        tenant: Option<TenantId>,
        entry: NewAuditEntry,
        changes: Vec<Change>,
        what: &'static str,
    ) -> DomainResult<AuditEntry> {
        self.write_changes(tenant, Some(entry), changes, what)
            .await?
            .ok_or_else(|| tome_domain::DomainError::internal("an audit entry was not written"))
    }

    /// Runs `changes` and then, if given, appends `entry`, all in one transaction.
    pub(crate) async fn write_changes(
        &self,
        tenant: Option<TenantId>,
        entry: Option<NewAuditEntry>,
        changes: Vec<Change>,
        what: &'static str,
    ) -> DomainResult<Option<AuditEntry>> {
        let backend = self.backend_kind();
        let created_at = now();
        let last = Sql::new("SELECT seq, hash FROM audit_log WHERE ")
            .push_sql(same_chain(backend, tenant))
            .push(" AND seq IS NOT NULL ORDER BY seq DESC LIMIT 1");
        let result: Result<DomainResult<Option<AuditEntry>>, sqlx::Error> = on_backend!(self, |pool, Db| {
            async {
                let mut tx = pool.begin_with(self.begin_statement()).await?;
                for change in changes {
                    let mut query = change.sql.build::<Db>();
                    let rows = query.build().persistent(self.named_statements).execute(&mut *tx).await?.rows_affected();
                    if rows == 0
                        && let Some(refusal) = change.unless_none
                    {
                        tx.rollback().await?;
                        return Ok(Err(refusal));
                    }
                }
                let Some(entry) = entry else {
                    tx.commit().await?;
                    return Ok(Ok(None));
                };
                if backend == Backend::Postgres {
                    let key = tenant.map_or_else(|| "platform".to_owned(), |t| t.to_string());
                    let lock = Sql::new("SELECT pg_advisory_xact_lock(hashtextextended(")
                        .bind(format!("tome.audit:{key}"))
                        .push(", 0))");
                    lock.build::<Db>().build().persistent(self.named_statements).execute(&mut *tx).await?;
                }
                let last: Option<Link> = last
                    .build::<Db>()
                    .build_query_as()
                    .persistent(self.named_statements)
                    .fetch_optional(&mut *tx)
                    .await?;
                let (seq, prev_hash) = last.map_or((1, audit::GENESIS.to_owned()), |link| (link.seq + 1, link.hash));
                let time = audit::chain_time(created_at);
                let hash = audit::entry_hash(
                    &prev_hash,
                    &Chained { tenant_id: tenant, seq, entry: &entry, created_at: &time },
                );
                let values = values![
                    "id" => AuditEntryId::new(), "tenant_id" => tenant, "actor_id" => entry.actor_id,
                    "action" => entry.action, "target_type" => entry.target_type, "target_id" => entry.target_id,
                    "summary" => entry.summary, "changes" => entry.changes, "ip" => entry.ip,
                    "user_agent" => entry.user_agent, "created_at" => created_at, "seq" => seq,
                    "prev_hash" => prev_hash, "hash" => hash, "actor_ref" => entry.actor_id,
                ];
                let row: AuditEntry = Sql::insert("audit_log", values, AUDIT)
                    .build::<Db>()
                    .build_query_as()
                    .persistent(self.named_statements)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Ok(Some(row)))
            }
            .await
        });
        result.map_err(error::map(what))?
    }

    pub(crate) async fn chain_page(
        &self,
        tenant: Option<TenantId>,
        after_seq: i64,
        limit: i64,
    ) -> DomainResult<Vec<AuditEntry>> {
        let sql = Sql::new(format!("SELECT {AUDIT} FROM audit_log WHERE "))
            .push_sql(same_chain(self.backend_kind(), tenant))
            .push(" AND seq > ")
            .bind(after_seq)
            .push(" ORDER BY seq LIMIT ")
            .bind(limit);
        self.all("audit entry", sql).await
    }
}

/// The conditions of an audit list after its tenant condition.
pub(crate) fn filtered(sql: Sql, filter: AuditFilter) -> Sql {
    let sql = sql
        .and_eq("action", filter.action)
        .and_eq("actor_id", filter.actor_id)
        .and_eq("target_type", filter.target_type)
        .and_eq("target_id", filter.target_id);
    let sql = match filter.since {
        Some(since) => sql.push(" AND created_at >= ").bind(since),
        None => sql,
    };
    match filter.until {
        Some(until) => sql.push(" AND created_at < ").bind(until),
        None => sql,
    }
}
