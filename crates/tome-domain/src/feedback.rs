//! Ratings of answers: one per user and message, editable; administrators (`feedback.read`)
//! list them and export rated question/answer/correction triples as an evaluation set.

use crate::access::Access;
use crate::chat::{Feedback, FeedbackEntry, FeedbackFilter, MessageRole, NewFeedback};
use crate::conversations::own_message;
use crate::repo::Store;
use crate::{DomainError, DomainResult, MessageId, Page, PageRequest};

/// The permission to read everyone's ratings.
pub const READ: &str = "feedback.read";

/// A rating as a person gives it: 1–5, or thumbs (`up` = 5, `down` = 1).
#[derive(Clone, Debug, Default)]
pub struct FeedbackInput {
    pub rating: Option<i32>,
    pub thumbs: Option<String>,
    pub comment: Option<String>,
    pub correction: Option<String>,
}

fn rating(input: &FeedbackInput) -> DomainResult<i32> {
    match (input.rating, input.thumbs.as_deref()) {
        (Some(_), Some(_)) => Err(DomainError::invalid("rating", "give either rating or thumbs, not both")),
        (Some(rating), None) if (1..=5).contains(&rating) => Ok(rating),
        (Some(_), None) => Err(DomainError::invalid("rating", "must be between 1 and 5")),
        (None, Some("up")) => Ok(5),
        (None, Some("down")) => Ok(1),
        (None, Some(_)) => Err(DomainError::invalid("thumbs", "must be up or down")),
        (None, None) => Err(DomainError::invalid("rating", "is required (1–5, or thumbs up/down)")),
    }
}

fn bounded(field: &str, text: Option<String>) -> DomainResult<Option<String>> {
    match text {
        Some(text) if text.chars().count() > 10_000 => {
            Err(DomainError::invalid(field, "must be at most 10000 characters"))
        }
        Some(text) if text.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// Rates an answer in one of the caller's conversations; a second rating replaces the first.
pub async fn put(
    store: &dyn Store,
    access: &Access,
    message: MessageId,
    input: FeedbackInput,
) -> DomainResult<Feedback> {
    let (_, rated) = own_message(store, access, message).await?;
    if rated.role != MessageRole::Assistant {
        return Err(DomainError::invalid("message", "only the assistant's answers can be rated"));
    }
    let new = NewFeedback {
        message_id: message,
        user_id: access.user_id,
        rating: rating(&input)?,
        comment: bounded("comment", input.comment)?,
        correction: bounded("correction", input.correction)?,
    };
    store.put_feedback(access.tenant_id, new).await
}

/// The caller's own rating of an answer.
pub async fn get(store: &dyn Store, access: &Access, message: MessageId) -> DomainResult<Feedback> {
    own_message(store, access, message).await?;
    store
        .list_feedback(access.tenant_id, message)
        .await?
        .into_iter()
        .find(|feedback| feedback.user_id == access.user_id)
        .ok_or(DomainError::NotFound("feedback"))
}

/// Removes the caller's rating of an answer.
pub async fn delete(store: &dyn Store, access: &Access, message: MessageId) -> DomainResult<()> {
    own_message(store, access, message).await?;
    store.delete_feedback(access.tenant_id, message, access.user_id).await
}

/// Everyone's ratings in the tenant, newest first (permission `feedback.read`).
pub async fn list(
    store: &dyn Store,
    access: &Access,
    filter: FeedbackFilter,
    page: PageRequest,
) -> DomainResult<Page<FeedbackEntry>> {
    access.require(READ)?;
    if let (Some(min), Some(max)) = (filter.min_rating, filter.max_rating)
        && min > max
    {
        return Err(DomainError::invalid("min_rating", "must not exceed max_rating"));
    }
    store.list_feedback_entries(access.tenant_id, filter, page).await
}

/// Every rating that matches, for an export (all pages).
pub async fn export(store: &dyn Store, access: &Access, filter: FeedbackFilter) -> DomainResult<Vec<FeedbackEntry>> {
    let mut entries = Vec::new();
    let mut page = PageRequest::first(crate::page::MAX_LIMIT);
    loop {
        let batch = list(store, access, filter.clone(), page).await?;
        entries.extend(batch.items);
        match batch.next_cursor.and_then(|cursor| uuid::Uuid::parse_str(&cursor).ok()) {
            Some(after) => page.after = Some(after),
            None => return Ok(entries),
        }
    }
}
