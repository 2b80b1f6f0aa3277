//! Accounts, login, tokens and sessions over HTTP, on SQLite and PostgreSQL.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::StatusCode;
use serde_json::{Value, json};
use tome_domain::PageRequest;
use tome_domain::knowledge::AuditFilter;
use tome_domain::repo::{KnowledgeRepo, SessionRepo, TenantRepo, UserRepo};
use tome_testkit::{TestApp, app_tests};

const PASSWORD: &str = "correct horse battery staple";

app_tests!(
    first_account_becomes_superadmin_owner_of_the_default_tenant,
    approval_mode_keeps_new_accounts_inactive_until_activated,
    registration_errors_name_the_field,
    every_login_failure_gives_the_same_answer_and_is_audited,
    logout_rejects_the_access_token_at_once,
    refresh_rotates_and_reuse_revokes_the_session,
    sessions_are_listed_and_revoked,
    bad_tokens_are_401_never_anonymous,
    x_tenant_picks_a_tenant_the_user_belongs_to,
    imported_bcrypt_hash_verifies_and_is_rehashed,
);

app_tests!(configure(|config| config.signup = tome_config::SignupMode::Open) => open_signup_activates_at_once);
app_tests!(configure(|config| config.signup = tome_config::SignupMode::Closed) => closed_signup_refuses_all_but_the_first);

async fn first_account_becomes_superadmin_owner_of_the_default_tenant(app: TestApp) {
    let registered = app.register("admin", PASSWORD).await;
    assert_eq!(registered["status"], "active");
    assert_eq!(registered["user"]["is_superadmin"], true);
    assert!(registered["user"].get("password_hash").is_none(), "never shown");
    let tokens = app.login("admin@example.com", PASSWORD).await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_i64().unwrap() > 800, "about 15 minutes");
    let (status, me) = app.get_as(tokens["access_token"].as_str().unwrap(), "/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["tenant"]["slug"], "default");
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(me["permissions"].as_array().unwrap().len(), tome_domain::catalog::PERMISSIONS.len());
    assert_eq!(me["session_id"], tokens["session_id"]);
    assert!(me["user"]["last_login_at"].is_string());
}

async fn approval_mode_keeps_new_accounts_inactive_until_activated(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let pending = app.register("bob", PASSWORD).await;
    assert_eq!(
        (pending["status"].as_str(), pending["user"]["is_active"].as_bool()),
        (Some("pending_approval"), Some(false))
    );
    let refused = app.post_json("/api/v1/auth/login", &json!({"login": "bob", "password": PASSWORD})).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let id = pending["user"]["id"].as_str().unwrap().parse().unwrap();
    let patch = tome_domain::identity::UserPatch { is_active: Some(true), ..Default::default() };
    app.db.store.update_user(id, patch).await.unwrap();
    let tokens = app.login("bob", PASSWORD).await;
    let (status, me) = app.get_as(tokens["access_token"].as_str().unwrap(), "/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me["permissions"],
        json!(["chat.use", "documents.ingest", "documents.read", "projects.manage", "transcriptions.create"])
    );
}

async fn open_signup_activates_at_once(app: TestApp) {
    app.register("admin", PASSWORD).await;
    assert_eq!(app.register("carol", PASSWORD).await["status"], "active");
    app.login("carol", PASSWORD).await;
}

async fn closed_signup_refuses_all_but_the_first(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let body = json!({"email": "dave@example.com", "username": "dave", "password": PASSWORD});
    let response = app.post_json("/api/v1/auth/register", &body).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.db.store.count_users().await.unwrap(), 1);
}

async fn registration_errors_name_the_field(app: TestApp) {
    let cases = [
        (json!({"email": "nope", "username": "erin", "password": PASSWORD}), "email"),
        (json!({"email": "erin@example.com", "username": "e", "password": PASSWORD}), "username"),
        (json!({"email": "erin@example.com", "username": "erin", "password": "short"}), "password"),
        (json!({"email": "erin@example.com", "username": "erin", "password": "erin@example.com"}), "password"),
    ];
    for (body, field) in cases {
        let response = app.post_json("/api/v1/auth/register", &body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let missing = app.post_json("/api/v1/auth/register", &json!({"email": "x@example.com"})).await;
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY, "missing fields are a JSON data error");
    app.register("erin", PASSWORD).await;
    let duplicate = json!({"email": "ERIN@example.com", "username": "erin2", "password": PASSWORD});
    let response = app.post_json("/api/v1/auth/register", &duplicate).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert_eq!(app.db.store.count_users().await.unwrap(), 1, "nothing half-made stays behind");
}

async fn every_login_failure_gives_the_same_answer_and_is_audited(app: TestApp) {
    app.register("admin", PASSWORD).await;
    app.register("inactive", PASSWORD).await;
    let attempts = [("admin", "wrong password!"), ("nobody", PASSWORD), ("inactive", PASSWORD)];
    let mut messages = Vec::new();
    for (login, password) in attempts {
        let response = app.post_json("/api/v1/auth/login", &json!({"login": login, "password": password})).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        messages.push(body["error"]["message"].as_str().unwrap().to_owned());
    }
    assert!(messages.windows(2).all(|pair| pair[0] == pair[1]), "{messages:?}");
    // Security events are platform-wide (no tenant).
    let filter = AuditFilter { action: Some("user.login_failed".into()), ..Default::default() };
    let failures = app.db.store.list_platform_audit(filter, PageRequest::default()).await.unwrap();
    assert_eq!(failures.items.len(), 3);
    assert!(failures.items.iter().all(|e| e.ip.as_deref() == Some("127.0.0.1")));
}

async fn logout_rejects_the_access_token_at_once(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let tokens = app.login("admin", PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.get_as(access, "/api/v1/auth/me").await.0, StatusCode::OK);
    let logout = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(access).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let (status, body) = app.get_as(access, "/api/v1/auth/me").await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let refresh = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": tokens["refresh_token"]})).await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED, "the refresh token died with the session");
}

async fn refresh_rotates_and_reuse_revokes_the_session(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let first = app.login("admin", PASSWORD).await;
    let response = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": first["refresh_token"]})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["session_id"], first["session_id"], "same session");
    let access = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get_as(&access, "/api/v1/auth/me").await.0, StatusCode::OK);
    // The first refresh token is presented again: stolen, so the whole session ends.
    let reuse = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": first["refresh_token"]})).await;
    assert_eq!(reuse.status(), StatusCode::UNAUTHORIZED);
    let after = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": second["refresh_token"]})).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED, "the newest refresh token is dead too");
    assert_eq!(app.get_as(&access, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "and so is the access token");
    let garbage = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": "not-a-token"})).await;
    assert_eq!(garbage.status(), StatusCode::UNAUTHORIZED);
}

async fn sessions_are_listed_and_revoked(app: TestApp) {
    app.register("admin", PASSWORD).await;
    app.register("bob", PASSWORD).await;
    let laptop = app.login("admin", PASSWORD).await;
    let phone = app.login("admin", PASSWORD).await;
    let laptop_token = laptop["access_token"].as_str().unwrap();
    let phone_token = phone["access_token"].as_str().unwrap();
    let (status, list) = app.get_as(laptop_token, "/api/v1/auth/sessions").await;
    assert_eq!(status, StatusCode::OK);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let current: Vec<&Value> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], laptop["session_id"]);
    assert_eq!(current[0]["ip"], "127.0.0.1");
    // Someone else's session is not found, not forbidden.
    let bob_id = app.db.store.find_user_by_login("bob").await.unwrap().id;
    let bob_session = app.db.store.create_session(tome_domain::identity::NewAuthSession {
        id: tome_domain::AuthSessionId::new(),
        user_id: bob_id,
        refresh_token_hash: "bob".into(),
        expires_at: tome_domain::now() + time::Duration::days(1),
        user_agent: None,
        ip: None,
    });
    let bob_session = bob_session.await.unwrap();
    let foreign = app
        .client
        .delete(app.url(&format!("/api/v1/auth/sessions/{}", bob_session.id)))
        .bearer_auth(laptop_token)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let others = app.client.delete(app.url("/api/v1/auth/sessions")).bearer_auth(laptop_token).send().await.unwrap();
    assert_eq!(others.json::<Value>().await.unwrap()["revoked"], 1);
    assert_eq!(app.get_as(phone_token, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get_as(laptop_token, "/api/v1/auth/me").await.0, StatusCode::OK);
    let own = app
        .client
        .delete(app.url(&format!("/api/v1/auth/sessions/{}", laptop["session_id"].as_str().unwrap())))
        .bearer_auth(laptop_token)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get_as(laptop_token, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
}

async fn bad_tokens_are_401_never_anonymous(app: TestApp) {
    let missing = app.get("/api/v1/auth/me").await;
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let other_key = tome_domain::auth::Tokens::new(b"a key this server never had, 32+ bytes");
    let (forged, _) = other_key
        .issue(tome_domain::UserId::new(), tome_domain::AuthSessionId::new(), std::time::Duration::from_secs(60))
        .unwrap();
    for token in ["garbage", "a.b.c", forged.as_str()] {
        assert_eq!(app.get_as(token, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "{token}");
    }
    let basic = app.client.get(app.url("/api/v1/auth/me")).header("authorization", "Basic YTpi").send().await.unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

async fn x_tenant_picks_a_tenant_the_user_belongs_to(app: TestApp) {
    app.register("admin", PASSWORD).await;
    app.register("bob", PASSWORD).await;
    let bob = app.db.store.find_user_by_login("bob").await.unwrap();
    app.db
        .store
        .update_user(bob.id, tome_domain::identity::UserPatch { is_active: Some(true), ..Default::default() })
        .await
        .unwrap();
    let acme = app
        .db
        .store
        .create_tenant(tome_domain::identity::NewTenant {
            name: "Acme".into(),
            slug: tome_domain::validate::Slug::parse("acme").unwrap(),
            description: None,
            is_default: false,
        })
        .await
        .unwrap();
    let bob_token = app.login("bob", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let admin_token = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let me_in = |token: String, tenant: String| {
        let request = app.client.get(app.url("/api/v1/auth/me")).bearer_auth(token).header("x-tenant", tenant);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let (status, _) = me_in(bob_token.clone(), "acme".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a member: as if it did not exist");
    let (status, _) = me_in(bob_token.clone(), "no-such-tenant".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, me) = me_in(bob_token.clone(), "default".into()).await;
    assert_eq!((status, me["tenant"]["slug"].as_str()), (StatusCode::OK, Some("default")));
    let (status, me) = me_in(admin_token, acme.id.to_string()).await;
    assert_eq!(
        (status, me["tenant"]["slug"].as_str()),
        (StatusCode::OK, Some("acme")),
        "superadmins reach every tenant"
    );
    use tome_domain::repo::AccessRepo;
    app.db.store.add_member(acme.id, bob.id).await.unwrap();
    let (status, me) = me_in(bob_token, "acme".into()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["permissions"], json!([]), "a member without roles holds no permission there");
}

async fn imported_bcrypt_hash_verifies_and_is_rehashed(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let admin = app.db.store.find_user_by_login("admin").await.unwrap();
    let bcrypt_hash = bcrypt::hash("imported password 1", 4).unwrap();
    app.db.store.set_password_hash(admin.id, &bcrypt_hash).await.unwrap();
    app.login("admin", "imported password 1").await;
    let rehashed = app.db.store.get_user(admin.id).await.unwrap().password_hash;
    assert!(rehashed.starts_with("$argon2id$"), "{rehashed}");
    app.login("admin", "imported password 1").await;
}

app_tests!(
    api_keys_work_as_bearer_tokens_with_a_subset_of_permissions,
    a_key_cannot_mint_a_stronger_key,
    deactivation_ends_sessions_and_keys_at_once,
    users_are_administered_only_with_users_manage_in_their_tenant,
);

async fn create_key(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let response = app.client.post(app.url("/api/v1/api-keys")).bearer_auth(token).json(&body).send().await.unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn api_keys_work_as_bearer_tokens_with_a_subset_of_permissions(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let token = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let (status, created) = create_key(&app, &token, json!({"name": "ci", "permissions": ["documents.read"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!("tome_{}_", created["prefix"].as_str().unwrap())));
    let (status, me) = app.get_as(&key, "/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["permissions"], json!(["documents.read"]));
    assert_eq!((me["session_id"].is_null(), me["api_key_id"].as_str()), (true, created["id"].as_str()));
    let (_, list) = app.get_as(&token, "/api/v1/api-keys").await;
    let listed = &list["items"][0];
    assert_eq!(listed["name"], "ci");
    assert!(listed.get("key").is_none() && !list.to_string().contains(&key), "the secret is shown once");
    assert!(listed["last_used_at"].is_string(), "use is recorded");
    let logout = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&key).send().await.unwrap();
    assert_eq!(logout.status(), StatusCode::UNPROCESSABLE_ENTITY, "a key has no session to end");
    let other_tenant = app
        .client
        .get(app.url("/api/v1/auth/me"))
        .bearer_auth(&key)
        .header("x-tenant", "elsewhere")
        .send()
        .await
        .unwrap();
    assert_eq!(other_tenant.status(), StatusCode::NOT_FOUND);
    let forged = format!("{}x", &key[..key.len() - 1]);
    assert_eq!(app.get_as(&forged, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get_as("tome_nothing_here", "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED);
    let revoke = app
        .client
        .delete(app.url(&format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get_as(&key, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "revoked at once");
    let (status, error) = create_key(&app, &token, json!({"name": "old", "expires_at": "2020-01-01T00:00:00Z"})).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("expires_at")));
}

async fn a_key_cannot_mint_a_stronger_key(app: TestApp) {
    app.register("admin", PASSWORD).await;
    app.register("bob", PASSWORD).await;
    let bob = app.db.store.find_user_by_login("bob").await.unwrap();
    let active = tome_domain::identity::UserPatch { is_active: Some(true), ..Default::default() };
    app.db.store.update_user(bob.id, active).await.unwrap();
    let token = app.login("bob", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let (status, error) = create_key(&app, &token, json!({"name": "x", "permissions": ["audit.read"]})).await;
    assert_eq!(
        (status, error["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("permissions")),
        "not bob's"
    );
    let (_, weak) = create_key(&app, &token, json!({"name": "weak", "permissions": ["chat.use"]})).await;
    let weak_key = weak["key"].as_str().unwrap();
    let (status, _) =
        create_key(&app, weak_key, json!({"name": "stronger", "permissions": ["documents.ingest"]})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a key's request holds only the key's permissions");
    let (status, child) = create_key(&app, weak_key, json!({"name": "same"})).await;
    assert_eq!((status, &child["permissions"]), (StatusCode::CREATED, &json!(["chat.use"])));
    // Taking bob's role away empties his keys too.
    use tome_domain::repo::AccessRepo;
    let tenant = app.db.store.default_tenant().await.unwrap();
    let member = app.db.store.get_role_by_name(tenant.id, "member").await.unwrap();
    app.db.store.unassign_role(tenant.id, bob.id, member.id).await.unwrap();
    let (_, me) = app.get_as(weak_key, "/api/v1/auth/me").await;
    assert_eq!(me["permissions"], json!([]));
}

async fn deactivation_ends_sessions_and_keys_at_once(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let bob_id = app.register("bob", PASSWORD).await["user"]["id"].as_str().unwrap().to_owned();
    let admin = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let post = |token: String, path: String| {
        let request = app.client.post(app.url(&path)).bearer_auth(token);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(post(admin.clone(), format!("/api/v1/users/{bob_id}/activate")).await, StatusCode::OK);
    let bob = app.login("bob", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let (_, key) = create_key(&app, &bob, json!({"name": "bob's"})).await;
    let bob_key = key["key"].as_str().unwrap().to_owned();
    assert_eq!(app.get_as(&bob_key, "/api/v1/auth/me").await.0, StatusCode::OK);
    assert_eq!(post(admin.clone(), format!("/api/v1/users/{bob_id}/deactivate")).await, StatusCode::OK);
    assert_eq!(app.get_as(&bob, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "session ended");
    assert_eq!(app.get_as(&bob_key, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "key revoked");
    let login = app.post_json("/api/v1/auth/login", &json!({"login": "bob", "password": PASSWORD})).await;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = app.get_as(&admin, &format!("/api/v1/users/{bob_id}")).await;
    assert_eq!(status, StatusCode::OK, "the account and its data stay");
    let admin_id = app.db.store.find_user_by_login("admin").await.unwrap().id;
    assert_eq!(
        post(admin.clone(), format!("/api/v1/users/{admin_id}/deactivate")).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn users_are_administered_only_with_users_manage_in_their_tenant(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let bob_id = app.register("bob", PASSWORD).await["user"]["id"].as_str().unwrap().to_owned();
    let carol_id = app.register("carol", PASSWORD).await["user"]["id"].as_str().unwrap().to_owned();
    let admin = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    for id in [&bob_id, &carol_id] {
        let response =
            app.client.post(app.url(&format!("/api/v1/users/{id}/activate"))).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let bob = app.login("bob", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let (status, body) = app.get_as(&bob, &format!("/api/v1/users/{carol_id}")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "members lack users.manage"
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("users.manage"));
    let stranger = tome_domain::UserId::new();
    assert_eq!(app.get_as(&admin, &format!("/api/v1/users/{stranger}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get_as(&admin, "/api/v1/users/not-a-uuid").await.0, StatusCode::NOT_FOUND);
}

app_tests!(password_change_ends_other_sessions, password_reset_works_once_and_ends_every_session);

async fn password_change_ends_other_sessions(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let here = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let elsewhere = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let change = |current: &str, new: &str| {
        let request = app
            .client
            .put(app.url("/api/v1/auth/password"))
            .bearer_auth(&here)
            .json(&json!({"current_password": current, "new_password": new}));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.text().await.unwrap())
        }
    };
    let (status, body) = change("wrong one!!", "a brand new password").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("current_password"));
    assert_eq!(change(PASSWORD, "short").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(change(PASSWORD, "a brand new password").await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get_as(&here, "/api/v1/auth/me").await.0, StatusCode::OK, "this session stays");
    assert_eq!(app.get_as(&elsewhere, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "others end");
    let old = app.post_json("/api/v1/auth/login", &json!({"login": "admin", "password": PASSWORD})).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    app.login("admin", "a brand new password").await;
}

async fn password_reset_works_once_and_ends_every_session(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let session = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let known = app.post_json("/api/v1/auth/password/forgot", &json!({"email": "ADMIN@example.com"})).await;
    let unknown = app.post_json("/api/v1/auth/password/forgot", &json!({"email": "nobody@example.com"})).await;
    assert_eq!((known.status(), unknown.status()), (StatusCode::ACCEPTED, StatusCode::ACCEPTED));
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap(), "the same answer either way");
    // The mail goes out after the answer (so that it takes as long for every address).
    let mut sent = Vec::new();
    for _ in 0..100 {
        sent = app.outbox.sent.lock().unwrap().clone();
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(sent.len(), 1, "mail only for the real account");
    let (to, _, body) = &sent[0];
    assert_eq!(to, "admin@example.com");
    let token = body.lines().map(str::trim).find(|l| l.len() == 43).unwrap().to_owned();
    assert_eq!(reset(&app, "made-up-token", "a fresh password 1").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reset(&app, &token, "a fresh password 1").await, StatusCode::NO_CONTENT);
    assert_eq!(reset(&app, &token, "a fresh password 2").await, StatusCode::UNPROCESSABLE_ENTITY, "single use");
    assert_eq!(app.get_as(&session, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "every session ended");
    app.login("admin", "a fresh password 1").await;
}

async fn reset(app: &TestApp, token: &str, password: &str) -> StatusCode {
    let body = json!({"token": token, "new_password": password});
    app.post_json("/api/v1/auth/password/reset", &body).await.status()
}

app_tests!(configure(|config| config.trusted_proxies = Some("127.0.0.1".into())) =>
    guessing_from_one_address_cannot_lock_the_account_out);

async fn guessing_from_one_address_cannot_lock_the_account_out(app: TestApp) {
    app.register("admin", PASSWORD).await;
    app.register("other", PASSWORD).await;
    let login = |from: &'static str, login: &'static str, password: &'static str| {
        let request = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", from)
            .json(&json!({"login": login, "password": password}));
        async move { request.send().await.unwrap() }
    };
    let attacker = "203.0.113.66";
    for _ in 0..10 {
        assert_eq!(login(attacker, "admin", "guess guess").await.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = login(attacker, "ADMIN", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "the guessing address waits, even when right");
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=91).contains(&retry_after), "{retry_after}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let owner = login("198.51.100.1", "admin", PASSWORD).await;
    assert_eq!(owner.status(), StatusCode::OK, "the account's owner, elsewhere, still gets in");
    assert_eq!(login(attacker, "other", "guess guess").await.status(), StatusCode::UNAUTHORIZED, "other accounts too");

    // What was typed into the login field of a failed attempt is not kept.
    assert_eq!(login("198.51.100.2", "my secret passphrase", "x").await.status(), StatusCode::UNAUTHORIZED);
    let platform = app.db.store.list_platform_audit(AuditFilter::default(), PageRequest::default()).await.unwrap();
    let failed: Vec<&str> = platform
        .items
        .iter()
        .filter(|e| e.action == "user.login_failed")
        .map(|e| e.summary.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(failed.len(), 12, "{failed:?}");
    assert!(failed.iter().all(|summary| !summary.contains("secret passphrase")), "{failed:?}");
    assert!(failed.iter().any(|summary| summary.contains("unknown account")));
    let addresses: Vec<&str> = platform.items.iter().filter_map(|e| e.ip.as_deref()).collect();
    assert!(addresses.contains(&attacker), "the forwarded address is the client's: {addresses:?}");
}

app_tests!(settings_are_replaced_or_merge_patched_and_capped);

async fn settings_are_replaced_or_merge_patched_and_capped(app: TestApp) {
    app.register("admin", PASSWORD).await;
    let token = app.login("admin", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let (status, empty) = app.get_as(&token, "/api/v1/me/settings").await;
    assert_eq!((status, &empty["settings"]), (StatusCode::OK, &json!({})));
    let put = |body: String, method: reqwest::Method, content_type: &'static str| {
        let request = app
            .client
            .request(method, app.url("/api/v1/me/settings"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let replaced = json!({"theme": "dark", "language": "fr", "editor": {"font": "mono", "size": 12}});
    let (status, body) = put(replaced.to_string(), reqwest::Method::PUT, "application/json").await;
    assert_eq!((status, &body["settings"]), (StatusCode::OK, &replaced));
    let patch = json!({"language": null, "editor": {"size": 14}, "persona": "helper"});
    let (status, body) = put(patch.to_string(), reqwest::Method::PATCH, "application/merge-patch+json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"], json!({"theme": "dark", "editor": {"font": "mono", "size": 14}, "persona": "helper"}));
    assert_eq!(app.get_as(&token, "/api/v1/me/settings").await.1["settings"], body["settings"], "stored");
    let (status, error) = put("[1, 2]".into(), reqwest::Method::PUT, "application/json").await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("settings")));
    let huge = json!({"notes": "x".repeat(70 * 1024)});
    let (status, error) = put(huge.to_string(), reqwest::Method::PUT, "application/json").await;
    assert_eq!((status, error["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")));
    assert_eq!(
        app.get_as(&token, "/api/v1/me/settings").await.1["settings"],
        body["settings"],
        "a refused change changes nothing"
    );
}
