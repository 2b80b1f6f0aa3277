//! The audit log: one helper that records a tenant write, and the hash chain that makes the
//! log tamper-evident. Each tenant's entries (and the platform's, tenant NULL) form a chain:
//! entry n stores `hash = sha256(prev_hash ‖ canonical(entry))` with `prev_hash` the hash of
//! entry n−1, so changing, deleting or reordering any entry breaks every later link.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::access::Access;
use crate::auth::ClientInfo;
use crate::knowledge::{AuditEntry, AuditFilter, NewAuditEntry};
use crate::repo::Store;
use crate::{DomainError, DomainResult, Page, PageRequest, TenantId, UserId};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Appends an entry about a write by `access` in its tenant.
pub async fn record(
    store: &dyn Store,
    access: &Access,
    action: &str,
    target: (&str, String),
    summary: String,
    changes: Value,
    client: &ClientInfo,
) -> DomainResult<()> {
    record_as(store, access.tenant_id, Some(access.user_id), action, target, summary, changes, client).await
}

/// Appends an entry about a write in `tenant` by `actor` (None: Tome itself), for work
/// done outside a request (background jobs finishing what a user asked for).
#[allow(clippy::too_many_arguments)]
pub async fn record_as(
    store: &dyn Store,
    tenant: TenantId,
    actor: Option<UserId>,
    action: &str,
    target: (&str, String),
    summary: String,
    changes: Value,
    client: &ClientInfo,
) -> DomainResult<()> {
    store.append_audit(Some(tenant), entry(actor, action, target, summary, changes, client)).await.map(|_| ())
}

/// An entry to write with the change it records (`Store::write_unit`).
pub fn entry(
    actor: Option<UserId>,
    action: &str,
    target: (&str, String),
    summary: String,
    changes: Value,
    client: &ClientInfo,
) -> NewAuditEntry {
    let changes = if changes.is_null() { json!({}) } else { changes };
    NewAuditEntry::new(actor, action, (target.0, Some(target.1)), summary, client).with_changes(changes)
}

/// The tenant's audit log, newest first (permission `audit.read`).
pub async fn list(
    store: &dyn Store,
    access: &Access,
    filter: AuditFilter,
    page: PageRequest,
) -> DomainResult<Page<AuditEntry>> {
    access.require("audit.read")?;
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && since >= until
    {
        return Err(DomainError::invalid("until", "must be later than `since`"));
    }
    store.list_audit(access.tenant_id, filter, page).await
}

/// The platform's entries (no tenant: logins, registrations, account changes), newest
/// first: superadmins, logged in.
pub async fn list_platform(
    store: &dyn Store,
    principal: &crate::auth::Principal,
    filter: AuditFilter,
    page: PageRequest,
) -> DomainResult<Page<AuditEntry>> {
    crate::tenancy::require_superadmin(principal)?;
    store.list_platform_audit(filter, page).await
}

/// Checks the platform's chain: superadmins, logged in.
pub async fn verify_platform(store: &dyn Store, principal: &crate::auth::Principal) -> DomainResult<ChainReport> {
    crate::tenancy::require_superadmin(principal)?;
    verify(store, None).await
}

/// Checks the chain of the request's tenant (permission `audit.read`).
pub async fn verify_tenant(store: &dyn Store, access: &Access) -> DomainResult<ChainReport> {
    access.require("audit.read")?;
    verify(store, Some(access.tenant_id)).await
}

/// Checks a whole chain (tenant None: the platform's), a page at a time.
pub async fn verify(store: &dyn Store, tenant: Option<TenantId>) -> DomainResult<ChainReport> {
    const PAGE: i64 = 1000;
    let mut walk = ChainWalk::default();
    loop {
        let entries = store.audit_chain(tenant, walk.last_seq(), PAGE).await?;
        let full = entries.len() as i64 == PAGE;
        if !walk.feed(entries) || !full {
            return Ok(walk.finish());
        }
    }
}

/// The fields of an entry that its hash covers.
pub struct Chained<'a> {
    pub tenant_id: Option<TenantId>,
    pub seq: i64,
    pub entry: &'a NewAuditEntry,
    pub created_at: &'a str,
}

/// `sha256(prev_hash ‖ canonical JSON of the entry)`, lower-case hex.
pub fn entry_hash(prev_hash: &str, fields: &Chained<'_>) -> String {
    let e = fields.entry;
    let body = json!([
        fields.tenant_id,
        fields.seq,
        e.actor_id,
        e.action,
        e.target_type,
        e.target_id,
        e.summary,
        e.changes,
        e.ip,
        e.user_agent,
        fields.created_at,
    ]);
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical(&body).as_bytes());
    hasher.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// JSON with object keys sorted at every level, so that a value read back from either
/// database (PostgreSQL's `jsonb` reorders keys) hashes as it did when written.
pub fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|key| format!("{}:{}", Value::String(key.clone()), canonical(&map[key])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// The time format the chain hashes (fixed width, microseconds, UTC).
pub fn chain_time(at: crate::Timestamp) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// What checking a chain found.
#[derive(Clone, Debug, PartialEq)]
pub struct ChainReport {
    /// Entries checked.
    pub entries: u64,
    /// The hash of the last entry: record it elsewhere to detect truncation later.
    pub head: Option<String>,
    /// The first entry that does not match, and why.
    pub broken: Option<(AuditEntry, String)>,
}

impl ChainReport {
    pub fn valid(&self) -> bool {
        self.broken.is_none()
    }
}

/// Checks a chain page by page, in order, recomputing every link: `next` resumes a walk.
#[derive(Debug)]
pub struct ChainWalk {
    report: ChainReport,
    expected_seq: i64,
    prev: String,
}

impl Default for ChainWalk {
    fn default() -> Self {
        Self { report: ChainReport { entries: 0, head: None, broken: None }, expected_seq: 1, prev: GENESIS.to_owned() }
    }
}

impl ChainWalk {
    /// The sequence number after which the next page starts.
    pub fn last_seq(&self) -> i64 {
        self.expected_seq - 1
    }

    /// Checks the next entries; false once the chain is found broken.
    pub fn feed(&mut self, entries: impl IntoIterator<Item = AuditEntry>) -> bool {
        for entry in entries {
            if let Some(reason) = self.problem(&entry) {
                self.report.broken = Some((entry, reason));
                return false;
            }
            self.report.entries += 1;
            self.prev = entry.hash.unwrap_or_default();
            self.expected_seq += 1;
        }
        true
    }

    pub fn finish(mut self) -> ChainReport {
        self.report.head = (self.report.entries > 0).then_some(self.prev);
        self.report
    }

    fn problem(&self, entry: &AuditEntry) -> Option<String> {
        let expected_seq = self.expected_seq;
        let (Some(seq), Some(hash), Some(prev_hash)) = (entry.seq, entry.hash.clone(), entry.prev_hash.clone()) else {
            return Some("it is not part of the chain".to_owned());
        };
        if seq != expected_seq {
            Some(format!("expected entry {expected_seq} of the chain, found {seq} (an entry is missing)"))
        } else if prev_hash != self.prev {
            Some("its link to the previous entry does not match".to_owned())
        } else {
            let new = NewAuditEntry {
                actor_id: entry.actor_ref,
                action: entry.action.clone(),
                target_type: entry.target_type.clone(),
                target_id: entry.target_id.clone(),
                summary: entry.summary.clone(),
                changes: entry.changes.clone(),
                ip: entry.ip.clone(),
                user_agent: entry.user_agent.clone(),
            };
            let created_at = chain_time(entry.created_at);
            let fields = Chained { tenant_id: entry.tenant_id, seq, entry: &new, created_at: &created_at };
            (entry_hash(&prev_hash, &fields) != hash).then(|| "its content does not match its hash".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": 1, "a": {"d": [1, {"z": 1, "y": 2}], "c": "x"}});
        assert_eq!(canonical(&value), r#"{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}"#);
    }

    #[test]
    fn a_changed_field_changes_the_hash() {
        let client = ClientInfo::default();
        let entry = NewAuditEntry::new(None, "role.create", ("role", None), "created", &client);
        let fields = Chained { tenant_id: None, seq: 1, entry: &entry, created_at: "t" };
        let first = entry_hash(GENESIS, &fields);
        let changed = NewAuditEntry { summary: Some("created!".into()), ..entry.clone() };
        let fields = Chained { entry: &changed, ..fields };
        assert_ne!(first, entry_hash(GENESIS, &fields));
        assert_eq!(first.len(), 64);
    }
}
