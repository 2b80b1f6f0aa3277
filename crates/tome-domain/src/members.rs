//! A tenant's members: list, add (superadmins; others invite), remove, suspend and set their
//! roles. A tenant always keeps an owner; nobody acts on a member with more authority than
//! their own (`authority`); every change is written with its audit entry in one transaction.

use serde_json::{Value, json};

use crate::auth::{ClientInfo, Principal};
use crate::authority::{self, OWNER, Standing};
use crate::identity::{AccessChange, Membership, Role, User};
use crate::knowledge::NewAuditEntry;
use crate::repo::Store;
use crate::tenancy::{access_in, require_superadmin};
use crate::{DomainError, DomainResult, Page, PageRequest, TenantId, UserId};

/// A member with their roles in the tenant.
#[derive(Clone, Debug)]
pub struct Member {
    pub membership: Membership,
    pub user: User,
    pub roles: Vec<Role>,
}

async fn member(store: &dyn Store, tenant: TenantId, membership: Membership) -> DomainResult<Member> {
    let user = store.get_user(membership.user_id).await?;
    let mut roles = Vec::new();
    for assignment in store.list_user_roles(tenant, membership.user_id).await? {
        roles.push(store.get_role(tenant, assignment.role_id).await?);
    }
    Ok(Member { membership, user, roles })
}

/// The caller's standing in `tenant`, which must include `members.manage`.
async fn manager(store: &dyn Store, principal: &Principal, tenant: TenantId) -> DomainResult<Standing> {
    let access = access_in(store, principal, tenant).await?;
    access.require("members.manage")?;
    Standing::of(store, access).await
}

/// One member with their roles (permission `members.manage`); non-members are `NotFound`.
pub async fn get_member(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    user: UserId,
) -> DomainResult<Member> {
    manager(store, principal, tenant).await?;
    let membership = store.get_membership(tenant, user).await.map_err(|_| DomainError::NotFound("user"))?;
    member(store, tenant, membership).await
}

pub async fn list_members(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    page: PageRequest,
) -> DomainResult<Page<Member>> {
    manager(store, principal, tenant).await?;
    let memberships = store.list_members(tenant, page).await?;
    let mut items = Vec::with_capacity(memberships.items.len());
    for membership in memberships.items {
        items.push(member(store, tenant, membership).await?);
    }
    Ok(Page { items, next_cursor: memberships.next_cursor })
}

/// Adds an existing account (by id, email or username) with the named roles: a platform
/// action, for superadmins. Tenant administrators invite instead (`invitations`), so that
/// nobody is made a member of a tenant without accepting.
pub async fn add_member(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    who: &str,
    roles: &[String],
    client: &ClientInfo,
) -> DomainResult<Member> {
    let access = access_in(store, principal, tenant).await?;
    access.require("members.manage")?;
    require_superadmin(principal).map_err(|_| {
        DomainError::Forbidden(
            "only a superadmin adds an account directly: invite them with POST /api/v1/tenants/{id}/invitations".into(),
        )
    })?;
    let roles = named_roles(store, tenant, roles).await?;
    let user = match who.parse::<UserId>() {
        Ok(id) => store.get_user(id).await,
        Err(_) => store.find_user_by_login(who).await,
    }
    .map_err(|_| DomainError::invalid("user", "no account has this id, email or username"))?;
    let names = role_names(&roles);
    let summary = format!("added {} as {}", user.username, names.join(", "));
    let change = AccessChange::AddMember {
        tenant,
        user: user.id,
        roles: roles.iter().map(|r| r.id).collect(),
        by: Some(principal.user.id),
        invitation: None,
    };
    let entry = entry(principal.user.id, "member.add", user.id, summary, json!({"roles": names}), client);
    store.apply_access_change(change, Some(tenant), entry).await?;
    member(store, tenant, store.get_membership(tenant, user.id).await?).await
}

/// Removes a member and their roles here; never the last owner, never someone with more
/// authority than the caller. Anyone may leave a tenant.
pub async fn remove_member(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    user: UserId,
    client: &ClientInfo,
) -> DomainResult<()> {
    let leaving = user == principal.user.id;
    let access = access_in(store, principal, tenant).await?;
    if !leaving {
        access.require("members.manage")?;
    }
    let actor = Standing::of(store, access).await?;
    store.get_membership(tenant, user).await.map_err(|_| DomainError::NotFound("user"))?;
    let target = store.get_user(user).await?;
    if !leaving {
        authority::ensure_outranks(store, &actor, &target).await?;
    }
    ensure_an_owner_remains(store, tenant, user, &[]).await?;
    let (action, summary) =
        if leaving { ("member.leave", "left the tenant") } else { ("member.remove", "removed a member") };
    let entry =
        entry(principal.user.id, action, user, summary.to_owned(), json!({"username": target.username}), client);
    store.apply_access_change(AccessChange::RemoveMember { tenant, user }, Some(tenant), entry).await
}

/// Suspends (or restores) a membership: the account cannot act in this tenant while it is
/// suspended; its other tenants, sessions and the account itself are untouched.
pub async fn suspend_member(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    user: UserId,
    suspended: bool,
    client: &ClientInfo,
) -> DomainResult<Member> {
    let actor = manager(store, principal, tenant).await?;
    if user == principal.user.id {
        return Err(DomainError::invalid("user_id", "you cannot suspend your own membership"));
    }
    store.get_membership(tenant, user).await.map_err(|_| DomainError::NotFound("user"))?;
    let target = store.get_user(user).await?;
    authority::ensure_outranks(store, &actor, &target).await?;
    if suspended {
        ensure_an_owner_remains(store, tenant, user, &[]).await?;
    }
    let (action, summary) =
        if suspended { ("member.suspend", "suspended a member") } else { ("member.restore", "restored a member") };
    let entry =
        entry(principal.user.id, action, user, summary.to_owned(), json!({"username": target.username}), client);
    store.apply_access_change(AccessChange::SuspendMember { tenant, user, suspended }, Some(tenant), entry).await?;
    member(store, tenant, store.get_membership(tenant, user).await?).await
}

/// Replaces a member's roles here: the last owner keeps `owner`, only owners make or unmake
/// owners, and nobody grants or withdraws a role carrying a permission they lack.
pub async fn set_member_roles(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    user: UserId,
    roles: &[String],
    client: &ClientInfo,
) -> DomainResult<Member> {
    let actor = manager(store, principal, tenant).await?;
    let membership = store.get_membership(tenant, user).await.map_err(|_| DomainError::NotFound("user"))?;
    let target = store.get_user(user).await?;
    if user != principal.user.id {
        authority::ensure_outranks(store, &actor, &target).await?;
    }
    let wanted = named_roles(store, tenant, roles).await?;
    ensure_an_owner_remains(store, tenant, user, &wanted).await?;
    let current = store.list_user_roles(tenant, user).await?;
    let unassign: Vec<_> =
        current.iter().map(|a| a.role_id).filter(|id| !wanted.iter().any(|role| role.id == *id)).collect();
    let assign: Vec<_> = wanted.iter().map(|r| r.id).filter(|id| !current.iter().any(|a| a.role_id == *id)).collect();
    let mut touched: Vec<Role> = wanted.iter().filter(|role| assign.contains(&role.id)).cloned().collect();
    for id in &unassign {
        touched.push(store.get_role(tenant, *id).await?);
    }
    authority::ensure_may_grant(store, &actor, &touched).await?;
    let names = role_names(&wanted);
    let summary = format!("set roles of {} to {}", target.username, names.join(", "));
    let change = AccessChange::SetRoles { tenant, user, assign, unassign, by: Some(principal.user.id) };
    let entry = entry(principal.user.id, "role.assign", user, summary, json!({"roles": names}), client);
    store.apply_access_change(change, Some(tenant), entry).await?;
    member(store, tenant, membership).await
}

pub(crate) async fn named_roles(store: &dyn Store, tenant: TenantId, names: &[String]) -> DomainResult<Vec<Role>> {
    if names.len() > 32 {
        return Err(DomainError::invalid("roles", "at most 32 roles"));
    }
    let mut roles: Vec<Role> = Vec::new();
    for name in names {
        let role = store
            .get_role_by_name(tenant, name)
            .await
            .map_err(|_| DomainError::invalid("roles", format!("there is no role `{name}` here")))?;
        if !roles.iter().any(|r| r.id == role.id) {
            roles.push(role);
        }
    }
    Ok(roles)
}

pub(crate) fn role_names(roles: &[Role]) -> Vec<&str> {
    roles.iter().map(|r| r.name.as_str()).collect()
}

/// Refuses a change that would leave the tenant without an owner: `user` is about to hold
/// exactly `keeps` here.
async fn ensure_an_owner_remains(
    store: &dyn Store,
    tenant: TenantId,
    user: UserId,
    keeps: &[Role],
) -> DomainResult<()> {
    let owner = store.get_role_by_name(tenant, OWNER).await?;
    if keeps.iter().any(|role| role.id == owner.id) {
        return Ok(());
    }
    let holds_owner = store.list_user_roles(tenant, user).await?.iter().any(|a| a.role_id == owner.id);
    if holds_owner && store.count_role_holders(tenant, owner.id).await? <= 1 {
        return Err(DomainError::Conflict("the last owner of a tenant cannot be removed, demoted or suspended".into()));
    }
    Ok(())
}

/// An audit entry about a member (`user`), by `actor`.
pub(crate) fn entry(
    actor: UserId,
    action: &str,
    user: UserId,
    summary: String,
    changes: Value,
    client: &ClientInfo,
) -> NewAuditEntry {
    NewAuditEntry::new(Some(actor), action, ("user", Some(user.to_string())), summary, client).with_changes(changes)
}

/// The caller's own membership of `tenant`, with its roles (no permission needed).
pub(crate) async fn get_own_membership(store: &dyn Store, tenant: TenantId, user: UserId) -> DomainResult<Member> {
    member(store, tenant, store.get_membership(tenant, user).await?).await
}
