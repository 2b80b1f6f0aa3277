//! Authority between people, as an attacker tries it: a tenant administrator cannot lock
//! anyone out of the platform, cannot take over the tenant, and cannot add an account to a
//! tenant without its consent. On SQLite and PostgreSQL.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_domain::PageRequest;
use tome_domain::knowledge::AuditFilter;
use tome_domain::repo::KnowledgeRepo;
use tome_testkit::{PASSWORD, TestApp, app_tests};

app_tests!(
    a_tenant_admin_cannot_lock_anyone_out_of_the_platform,
    a_tenant_admin_cannot_take_over_the_tenant,
    an_invitation_joins_only_the_invited_address_once,
    an_attacker_in_two_tenants_holds_only_each_tenants_own_powers,
);

async fn user_id(app: &TestApp, token: &str) -> String {
    app.get_as(token, "/api/v1/auth/me").await.1["user"]["id"].as_str().unwrap().to_owned()
}

/// `call` with an `X-Tenant` header.
async fn call_in(
    app: &TestApp,
    token: &str,
    tenant: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token).header("x-tenant", tenant);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null))
}

/// Creates tenant `name` as `root` and adds `members` (username, role) directly.
async fn tenant_with(app: &TestApp, root: &str, name: &str, members: &[(&str, &str)]) -> String {
    let (status, tenant) = app.call(root, Method::POST, "/api/v1/tenants", Some(json!({"name": name}))).await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    let id = tenant["id"].as_str().unwrap().to_owned();
    for (user, role) in members {
        let body = json!({"user": user, "roles": [role]});
        let (status, added) = app.call(root, Method::POST, &format!("/api/v1/tenants/{id}/members"), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
    }
    id
}

async fn a_tenant_admin_cannot_lock_anyone_out_of_the_platform(app: TestApp) {
    let root = app.superadmin("root").await;
    let root_id = user_id(&app, &root).await;
    let mallory = app.active_user(&root, "mallory").await;
    let carol = app.active_user(&root, "carol").await;
    let carol_id = user_id(&app, &carol).await;
    let acme = tenant_with(&app, &root, "Acme", &[("mallory", "admin"), ("carol", "member")]).await;
    let members = format!("/api/v1/tenants/{acme}/members");

    // The reported attack: mallory adds root to acme, then deactivates root "in acme".
    let (status, _) = app.call(&mallory, Method::POST, &members, Some(json!({"user": "root@example.com"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no account joins a tenant without accepting");
    let deactivate_root = format!("/api/v1/users/{root_id}/deactivate");
    let (status, _) = call_in(&app, &mallory, "acme", Method::POST, &deactivate_root, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "deactivating an account is a platform action");
    // Even with root a member of acme, the account is not a tenant admin's to touch.
    let body = json!({"user": "root", "roles": ["member"]});
    assert_eq!(app.call(&root, Method::POST, &members, Some(body)).await.0, StatusCode::CREATED);
    let (status, answer) = call_in(&app, &mallory, "acme", Method::POST, &deactivate_root, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let suspend_root = format!("{members}/{root_id}");
    let (status, _) = app.call(&mallory, Method::PATCH, &suspend_root, Some(json!({"suspended": true}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a superadmin's membership is not a tenant admin's either");
    let (status, _) = app.call(&mallory, Method::DELETE, &suspend_root, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let deactivate_carol = format!("/api/v1/users/{carol_id}/deactivate");
    let (status, _) = call_in(&app, &mallory, "acme", Method::POST, &deactivate_carol, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "deactivating any account is a platform action");
    assert!(app.login("root", PASSWORD).await["access_token"].is_string(), "root still logs in");

    // What a tenant admin may do: suspend the membership, here only.
    let suspend_carol = format!("{members}/{carol_id}");
    let (status, member) = app.call(&mallory, Method::PATCH, &suspend_carol, Some(json!({"suspended": true}))).await;
    assert_eq!((status, member["suspended_at"].is_string()), (StatusCode::OK, true), "{member}");
    let (status, _) = call_in(&app, &carol, "acme", Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "suspended in acme");
    let (status, me) = app.get_as(&carol, "/api/v1/auth/me").await;
    assert_eq!((status, me["tenant"]["slug"].as_str()), (StatusCode::OK, Some("default")), "her other tenant works");
    assert!(app.login("carol", PASSWORD).await["access_token"].is_string(), "and the account logs in");
    let (status, member) = app.call(&mallory, Method::PATCH, &suspend_carol, Some(json!({"suspended": false}))).await;
    assert_eq!((status, &member["suspended_at"]), (StatusCode::OK, &Value::Null));
    assert_eq!(call_in(&app, &carol, "acme", Method::GET, "/api/v1/auth/me", None).await.0, StatusCode::OK);

    // Every change is in the tenant's chain, and the chain holds.
    let tenant = acme.parse().unwrap();
    let audit = app.db.store.list_audit(tenant, AuditFilter::default(), PageRequest::default()).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions[..3], ["member.restore", "member.suspend", "member.add"], "{actions:?}");
    assert!(tome_domain::audit::verify(&app.db.store, Some(tenant)).await.unwrap().valid());
    // A superadmin deactivates, and that is on the platform's chain.
    let (status, _) = app.call(&root, Method::POST, &deactivate_carol, None).await;
    assert_eq!(status, StatusCode::OK);
    let platform = app.db.store.list_platform_audit(AuditFilter::default(), PageRequest::default()).await.unwrap();
    assert_eq!(platform.items[0].action, "user.deactivate");
    assert_eq!(platform.items[0].target_id.as_deref(), Some(carol_id.as_str()));
}

async fn a_tenant_admin_cannot_take_over_the_tenant(app: TestApp) {
    let root = app.superadmin("root").await;
    let olivia = app.active_user(&root, "olivia").await;
    let olivia_id = user_id(&app, &olivia).await;
    let mallory = app.active_user(&root, "mallory").await;
    let mallory_id = user_id(&app, &mallory).await;
    let acme = tenant_with(&app, &root, "Acme", &[("olivia", "owner"), ("mallory", "admin")]).await;
    let members = format!("/api/v1/tenants/{acme}/members");

    let (status, answer) = app
        .call(&mallory, Method::PUT, &format!("{members}/{mallory_id}/roles"), Some(json!({"roles": ["owner"]})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an admin cannot make itself owner: {answer}");
    let olivia_roles = format!("{members}/{olivia_id}/roles");
    let demote = app.call(&mallory, Method::PUT, &olivia_roles, Some(json!({"roles": ["member"]}))).await;
    assert_eq!(demote.0, StatusCode::FORBIDDEN, "nor demote the owner");
    assert_eq!(
        app.call(&mallory, Method::DELETE, &format!("{members}/{olivia_id}"), None).await.0,
        StatusCode::FORBIDDEN
    );
    let suspend = json!({"suspended": true});
    assert_eq!(
        app.call(&mallory, Method::PATCH, &format!("{members}/{olivia_id}"), Some(suspend)).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = call_in(
        &app,
        &mallory,
        "acme",
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "crown", "permissions": ["tenant.manage"]})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor mint a role with a permission it lacks");
    let (status, auditor) = call_in(
        &app,
        &mallory,
        "acme",
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "auditor", "permissions": ["audit.read"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "what it holds, it may grant: {auditor}");
    let widen = format!("/api/v1/roles/{}", auditor["id"].as_str().unwrap());
    let (status, _) = call_in(
        &app,
        &mallory,
        "acme",
        Method::PATCH,
        &widen,
        Some(json!({"permissions": ["audit.read", "tenant.manage"]})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor widen a role past its own permissions");
    let invitations = format!("/api/v1/tenants/{acme}/invitations");
    let (status, _) = app
        .call(&mallory, Method::POST, &invitations, Some(json!({"email": "ally@example.com", "roles": ["owner"]})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor invite an accomplice as owner");
    let description = "x".repeat(1001);
    let (status, answer) = call_in(
        &app,
        &mallory,
        "acme",
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "long", "description": description})),
    )
    .await;
    assert_eq!((status, answer["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("description")));

    // The owner is still the owner, and may do what the admin may not.
    let (status, tenant) = app.call(&olivia, Method::GET, &format!("/api/v1/tenants/{acme}"), None).await;
    assert_eq!(status, StatusCode::OK, "{tenant}");
    let (status, member) = app
        .call(&olivia, Method::PUT, &format!("{members}/{mallory_id}/roles"), Some(json!({"roles": ["owner"]})))
        .await;
    assert_eq!((status, &member["roles"]), (StatusCode::OK, &json!(["owner"])), "only owners make owners");
    // Two owners: neither holds more than the other, so either may demote the other; the last stays.
    let (status, _) = app
        .call(&mallory, Method::PUT, &format!("{members}/{olivia_id}/roles"), Some(json!({"roles": ["member"]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(&mallory, Method::PUT, &format!("{members}/{mallory_id}/roles"), Some(json!({"roles": ["member"]})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the last owner keeps owner");
}

async fn an_invitation_joins_only_the_invited_address_once(app: TestApp) {
    let root = app.superadmin("root").await;
    let olivia = app.active_user(&root, "olivia").await;
    let carol = app.active_user(&root, "carol").await;
    let dave = app.active_user(&root, "dave").await;
    let acme = tenant_with(&app, &root, "Acme", &[("olivia", "owner")]).await;
    let invitations = format!("/api/v1/tenants/{acme}/invitations");

    let (status, invited) = app
        .call(&olivia, Method::POST, &invitations, Some(json!({"email": "Carol@Example.com", "roles": ["viewer"]})))
        .await;
    assert_eq!((status, invited["status"].as_str()), (StatusCode::CREATED, Some("open")), "{invited}");
    let token = invited["token"].as_str().unwrap().to_owned();
    let (status, unknown) = app
        .call(&olivia, Method::POST, &invitations, Some(json!({"email": "nobody@example.com", "roles": ["viewer"]})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "an address without an account answers alike");
    let keys = |value: &Value| value.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&invited), keys(&unknown), "the same shape either way");
    let mail = app.outbox.sent.lock().unwrap().clone();
    assert_eq!(mail.len(), 2);
    assert!(mail[0].0 == "carol@example.com" && mail[0].2.contains(&token), "the token is mailed to the address");

    assert_eq!(app.call(&carol, Method::GET, &format!("/api/v1/tenants/{acme}"), None).await.0, StatusCode::NOT_FOUND);
    let accept = format!("/api/v1/invitations/{token}/accept");
    assert_eq!(app.call(&dave, Method::POST, &accept, None).await.0, StatusCode::NOT_FOUND, "another address");
    let (status, _) = app.call(&carol, Method::POST, "/api/v1/invitations/inv_forged/accept", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, joined) = app.call(&carol, Method::POST, &accept, None).await;
    assert_eq!((status, &joined["roles"]), (StatusCode::OK, &json!(["viewer"])), "{joined}");
    assert_eq!(app.call(&carol, Method::POST, &accept, None).await.0, StatusCode::CONFLICT, "once");
    assert_eq!(app.call(&carol, Method::GET, &format!("/api/v1/tenants/{acme}"), None).await.0, StatusCode::OK);

    let (_, list) = app.call(&olivia, Method::GET, &invitations, None).await;
    let statuses: Vec<&str> = list["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["open", "accepted"]);
    let open = list["items"][0]["id"].as_str().unwrap();
    assert_eq!(
        app.call(&olivia, Method::DELETE, &format!("{invitations}/{open}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.call(&olivia, Method::DELETE, &format!("{invitations}/{open}"), None).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.call(&carol, Method::GET, &invitations, None).await.0,
        StatusCode::FORBIDDEN,
        "viewers do not manage"
    );
    let (status, error) = app.call(&olivia, Method::POST, &invitations, Some(json!({"email": "not an address"}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("email")));

    let tenant = acme.parse().unwrap();
    let audit = app.db.store.list_audit(tenant, AuditFilter::default(), PageRequest::default()).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions[..4], ["invitation.revoke", "member.join", "invitation.create", "invitation.create"]);
    assert!(tome_domain::audit::verify(&app.db.store, Some(tenant)).await.unwrap().valid());
}

async fn an_attacker_in_two_tenants_holds_only_each_tenants_own_powers(app: TestApp) {
    let root = app.superadmin("root").await;
    // Mallory: admin of acme, plain member of the default tenant (where carol also is).
    let mallory = app.active_user(&root, "mallory").await;
    let carol = app.active_user(&root, "carol").await;
    let carol_id = user_id(&app, &carol).await;
    let acme = tenant_with(&app, &root, "Acme", &[("mallory", "admin")]).await;
    let default = app.db.store.default_tenant().await.unwrap().id;
    use tome_domain::repo::TenantRepo;

    // Acme's powers do not carry over to the default tenant, whatever header is sent.
    for tenant_header in ["acme", "default"] {
        let path = format!("/api/v1/tenants/{default}/members/{carol_id}/roles");
        let (status, _) =
            call_in(&app, &mallory, tenant_header, Method::PUT, &path, Some(json!({"roles": ["viewer"]}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "with X-Tenant {tenant_header}");
        let path = format!("/api/v1/tenants/{default}/members/{carol_id}");
        let (status, _) =
            call_in(&app, &mallory, tenant_header, Method::PATCH, &path, Some(json!({"suspended": true}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let path = format!("/api/v1/tenants/{default}/invitations");
        let (status, _) =
            call_in(&app, &mallory, tenant_header, Method::POST, &path, Some(json!({"email": "x@example.com"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // With X-Tenant acme, the users API sees acme's members only: carol is not one.
    let (status, _) = call_in(&app, &mallory, "acme", Method::GET, &format!("/api/v1/users/{carol_id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, users) = call_in(&app, &mallory, "acme", Method::GET, "/api/v1/users", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!users.to_string().contains(&carol_id), "{users}");
    // And a role granted in acme means nothing in the default tenant.
    let (_, me) = app.get_as(&mallory, "/api/v1/auth/me").await;
    let in_default = call_in(&app, &mallory, "default", Method::GET, "/api/v1/auth/me", None).await.1;
    assert!(!in_default["permissions"].as_array().unwrap().contains(&json!("members.manage")), "{in_default}");
    assert!(me.is_object());
    assert_eq!(app.db.store.get_tenant(acme.parse().unwrap()).await.unwrap().slug, "acme");
}
