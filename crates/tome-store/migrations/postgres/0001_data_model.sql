-- Tome's data model on PostgreSQL (see DESIGN.md). Append-only: never edit once applied.
CREATE EXTENSION IF NOT EXISTS vector;

-- Identity and access ------------------------------------------------------------------

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 63),
    description text,
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tenants_one_default ON tenants (is_default) WHERE is_default;

CREATE TABLE users (
    id                uuid PRIMARY KEY,
    email             text NOT NULL CHECK (length(email) <= 254 AND email LIKE '%_@_%'),
    username          text NOT NULL CHECK (length(username) BETWEEN 3 AND 30 AND username ~ '^[a-z0-9._-]+$'),
    name              text CHECK (length(name) <= 200),
    password_hash     text NOT NULL,
    password_salt     text,
    is_active         boolean NOT NULL DEFAULT true,
    is_superadmin     boolean NOT NULL DEFAULT false,
    avatar            bytea CHECK (octet_length(avatar) <= 524288),
    avatar_mime_type  text,
    avatar_updated_at timestamptz,
    profile           jsonb NOT NULL DEFAULT '{}'::jsonb,
    last_login_at     timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_is_superadmin_idx ON users (is_superadmin) WHERE is_superadmin;

CREATE TABLE memberships (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, user_id)
);
CREATE INDEX memberships_user_idx ON memberships (user_id);

CREATE TABLE roles (
    id          uuid PRIMARY KEY,
    tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
-- NULLs are distinct in UNIQUE: built-in roles (no tenant) need their own index.
CREATE UNIQUE INDEX roles_builtin_name_key ON roles (name) WHERE tenant_id IS NULL;

CREATE TABLE permissions (
    id          uuid PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    description text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE role_permissions (
    role_id       uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id uuid NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role_id, permission_id)
);

CREATE TABLE user_roles (
    id          uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id     uuid NOT NULL REFERENCES roles (id) ON DELETE RESTRICT,
    assigned_by uuid REFERENCES users (id) ON DELETE SET NULL,
    assigned_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, role_id, tenant_id)
);
CREATE INDEX user_roles_tenant_user_idx ON user_roles (tenant_id, user_id);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);

CREATE TABLE auth_sessions (
    id                 uuid PRIMARY KEY,
    user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_token_hash text NOT NULL UNIQUE,
    expires_at         timestamptz NOT NULL,
    last_used_at       timestamptz,
    revoked_at         timestamptz,
    user_agent         text,
    ip                 text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expires_idx ON auth_sessions (expires_at);

CREATE TABLE password_reset_tokens (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       text NOT NULL UNIQUE,
    key_hash     text NOT NULL UNIQUE,
    permissions  jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(permissions) = 'array'),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_tenant_user_idx ON api_keys (tenant_id, user_id);

CREATE TABLE user_settings (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    settings   jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Organization -------------------------------------------------------------------------

CREATE TABLE folders (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    parent_id  uuid REFERENCES folders (id) ON DELETE CASCADE,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 255 AND position('/' IN name) = 0),
    path       text NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS NULL OR parent_id <> id),
    UNIQUE (tenant_id, path)
);
CREATE INDEX folders_tenant_parent_idx ON folders (tenant_id, parent_id);

CREATE TABLE projects (
    id               uuid PRIMARY KEY,
    tenant_id        uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    folder_id        uuid REFERENCES folders (id) ON DELETE SET NULL,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    description      text,
    icon             text,
    created_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    last_modified_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_tenant_idx ON projects (tenant_id);
CREATE INDEX projects_folder_idx ON projects (folder_id);

CREATE TABLE social_links (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url        text NOT NULL CHECK (url ~ '^https?://[^/\s]+'),
    platform   text NOT NULL CHECK (platform IN ('twitter', 'facebook', 'linkedin', 'instagram', 'youtube')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX social_links_tenant_idx ON social_links (tenant_id);

-- Chat objects come before messages, which point to them ----------------------------------

CREATE TABLE objects (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('openscad')),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    source     text NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX objects_tenant_idx ON objects (tenant_id);

-- Knowledge ----------------------------------------------------------------------------

CREATE TABLE documents (
    id             uuid PRIMARY KEY,
    tenant_id      uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner_id       uuid REFERENCES users (id) ON DELETE SET NULL,
    project_id     uuid REFERENCES projects (id) ON DELETE SET NULL,
    visibility     text NOT NULL DEFAULT 'tenant' CHECK (visibility IN ('tenant', 'private')),
    original_name  text NOT NULL CHECK (length(original_name) BETWEEN 1 AND 1024),
    storage_key    text NOT NULL,
    mime_type      text NOT NULL,
    size_bytes     bigint NOT NULL CHECK (size_bytes >= 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    document_type  text NOT NULL DEFAULT 'general_document'
                   CHECK (document_type IN ('general_document', 'full_transcript', 'meeting_minutes')),
    status         text NOT NULL DEFAULT 'uploaded' CHECK (status IN ('uploaded', 'processing', 'processed', 'error')),
    error          text,
    chunk_count    integer NOT NULL DEFAULT 0 CHECK (chunk_count >= 0),
    progress_done  integer NOT NULL DEFAULT 0 CHECK (progress_done >= 0),
    progress_total integer NOT NULL DEFAULT 0 CHECK (progress_total >= 0),
    processed_at   timestamptz,
    deleted_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_tenant_idx ON documents (tenant_id, id) WHERE deleted_at IS NULL;
CREATE INDEX documents_tenant_sha_idx ON documents (tenant_id, sha256);
CREATE INDEX documents_owner_idx ON documents (owner_id);
CREATE INDEX documents_project_idx ON documents (project_id);
CREATE INDEX documents_status_idx ON documents (tenant_id, status);

CREATE TABLE document_chunks (
    id              uuid PRIMARY KEY,
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    document_id     uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    ordinal         integer NOT NULL CHECK (ordinal >= 0),
    content         text NOT NULL,
    token_count     integer NOT NULL CHECK (token_count >= 0),
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Dimension-free so that the embedding model can change; indexes are per model.
    embedding       vector,
    embedding_model text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, ordinal)
);
CREATE INDEX document_chunks_document_idx ON document_chunks (document_id);
CREATE INDEX document_chunks_tenant_idx ON document_chunks (tenant_id);

CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    tenant_id   uuid REFERENCES tenants (id) ON DELETE CASCADE,
    actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    action      text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_.]+$'),
    target_type text NOT NULL,
    target_id   text,
    summary     text,
    changes     jsonb NOT NULL DEFAULT '{}'::jsonb,
    ip          text,
    user_agent  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id);

-- Chat ---------------------------------------------------------------------------------

CREATE TABLE personas (
    id                  uuid PRIMARY KEY,
    tenant_id           uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner_id            uuid REFERENCES users (id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 255),
    description         text,
    system_prompt       text NOT NULL DEFAULT '',
    model               text,
    default_temperature double precision NOT NULL DEFAULT 0.7 CHECK (default_temperature BETWEEN 0 AND 2),
    max_tokens          integer NOT NULL DEFAULT 1024 CHECK (max_tokens BETWEEN 1 AND 1000000),
    is_active           boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX personas_owner_idx ON personas (owner_id);

CREATE TABLE conversations (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id uuid REFERENCES projects (id) ON DELETE SET NULL,
    persona_id uuid REFERENCES personas (id) ON DELETE SET NULL,
    title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 255),
    model      text,
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived', 'deleted')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_user_idx ON conversations (tenant_id, user_id, updated_at DESC);
CREATE INDEX conversations_updated_idx ON conversations (updated_at DESC);
CREATE INDEX conversations_project_idx ON conversations (project_id);
CREATE INDEX conversations_status_idx ON conversations (status);

CREATE TABLE messages (
    id                uuid PRIMARY KEY,
    tenant_id         uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    conversation_id   uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    author_id         uuid REFERENCES users (id) ON DELETE SET NULL,
    parent_id         uuid REFERENCES messages (id) ON DELETE SET NULL,
    role              text NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
    content           text NOT NULL CHECK (role <> 'user' OR length(content) <= 10000),
    source_references jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(source_references) = 'array'),
    tool_calls        jsonb,
    tool_outputs      jsonb,
    object_id         uuid REFERENCES objects (id) ON DELETE SET NULL,
    model             text,
    input_tokens      integer CHECK (input_tokens >= 0),
    output_tokens     integer CHECK (output_tokens >= 0),
    error             text,
    metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at);
CREATE INDEX messages_created_idx ON messages (created_at);
CREATE INDEX messages_parent_idx ON messages (parent_id);
CREATE INDEX messages_tenant_idx ON messages (tenant_id);

CREATE TABLE feedback (
    id         uuid PRIMARY KEY,
    tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating     integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    text,
    correction text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, user_id)
);
CREATE INDEX feedback_tenant_idx ON feedback (tenant_id);

-- Audio --------------------------------------------------------------------------------

CREATE TABLE transcription_jobs (
    id                     uuid PRIMARY KEY,
    tenant_id              uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id                uuid REFERENCES users (id) ON DELETE SET NULL,
    audio_key              text NOT NULL,
    original_name          text NOT NULL CHECK (length(original_name) BETWEEN 1 AND 1024),
    mime_type              text,
    size_bytes             bigint NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    duration_seconds       double precision CHECK (duration_seconds >= 0),
    language               text,
    status                 text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed')),
    transcript             text,
    segments               jsonb NOT NULL DEFAULT '[]'::jsonb,
    minutes                text,
    error                  text,
    transcript_document_id uuid REFERENCES documents (id) ON DELETE SET NULL,
    minutes_document_id    uuid REFERENCES documents (id) ON DELETE SET NULL,
    started_at             timestamptz,
    completed_at           timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transcription_jobs_tenant_idx ON transcription_jobs (tenant_id, user_id);

-- Machinery ----------------------------------------------------------------------------

CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    tenant_id    uuid REFERENCES tenants (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (length(kind) BETWEEN 1 AND 100),
    payload      jsonb NOT NULL DEFAULT '{}'::jsonb,
    status       text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    locked_by    text,
    last_error   text,
    finished_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due_idx ON jobs (status, run_at);
CREATE INDEX jobs_tenant_idx ON jobs (tenant_id);
