//! TOTP two-factor authentication over HTTP, on SQLite and PostgreSQL: setup, enable with
//! recovery codes, login with a code (once), with a recovery code (once), tenant
//! enforcement, disable.

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_domain::PageRequest;
use tome_domain::knowledge::AuditFilter;
use tome_domain::repo::KnowledgeRepo;
use tome_domain::two_factor::code_at;
use tome_testkit::{PASSWORD, TestApp, app_tests};

app_tests!(two_factor_codes_work_once_and_tenants_can_require_them);

fn unix_now() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp().unsigned_abs()
}

async fn login(app: &TestApp, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({"login": "ada", "password": PASSWORD});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let response = app.post_json("/api/v1/auth/login", &body).await;
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn two_factor_codes_work_once_and_tenants_can_require_them(app: TestApp) {
    app.register("ada", PASSWORD).await;
    let ada = app.login("ada", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let bob = app.active_user(&ada, "bob").await;
    let (_, status) = app.call(&ada, Method::GET, "/api/v1/auth/2fa", None).await;
    assert_eq!(status["enabled"], false);

    let (status, setup) = app.call(&ada, Method::POST, "/api/v1/auth/2fa/setup", None).await;
    assert_eq!(status, StatusCode::OK);
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert!(setup["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Tome:ada?secret="), "{setup}");
    let (status, error) =
        app.call(&ada, Method::POST, "/api/v1/auth/2fa/enable", Some(json!({"code": "000000"}))).await;
    assert_eq!((status, error["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("code")));
    let enabled_at = unix_now();
    let code = code_at(&secret, enabled_at).unwrap();
    let (status, enabled) = app.call(&ada, Method::POST, "/api/v1/auth/2fa/enable", Some(json!({"code": code}))).await;
    assert_eq!(status, StatusCode::OK, "{enabled}");
    let recovery: Vec<String> =
        enabled["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    assert_eq!(recovery.len(), 10);
    let (status, _) = app.call(&ada, Method::POST, "/api/v1/auth/2fa/setup", None).await;
    assert_eq!(status, StatusCode::CONFLICT, "no new secret while it is on");

    // Password alone no longer logs in; the code that turned it on cannot be replayed.
    let (status, error) = login(&app, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error["error"]["message"].as_str().unwrap().contains("totp_code"), "{error}");
    assert_eq!(login(&app, json!({"totp_code": code})).await.0, StatusCode::UNAUTHORIZED, "a code works once");
    assert_eq!(login(&app, json!({"totp_code": "123456"})).await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = login(&app, json!({"recovery_code": recovery[0].to_uppercase()})).await;
    assert_eq!(status, StatusCode::OK, "recovery codes are case-insensitive");
    assert_eq!(login(&app, json!({"recovery_code": recovery[0]})).await.0, StatusCode::UNAUTHORIZED, "and single-use");
    let next = code_at(&secret, unix_now() + 30).unwrap();
    let (status, tokens) = login(&app, json!({"totp_code": next})).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let (_, status) = app.call(&ada, Method::GET, "/api/v1/auth/2fa", None).await;
    assert_eq!((status["enabled"].as_bool(), status["recovery_codes_left"].as_i64()), (Some(true), Some(9)));

    // The tenant requires it: bob (no two-factor) is refused its data until he turns it on.
    let (_, me) = app.call(&ada, Method::GET, "/api/v1/auth/me", None).await;
    let tenant = me["tenant"]["id"].as_str().unwrap().to_owned();
    let patch = json!({"require_two_factor": true});
    let (status, changed) = app.call(&ada, Method::PATCH, &format!("/api/v1/tenants/{tenant}"), Some(patch)).await;
    assert_eq!((status, changed["require_two_factor"].as_bool()), (StatusCode::OK, Some(true)));
    let (status, error) = app.call(&bob, Method::GET, "/api/v1/folders", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error["error"]["message"].as_str().unwrap().contains("two-factor"), "{error}");
    assert_eq!(app.call(&bob, Method::GET, "/api/v1/auth/2fa", None).await.0, StatusCode::OK, "setup stays reachable");
    assert_eq!(app.call(&ada, Method::GET, "/api/v1/folders", None).await.0, StatusCode::OK);

    // Turning it off needs a second factor; then the password suffices again.
    let (status, _) = app.call(&ada, Method::POST, "/api/v1/auth/2fa/disable", Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body = json!({"recovery_code": recovery[1]});
    let (status, off) = app.call(&ada, Method::POST, "/api/v1/auth/2fa/disable", Some(body)).await;
    assert_eq!((status, off["enabled"].as_bool()), (StatusCode::OK, Some(false)));
    assert_eq!(login(&app, json!({})).await.0, StatusCode::OK);

    let audit = app.db.store.list_platform_audit(AuditFilter::default(), PageRequest { limit: 100, after: None });
    let actions: Vec<String> = audit.await.unwrap().items.into_iter().map(|e| e.action).collect();
    for action in
        ["user.two_factor_enable", "user.two_factor_failed", "user.two_factor_recovery_used", "user.two_factor_disable"]
    {
        assert!(actions.iter().any(|a| a == action), "{action} in {actions:?}");
    }
}
