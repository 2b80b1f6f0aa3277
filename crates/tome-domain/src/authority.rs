//! Who may act on whom. Nobody acts on an account with more authority than their own, nobody
//! grants (or withdraws) a role or permission they do not hold themselves, and only owners
//! change owners. Superadmins, logged in themselves, pass every check.

use crate::access::Access;
use crate::identity::{Role, User};
use crate::repo::Store;
use crate::{DomainError, DomainResult, TenantId, UserId};

/// The built-in role that holds everything in a tenant.
pub const OWNER: &str = "owner";
/// The role a new member holds when no roles are named.
pub const MEMBER: &str = "member";

/// An actor's authority in one tenant.
#[derive(Clone, Debug)]
pub struct Standing {
    pub access: Access,
    /// Holds the built-in `owner` role here.
    pub is_owner: bool,
}

impl Standing {
    pub async fn of(store: &dyn Store, access: Access) -> DomainResult<Self> {
        let is_owner = holds_owner(store, access.tenant_id, access.user_id).await?;
        Ok(Self { access, is_owner })
    }

    fn above_all(&self) -> bool {
        self.access.is_superadmin
    }

    fn holds_all(&self, permissions: &[String]) -> Result<(), String> {
        match lacking(&self.access, permissions) {
            Some(missing) => Err(missing.to_owned()),
            None => Ok(()),
        }
    }
}

/// Refuses to act on `target` (a member of the tenant, or about to be) when it holds more
/// authority than the actor: a superadmin's account, an owner (unless the actor is one), or
/// any permission here that the actor lacks.
pub async fn ensure_outranks(store: &dyn Store, actor: &Standing, target: &User) -> DomainResult<()> {
    if actor.above_all() {
        return Ok(());
    }
    if target.is_superadmin {
        return Err(DomainError::Forbidden("this account is a superadmin's: only a superadmin may change it".into()));
    }
    let tenant = actor.access.tenant_id;
    if holds_owner(store, tenant, target.id).await? && !actor.is_owner {
        return Err(DomainError::Forbidden("only an owner may change an owner".into()));
    }
    let held = store.effective_permissions(tenant, target.id).await?;
    actor.holds_all(&held).map_err(|missing| {
        DomainError::Forbidden(format!("this member holds `{missing}`, which you do not: you cannot change them"))
    })
}

/// Refuses to grant or withdraw `roles` unless the actor holds every permission they carry
/// (and, for `owner`, is an owner).
pub async fn ensure_may_grant(store: &dyn Store, actor: &Standing, roles: &[Role]) -> DomainResult<()> {
    if actor.above_all() {
        return Ok(());
    }
    for role in roles {
        if role.tenant_id.is_none() && role.name == OWNER && !actor.is_owner {
            return Err(DomainError::Forbidden("only an owner may make or unmake an owner".into()));
        }
        let carries = store.role_permissions(actor.access.tenant_id, role.id).await?;
        actor.holds_all(&carries).map_err(|missing| {
            DomainError::Forbidden(format!(
                "the role `{}` carries `{missing}`, which you do not hold: you cannot grant or withdraw it",
                role.name
            ))
        })?;
    }
    Ok(())
}

/// Refuses to put `permissions` in a role unless the actor holds each of them.
pub fn ensure_may_grant_permissions(actor: &Access, permissions: &[String]) -> DomainResult<()> {
    if actor.is_superadmin {
        return Ok(());
    }
    match lacking(actor, permissions) {
        Some(missing) => {
            Err(DomainError::Forbidden(format!("you do not hold `{missing}`, so you cannot put it in a role")))
        }
        None => Ok(()),
    }
}

/// The first of `permissions` that `access` does not hold.
fn lacking<'a>(access: &Access, permissions: &'a [String]) -> Option<&'a str> {
    permissions.iter().find(|p| !access.permissions.contains(*p)).map(String::as_str)
}

/// Whether `user` holds the built-in `owner` role in `tenant`.
pub async fn holds_owner(store: &dyn Store, tenant: TenantId, user: UserId) -> DomainResult<bool> {
    let owner = store.get_role_by_name(tenant, OWNER).await?;
    Ok(store.list_user_roles(tenant, user).await?.iter().any(|a| a.role_id == owner.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(permissions: &[&str], is_superadmin: bool) -> Access {
        Access {
            user_id: UserId::new(),
            tenant_id: TenantId::new(),
            is_superadmin,
            permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn a_permission_the_actor_lacks_cannot_be_put_in_a_role() {
        let admin = access(&["members.manage", "roles.manage"], false);
        assert!(ensure_may_grant_permissions(&admin, &["members.manage".into()]).is_ok());
        let error = ensure_may_grant_permissions(&admin, &["members.manage".into(), "tenant.manage".into()]);
        assert!(matches!(error, Err(DomainError::Forbidden(message)) if message.contains("tenant.manage")));
        assert!(ensure_may_grant_permissions(&access(&[], true), &["tenant.manage".into()]).is_ok());
    }
}
