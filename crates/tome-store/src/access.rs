//! Memberships, roles, the permission catalog, role assignment and effective permissions.

use async_trait::async_trait;
use tome_domain::identity::{AccessChange, Invitation, Membership, NewRole, Permission, Role, RolePatch, UserRole};
use tome_domain::knowledge::NewAuditEntry;
use tome_domain::repo::AccessRepo;
use tome_domain::{
    DomainError, DomainResult, InvitationId, MembershipId, Page, PageRequest, RoleId, TenantId, UserId, UserRoleId, now,
};

use crate::SqlStore;
use crate::audit::Change;
use crate::pool::{Count, Name};
use crate::sql::{Sets, Sql, values};

const MEMBERSHIP: &str = "id, tenant_id, user_id, suspended_at, created_at, updated_at";
pub(crate) const ROLE: &str = "id, tenant_id, name, description, created_at, updated_at";
const PERMISSION: &str = "id, name, description, created_at";
const USER_ROLE: &str = "id, tenant_id, user_id, role_id, assigned_by, assigned_at";

impl SqlStore {
    /// A role of the tenant itself; built-in roles are read-only.
    async fn own_role(&self, tenant: TenantId, id: RoleId) -> DomainResult<Role> {
        let role = self.get_role(tenant, id).await?;
        if role.tenant_id.is_none() {
            return Err(DomainError::Forbidden("built-in roles cannot be changed".into()));
        }
        Ok(role)
    }

    /// Replaces a role's permissions, checked against the catalog.
    pub(crate) async fn write_role_permissions(&self, role: RoleId, permissions: &[String]) -> DomainResult<()> {
        let statements = self.role_permission_changes(role, permissions).await?.into_iter().map(|c| c.sql).collect();
        self.transaction("role", statements).await.map(|_| ())
    }

    /// The statements that make `permissions` (checked against the catalog) a role's whole set.
    async fn role_permission_changes(&self, role: RoleId, permissions: &[String]) -> DomainResult<Vec<Change>> {
        let catalog: Vec<String> = self.list_permissions().await?.into_iter().map(|p| p.name).collect();
        if let Some(unknown) = permissions.iter().find(|p| !catalog.contains(p)) {
            return Err(DomainError::invalid("permissions", format!("unknown permission `{unknown}`")));
        }
        let now = now();
        let mut changes = vec![Change::any(Sql::new("DELETE FROM role_permissions WHERE role_id = ").bind(role))];
        for permission in permissions {
            changes.push(Change::any(
                Sql::new("INSERT INTO role_permissions (role_id, permission_id, created_at) SELECT ")
                    .bind(role)
                    .push(", id, ")
                    .bind(now)
                    .push(" FROM permissions WHERE name = ")
                    .bind(permission)
                    .push(" ON CONFLICT DO NOTHING"),
            ));
        }
        Ok(changes)
    }

    /// A new role of the tenant with its permissions (outbox `Write::CreateRole`).
    pub(crate) async fn create_role_changes(
        &self,
        tenant: TenantId,
        id: RoleId,
        new: NewRole,
        permissions: &[String],
    ) -> DomainResult<Vec<Change>> {
        if self.get_role_by_name(tenant, &new.name).await.is_ok() {
            return Err(DomainError::Conflict(format!("a role named `{}` already exists", new.name)));
        }
        let now = now();
        let values = values![
            "id" => id, "tenant_id" => tenant, "name" => new.name, "description" => new.description,
            "created_at" => now, "updated_at" => now,
        ];
        let mut changes = vec![Change::any(Sql::insert_values("roles", values))];
        changes.extend(self.role_permission_changes(id, permissions).await?);
        Ok(changes)
    }

    /// A change of one of the tenant's own roles (outbox `Write::ChangeRole`).
    pub(crate) async fn change_role_changes(
        &self,
        tenant: TenantId,
        id: RoleId,
        patch: RolePatch,
        permissions: Option<&[String]>,
    ) -> DomainResult<Vec<Change>> {
        self.own_role(tenant, id).await?;
        let sets = Sets::default().set("name", patch.name).set("description", patch.description);
        let sql = Sql::update("roles", sets.0, now()).push("tenant_id = ").bind(tenant).push(" AND id = ").bind(id);
        let mut changes = vec![Change::one(sql, DomainError::NotFound("role"))];
        if let Some(permissions) = permissions {
            changes.extend(self.role_permission_changes(id, permissions).await?);
        }
        Ok(changes)
    }

    /// Deletes one of the tenant's own roles, only while nobody holds it (outbox
    /// `Write::DeleteRole`): an assignment made meanwhile makes the statement touch nothing.
    pub(crate) async fn delete_role_changes(&self, tenant: TenantId, id: RoleId) -> DomainResult<Vec<Change>> {
        self.own_role(tenant, id).await?;
        let in_use: Count =
            self.one("role", Sql::new("SELECT COUNT(*) AS n FROM user_roles WHERE role_id = ").bind(id)).await?;
        let still_assigned = |n: i64| DomainError::Conflict(format!("the role is still assigned to {n} user(s)"));
        if in_use.n > 0 {
            return Err(still_assigned(in_use.n));
        }
        let sql = Sql::new("DELETE FROM roles WHERE tenant_id = ")
            .bind(tenant)
            .push(" AND id = ")
            .bind(id)
            .push(" AND NOT EXISTS (SELECT 1 FROM user_roles WHERE role_id = ")
            .bind(id)
            .push(")");
        Ok(vec![Change::one(sql, still_assigned(1))])
    }
}

#[async_trait]
impl AccessRepo for SqlStore {
    async fn add_member(&self, tenant: TenantId, user: UserId) -> DomainResult<Membership> {
        let now = now();
        let values = values![
            "id" => MembershipId::new(), "tenant_id" => tenant, "user_id" => user,
            "created_at" => now, "updated_at" => now,
        ];
        self.one("membership", Sql::insert("memberships", values, MEMBERSHIP)).await
    }

    async fn remove_member(&self, tenant: TenantId, user: UserId) -> DomainResult<()> {
        let statements = vec![
            Sql::new("DELETE FROM user_roles WHERE tenant_id = ").bind(tenant).push(" AND user_id = ").bind(user),
            Sql::new("DELETE FROM memberships WHERE tenant_id = ").bind(tenant).push(" AND user_id = ").bind(user),
        ];
        match self.transaction("membership", statements).await?.get(1) {
            Some(0) | None => Err(DomainError::NotFound("membership")),
            Some(_) => Ok(()),
        }
    }

    async fn get_membership(&self, tenant: TenantId, user: UserId) -> DomainResult<Membership> {
        let sql = Sql::new(format!("SELECT {MEMBERSHIP} FROM memberships WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND user_id = ")
            .bind(user);
        self.one("membership", sql).await
    }

    async fn list_members(&self, tenant: TenantId, page: PageRequest) -> DomainResult<Page<Membership>> {
        let sql = Sql::new(format!("SELECT {MEMBERSHIP} FROM memberships WHERE tenant_id = ")).bind(tenant);
        self.page_of("membership", sql, page, |m: &Membership| m.id.0).await
    }

    async fn list_memberships_of_user(&self, user: UserId) -> DomainResult<Vec<Membership>> {
        let sql =
            Sql::new(format!("SELECT {MEMBERSHIP} FROM memberships WHERE user_id = ")).bind(user).push(" ORDER BY id");
        self.all("membership", sql).await
    }

    async fn list_permissions(&self) -> DomainResult<Vec<Permission>> {
        self.all("permission", Sql::new(format!("SELECT {PERMISSION} FROM permissions ORDER BY name"))).await
    }

    async fn list_roles(&self, tenant: TenantId) -> DomainResult<Vec<Role>> {
        let sql = Sql::new(format!("SELECT {ROLE} FROM roles WHERE tenant_id = "))
            .bind(tenant)
            .push(" OR tenant_id IS NULL ORDER BY (tenant_id IS NULL), name");
        self.all("role", sql).await
    }

    async fn get_role(&self, tenant: TenantId, id: RoleId) -> DomainResult<Role> {
        let sql = Sql::new(format!("SELECT {ROLE} FROM roles WHERE id = "))
            .bind(id)
            .push(" AND (tenant_id = ")
            .bind(tenant)
            .push(" OR tenant_id IS NULL)");
        self.one("role", sql).await
    }

    async fn get_role_by_name(&self, tenant: TenantId, name: &str) -> DomainResult<Role> {
        let sql = Sql::new(format!("SELECT {ROLE} FROM roles WHERE name = "))
            .bind(name)
            .push(" AND (tenant_id = ")
            .bind(tenant)
            .push(" OR tenant_id IS NULL) ORDER BY (tenant_id IS NULL) LIMIT 1");
        self.one("role", sql).await
    }

    // The same statements as the outbox's role writes, without an audit line.
    async fn create_role(&self, tenant: TenantId, new: NewRole) -> DomainResult<Role> {
        let id = RoleId::new();
        let changes = self.create_role_changes(tenant, id, new, &[]).await?;
        self.write_changes(Some(tenant), None, changes, "role").await?;
        self.get_role(tenant, id).await
    }

    async fn update_role(&self, tenant: TenantId, id: RoleId, patch: RolePatch) -> DomainResult<Role> {
        let changes = self.change_role_changes(tenant, id, patch, None).await?;
        self.write_changes(Some(tenant), None, changes, "role").await?;
        self.get_role(tenant, id).await
    }

    async fn delete_role(&self, tenant: TenantId, id: RoleId) -> DomainResult<()> {
        let changes = self.delete_role_changes(tenant, id).await?;
        self.write_changes(Some(tenant), None, changes, "role").await.map(|_| ())
    }

    async fn set_role_permissions(&self, tenant: TenantId, id: RoleId, permissions: &[String]) -> DomainResult<()> {
        self.own_role(tenant, id).await?;
        self.write_role_permissions(id, permissions).await
    }

    async fn role_permissions(&self, tenant: TenantId, id: RoleId) -> DomainResult<Vec<String>> {
        self.get_role(tenant, id).await?;
        let sql = Sql::new(
            "SELECT p.name AS name FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id WHERE rp.role_id = ",
        )
        .bind(id)
        .push(" ORDER BY p.name");
        let names: Vec<Name> = self.all("permission", sql).await?;
        Ok(names.into_iter().map(|n| n.name).collect())
    }

    async fn assign_role(
        &self,
        tenant: TenantId,
        user: UserId,
        role: RoleId,
        by: Option<UserId>,
    ) -> DomainResult<UserRole> {
        self.get_role(tenant, role).await?;
        self.get_membership(tenant, user)
            .await
            .map_err(|_| DomainError::invalid("user_id", "is not a member of this tenant"))?;
        let values = values![
            "id" => UserRoleId::new(), "tenant_id" => tenant, "user_id" => user, "role_id" => role,
            "assigned_by" => by, "assigned_at" => now(),
        ];
        self.one("role assignment", Sql::insert("user_roles", values, USER_ROLE)).await
    }

    async fn unassign_role(&self, tenant: TenantId, user: UserId, role: RoleId) -> DomainResult<()> {
        let sql = Sql::new("DELETE FROM user_roles WHERE tenant_id = ")
            .bind(tenant)
            .push(" AND user_id = ")
            .bind(user)
            .push(" AND role_id = ")
            .bind(role);
        self.exec_one("role assignment", sql).await
    }

    async fn list_user_roles(&self, tenant: TenantId, user: UserId) -> DomainResult<Vec<UserRole>> {
        let sql = Sql::new(format!("SELECT {USER_ROLE} FROM user_roles WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND user_id = ")
            .bind(user)
            .push(" ORDER BY assigned_at, id");
        self.all("role assignment", sql).await
    }

    async fn count_role_holders(&self, tenant: TenantId, role: RoleId) -> DomainResult<i64> {
        let sql = Sql::new("SELECT COUNT(*) AS n FROM user_roles WHERE tenant_id = ")
            .bind(tenant)
            .push(" AND role_id = ")
            .bind(role);
        let count: Count = self.one("role assignment", sql).await?;
        Ok(count.n)
    }

    async fn effective_permissions(&self, tenant: TenantId, user: UserId) -> DomainResult<Vec<String>> {
        let sql = Sql::new(
            "SELECT DISTINCT p.name AS name FROM user_roles ur \
             JOIN role_permissions rp ON rp.role_id = ur.role_id \
             JOIN permissions p ON p.id = rp.permission_id WHERE ur.tenant_id = ",
        )
        .bind(tenant)
        .push(" AND ur.user_id = ")
        .bind(user)
        .push(" ORDER BY p.name");
        let names: Vec<Name> = self.all("permission", sql).await?;
        Ok(names.into_iter().map(|n| n.name).collect())
    }

    async fn apply_access_change(
        &self,
        change: AccessChange,
        audit_tenant: Option<TenantId>,
        entry: NewAuditEntry,
    ) -> DomainResult<()> {
        self.write_access_change(change, audit_tenant, entry).await
    }

    async fn get_invitation(&self, tenant: TenantId, id: InvitationId) -> DomainResult<Invitation> {
        self.read_invitation(tenant, id).await
    }

    async fn find_invitation_by_token(&self, token_hash: &str) -> DomainResult<Invitation> {
        self.read_invitation_by_token(token_hash).await
    }

    async fn list_invitations(&self, tenant: TenantId, page: PageRequest) -> DomainResult<Page<Invitation>> {
        self.read_invitations(tenant, page).await
    }
}
