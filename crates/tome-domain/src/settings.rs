//! A user's settings: one JSON object (theme, language, default persona, …), replaced whole
//! or changed by a JSON merge patch (RFC 7396), capped in size.

use serde_json::Value;

use crate::identity::UserSettings;
use crate::repo::Store;
use crate::{DomainError, DomainResult, UserId};

/// Largest settings document, serialized.
pub const MAX_SETTINGS_BYTES: usize = 64 * 1024;

fn check(settings: &Value) -> DomainResult<()> {
    if !settings.is_object() {
        return Err(DomainError::invalid("settings", "must be a JSON object"));
    }
    let size = serde_json::to_vec(settings).map_err(DomainError::internal)?.len();
    if size > MAX_SETTINGS_BYTES {
        return Err(DomainError::TooLarge(format!(
            "settings may be at most {MAX_SETTINGS_BYTES} bytes (these are {size})"
        )));
    }
    Ok(())
}

/// Replaces the settings.
pub async fn replace(store: &dyn Store, user: UserId, settings: Value) -> DomainResult<UserSettings> {
    check(&settings)?;
    store.put_settings(user, settings).await
}

/// Applies a JSON merge patch: members set to `null` are removed, objects merge, anything
/// else replaces.
pub async fn merge(store: &dyn Store, user: UserId, patch: Value) -> DomainResult<UserSettings> {
    if !patch.is_object() {
        return Err(DomainError::invalid("settings", "a merge patch of settings must be a JSON object"));
    }
    let mut settings = store.get_settings(user).await?.settings;
    json_patch::merge(&mut settings, &patch);
    check(&settings)?;
    store.put_settings(user, settings).await
}
