//! The server remembers what credentials resolve to (`tome_domain::auth_cache`), yet a change
//! made anywhere — by this server, another process, or by hand in the database — counts on
//! the very next request. On SQLite and PostgreSQL.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::{Method, StatusCode};
use serde_json::json;
use tome_domain::repo::SessionRepo;
use tome_testkit::{TestApp, app_tests};

app_tests!(changes_behind_the_servers_back_count_on_the_next_request, every_identity_table_moves_the_auth_epoch,);

/// A user's id as raw SQL can name it on either engine.
fn user(username: &str) -> String {
    format!("(SELECT id FROM users WHERE username = '{username}')")
}

/// Asks `/auth/me` twice, so that the second answer comes from what the server remembered.
async fn me_twice(app: &TestApp, token: &str) -> serde_json::Value {
    let (status, first) = app.get_as(token, "/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, second) = app.get_as(token, "/api/v1/auth/me").await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(first, second);
    second
}

async fn changes_behind_the_servers_back_count_on_the_next_request(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let bob = app.active_user(&admin, "bob").await;
    let carol = app.active_user(&admin, "carol").await;
    let dave = app.active_user(&admin, "dave").await;
    let (status, key) = app.call(&admin, Method::POST, "/api/v1/api-keys", Some(json!({"name": "ci"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key = key["key"].as_str().unwrap().to_owned();

    // Everyone is remembered…
    assert!(me_twice(&app, &bob).await["permissions"].as_array().unwrap().contains(&json!("chat.use")));
    for token in [&carol, &dave, &key] {
        me_twice(&app, token).await;
    }

    // …and every change made on another connection is seen at once.
    app.db.execute_raw(&format!("DELETE FROM user_roles WHERE user_id = {}", user("bob"))).await.unwrap();
    let (status, me) = app.get_as(&bob, "/api/v1/auth/me").await;
    assert_eq!((status, &me["permissions"]), (StatusCode::OK, &json!([])), "role taken away");

    app.db.execute_raw(&format!("UPDATE users SET is_active = false WHERE id = {}", user("carol"))).await.unwrap();
    assert_eq!(app.get_as(&carol, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "deactivated");

    app.db.execute_raw(&format!("DELETE FROM auth_sessions WHERE user_id = {}", user("dave"))).await.unwrap();
    assert_eq!(app.get_as(&dave, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "session gone");

    app.db.execute_raw("DELETE FROM api_keys").await.unwrap();
    assert_eq!(app.get_as(&key, "/api/v1/auth/me").await.0, StatusCode::UNAUTHORIZED, "key gone");

    app.db.execute_raw("UPDATE tenants SET name = 'Renamed' WHERE slug = 'default'").await.unwrap();
    let (_, me) = app.get_as(&admin, "/api/v1/auth/me").await;
    assert_eq!((&me["tenant"]["name"], &me["memberships"][0]["name"]), (&json!("Renamed"), &json!("Renamed")));

    // The untouched admin is still in, and so is bob, without his role.
    assert_eq!(app.get_as(&admin, "/api/v1/auth/me").await.0, StatusCode::OK);
    assert_eq!(app.get_as(&bob, "/api/v1/auth/me").await.0, StatusCode::OK);
}

async fn every_identity_table_moves_the_auth_epoch(app: TestApp) {
    let admin = app.superadmin("admin").await;
    let (status, _) = app.call(&admin, Method::POST, "/api/v1/api-keys", Some(json!({"name": "ci"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app.call(&admin, Method::POST, "/api/v1/auth/2fa/setup", None).await;
    assert_eq!(status, StatusCode::OK);
    let tables = [
        ("users", "id"),
        ("tenants", "id"),
        ("memberships", "user_id"),
        ("roles", "id"),
        ("permissions", "id"),
        ("role_permissions", "role_id"),
        ("user_roles", "user_id"),
        ("auth_sessions", "id"),
        ("api_keys", "id"),
        ("user_two_factor", "user_id"),
    ];
    for (table, column) in tables {
        let before = app.db.store.auth_epoch().await.unwrap();
        let rows = app.db.execute_raw(&format!("UPDATE {table} SET {column} = {column}")).await.unwrap();
        assert!(rows > 0, "{table} has rows to touch");
        let after = app.db.store.auth_epoch().await.unwrap();
        assert!(after > before, "a write to {table} moved the epoch ({before} → {after})");
    }
    // Other tables do not: documents, chat and the like never empty the cache.
    let before = app.db.store.auth_epoch().await.unwrap();
    let (status, _) = app.call(&admin, Method::POST, "/api/v1/conversations", Some(json!({"title": "x"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.db.store.auth_epoch().await.unwrap(), before);
}
