//! Users, their avatars and settings.

use async_trait::async_trait;
use serde_json::Value;
use tome_domain::identity::{Avatar, NewUser, TwoFactor, User, UserFilter, UserPatch, UserSettings};
use tome_domain::repo::UserRepo;
use tome_domain::{DomainError, DomainResult, Page, PageRequest, Timestamp, UserId, now};

use crate::SqlStore;
use crate::pool::Count;
use crate::sql::{Sets, Sql, contains_pattern, values};

const USER: &str = "id, email, username, name, password_hash, password_salt, is_active, is_superadmin, \
avatar_updated_at, profile, last_login_at, created_at, updated_at";
const SETTINGS: &str = "user_id, settings, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct AvatarRow {
    avatar_mime_type: Option<String>,
    avatar: Option<Vec<u8>>,
}

#[async_trait]
impl UserRepo for SqlStore {
    async fn create_user(&self, new: NewUser) -> DomainResult<User> {
        let now = now();
        let values = values![
            "id" => UserId::new(), "email" => new.email.as_str(), "username" => new.username.as_str(),
            "name" => new.name, "password_hash" => new.password_hash, "is_active" => new.is_active,
            "is_superadmin" => new.is_superadmin, "profile" => Value::Object(Default::default()),
            "created_at" => now, "updated_at" => now,
        ];
        self.one("user", Sql::insert("users", values, USER)).await
    }

    async fn get_user(&self, id: UserId) -> DomainResult<User> {
        self.one("user", Sql::new(format!("SELECT {USER} FROM users WHERE id = ")).bind(id)).await
    }

    async fn find_user_by_login(&self, login: &str) -> DomainResult<User> {
        let login = login.trim().to_lowercase();
        let sql = Sql::new(format!("SELECT {USER} FROM users WHERE lower(email) = "))
            .bind(&login)
            .push(" OR lower(username) = ")
            .bind(&login);
        self.one("user", sql).await
    }

    async fn list_users(&self, filter: UserFilter, page: PageRequest) -> DomainResult<Page<User>> {
        let mut sql = Sql::new(format!("SELECT {USER} FROM users WHERE 1 = 1")).and_eq("is_active", filter.is_active);
        if let Some(tenant) = filter.tenant_id {
            sql = sql.push(" AND id IN (SELECT user_id FROM memberships WHERE tenant_id = ").bind(tenant).push(")");
        }
        if let Some(query) = filter.query.filter(|q| !q.trim().is_empty()) {
            let pattern = contains_pattern(query.trim());
            sql = sql
                .push(" AND (lower(email) LIKE ")
                .bind(&pattern)
                .push(" ESCAPE '\\' OR lower(username) LIKE ")
                .bind(&pattern)
                .push(" ESCAPE '\\' OR lower(coalesce(name, '')) LIKE ")
                .bind(&pattern)
                .push(" ESCAPE '\\')");
        }
        self.page_of("user", sql, page, |u: &User| u.id.0).await
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> DomainResult<User> {
        let sets = Sets::default()
            .set("email", patch.email.map(|e| e.as_str().to_owned()))
            .set("username", patch.username.map(|u| u.as_str().to_owned()))
            .set("name", patch.name)
            .set("is_active", patch.is_active)
            .set("is_superadmin", patch.is_superadmin)
            .set("profile", patch.profile);
        let sql = Sql::update("users", sets.0, now()).push("id = ").bind(id).push(format!(" RETURNING {USER}"));
        self.one("user", sql).await
    }

    async fn set_password_hash(&self, id: UserId, hash: &str) -> DomainResult<()> {
        let sets = vec![("password_hash", hash.into()), ("password_salt", Option::<String>::None.into())];
        self.exec_one("user", Sql::update("users", sets, now()).push("id = ").bind(id)).await
    }

    async fn record_login(&self, id: UserId, at: Timestamp) -> DomainResult<()> {
        let sql = Sql::new("UPDATE users SET last_login_at = ").bind(at).push(" WHERE id = ").bind(id);
        self.exec_one("user", sql).await
    }

    async fn set_avatar(&self, id: UserId, avatar: Option<Avatar>) -> DomainResult<()> {
        if avatar.as_ref().is_some_and(|a| a.bytes.len() > tome_domain::identity::MAX_AVATAR_BYTES) {
            return Err(DomainError::TooLarge(format!(
                "an avatar may be at most {} bytes",
                tome_domain::identity::MAX_AVATAR_BYTES
            )));
        }
        let now = now();
        let (mime, bytes, at) = match avatar {
            Some(avatar) => (Some(avatar.mime_type), Some(avatar.bytes), Some(now)),
            None => (None, None, None),
        };
        let sets = vec![("avatar_mime_type", mime.into()), ("avatar", bytes.into()), ("avatar_updated_at", at.into())];
        self.exec_one("user", Sql::update("users", sets, now).push("id = ").bind(id)).await
    }

    async fn get_avatar(&self, id: UserId) -> DomainResult<Avatar> {
        let sql = Sql::new("SELECT avatar_mime_type, avatar FROM users WHERE id = ").bind(id);
        let row: AvatarRow = self.one("user", sql).await?;
        match (row.avatar_mime_type, row.avatar) {
            (Some(mime_type), Some(bytes)) => Ok(Avatar { mime_type, bytes }),
            _ => Err(DomainError::NotFound("avatar")),
        }
    }

    async fn delete_user(&self, id: UserId) -> DomainResult<()> {
        self.exec_one("user", Sql::new("DELETE FROM users WHERE id = ").bind(id)).await
    }

    async fn count_users(&self) -> DomainResult<i64> {
        let count: Count = self.one("user", Sql::new("SELECT COUNT(*) AS n FROM users")).await?;
        Ok(count.n)
    }

    async fn get_two_factor(&self, user: UserId) -> DomainResult<Option<TwoFactor>> {
        self.two_factor_of(user).await
    }

    async fn put_two_factor_secret(&self, user: UserId, secret: &str) -> DomainResult<()> {
        self.put_pending_secret(user, secret).await
    }

    async fn all_two_factor(&self) -> DomainResult<Vec<TwoFactor>> {
        let sql = Sql::new("SELECT user_id, secret, enabled_at, last_step FROM user_two_factor ORDER BY user_id");
        self.all("two-factor secret", sql).await
    }

    async fn replace_two_factor_secret(&self, user: UserId, old: &str, new: &str) -> DomainResult<bool> {
        let sql = Sql::new("UPDATE user_two_factor SET secret = ")
            .bind(new)
            .push(" WHERE user_id = ")
            .bind(user)
            .push(" AND secret = ")
            .bind(old);
        Ok(self.exec("two-factor secret", sql).await? == 1)
    }

    async fn enable_two_factor(&self, user: UserId, step: i64, recovery_hashes: &[String]) -> DomainResult<()> {
        self.enable_pending(user, step, recovery_hashes).await
    }

    async fn disable_two_factor(&self, user: UserId) -> DomainResult<()> {
        self.remove_two_factor(user).await
    }

    async fn claim_totp_step(&self, user: UserId, step: i64) -> DomainResult<bool> {
        self.claim_step(user, step).await
    }

    async fn use_recovery_code(&self, user: UserId, hash: &str) -> DomainResult<bool> {
        self.spend_recovery_code(user, hash).await
    }

    async fn count_recovery_codes(&self, user: UserId) -> DomainResult<i64> {
        self.unused_recovery_codes(user).await
    }

    async fn get_settings(&self, user: UserId) -> DomainResult<UserSettings> {
        let sql = Sql::new(format!("SELECT {SETTINGS} FROM user_settings WHERE user_id = ")).bind(user);
        match self.optional("user settings", sql).await? {
            Some(settings) => Ok(settings),
            None => {
                let user = self.get_user(user).await?;
                Ok(UserSettings {
                    user_id: user.id,
                    settings: Value::Object(Default::default()),
                    created_at: user.created_at,
                    updated_at: user.created_at,
                })
            }
        }
    }

    async fn put_settings(&self, user: UserId, settings: Value) -> DomainResult<UserSettings> {
        if !settings.is_object() {
            return Err(DomainError::invalid("settings", "must be a JSON object"));
        }
        let now = now();
        let sql = Sql::insert(
            "user_settings",
            values!["user_id" => user, "settings" => settings, "created_at" => now, "updated_at" => now],
            SETTINGS,
        );
        // One settings document per user: a second put replaces the first.
        let sql = sql.on_conflict_update("user_id", &["settings", "updated_at"]);
        self.one("user", sql).await
    }
}

/// Two-factor secrets and recovery codes.
impl SqlStore {
    pub(crate) async fn two_factor_of(&self, user: UserId) -> DomainResult<Option<TwoFactor>> {
        let sql =
            Sql::new("SELECT user_id, secret, enabled_at, last_step FROM user_two_factor WHERE user_id = ").bind(user);
        self.optional("two-factor secret", sql).await
    }

    pub(crate) async fn put_pending_secret(&self, user: UserId, secret: &str) -> DomainResult<()> {
        let now = now();
        let values = values!["user_id" => user, "secret" => secret, "created_at" => now, "updated_at" => now];
        let sql = Sql::insert("user_two_factor", values, "user_id").before_returning(
            " ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = NULL, \
             updated_at = excluded.updated_at WHERE user_two_factor.enabled_at IS NULL",
        );
        // The conflict's WHERE leaves an enabled secret alone: no row is written then.
        match self.exec("two-factor secret", sql).await? {
            0 => Err(DomainError::Conflict("two-factor authentication is already on".into())),
            _ => Ok(()),
        }
    }

    pub(crate) async fn enable_pending(&self, user: UserId, step: i64, hashes: &[String]) -> DomainResult<()> {
        match self.two_factor_of(user).await? {
            Some(pending) if pending.enabled_at.is_none() => {}
            Some(_) => return Err(DomainError::Conflict("two-factor authentication is already on".into())),
            None => return Err(DomainError::Conflict("start with POST /api/v1/auth/2fa/setup".into())),
        }
        let now = now();
        let mut statements = vec![
            Sql::new("UPDATE user_two_factor SET enabled_at = ")
                .bind(now)
                .push(", last_step = ")
                .bind(step)
                .push(", updated_at = ")
                .bind(now)
                .push(" WHERE user_id = ")
                .bind(user),
            Sql::new("DELETE FROM recovery_codes WHERE user_id = ").bind(user),
        ];
        for hash in hashes {
            let values =
                values!["id" => uuid::Uuid::now_v7(), "user_id" => user, "code_hash" => hash, "created_at" => now];
            statements.push(Sql::insert("recovery_codes", values, "id"));
        }
        self.transaction("two-factor secret", statements).await.map(|_| ())
    }

    pub(crate) async fn remove_two_factor(&self, user: UserId) -> DomainResult<()> {
        let statements = vec![
            Sql::new("DELETE FROM recovery_codes WHERE user_id = ").bind(user),
            Sql::new("DELETE FROM user_two_factor WHERE user_id = ").bind(user),
        ];
        self.transaction("two-factor secret", statements).await.map(|_| ())
    }

    pub(crate) async fn claim_step(&self, user: UserId, step: i64) -> DomainResult<bool> {
        let sql = Sql::new("UPDATE user_two_factor SET last_step = ")
            .bind(step)
            .push(" WHERE user_id = ")
            .bind(user)
            .push(" AND (last_step IS NULL OR last_step < ")
            .bind(step)
            .push(")");
        Ok(self.exec("two-factor secret", sql).await? == 1)
    }

    pub(crate) async fn spend_recovery_code(&self, user: UserId, hash: &str) -> DomainResult<bool> {
        let sql = Sql::new("UPDATE recovery_codes SET used_at = ")
            .bind(now())
            .push(" WHERE used_at IS NULL AND user_id = ")
            .bind(user)
            .push(" AND code_hash = ")
            .bind(hash);
        Ok(self.exec("recovery code", sql).await? == 1)
    }

    pub(crate) async fn unused_recovery_codes(&self, user: UserId) -> DomainResult<i64> {
        let sql = Sql::new("SELECT COUNT(*) AS n FROM recovery_codes WHERE used_at IS NULL AND user_id = ").bind(user);
        let count: Count = self.one("recovery code", sql).await?;
        Ok(count.n)
    }
}
