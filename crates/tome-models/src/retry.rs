//! When a remote model server's answer deserves another try, and how long to wait first.

use std::time::Duration;

/// 429 (rate limited) and 5xx (the server's trouble) are worth retrying; other 4xx are not.
pub fn retryable(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// The server's `Retry-After` in seconds, if it sent one.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The wait before the next try: the server's word, else `delay`, never above a minute.
pub fn pause(server: Option<Duration>, delay: Duration) -> Duration {
    server.unwrap_or(delay).min(Duration::from_secs(60))
}

/// The start of an error body, for the message.
pub async fn error_text(response: reqwest::Response) -> String {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    format!("{status}: {}", text.chars().take(300).collect::<String>())
}
