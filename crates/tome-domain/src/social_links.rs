//! A tenant's links to its social profiles. A link is an absolute http(s) URL whose host
//! belongs to its platform (`https://www.linkedin.com/company/x` for `linkedin`). Members
//! read them; `tenant.manage` changes them.

use serde_json::{Value, json};

use crate::access::Access;
use crate::audit;
use crate::auth::ClientInfo;
use crate::organization::{NewSocialLink, SocialLink, SocialLinkPatch, SocialPlatform};
use crate::repo::Store;
use crate::{DomainError, DomainResult, Page, PageRequest, SocialLinkId};

const MANAGE: &str = "tenant.manage";

/// The hosts (and their subdomains) of each platform.
fn hosts(platform: SocialPlatform) -> &'static [&'static str] {
    match platform {
        SocialPlatform::Twitter => &["twitter.com", "x.com"],
        SocialPlatform::Facebook => &["facebook.com", "fb.com"],
        SocialPlatform::Linkedin => &["linkedin.com"],
        SocialPlatform::Instagram => &["instagram.com"],
        SocialPlatform::Youtube => &["youtube.com", "youtu.be"],
    }
}

/// Parses `raw` as an http(s) URL on one of the platform's hosts; returns it normalized.
pub fn check_url(platform: SocialPlatform, raw: &str) -> DomainResult<String> {
    let raw = raw.trim();
    if raw.len() > 2048 {
        return Err(DomainError::invalid("url", "must be at most 2048 characters"));
    }
    let url =
        url::Url::parse(raw).map_err(|error| DomainError::invalid("url", format!("is not a valid URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DomainError::invalid("url", "must start with http:// or https://"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(DomainError::invalid("url", "must not carry a user name or password"));
    }
    let host = url.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
    let allowed = hosts(platform);
    if !allowed.iter().any(|domain| host == *domain || host.ends_with(&format!(".{domain}"))) {
        return Err(DomainError::invalid(
            "url",
            format!("a {} link must point to {} (this one points to {host})", platform.as_str(), allowed.join(" or ")),
        ));
    }
    Ok(url.to_string())
}

pub async fn list(store: &dyn Store, access: &Access, page: PageRequest) -> DomainResult<Page<SocialLink>> {
    store.list_social_links(access.tenant_id, page).await
}

pub async fn create(
    store: &dyn Store,
    access: &Access,
    platform: SocialPlatform,
    url: &str,
    client: &ClientInfo,
) -> DomainResult<SocialLink> {
    access.require(MANAGE)?;
    let url = check_url(platform, url)?;
    let link = store.create_social_link(access.tenant_id, NewSocialLink { url, platform }).await?;
    let summary = format!("added the {} link {}", link.platform.as_str(), link.url);
    let changes = json!({"platform": link.platform.as_str(), "url": link.url});
    audit::record(store, access, "social_link.create", ("social_link", link.id.to_string()), summary, changes, client)
        .await?;
    Ok(link)
}

pub async fn update(
    store: &dyn Store,
    access: &Access,
    id: SocialLinkId,
    patch: SocialLinkPatch,
    client: &ClientInfo,
) -> DomainResult<SocialLink> {
    access.require(MANAGE)?;
    let before = store.get_social_link(access.tenant_id, id).await?;
    let platform = patch.platform.unwrap_or(before.platform);
    // A new platform must still match the URL, and a new URL the platform.
    let url = check_url(platform, patch.url.as_deref().unwrap_or(&before.url))?;
    let patch = SocialLinkPatch { url: Some(url), platform: Some(platform) };
    let link = store.update_social_link(access.tenant_id, id, patch).await?;
    let summary = format!("changed the {} link to {}", link.platform.as_str(), link.url);
    let changes = json!({"url": {"from": before.url, "to": link.url},
        "platform": {"from": before.platform.as_str(), "to": link.platform.as_str()}});
    audit::record(store, access, "social_link.update", ("social_link", id.to_string()), summary, changes, client)
        .await?;
    Ok(link)
}

pub async fn delete(store: &dyn Store, access: &Access, id: SocialLinkId, client: &ClientInfo) -> DomainResult<()> {
    access.require(MANAGE)?;
    let link = store.get_social_link(access.tenant_id, id).await?;
    store.delete_social_link(access.tenant_id, id).await?;
    let summary = format!("removed the {} link {}", link.platform.as_str(), link.url);
    audit::record(store, access, "social_link.delete", ("social_link", id.to_string()), summary, Value::Null, client)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_must_point_to_its_platform() {
        assert!(check_url(SocialPlatform::Linkedin, "https://www.linkedin.com/company/tome").is_ok());
        assert!(check_url(SocialPlatform::Twitter, "https://x.com/tome").is_ok());
        assert!(check_url(SocialPlatform::Youtube, "https://youtu.be/abc").is_ok());
        assert!(check_url(SocialPlatform::Linkedin, "https://twitter.com/tome").is_err());
        assert!(check_url(SocialPlatform::Facebook, "https://facebook.com.evil.example/x").is_err());
        assert!(check_url(SocialPlatform::Facebook, "https://notfacebook.com/x").is_err());
        assert!(check_url(SocialPlatform::Instagram, "ftp://instagram.com/x").is_err());
        assert!(check_url(SocialPlatform::Instagram, "https://me@instagram.com/x").is_err());
        assert!(check_url(SocialPlatform::Instagram, "instagram.com/x").is_err());
    }
}
