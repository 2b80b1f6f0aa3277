//! Inputs an attacker sends: oversized form fields, too many files, NUL characters, slow
//! sockets; and what every response carries (security headers). SQLite and PostgreSQL.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tome_testkit::{TestApp, app_tests};

app_tests!(
    a_huge_form_field_is_refused_without_being_read_and_uploads_are_counted,
    a_nul_character_is_a_422_on_every_database,
    every_response_carries_security_headers,
);

app_tests!(configure(|config| {
    config.header_timeout_secs = 1;
    config.metrics_token = Some("a metrics token of some length".to_owned().into());
}) => slow_sockets_are_closed_and_the_server_stays_reachable);

async fn a_huge_form_field_is_refused_without_being_read_and_uploads_are_counted(app: TestApp) {
    let token = app.superadmin("root").await;
    // A `project_id` field of 64 MiB, streamed: refused after its first KiB (413), and no
    // file of the request is left in storage.
    let field = reqwest::multipart::Part::bytes(vec![b'7'; 64 * 1024 * 1024]);
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("a.txt"))
        .part("project_id", field);
    let response =
        app.client.post(app.url("/api/v1/documents")).bearer_auth(&token).multipart(form).send().await.unwrap();
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("project_id"), "{body}");
    assert_eq!(app.stored_files().len(), 0, "the file received before it was removed");

    // At most TOME_MAX_UPLOAD_FILES (20) files in one request.
    let files: Vec<(String, Vec<u8>)> =
        (0..21).map(|i| (format!("{i}.txt"), format!("file {i}").into_bytes())).collect();
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())).collect();
    let (status, body) = app.upload(&token, &files, &[]).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("file")), "{body}");
    assert_eq!(app.stored_files().len(), 0);
    let (status, body) = app.upload(&token, &files[..20], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

async fn a_nul_character_is_a_422_on_every_database(app: TestApp) {
    let token = app.superadmin("root").await;
    let login = app.post_json("/api/v1/auth/login", &json!({"login": "x\u{0}", "password": "whatever"})).await;
    assert_eq!(login.status(), StatusCode::UNPROCESSABLE_ENTITY, "the unauthenticated login");
    for (method, path, body) in [
        (Method::POST, "/api/v1/folders", json!({"name": "a\u{0}b"})),
        (Method::POST, "/api/v1/projects", json!({"name": "p", "description": "\u{0}"})),
        (Method::POST, "/api/v1/conversations", json!({"title": "t\u{0}"})),
        (Method::POST, "/api/v1/search", json!({"query": "a\u{0}"})),
        (Method::PUT, "/api/v1/me/settings", json!({"theme": "\u{0}"})),
        (Method::POST, "/api/v1/tenants", json!({"name": "\u{0}"})),
    ] {
        let (status, answer) = app.call(&token, method.clone(), path, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path}: {answer}");
    }
    for path in ["/api/v1/documents?q=a%00b", "/api/v1/users?q=%00", "/api/v1/conversations?q=%00"] {
        let (status, answer) = app.call(&token, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {answer}");
    }
    // A literal backslash before `u0000` is text, not a NUL.
    let (status, _) = app.call(&token, Method::POST, "/api/v1/folders", Some(json!({"name": "a\\u0000b"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    // A document whose text holds NUL characters is processed, without them.
    let (status, uploaded) = app.upload(&token, &[("nul.json", br#"{"note": "alpha\u0000beta"}"#.to_vec())], &[]).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{uploaded}");
    app.work().await;
    let id = uploaded["documents"][0]["id"].as_str().unwrap();
    let document = app.document(&token, id).await;
    assert_eq!(document["status"], "processed", "{document}");
    let chunks = app.document_chunks(&token, id).await;
    assert!(chunks.iter().any(|c| c["content"].as_str().unwrap().contains("alphabeta")), "{chunks:?}");
}

async fn every_response_carries_security_headers(app: TestApp) {
    let token = app.superadmin("root").await;
    for path in ["/healthz", "/api/docs/", "/api/openapi.json", "/no/such/route", "/api/v1/auth/me"] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("frame-ancestors 'none'"), "{path}: {policy}");
    }
    // A JPEG with HTML after it is served as a download that runs nothing.
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 90).encode(&[200u8; 3 * 4 * 4], 4, 4, jpeg_encoder::ColorType::Rgb).unwrap();
    jpeg.extend_from_slice(b"<html><script>alert(1)</script></html>");
    let put = app.client.put(app.url("/api/v1/me/avatar")).bearer_auth(&token).body(jpeg).send().await.unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let avatar = app.client.get(app.url("/api/v1/me/avatar")).bearer_auth(&token).send().await.unwrap();
    let headers = avatar.headers();
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert!(headers["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    // A request id is echoed only when short and plain.
    let odd = "<script>".repeat(20);
    let response = app.client.get(app.url("/healthz")).header("x-request-id", &odd).send().await.unwrap();
    assert_ne!(response.headers()["x-request-id"], odd.as_str());
    let response = app.client.get(app.url("/healthz")).header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42");
}

async fn slow_sockets_are_closed_and_the_server_stays_reachable(app: TestApp) {
    // 300 sockets: half send nothing, half half a request line.
    let mut sockets = Vec::new();
    for i in 0..300 {
        let mut socket = tokio::net::TcpStream::connect(app.address).await.unwrap();
        if i % 2 == 1 {
            socket.write_all(b"GET /healthz HT").await.unwrap();
        }
        sockets.push(socket);
    }
    let (status, _) = app.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK, "reachable with 300 slow sockets open");
    // Each is closed by the server once its headers are overdue (1 s here), bounded wait.
    let mut closed = 0;
    for socket in &mut sockets {
        let mut buffer = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer)).await;
        // EOF, a reset, or an error answer (408) all mean the server let the socket go.
        if matches!(read, Ok(Ok(_)) | Ok(Err(_))) {
            closed += 1;
        }
    }
    assert_eq!(closed, 300, "every slow socket was let go");
    // Metrics need their token. A fresh client: the pooled connection of the request above
    // sat idle past the 1 s header timeout, so the server has let it go too.
    let client = reqwest::Client::new();
    let unauthorized = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    let metrics = client.get(app.url("/metrics")).bearer_auth("a metrics token of some length").send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
}
