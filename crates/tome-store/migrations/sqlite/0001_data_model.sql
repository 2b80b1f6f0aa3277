-- Tome's data model on SQLite (see DESIGN.md): the same tables, columns and constraints as
-- migrations/postgres/0001, in SQLite's types. UUIDs are 16-byte BLOBs, times RFC 3339
-- TEXT in UTC, JSON TEXT checked by json_valid, booleans 0/1. Append-only.

-- Identity and access ------------------------------------------------------------------

CREATE TABLE tenants (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug        TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 63 AND slug NOT GLOB '*[^a-z0-9-]*'
                AND slug NOT GLOB '-*' AND slug NOT GLOB '*-' AND slug NOT GLOB '*--*'),
    description TEXT,
    is_default  INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX tenants_one_default ON tenants (is_default) WHERE is_default = 1;

CREATE TABLE users (
    id                BLOB PRIMARY KEY,
    email             TEXT NOT NULL CHECK (length(email) <= 254 AND email LIKE '%_@_%'),
    username          TEXT NOT NULL CHECK (length(username) BETWEEN 3 AND 30 AND username NOT GLOB '*[^a-z0-9._-]*'),
    name              TEXT CHECK (length(name) <= 200),
    password_hash     TEXT NOT NULL,
    password_salt     TEXT,
    is_active         INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    is_superadmin     INTEGER NOT NULL DEFAULT 0 CHECK (is_superadmin IN (0, 1)),
    avatar            BLOB CHECK (length(avatar) <= 524288),
    avatar_mime_type  TEXT,
    avatar_updated_at TEXT,
    profile           TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(profile)),
    last_login_at     TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_is_superadmin_idx ON users (is_superadmin) WHERE is_superadmin = 1;

CREATE TABLE memberships (
    id         BLOB PRIMARY KEY,
    tenant_id  BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, user_id)
) STRICT;
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE roles (
    id          BLOB PRIMARY KEY,
    tenant_id   BLOB REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    description TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (tenant_id, name)
) STRICT;
CREATE UNIQUE INDEX roles_builtin_name_key ON roles (name) WHERE tenant_id IS NULL;

CREATE TABLE permissions (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

CREATE TABLE role_permissions (
    role_id       BLOB NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id BLOB NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (role_id, permission_id)
) STRICT;

CREATE TABLE user_roles (
    id          BLOB PRIMARY KEY,
    tenant_id   BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id     BLOB NOT NULL REFERENCES roles (id) ON DELETE RESTRICT,
    assigned_by BLOB REFERENCES users (id) ON DELETE SET NULL,
    assigned_at TEXT NOT NULL,
    UNIQUE (user_id, role_id, tenant_id)
) STRICT;
CREATE INDEX user_roles_tenant_user_idx ON user_roles (tenant_id, user_id);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);

CREATE TABLE auth_sessions (
    id                 BLOB PRIMARY KEY,
    user_id            BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_token_hash TEXT NOT NULL UNIQUE,
    expires_at         TEXT NOT NULL,
    last_used_at       TEXT,
    revoked_at         TEXT,
    user_agent         TEXT,
    ip                 TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) STRICT;
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expires_idx ON auth_sessions (expires_at);

CREATE TABLE password_reset_tokens (
    id         BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

CREATE TABLE api_keys (
    id           BLOB PRIMARY KEY,
    tenant_id    BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       TEXT NOT NULL UNIQUE,
    key_hash     TEXT NOT NULL UNIQUE,
    permissions  TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(permissions) AND json_type(permissions) = 'array'),
    last_used_at TEXT,
    expires_at   TEXT,
    revoked_at   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX api_keys_tenant_user_idx ON api_keys (tenant_id, user_id);

CREATE TABLE user_settings (
    user_id    BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    settings   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings) AND json_type(settings) = 'object'),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Organization -------------------------------------------------------------------------

CREATE TABLE folders (
    id         BLOB PRIMARY KEY,
    tenant_id  BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    parent_id  BLOB REFERENCES folders (id) ON DELETE CASCADE,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255 AND instr(name, '/') = 0),
    path       TEXT NOT NULL,
    created_by BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (parent_id IS NULL OR parent_id <> id),
    UNIQUE (tenant_id, path)
) STRICT;
CREATE INDEX folders_tenant_parent_idx ON folders (tenant_id, parent_id);

CREATE TABLE projects (
    id               BLOB PRIMARY KEY,
    tenant_id        BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    folder_id        BLOB REFERENCES folders (id) ON DELETE SET NULL,
    name             TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description      TEXT,
    icon             TEXT,
    created_by       BLOB REFERENCES users (id) ON DELETE SET NULL,
    last_modified_by BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;
CREATE INDEX projects_tenant_idx ON projects (tenant_id);
CREATE INDEX projects_folder_idx ON projects (folder_id);

CREATE TABLE social_links (
    id         BLOB PRIMARY KEY,
    tenant_id  BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url        TEXT NOT NULL CHECK (url GLOB 'http://?*' OR url GLOB 'https://?*'),
    platform   TEXT NOT NULL CHECK (platform IN ('twitter', 'facebook', 'linkedin', 'instagram', 'youtube')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX social_links_tenant_idx ON social_links (tenant_id);

CREATE TABLE objects (
    id         BLOB PRIMARY KEY,
    tenant_id  BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('openscad')),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    source     TEXT NOT NULL,
    created_by BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX objects_tenant_idx ON objects (tenant_id);

-- Knowledge ----------------------------------------------------------------------------

CREATE TABLE documents (
    id             BLOB PRIMARY KEY,
    tenant_id      BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner_id       BLOB REFERENCES users (id) ON DELETE SET NULL,
    project_id     BLOB REFERENCES projects (id) ON DELETE SET NULL,
    visibility     TEXT NOT NULL DEFAULT 'tenant' CHECK (visibility IN ('tenant', 'private')),
    original_name  TEXT NOT NULL CHECK (length(original_name) BETWEEN 1 AND 1024),
    storage_key    TEXT NOT NULL,
    mime_type      TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL CHECK (size_bytes >= 0),
    sha256         TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    document_type  TEXT NOT NULL DEFAULT 'general_document'
                   CHECK (document_type IN ('general_document', 'full_transcript', 'meeting_minutes')),
    status         TEXT NOT NULL DEFAULT 'uploaded' CHECK (status IN ('uploaded', 'processing', 'processed', 'error')),
    error          TEXT,
    chunk_count    INTEGER NOT NULL DEFAULT 0 CHECK (chunk_count >= 0),
    progress_done  INTEGER NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
    progress_total INTEGER NOT NULL DEFAULT 0 CHECK (progress_total >= 0),
    processed_at   TEXT,
    deleted_at     TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX documents_tenant_idx ON documents (tenant_id, id) WHERE deleted_at IS NULL;
CREATE INDEX documents_tenant_sha_idx ON documents (tenant_id, sha256);
CREATE INDEX documents_owner_idx ON documents (owner_id);
CREATE INDEX documents_project_idx ON documents (project_id);
CREATE INDEX documents_status_idx ON documents (tenant_id, status);

CREATE TABLE document_chunks (
    id              BLOB PRIMARY KEY,
    tenant_id       BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    document_id     BLOB NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal         INTEGER NOT NULL CHECK (ordinal >= 0),
    content         TEXT NOT NULL,
    token_count     INTEGER NOT NULL CHECK (token_count >= 0),
    metadata        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    -- Little-endian f32 values; length / 4 is the dimension.
    embedding       BLOB CHECK (embedding IS NULL OR length(embedding) % 4 = 0),
    embedding_model TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (document_id, ordinal)
) STRICT;
CREATE INDEX document_chunks_document_idx ON document_chunks (document_id);
CREATE INDEX document_chunks_tenant_idx ON document_chunks (tenant_id);

CREATE TABLE audit_log (
    id          BLOB PRIMARY KEY,
    tenant_id   BLOB REFERENCES tenants (id) ON DELETE CASCADE,
    actor_id    BLOB REFERENCES users (id) ON DELETE SET NULL,
    action      TEXT NOT NULL CHECK (action GLOB '?*.?*' AND action NOT GLOB '*[^a-z_.]*'),
    target_type TEXT NOT NULL,
    target_id   TEXT,
    summary     TEXT,
    changes     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(changes)),
    ip          TEXT,
    user_agent  TEXT,
    created_at  TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id);

-- Chat ---------------------------------------------------------------------------------

CREATE TABLE personas (
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
    updated_at          TEXT NOT NULL,
    UNIQUE (tenant_id, name)
) STRICT;
CREATE INDEX personas_owner_idx ON personas (owner_id);

CREATE TABLE conversations (
    id         BLOB PRIMARY KEY,
    tenant_id  BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id BLOB REFERENCES projects (id) ON DELETE SET NULL,
    persona_id BLOB REFERENCES personas (id) ON DELETE SET NULL,
    title      TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 255),
    model      TEXT,
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'deleted')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
CREATE INDEX conversations_user_idx ON conversations (tenant_id, user_id, updated_at DESC);
CREATE INDEX conversations_updated_idx ON conversations (updated_at DESC);
CREATE INDEX conversations_project_idx ON conversations (project_id);
CREATE INDEX conversations_status_idx ON conversations (status);

CREATE TABLE messages (
    id                BLOB PRIMARY KEY,
    tenant_id         BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    conversation_id   BLOB NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author_id         BLOB REFERENCES users (id) ON DELETE SET NULL,
    parent_id         BLOB REFERENCES messages (id) ON DELETE SET NULL,
    role              TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content           TEXT NOT NULL CHECK (role <> 'user' OR length(content) <= 10000),
    source_references TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(source_references) AND json_type(source_references) = 'array'),
    tool_calls        TEXT CHECK (tool_calls IS NULL OR json_valid(tool_calls)),
    tool_outputs      TEXT CHECK (tool_outputs IS NULL OR json_valid(tool_outputs)),
    object_id         BLOB REFERENCES objects (id) ON DELETE SET NULL,
    model             TEXT,
    input_tokens      INTEGER CHECK (input_tokens >= 0),
    output_tokens     INTEGER CHECK (output_tokens >= 0),
    error             TEXT,
    metadata          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at);
CREATE INDEX messages_created_idx ON messages (created_at);
CREATE INDEX messages_parent_idx ON messages (parent_id);
CREATE INDEX messages_tenant_idx ON messages (tenant_id);

CREATE TABLE feedback (
    id         BLOB PRIMARY KEY,
    tenant_id  BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message_id BLOB NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating     INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    TEXT,
    correction TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (message_id, user_id)
) STRICT;
CREATE INDEX feedback_tenant_idx ON feedback (tenant_id);

-- Audio --------------------------------------------------------------------------------

CREATE TABLE transcription_jobs (
    id                     BLOB PRIMARY KEY,
    tenant_id              BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id                BLOB REFERENCES users (id) ON DELETE SET NULL,
    audio_key              TEXT NOT NULL,
    original_name          TEXT NOT NULL CHECK (length(original_name) BETWEEN 1 AND 1024),
    mime_type              TEXT,
    size_bytes             INTEGER NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    duration_seconds       REAL CHECK (duration_seconds >= 0),
    language               TEXT,
    status                 TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    transcript             TEXT,
    segments               TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(segments)),
    minutes                TEXT,
    error                  TEXT,
    transcript_document_id BLOB REFERENCES documents (id) ON DELETE SET NULL,
    minutes_document_id    BLOB REFERENCES documents (id) ON DELETE SET NULL,
    started_at             TEXT,
    completed_at           TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
) STRICT;
CREATE INDEX transcription_jobs_tenant_idx ON transcription_jobs (tenant_id, user_id);

-- Machinery ----------------------------------------------------------------------------

CREATE TABLE jobs (
    id           BLOB PRIMARY KEY,
    tenant_id    BLOB REFERENCES tenants (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    payload      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_at       TEXT NOT NULL,
    locked_until TEXT,
    locked_by    TEXT,
    last_error   TEXT,
    finished_at  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX jobs_due_idx ON jobs (status, run_at);
CREATE INDEX jobs_tenant_idx ON jobs (tenant_id);
