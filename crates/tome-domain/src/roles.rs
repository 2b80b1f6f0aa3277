//! A tenant's roles: the built-in ones (read-only) and its own, with their permissions.

use serde_json::json;

use crate::access::Access;
use crate::auth::ClientInfo;
use crate::authority;
use crate::identity::{NewRole, Role, RolePatch};
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
    let role = store.create_role(access.tenant_id, NewRole { name, description }).await?;
    if let Err(error) = store.set_role_permissions(access.tenant_id, role.id, permissions).await {
        // Unknown permission names: leave no half-made role behind.
        store.delete_role(access.tenant_id, role.id).await?;
        return Err(error);
    }
    audit(store, access, "role.create", role.id, &format!("created the role {}", role.name), permissions, client)
        .await?;
    view(store, access, role).await
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
    authority::ensure_may_grant_permissions(access, &store.role_permissions(access.tenant_id, id).await?)?;
    if let Some(permissions) = &permissions {
        authority::ensure_may_grant_permissions(access, permissions)?;
    }
    let description = patch.description.map(|d| optional_text("description", d, 1000)).transpose()?;
    let patch = RolePatch { description, ..patch };
    let patch = RolePatch { name: patch.name.as_deref().map(|n| required_text("name", n, 64)).transpose()?, ..patch };
    let role = store.update_role(access.tenant_id, id, patch).await?;
    if let Some(permissions) = &permissions {
        store.set_role_permissions(access.tenant_id, id, permissions).await?;
    }
    let view = view(store, access, role).await?;
    let summary = format!("changed the role {}", view.role.name);
    audit(store, access, "role.update", id, &summary, &view.permissions, client).await?;
    Ok(view)
}

pub async fn delete_role(store: &dyn Store, access: &Access, id: RoleId, client: &ClientInfo) -> DomainResult<()> {
    access.require("roles.manage")?;
    let role = store.get_role(access.tenant_id, id).await?;
    authority::ensure_may_grant_permissions(access, &store.role_permissions(access.tenant_id, id).await?)?;
    store.delete_role(access.tenant_id, id).await?;
    audit(store, access, "role.delete", id, &format!("deleted the role {}", role.name), &[], client).await
}

async fn audit(
    store: &dyn Store,
    access: &Access,
    action: &str,
    role: RoleId,
    summary: &str,
    permissions: &[String],
    client: &ClientInfo,
) -> DomainResult<()> {
    let changes = json!({"permissions": permissions});
    crate::audit::record(store, access, action, ("role", role.to_string()), summary.to_owned(), changes, client).await
}
