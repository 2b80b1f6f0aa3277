//! Tenants: who may create, change and delete them, and the access of a principal in one.
//! Every change is written to the tenant's audit log. Members are `members`' job.

use serde_json::json;

use crate::access::Access;
use crate::auth::{ClientInfo, Principal, resolve_access};
use crate::identity::{NewTenant, Tenant, TenantPatch};
use crate::knowledge::NewAuditEntry;
use crate::repo::Store;
use crate::validate::{Slug, optional_text, required_text};
use crate::{DomainError, DomainResult, Page, PageRequest, TenantId};

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
pub(crate) fn acts_as_superadmin(principal: &Principal) -> bool {
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
        if membership.suspended_at.is_some() {
            continue;
        }
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
    let description = optional_text("description", input.description, 1000)?;
    let tenant = store.create_tenant(NewTenant { name, slug, description, is_default: false }).await?;
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
        description: input.description.map(|d| optional_text("description", d, 1000)).transpose()?,
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
