//! Folders (a tree with materialized paths) and projects.

use async_trait::async_trait;
use tome_domain::organization::{Folder, FolderPatch, NewFolder, NewProject, Project, ProjectFilter, ProjectPatch};
use tome_domain::repo::OrganizationRepo;
use tome_domain::{DomainError, DomainResult, FolderId, Page, PageRequest, ProjectId, TenantId, now};

use crate::SqlStore;
use crate::sql::{Sets, Sql, values};

const FOLDER: &str = "id, tenant_id, parent_id, name, path, created_by, created_at, updated_at";
const PROJECT: &str =
    "id, tenant_id, folder_id, name, description, icon, created_by, last_modified_by, created_at, updated_at";

impl SqlStore {
    /// The path of a folder named `name` under `parent` (root when None).
    async fn child_path(&self, tenant: TenantId, parent: Option<FolderId>, name: &str) -> DomainResult<String> {
        if name.contains('/') {
            return Err(DomainError::invalid("name", "must not contain '/'"));
        }
        match parent {
            None => Ok(format!("/{name}")),
            Some(parent) => {
                let parent =
                    self.get_folder(tenant, parent).await.map_err(|_| DomainError::NotFound("parent folder"))?;
                Ok(format!("{}/{name}", parent.path))
            }
        }
    }
}

#[async_trait]
impl OrganizationRepo for SqlStore {
    async fn create_folder(&self, tenant: TenantId, new: NewFolder) -> DomainResult<Folder> {
        let path = self.child_path(tenant, new.parent_id, &new.name).await?;
        let now = now();
        let values = values![
            "id" => FolderId::new(), "tenant_id" => tenant, "parent_id" => new.parent_id, "name" => new.name,
            "path" => path, "created_by" => new.created_by, "created_at" => now, "updated_at" => now,
        ];
        self.one("folder", Sql::insert("folders", values, FOLDER)).await
    }

    async fn get_folder(&self, tenant: TenantId, id: FolderId) -> DomainResult<Folder> {
        let sql = Sql::new(format!("SELECT {FOLDER} FROM folders WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND id = ")
            .bind(id);
        self.one("folder", sql).await
    }

    async fn list_folders(
        &self,
        tenant: TenantId,
        parent: Option<FolderId>,
        page: PageRequest,
    ) -> DomainResult<Page<Folder>> {
        let sql = Sql::new(format!("SELECT {FOLDER} FROM folders WHERE tenant_id = ")).bind(tenant);
        let sql = match parent {
            Some(parent) => sql.push(" AND parent_id = ").bind(parent),
            None => sql.push(" AND parent_id IS NULL"),
        };
        self.page_of("folder", sql, page, |f: &Folder| f.id.0).await
    }

    async fn update_folder(&self, tenant: TenantId, id: FolderId, patch: FolderPatch) -> DomainResult<Folder> {
        let folder = self.get_folder(tenant, id).await?;
        let name = patch.name.unwrap_or_else(|| folder.name.clone());
        let parent = patch.parent_id.unwrap_or(folder.parent_id);
        let new_path = self.child_path(tenant, parent, &name).await?;
        let subtree = format!("{}/", folder.path);
        if parent == Some(id) || new_path.starts_with(&subtree) {
            return Err(DomainError::invalid("parent_id", "a folder cannot be moved into itself or its subfolders"));
        }
        let now = now();
        let old_prefix_chars = i64::try_from(subtree.chars().count()).unwrap_or(i64::MAX);
        let statements = vec![
            Sql::update(
                "folders",
                vec![("name", name.into()), ("parent_id", parent.into()), ("path", new_path.clone().into())],
                now,
            )
            .push("tenant_id = ")
            .bind(tenant)
            .push(" AND id = ")
            .bind(id),
            // Descendants keep their place in the tree: rewrite the prefix of their paths.
            Sql::new("UPDATE folders SET path = ")
                .bind(format!("{new_path}/"))
                .push(" || substr(path, CAST(")
                .bind(old_prefix_chars + 1)
                .push(" AS INTEGER)), updated_at = ")
                .bind(now)
                .push(" WHERE tenant_id = ")
                .bind(tenant)
                .push(" AND substr(path, 1, CAST(")
                .bind(old_prefix_chars)
                .push(" AS INTEGER)) = ")
                .bind(subtree),
        ];
        self.transaction("folder", statements).await?;
        self.get_folder(tenant, id).await
    }

    async fn delete_folder(&self, tenant: TenantId, id: FolderId) -> DomainResult<()> {
        let sql = Sql::new("DELETE FROM folders WHERE tenant_id = ").bind(tenant).push(" AND id = ").bind(id);
        self.exec_one("folder", sql).await
    }

    async fn create_project(&self, tenant: TenantId, new: NewProject) -> DomainResult<Project> {
        self.ensure_in_tenant("folder", "folders", tenant, new.folder_id.map(|f| f.0)).await?;
        let now = now();
        let values = values![
            "id" => ProjectId::new(), "tenant_id" => tenant, "folder_id" => new.folder_id, "name" => new.name,
            "description" => new.description, "icon" => new.icon, "created_by" => new.created_by,
            "last_modified_by" => new.created_by, "created_at" => now, "updated_at" => now,
        ];
        self.one("project", Sql::insert("projects", values, PROJECT)).await
    }

    async fn get_project(&self, tenant: TenantId, id: ProjectId) -> DomainResult<Project> {
        let sql = Sql::new(format!("SELECT {PROJECT} FROM projects WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND id = ")
            .bind(id);
        self.one("project", sql).await
    }

    async fn list_projects(
        &self,
        tenant: TenantId,
        filter: ProjectFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Project>> {
        let sql = Sql::new(format!("SELECT {PROJECT} FROM projects WHERE tenant_id = "))
            .bind(tenant)
            .and_eq("folder_id", filter.folder_id);
        self.page_of("project", sql, page, |p: &Project| p.id.0).await
    }

    async fn update_project(&self, tenant: TenantId, id: ProjectId, patch: ProjectPatch) -> DomainResult<Project> {
        if let Some(folder) = patch.folder_id {
            self.ensure_in_tenant("folder", "folders", tenant, folder.map(|f| f.0)).await?;
        }
        let sets = Sets::default()
            .set("last_modified_by", Some(patch.modified_by))
            .set("folder_id", patch.folder_id)
            .set("name", patch.name)
            .set("description", patch.description)
            .set("icon", patch.icon);
        let sql = Sql::update("projects", sets.0, now())
            .push("tenant_id = ")
            .bind(tenant)
            .push(" AND id = ")
            .bind(id)
            .push(format!(" RETURNING {PROJECT}"));
        self.one("project", sql).await
    }

    async fn delete_project(&self, tenant: TenantId, id: ProjectId) -> DomainResult<()> {
        let sql = Sql::new("DELETE FROM projects WHERE tenant_id = ").bind(tenant).push(" AND id = ").bind(id);
        self.exec_one("project", sql).await
    }
}
