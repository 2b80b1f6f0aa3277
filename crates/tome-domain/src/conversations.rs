//! Conversations and their message trees: each belongs to the user who started it (others,
//! even admins, get 404), needs `chat.use`, and shows one branch of its tree at a time.

use std::collections::HashMap;

use serde_json::json;

use crate::access::Access;
use crate::chat::{
    Conversation, ConversationFilter, ConversationPatch, ConversationStatus, Message, MessageRole, NewConversation,
};
use crate::jobs::NewJob;
use crate::outbox::Write;
use crate::repo::Store;
use crate::validate::title;
use crate::{ConversationId, DomainError, DomainResult, MessageId, Page, PageRequest, PersonaId, ProjectId, now};

/// The permission every chat operation needs.
pub const CHAT: &str = "chat.use";
/// The job that removes a deleted conversation's rows.
pub const PURGE_JOB: &str = "conversation.purge";
/// The title a conversation has until its first exchange names it.
pub const PLACEHOLDER_TITLE: &str = "New conversation";

/// The chat models a server offers, with the longest answer each may write.
#[derive(Clone, Debug, Default)]
pub struct ModelCatalog {
    pub models: Vec<(String, usize)>,
}

impl ModelCatalog {
    /// `Invalid(field)` unless the model is offered.
    pub fn check(&self, field: &str, model: &str) -> DomainResult<()> {
        if self.models.iter().any(|(name, _)| name == model) {
            Ok(())
        } else {
            let names: Vec<&str> = self.models.iter().map(|(name, _)| name.as_str()).collect();
            Err(DomainError::invalid(field, format!("must be one of the models offered: {}", names.join(", "))))
        }
    }

    /// The longest answer `model` may write (the largest of all when None).
    pub fn max_output(&self, model: Option<&str>) -> usize {
        self.models
            .iter()
            .filter(|(name, _)| model.is_none_or(|wanted| wanted == name))
            .map(|(_, limit)| *limit)
            .max()
            .unwrap_or(0)
    }
}

/// What a new conversation may name.
#[derive(Clone, Debug, Default)]
pub struct ConversationInput {
    pub title: Option<String>,
    pub persona_id: Option<PersonaId>,
    pub project_id: Option<ProjectId>,
    pub model: Option<String>,
}

/// Changes to a conversation; fields left out stay as they are.
#[derive(Clone, Debug, Default)]
pub struct ConversationChanges {
    pub title: Option<String>,
    pub archived: Option<bool>,
    pub persona_id: Option<Option<PersonaId>>,
    pub project_id: Option<Option<ProjectId>>,
    pub model: Option<Option<String>>,
    /// Switches the branch shown to the one through this message.
    pub current_message_id: Option<MessageId>,
}

/// A conversation's whole tree and the branch it shows.
#[derive(Clone, Debug)]
pub struct Thread {
    pub conversation: Conversation,
    /// Oldest first.
    pub messages: Vec<Message>,
    /// Root to leaf.
    pub selected_path: Vec<MessageId>,
}

pub async fn create(
    store: &dyn Store,
    access: &Access,
    input: ConversationInput,
    models: &ModelCatalog,
) -> DomainResult<Conversation> {
    access.require(CHAT)?;
    if let Some(persona) = input.persona_id {
        crate::personas::get(store, access, persona).await?;
    }
    if let Some(model) = &input.model {
        models.check("model", model)?;
    }
    let (title, auto_title) = match input.title {
        Some(raw) => (title(&raw)?, false),
        None => (PLACEHOLDER_TITLE.to_owned(), true),
    };
    let new = NewConversation {
        user_id: access.user_id,
        project_id: input.project_id,
        persona_id: input.persona_id,
        title,
        auto_title,
        model: input.model,
    };
    store.create_conversation(access.tenant_id, new).await
}

/// The caller's conversations, most recent activity first: active ones, or archived ones.
pub async fn list(
    store: &dyn Store,
    access: &Access,
    archived: bool,
    title_query: Option<String>,
    page: PageRequest,
) -> DomainResult<Page<Conversation>> {
    access.require(CHAT)?;
    let status = if archived { ConversationStatus::Archived } else { ConversationStatus::Active };
    let filter =
        ConversationFilter { user_id: Some(access.user_id), status: Some(status), project_id: None, title_query };
    store.list_conversations(access.tenant_id, filter, page).await
}

/// One of the caller's conversations (deleted ones are gone at once).
pub async fn get(store: &dyn Store, access: &Access, id: ConversationId) -> DomainResult<Conversation> {
    access.require(CHAT)?;
    let conversation = store.get_conversation(access.tenant_id, id).await?;
    if conversation.user_id != access.user_id || conversation.status == ConversationStatus::Deleted {
        return Err(DomainError::NotFound("conversation"));
    }
    Ok(conversation)
}

pub async fn update(
    store: &dyn Store,
    access: &Access,
    id: ConversationId,
    changes: ConversationChanges,
    models: &ModelCatalog,
) -> DomainResult<Conversation> {
    get(store, access, id).await?;
    if let Some(Some(persona)) = changes.persona_id {
        crate::personas::get(store, access, persona).await?;
    }
    if let Some(Some(model)) = &changes.model {
        models.check("model", model)?;
    }
    if let Some(message) = changes.current_message_id {
        let message = store.get_message(access.tenant_id, message).await?;
        if message.conversation_id != id {
            return Err(DomainError::invalid("current_message_id", "is not a message of this conversation"));
        }
    }
    let renamed = changes.title.as_deref().map(title).transpose()?;
    let patch = ConversationPatch {
        auto_title: renamed.as_ref().map(|_| false),
        title: renamed,
        model: changes.model,
        status: changes
            .archived
            .map(|archived| if archived { ConversationStatus::Archived } else { ConversationStatus::Active }),
        persona_id: changes.persona_id,
        project_id: changes.project_id,
        current_message_id: changes.current_message_id.map(Some),
    };
    store.update_conversation(access.tenant_id, id, patch).await
}

/// Hides a conversation at once and queues the removal of its messages.
pub async fn delete(store: &dyn Store, access: &Access, id: ConversationId) -> DomainResult<()> {
    get(store, access, id).await?;
    let purge = NewJob {
        tenant_id: Some(access.tenant_id),
        kind: PURGE_JOB.into(),
        payload: json!({"conversation_id": id}),
        max_attempts: 10,
        run_at: now(),
    };
    // Hidden and queued for purging together: a conversation is never hidden but kept.
    store.write_unit(access.tenant_id, vec![Write::HideConversation { id }, Write::Enqueue(purge)], None).await
}

/// The whole tree and the branch shown.
pub async fn thread(store: &dyn Store, access: &Access, id: ConversationId) -> DomainResult<Thread> {
    let conversation = get(store, access, id).await?;
    let messages = store.list_messages(access.tenant_id, id).await?;
    let selected_path = selected_path(&messages, conversation.current_message_id);
    Ok(Thread { conversation, messages, selected_path })
}

/// A message of one of the caller's conversations, with that conversation.
pub async fn own_message(store: &dyn Store, access: &Access, id: MessageId) -> DomainResult<(Conversation, Message)> {
    let message = store.get_message(access.tenant_id, id).await?;
    let conversation = get(store, access, message.conversation_id).await.map_err(|error| match error {
        DomainError::NotFound(_) => DomainError::NotFound("message"),
        other => other,
    })?;
    Ok((conversation, message))
}

/// The branch through `current` (or through the newest root when None): its ancestors,
/// then the newest child at each step down to a leaf.
pub fn selected_path(messages: &[Message], current: Option<MessageId>) -> Vec<MessageId> {
    let by_id: HashMap<MessageId, &Message> = messages.iter().map(|m| (m.id, m)).collect();
    let mut newest_child: HashMap<Option<MessageId>, MessageId> = HashMap::new();
    // Oldest first, so the last write per parent is its newest child.
    for message in messages {
        let parent = message.parent_id.filter(|parent| by_id.contains_key(parent));
        newest_child.insert(parent, message.id);
    }
    let start = current.filter(|id| by_id.contains_key(id)).or_else(|| newest_child.get(&None).copied());
    let Some(start) = start else { return Vec::new() };
    let mut path = Vec::new();
    let mut cursor = Some(start);
    while let Some(id) = cursor {
        if path.contains(&id) {
            break;
        }
        path.push(id);
        cursor = by_id.get(&id).and_then(|m| m.parent_id).filter(|parent| by_id.contains_key(parent));
    }
    path.reverse();
    let mut cursor = start;
    while let Some(&child) = newest_child.get(&Some(cursor)) {
        if path.contains(&child) {
            break;
        }
        path.push(child);
        cursor = child;
    }
    path
}

/// Where a new user message goes: under `parent` if given (it must be in the conversation),
/// as a sibling of `edit_of` (a user message) if that is given, else at the end of the branch
/// shown.
pub async fn parent_for(
    store: &dyn Store,
    access: &Access,
    conversation: &Conversation,
    parent: Option<MessageId>,
    edit_of: Option<MessageId>,
) -> DomainResult<Option<MessageId>> {
    if let Some(edited) = edit_of {
        let message = store.get_message(access.tenant_id, edited).await?;
        if message.conversation_id != conversation.id || message.role != MessageRole::User {
            return Err(DomainError::invalid("edit_of", "is not a user message of this conversation"));
        }
        return Ok(message.parent_id);
    }
    if let Some(parent) = parent {
        let message = store.get_message(access.tenant_id, parent).await?;
        if message.conversation_id != conversation.id {
            return Err(DomainError::invalid("parent_id", "is not a message of this conversation"));
        }
        return Ok(Some(parent));
    }
    let messages = store.list_messages(access.tenant_id, conversation.id).await?;
    Ok(selected_path(&messages, conversation.current_message_id).last().copied())
}
