//! Changes of who may do what (memberships, role assignments, account activation,
//! invitations), each written with its audit entry in one transaction.

use serde_json::json;
use tome_domain::identity::{AccessChange, Invitation, NewInvitation};
use tome_domain::knowledge::NewAuditEntry;
use tome_domain::{
    DomainError, DomainResult, InvitationId, MembershipId, Page, PageRequest, RoleId, TenantId, UserId, UserRoleId, now,
};

use crate::SqlStore;
use crate::audit::Change;
use crate::sql::{Sql, values};

pub(crate) const INVITATION: &str = "id, tenant_id, email, roles, token_hash, invited_by, expires_at, accepted_at, \
accepted_by, revoked_at, created_at, updated_at";

impl SqlStore {
    pub(crate) async fn write_access_change(
        &self,
        change: AccessChange,
        audit_tenant: Option<TenantId>,
        entry: NewAuditEntry,
    ) -> DomainResult<()> {
        let (what, changes) = statements(change);
        self.append_chained_after(audit_tenant, entry, changes, what).await.map(|_| ())
    }

    pub(crate) async fn read_invitation(&self, tenant: TenantId, id: InvitationId) -> DomainResult<Invitation> {
        let sql = Sql::new(format!("SELECT {INVITATION} FROM invitations WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND id = ")
            .bind(id);
        self.one("invitation", sql).await
    }

    pub(crate) async fn read_invitation_by_token(&self, token_hash: &str) -> DomainResult<Invitation> {
        let sql = Sql::new(format!("SELECT {INVITATION} FROM invitations WHERE token_hash = ")).bind(token_hash);
        self.one("invitation", sql).await
    }

    pub(crate) async fn read_invitations(&self, tenant: TenantId, page: PageRequest) -> DomainResult<Page<Invitation>> {
        let sql = Sql::new(format!("SELECT {INVITATION} FROM invitations WHERE tenant_id = ")).bind(tenant);
        self.page_of("invitation", sql, page, |i: &Invitation| i.id.0).await
    }
}

/// The statements of a change, and what it is about (for error messages).
fn statements(change: AccessChange) -> (&'static str, Vec<Change>) {
    let at = now();
    match change {
        AccessChange::AddMember { tenant, user, roles, by, invitation } => {
            let mut changes = Vec::new();
            if let Some(invitation) = invitation {
                let accept =
                    Sql::update("invitations", vec![("accepted_at", at.into()), ("accepted_by", user.into())], at)
                        .push("tenant_id = ")
                        .bind(tenant)
                        .push(" AND id = ")
                        .bind(invitation)
                        .push(" AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > ")
                        .bind(at);
                let gone = DomainError::Conflict("the invitation was already used, withdrawn, or has expired".into());
                changes.push(Change::one(accept, gone));
            }
            let membership = values![
                "id" => MembershipId::new(), "tenant_id" => tenant, "user_id" => user,
                "created_at" => at, "updated_at" => at,
            ];
            changes.push(Change::any(Sql::insert("memberships", membership, "id")));
            changes.extend(roles.into_iter().map(|role| Change::any(assignment(tenant, user, role, by, at))));
            ("membership", changes)
        }
        AccessChange::RemoveMember { tenant, user } => {
            let changes = vec![
                Change::any(of_member(Sql::new("DELETE FROM user_roles WHERE "), tenant, user)),
                Change::one(
                    of_member(Sql::new("DELETE FROM memberships WHERE "), tenant, user),
                    DomainError::NotFound("membership"),
                ),
            ];
            ("membership", changes)
        }
        AccessChange::SuspendMember { tenant, user, suspended } => {
            let value: Option<tome_domain::Timestamp> = suspended.then_some(at);
            let sql = of_member(Sql::update("memberships", vec![("suspended_at", value.into())], at), tenant, user);
            ("membership", vec![Change::one(sql, DomainError::NotFound("membership"))])
        }
        AccessChange::SetRoles { tenant, user, assign, unassign, by } => {
            let mut changes: Vec<Change> = unassign
                .into_iter()
                .map(|role| {
                    let sql = of_member(Sql::new("DELETE FROM user_roles WHERE "), tenant, user);
                    Change::any(sql.push(" AND role_id = ").bind(role))
                })
                .collect();
            changes.extend(assign.into_iter().map(|role| Change::any(assignment(tenant, user, role, by, at))));
            ("role assignment", changes)
        }
        AccessChange::SetActive { user, active } => {
            let account = Sql::update("users", vec![("is_active", active.into())], at).push("id = ").bind(user);
            let mut changes = vec![Change::one(account, DomainError::NotFound("user"))];
            if !active {
                for table in ["auth_sessions", "api_keys"] {
                    let revoke = Sql::update(table, vec![("revoked_at", at.into())], at)
                        .push("user_id = ")
                        .bind(user)
                        .push(" AND revoked_at IS NULL");
                    changes.push(Change::any(revoke));
                }
            }
            ("user", changes)
        }
        AccessChange::Invite(new) => ("invitation", vec![Change::any(invitation(new, at))]),
        AccessChange::RevokeInvitation { tenant, id } => {
            let sql = Sql::update("invitations", vec![("revoked_at", at.into())], at)
                .push("tenant_id = ")
                .bind(tenant)
                .push(" AND id = ")
                .bind(id)
                .push(" AND accepted_at IS NULL AND revoked_at IS NULL");
            ("invitation", vec![Change::one(sql, DomainError::NotFound("invitation"))])
        }
    }
}

fn of_member(sql: Sql, tenant: TenantId, user: UserId) -> Sql {
    sql.push("tenant_id = ").bind(tenant).push(" AND user_id = ").bind(user)
}

fn assignment(tenant: TenantId, user: UserId, role: RoleId, by: Option<UserId>, at: tome_domain::Timestamp) -> Sql {
    let values = values![
        "id" => UserRoleId::new(), "tenant_id" => tenant, "user_id" => user, "role_id" => role,
        "assigned_by" => by, "assigned_at" => at,
    ];
    Sql::insert("user_roles", values, "id")
}

fn invitation(new: NewInvitation, at: tome_domain::Timestamp) -> Sql {
    let values = values![
        "id" => new.id, "tenant_id" => new.tenant_id, "email" => new.email.as_str(), "roles" => json!(new.roles),
        "token_hash" => new.token_hash, "invited_by" => new.invited_by, "expires_at" => new.expires_at,
        "created_at" => at, "updated_at" => at,
    ];
    Sql::insert("invitations", values, "id")
}
