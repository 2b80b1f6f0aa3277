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

/// POSTs `body` as JSON to `url` (with `key` as bearer), trying up to `attempts` times:
/// again after 429, 5xx or a failed connection, waiting `backoff` (doubled each time) or
/// the server's `Retry-After`. The successful response, or why there is none.
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    body: &serde_json::Value,
    attempts: u32,
    backoff: Duration,
) -> Result<reqwest::Response, String> {
    let mut delay = backoff;
    let mut attempt = 1;
    loop {
        let mut request = client.post(url).json(body);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let server_wait = match request.send().await {
            Ok(response) if response.status().is_success() => return Ok(response),
            Ok(response) if retryable(response.status()) => {
                if attempt >= attempts {
                    return Err(format!("{} after {attempt} attempts", error_text(response).await));
                }
                retry_after(response.headers())
            }
            Ok(response) => return Err(error_text(response).await),
            Err(error) if attempt >= attempts => return Err(format!("{error} after {attempt} attempts")),
            Err(_) => None,
        };
        tokio::time::sleep(pause(server_wait, delay)).await;
        delay = delay.saturating_mul(2);
        attempt += 1;
    }
}
