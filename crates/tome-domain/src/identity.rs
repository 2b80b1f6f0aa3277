//! Identity and access records: tenants, users, memberships, roles, permissions, sessions,
//! password reset tokens, API keys and user settings.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validate::{Email, Slug, Username};
use crate::{
    ApiKeyId, AuthSessionId, InvitationId, MembershipId, PasswordResetTokenId, PermissionId, RoleId, TenantId,
    Timestamp, UserId, UserRoleId,
};

/// An organization; every tenant-owned row points to one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub is_default: bool,
    /// Members must have two-factor authentication on to act in this tenant.
    pub require_two_factor: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewTenant {
    pub name: String,
    pub slug: Slug,
    pub description: Option<String>,
    pub is_default: bool,
}

#[derive(Clone, Debug, Default)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub slug: Option<Slug>,
    pub description: Option<Option<String>>,
    pub require_two_factor: Option<bool>,
}

/// A user's TOTP secret (base32); `enabled_at` is None until a first code confirmed it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct TwoFactor {
    pub user_id: UserId,
    pub secret: String,
    pub enabled_at: Option<Timestamp>,
    /// The last 30-second step a code was accepted for: a code works once.
    pub last_step: Option<i64>,
}

/// A person's account. Platform-wide: memberships attach it to tenants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub username: String,
    pub name: Option<String>,
    /// argon2id PHC string (bcrypt `$2b$…` for imported accounts until their next login).
    #[serde(skip_serializing, default)]
    pub password_hash: String,
    /// Separate salt of a hash imported from a system that kept one outside the hash.
    #[serde(skip_serializing, default)]
    pub password_salt: Option<String>,
    pub is_active: bool,
    pub is_superadmin: bool,
    pub avatar_updated_at: Option<Timestamp>,
    pub profile: Value,
    pub last_login_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: Email,
    pub username: Username,
    pub name: Option<String>,
    pub password_hash: String,
    pub is_active: bool,
    pub is_superadmin: bool,
}

#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    pub username: Option<Username>,
    pub name: Option<Option<String>>,
    pub is_active: Option<bool>,
    pub is_superadmin: Option<bool>,
    pub profile: Option<Value>,
}

#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub is_active: Option<bool>,
    /// Substring of the email, username or name.
    pub query: Option<String>,
    /// Only members of this tenant.
    pub tenant_id: Option<TenantId>,
}

/// A user's avatar image.
#[derive(Clone, Debug, PartialEq)]
pub struct Avatar {
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

/// Largest avatar accepted.
pub const MAX_AVATAR_BYTES: usize = 512 * 1024;

/// A user's membership of a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Membership {
    pub id: MembershipId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    /// Set while a tenant administrator has suspended the membership: the account cannot
    /// act in this tenant (its other tenants and the account itself are untouched).
    pub suspended_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An invitation of an email address to a tenant, with the roles it will hold there; the
/// token (stored hashed) is what the invited person presents, logged in with that address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Invitation {
    pub id: InvitationId,
    pub tenant_id: TenantId,
    pub email: String,
    /// JSON array of role names.
    pub roles: Value,
    #[serde(skip_serializing, default)]
    pub token_hash: String,
    pub invited_by: Option<UserId>,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub accepted_by: Option<UserId>,
    pub revoked_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewInvitation {
    /// Chosen by the caller, so that it can read the invitation back after writing it.
    pub id: InvitationId,
    pub tenant_id: TenantId,
    pub email: Email,
    pub roles: Vec<String>,
    pub token_hash: String,
    pub invited_by: UserId,
    pub expires_at: Timestamp,
}

/// A change of who may do what. The store writes it together with its audit entry in one
/// transaction: a change is never kept without its audit line, nor the line without it.
#[derive(Clone, Debug)]
pub enum AccessChange {
    /// A new membership holding `roles`; with `invitation`, that invitation is marked
    /// accepted in the same transaction (and the change fails if it no longer can be).
    AddMember {
        tenant: TenantId,
        user: UserId,
        roles: Vec<RoleId>,
        by: Option<UserId>,
        invitation: Option<InvitationId>,
    },
    /// The membership and the roles it held here.
    RemoveMember {
        tenant: TenantId,
        user: UserId,
    },
    SuspendMember {
        tenant: TenantId,
        user: UserId,
        suspended: bool,
    },
    SetRoles {
        tenant: TenantId,
        user: UserId,
        assign: Vec<RoleId>,
        unassign: Vec<RoleId>,
        by: Option<UserId>,
    },
    /// An account action; deactivating also ends every session and revokes every API key.
    SetActive {
        user: UserId,
        active: bool,
    },
    Invite(NewInvitation),
    /// Withdraws an invitation that is still open.
    RevokeInvitation {
        tenant: TenantId,
        id: InvitationId,
    },
}

/// A role: built-in (no tenant) or a tenant's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Role {
    pub id: RoleId,
    pub tenant_id: Option<TenantId>,
    pub name: String,
    pub description: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewRole {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct RolePatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}

/// One entry of the permission catalog, such as `documents.read`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Permission {
    pub id: PermissionId,
    pub name: String,
    pub description: String,
    pub created_at: Timestamp,
}

/// A role given to a user in a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct UserRole {
    pub id: UserRoleId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub role_id: RoleId,
    pub assigned_by: Option<UserId>,
    pub assigned_at: Timestamp,
}

/// One login: a refresh token (stored hashed) that access tokens name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct AuthSession {
    pub id: AuthSessionId,
    pub user_id: UserId,
    #[serde(skip_serializing, default)]
    pub refresh_token_hash: String,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewAuthSession {
    /// Chosen by the caller: the refresh token embeds it.
    pub id: AuthSessionId,
    pub user_id: UserId,
    pub refresh_token_hash: String,
    pub expires_at: Timestamp,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A single-use password reset token (stored hashed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct PasswordResetToken {
    pub id: PasswordResetTokenId,
    pub user_id: UserId,
    #[serde(skip_serializing, default)]
    pub token_hash: String,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// An API key: belongs to one tenant and user, carries a subset of the user's permissions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub name: String,
    pub prefix: String,
    #[serde(skip_serializing, default)]
    pub key_hash: String,
    /// JSON array of permission names.
    pub permissions: Value,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub user_id: UserId,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub permissions: Vec<String>,
    pub expires_at: Option<Timestamp>,
}

/// One JSON document of preferences per user (theme, language, default persona, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct UserSettings {
    pub user_id: UserId,
    pub settings: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
