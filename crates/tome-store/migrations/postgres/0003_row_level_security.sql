-- Tenant isolation, the second time: besides every query's own `tenant_id` filter,
-- row-level security hides other tenants' rows. The application puts each connection in a
-- scope before every statement (tome_store::SqlStore::scope_statement):
--   tome.tenant_id = '<uuid>'  a request in that tenant: only its rows (and built-in roles)
--   tome.tenant_id = '*'       platform work (authentication, tenant administration, workers)
--   unset or ''                nothing: a connection that did not say is denied, not trusted.
-- FORCE applies the policies to the tables' owner too (the application's role owns them).
-- memberships and api_keys are read across tenants while authenticating, before a tenant
-- is known, and jobs belong to the workers: their queries alone guard them.

CREATE FUNCTION tome_tenant_visible(row_tenant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE coalesce(current_setting('tome.tenant_id', true), '')
        WHEN '*' THEN true
        WHEN '' THEN false
        ELSE row_tenant = current_setting('tome.tenant_id', true)::uuid
    END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['user_roles', 'folders', 'projects', 'social_links', 'objects', 'documents',
        'document_chunks', 'personas', 'conversations', 'messages', 'feedback', 'transcription_jobs', 'audit_log']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tome_tenant_visible(tenant_id)) '
            'WITH CHECK (tome_tenant_visible(tenant_id))', t);
    END LOOP;
END
$$;

-- Built-in roles (tenant NULL) are everyone's to read; only the platform writes them.
ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON roles
    USING (tenant_id IS NULL OR tome_tenant_visible(tenant_id))
    WITH CHECK (tome_tenant_visible(tenant_id));
