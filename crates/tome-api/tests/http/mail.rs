//! Password reset mail over real SMTP: a loopback server that speaks the protocol receives
//! what Tome's `lettre` transport sends, and the token in it resets the password.

#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tome_testkit::{PASSWORD, TestApp, TestDb};

/// Accepts one SMTP session and returns the message data (bounded: 20 s).
async fn smtp_server() -> (u16, oneshot::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (done, received) = oneshot::channel();
    tokio::spawn(async move {
        let session = async {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 test ESMTP\r\n").await.unwrap();
            let mut data = String::new();
            while let Some(line) = lines.next_line().await.unwrap() {
                let command = line.to_ascii_uppercase();
                let answer: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
                    b"250-test\r\n250 8BITMIME\r\n"
                } else if command.starts_with("DATA") {
                    write.write_all(b"354 go ahead\r\n").await.unwrap();
                    while let Some(line) = lines.next_line().await.unwrap() {
                        if line == "." {
                            break;
                        }
                        data.push_str(&line);
                        data.push('\n');
                    }
                    b"250 queued\r\n"
                } else if command.starts_with("QUIT") {
                    write.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                } else {
                    b"250 ok\r\n"
                };
                write.write_all(answer).await.unwrap();
            }
            data
        };
        if let Ok(data) = tokio::time::timeout(Duration::from_secs(20), session).await {
            let _ = done.send(data);
        }
    });
    (port, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_token_arrives_by_smtp_and_works_once() {
    let (port, received) = smtp_server().await;
    let db = TestDb::sqlite().await;
    let app = TestApp::spawn_with(db, |config| {
        config.smtp_url = Some(format!("smtp://127.0.0.1:{port}").into());
        config.smtp_from = Some("Tome <tome@example.com>".into());
    })
    .await;
    app.register("ada", PASSWORD).await;
    let response = app.post_json("/api/v1/auth/password/forgot", &json!({"email": "ada@example.com"})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let data = tokio::time::timeout(Duration::from_secs(20), received).await.unwrap().unwrap();
    assert!(data.contains("From: Tome <tome@example.com>"), "{data}");
    assert!(data.contains("To: ada@example.com"), "{data}");
    assert!(data.contains("Subject: Reset your Tome password"), "{data}");
    let token = data
        .lines()
        .map(str::trim)
        .find(|line| line.len() >= 40 && !line.contains(' ') && !line.contains(':'))
        .unwrap_or_else(|| panic!("no token in {data}"))
        .to_owned();

    let body = json!({"token": token, "new_password": "a brand new passphrase"});
    let response = app.post_json("/api/v1/auth/password/reset", &body).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{}", response.text().await.unwrap());
    app.login("ada", "a brand new passphrase").await;
    let again = app.post_json("/api/v1/auth/password/reset", &body).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY, "single use");
}

#[tokio::test]
async fn an_unusable_smtp_url_stops_startup() {
    let db = TestDb::sqlite().await;
    let mut config = tome_config::Config::for_data_dir(db.dir.path());
    config.smtp_url = Some("ftp://mail.example.com".to_owned().into());
    let state = tome_api::AppState::new(std::sync::Arc::new(db.store.clone()), config, b"key");
    let error = state.err().unwrap();
    assert!(error.contains("TOME_SMTP_URL"), "{error}");
}
