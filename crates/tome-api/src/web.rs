//! The web app: the built single-page app (`web/dist`, committed) embedded in the binary and
//! served at `/`. A path that names a built file gets it; any other page path gets
//! `index.html`, so the app's own router shows it. API, OpenAI-compatible, MCP and system
//! paths never fall back to the app.
//!
//! Hashed files under `/assets/` are cached for a year as immutable; `index.html` is
//! revalidated by its ETag every time. Text is sent gzip-compressed when the browser accepts
//! it (compressed once per file, then kept). Every answer carries the app's strict CSP.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../../web/dist"]
struct Assets;

/// What the app may do: its own scripts, styles, images, workers and API, nothing inline,
/// never framed.
pub const APP_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; media-src 'self' blob:; \
worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Prefixes that belong to the API and the system, never to the app.
const RESERVED: [&str; 6] = ["/api", "/v1", "/mcp", "/healthz", "/readyz", "/metrics"];

/// Whether `path` is the app's (a page or a built file) rather than the server's.
pub fn is_app_path(method: &Method, path: &str) -> bool {
    (method == Method::GET || method == Method::HEAD)
        && !RESERVED
            .iter()
            .any(|prefix| path == *prefix || path.strip_prefix(prefix).is_some_and(|r| r.starts_with('/')))
}

/// The app's answer to a GET of `path`: the built file it names, else `index.html` for a page
/// path; 404 for a missing file under `/assets/` (a stale hashed name must not get HTML).
pub fn respond(path: &str, headers: &HeaderMap) -> Response {
    let name = path.trim_start_matches('/');
    let (name, file) = match Assets::get(name).filter(|_| !name.is_empty()) {
        Some(file) => (name, file),
        None if name.starts_with("assets/") || looks_like_file(name) => return not_found(),
        None => match Assets::get("index.html") {
            Some(file) => ("index.html", file),
            None => return not_found(),
        },
    };
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let mut builder = Response::builder()
        .header(header::CONTENT_TYPE, mime.as_ref())
        .header(header::ETAG, &etag)
        .header(header::CONTENT_SECURITY_POLICY, APP_POLICY)
        .header(header::VARY, "Accept-Encoding")
        .header(
            header::CACHE_CONTROL,
            if name.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" },
        );
    if headers.get(header::IF_NONE_MATCH).is_some_and(|tag| tag.as_bytes() == etag.as_bytes()) {
        return builder.status(StatusCode::NOT_MODIFIED).body(Body::empty()).unwrap_or_else(|_| not_found());
    }
    let gzip = compressible(mime.as_ref()) && accepts_gzip(headers);
    let body = if gzip {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
        Body::from(Arc::clone(&gzipped(name, &file.data)).to_vec())
    } else {
        Body::from(file.data.into_owned())
    };
    builder.status(StatusCode::OK).body(body).unwrap_or_else(|_| not_found())
}

/// A last path segment with an extension names a file, not a page.
fn looks_like_file(name: &str) -> bool {
    name.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

fn not_found() -> Response {
    crate::error::envelope(StatusCode::NOT_FOUND, "not_found", "no such file in the web app", None)
}

fn compressible(mime: &str) -> bool {
    mime.starts_with("text/")
        || [
            "application/javascript",
            "application/json",
            "image/svg+xml",
            "application/wasm",
            "application/manifest+json",
        ]
        .contains(&mime)
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            parts.next().is_some_and(|name| name.eq_ignore_ascii_case("gzip"))
                && parts.all(|param| param.replace(' ', "") != "q=0")
        })
}

/// `data` compressed, made once per file and kept (the files never change while running).
fn gzipped(name: &str, data: &[u8]) -> Arc<[u8]> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<[u8]>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().ok().and_then(|map| map.get(name).cloned()) {
        return hit;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let compressed: Arc<[u8]> = match encoder.write_all(data).and_then(|()| encoder.finish()) {
        Ok(bytes) => bytes.into(),
        Err(_) => return data.into(),
    };
    if let Ok(mut map) = cache.lock() {
        map.insert(name.to_owned(), Arc::clone(&compressed));
    }
    compressed
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_page_paths_fall_back_to_the_app() {
        let get = Method::GET;
        for path in ["/", "/chat", "/chat/123", "/settings/keys", "/apiary", "/v1beta"] {
            assert!(is_app_path(&get, path), "{path}");
        }
        for path in ["/api", "/api/v1/x", "/v1/models", "/healthz", "/readyz", "/metrics", "/mcp", "/api/docs/"] {
            assert!(!is_app_path(&get, path), "{path}");
        }
        assert!(!is_app_path(&Method::POST, "/chat"));
    }

    #[test]
    fn gzip_is_used_only_when_accepted() {
        let mut headers = HeaderMap::new();
        assert!(!accepts_gzip(&headers));
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8"));
        assert!(accepts_gzip(&headers));
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip;q=0"));
        assert!(!accepts_gzip(&headers));
        assert!(compressible("application/javascript") && compressible("text/css") && !compressible("image/png"));
    }
}
