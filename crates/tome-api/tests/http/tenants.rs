//! Tenants and members over HTTP, on SQLite and PostgreSQL.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_domain::PageRequest;
use tome_domain::knowledge::AuditFilter;
use tome_domain::repo::{KnowledgeRepo, TenantRepo};
use tome_testkit::{PASSWORD, TestApp, app_tests};

app_tests!(superadmin_creates_lists_renames_and_deletes_tenants, members_and_roles_keep_at_least_one_owner);

async fn superadmin_creates_lists_renames_and_deletes_tenants(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let bob = app.active_user(&admin, "bob").await;

    let (status, acme) = app.call(&admin, Method::POST, "/api/v1/tenants", Some(json!({"name": "Acme Corp."}))).await;
    assert_eq!((status, acme["slug"].as_str()), (StatusCode::CREATED, Some("acme-corp")), "{acme}");
    let id = acme["id"].as_str().unwrap().to_owned();
    let (status, _) =
        app.call(&admin, Method::POST, "/api/v1/tenants", Some(json!({"name": "Other", "slug": "acme-corp"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, error) =
        app.call(&admin, Method::POST, "/api/v1/tenants", Some(json!({"name": "X", "slug": "Not A Slug"}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("slug")));
    let (status, _) = app.call(&bob, Method::POST, "/api/v1/tenants", Some(json!({"name": "Bobco"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only superadmins create tenants");

    let (_, all) = app.call(&admin, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    let (_, mine) = app.call(&bob, Method::GET, "/api/v1/tenants", None).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "bob sees only the tenant he belongs to");
    assert_eq!(app.call(&bob, Method::GET, &format!("/api/v1/tenants/{id}"), None).await.0, StatusCode::NOT_FOUND);

    let patch = json!({"name": "Acme Inc", "description": "Rockets"});
    let (status, renamed) = app.call(&admin, Method::PATCH, &format!("/api/v1/tenants/{id}"), Some(patch)).await;
    assert_eq!(
        (status, renamed["name"].as_str(), renamed["description"].as_str()),
        (StatusCode::OK, Some("Acme Inc"), Some("Rockets"))
    );
    let (_, cleared) =
        app.call(&admin, Method::PATCH, &format!("/api/v1/tenants/{id}"), Some(json!({"description": null}))).await;
    assert!(cleared["description"].is_null() && cleared["name"] == "Acme Inc", "null clears, absent keeps");
    let tenant_id = id.parse().unwrap();
    let audit = app.db.store.list_audit(tenant_id, AuditFilter::default(), PageRequest::default()).await.unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["tenant.update", "tenant.update", "tenant.create"]);

    let default_id = app.db.store.default_tenant().await.unwrap().id;
    let (status, _) = app.call(&admin, Method::DELETE, &format!("/api/v1/tenants/{default_id}"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the default tenant stays");
    let (status, _) = app.call(&bob, Method::DELETE, &format!("/api/v1/tenants/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another tenant is not found");
    let (status, _) = app.call(&bob, Method::DELETE, &format!("/api/v1/tenants/{default_id}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "one's own tenant: only superadmins delete tenants");
    assert_eq!(
        app.call(&admin, Method::DELETE, &format!("/api/v1/tenants/{id}"), None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.call(&admin, Method::GET, &format!("/api/v1/tenants/{id}"), None).await.0, StatusCode::NOT_FOUND);
}

async fn members_and_roles_keep_at_least_one_owner(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let bob = app.active_user(&admin, "bob").await;
    let carol = app.active_user(&admin, "carol").await;
    let (_, acme) = app.call(&admin, Method::POST, "/api/v1/tenants", Some(json!({"name": "Acme"}))).await;
    let members = format!("/api/v1/tenants/{}/members", acme["id"].as_str().unwrap());

    let (status, added) =
        app.call(&admin, Method::POST, &members, Some(json!({"user": "bob", "roles": ["owner"]}))).await;
    assert_eq!((status, &added["roles"]), (StatusCode::CREATED, &json!(["owner"])), "{added}");
    let bob_id = added["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.call(&carol, Method::GET, &members, None).await.0,
        StatusCode::NOT_FOUND,
        "not a member: no such tenant"
    );
    let (status, _) = app.call(&bob, Method::POST, &members, Some(json!({"user": "carol@example.com"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "owners invite; only superadmins add an account directly");
    let invitations = members.replace("/members", "/invitations");
    let (status, invited) =
        app.call(&bob, Method::POST, &invitations, Some(json!({"email": "carol@example.com"}))).await;
    assert_eq!((status, &invited["roles"]), (StatusCode::CREATED, &json!(["member"])), "{invited}");
    let accept = format!("/api/v1/invitations/{}/accept", invited["token"].as_str().unwrap());
    let (status, added) = app.call(&carol, Method::POST, &accept, None).await;
    assert_eq!((status, &added["roles"]), (StatusCode::OK, &json!(["member"])), "{added}");
    let carol_id = added["user"]["id"].as_str().unwrap().to_owned();
    let (status, _) = app.call(&admin, Method::POST, &members, Some(json!({"user": "carol"}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "already a member");
    let (status, error) = app.call(&admin, Method::POST, &members, Some(json!({"user": "nobody"}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("user")));
    let (status, error) =
        app.call(&bob, Method::PUT, &format!("{members}/{carol_id}/roles"), Some(json!({"roles": ["wizard"]}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("roles")));
    let acme_header = acme["slug"].as_str().unwrap();
    let carol_in_acme =
        app.client.get(app.url(&members)).bearer_auth(&carol).header("x-tenant", acme_header).send().await.unwrap();
    assert_eq!(carol_in_acme.status(), StatusCode::FORBIDDEN, "members lack members.manage");

    // The last owner can neither leave nor be demoted …
    let (status, _) =
        app.call(&bob, Method::PUT, &format!("{members}/{bob_id}/roles"), Some(json!({"roles": ["member"]}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.call(&bob, Method::DELETE, &format!("{members}/{bob_id}"), None).await.0, StatusCode::CONFLICT);
    // … until someone else is owner too.
    let (status, promoted) = app
        .call(&bob, Method::PUT, &format!("{members}/{carol_id}/roles"), Some(json!({"roles": ["owner", "member"]})))
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut roles: Vec<&str> = promoted["roles"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    roles.sort();
    assert_eq!(roles, ["member", "owner"]);
    assert_eq!(app.call(&carol, Method::DELETE, &format!("{members}/{bob_id}"), None).await.0, StatusCode::NO_CONTENT);
    let (_, list) = app.call(&carol, Method::GET, &members, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let acme_id = acme["id"].as_str().unwrap();
    assert_eq!(app.call(&bob, Method::GET, &format!("/api/v1/tenants/{acme_id}"), None).await.0, StatusCode::NOT_FOUND);

    let audit = app
        .db
        .store
        .list_audit(acme_id.parse().unwrap(), AuditFilter::default(), PageRequest::default())
        .await
        .unwrap();
    let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["member.remove", "role.assign", "member.join", "invitation.create", "member.add", "tenant.create"]
    );
    assert!(audit.items.iter().all(|e| e.actor_id.is_some() && e.ip.is_some()));
}

app_tests!(custom_roles_grant_what_they_list_and_builtin_roles_are_read_only);

async fn custom_roles_grant_what_they_list_and_builtin_roles_are_read_only(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let bob = app.active_user(&admin, "bob").await;
    let bob_id = app.get_as(&bob, "/api/v1/auth/me").await.1["user"]["id"].as_str().unwrap().to_owned();

    let (_, roles) = app.call(&admin, Method::GET, "/api/v1/roles", None).await;
    let builtin: Vec<&str> = roles["items"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(builtin, ["admin", "member", "owner", "viewer"]);
    assert!(roles["items"].as_array().unwrap().iter().all(|r| r["builtin"] == true));

    let body = json!({"name": "auditor", "description": "Reads the log", "permissions": ["audit.read"]});
    let (status, auditor) = app.call(&admin, Method::POST, "/api/v1/roles", Some(body.clone())).await;
    assert_eq!((status, &auditor["permissions"]), (StatusCode::CREATED, &json!(["audit.read"])), "{auditor}");
    assert_eq!(app.call(&admin, Method::POST, "/api/v1/roles", Some(body)).await.0, StatusCode::CONFLICT);
    let bad = json!({"name": "wizard", "permissions": ["magic.cast"]});
    let (status, error) = app.call(&admin, Method::POST, "/api/v1/roles", Some(bad)).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("permissions")));
    let (_, roles) = app.call(&admin, Method::GET, "/api/v1/roles", None).await;
    assert_eq!(roles["items"].as_array().unwrap().len(), 5, "the refused role left nothing behind");
    assert_eq!(
        app.call(&bob, Method::POST, "/api/v1/roles", Some(json!({"name": "x"}))).await.0,
        StatusCode::FORBIDDEN
    );

    let tenant = app.db.store.default_tenant().await.unwrap().id;
    let roles_of_bob = format!("/api/v1/tenants/{tenant}/members/{bob_id}/roles");
    let (status, _) = app.call(&admin, Method::PUT, &roles_of_bob, Some(json!({"roles": ["member", "auditor"]}))).await;
    assert_eq!(status, StatusCode::OK);
    let permissions = app.get_as(&bob, "/api/v1/auth/me").await.1["permissions"].clone();
    assert!(permissions.as_array().unwrap().contains(&json!("audit.read")), "{permissions}");

    let auditor_path = format!("/api/v1/roles/{}", auditor["id"].as_str().unwrap());
    let patch = json!({"permissions": ["audit.read", "members.manage"], "description": null});
    let (status, changed) = app.call(&admin, Method::PATCH, &auditor_path, Some(patch)).await;
    assert_eq!((status, changed["description"].is_null()), (StatusCode::OK, true));
    let permissions = app.get_as(&bob, "/api/v1/auth/me").await.1["permissions"].clone();
    assert!(permissions.as_array().unwrap().contains(&json!("members.manage")), "role changes apply at once");
    assert_eq!(app.call(&admin, Method::DELETE, &auditor_path, None).await.0, StatusCode::CONFLICT, "still assigned");

    let owner_id = roles["items"].as_array().unwrap().iter().find(|r| r["name"] == "owner").unwrap()["id"].clone();
    let owner_path = format!("/api/v1/roles/{}", owner_id.as_str().unwrap());
    assert_eq!(
        app.call(&admin, Method::PATCH, &owner_path, Some(json!({"name": "boss"}))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.call(&admin, Method::DELETE, &owner_path, None).await.0, StatusCode::FORBIDDEN);

    // A role of another tenant does not exist here.
    let (_, acme) = app.call(&admin, Method::POST, "/api/v1/tenants", Some(json!({"name": "Acme"}))).await;
    let in_acme = app
        .client
        .post(app.url("/api/v1/roles"))
        .bearer_auth(&admin)
        .header("x-tenant", acme["slug"].as_str().unwrap())
        .json(&json!({"name": "acme-only"}))
        .send()
        .await
        .unwrap();
    assert_eq!(in_acme.status(), StatusCode::CREATED);
    let acme_role: Value = in_acme.json().await.unwrap();
    let path = format!("/api/v1/roles/{}", acme_role["id"].as_str().unwrap());
    assert_eq!(app.call(&admin, Method::GET, &path, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call(&admin, Method::DELETE, &path, None).await.0, StatusCode::NOT_FOUND);

    let (status, _) = app.call(&admin, Method::PUT, &roles_of_bob, Some(json!({"roles": ["member"]}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.call(&admin, Method::DELETE, &auditor_path, None).await.0, StatusCode::NO_CONTENT);
}

app_tests!(audit_log_is_readable_with_audit_read_and_filters);

async fn audit_log_is_readable_with_audit_read_and_filters(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let admin = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let bob = app.active_user(&admin, "bob").await;
    let tenant = app.db.store.default_tenant().await.unwrap().id;
    let bob_id = app.get_as(&bob, "/api/v1/auth/me").await.1["user"]["id"].as_str().unwrap().to_owned();
    let roles_of_bob = format!("/api/v1/tenants/{tenant}/members/{bob_id}/roles");
    app.call(&admin, Method::PUT, &roles_of_bob, Some(json!({"roles": ["member", "viewer"]}))).await;
    app.call(&admin, Method::POST, "/api/v1/roles", Some(json!({"name": "auditor", "permissions": ["audit.read"]})))
        .await;

    let (status, log) = app.call(&admin, Method::GET, "/api/v1/audit-log", None).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["role.create", "role.assign"]);
    assert_eq!(log["items"][1]["changes"]["roles"], json!(["member", "viewer"]));
    let (_, filtered) = app.call(&admin, Method::GET, "/api/v1/audit-log?action=role.assign&limit=1", None).await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["items"][0]["target_id"], bob_id.as_str());
    assert_eq!(app.call(&bob, Method::GET, "/api/v1/audit-log", None).await.0, StatusCode::FORBIDDEN);
}
