//! Generated from the route table (the OpenAPI document is built from the routes):
//! - the permission matrix: every built-in role against every operation; an operation that
//!   declares a permission (its `bearer` scope) answers 403 exactly to the roles without it;
//! - the tenant-isolation matrix: every operation that names an object in its path answers
//!   404 to the owner of another tenant, for each of this tenant's objects, and leaves the
//!   object as it was; no list shows another tenant's objects.
//!
//! A new route with a path parameter that this file has no fixture for fails the test.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_domain::audio::NewTranscriptionJob;
use tome_domain::catalog::builtin_role_permissions;
use tome_domain::knowledge::Visibility;
use tome_domain::repo::AudioRepo;
use tome_testkit::{TestApp, app_tests};

app_tests!(every_builtin_role_gets_403_exactly_where_it_lacks_the_permission, another_tenant_sees_nothing_of_this_one);

/// Operations left out, and why.
const SKIPPED: &[(&str, &str)] = &[
    // Ends the caller's own session; covered by the auth tests.
    ("post", "/api/v1/auth/logout"),
];

/// Every operation that needs credentials: (method, path template, required permission if any).
async fn operations(app: &TestApp) -> Vec<(String, String, Option<String>)> {
    let (_, doc) = app.get_json("/api/openapi.json").await;
    let mut found = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if SKIPPED.contains(&(method.as_str(), path.as_str())) {
                continue;
            }
            let Some(security) = op["security"].as_array() else { continue };
            let scope =
                security[0]["bearer"].as_array().and_then(|s| s.first()).map(|s| s.as_str().unwrap().to_owned());
            if let Some(scope) = &scope {
                let known = scope == "superadmin" || tome_domain::catalog::PERMISSIONS.iter().any(|(p, _)| p == scope);
                assert!(known, "{method} {path} declares `{scope}`, which is not in the catalog");
            }
            found.push((method.clone(), path.clone(), scope));
        }
    }
    assert!(found.len() >= 40, "the route table was read ({} operations)", found.len());
    found
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.to_uppercase().as_bytes()).unwrap()
}

/// One body that deserializes for every route (unknown fields are ignored), so that each
/// request reaches its authorization check instead of stopping at a missing field.
fn body_for(method: &str) -> Option<Value> {
    ["post", "put", "patch"].contains(&method).then(|| {
        json!({"name": "matrix", "content": "matrix", "user": "nobody", "roles": ["member"], "permissions": [],
            "email": "nobody@example.com", "suspended": true,
            "platform": "youtube", "url": "https://youtube.com/@matrix"})
    })
}

async fn user_id(app: &TestApp, token: &str) -> String {
    app.call(token, Method::GET, "/api/v1/auth/me", None).await.1["user"]["id"].as_str().unwrap().to_owned()
}

async fn every_builtin_role_gets_403_exactly_where_it_lacks_the_permission(app: TestApp) {
    let admin = app.superadmin("root").await;
    let (_, me) = app.call(&admin, Method::GET, "/api/v1/auth/me", None).await;
    let tenant = me["tenant"]["id"].as_str().unwrap().to_owned();
    let mut checked = 0;
    for role in ["owner", "admin", "member", "viewer"] {
        let token = app.active_user(&admin, &format!("role-{role}")).await;
        let id = user_id(&app, &token).await;
        let body = json!({"roles": [role]});
        let (status, _) = app.call(&admin, Method::PUT, &format!("/api/v1/users/{id}/roles"), Some(body)).await;
        assert_eq!(status, StatusCode::OK);
        let held = builtin_role_permissions(role);
        for (verb, template, scope) in operations(&app).await {
            let path = template
                .replace("/tenants/{id}", &format!("/tenants/{tenant}"))
                .split('/')
                .map(|part| if part.starts_with('{') { uuid::Uuid::now_v7().to_string() } else { part.to_owned() })
                .collect::<Vec<_>>()
                .join("/");
            let (status, answer) = app.call(&token, method(&verb), &path, body_for(&verb)).await;
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{role}: {verb} {template}: {answer}");
            assert!(no_fault(status, &answer), "{role}: {verb} {template} answered {status}: {answer}");
            let allowed = scope.as_deref().is_none_or(|needed| held.contains(&needed));
            if allowed {
                assert_ne!(status, StatusCode::FORBIDDEN, "{role} may {verb} {template} ({scope:?}): {answer}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} may not {verb} {template} ({scope:?}): {answer}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 160, "{checked} role × operation pairs");
}

/// One object of each kind in the default tenant, by path parameter.
struct Fixtures {
    tenant: String,
    folder: String,
    project: String,
    role: String,
    link: String,
    member: String,
    api_key: String,
    session: String,
    document: String,
    persona: String,
    conversation: String,
    message: String,
    object: String,
    transcription: String,
}

impl Fixtures {
    async fn create(app: &TestApp, admin: &str) -> Self {
        let (_, me) = app.call(admin, Method::GET, "/api/v1/auth/me", None).await;
        let tenant = me["tenant"]["id"].as_str().unwrap().to_owned();
        let session = me["session_id"].as_str().unwrap().to_owned();
        let post = |path: String, body: Value| async move {
            let (status, created) = app.call(admin, Method::POST, &path, Some(body)).await;
            assert!(status.is_success(), "{path}: {created}");
            created["id"].as_str().unwrap().to_owned()
        };
        let folder = post("/api/v1/folders".into(), json!({"name": "Secret folder"})).await;
        let project = post("/api/v1/projects".into(), json!({"name": "Secret project", "folder_id": folder})).await;
        let role = post("/api/v1/roles".into(), json!({"name": "auditor", "permissions": ["audit.read"]})).await;
        let link = post(
            format!("/api/v1/tenants/{tenant}/social-links"),
            json!({"platform": "youtube", "url": "https://youtube.com/@secret"}),
        )
        .await;
        let (_, key) = app.call(admin, Method::POST, "/api/v1/api-keys", Some(json!({"name": "ci"}))).await;
        let api_key = key["id"].as_str().unwrap().to_owned();
        let carol = app.active_user(admin, "carol").await;
        let member = user_id(app, &carol).await;
        let (status, uploaded) = app.upload(admin, &[("secret.txt", b"Secret plans".to_vec())], &[]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{uploaded}");
        let document = uploaded["documents"][0]["id"].as_str().unwrap().to_owned();
        let persona = post(
            "/api/v1/personas".into(),
            json!({"name": "secret-persona", "shared": true, "system_prompt": "Hush."}),
        )
        .await;
        let conversation = post("/api/v1/conversations".into(), json!({"title": "Secret talk"})).await;
        let (status, turn) = app
            .call(
                admin,
                Method::POST,
                &format!("/api/v1/conversations/{conversation}/messages"),
                Some(json!({"content": "Secret plans?"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{turn}");
        let message = turn["assistant_message"]["id"].as_str().unwrap().to_owned();
        let object = post("/api/v1/objects".into(), json!({"name": "secret-part", "source": "cube(1);"})).await;
        // Made in the store: this server has no transcription model to accept a recording.
        let owner = tome_domain::UserId(user_id(app, admin).await.parse().unwrap());
        let recording = NewTranscriptionJob {
            user_id: Some(owner),
            audio_key: "tenants/x/audio/secret".into(),
            original_name: "secret-meeting.wav".into(),
            mime_type: Some("audio/x-wav".into()),
            size_bytes: 10,
            language: None,
            project_id: None,
            visibility: Visibility::Private,
        };
        let tenant_id = tome_domain::TenantId(tenant.parse().unwrap());
        let transcription = app.db.store.create_transcription(tenant_id, recording).await.unwrap().id.to_string();
        Self {
            tenant,
            folder,
            project,
            role,
            link,
            member,
            api_key,
            session,
            document,
            persona,
            conversation,
            message,
            object,
            transcription,
        }
    }

    /// The id for a path parameter of `template`.
    fn value(&self, template: &str, parameter: &str) -> String {
        let resource = template.trim_start_matches("/api/v1/").split('/').next().unwrap();
        let value = match (resource, parameter) {
            ("tenants", "{id}") => &self.tenant,
            ("tenants", "{link_id}") => &self.link,
            // No invitation of this tenant is known to the attacker: any id or token will do.
            ("tenants", "{invitation_id}") | ("invitations", "{token}") => &self.tenant,
            ("tenants" | "users", "{user_id}") | ("users", "{id}") => &self.member,
            ("folders", "{id}") => &self.folder,
            ("projects", "{id}") => &self.project,
            ("documents", "{id}") => &self.document,
            ("roles", "{id}") => &self.role,
            ("api-keys", "{id}") => &self.api_key,
            ("personas", "{id}") => &self.persona,
            ("conversations", "{id}") => &self.conversation,
            ("messages", "{id}") => &self.message,
            ("objects", "{id}") => &self.object,
            ("transcriptions", "{id}") => &self.transcription,
            ("auth", "{id}") if template.starts_with("/api/v1/auth/sessions/") => &self.session,
            _ => panic!("no fixture for {parameter} in {template}: add one to tests/matrix.rs"),
        };
        value.clone()
    }

    fn all(&self) -> [&String; 14] {
        [
            &self.tenant,
            &self.folder,
            &self.project,
            &self.role,
            &self.link,
            &self.member,
            &self.api_key,
            &self.session,
            &self.document,
            &self.persona,
            &self.conversation,
            &self.message,
            &self.object,
            &self.transcription,
        ]
    }
}

async fn another_tenant_sees_nothing_of_this_one(app: TestApp) {
    let admin = app.superadmin("root").await;
    let fixtures = Fixtures::create(&app, &admin).await;
    // Bob owns tenant B (every permission there) and is not a member of the default tenant.
    let bob = app.active_user(&admin, "bob").await;
    let bob_id = user_id(&app, &bob).await;
    let (_, other) = app.call(&admin, Method::POST, "/api/v1/tenants", Some(json!({"name": "Bobco"}))).await;
    let other = other["id"].as_str().unwrap().to_owned();
    let body = json!({"user": "bob", "roles": ["owner"]});
    assert!(
        app.call(&admin, Method::POST, &format!("/api/v1/tenants/{other}/members"), Some(body)).await.0.is_success()
    );
    let leave = format!("/api/v1/tenants/{}/members/{bob_id}", fixtures.tenant);
    assert_eq!(app.call(&admin, Method::DELETE, &leave, None).await.0, StatusCode::NO_CONTENT);
    let (_, me) = app.call(&bob, Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(me["tenant"]["id"], other.as_str(), "bob's requests are in Bobco: {me}");

    let mut objects = 0;
    let mut lists = 0;
    for (verb, template, scope) in operations(&app).await {
        let parameters: Vec<&str> = template.split('/').filter(|part| part.starts_with('{')).collect();
        if parameters.is_empty() {
            if verb == "get" {
                let (status, answer) = app.call(&bob, Method::GET, &template, None).await;
                assert!(no_fault(status, &answer), "GET {template} answered {status}: {answer}");
                let text = answer.to_string();
                for id in fixtures.all() {
                    assert!(!text.contains(id.as_str()), "GET {template} ({status}) shows {id} of another tenant");
                }
                lists += 1;
            }
            continue;
        }
        let mut path = template.clone();
        for parameter in parameters {
            path = path.replace(parameter, &fixtures.value(&template, parameter));
        }
        let (status, answer) = app.call(&bob, method(&verb), &path, body_for(&verb)).await;
        // A platform action may also be refused to every non-superadmin alike: that 403 says
        // nothing of whether the target exists.
        let platform = scope.as_deref() == Some("superadmin") && status == StatusCode::FORBIDDEN;
        assert!(status == StatusCode::NOT_FOUND || platform, "{verb} {template} as another tenant's owner: {answer}");
        objects += 1;
    }
    assert!(objects >= 20 && lists >= 10, "{objects} object operations, {lists} lists");

    // Naming the tenant does not help, and nothing was changed or removed.
    let request = app.client.get(app.url("/api/v1/folders")).bearer_auth(&bob).header("x-tenant", &fixtures.tenant);
    assert_eq!(request.send().await.unwrap().status(), StatusCode::NOT_FOUND);
    for path in [
        format!("/api/v1/folders/{}", fixtures.folder),
        format!("/api/v1/projects/{}", fixtures.project),
        format!("/api/v1/roles/{}", fixtures.role),
        format!("/api/v1/users/{}/roles", fixtures.member),
        format!("/api/v1/documents/{}", fixtures.document),
        format!("/api/v1/personas/{}", fixtures.persona),
        format!("/api/v1/conversations/{}/messages", fixtures.conversation),
        format!("/api/v1/objects/{}", fixtures.object),
        format!("/api/v1/transcriptions/{}", fixtures.transcription),
    ] {
        let (status, answer) = app.call(&admin, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let (_, links) =
        app.call(&admin, Method::GET, &format!("/api/v1/tenants/{}/social-links", fixtures.tenant), None).await;
    assert_eq!(links["items"][0]["id"], fixtures.link.as_str());
    let (_, keys) = app.call(&admin, Method::GET, "/api/v1/api-keys", None).await;
    assert!(keys.to_string().contains(&fixtures.api_key), "{keys}");
    assert_eq!(app.call(&admin, Method::GET, "/api/v1/auth/me", None).await.0, StatusCode::OK, "the session lives");
}

/// No server fault: a 5xx only as the documented 503 of a feature this server has no model
/// for (transcription, here), which says so.
fn no_fault(status: StatusCode, answer: &serde_json::Value) -> bool {
    !status.is_server_error() || (status == StatusCode::SERVICE_UNAVAILABLE && answer["error"]["code"] == "unavailable")
}
