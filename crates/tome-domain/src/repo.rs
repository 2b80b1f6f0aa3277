//! The repository traits that storage backends implement. Every method on tenant-owned
//! data takes the tenant: a query of such data cannot be written without one, and a row
//! of another tenant is `NotFound`.

use async_trait::async_trait;
use serde_json::Value;

use crate::audio::*;
use crate::chat::*;
use crate::identity::*;
use crate::jobs::*;
use crate::knowledge::*;
use crate::organization::*;
use crate::outbox::StorageUsed;
use crate::search::{ChunkHit, RankedChunk, SearchScope};
use crate::*;

/// What `readyz` reports about the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub reachable: bool,
    pub migrations_applied: bool,
    pub latest_migration: Option<i64>,
}

/// Health and setup of the store itself.
#[async_trait]
pub trait StoreAdmin: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    async fn readiness(&self) -> Readiness;
    /// Writes the permission catalog, built-in roles, default tenant and default persona;
    /// safe to run any number of times.
    async fn seed(&self) -> DomainResult<()>;
    /// Open and idle connections of the pool.
    fn pool_state(&self) -> (u32, u32);
    /// The same store, confined to one tenant's rows below the queries: on PostgreSQL,
    /// row-level security hides every other tenant's rows from it, whatever a query says.
    fn for_tenant(&self, tenant: TenantId) -> std::sync::Arc<dyn Store>;
}

#[async_trait]
pub trait TenantRepo: Send + Sync {
    async fn create_tenant(&self, new: NewTenant) -> DomainResult<Tenant>;
    async fn get_tenant(&self, id: TenantId) -> DomainResult<Tenant>;
    async fn get_tenant_by_slug(&self, slug: &str) -> DomainResult<Tenant>;
    async fn default_tenant(&self) -> DomainResult<Tenant>;
    async fn list_tenants(&self, page: PageRequest) -> DomainResult<Page<Tenant>>;
    async fn update_tenant(&self, id: TenantId, patch: TenantPatch) -> DomainResult<Tenant>;
    /// Deletes the tenant and, by cascade, everything it owns.
    async fn delete_tenant(&self, id: TenantId) -> DomainResult<()>;
    async fn create_social_link(&self, tenant: TenantId, new: NewSocialLink) -> DomainResult<SocialLink>;
    async fn get_social_link(&self, tenant: TenantId, id: SocialLinkId) -> DomainResult<SocialLink>;
    async fn list_social_links(&self, tenant: TenantId, page: PageRequest) -> DomainResult<Page<SocialLink>>;
    async fn update_social_link(
        &self,
        tenant: TenantId,
        id: SocialLinkId,
        patch: SocialLinkPatch,
    ) -> DomainResult<SocialLink>;
    async fn delete_social_link(&self, tenant: TenantId, id: SocialLinkId) -> DomainResult<()>;
}

#[async_trait]
pub trait UserRepo: Send + Sync {
    async fn create_user(&self, new: NewUser) -> DomainResult<User>;
    async fn get_user(&self, id: UserId) -> DomainResult<User>;
    /// By email or username, case-insensitively.
    async fn find_user_by_login(&self, login: &str) -> DomainResult<User>;
    async fn list_users(&self, filter: UserFilter, page: PageRequest) -> DomainResult<Page<User>>;
    async fn update_user(&self, id: UserId, patch: UserPatch) -> DomainResult<User>;
    async fn set_password_hash(&self, id: UserId, hash: &str) -> DomainResult<()>;
    async fn record_login(&self, id: UserId, at: Timestamp) -> DomainResult<()>;
    async fn set_avatar(&self, id: UserId, avatar: Option<Avatar>) -> DomainResult<()>;
    async fn get_avatar(&self, id: UserId) -> DomainResult<Avatar>;
    async fn delete_user(&self, id: UserId) -> DomainResult<()>;
    async fn count_users(&self) -> DomainResult<i64>;
    async fn get_two_factor(&self, user: UserId) -> DomainResult<Option<TwoFactor>>;
    /// Starts (or restarts, while not enabled) a pending secret.
    async fn put_two_factor_secret(&self, user: UserId, secret: &str) -> DomainResult<()>;
    /// Every user's stored (sealed) secret, for resealing under a new key.
    async fn all_two_factor(&self) -> DomainResult<Vec<TwoFactor>>;
    /// Replaces the stored secret if it still is `old`; false when it changed meanwhile.
    async fn replace_two_factor_secret(&self, user: UserId, old: &str, new: &str) -> DomainResult<bool>;
    /// Confirms the pending secret and replaces the recovery codes (hashes), in one unit.
    async fn enable_two_factor(&self, user: UserId, step: i64, recovery_hashes: &[String]) -> DomainResult<()>;
    async fn disable_two_factor(&self, user: UserId) -> DomainResult<()>;
    /// Records `step` as used; false when it (or a later one) already was.
    async fn claim_totp_step(&self, user: UserId, step: i64) -> DomainResult<bool>;
    /// Marks an unused recovery code used; false when there is none with this hash.
    async fn use_recovery_code(&self, user: UserId, hash: &str) -> DomainResult<bool>;
    async fn count_recovery_codes(&self, user: UserId) -> DomainResult<i64>;
    async fn get_settings(&self, user: UserId) -> DomainResult<UserSettings>;
    async fn put_settings(&self, user: UserId, settings: Value) -> DomainResult<UserSettings>;
}

#[async_trait]
pub trait AccessRepo: Send + Sync {
    async fn add_member(&self, tenant: TenantId, user: UserId) -> DomainResult<Membership>;
    async fn remove_member(&self, tenant: TenantId, user: UserId) -> DomainResult<()>;
    async fn get_membership(&self, tenant: TenantId, user: UserId) -> DomainResult<Membership>;
    async fn list_members(&self, tenant: TenantId, page: PageRequest) -> DomainResult<Page<Membership>>;
    async fn list_memberships_of_user(&self, user: UserId) -> DomainResult<Vec<Membership>>;
    async fn list_permissions(&self) -> DomainResult<Vec<Permission>>;
    /// The tenant's own roles followed by the built-in ones.
    async fn list_roles(&self, tenant: TenantId) -> DomainResult<Vec<Role>>;
    /// A role of this tenant or a built-in one.
    async fn get_role(&self, tenant: TenantId, id: RoleId) -> DomainResult<Role>;
    async fn get_role_by_name(&self, tenant: TenantId, name: &str) -> DomainResult<Role>;
    async fn create_role(&self, tenant: TenantId, new: NewRole) -> DomainResult<Role>;
    /// Only the tenant's own roles can be changed; built-in ones are `Forbidden`.
    async fn update_role(&self, tenant: TenantId, id: RoleId, patch: RolePatch) -> DomainResult<Role>;
    async fn delete_role(&self, tenant: TenantId, id: RoleId) -> DomainResult<()>;
    async fn set_role_permissions(&self, tenant: TenantId, id: RoleId, permissions: &[String]) -> DomainResult<()>;
    async fn role_permissions(&self, tenant: TenantId, id: RoleId) -> DomainResult<Vec<String>>;
    async fn assign_role(
        &self,
        tenant: TenantId,
        user: UserId,
        role: RoleId,
        by: Option<UserId>,
    ) -> DomainResult<UserRole>;
    async fn unassign_role(&self, tenant: TenantId, user: UserId, role: RoleId) -> DomainResult<()>;
    async fn list_user_roles(&self, tenant: TenantId, user: UserId) -> DomainResult<Vec<UserRole>>;
    /// How many users hold `role` in the tenant.
    async fn count_role_holders(&self, tenant: TenantId, role: RoleId) -> DomainResult<i64>;
    /// Union of the permissions of the user's roles in the tenant.
    async fn effective_permissions(&self, tenant: TenantId, user: UserId) -> DomainResult<Vec<String>>;
    /// Writes `change` and appends `entry` to the audit chain of `audit_tenant` (None: the
    /// platform's) in one transaction.
    async fn apply_access_change(
        &self,
        change: AccessChange,
        audit_tenant: Option<TenantId>,
        entry: NewAuditEntry,
    ) -> DomainResult<()>;
    async fn get_invitation(&self, tenant: TenantId, id: InvitationId) -> DomainResult<Invitation>;
    /// By the hash of its token, across tenants: the token itself names its tenant.
    async fn find_invitation_by_token(&self, token_hash: &str) -> DomainResult<Invitation>;
    async fn list_invitations(&self, tenant: TenantId, page: PageRequest) -> DomainResult<Page<Invitation>>;
}

#[async_trait]
pub trait SessionRepo: Send + Sync {
    async fn create_session(&self, new: NewAuthSession) -> DomainResult<AuthSession>;
    async fn get_session(&self, id: AuthSessionId) -> DomainResult<AuthSession>;
    async fn find_session_by_refresh_hash(&self, hash: &str) -> DomainResult<AuthSession>;
    async fn list_sessions(&self, user: UserId) -> DomainResult<Vec<AuthSession>>;
    /// Replaces the refresh token hash if it still is `old_hash` (else `NotFound`).
    async fn rotate_session(
        &self,
        id: AuthSessionId,
        old_hash: &str,
        new_hash: &str,
        expires_at: Timestamp,
    ) -> DomainResult<AuthSession>;
    async fn touch_session(&self, id: AuthSessionId, at: Timestamp) -> DomainResult<()>;
    async fn revoke_session(&self, user: UserId, id: AuthSessionId) -> DomainResult<()>;
    /// Revokes every live session of the user but `except`; returns how many.
    async fn revoke_sessions(&self, user: UserId, except: Option<AuthSessionId>) -> DomainResult<u64>;
    async fn create_reset_token(
        &self,
        user: UserId,
        token_hash: &str,
        expires_at: Timestamp,
    ) -> DomainResult<PasswordResetToken>;
    async fn find_reset_token(&self, token_hash: &str) -> DomainResult<PasswordResetToken>;
    /// Marks the token used; `Conflict` if it already was.
    async fn use_reset_token(&self, id: PasswordResetTokenId, at: Timestamp) -> DomainResult<()>;
    async fn create_api_key(&self, tenant: TenantId, new: NewApiKey) -> DomainResult<ApiKey>;
    async fn get_api_key(&self, tenant: TenantId, id: ApiKeyId) -> DomainResult<ApiKey>;
    /// By its public prefix, across tenants: the key itself names its tenant.
    async fn find_api_key_by_prefix(&self, prefix: &str) -> DomainResult<ApiKey>;
    async fn list_api_keys(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
        page: PageRequest,
    ) -> DomainResult<Page<ApiKey>>;
    async fn revoke_api_key(&self, tenant: TenantId, id: ApiKeyId, at: Timestamp) -> DomainResult<()>;
    /// Revokes every live key of the user, in every tenant; returns how many.
    async fn revoke_user_api_keys(&self, user: UserId, at: Timestamp) -> DomainResult<u64>;
    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> DomainResult<()>;
    /// The auth epoch: a counter that every write to users, tenants, memberships, roles,
    /// permissions, sessions, API keys or second factors moves forward, whoever makes it.
    async fn auth_epoch(&self) -> DomainResult<i64>;
}

#[async_trait]
pub trait OrganizationRepo: Send + Sync {
    async fn create_folder(&self, tenant: TenantId, new: NewFolder) -> DomainResult<Folder>;
    async fn get_folder(&self, tenant: TenantId, id: FolderId) -> DomainResult<Folder>;
    /// Children of `parent` (root folders when None).
    async fn list_folders(
        &self,
        tenant: TenantId,
        parent: Option<FolderId>,
        page: PageRequest,
    ) -> DomainResult<Page<Folder>>;
    async fn update_folder(&self, tenant: TenantId, id: FolderId, patch: FolderPatch) -> DomainResult<Folder>;
    async fn delete_folder(&self, tenant: TenantId, id: FolderId) -> DomainResult<()>;
    async fn create_project(&self, tenant: TenantId, new: NewProject) -> DomainResult<Project>;
    async fn get_project(&self, tenant: TenantId, id: ProjectId) -> DomainResult<Project>;
    async fn list_projects(
        &self,
        tenant: TenantId,
        filter: ProjectFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Project>>;
    async fn update_project(&self, tenant: TenantId, id: ProjectId, patch: ProjectPatch) -> DomainResult<Project>;
    async fn delete_project(&self, tenant: TenantId, id: ProjectId) -> DomainResult<()>;
}

#[async_trait]
pub trait KnowledgeRepo: Send + Sync {
    async fn create_document(&self, tenant: TenantId, new: NewDocument) -> DomainResult<Document>;
    /// A soft-deleted document is `NotFound`.
    async fn get_document(&self, tenant: TenantId, id: DocumentId) -> DomainResult<Document>;
    async fn list_documents(
        &self,
        tenant: TenantId,
        filter: DocumentFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Document>>;
    async fn update_document(&self, tenant: TenantId, id: DocumentId, patch: DocumentPatch) -> DomainResult<Document>;
    async fn soft_delete_document(&self, tenant: TenantId, id: DocumentId, at: Timestamp) -> DomainResult<()>;
    /// Removes the row and its chunks for good.
    async fn purge_document(&self, tenant: TenantId, id: DocumentId) -> DomainResult<()>;
    /// How many documents the tenant holds and their bytes (documents being deleted aside).
    async fn storage_used(&self, tenant: TenantId) -> DomainResult<StorageUsed>;
    /// Replaces the document's chunks (and their vectors) in one transaction and sets its
    /// chunk count and embedding model.
    async fn replace_chunks(&self, tenant: TenantId, document: DocumentId, set: ChunkSet) -> DomainResult<Vec<Chunk>>;
    /// Stores a vector for every chunk of a document and names their model, in one
    /// transaction; `Conflict` (and nothing stored) when the chunks changed meanwhile.
    async fn set_document_embeddings(
        &self,
        tenant: TenantId,
        document: DocumentId,
        model: &str,
        vectors: Vec<(ChunkId, Vec<f32>)>,
    ) -> DomainResult<()>;
    /// Processed documents of every tenant whose vectors are missing or by another model
    /// than `model`, in id order after `after` (platform work: `tome reindex`).
    async fn documents_needing_embeddings(
        &self,
        model: &str,
        after: Option<DocumentId>,
        limit: i64,
    ) -> DomainResult<Vec<(TenantId, DocumentId)>>;
    async fn list_chunks(&self, tenant: TenantId, document: DocumentId, page: PageRequest)
    -> DomainResult<Page<Chunk>>;
    async fn set_chunk_embedding(
        &self,
        tenant: TenantId,
        chunk: ChunkId,
        model: &str,
        vector: &[f32],
    ) -> DomainResult<()>;
    async fn get_chunk_embedding(&self, tenant: TenantId, chunk: ChunkId) -> DomainResult<Option<Vec<f32>>>;
    async fn append_audit(&self, tenant: Option<TenantId>, entry: NewAuditEntry) -> DomainResult<AuditEntry>;
    /// Platform-wide entries (no tenant: logins, registrations, tenant creation).
    async fn list_platform_audit(&self, filter: AuditFilter, page: PageRequest) -> DomainResult<Page<AuditEntry>>;
    async fn list_audit(
        &self,
        tenant: TenantId,
        filter: AuditFilter,
        page: PageRequest,
    ) -> DomainResult<Page<AuditEntry>>;
    /// Up to `limit` entries of a chain (tenant None: the platform's) after `after_seq`, in order.
    async fn audit_chain(&self, tenant: Option<TenantId>, after_seq: i64, limit: i64) -> DomainResult<Vec<AuditEntry>>;
}

#[async_trait]
pub trait ChatRepo: Send + Sync {
    async fn create_persona(&self, tenant: TenantId, new: NewPersona) -> DomainResult<Persona>;
    async fn get_persona(&self, tenant: TenantId, id: PersonaId) -> DomainResult<Persona>;
    /// The persona named `name` that `viewer` sees: their own private one before a shared one
    /// (viewer None: shared personas only). Names are unique per owner, not per tenant.
    async fn get_persona_by_name(&self, tenant: TenantId, viewer: Option<UserId>, name: &str) -> DomainResult<Persona>;
    /// The tenant's personas and those of `owner`.
    async fn list_personas(
        &self,
        tenant: TenantId,
        owner: Option<UserId>,
        page: PageRequest,
    ) -> DomainResult<Page<Persona>>;
    async fn update_persona(&self, tenant: TenantId, id: PersonaId, patch: PersonaPatch) -> DomainResult<Persona>;
    async fn delete_persona(&self, tenant: TenantId, id: PersonaId) -> DomainResult<()>;
    async fn create_conversation(&self, tenant: TenantId, new: NewConversation) -> DomainResult<Conversation>;
    async fn get_conversation(&self, tenant: TenantId, id: ConversationId) -> DomainResult<Conversation>;
    /// Most recent activity first.
    async fn list_conversations(
        &self,
        tenant: TenantId,
        filter: ConversationFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Conversation>>;
    async fn update_conversation(
        &self,
        tenant: TenantId,
        id: ConversationId,
        patch: ConversationPatch,
    ) -> DomainResult<Conversation>;
    async fn delete_conversation(&self, tenant: TenantId, id: ConversationId) -> DomainResult<()>;
    /// Stores a message and bumps the conversation's `updated_at`.
    async fn create_message(&self, tenant: TenantId, new: NewMessage) -> DomainResult<Message>;
    async fn get_message(&self, tenant: TenantId, id: MessageId) -> DomainResult<Message>;
    /// Oldest first: the whole tree of the conversation.
    async fn list_messages(&self, tenant: TenantId, conversation: ConversationId) -> DomainResult<Vec<Message>>;
    async fn update_message(&self, tenant: TenantId, id: MessageId, patch: MessagePatch) -> DomainResult<Message>;
    /// One rating per message and user: a second call replaces the first.
    async fn put_feedback(&self, tenant: TenantId, new: NewFeedback) -> DomainResult<Feedback>;
    async fn list_feedback(&self, tenant: TenantId, message: MessageId) -> DomainResult<Vec<Feedback>>;
    async fn delete_feedback(&self, tenant: TenantId, message: MessageId, user: UserId) -> DomainResult<()>;
    /// Ratings with their question and answer, newest first.
    async fn list_feedback_entries(
        &self,
        tenant: TenantId,
        filter: FeedbackFilter,
        page: PageRequest,
    ) -> DomainResult<Page<FeedbackEntry>>;
    /// Assistant messages' token counts created in `[since, until)`.
    async fn usage_records(
        &self,
        tenant: TenantId,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> DomainResult<Vec<UsageRecord>>;
    /// Records the tokens of one model call.
    async fn record_tokens(&self, tenant: TenantId, usage: crate::chat::NewTokenUsage) -> DomainResult<()>;
    /// Tokens (prompt and answer) the tenant's model calls spent from `since` on.
    async fn tokens_since(&self, tenant: TenantId, since: Timestamp) -> DomainResult<i64>;
    async fn create_object(&self, tenant: TenantId, new: NewObject) -> DomainResult<StoredObject>;
    async fn get_object(&self, tenant: TenantId, id: ObjectId) -> DomainResult<StoredObject>;
    async fn list_objects(&self, tenant: TenantId, page: PageRequest) -> DomainResult<Page<StoredObject>>;
    async fn update_object(&self, tenant: TenantId, id: ObjectId, patch: ObjectPatch) -> DomainResult<StoredObject>;
    async fn delete_object(&self, tenant: TenantId, id: ObjectId) -> DomainResult<()>;
}

#[async_trait]
pub trait AudioRepo: Send + Sync {
    async fn create_transcription(&self, tenant: TenantId, new: NewTranscriptionJob) -> DomainResult<TranscriptionJob>;
    async fn get_transcription(&self, tenant: TenantId, id: TranscriptionJobId) -> DomainResult<TranscriptionJob>;
    async fn list_transcriptions(
        &self,
        tenant: TenantId,
        user: Option<UserId>,
        page: PageRequest,
    ) -> DomainResult<Page<TranscriptionJob>>;
    async fn update_transcription(
        &self,
        tenant: TenantId,
        id: TranscriptionJobId,
        patch: TranscriptionPatch,
    ) -> DomainResult<TranscriptionJob>;
    async fn delete_transcription(&self, tenant: TenantId, id: TranscriptionJobId) -> DomainResult<()>;
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, new: NewJob) -> DomainResult<Job>;
    /// Writes `writes` (rows and the jobs that carry them on) and, if given, `entry` on the
    /// tenant's audit chain, in one transaction: all of it or none. A write that finds no
    /// row answers `NotFound`; a document past its quota `QuotaExceeded`.
    async fn write_unit(
        &self,
        tenant: TenantId,
        writes: Vec<crate::outbox::Write>,
        entry: Option<NewAuditEntry>,
    ) -> DomainResult<()>;
    async fn get_job(&self, id: JobId) -> DomainResult<Job>;
    /// Claims the oldest due job (queued, or running with an expired lease) for `worker`
    /// until `lease_until`; no two workers ever claim the same job at once.
    async fn claim_job(&self, worker: &str, now: Timestamp, lease_until: Timestamp) -> DomainResult<Option<Job>>;
    async fn complete_job(&self, id: JobId, worker: &str, at: Timestamp) -> DomainResult<()>;
    /// Keeps a running job's lease while its worker is alive; `NotFound` when the worker no
    /// longer holds it.
    async fn extend_lease(&self, id: JobId, worker: &str, until: Timestamp) -> DomainResult<()>;
    /// Records the error; queues the job again at `retry_at` while attempts remain, else
    /// marks it failed.
    async fn fail_job(&self, id: JobId, worker: &str, error: &str, retry_at: Timestamp) -> DomainResult<Job>;
    async fn list_jobs(&self, status: Option<JobStatus>, page: PageRequest) -> DomainResult<Page<Job>>;
}

/// The two rankings of retrieval; one implementation per engine (see `tome-store/src/search.rs`).
/// Both apply `SearchScope` inside their index query.
#[async_trait]
pub trait SearchRepo: Send + Sync {
    /// Chunks containing any of `terms` (from `search::keywords`), best BM25-style score first.
    async fn keyword_search(
        &self,
        scope: &SearchScope,
        terms: &[String],
        limit: usize,
    ) -> DomainResult<Vec<RankedChunk>>;
    /// Chunks whose `model` vectors are nearest `vector`; the score is the cosine similarity.
    async fn vector_search(
        &self,
        scope: &SearchScope,
        model: &str,
        vector: &[f32],
        limit: usize,
    ) -> DomainResult<Vec<RankedChunk>>;
    /// The chunks with what a result shows of their documents (in no particular order).
    async fn chunk_hits(&self, tenant: TenantId, chunks: &[ChunkId]) -> DomainResult<Vec<ChunkHit>>;
    /// Brings derived indexes up to date with the chunks (the embedded vector index; a
    /// no-op where the database indexes itself).
    async fn refresh_search(&self) -> DomainResult<()>;
    /// Like `refresh_search` for one model's vectors (what an ingest worker just stored).
    async fn refresh_vectors(&self, model: &str, dimensions: usize) -> DomainResult<()>;
    /// Saves derived indexes to disk (the embedded vector index), e.g. before exiting.
    async fn save_search(&self) -> DomainResult<()>;
}

/// Everything a backend provides.
pub trait Store:
    StoreAdmin
    + TenantRepo
    + UserRepo
    + AccessRepo
    + SessionRepo
    + OrganizationRepo
    + KnowledgeRepo
    + SearchRepo
    + ChatRepo
    + AudioRepo
    + JobQueue
{
}

impl<T> Store for T where
    T: StoreAdmin
        + TenantRepo
        + UserRepo
        + AccessRepo
        + SessionRepo
        + OrganizationRepo
        + KnowledgeRepo
        + SearchRepo
        + ChatRepo
        + AudioRepo
        + JobQueue
{
}
