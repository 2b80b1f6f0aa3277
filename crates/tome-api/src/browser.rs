//! Browser sessions: the HttpOnly session cookie that the web app signs in with, and the
//! CSRF defence that every cookie-authenticated change must pass.
//!
//! The cookie holds a token of the login session (revoking the session rejects it at once,
//! exactly like an access token); JavaScript never sees it. A request authenticated by the
//! cookie that changes anything must carry [`CSRF_HEADER`] (a custom header, which a page of
//! another origin cannot send without a CORS preflight that Tome never grants), must not be
//! marked `Sec-Fetch-Site: cross-site`, and its `Origin`, when present, must be Tome's own.

use axum::http::{HeaderMap, HeaderValue, Method, header};
use time::OffsetDateTime;
use tome_domain::DomainError;

/// The session cookie's name.
pub const COOKIE: &str = "tome_session";

/// The header that a cookie-authenticated change must carry (any value; the app sends `1`).
pub const CSRF_HEADER: &str = "x-tome-csrf";

/// How the session cookie is written: `Secure` when the public address is https.
#[derive(Clone, Debug, Default)]
pub struct CookiePolicy {
    pub secure: bool,
    /// The origin browser requests must come from (`https://tome.example.org`), when
    /// `TOME_PUBLIC_URL` names one; otherwise the request's own `Host`.
    pub origin: Option<String>,
}

impl CookiePolicy {
    /// The policy for `public_url` (`TOME_PUBLIC_URL`).
    pub fn from_public_url(public_url: Option<&str>) -> Result<Self, String> {
        let Some(url) = public_url.map(str::trim).filter(|url| !url.is_empty()) else { return Ok(Self::default()) };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| invalid_public_url(url))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if !matches!(scheme, "http" | "https") || authority.is_empty() {
            return Err(invalid_public_url(url));
        }
        Ok(Self { secure: scheme == "https", origin: Some(format!("{scheme}://{authority}").to_ascii_lowercase()) })
    }

    /// `Set-Cookie` for a new session whose token is `token`, valid until `expires_at`.
    pub fn set(&self, token: &str, expires_at: OffsetDateTime) -> HeaderValue {
        let max_age = (expires_at - tome_domain::now()).whole_seconds().max(0);
        self.header(token, max_age)
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear(&self) -> HeaderValue {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
        // The token is base64url and dots: always a valid header value.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("tome_session=; Max-Age=0"))
    }
}

fn invalid_public_url(url: &str) -> String {
    format!("invalid configuration: public_url (TOME_PUBLIC_URL) must be an http or https address, not {url:?}")
}

/// The session token of the request's cookie, if it has one.
pub fn session_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// Whether a request with `method` changes anything (and so needs the CSRF defence).
pub fn is_change(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a browser request that another site could have made: no [`CSRF_HEADER`], a
/// `Sec-Fetch-Site: cross-site`, or an `Origin` other than Tome's.
pub fn check_same_origin(headers: &HeaderMap, policy: &CookiePolicy) -> Result<(), DomainError> {
    let refuse = |why: &str| Err(DomainError::Forbidden(format!("cross-site request refused: {why}")));
    if !headers.contains_key(CSRF_HEADER) {
        return refuse("a change made with the session cookie must carry the X-Tome-CSRF header");
    }
    if headers.get("sec-fetch-site").is_some_and(|site| site.as_bytes() == b"cross-site") {
        return refuse("the browser says it comes from another site");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else { return Ok(()) };
    let origin = origin.to_ascii_lowercase();
    let expected = match &policy.origin {
        Some(expected) => origin == *expected,
        None => {
            let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
            origin.split_once("://").is_some_and(|(_, authority)| authority == host.to_ascii_lowercase())
        }
    };
    if expected { Ok(()) } else { refuse("the Origin header names another site") }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_behind_https() {
        let plain = CookiePolicy::from_public_url(None).unwrap();
        let value = plain.set("abc.def", tome_domain::now() + time::Duration::hours(1));
        let text = value.to_str().unwrap();
        assert!(text.starts_with("tome_session=abc.def; Path=/; HttpOnly; SameSite=Lax; Max-Age=3"), "{text}");
        assert!(!text.contains("Secure"));
        let tls = CookiePolicy::from_public_url(Some("https://Tome.Example.org/base")).unwrap();
        assert!(tls.set("x", tome_domain::now()).to_str().unwrap().ends_with("; Secure"));
        assert_eq!(tls.origin.as_deref(), Some("https://tome.example.org"));
        assert!(tls.clear().to_str().unwrap().contains("Max-Age=0"));
        assert!(CookiePolicy::from_public_url(Some("ftp://x")).is_err());
        assert!(CookiePolicy::from_public_url(Some("tome.example.org")).is_err());
    }

    #[test]
    fn the_session_token_is_read_among_other_cookies() {
        assert_eq!(session_token(&headers(&[("cookie", "a=1; tome_session=tok.en; b=2")])), Some("tok.en"));
        assert_eq!(session_token(&headers(&[("cookie", "a=1"), ("cookie", "tome_session=t2")])), Some("t2"));
        assert_eq!(session_token(&headers(&[("cookie", "tome_session=")])), None);
        assert_eq!(session_token(&headers(&[("cookie", "xtome_session=t")])), None);
    }

    #[test]
    fn changes_from_another_site_are_refused() {
        let local = CookiePolicy::default();
        let same = headers(&[("x-tome-csrf", "1"), ("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")]);
        assert!(check_same_origin(&same, &local).is_ok());
        assert!(
            check_same_origin(&headers(&[("x-tome-csrf", "1")]), &local).is_ok(),
            "no Origin (same-origin GET-like fetch)"
        );
        let no_header = headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")]);
        assert!(check_same_origin(&no_header, &local).is_err());
        let other = headers(&[("x-tome-csrf", "1"), ("origin", "http://evil.example"), ("host", "127.0.0.1:8080")]);
        assert!(check_same_origin(&other, &local).is_err());
        let fetch_site = headers(&[("x-tome-csrf", "1"), ("sec-fetch-site", "cross-site")]);
        assert!(check_same_origin(&fetch_site, &local).is_err());
        let public = CookiePolicy::from_public_url(Some("https://tome.example.org")).unwrap();
        let behind_proxy =
            headers(&[("x-tome-csrf", "1"), ("origin", "https://tome.example.org"), ("host", "10.0.0.5:8080")]);
        assert!(check_same_origin(&behind_proxy, &public).is_ok());
        assert!(check_same_origin(&same, &public).is_err());
        assert!(is_change(&Method::POST) && is_change(&Method::DELETE) && !is_change(&Method::GET));
    }
}
