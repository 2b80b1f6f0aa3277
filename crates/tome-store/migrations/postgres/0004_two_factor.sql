-- TOTP two-factor authentication (RFC 6238): one secret per user (pending until confirmed
-- by a first code), single-use recovery codes stored hashed, and tenants that require it.
CREATE TABLE user_two_factor (
    user_id    uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     text NOT NULL,
    enabled_at timestamptz,
    last_step  bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE recovery_codes (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  text NOT NULL CHECK (length(code_hash) = 64),
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX recovery_codes_user_hash_idx ON recovery_codes (user_id, code_hash);

ALTER TABLE tenants ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;
