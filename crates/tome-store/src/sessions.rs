//! Login sessions, password reset tokens and API keys.

use async_trait::async_trait;
use tome_domain::identity::{ApiKey, AuthSession, NewApiKey, NewAuthSession, PasswordResetToken};
use tome_domain::repo::SessionRepo;
use tome_domain::{
    ApiKeyId, AuthSessionId, DomainError, DomainResult, Page, PageRequest, PasswordResetTokenId, TenantId, Timestamp,
    UserId, now,
};

use crate::SqlStore;
use crate::pool::on_backend;
use crate::sql::{Sql, values};

const SESSION: &str =
    "id, user_id, refresh_token_hash, expires_at, last_used_at, revoked_at, user_agent, ip, created_at, updated_at";
const RESET_TOKEN: &str = "id, user_id, token_hash, expires_at, used_at, created_at";
const API_KEY: &str = "id, tenant_id, user_id, name, prefix, key_hash, permissions, last_used_at, expires_at, \
revoked_at, created_at, updated_at";

#[async_trait]
impl SessionRepo for SqlStore {
    async fn create_session(&self, new: NewAuthSession) -> DomainResult<AuthSession> {
        let now = now();
        let values = values![
            "id" => new.id, "user_id" => new.user_id, "refresh_token_hash" => new.refresh_token_hash,
            "expires_at" => new.expires_at, "last_used_at" => now, "user_agent" => new.user_agent, "ip" => new.ip,
            "created_at" => now, "updated_at" => now,
        ];
        self.one("session", Sql::insert("auth_sessions", values, SESSION)).await
    }

    async fn get_session(&self, id: AuthSessionId) -> DomainResult<AuthSession> {
        self.one("session", Sql::new(format!("SELECT {SESSION} FROM auth_sessions WHERE id = ")).bind(id)).await
    }

    async fn find_session_by_refresh_hash(&self, hash: &str) -> DomainResult<AuthSession> {
        let sql = Sql::new(format!("SELECT {SESSION} FROM auth_sessions WHERE refresh_token_hash = ")).bind(hash);
        self.one("session", sql).await
    }

    async fn list_sessions(&self, user: UserId) -> DomainResult<Vec<AuthSession>> {
        let sql = Sql::new(format!("SELECT {SESSION} FROM auth_sessions WHERE user_id = "))
            .bind(user)
            .push(" AND revoked_at IS NULL AND expires_at > ")
            .bind(now())
            .push(" ORDER BY id DESC");
        self.all("session", sql).await
    }

    async fn rotate_session(
        &self,
        id: AuthSessionId,
        old_hash: &str,
        new_hash: &str,
        expires_at: Timestamp,
    ) -> DomainResult<AuthSession> {
        let now = now();
        let sets = vec![
            ("refresh_token_hash", new_hash.into()),
            ("expires_at", expires_at.into()),
            ("last_used_at", now.into()),
        ];
        let sql = Sql::update("auth_sessions", sets, now)
            .push("id = ")
            .bind(id)
            .push(" AND refresh_token_hash = ")
            .bind(old_hash)
            .push(format!(" AND revoked_at IS NULL RETURNING {SESSION}"));
        self.one("session", sql).await
    }

    async fn touch_session(&self, id: AuthSessionId, at: Timestamp) -> DomainResult<()> {
        let sql = Sql::new("UPDATE auth_sessions SET last_used_at = ").bind(at).push(" WHERE id = ").bind(id);
        self.exec_one("session", sql).await
    }

    async fn revoke_session(&self, user: UserId, id: AuthSessionId) -> DomainResult<()> {
        let now = now();
        let sql = Sql::update("auth_sessions", vec![("revoked_at", now.into())], now)
            .push("id = ")
            .bind(id)
            .push(" AND user_id = ")
            .bind(user)
            .push(" AND revoked_at IS NULL");
        self.exec_one("session", sql).await
    }

    async fn revoke_sessions(&self, user: UserId, except: Option<AuthSessionId>) -> DomainResult<u64> {
        let now = now();
        let mut sql = Sql::update("auth_sessions", vec![("revoked_at", now.into())], now)
            .push("user_id = ")
            .bind(user)
            .push(" AND revoked_at IS NULL");
        if let Some(except) = except {
            sql = sql.push(" AND id <> ").bind(except);
        }
        self.exec("session", sql).await
    }

    async fn create_reset_token(
        &self,
        user: UserId,
        token_hash: &str,
        expires_at: Timestamp,
    ) -> DomainResult<PasswordResetToken> {
        let values = values![
            "id" => PasswordResetTokenId::new(), "user_id" => user, "token_hash" => token_hash,
            "expires_at" => expires_at, "created_at" => now(),
        ];
        self.one("reset token", Sql::insert("password_reset_tokens", values, RESET_TOKEN)).await
    }

    async fn find_reset_token(&self, token_hash: &str) -> DomainResult<PasswordResetToken> {
        let sql =
            Sql::new(format!("SELECT {RESET_TOKEN} FROM password_reset_tokens WHERE token_hash = ")).bind(token_hash);
        self.one("reset token", sql).await
    }

    async fn use_reset_token(&self, id: PasswordResetTokenId, at: Timestamp) -> DomainResult<()> {
        let sql = Sql::new("UPDATE password_reset_tokens SET used_at = ")
            .bind(at)
            .push(" WHERE id = ")
            .bind(id)
            .push(" AND used_at IS NULL");
        match self.exec("reset token", sql).await? {
            0 => Err(DomainError::Conflict("this reset token was already used".into())),
            _ => Ok(()),
        }
    }

    async fn create_api_key(&self, tenant: TenantId, new: NewApiKey) -> DomainResult<ApiKey> {
        let now = now();
        let values = values![
            "id" => ApiKeyId::new(), "tenant_id" => tenant, "user_id" => new.user_id, "name" => new.name,
            "prefix" => new.prefix, "key_hash" => new.key_hash, "permissions" => serde_json::json!(new.permissions),
            "expires_at" => new.expires_at, "created_at" => now, "updated_at" => now,
        ];
        self.one("API key", Sql::insert("api_keys", values, API_KEY)).await
    }

    async fn get_api_key(&self, tenant: TenantId, id: ApiKeyId) -> DomainResult<ApiKey> {
        self.one("API key", Sql::new(format!("SELECT {API_KEY} FROM api_keys WHERE ")).scoped(tenant, id)).await
    }

    async fn find_api_key_by_prefix(&self, prefix: &str) -> DomainResult<ApiKey> {
        self.one("API key", Sql::new(format!("SELECT {API_KEY} FROM api_keys WHERE prefix = ")).bind(prefix)).await
    }

    async fn list_api_keys(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
        page: PageRequest,
    ) -> DomainResult<Page<ApiKey>> {
        let sql =
            Sql::new(format!("SELECT {API_KEY} FROM api_keys WHERE tenant_id = ")).bind(tenant).and_eq("user_id", user);
        self.page_of("API key", sql, page, |k: &ApiKey| k.id.0).await
    }

    async fn revoke_api_key(&self, tenant: TenantId, id: ApiKeyId, at: Timestamp) -> DomainResult<()> {
        let sql = Sql::update("api_keys", vec![("revoked_at", at.into())], at)
            .push("tenant_id = ")
            .bind(tenant)
            .push(" AND id = ")
            .bind(id)
            .push(" AND revoked_at IS NULL");
        self.exec_one("API key", sql).await
    }

    async fn revoke_user_api_keys(&self, user: UserId, at: Timestamp) -> DomainResult<u64> {
        let sql = Sql::update("api_keys", vec![("revoked_at", at.into())], at)
            .push("user_id = ")
            .bind(user)
            .push(" AND revoked_at IS NULL");
        self.exec("API key", sql).await
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> DomainResult<()> {
        let sql = Sql::new("UPDATE api_keys SET last_used_at = ").bind(at).push(" WHERE id = ").bind(id);
        self.exec_one("API key", sql).await
    }

    async fn auth_epoch(&self) -> DomainResult<i64> {
        // No row-level security on this table, so no scope statement: one round trip.
        const SQL: &str = "SELECT value FROM auth_epoch WHERE id = 1";
        on_backend!(self, |pool, Db| sqlx::query_scalar::<Db, i64>(SQL).persistent(false).fetch_one(pool).await)
            .map_err(crate::error::map("auth epoch"))
    }
}
