//! The `conversation.purge` job: removes a deleted conversation with its messages and
//! ratings (the conversation was hidden the moment it was deleted).

use std::sync::Arc;

use async_trait::async_trait;
use serde::Deserialize;
use tome_domain::chat::ConversationStatus;
use tome_domain::conversations::PURGE_JOB;
use tome_domain::jobs::Job;
use tome_domain::repo::Store;
use tome_domain::{ConversationId, DomainError};
use tome_jobs::JobHandler;

pub struct PurgeConversationJob(pub Arc<dyn Store>);

#[derive(Deserialize)]
struct Payload {
    conversation_id: ConversationId,
}

#[async_trait]
impl JobHandler for PurgeConversationJob {
    fn kind(&self) -> &'static str {
        PURGE_JOB
    }

    async fn run(&self, job: &Job) -> Result<(), String> {
        let tenant = job.tenant_id.ok_or("the job names no tenant")?;
        let payload: Payload = serde_json::from_value(job.payload.clone()).map_err(|e| format!("bad payload: {e}"))?;
        let store = self.0.for_tenant(tenant);
        match store.get_conversation(tenant, payload.conversation_id).await {
            // Only a conversation still marked deleted goes.
            Ok(conversation) if conversation.status == ConversationStatus::Deleted => {
                match store.delete_conversation(tenant, payload.conversation_id).await {
                    Ok(()) | Err(DomainError::NotFound(_)) => Ok(()),
                    Err(error) => Err(error.to_string()),
                }
            }
            Ok(_) | Err(DomainError::NotFound(_)) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }
}
