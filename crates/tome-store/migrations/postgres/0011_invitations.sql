-- Hardening of membership: a tenant administrator suspends a membership (never the account,
-- which is the platform's), and an existing account joins a tenant only by accepting an
-- invitation sent to its address.
ALTER TABLE memberships ADD COLUMN suspended_at timestamptz;

CREATE TABLE invitations (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email       text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    roles       jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(roles) = 'array'),
    token_hash  text NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    invited_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invitations_tenant_idx ON invitations (tenant_id, id);

-- Looked up by token before a tenant is known (accepting), like api_keys: platform scope.
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations USING (tome_tenant_visible(tenant_id))
    WITH CHECK (tome_tenant_visible(tenant_id));
