-- Every model call's tokens, whatever asked for it (a conversation, the OpenAI-compatible
-- API, a title, meeting minutes), for the per-tenant daily token quota.
CREATE TABLE token_usage (
    id            BLOB PRIMARY KEY,
    tenant_id     BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id       BLOB REFERENCES users (id) ON DELETE SET NULL,
    model         TEXT NOT NULL CHECK (length(model) BETWEEN 1 AND 255),
    source        TEXT NOT NULL CHECK (source IN ('chat', 'api', 'title', 'minutes')),
    input_tokens  INTEGER NOT NULL CHECK (input_tokens >= 0),
    output_tokens INTEGER NOT NULL CHECK (output_tokens >= 0),
    created_at    TEXT NOT NULL
) STRICT;
CREATE INDEX token_usage_tenant_time_idx ON token_usage (tenant_id, created_at);
