//! Invitations: how an existing account joins a tenant. An administrator invites an email
//! address with roles they may grant; the person, logged in with that address, accepts.
//! Inviting answers the same whether or not the address has an account.

use std::time::Duration;

use serde_json::json;

use crate::auth::{ClientInfo, Principal, hash_token, random_secret};
use crate::authority::{self, Standing};
use crate::identity::{AccessChange, Invitation, NewInvitation};
use crate::knowledge::NewAuditEntry;
use crate::members::{Member, named_roles, role_names};
use crate::passwords::Mailer;
use crate::repo::Store;
use crate::tenancy::access_in;
use crate::validate::Email;
use crate::{DomainError, DomainResult, InvitationId, Page, PageRequest, TenantId, now};

/// How long an invitation can be accepted.
pub const INVITATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A new invitation and the token that accepts it (shown once).
#[derive(Clone, Debug)]
pub struct Issued {
    pub invitation: Invitation,
    pub token: String,
}

/// Invites `email` to `tenant` with `roles` (permission `members.manage`; only roles the
/// caller may grant) and mails the token to the address.
pub async fn invite(
    store: &dyn Store,
    mailer: &dyn Mailer,
    principal: &Principal,
    tenant: TenantId,
    email: &str,
    roles: &[String],
    client: &ClientInfo,
) -> DomainResult<Issued> {
    let access = access_in(store, principal, tenant).await?;
    access.require("members.manage")?;
    let actor = Standing::of(store, access).await?;
    let email = Email::parse(email)?;
    let roles = named_roles(store, tenant, roles).await?;
    if roles.is_empty() {
        return Err(DomainError::invalid("roles", "name at least one role"));
    }
    authority::ensure_may_grant(store, &actor, &roles).await?;
    let token = format!("inv_{}", random_secret());
    let names: Vec<String> = role_names(&roles).into_iter().map(str::to_owned).collect();
    let id = InvitationId::new();
    let summary = format!("invited {} as {}", email.as_str(), names.join(", "));
    let new = NewInvitation {
        id,
        tenant_id: tenant,
        email: email.clone(),
        roles: names.clone(),
        token_hash: hash_token(&token),
        invited_by: principal.user.id,
        expires_at: now() + INVITATION_TTL,
    };
    let entry = NewAuditEntry::new(
        Some(principal.user.id),
        "invitation.create",
        ("invitation", Some(id.to_string())),
        summary,
        client,
    )
    .with_changes(json!({"email": email.as_str(), "roles": names}));
    store.apply_access_change(AccessChange::Invite(new), Some(tenant), entry).await?;
    let invitation = store.get_invitation(tenant, id).await?;
    let tenant_name = store.get_tenant(tenant).await?.name;
    let body = format!(
        "{} invited you to {tenant_name} on Tome.\n\nLog in with this address and accept with the token below \
         (valid 7 days):\n\n{token}\n",
        principal.user.username
    );
    mailer.send(email.as_str(), &format!("Invitation to {tenant_name}"), &body).await?;
    Ok(Issued { invitation, token })
}

/// The tenant's invitations, newest first (permission `members.manage`).
pub async fn list(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    page: PageRequest,
) -> DomainResult<Page<Invitation>> {
    access_in(store, principal, tenant).await?.require("members.manage")?;
    store.list_invitations(tenant, page).await
}

/// Withdraws an open invitation (permission `members.manage`).
pub async fn revoke(
    store: &dyn Store,
    principal: &Principal,
    tenant: TenantId,
    id: InvitationId,
    client: &ClientInfo,
) -> DomainResult<()> {
    access_in(store, principal, tenant).await?.require("members.manage")?;
    let invitation = store.get_invitation(tenant, id).await?;
    let summary = format!("withdrew the invitation of {}", invitation.email);
    let entry = NewAuditEntry::new(
        Some(principal.user.id),
        "invitation.revoke",
        ("invitation", Some(id.to_string())),
        summary,
        client,
    );
    store.apply_access_change(AccessChange::RevokeInvitation { tenant, id }, Some(tenant), entry).await
}

/// Accepts an invitation for the caller, whose account must have the invited address. An
/// unknown token, or one for another address, is `NotFound`.
pub async fn accept(
    store: &dyn Store,
    principal: &Principal,
    token: &str,
    client: &ClientInfo,
) -> DomainResult<Member> {
    if principal.session_id().is_none() {
        return Err(DomainError::Forbidden("log in to accept an invitation; API keys cannot".into()));
    }
    let invitation =
        store.find_invitation_by_token(&hash_token(token)).await.map_err(|_| DomainError::NotFound("invitation"))?;
    if !invitation.email.eq_ignore_ascii_case(&principal.user.email) {
        return Err(DomainError::NotFound("invitation"));
    }
    if invitation.accepted_at.is_some() || invitation.revoked_at.is_some() || invitation.expires_at <= now() {
        return Err(DomainError::Conflict("the invitation was already used, withdrawn, or has expired".into()));
    }
    let tenant = invitation.tenant_id;
    let names: Vec<String> = serde_json::from_value(invitation.roles.clone()).map_err(DomainError::internal)?;
    let roles = named_roles(store, tenant, &names).await?;
    if store.get_membership(tenant, principal.user.id).await.is_ok() {
        return Err(DomainError::Conflict("you are already a member of this tenant".into()));
    }
    let user = principal.user.id;
    let change = AccessChange::AddMember {
        tenant,
        user,
        roles: roles.iter().map(|r| r.id).collect(),
        by: invitation.invited_by,
        invitation: Some(invitation.id),
    };
    let summary = format!("{} accepted an invitation as {}", principal.user.username, names.join(", "));
    let entry = crate::members::entry(
        user,
        "member.join",
        user,
        summary,
        json!({"roles": names, "invitation": invitation.id}),
        client,
    );
    store.apply_access_change(change, Some(tenant), entry).await?;
    crate::members::get_own_membership(store, tenant, user).await
}
