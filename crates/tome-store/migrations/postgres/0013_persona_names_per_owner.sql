-- A persona's name is unique among its owner's personas (shared ones: among the shared ones),
-- not across the tenant: a 409 on creation must not reveal another person's private persona.
ALTER TABLE personas DROP CONSTRAINT personas_tenant_id_name_key;
CREATE UNIQUE INDEX personas_shared_name ON personas (tenant_id, name) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX personas_private_name ON personas (tenant_id, owner_id, name) WHERE owner_id IS NOT NULL;
