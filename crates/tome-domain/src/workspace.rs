//! A tenant's folders (a tree kept with materialized paths) and projects. Members read them;
//! `projects.manage` creates, changes and deletes them. Every write is audited.

use serde_json::{Value, json};

use crate::access::Access;
use crate::audit;
use crate::auth::ClientInfo;
use crate::organization::{Folder, FolderPatch, NewFolder, NewProject, Project, ProjectFilter, ProjectPatch};
use crate::repo::Store;
use crate::validate::required_text;
use crate::{DomainError, DomainResult, FolderId, Page, PageRequest, ProjectId};

const MANAGE: &str = "projects.manage";

/// A folder name: 1–255 characters, no `/` (it separates the path).
fn folder_name(raw: &str) -> DomainResult<String> {
    let name = required_text("name", raw, 255)?;
    if name.contains('/') {
        return Err(DomainError::invalid("name", "must not contain `/`"));
    }
    Ok(name)
}

/// An icon: an emoji or a short name, at most 64 characters.
fn icon(raw: Option<String>) -> DomainResult<Option<String>> {
    raw.map(|icon| required_text("icon", &icon, 64)).transpose()
}

fn description(raw: Option<String>) -> DomainResult<Option<String>> {
    match raw {
        Some(text) if text.chars().count() > 2000 => {
            Err(DomainError::invalid("description", "must be at most 2000 characters"))
        }
        other => Ok(other),
    }
}

pub async fn list_folders(
    store: &dyn Store,
    access: &Access,
    parent: Option<FolderId>,
    page: PageRequest,
) -> DomainResult<Page<Folder>> {
    store.list_folders(access.tenant_id, parent, page).await
}

pub async fn get_folder(store: &dyn Store, access: &Access, id: FolderId) -> DomainResult<Folder> {
    store.get_folder(access.tenant_id, id).await
}

pub async fn create_folder(
    store: &dyn Store,
    access: &Access,
    parent_id: Option<FolderId>,
    name: &str,
    client: &ClientInfo,
) -> DomainResult<Folder> {
    access.require(MANAGE)?;
    let new = NewFolder { parent_id, name: folder_name(name)?, created_by: Some(access.user_id) };
    let folder = store.create_folder(access.tenant_id, new).await?;
    let summary = format!("created the folder {}", folder.path);
    let changes = json!({"path": folder.path});
    audit::record(store, access, "folder.create", ("folder", folder.id.to_string()), summary, changes, client).await?;
    Ok(folder)
}

/// Renames and/or moves a folder; its subtree's paths follow.
pub async fn update_folder(
    store: &dyn Store,
    access: &Access,
    id: FolderId,
    patch: FolderPatch,
    client: &ClientInfo,
) -> DomainResult<Folder> {
    access.require(MANAGE)?;
    let patch = FolderPatch { name: patch.name.as_deref().map(folder_name).transpose()?, ..patch };
    let before = store.get_folder(access.tenant_id, id).await?;
    let folder = store.update_folder(access.tenant_id, id, patch).await?;
    let summary = format!("changed the folder {} to {}", before.path, folder.path);
    let changes = json!({"path": {"from": before.path, "to": folder.path}});
    audit::record(store, access, "folder.update", ("folder", id.to_string()), summary, changes, client).await?;
    Ok(folder)
}

/// Deletes a folder with its subfolders; projects in them stay, without a folder.
pub async fn delete_folder(store: &dyn Store, access: &Access, id: FolderId, client: &ClientInfo) -> DomainResult<()> {
    access.require(MANAGE)?;
    let folder = store.get_folder(access.tenant_id, id).await?;
    store.delete_folder(access.tenant_id, id).await?;
    let summary = format!("deleted the folder {}", folder.path);
    audit::record(store, access, "folder.delete", ("folder", id.to_string()), summary, Value::Null, client).await
}

pub async fn list_projects(
    store: &dyn Store,
    access: &Access,
    filter: ProjectFilter,
    page: PageRequest,
) -> DomainResult<Page<Project>> {
    store.list_projects(access.tenant_id, filter, page).await
}

pub async fn get_project(store: &dyn Store, access: &Access, id: ProjectId) -> DomainResult<Project> {
    store.get_project(access.tenant_id, id).await
}

/// What a new project or a change to one says; absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct ProjectInput {
    pub name: Option<String>,
    pub folder_id: Option<Option<FolderId>>,
    pub description: Option<Option<String>>,
    pub icon: Option<Option<String>>,
}

pub async fn create_project(
    store: &dyn Store,
    access: &Access,
    input: ProjectInput,
    client: &ClientInfo,
) -> DomainResult<Project> {
    access.require(MANAGE)?;
    let name = required_text("name", input.name.as_deref().unwrap_or_default(), 255)?;
    let new = NewProject {
        folder_id: input.folder_id.flatten(),
        name,
        description: description(input.description.flatten())?,
        icon: icon(input.icon.flatten())?,
        created_by: Some(access.user_id),
    };
    let project = store.create_project(access.tenant_id, new).await?;
    let summary = format!("created the project {}", project.name);
    let changes = json!({"name": project.name, "folder_id": project.folder_id});
    audit::record(store, access, "project.create", ("project", project.id.to_string()), summary, changes, client)
        .await?;
    Ok(project)
}

pub async fn update_project(
    store: &dyn Store,
    access: &Access,
    id: ProjectId,
    input: ProjectInput,
    client: &ClientInfo,
) -> DomainResult<Project> {
    access.require(MANAGE)?;
    let patch = ProjectPatch {
        modified_by: access.user_id,
        name: input.name.as_deref().map(|n| required_text("name", n, 255)).transpose()?,
        folder_id: input.folder_id,
        description: input.description.map(description).transpose()?,
        icon: input.icon.map(icon).transpose()?,
    };
    let before = store.get_project(access.tenant_id, id).await?;
    let project = store.update_project(access.tenant_id, id, patch).await?;
    let summary = format!("changed the project {}", project.name);
    let changes = diff(&before, &project);
    audit::record(store, access, "project.update", ("project", id.to_string()), summary, changes, client).await?;
    Ok(project)
}

pub async fn delete_project(
    store: &dyn Store,
    access: &Access,
    id: ProjectId,
    client: &ClientInfo,
) -> DomainResult<()> {
    access.require(MANAGE)?;
    let project = store.get_project(access.tenant_id, id).await?;
    store.delete_project(access.tenant_id, id).await?;
    let summary = format!("deleted the project {}", project.name);
    audit::record(store, access, "project.delete", ("project", id.to_string()), summary, Value::Null, client).await
}

/// The fields that differ, as `{"field": {"from": …, "to": …}}`.
fn diff(before: &Project, after: &Project) -> Value {
    let pairs = [
        ("name", json!(before.name), json!(after.name)),
        ("folder_id", json!(before.folder_id), json!(after.folder_id)),
        ("description", json!(before.description), json!(after.description)),
        ("icon", json!(before.icon), json!(after.icon)),
    ];
    let changed = pairs.into_iter().filter(|(_, from, to)| from != to);
    Value::Object(changed.map(|(field, from, to)| (field.to_owned(), json!({"from": from, "to": to}))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_with_a_slash_are_rejected() {
        assert!(folder_name("a/b").is_err());
        assert!(folder_name("  ").is_err());
        assert_eq!(folder_name(" Reports ").ok().as_deref(), Some("Reports"));
    }
}
