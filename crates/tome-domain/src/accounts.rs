//! Account creation: validation, password hashing, membership of a tenant and a role there.

use crate::access::Access;
use crate::auth::{ClientInfo, Principal};
use crate::identity::{AccessChange, NewUser, User, UserFilter};
use crate::knowledge::NewAuditEntry;
use crate::password;
use crate::repo::Store;
use crate::tenancy::{acts_as_superadmin, require_superadmin};
use crate::validate::{Email, Username};
use crate::{DomainError, DomainResult, Page, PageRequest, TenantId, UserId};

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

/// Activates or deactivates an account: a platform action. Deactivating (superadmins only,
/// logged in themselves) ends every session and revokes every API key of the user at once;
/// their data stays. A tenant administrator (`users.manage`) may only approve a pending
/// sign-up among their tenant's members: an inactive account that never logged in.
pub async fn set_active(
    store: &dyn Store,
    principal: &Principal,
    access: &Access,
    user: UserId,
    active: bool,
    client: &ClientInfo,
) -> DomainResult<User> {
    let refused = || {
        DomainError::Forbidden(
            "only a superadmin activates or deactivates an account; suspend the membership instead".into(),
        )
    };
    if !active {
        require_superadmin(principal).map_err(|_| refused())?;
    }
    let target = administered(store, principal, access, user).await?;
    if !active && user == principal.user.id {
        return Err(DomainError::invalid("id", "you cannot deactivate yourself"));
    }
    let approving_a_sign_up = active && !target.is_active && target.last_login_at.is_none() && !target.is_superadmin;
    if !approving_a_sign_up {
        require_superadmin(principal).map_err(|_| refused())?;
    }
    let (action, summary) = if active { ("user.activate", "activated") } else { ("user.deactivate", "deactivated") };
    let entry = NewAuditEntry::new(
        Some(principal.user.id),
        action,
        ("user", Some(user.to_string())),
        format!("{summary} the account {}", target.username),
        client,
    );
    store.apply_access_change(AccessChange::SetActive { user, active }, None, entry).await?;
    store.get_user(user).await
}

/// A user that the caller may see as an administrator (`users.manage`): a member of the
/// request's tenant (superadmins: anyone). Others are `NotFound`, as if they did not exist.
pub async fn administered(
    store: &dyn Store,
    principal: &Principal,
    access: &Access,
    user: UserId,
) -> DomainResult<User> {
    access.require("users.manage")?;
    if !acts_as_superadmin(principal) {
        store.get_membership(access.tenant_id, user).await.map_err(|_| DomainError::NotFound("user"))?;
    }
    store.get_user(user).await
}

/// The accounts of the request's tenant, newest first (permission `users.manage`).
pub async fn list_users(
    store: &dyn Store,
    access: &Access,
    mut filter: UserFilter,
    page: PageRequest,
) -> DomainResult<Page<User>> {
    access.require("users.manage")?;
    filter.tenant_id = Some(access.tenant_id);
    store.list_users(filter, page).await
}
