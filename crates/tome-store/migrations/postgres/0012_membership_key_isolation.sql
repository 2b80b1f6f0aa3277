-- Row-level security on memberships and api_keys too (migration 0003 left them to their
-- queries). Authentication reads them across tenants in the platform scope ('*'), which the
-- policy lets through; a request in a tenant sees only that tenant's memberships and keys.
-- The scope is a transaction-local setting made with every statement's BEGIN
-- (tome_store::SqlStore::begin_statement), so that it holds behind a transaction-mode pooler.
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships USING (tome_tenant_visible(tenant_id))
    WITH CHECK (tome_tenant_visible(tenant_id));

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys USING (tome_tenant_visible(tenant_id))
    WITH CHECK (tome_tenant_visible(tenant_id));
