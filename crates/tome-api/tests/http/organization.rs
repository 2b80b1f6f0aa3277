//! Folders, projects, social links, avatars and the audit hash chain over HTTP, on SQLite
//! and PostgreSQL.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_testkit::{TestApp, app_tests};

app_tests!(
    folders_form_a_tree_that_moves_without_cycles,
    projects_record_who_changed_them_and_stay_in_their_tenant,
    social_links_must_point_to_their_platform,
    avatars_must_decode_as_jpeg_and_come_back_as_sent,
    the_audit_log_is_a_hash_chain_that_detects_tampering,
);

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

async fn folders_form_a_tree_that_moves_without_cycles(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let viewer = app.active_user(&admin, "vera").await;
    let (_, vera) = app.call(&viewer, Method::GET, "/api/v1/auth/me", None).await;
    let roles = format!("/api/v1/users/{}/roles", vera["user"]["id"].as_str().unwrap());
    let (status, member) = app.call(&admin, Method::PUT, &roles, Some(json!({"roles": ["viewer"]}))).await;
    assert_eq!((status, member["roles"].clone()), (StatusCode::OK, json!(["viewer"])), "{member}");
    assert_eq!(app.call(&admin, Method::GET, &roles, None).await.1["roles"], json!(["viewer"]));
    assert_eq!(app.call(&viewer, Method::GET, &roles, None).await.0, StatusCode::FORBIDDEN);
    let (status, reports) = app.call(&admin, Method::POST, "/api/v1/folders", Some(json!({"name": "Reports"}))).await;
    assert_eq!((status, reports["path"].as_str()), (StatusCode::CREATED, Some("/Reports")), "{reports}");
    let body = json!({"name": "2026", "parent_id": id(&reports)});
    let (_, year) = app.call(&admin, Method::POST, "/api/v1/folders", Some(body)).await;
    assert_eq!(year["path"], "/Reports/2026");
    let body = json!({"name": "Q1", "parent_id": id(&year)});
    let (_, quarter) = app.call(&admin, Method::POST, "/api/v1/folders", Some(body)).await;
    assert_eq!(quarter["path"], "/Reports/2026/Q1");

    let (status, error) = app.call(&admin, Method::POST, "/api/v1/folders", Some(json!({"name": "a/b"}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    let path = format!("/api/v1/folders/{}", id(&reports));
    let (status, _) = app.call(&admin, Method::PATCH, &path, Some(json!({"parent_id": id(&quarter)}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a folder cannot move below itself");

    // Renaming the root of the subtree renames every path below it.
    let (status, renamed) = app.call(&admin, Method::PATCH, &path, Some(json!({"name": "Archive"}))).await;
    assert_eq!((status, renamed["path"].as_str()), (StatusCode::OK, Some("/Archive")));
    let (_, quarter_now) = app.call(&admin, Method::GET, &format!("/api/v1/folders/{}", id(&quarter)), None).await;
    assert_eq!(quarter_now["path"], "/Archive/2026/Q1");
    // Moving 2026 to the root.
    let year_path = format!("/api/v1/folders/{}", id(&year));
    let (_, moved) = app.call(&admin, Method::PATCH, &year_path, Some(json!({"parent_id": null}))).await;
    assert_eq!(moved["path"], "/2026");
    let (_, quarter_now) = app.call(&admin, Method::GET, &format!("/api/v1/folders/{}", id(&quarter)), None).await;
    assert_eq!(quarter_now["path"], "/2026/Q1");

    let (_, roots) = app.call(&viewer, Method::GET, "/api/v1/folders", None).await;
    assert_eq!(roots["items"].as_array().unwrap().len(), 2, "viewers read folders: {roots}");
    let (_, children) = app.call(&viewer, Method::GET, &format!("/api/v1/folders?parent_id={}", id(&year)), None).await;
    assert_eq!(children["items"][0]["name"], "Q1");
    let (status, _) = app.call(&viewer, Method::POST, "/api/v1/folders", Some(json!({"name": "Mine"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers do not hold projects.manage");

    assert_eq!(app.call(&admin, Method::DELETE, &year_path, None).await.0, StatusCode::NO_CONTENT);
    let (status, _) = app.call(&admin, Method::GET, &format!("/api/v1/folders/{}", id(&quarter)), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "subfolders go with their folder");
}

async fn projects_record_who_changed_them_and_stay_in_their_tenant(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let maria = app.active_user(&admin, "maria").await;
    let (_, folder) = app.call(&admin, Method::POST, "/api/v1/folders", Some(json!({"name": "Clients"}))).await;
    let body = json!({"name": "Apollo", "folder_id": id(&folder), "icon": "🚀", "description": "Moon"});
    let (status, project) = app.call(&admin, Method::POST, "/api/v1/projects", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    assert_eq!((project["icon"].as_str(), project["folder_id"].as_str()), (Some("🚀"), Some(id(&folder).as_str())));
    assert_eq!(project["created_by"], project["last_modified_by"]);

    let path = format!("/api/v1/projects/{}", id(&project));
    let (status, changed) =
        app.call(&maria, Method::PATCH, &path, Some(json!({"description": null, "name": "Apollo 11"}))).await;
    assert_eq!(status, StatusCode::OK, "members hold projects.manage: {changed}");
    assert!(changed["description"].is_null() && changed["icon"] == "🚀");
    let (_, me) = app.call(&maria, Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(changed["last_modified_by"], me["user"]["id"]);
    assert_ne!(changed["last_modified_by"], changed["created_by"]);
    let (_, filtered) =
        app.call(&maria, Method::GET, &format!("/api/v1/projects?folder_id={}", id(&folder)), None).await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);

    let (status, error) = app.call(&admin, Method::POST, "/api/v1/projects", Some(json!({"name": " "}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));

    // Another tenant's folder cannot be referenced, and its projects are not visible.
    let (_, other) = app.call(&admin, Method::POST, "/api/v1/tenants", Some(json!({"name": "Other"}))).await;
    let other_folder = app
        .client
        .post(app.url("/api/v1/folders"))
        .bearer_auth(&admin)
        .header("x-tenant", "other")
        .json(&json!({"name": "Theirs"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other_folder.status(), StatusCode::CREATED, "{}", id(&other));
    let other_folder: Value = other_folder.json().await.unwrap();
    let body = json!({"name": "Leak", "folder_id": id(&other_folder)});
    let (status, _) = app.call(&admin, Method::POST, "/api/v1/projects", Some(body)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert_eq!(app.call(&maria, Method::DELETE, &path, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(&maria, Method::GET, &path, None).await.0, StatusCode::NOT_FOUND);
}

async fn social_links_must_point_to_their_platform(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let member = app.active_user(&admin, "moe").await;
    let (_, me) = app.call(&admin, Method::GET, "/api/v1/auth/me", None).await;
    let tenant = me["tenant"]["id"].as_str().unwrap().to_owned();
    let links = format!("/api/v1/tenants/{tenant}/social-links");

    let body = json!({"platform": "linkedin", "url": "https://www.linkedin.com/company/tome"});
    let (status, link) = app.call(&admin, Method::POST, &links, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let body = json!({"platform": "linkedin", "url": "https://twitter.com/tome"});
    let (status, error) = app.call(&admin, Method::POST, &links, Some(body)).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("url")));
    let body = json!({"platform": "myspace", "url": "https://myspace.com/tome"});
    let (status, error) = app.call(&admin, Method::POST, &links, Some(body)).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("platform")));
    let body = json!({"platform": "youtube", "url": "https://youtube.com/@tome"});
    assert_eq!(app.call(&member, Method::POST, &links, Some(body)).await.0, StatusCode::FORBIDDEN);

    let (_, listed) = app.call(&member, Method::GET, &links, None).await;
    assert_eq!(listed["items"][0]["platform"], "linkedin", "members read the links");
    let one = format!("{links}/{}", id(&link));
    let (status, _) = app.call(&admin, Method::PATCH, &one, Some(json!({"platform": "twitter"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a new platform must match the URL");
    let body = json!({"platform": "twitter", "url": "https://x.com/tome"});
    let (status, changed) = app.call(&admin, Method::PATCH, &one, Some(body)).await;
    assert_eq!((status, changed["url"].as_str()), (StatusCode::OK, Some("https://x.com/tome")));
    assert_eq!(app.call(&admin, Method::DELETE, &one, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(&admin, Method::DELETE, &one, None).await.0, StatusCode::NOT_FOUND);
}

/// A real JPEG of `side`×`side` pixels; `noise` makes it compress badly (large).
fn jpeg(side: u16, noise: bool) -> Vec<u8> {
    let mut seed = 7u32;
    let pixels: Vec<u8> = (0..u32::from(side) * u32::from(side) * 3)
        .map(|i| {
            if noise {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            } else {
                (i % 251) as u8
            }
        })
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90).encode(&pixels, side, side, jpeg_encoder::ColorType::Rgb).unwrap();
    out
}

async fn avatars_must_decode_as_jpeg_and_come_back_as_sent(app: TestApp) {
    let token = app.superadmin("admin").await;
    let put = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .put(app.url("/api/v1/me/avatar"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_eq!(app.call(&token, Method::GET, "/api/v1/me/avatar", None).await.0, StatusCode::NOT_FOUND);
    let image = jpeg(64, false);
    assert_eq!(put(image.clone(), "image/jpeg").await.unwrap().status(), StatusCode::NO_CONTENT);
    let response = app.client.get(app.url("/api/v1/me/avatar")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await.unwrap().to_vec(), image);

    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    assert_eq!(put(png, "image/jpeg").await.unwrap().status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut broken = image.clone();
    broken.truncate(image.len() / 3);
    let response = put(broken, "image/jpeg").await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "a cut-off JPEG does not decode");
    let big = jpeg(600, true);
    assert!(big.len() > 512 * 1024, "the noisy image is {} bytes", big.len());
    assert_eq!(put(big, "image/jpeg").await.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = app.client.get(app.url("/api/v1/me/avatar")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap().to_vec(), image, "refused uploads leave the avatar as it was");

    assert_eq!(app.call(&token, Method::DELETE, "/api/v1/me/avatar", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(&token, Method::GET, "/api/v1/me/avatar", None).await.0, StatusCode::NOT_FOUND);
}

async fn the_audit_log_is_a_hash_chain_that_detects_tampering(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let viewer = app.active_user(&admin, "vic").await;
    for name in ["A", "B", "C"] {
        app.call(&admin, Method::POST, "/api/v1/folders", Some(json!({"name": name}))).await;
    }
    let (status, report) = app.call(&admin, Method::GET, "/api/v1/audit-log/verify", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["valid"], true, "{report}");
    let entries = report["entries"].as_u64().unwrap();
    assert!(entries >= 3, "{report}");
    assert_eq!(app.call(&viewer, Method::GET, "/api/v1/audit-log/verify", None).await.0, StatusCode::FORBIDDEN);

    let (_, log) = app.call(&admin, Method::GET, "/api/v1/audit-log?action=folder.create", None).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["seq"].as_i64().unwrap(), items[1]["seq"].as_i64().unwrap() + 1, "newest first");
    let middle = items[1]["id"].as_str().unwrap().to_owned();
    let target = items[1]["target_id"].as_str().unwrap();
    let (_, one) = app.call(&admin, Method::GET, &format!("/api/v1/audit-log?target_id={target}"), None).await;
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let until = items[2]["created_at"].as_str().unwrap();
    let (_, before) = app.call(&admin, Method::GET, &format!("/api/v1/audit-log?until={until}"), None).await;
    assert!(before["items"].as_array().unwrap().iter().all(|e| e["action"] != "folder.create"), "{before}");
    let (status, _) = app.call(&admin, Method::GET, "/api/v1/audit-log?since=yesterday", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The database refuses to change an entry...
    let blocked = app.db.execute_raw("UPDATE audit_log SET summary = 'nothing happened'").await;
    assert!(blocked.is_err(), "audit entries are append-only");
    // ...and when someone with the keys changes one anyway, the chain shows where.
    app.db.tamper_audit_entry(&middle, "nothing happened").await;
    let (_, report) = app.call(&admin, Method::GET, "/api/v1/audit-log/verify", None).await;
    assert_eq!(report["valid"], false, "{report}");
    assert_eq!(report["broken_entry"]["id"], middle.as_str());
    assert!(report["reason"].as_str().unwrap().contains("does not match its hash"), "{report}");
}
