//! What a browser sees: the first-run state, the HttpOnly session cookie and its CSRF
//! defence, and the web app served from the binary (page fallback, caching, compression,
//! the strict CSP).

#![expect(clippy::unwrap_used, reason = "tests")]

use reqwest::header::{self, HeaderMap};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tome_testkit::{PASSWORD, TestApp, app_tests};

app_tests!(first_run_offers_the_administrator_and_the_models, a_browser_session_lives_in_an_http_only_cookie);
app_tests!(configure(|config| config.public_url = Some("https://tome.example.org".into())) =>
    the_cookie_is_secure_and_the_origin_is_the_public_one);

async fn first_run_offers_the_administrator_and_the_models(app: TestApp) {
    let (status, setup) = app.get_json("/api/v1/setup").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(setup["needs_admin"], true, "{setup}");
    assert_eq!(setup["signup"], "approval");
    assert!(setup["models"]["chat_models"].is_array() && setup["models"]["transcriber"].is_boolean(), "{setup}");
    assert!(setup["models"].get("embedder").is_some(), "{setup}");
    app.register("root", PASSWORD).await;
    let (_, setup) = app.get_json("/api/v1/setup").await;
    assert_eq!(setup["needs_admin"], false);
    assert!(setup["models"].is_null(), "the models are not told to strangers after the first run: {setup}");
}

/// A cookie session for `login`, returning the cookie pair (`tome_session=…`) to send back.
async fn cookie_login(app: &TestApp, login: &str, extra: &[(&str, &str)]) -> (StatusCode, HeaderMap, Value) {
    let mut request =
        app.client.post(app.url("/api/v1/auth/cookie")).json(&json!({"login": login, "password": PASSWORD}));
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

fn cookie_pair(headers: &HeaderMap) -> String {
    let set = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn with_cookie(
    app: &TestApp,
    cookie: &str,
    method: Method,
    path: &str,
    extra: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path)).header(header::COOKIE, cookie);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn a_browser_session_lives_in_an_http_only_cookie(app: TestApp) {
    app.register("ada", PASSWORD).await;
    // Without the CSRF header, a login form on another site cannot sign the browser in.
    let (status, headers, body) = cookie_login(&app, "ada", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(headers.get(header::SET_COOKIE).is_none());
    let (status, _, _) = cookie_login(&app, "ada", &[("x-tome-csrf", "1"), ("origin", "http://evil.example")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, headers, body) = cookie_login(&app, "ada", &[("x-tome-csrf", "1")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let set = headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "plain http on loopback: {set}");
    assert!(body.get("access_token").is_none() && body.get("refresh_token").is_none(), "no token for scripts: {body}");
    assert_eq!(body["user"]["username"], "ada");
    let cookie = cookie_pair(&headers);

    // Reading needs nothing more than the cookie.
    let (status, me) = with_cookie(&app, &cookie, Method::GET, "/api/v1/auth/me", &[], None).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["session_id"], body["session_id"]);

    // A change made with the cookie needs the header, and no foreign origin.
    let change = Some(json!({"title": "From the browser"}));
    let (status, refused) =
        with_cookie(&app, &cookie, Method::POST, "/api/v1/conversations", &[], change.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("X-Tome-CSRF"), "{refused}");
    let foreign = [("x-tome-csrf", "1"), ("origin", "http://evil.example")];
    let (status, _) = with_cookie(&app, &cookie, Method::POST, "/api/v1/conversations", &foreign, change.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cross = [("x-tome-csrf", "1"), ("sec-fetch-site", "cross-site")];
    let (status, _) = with_cookie(&app, &cookie, Method::POST, "/api/v1/conversations", &cross, change.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let origin = format!("http://{}", app.address);
    let own = [("x-tome-csrf", "1"), ("origin", origin.as_str())];
    let (status, made) = with_cookie(&app, &cookie, Method::POST, "/api/v1/conversations", &own, change).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (_, list) = with_cookie(&app, &cookie, Method::GET, "/api/v1/conversations", &[], None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "exactly the one accepted change: {list}");

    // The session is listed like any other, and signing out ends it and clears the cookie.
    let (_, sessions) = with_cookie(&app, &cookie, Method::GET, "/api/v1/auth/sessions", &[], None).await;
    assert!(sessions["items"].as_array().unwrap().iter().any(|s| s["current"] == true), "{sessions}");
    let response = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header(header::COOKIE, &cookie)
        .header("x-tome-csrf", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cleared = response.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(cleared.starts_with("tome_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let (status, _) = with_cookie(&app, &cookie, Method::GET, "/api/v1/auth/me", &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the old cookie is dead");

    // Bearer clients are untouched by the CSRF rule.
    let token = app.login("ada", PASSWORD).await["access_token"].as_str().unwrap().to_owned();
    let (status, _) = app.call(&token, Method::POST, "/api/v1/conversations", Some(json!({"title": "API"}))).await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn the_cookie_is_secure_and_the_origin_is_the_public_one(app: TestApp) {
    app.register("ada", PASSWORD).await;
    let origin = format!("http://{}", app.address);
    let (status, _, _) = cookie_login(&app, "ada", &[("x-tome-csrf", "1"), ("origin", origin.as_str())]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "behind TOME_PUBLIC_URL only its origin may sign in");
    let public = [("x-tome-csrf", "1"), ("origin", "https://tome.example.org")];
    let (status, headers, _) = cookie_login(&app, "ada", &public).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().ends_with("; Secure"));
}

app_tests!(the_web_app_is_served_from_the_binary);

async fn the_web_app_is_served_from_the_binary(app: TestApp) {
    let page = app.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers().get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_owned();
    for directive in ["default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    assert!(page.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(page.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let etag = page.headers()[header::ETAG].clone();
    let html = page.text().await.unwrap();
    assert!(html.contains("<div id=\"root\">"), "{html}");
    assert!(!html.contains("<script>") && !html.contains("<script type=\"module\">"), "no inline script: {html}");

    // Page paths of the app get the same page; the API's never do.
    let deep = app.get("/chat/0190a8b4-0000-7000-8000-000000000000").await;
    assert_eq!(deep.status(), StatusCode::OK);
    assert_eq!(deep.text().await.unwrap(), html);
    for path in ["/api/v1/nothing", "/v1/nothing", "/api", "/mcp/x"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    assert_eq!(app.get("/assets/gone-1234.js").await.status(), StatusCode::NOT_FOUND, "a stale asset is not HTML");
    let revalidated = app.client.get(app.url("/")).header(header::IF_NONE_MATCH, etag).send().await.unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);

    // The hashed script is immutable and compressed for browsers that accept gzip.
    let script = html.split("src=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    assert!(script.starts_with("/assets/") && script.ends_with(".js"), "{script}");
    let plain = app.get(&script).await;
    assert_eq!(plain.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert!(plain.headers()[header::CONTENT_TYPE].to_str().unwrap().contains("javascript"));
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain_len = plain.bytes().await.unwrap().len();
    let gzipped = app.client.get(app.url(&script)).header(header::ACCEPT_ENCODING, "gzip").send().await.unwrap();
    assert_eq!(gzipped.headers()[header::CONTENT_ENCODING], "gzip");
    let gzipped_len = gzipped.bytes().await.unwrap().len();
    assert!(gzipped_len * 2 < plain_len, "{gzipped_len} of {plain_len} bytes");
}
