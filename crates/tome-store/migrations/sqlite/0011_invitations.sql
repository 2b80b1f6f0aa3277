-- Hardening of membership: a tenant administrator suspends a membership (never the account,
-- which is the platform's), and an existing account joins a tenant only by accepting an
-- invitation sent to its address.
ALTER TABLE memberships ADD COLUMN suspended_at TEXT;

CREATE TABLE invitations (
    id          BLOB PRIMARY KEY,
    tenant_id   BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email       TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    roles       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(roles) AND json_type(roles) = 'array'),
    token_hash  TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    invited_by  BLOB REFERENCES users (id) ON DELETE SET NULL,
    expires_at  TEXT NOT NULL,
    accepted_at TEXT,
    accepted_by BLOB REFERENCES users (id) ON DELETE SET NULL,
    revoked_at  TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE INDEX invitations_tenant_idx ON invitations (tenant_id, id);
