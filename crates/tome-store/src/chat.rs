//! Personas, conversations, messages, feedback and produced objects.

use async_trait::async_trait;
use tome_domain::chat::*;
use tome_domain::repo::ChatRepo;
use tome_domain::{
    ConversationId, DomainResult, FeedbackId, MessageId, ObjectId, Page, PageRequest, PersonaId, TenantId, Timestamp,
    UserId, now,
};

use crate::SqlStore;
use crate::pool::Count;
use crate::sql::{Sets, Sql, contains_pattern, values};

pub(crate) const PERSONA: &str = "id, tenant_id, owner_id, name, display_name, description, system_prompt, model, \
default_temperature, max_tokens, is_active, created_at, updated_at";
const CONVERSATION: &str = "id, tenant_id, user_id, project_id, persona_id, title, model, status, \
current_message_id, auto_title, created_at, updated_at";
const MESSAGE: &str = "id, tenant_id, conversation_id, author_id, parent_id, role, content, source_references, \
tool_calls, tool_outputs, object_id, model, input_tokens, output_tokens, error, metadata, created_at, updated_at";
const FEEDBACK: &str = "id, tenant_id, message_id, user_id, rating, comment, correction, created_at, updated_at";
const OBJECT: &str = "id, tenant_id, kind, name, source, created_by, created_at, updated_at";

#[async_trait]
impl ChatRepo for SqlStore {
    async fn create_persona(&self, tenant: TenantId, new: NewPersona) -> DomainResult<Persona> {
        let now = now();
        let values = values![
            "id" => PersonaId::new(), "tenant_id" => tenant, "owner_id" => new.owner_id, "name" => new.name,
            "display_name" => new.display_name, "description" => new.description,
            "system_prompt" => new.system_prompt, "model" => new.model,
            "default_temperature" => new.default_temperature, "max_tokens" => new.max_tokens,
            "is_active" => true, "created_at" => now, "updated_at" => now,
        ];
        self.one("persona", Sql::insert("personas", values, PERSONA)).await
    }

    async fn get_persona(&self, tenant: TenantId, id: PersonaId) -> DomainResult<Persona> {
        self.one("persona", Sql::new(format!("SELECT {PERSONA} FROM personas WHERE ")).scoped(tenant, id)).await
    }

    async fn get_persona_by_name(&self, tenant: TenantId, viewer: Option<UserId>, name: &str) -> DomainResult<Persona> {
        let sql = Sql::new(format!("SELECT {PERSONA} FROM personas WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND name = ")
            .bind(name);
        let sql = match viewer {
            // The viewer's own persona wins over a shared one of the same name.
            Some(viewer) => sql
                .push(" AND (owner_id IS NULL OR owner_id = ")
                .bind(viewer)
                .push(") ORDER BY owner_id IS NULL LIMIT 1"),
            None => sql.push(" AND owner_id IS NULL"),
        };
        self.one("persona", sql).await
    }

    async fn list_personas(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        page: PageRequest,
    ) -> DomainResult<Page<Persona>> {
        let sql = Sql::new(format!("SELECT {PERSONA} FROM personas WHERE tenant_id = ")).bind(tenant);
        let sql = match owner {
            Some(owner) => sql.push(" AND (owner_id IS NULL OR owner_id = ").bind(owner).push(")"),
            None => sql.push(" AND owner_id IS NULL"),
        };
        self.page_of("persona", sql, page, |p: &Persona| p.id.0).await
    }

    async fn update_persona(&self, tenant: TenantId, id: PersonaId, patch: PersonaPatch) -> DomainResult<Persona> {
        let sets = Sets::default()
            .set("display_name", patch.display_name)
            .set("description", patch.description)
            .set("system_prompt", patch.system_prompt)
            .set("model", patch.model)
            .set("default_temperature", patch.default_temperature)
            .set("max_tokens", patch.max_tokens)
            .set("is_active", patch.is_active);
        let sql = Sql::update("personas", sets.0, now()).scoped(tenant, id).push(format!(" RETURNING {PERSONA}"));
        self.one("persona", sql).await
    }

    async fn delete_persona(&self, tenant: TenantId, id: PersonaId) -> DomainResult<()> {
        self.exec_one("persona", Sql::new("DELETE FROM personas WHERE ").scoped(tenant, id)).await
    }

    async fn create_conversation(&self, tenant: TenantId, new: NewConversation) -> DomainResult<Conversation> {
        self.ensure_in_tenant("project", "projects", tenant, new.project_id.map(|p| p.0)).await?;
        self.ensure_in_tenant("persona", "personas", tenant, new.persona_id.map(|p| p.0)).await?;
        let now = now();
        let values = values![
            "id" => ConversationId::new(), "tenant_id" => tenant, "user_id" => new.user_id,
            "project_id" => new.project_id, "persona_id" => new.persona_id, "title" => new.title,
            "model" => new.model, "status" => ConversationStatus::Active.as_str(),
            "auto_title" => new.auto_title, "created_at" => now, "updated_at" => now,
        ];
        self.one("conversation", Sql::insert("conversations", values, CONVERSATION)).await
    }

    async fn get_conversation(&self, tenant: TenantId, id: ConversationId) -> DomainResult<Conversation> {
        self.one(
            "conversation",
            Sql::new(format!("SELECT {CONVERSATION} FROM conversations WHERE ")).scoped(tenant, id),
        )
        .await
    }

    async fn list_conversations(
        &self,
        tenant: TenantId,
        filter: ConversationFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Conversation>> {
        let mut sql = Sql::new(format!("SELECT {CONVERSATION} FROM conversations WHERE tenant_id = "))
            .bind(tenant)
            .and_eq("user_id", filter.user_id)
            .and_eq("status", filter.status.map(|s| s.as_str()))
            .and_eq("project_id", filter.project_id);
        if let Some(query) = filter.title_query.filter(|q| !q.trim().is_empty()) {
            sql = sql.push(" AND lower(title) LIKE ").bind(contains_pattern(query.trim())).push(" ESCAPE '\\'");
        }
        // Most recent activity first; the cursor row's (updated_at, id) is the keyset bound.
        if let Some(after) = page.after {
            sql = sql
                .push(" AND (updated_at, id) < (SELECT updated_at, id FROM conversations WHERE id = ")
                .bind(after)
                .push(")");
        }
        let sql = sql.push(" ORDER BY updated_at DESC, id DESC LIMIT ").bind(i64::from(page.limit) + 1);
        let rows = self.all("conversation", sql).await?;
        Ok(Page::from_rows(rows, page, |c: &Conversation| c.id.0))
    }

    async fn update_conversation(
        &self,
        tenant: TenantId,
        id: ConversationId,
        patch: ConversationPatch,
    ) -> DomainResult<Conversation> {
        if let Some(project) = patch.project_id {
            self.ensure_in_tenant("project", "projects", tenant, project.map(|p| p.0)).await?;
        }
        if let Some(persona) = patch.persona_id {
            self.ensure_in_tenant("persona", "personas", tenant, persona.map(|p| p.0)).await?;
        }
        if let Some(message) = patch.current_message_id {
            self.ensure_in_tenant("message", "messages", tenant, message.map(|m| m.0)).await?;
        }
        let sets = Sets::default()
            .set("title", patch.title)
            .set("model", patch.model)
            .set("status", patch.status.map(|s| s.as_str()))
            .set("persona_id", patch.persona_id)
            .set("project_id", patch.project_id)
            .set("current_message_id", patch.current_message_id)
            .set("auto_title", patch.auto_title);
        let sql =
            Sql::update("conversations", sets.0, now()).scoped(tenant, id).push(format!(" RETURNING {CONVERSATION}"));
        self.one("conversation", sql).await
    }

    async fn delete_conversation(&self, tenant: TenantId, id: ConversationId) -> DomainResult<()> {
        self.exec_one("conversation", Sql::new("DELETE FROM conversations WHERE ").scoped(tenant, id)).await
    }

    async fn create_message(&self, tenant: TenantId, new: NewMessage) -> DomainResult<Message> {
        self.ensure_in_tenant("conversation", "conversations", tenant, Some(new.conversation_id.0)).await?;
        self.ensure_in_tenant("parent message", "messages", tenant, new.parent_id.map(|m| m.0)).await?;
        self.ensure_in_tenant("object", "objects", tenant, new.object_id.map(|o| o.0)).await?;
        let now = now();
        let id = MessageId::new();
        let values = values![
            "id" => id, "tenant_id" => tenant, "conversation_id" => new.conversation_id, "author_id" => new.author_id,
            "parent_id" => new.parent_id, "role" => new.role.as_str(), "content" => new.content,
            "source_references" => new.source_references, "tool_calls" => new.tool_calls,
            "tool_outputs" => new.tool_outputs, "object_id" => new.object_id, "model" => new.model,
            "input_tokens" => new.input_tokens, "output_tokens" => new.output_tokens, "error" => new.error,
            "metadata" => new.metadata, "created_at" => now, "updated_at" => now,
        ];
        let statements = vec![
            Sql::insert("messages", values, "id"),
            Sql::update("conversations", Vec::new(), now).scoped(tenant, new.conversation_id),
        ];
        self.transaction("message", statements).await?;
        self.get_message(tenant, id).await
    }

    async fn get_message(&self, tenant: TenantId, id: MessageId) -> DomainResult<Message> {
        self.one("message", Sql::new(format!("SELECT {MESSAGE} FROM messages WHERE ")).scoped(tenant, id)).await
    }

    async fn list_messages(&self, tenant: TenantId, conversation: ConversationId) -> DomainResult<Vec<Message>> {
        self.get_conversation(tenant, conversation).await?;
        let sql = Sql::new(format!("SELECT {MESSAGE} FROM messages WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND conversation_id = ")
            .bind(conversation)
            .push(" ORDER BY created_at, id");
        self.all("message", sql).await
    }

    async fn update_message(&self, tenant: TenantId, id: MessageId, patch: MessagePatch) -> DomainResult<Message> {
        let sets = Sets::default()
            .set("content", patch.content)
            .set("source_references", patch.source_references)
            .set("output_tokens", patch.output_tokens)
            .set("error", patch.error)
            .set("metadata", patch.metadata);
        let sql = Sql::update("messages", sets.0, now()).scoped(tenant, id).push(format!(" RETURNING {MESSAGE}"));
        self.one("message", sql).await
    }

    async fn put_feedback(&self, tenant: TenantId, new: NewFeedback) -> DomainResult<Feedback> {
        self.ensure_in_tenant("message", "messages", tenant, Some(new.message_id.0)).await?;
        let now = now();
        let values = values![
            "id" => FeedbackId::new(), "tenant_id" => tenant, "message_id" => new.message_id,
            "user_id" => new.user_id, "rating" => new.rating, "comment" => new.comment,
            "correction" => new.correction, "created_at" => now, "updated_at" => now,
        ];
        let sql = Sql::insert("feedback", values, FEEDBACK)
            .on_conflict_update("message_id, user_id", &["rating", "comment", "correction", "updated_at"]);
        self.one("feedback", sql).await
    }

    async fn list_feedback(&self, tenant: TenantId, message: MessageId) -> DomainResult<Vec<Feedback>> {
        let sql = Sql::new(format!("SELECT {FEEDBACK} FROM feedback WHERE tenant_id = "))
            .bind(tenant)
            .push(" AND message_id = ")
            .bind(message)
            .push(" ORDER BY id");
        self.all("feedback", sql).await
    }

    async fn delete_feedback(&self, tenant: TenantId, message: MessageId, user: UserId) -> DomainResult<()> {
        let sql = Sql::new("DELETE FROM feedback WHERE tenant_id = ")
            .bind(tenant)
            .push(" AND message_id = ")
            .bind(message)
            .push(" AND user_id = ")
            .bind(user);
        self.exec_one("feedback", sql).await
    }

    async fn list_feedback_entries(
        &self,
        tenant: TenantId,
        filter: FeedbackFilter,
        page: PageRequest,
    ) -> DomainResult<Page<FeedbackEntry>> {
        // A sub-select so that the page's `id` condition and order name one column.
        let mut sql = Sql::new(
            "SELECT * FROM (SELECT f.id AS id, f.message_id AS message_id, a.conversation_id AS conversation_id, \
             f.user_id AS user_id, f.rating AS rating, f.comment AS comment, f.correction AS correction, \
             q.content AS question, a.content AS answer, a.model AS model, f.created_at AS created_at, \
             f.updated_at AS updated_at FROM feedback f JOIN messages a ON a.id = f.message_id \
             AND a.tenant_id = f.tenant_id LEFT JOIN messages q ON q.id = a.parent_id AND q.tenant_id = f.tenant_id \
             WHERE f.tenant_id = ",
        )
        .bind(tenant)
        .push(") entries WHERE 1 = 1")
        .and_eq("user_id", filter.user_id);
        if let Some(min) = filter.min_rating {
            sql = sql.push(" AND rating >= ").bind(min);
        }
        if let Some(max) = filter.max_rating {
            sql = sql.push(" AND rating <= ").bind(max);
        }
        if let Some(since) = filter.since {
            sql = sql.push(" AND updated_at >= ").bind(since);
        }
        if let Some(until) = filter.until {
            sql = sql.push(" AND updated_at < ").bind(until);
        }
        if filter.with_correction {
            sql = sql.push(" AND correction IS NOT NULL AND correction <> ''");
        }
        self.page_of("feedback", sql, page, |entry: &FeedbackEntry| entry.id.0).await
    }

    async fn usage_records(
        &self,
        tenant: TenantId,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> DomainResult<Vec<UsageRecord>> {
        let mut sql = Sql::new(
            "SELECT m.created_at AS created_at, c.user_id AS user_id, c.persona_id AS persona_id, m.model AS model, \
             m.input_tokens AS input_tokens, m.output_tokens AS output_tokens FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id AND c.tenant_id = m.tenant_id \
             WHERE m.role = 'assistant' AND m.tenant_id = ",
        )
        .bind(tenant);
        if let Some(since) = since {
            sql = sql.push(" AND m.created_at >= ").bind(since);
        }
        if let Some(until) = until {
            sql = sql.push(" AND m.created_at < ").bind(until);
        }
        self.all("usage", sql.push(" ORDER BY m.created_at")).await
    }

    async fn record_tokens(&self, tenant: TenantId, usage: NewTokenUsage) -> DomainResult<()> {
        let values = values![
            "id" => uuid::Uuid::now_v7(), "tenant_id" => tenant, "user_id" => usage.user_id, "model" => usage.model,
            "source" => usage.source, "input_tokens" => usage.input_tokens, "output_tokens" => usage.output_tokens,
            "created_at" => now(),
        ];
        self.exec("token usage", Sql::insert_values("token_usage", values)).await.map(|_| ())
    }

    async fn tokens_since(&self, tenant: TenantId, since: Timestamp) -> DomainResult<i64> {
        let sql = Sql::new(
            "SELECT CAST(coalesce(sum(input_tokens + output_tokens), 0) AS BIGINT) AS n FROM token_usage WHERE tenant_id = ",
        )
        .bind(tenant)
        .push(" AND created_at >= ")
        .bind(since);
        let spent: Count = self.one("token usage", sql).await?;
        Ok(spent.n)
    }

    async fn create_object(&self, tenant: TenantId, new: NewObject) -> DomainResult<StoredObject> {
        let now = now();
        let values = values![
            "id" => ObjectId::new(), "tenant_id" => tenant, "kind" => new.kind.as_str(), "name" => new.name,
            "source" => new.source, "created_by" => new.created_by, "created_at" => now, "updated_at" => now,
        ];
        self.one("object", Sql::insert("objects", values, OBJECT)).await
    }

    async fn get_object(&self, tenant: TenantId, id: ObjectId) -> DomainResult<StoredObject> {
        self.one("object", Sql::new(format!("SELECT {OBJECT} FROM objects WHERE ")).scoped(tenant, id)).await
    }

    async fn list_objects(&self, tenant: TenantId, page: PageRequest) -> DomainResult<Page<StoredObject>> {
        let sql = Sql::new(format!("SELECT {OBJECT} FROM objects WHERE tenant_id = ")).bind(tenant);
        self.page_of("object", sql, page, |o: &StoredObject| o.id.0).await
    }

    async fn update_object(&self, tenant: TenantId, id: ObjectId, patch: ObjectPatch) -> DomainResult<StoredObject> {
        let sets = Sets::default().set("name", patch.name).set("source", patch.source);
        let sql = Sql::update("objects", sets.0, now()).scoped(tenant, id).push(format!(" RETURNING {OBJECT}"));
        self.one("object", sql).await
    }

    async fn delete_object(&self, tenant: TenantId, id: ObjectId) -> DomainResult<()> {
        self.exec_one("object", Sql::new("DELETE FROM objects WHERE ").scoped(tenant, id)).await
    }
}
