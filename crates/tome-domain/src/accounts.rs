//! Account creation: validation, password hashing, membership of a tenant and a role there.

use crate::identity::{NewUser, User};
use crate::password;
use crate::repo::Store;
use crate::validate::{Email, Username};
use crate::{DomainError, DomainResult, TenantId};

/// What a new account is made from, as typed by a person.
#[derive(Clone, Debug)]
pub struct AccountInput {
    pub email: String,
    pub username: String,
    pub name: Option<String>,
    pub password: String,
    pub is_active: bool,
    pub is_superadmin: bool,
    /// The tenant to join (the default tenant when None) and the role to hold there.
    pub tenant_id: Option<TenantId>,
    pub role: String,
}

/// Validates everything first, then creates the user, the membership and the role
/// assignment; if a later step fails, the user is removed again so no half-made account
/// stays behind.
pub async fn create_account(store: &dyn Store, input: AccountInput) -> DomainResult<User> {
    let email = Email::parse(&input.email)?;
    let username = Username::parse(&input.username)?;
    let name = match input.name.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(name) => Some(crate::validate::required_text("name", name, 200)?),
    };
    password::check_new_password(&input.password)?;
    let lowered = input.password.to_lowercase();
    if lowered == username.as_str() || lowered == email.as_str() {
        return Err(DomainError::invalid("password", "must differ from the username and the email"));
    }
    let tenant = match input.tenant_id {
        Some(id) => store.get_tenant(id).await?,
        None => store.default_tenant().await?,
    };
    let role = store.get_role_by_name(tenant.id, &input.role).await?;
    let password_hash = password::hash(input.password).await?;
    let user = store
        .create_user(NewUser {
            email,
            username,
            name,
            password_hash,
            is_active: input.is_active,
            is_superadmin: input.is_superadmin,
        })
        .await?;
    let joined = async {
        store.add_member(tenant.id, user.id).await?;
        store.assign_role(tenant.id, user.id, role.id, None).await
    }
    .await;
    if let Err(error) = joined {
        return match store.delete_user(user.id).await {
            Ok(()) => Err(error),
            Err(cleanup) => {
                Err(DomainError::Internal(format!("{error}; removing the half-made account failed too: {cleanup}")))
            }
        };
    }
    Ok(user)
}

/// Activates or deactivates an account. Deactivating ends every session and revokes every
/// API key of the user at once; their data stays.
pub async fn set_active(store: &dyn Store, user: crate::UserId, active: bool) -> DomainResult<User> {
    let patch = crate::identity::UserPatch { is_active: Some(active), ..Default::default() };
    let user = store.update_user(user, patch).await?;
    if !active {
        store.revoke_sessions(user.id, None).await?;
        store.revoke_user_api_keys(user.id, crate::now()).await?;
    }
    Ok(user)
}
