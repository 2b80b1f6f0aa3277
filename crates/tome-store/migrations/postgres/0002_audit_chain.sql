-- The audit log becomes a hash chain per tenant (tenant NULL: the platform's chain).
-- seq numbers a chain's entries from 1; hash = sha256(prev_hash || canonical entry), computed
-- by the application (tome_domain::audit). actor_ref keeps the actor's id even after the user
-- is deleted (actor_id is then set NULL by its foreign key), so the chain still verifies.
ALTER TABLE audit_log
    ADD COLUMN seq bigint,
    ADD COLUMN prev_hash text,
    ADD COLUMN hash text,
    ADD COLUMN actor_ref uuid;
CREATE UNIQUE INDEX audit_log_chain_idx
    ON audit_log (coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), seq) WHERE seq IS NOT NULL;
CREATE INDEX audit_log_tenant_time_idx ON audit_log (tenant_id, created_at);

-- Entries are append-only: no column that the chain covers may change.
CREATE FUNCTION tome_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only
BEFORE UPDATE OF tenant_id, action, target_type, target_id, summary, changes, ip, user_agent, created_at,
                 seq, prev_hash, hash, actor_ref
ON audit_log
FOR EACH ROW EXECUTE FUNCTION tome_audit_append_only();
