//! Token usage summed by user, persona, model and/or day (permission `usage.read`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::access::Access;
use crate::chat::UsageRecord;
use crate::repo::Store;
use crate::{DomainError, DomainResult, Timestamp};

/// The permission to read the tenant's usage.
pub const READ: &str = "usage.read";

/// What the sums are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum UsageGroup {
    User,
    Persona,
    Model,
    Day,
}

impl UsageGroup {
    /// Parses `user,day`-style lists.
    pub fn parse_list(raw: &str) -> DomainResult<Vec<Self>> {
        let mut groups = Vec::new();
        for part in raw.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let group = match part {
                "user" => Self::User,
                "persona" => Self::Persona,
                "model" => Self::Model,
                "day" => Self::Day,
                _ => return Err(DomainError::invalid("group_by", "each must be one of: user, persona, model, day")),
            };
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
        Ok(groups)
    }
}

/// One group's sums; the grouping keys not asked for are None.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UsageSum {
    pub user_id: Option<String>,
    pub persona_id: Option<String>,
    pub model: Option<String>,
    pub day: Option<String>,
    pub messages: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Sums over assistant messages created in `[since, until)`, grouped as asked.
pub async fn summarize(
    store: &dyn Store,
    access: &Access,
    groups: &[UsageGroup],
    since: Option<Timestamp>,
    until: Option<Timestamp>,
) -> DomainResult<Vec<UsageSum>> {
    access.require(READ)?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(DomainError::invalid("until", "must be later than since"));
    }
    let records = store.usage_records(access.tenant_id, since, until).await?;
    Ok(sum(&records, groups))
}

/// The grouping itself, ordered by its keys.
pub fn sum(records: &[UsageRecord], groups: &[UsageGroup]) -> Vec<UsageSum> {
    let mut sums: BTreeMap<[Option<String>; 4], UsageSum> = BTreeMap::new();
    for record in records {
        let wanted = |group: UsageGroup, value: Option<String>| if groups.contains(&group) { value } else { None };
        let key = [
            wanted(UsageGroup::User, Some(record.user_id.to_string())),
            wanted(UsageGroup::Persona, record.persona_id.map(|p| p.to_string())),
            wanted(UsageGroup::Model, record.model.clone()),
            wanted(UsageGroup::Day, Some(record.created_at.date().to_string())),
        ];
        let entry = sums.entry(key.clone()).or_insert_with(|| {
            let [user_id, persona_id, model, day] = key;
            UsageSum { user_id, persona_id, model, day, ..UsageSum::default() }
        });
        entry.messages += 1;
        entry.input_tokens += record.input_tokens.map_or(0, |t| u64::try_from(t).unwrap_or(0));
        entry.output_tokens += record.output_tokens.map_or(0, |t| u64::try_from(t).unwrap_or(0));
    }
    sums.into_values().collect()
}

/// Refuses a model call when the tenant has spent `per_day` tokens (prompt and answer)
/// since midnight UTC: 429 with `Retry-After` until the next midnight. `None`: no limit.
pub async fn admit_tokens(store: &dyn Store, tenant: crate::TenantId, per_day: Option<i64>) -> DomainResult<()> {
    let Some(max) = per_day else { return Ok(()) };
    let now = crate::now();
    let midnight = now.replace_time(time::Time::MIDNIGHT);
    let spent = store.tokens_since(tenant, midnight).await?;
    if spent < max {
        return Ok(());
    }
    let next = midnight + time::Duration::days(1);
    let wait = u64::try_from((next - now).whole_seconds()).unwrap_or(1).max(1);
    Err(DomainError::QuotaExceeded {
        message: format!(
            "the organization has used its {max} model tokens for today; answers resume at midnight UTC, or an administrator can raise the quota"
        ),
        retry_after_secs: Some(wait),
    })
}
