//! Chat records: personas, conversations, messages (a tree), feedback, produced objects.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    ConversationId, FeedbackId, MessageId, ObjectId, PersonaId, ProjectId, TenantId, Timestamp, UserId, text_enum,
};

/// A persona: a system prompt and generation settings. `owner_id` None: the tenant's own,
/// read-only to users.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Persona {
    pub id: PersonaId,
    pub tenant_id: TenantId,
    pub owner_id: Option<UserId>,
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub system_prompt: String,
    pub model: Option<String>,
    pub default_temperature: f64,
    pub max_tokens: i32,
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewPersona {
    pub owner_id: Option<UserId>,
    pub name: String,
    pub display_name: String,
    pub description: Option<String>,
    pub system_prompt: String,
    pub model: Option<String>,
    pub default_temperature: f64,
    pub max_tokens: i32,
}

#[derive(Clone, Debug, Default)]
pub struct PersonaPatch {
    pub display_name: Option<String>,
    pub description: Option<Option<String>>,
    pub system_prompt: Option<String>,
    pub model: Option<Option<String>>,
    pub default_temperature: Option<f64>,
    pub max_tokens: Option<i32>,
    pub is_active: Option<bool>,
}

text_enum!(
    /// A conversation's life cycle.
    ConversationStatus {
        Active => "active",
        Archived => "archived",
        Deleted => "deleted",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Conversation {
    pub id: ConversationId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub project_id: Option<ProjectId>,
    pub persona_id: Option<PersonaId>,
    pub title: String,
    pub model: Option<String>,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub status: ConversationStatus,
    /// The leaf of the branch shown (None: the newest leaf).
    pub current_message_id: Option<MessageId>,
    /// Whether Tome wrote the title (and replaces it after the first exchange).
    pub auto_title: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewConversation {
    pub user_id: UserId,
    pub project_id: Option<ProjectId>,
    pub persona_id: Option<PersonaId>,
    pub title: String,
    pub auto_title: bool,
    pub model: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ConversationPatch {
    pub title: Option<String>,
    pub model: Option<Option<String>>,
    pub status: Option<ConversationStatus>,
    pub persona_id: Option<Option<PersonaId>>,
    pub project_id: Option<Option<ProjectId>>,
    pub current_message_id: Option<Option<MessageId>>,
    pub auto_title: Option<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct ConversationFilter {
    pub user_id: Option<UserId>,
    pub status: Option<ConversationStatus>,
    pub project_id: Option<ProjectId>,
    /// Substring of the title, case-insensitive.
    pub title_query: Option<String>,
}

text_enum!(
    /// Who wrote a message.
    MessageRole {
        System => "system",
        User => "user",
        Assistant => "assistant",
        Tool => "tool",
    }
);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Message {
    pub id: MessageId,
    pub tenant_id: TenantId,
    pub conversation_id: ConversationId,
    pub author_id: Option<UserId>,
    pub parent_id: Option<MessageId>,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub role: MessageRole,
    pub content: String,
    /// JSON array of citations: document, chunk, page, score, snippet.
    pub source_references: Value,
    pub tool_calls: Option<Value>,
    pub tool_outputs: Option<Value>,
    pub object_id: Option<ObjectId>,
    pub model: Option<String>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub error: Option<String>,
    pub metadata: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub author_id: Option<UserId>,
    pub parent_id: Option<MessageId>,
    pub role: MessageRole,
    pub content: String,
    pub source_references: Value,
    pub tool_calls: Option<Value>,
    pub tool_outputs: Option<Value>,
    pub object_id: Option<ObjectId>,
    pub model: Option<String>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
    pub error: Option<String>,
    pub metadata: Value,
}

impl NewMessage {
    /// A message with only the required parts; the rest empty.
    pub fn text(conversation_id: ConversationId, role: MessageRole, content: impl Into<String>) -> Self {
        Self {
            conversation_id,
            author_id: None,
            parent_id: None,
            role,
            content: content.into(),
            source_references: Value::Array(Vec::new()),
            tool_calls: None,
            tool_outputs: None,
            object_id: None,
            model: None,
            input_tokens: None,
            output_tokens: None,
            error: None,
            metadata: Value::Object(Default::default()),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct MessagePatch {
    pub content: Option<String>,
    pub source_references: Option<Value>,
    pub output_tokens: Option<Option<i32>>,
    pub error: Option<Option<String>>,
    pub metadata: Option<Value>,
}

/// A rating of an assistant message by one user (1–5; thumbs map to 5 and 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct Feedback {
    pub id: FeedbackId,
    pub tenant_id: TenantId,
    pub message_id: MessageId,
    pub user_id: UserId,
    pub rating: i32,
    pub comment: Option<String>,
    pub correction: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewFeedback {
    pub message_id: MessageId,
    pub user_id: UserId,
    pub rating: i32,
    pub comment: Option<String>,
    pub correction: Option<String>,
}

/// Which ratings an administrator lists or exports.
#[derive(Clone, Debug, Default)]
pub struct FeedbackFilter {
    pub min_rating: Option<i32>,
    pub max_rating: Option<i32>,
    pub user_id: Option<UserId>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Only ratings that carry a correction.
    pub with_correction: bool,
}

/// A rating with what was rated: the answer, and the question it answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct FeedbackEntry {
    pub id: FeedbackId,
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub user_id: UserId,
    pub rating: i32,
    pub comment: Option<String>,
    pub correction: Option<String>,
    pub question: Option<String>,
    pub answer: String,
    pub model: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One assistant message's token counts with who, which persona and model, and when.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct UsageRecord {
    pub created_at: Timestamp,
    pub user_id: UserId,
    pub persona_id: Option<PersonaId>,
    pub model: Option<String>,
    pub input_tokens: Option<i32>,
    pub output_tokens: Option<i32>,
}

/// The tokens of one model call, whatever asked for it: `source` is `chat` (a
/// conversation's answer), `api` (the OpenAI-compatible API), `title` (naming a
/// conversation) or `minutes` (a recording's meeting minutes). The daily token quota counts them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTokenUsage {
    pub user_id: Option<UserId>,
    pub model: String,
    pub source: &'static str,
    pub input_tokens: i64,
    pub output_tokens: i64,
}

text_enum!(
    /// Kinds of artifact the assistant can produce.
    ObjectKind {
        Openscad => "openscad",
    }
);

/// An artifact that the assistant produced through a tool call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct StoredObject {
    pub id: ObjectId,
    pub tenant_id: TenantId,
    #[cfg_attr(feature = "sqlx", sqlx(try_from = "String"))]
    pub kind: ObjectKind,
    pub name: String,
    pub source: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewObject {
    pub kind: ObjectKind,
    pub name: String,
    pub source: String,
    pub created_by: Option<UserId>,
}

#[derive(Clone, Debug, Default)]
pub struct ObjectPatch {
    pub name: Option<String>,
    pub source: Option<String>,
}
