-- A persona's name is unique among its owner's personas (shared ones: among the shared ones),
-- not across the tenant: a 409 on creation must not reveal another person's private persona.
-- SQLite cannot drop a table's UNIQUE constraint, so the table is rebuilt. Migrations run in
-- a transaction, where foreign keys cannot be switched off: dropping the old table sets
-- conversations.persona_id to NULL (ON DELETE SET NULL), so the links are kept aside first
-- and put back after.
CREATE TEMP TABLE persona_links AS SELECT id, persona_id FROM conversations WHERE persona_id IS NOT NULL;
CREATE TABLE personas_rebuilt (
    id                  BLOB PRIMARY KEY,
    tenant_id           BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner_id            BLOB REFERENCES users (id) ON DELETE CASCADE,
    name                TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    display_name        TEXT NOT NULL CHECK (length(display_name) BETWEEN 1 AND 255),
    description         TEXT,
    system_prompt       TEXT NOT NULL DEFAULT '',
    model               TEXT,
    default_temperature REAL NOT NULL DEFAULT 0.7 CHECK (default_temperature BETWEEN 0 AND 2),
    max_tokens          INTEGER NOT NULL DEFAULT 1024 CHECK (max_tokens BETWEEN 1 AND 1000000),
    is_active           INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
) STRICT;
INSERT INTO personas_rebuilt (id, tenant_id, owner_id, name, display_name, description, system_prompt,
                              model, default_temperature, max_tokens, is_active, created_at, updated_at)
    SELECT id, tenant_id, owner_id, name, display_name, description, system_prompt,
           model, default_temperature, max_tokens, is_active, created_at, updated_at
    FROM personas;
DROP TABLE personas;
ALTER TABLE personas_rebuilt RENAME TO personas;
CREATE INDEX personas_owner_idx ON personas (owner_id);
CREATE UNIQUE INDEX personas_shared_name ON personas (tenant_id, name) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX personas_private_name ON personas (tenant_id, owner_id, name) WHERE owner_id IS NOT NULL;
UPDATE conversations
    SET persona_id = (SELECT links.persona_id FROM persona_links AS links WHERE links.id = conversations.id)
    WHERE id IN (SELECT id FROM persona_links);
DROP TABLE persona_links;
