-- The audit log becomes a hash chain per tenant (tenant NULL: the platform's chain).
-- seq numbers a chain's entries from 1; hash = sha256(prev_hash || canonical entry), computed
-- by the application (tome_domain::audit). actor_ref keeps the actor's id even after the user
-- is deleted (actor_id is then set NULL by its foreign key), so the chain still verifies.
ALTER TABLE audit_log ADD COLUMN seq INTEGER;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
ALTER TABLE audit_log ADD COLUMN actor_ref BLOB;
CREATE UNIQUE INDEX audit_log_chain_idx ON audit_log (coalesce(tenant_id, x''), seq) WHERE seq IS NOT NULL;
CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, created_at);

-- Entries are append-only: no column that the chain covers may change.
CREATE TRIGGER audit_log_append_only
BEFORE UPDATE OF tenant_id, action, target_type, target_id, summary, changes, ip, user_agent, created_at,
                 seq, prev_hash, hash, actor_ref
ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
