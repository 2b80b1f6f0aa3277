//! Parse, don't validate: input types whose construction is the proof of validity.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::DomainError;

/// An email address, syntactically valid, stored lower-cased (unique case-insensitively).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Normalises with NFKC (full-width `ｒｏｏｔ` is `root`) and lower case, and refuses an
    /// address whose non-ASCII letters only imitate plain ones (a Cyrillic `а` in
    /// `root@exаmple.com`): it could pass for another account's address.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if raw.len() > 1024 {
            return Err(DomainError::invalid("email", "must be at most 254 characters"));
        }
        let normalized: String = raw.trim().nfkc().collect::<String>().to_lowercase();
        if normalized.len() > 254 {
            return Err(DomainError::invalid("email", "must be at most 254 characters"));
        }
        if !normalized.is_ascii() {
            let skeleton: String =
                unicode_security::confusable_detection::skeleton(&normalized).collect::<String>().to_lowercase();
            if skeleton.is_ascii() {
                return Err(DomainError::invalid(
                    "email",
                    "holds letters that only imitate plain ones: write the address in plain letters",
                ));
            }
        }
        email_address::EmailAddress::from_str(&normalized)
            .map_err(|_| DomainError::invalid("email", "is not a valid email address"))?;
        Ok(Self(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A username: 3–30 characters of `[a-z0-9._-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = raw.trim().to_lowercase();
        let length = name.chars().count();
        if !(3..=30).contains(&length) {
            return Err(DomainError::invalid("username", "must be 3 to 30 characters"));
        }
        if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)) {
            return Err(DomainError::invalid("username", "may contain only a-z, 0-9, '.', '_' and '-'"));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A URL-safe tenant slug: lower-case words of `[a-z0-9]` joined by single hyphens.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let valid = !raw.is_empty()
            && raw.len() <= 63
            && raw
                .split('-')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        if valid && uuid::Uuid::parse_str(raw).is_ok() {
            // `X-Tenant` takes an id or a slug: a slug shaped like an id could shadow a tenant.
            return Err(DomainError::invalid("slug", "must not have the shape of a tenant id (a UUID)"));
        }
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(DomainError::invalid(
                "slug",
                "must be 1 to 63 characters of a-z and 0-9 in words joined by single hyphens",
            ))
        }
    }

    /// Derives a slug from a display name ("Acme Corp." → "acme-corp").
    pub fn from_name(name: &str) -> Result<Self, DomainError> {
        let mut slug = String::new();
        for c in name.to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug: String = slug.trim_end_matches('-').chars().take(63).collect();
        Self::parse(slug.trim_end_matches('-'))
            .map_err(|_| DomainError::invalid("name", "must contain a letter or digit to derive a slug from"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a required, bounded, non-blank text field and returns it trimmed.
pub fn required_text(field: &str, raw: &str, max_chars: usize) -> Result<String, DomainError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(DomainError::invalid(field, format!("must be at most {max_chars} characters")));
    }
    Ok(trimmed.to_owned())
}

/// Checks an optional, bounded text field: blank is None, otherwise trimmed.
pub fn optional_text(field: &str, raw: Option<String>, max_chars: usize) -> Result<Option<String>, DomainError> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required_text(field, text, max_chars).map(Some),
    }
}

/// A conversation title: 1–255 characters.
pub fn title(raw: &str) -> Result<String, DomainError> {
    required_text("title", raw, 255)
}

/// Message content written by a person: 1–10,000 characters.
pub fn user_message_content(raw: &str) -> Result<String, DomainError> {
    if raw.trim().is_empty() {
        return Err(DomainError::invalid("content", "must not be empty"));
    }
    if raw.chars().count() > 10_000 {
        return Err(DomainError::invalid("content", "must be at most 10000 characters"));
    }
    Ok(raw.to_owned())
}

/// A sampling temperature, 0 to 2.
pub fn temperature(value: f64) -> Result<f64, DomainError> {
    if (0.0..=2.0).contains(&value) {
        Ok(value)
    } else {
        Err(DomainError::invalid("default_temperature", "must be between 0 and 2"))
    }
}

/// A URL of a social profile: absolute http(s).
pub fn http_url(field: &str, raw: &str) -> Result<String, DomainError> {
    let trimmed = raw.trim();
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| DomainError::invalid(field, "must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) || trimmed.len() > 2048 {
        return Err(DomainError::invalid(field, "is not a valid URL"));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_lower_cased_and_checked() {
        assert_eq!(Email::parse(" Ada@Example.COM ").map(|e| e.0).ok().as_deref(), Some("ada@example.com"));
        assert!(Email::parse("not an email").is_err());
        assert!(Email::parse("a@").is_err());
    }

    #[test]
    fn full_width_letters_fold_to_plain_ones_and_look_alikes_are_refused() {
        assert_eq!(Email::parse("ｒｏｏｔ@example.com").map(|e| e.0).ok().as_deref(), Some("root@example.com"));
        let cyrillic = Email::parse("root@ex\u{0430}mple.com");
        assert!(matches!(cyrillic, Err(DomainError::Invalid { reason, .. }) if reason.contains("plain letters")));
        assert!(Email::parse("\u{7528}\u{6237}@example.com").is_ok(), "letters that imitate nothing plain are fine");
    }

    #[test]
    fn a_slug_cannot_pass_for_a_tenant_id() {
        assert!(Slug::parse("0190a7c4-5e2b-7c3d-8e9f-0a1b2c3d4e5f").is_err());
        assert!(Slug::parse("acme-2024").is_ok());
    }

    #[test]
    fn username_must_be_3_to_30_allowed_characters() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(31)).is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse("ada.l_ovelace-1").is_ok());
    }

    #[test]
    fn slug_is_derived_from_a_name() {
        assert_eq!(Slug::from_name("Acme Corp.").map(|s| s.0).ok().as_deref(), Some("acme-corp"));
        assert!(Slug::from_name("!!!").is_err());
        assert!(Slug::parse("Bad_Slug").is_err());
        assert!(Slug::parse("a--b").is_err());
    }

    #[test]
    fn title_longer_than_255_chars_is_rejected() {
        assert!(title(&"x".repeat(256)).is_err());
        assert!(title(&"x".repeat(255)).is_ok());
        assert!(title("   ").is_err());
    }

    #[test]
    fn user_message_longer_than_10000_chars_is_rejected() {
        assert!(user_message_content(&"x".repeat(10_001)).is_err());
        assert!(user_message_content(&"x".repeat(10_000)).is_ok());
    }

    #[test]
    fn temperature_outside_0_to_2_is_rejected() {
        assert!(temperature(2.1).is_err());
        assert!(temperature(-0.1).is_err());
        assert!(temperature(0.7).is_ok());
    }

    #[test]
    fn social_urls_must_be_http() {
        assert!(http_url("url", "javascript:alert(1)").is_err());
        assert!(http_url("url", "https://").is_err());
        assert!(http_url("url", "https://linkedin.com/company/acme").is_ok());
    }
}
