//! A tenant's roles: the built-in ones (read-only) and its own, with their permissions.

use serde_json::json;

use crate::access::Access;
use crate::auth::ClientInfo;
use crate::authority;
use crate::identity::{NewRole, Role, RolePatch};
use crate::knowledge::NewAuditEntry;
use crate::outbox::Write;
use crate::repo::Store;
use crate::validate::{optional_text, required_text};
use crate::{DomainResult, RoleId};

/// A role with its permissions.
#[derive(Clone, Debug)]
pub struct RoleView {
    pub role: Role,
    pub permissions: Vec<String>,
}

async fn view(store: &dyn Store, access: &Access, role: Role) -> DomainResult<RoleView> {
    let permissions = store.role_permissions(access.tenant_id, role.id).await?;
    Ok(RoleView { role, permissions })
}

pub async fn list_roles(store: &dyn Store, access: &Access) -> DomainResult<Vec<RoleView>> {
    let mut views = Vec::new();
    for role in store.list_roles(access.tenant_id).await? {
        views.push(view(store, access, role).await?);
    }
    Ok(views)
}

pub async fn get_role(store: &dyn Store, access: &Access, id: RoleId) -> DomainResult<RoleView> {
    let role = store.get_role(access.tenant_id, id).await?;
    view(store, access, role).await
}

pub async fn create_role(
    store: &dyn Store,
    access: &Access,
    name: &str,
    description: Option<String>,
    permissions: &[String],
    client: &ClientInfo,
) -> DomainResult<RoleView> {
    access.require("roles.manage")?;
    authority::ensure_may_grant_permissions(access, permissions)?;
    let name = required_text("name", name, 64)?;
    let description = optional_text("description", description, 1000)?;
    let id = RoleId::new();
    let entry = entry(access, "role.create", id, format!("created the role {name}"), permissions, client);
    let create = Write::CreateRole { id, new: NewRole { name, description }, permissions: permissions.to_vec() };
    // The role, its permissions and the audit line commit together: no half-made role.
    store.write_unit(access.tenant_id, vec![create], Some(entry)).await?;
    get_role(store, access, id).await
}

pub async fn update_role(
    store: &dyn Store,
    access: &Access,
    id: RoleId,
    patch: RolePatch,
    permissions: Option<Vec<String>>,
    client: &ClientInfo,
) -> DomainResult<RoleView> {
    access.require("roles.manage")?;
    // Editing a role that carries more than the editor holds would grant by proxy.
    let before = get_role(store, access, id).await?;
    authority::ensure_may_grant_permissions(access, &before.permissions)?;
    if let Some(permissions) = &permissions {
        authority::ensure_may_grant_permissions(access, permissions)?;
    }
    let description = patch.description.map(|d| optional_text("description", d, 1000)).transpose()?;
    let name = patch.name.as_deref().map(|n| required_text("name", n, 64)).transpose()?;
    let shown = name.clone().unwrap_or_else(|| before.role.name.clone());
    let after = permissions.clone().unwrap_or_else(|| before.permissions.clone());
    let entry = entry(access, "role.update", id, format!("changed the role {shown}"), &after, client);
    let change = Write::ChangeRole { id, patch: RolePatch { name, description }, permissions };
    store.write_unit(access.tenant_id, vec![change], Some(entry)).await?;
    get_role(store, access, id).await
}

pub async fn delete_role(store: &dyn Store, access: &Access, id: RoleId, client: &ClientInfo) -> DomainResult<()> {
    access.require("roles.manage")?;
    let before = get_role(store, access, id).await?;
    authority::ensure_may_grant_permissions(access, &before.permissions)?;
    let entry = entry(access, "role.delete", id, format!("deleted the role {}", before.role.name), &[], client);
    store.write_unit(access.tenant_id, vec![Write::DeleteRole { id }], Some(entry)).await
}

fn entry(
    access: &Access,
    action: &str,
    role: RoleId,
    summary: String,
    permissions: &[String],
    client: &ClientInfo,
) -> NewAuditEntry {
    let changes = json!({"permissions": permissions});
    crate::audit::entry(Some(access.user_id), action, ("role", role.to_string()), summary, changes, client)
}
