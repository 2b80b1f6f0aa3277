//! Tenants and their members: who may create, change and delete tenants, add and remove
//! members and set their roles. A tenant always keeps at least one owner. Every change is
//! written to the tenant's audit log.

use serde_json::json;

use crate::access::Access;
use crate::auth::{ClientInfo, Principal, resolve_access};
use crate::identity::{Membership, NewTenant, Role, Tenant, TenantPatch, User};
use crate::knowledge::NewAuditEntry;
use crate::repo::Store;
use crate::validate::{Slug, required_text};
use crate::{DomainError, DomainResult, Page, PageRequest, TenantId, UserId};

/// The caller's access in `tenant` (404 when they are not a member and not superadmin).
pub async fn access_in(store: &dyn Store, principal: &Principal, tenant: TenantId) -> DomainResult<Access> {
    resolve_access(store, principal, Some(&tenant.to_string())).await
}

/// A tenant by id or slug (for operators' commands; no access check).
pub async fn find_tenant(store: &dyn Store, hint: &str) -> DomainResult<Tenant> {
    match hint.parse::<TenantId>() {
        Ok(id) => store.get_tenant(id).await,
        Err(_) => store.get_tenant_by_slug(hint).await,
    }
}

/// Every tenant (for operators' commands; no access check).
pub async fn all_tenants(store: &dyn Store) -> DomainResult<Vec<Tenant>> {
    let mut tenants = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_tenants(PageRequest { limit: 100, after }).await?;
        after = page.items.last().map(|t| t.id.0);
        tenants.extend(page.items);
        if page.next_cursor.is_none() {
            return Ok(tenants);
        }
    }
}

/// Platform-wide powers need a superadmin's own login, not one of their API keys.
fn acts_as_superadmin(principal: &Principal) -> bool {
    principal.user.is_superadmin && principal.session_id().is_some()
}

pub(crate) fn require_superadmin(principal: &Principal) -> DomainResult<()> {
    if acts_as_superadmin(principal) {
        Ok(())
    } else {
        Err(DomainError::Forbidden("only a superadmin (logged in, not through an API key) may do this".into()))
    }
}

/// Superadmins see every tenant; others the tenants they belong to.
pub async fn list_tenants(store: &dyn Store, principal: &Principal, page: PageRequest) -> DomainResult<Page<Tenant>> {
    if acts_as_superadmin(principal) {
        return store.list_tenants(page).await;
    }
    let mut tenants = Vec::new();
    for membership in store.list_memberships_of_user(principal.user.id).await? {
        tenants.push(store.get_tenant(membership.tenant_id).await?);
    }
    tenants.sort_by_key(|t| std::cmp::Reverse(t.id));
    Ok(Page::from_sorted(tenants, page, |t| t.id.0))
}

/// Input of a new tenant; the slug is derived from the name when absent.
#[derive(Clone, Debug)]
pub struct TenantInput {
    pub name: String,
    pub slug: Option<String>,
    pub description: Option<String>,
}

pub async fn create_tenant(
    store: &dyn Store,
    principal: &Principal,
    input: TenantInput,
    client: &ClientInfo,
) -> DomainResult<Tenant> {
    require_superadmin(principal)?;
    let name = required_text("name", &input.name, 200)?;
    let slug = match input.slug.as_deref() {
        Some(slug) => Slug::parse(slug)?,
        None => Slug::from_name(&name)?,
    };
    let tenant =
        store.create_tenant(NewTenant { name, slug, description: input.description, is_default: false }).await?;
    let changes = json!({"name": tenant.name, "slug": tenant.slug});
    audit(
        store,
        tenant.id,
        principal,
        "tenant.create",
        "tenant",
        tenant.id.to_string(),
        "created the tenant",
        changes,
        client,
    )
    .await?;
    Ok(tenant)
}

pub async fn get_tenant(store: &dyn Store, principal: &Principal, tenant: TenantId) -> DomainResult<Tenant> {
    access_in(store, principal, tenant).await?;
    store.get_tenant(tenant).await
}

pub async fn update_tenant(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    input: TenantPatchInput,
    client: &ClientInfo,
) -> DomainResult<Tenant> {
    access_in(store, principal, tenant).await?.require("tenant.manage")?;
    let patch = TenantPatch {
        name: input.name.as_deref().map(|n| required_text("name", n, 200)).transpose()?,
        slug: input.slug.as_deref().map(Slug::parse).transpose()?,
        description: input.description,
        require_two_factor: input.require_two_factor,
    };
    let updated = store.update_tenant(tenant, patch).await?;
    let changes = json!({"name": updated.name, "slug": updated.slug, "description": updated.description,
        "require_two_factor": updated.require_two_factor});
    audit(
        store,
        tenant,
        principal,
        "tenant.update",
        "tenant",
        tenant.to_string(),
        "changed the tenant",
        changes,
        client,
    )
    .await?;
    Ok(updated)
}

/// Changes to a tenant as typed by a person.
#[derive(Clone, Debug, Default)]
pub struct TenantPatchInput {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub require_two_factor: Option<bool>,
}

/// Deletes a tenant and everything it owns; the default tenant stays.
pub async fn delete_tenant(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    client: &ClientInfo,
) -> DomainResult<()> {
    if !acts_as_superadmin(principal) {
        // Another tenant is NotFound, as everywhere; one's own is Forbidden.
        access_in(store, principal, tenant).await?;
    }
    require_superadmin(principal)?;
    let existing = store.get_tenant(tenant).await?;
    if existing.is_default {
        return Err(DomainError::invalid("id", "the default tenant cannot be deleted"));
    }
    store.delete_tenant(tenant).await?;
    let summary = format!("deleted the tenant {}", existing.slug);
    let entry = NewAuditEntry::new(
        Some(principal.user.id),
        "tenant.delete",
        ("tenant", Some(tenant.to_string())),
        summary,
        client,
    )
    .with_changes(json!({"slug": existing.slug}));
    store.append_audit(None, entry).await.map(|_| ())
}

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

/// One member with their roles (permission `members.manage`); non-members are `NotFound`.
pub async fn get_member(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    user: UserId,
) -> DomainResult<Member> {
    access_in(store, principal, tenant).await?.require("members.manage")?;
    let membership = store.get_membership(tenant, user).await.map_err(|_| DomainError::NotFound("user"))?;
    member(store, tenant, membership).await
}

pub async fn list_members(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    page: PageRequest,
) -> DomainResult<Page<Member>> {
    access_in(store, principal, tenant).await?.require("members.manage")?;
    let memberships = store.list_members(tenant, page).await?;
    let mut items = Vec::with_capacity(memberships.items.len());
    for membership in memberships.items {
        items.push(member(store, tenant, membership).await?);
    }
    Ok(Page { items, next_cursor: memberships.next_cursor })
}

/// Adds an existing account (by id, email or username) with the named roles.
pub async fn add_member(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    who: &str,
    roles: &[String],
    client: &ClientInfo,
) -> DomainResult<Member> {
    access_in(store, principal, tenant).await?.require("members.manage")?;
    let roles = named_roles(store, tenant, roles).await?;
    let user = match who.parse::<UserId>() {
        Ok(id) => store.get_user(id).await,
        Err(_) => store.find_user_by_login(who).await,
    }
    .map_err(|_| DomainError::invalid("user", "no account has this id, email or username"))?;
    let membership = store.add_member(tenant, user.id).await?;
    for role in &roles {
        store.assign_role(tenant, user.id, role.id, Some(principal.user.id)).await?;
    }
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    let summary = format!("added {} as {}", user.username, names.join(", "));
    audit(
        store,
        tenant,
        principal,
        "member.add",
        "user",
        user.id.to_string(),
        &summary,
        json!({"roles": names}),
        client,
    )
    .await?;
    member(store, tenant, membership).await
}

/// Removes a member and their roles here; never the last owner.
pub async fn remove_member(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    user: UserId,
    client: &ClientInfo,
) -> DomainResult<()> {
    access_in(store, principal, tenant).await?.require("members.manage")?;
    store.get_membership(tenant, user).await?;
    ensure_an_owner_remains(store, tenant, user, &[]).await?;
    store.remove_member(tenant, user).await?;
    audit(store, tenant, principal, "member.remove", "user", user.to_string(), "removed a member", json!({}), client)
        .await
}

/// Replaces a member's roles here; the last owner keeps `owner`.
pub async fn set_member_roles(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    user: UserId,
    roles: &[String],
    client: &ClientInfo,
) -> DomainResult<Member> {
    access_in(store, principal, tenant).await?.require("members.manage")?;
    let membership = store.get_membership(tenant, user).await?;
    let wanted = named_roles(store, tenant, roles).await?;
    ensure_an_owner_remains(store, tenant, user, &wanted).await?;
    let current = store.list_user_roles(tenant, user).await?;
    for assignment in &current {
        if !wanted.iter().any(|role| role.id == assignment.role_id) {
            store.unassign_role(tenant, user, assignment.role_id).await?;
        }
    }
    for role in &wanted {
        if !current.iter().any(|assignment| assignment.role_id == role.id) {
            store.assign_role(tenant, user, role.id, Some(principal.user.id)).await?;
        }
    }
    let names: Vec<&str> = wanted.iter().map(|r| r.name.as_str()).collect();
    let summary = format!("set roles to {}", names.join(", "));
    audit(store, tenant, principal, "role.assign", "user", user.to_string(), &summary, json!({"roles": names}), client)
        .await?;
    member(store, tenant, membership).await
}

async fn named_roles(store: &dyn Store, tenant: TenantId, names: &[String]) -> DomainResult<Vec<Role>> {
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

/// Refuses a change that would leave the tenant without an owner: `user` is about to hold
/// exactly `keeps` here.
async fn ensure_an_owner_remains(
    store: &dyn Store,
    tenant: TenantId,
    user: UserId,
    keeps: &[Role],
) -> DomainResult<()> {
    let owner = store.get_role_by_name(tenant, "owner").await?;
    if keeps.iter().any(|role| role.id == owner.id) {
        return Ok(());
    }
    let holds_owner = store.list_user_roles(tenant, user).await?.iter().any(|a| a.role_id == owner.id);
    if holds_owner && store.count_role_holders(tenant, owner.id).await? <= 1 {
        return Err(DomainError::Conflict("the last owner of a tenant cannot be removed or demoted".into()));
    }
    Ok(())
}

#[expect(clippy::too_many_arguments, reason = "one audit line has this many parts")]
async fn audit(
    store: &dyn Store,
    tenant: TenantId,
    principal: &Principal,
    action: &str,
    target_type: &str,
    target_id: String,
    summary: &str,
    changes: serde_json::Value,
    client: &ClientInfo,
) -> DomainResult<()> {
    let entry = NewAuditEntry::new(Some(principal.user.id), action, (target_type, Some(target_id)), summary, client)
        .with_changes(changes);
    store.append_audit(Some(tenant), entry).await.map(|_| ())
}
