//! Request rates (429 with `Retry-After`, per account and per address) and per-tenant
//! storage quotas (403 `quota_exceeded`, nothing kept), over a socket on both databases.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_testkit::{PASSWORD, TestApp, app_tests};

app_tests!(configure(|config| {
    config.rate_limits =
        Some("register=3/h,refresh=2/min,search=2/min,chat=2/min,v1=2/min,upload=2/min,transcribe=2/min".to_owned());
}) => costly_actions_are_rate_limited_per_account_with_retry_after);

app_tests!(configure(|config| {
    config.quota_documents = Some(3);
    config.quota_storage_bytes = Some(1000);
}) => uploads_past_the_tenant_quota_are_refused_and_leave_nothing);

/// The answer is 429 `rate_limited` with a `Retry-After` of a few seconds to a minute.
fn assert_limited(status: StatusCode, body: &Value, retry_after: Option<u64>, what: &str) {
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{what}: {body}"
    );
    assert!(retry_after.is_some_and(|s| (1..=3601).contains(&s)), "{what}: Retry-After {retry_after:?}");
}

async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> (StatusCode, Value, Option<u64>) {
    let response = app.client.request(method, app.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = response.status();
    let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, response.json().await.unwrap_or(Value::Null), retry)
}

async fn costly_actions_are_rate_limited_per_account_with_retry_after(app: TestApp) {
    // Registration: three from this address in an hour, then 429.
    let root = app.superadmin("root").await;
    let ada = app.active_user(&root, "ada").await;
    let bob = app.active_user(&root, "bob").await;
    let body = json!({"email": "cy@example.com", "username": "cy", "password": PASSWORD});
    let (status, body, retry) = send(&app, "", Method::POST, "/api/v1/auth/register", body).await;
    assert_limited(status, &body, retry, "register");
    assert!(retry.is_some_and(|s| s > 60), "registration comes back over the hour: {retry:?}");

    // Search: two per account per minute; another account still searches.
    for _ in 0..2 {
        let (status, body, _) = send(&app, &ada, Method::POST, "/api/v1/search", json!({"query": "anything"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body, retry) = send(&app, &ada, Method::POST, "/api/v1/search", json!({"query": "anything"})).await;
    assert_limited(status, &body, retry, "search");
    let (status, _, _) = send(&app, &bob, Method::POST, "/api/v1/search", json!({"query": "anything"})).await;
    assert_eq!(status, StatusCode::OK, "the limit is the account's, not everyone's");

    // Chat turns.
    let (_, conversation, _) = send(&app, &ada, Method::POST, "/api/v1/conversations", json!({})).await;
    let messages = format!("/api/v1/conversations/{}/messages", conversation["id"].as_str().unwrap());
    for _ in 0..2 {
        let (status, body, _) = send(&app, &ada, Method::POST, &messages, json!({"content": "hello?"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body, retry) = send(&app, &ada, Method::POST, &messages, json!({"content": "hello?"})).await;
    assert_limited(status, &body, retry, "chat");

    // The OpenAI-compatible API: counted before the missing model answers 503.
    for _ in 0..2 {
        let (status, body, _) = send(&app, &ada, Method::POST, "/v1/embeddings", json!({"input": "x"})).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    }
    let (status, body, retry) = send(&app, &ada, Method::POST, "/v1/embeddings", json!({"input": "x"})).await;
    assert_limited(status, &body, retry, "v1");

    // Uploads: the third is refused before its body is read, and nothing is stored.
    for name in ["a.txt", "b.txt"] {
        let (status, body) = app.upload(&ada, &[(name, name.as_bytes().to_vec())], &[]).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let (status, body) = app.upload(&ada, &[("c.txt", b"c".to_vec())], &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")));
    assert_eq!(app.stored_files().len(), 2);

    // Refresh: counted per address, before the token is looked at.
    for _ in 0..2 {
        let (status, _, _) =
            send(&app, "", Method::POST, "/api/v1/auth/refresh", json!({"refresh_token": "nope"})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, body, retry) =
        send(&app, "", Method::POST, "/api/v1/auth/refresh", json!({"refresh_token": "nope"})).await;
    assert_limited(status, &body, retry, "refresh");
}

async fn uploads_past_the_tenant_quota_are_refused_and_leave_nothing(app: TestApp) {
    let root = app.superadmin("root").await;
    let (status, body) = app.upload(&root, &[("a.txt", vec![b'a'; 100]), ("b.txt", vec![b'b'; 100])], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // Two more would make four documents: the whole request is refused, nothing of it kept.
    let (status, body) = app.upload(&root, &[("c.txt", vec![b'c'; 10]), ("d.txt", vec![b'd'; 10])], &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("quota_exceeded")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("3 documents"), "{body}");
    // 800 more bytes would pass the 1,000-byte quota.
    let (status, body) = app.upload(&root, &[("e.txt", vec![b'e'; 801])], &[]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("quota_exceeded")), "{body}");
    assert_eq!(app.stored_files().len(), 2, "refused uploads leave no file");
    let (_, list) = app.call(&root, Method::GET, "/api/v1/documents", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "and no document");
    let (_, audit) = app.call(&root, Method::GET, "/api/v1/audit-log?action=document.create", None).await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "and no audit line: {audit}");
    // What fits is still taken.
    let (status, body) = app.upload(&root, &[("f.txt", vec![b'f'; 800])], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}
