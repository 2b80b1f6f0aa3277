-- Every model call's tokens, whatever asked for it (a conversation, the OpenAI-compatible
-- API, a title, meeting minutes), for the per-tenant daily token quota. Row-level security like every
-- tenant-owned table.
CREATE TABLE token_usage (
    id            uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    model         text NOT NULL CHECK (length(model) BETWEEN 1 AND 255),
    source        text NOT NULL CHECK (source IN ('chat', 'api', 'title', 'minutes')),
    input_tokens  bigint NOT NULL CHECK (input_tokens >= 0),
    output_tokens bigint NOT NULL CHECK (output_tokens >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX token_usage_tenant_time_idx ON token_usage (tenant_id, created_at);
ALTER TABLE token_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE token_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON token_usage USING (tome_tenant_visible(tenant_id))
    WITH CHECK (tome_tenant_visible(tenant_id));
