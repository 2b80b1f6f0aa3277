//! Changing a password, and forgotten passwords: single-use reset tokens (stored hashed,
//! valid 30 minutes) delivered by mail; the answer is the same whether or not the email
//! belongs to an account.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::auth::{ClientInfo, Principal, hash_token, random_secret};
use crate::knowledge::NewAuditEntry;
use crate::repo::Store;
use crate::{DomainError, DomainResult, UserId, now, password};

/// How long a reset token works.
pub const RESET_TOKEN_TTL: Duration = Duration::from_secs(30 * 60);

/// Sends mail (SMTP when configured; otherwise the log).
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, to: &str, subject: &str, body: &str) -> DomainResult<()>;

    /// Whether mail reaches its recipient (false: nothing is sent at all).
    fn delivers(&self) -> bool {
        true
    }
}

/// What Tome does when `TOME_SMTP_URL` is unset: nothing is sent, and the log says so
/// without the message (which may hold a token that would give an account away).
pub struct LogMailer;

#[async_trait]
impl Mailer for LogMailer {
    async fn send(&self, _to: &str, subject: &str, _body: &str) -> DomainResult<()> {
        tracing::info!(subject, "mail not sent: TOME_SMTP_URL is not set");
        Ok(())
    }

    fn delivers(&self) -> bool {
        false
    }
}

/// Keeps mail in memory (tests read it back).
#[derive(Default)]
pub struct MemoryMailer {
    pub sent: Mutex<Vec<(String, String, String)>>,
}

#[async_trait]
impl Mailer for MemoryMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> DomainResult<()> {
        self.sent.lock().map_err(DomainError::internal)?.push((to.to_owned(), subject.to_owned(), body.to_owned()));
        Ok(())
    }
}

fn check_new(user: &crate::identity::User, new_password: &str) -> DomainResult<()> {
    password::check_new_password(new_password)?;
    let lowered = new_password.to_lowercase();
    if lowered == user.username || lowered == user.email {
        return Err(DomainError::invalid("new_password", "must differ from the username and the email"));
    }
    Ok(())
}

/// Changes the caller's password (the current one is required) and ends their other sessions.
pub async fn change_password(
    store: &dyn Store,
    principal: &Principal,
    current: &str,
    new_password: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    let session = principal
        .session_id()
        .ok_or_else(|| DomainError::Forbidden("log in to change your password; API keys cannot".into()))?;
    let user = store.get_user(principal.user.id).await?;
    let (current, hash) = (current.to_owned(), user.password_hash.clone());
    let matches = password::in_lane(password::Lane::Check, move || password::verify_blocking(&current, &hash)).await?;
    if !matches {
        return Err(DomainError::invalid("current_password", "is not your current password"));
    }
    check_new(&user, new_password)?;
    store.set_password_hash(user.id, &password::hash(new_password.to_owned()).await?).await?;
    store.revoke_sessions(user.id, Some(session)).await?;
    audit(store, user.id, "user.password_change", "changed the password; other sessions ended", client).await
}

/// Starts a reset: mails a token if `email` belongs to an active account. Says nothing
/// about whether it does.
pub async fn forgot_password(
    store: &dyn Store,
    mailer: &dyn Mailer,
    email: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    let user = match store.find_user_by_login(email.trim()).await {
        Ok(user) if user.is_active && user.email == email.trim().to_lowercase() => user,
        Ok(_) | Err(DomainError::NotFound(_)) => return Ok(()),
        Err(error) => return Err(error),
    };
    if !mailer.delivers() {
        tracing::info!(
            user = %user.id,
            "a password reset was asked for, but without TOME_SMTP_URL no mail goes out: \
             an administrator can make a reset link (`tome user reset-link`)"
        );
        return audit(store, user.id, "user.password_reset_requested", "asked for a password reset (no mail)", client)
            .await;
    }
    let token = random_secret();
    store.create_reset_token(user.id, &hash_token(&token), now() + RESET_TOKEN_TTL).await?;
    let body = format!(
        "Someone asked to reset the password of your Tome account ({}).\n\n\
         To choose a new password, send this token within 30 minutes to POST /api/v1/auth/password/reset:\n\n{token}\n\n\
         If it was not you, ignore this message: your password stays as it is.",
        user.username
    );
    // A delivery failure must not change the answer (that would tell who has an account);
    // the operator finds it in the log.
    if let Err(error) = mailer.send(&user.email, "Reset your Tome password", &body).await {
        tracing::error!(%error, user = %user.id, "the password reset mail could not be sent");
    }
    audit(store, user.id, "user.password_reset_requested", "asked for a password reset", client).await
}

/// A single-use reset token made by an administrator (a superadmin's own login, or the
/// operator's `tome user reset-link`), for when mail cannot carry one. `by` is None for the
/// operator.
pub async fn admin_reset_token(
    store: &dyn Store,
    by: Option<&Principal>,
    user: UserId,
    client: &ClientInfo,
) -> DomainResult<(String, crate::Timestamp)> {
    if let Some(principal) = by {
        crate::tenancy::require_superadmin(principal)?;
    }
    let account = store.get_user(user).await?;
    let token = random_secret();
    let expires_at = now() + RESET_TOKEN_TTL;
    store.create_reset_token(account.id, &hash_token(&token), expires_at).await?;
    let entry = NewAuditEntry::new(
        by.map(|p| p.user.id),
        "user.reset_link",
        ("user", Some(account.id.to_string())),
        format!("made a password reset link for {}", account.username),
        client,
    );
    store.append_audit(None, entry).await?;
    Ok((token, expires_at))
}

/// Completes a reset: the token works once, within 30 minutes; every session ends.
pub async fn reset_password(
    store: &dyn Store,
    token: &str,
    new_password: &str,
    client: &ClientInfo,
) -> DomainResult<()> {
    let invalid = || DomainError::invalid("token", "the reset token is invalid, used or expired");
    let record = store.find_reset_token(&hash_token(token.trim())).await.map_err(|_| invalid())?;
    if record.used_at.is_some() || record.expires_at <= now() {
        return Err(invalid());
    }
    let user = store.get_user(record.user_id).await?;
    check_new(&user, new_password)?;
    let hash = password::hash(new_password.to_owned()).await?;
    store.use_reset_token(record.id, now()).await.map_err(|_| invalid())?;
    store.set_password_hash(user.id, &hash).await?;
    store.revoke_sessions(user.id, None).await?;
    audit(store, user.id, "user.password_reset", "reset the password; every session ended", client).await
}

async fn audit(store: &dyn Store, user: UserId, action: &str, summary: &str, client: &ClientInfo) -> DomainResult<()> {
    let entry = NewAuditEntry::new(Some(user), action, ("user", Some(user.to_string())), summary, client);
    store.append_audit(None, entry).await.map(|_| ())
}
