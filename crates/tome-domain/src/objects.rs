//! Artifacts the assistant produced through a tool call (OpenSCAD sources): members with
//! `chat.use` read the tenant's; their creator, or `documents.manage`, changes and deletes one.

use crate::access::Access;
use crate::chat::{NewObject, ObjectKind, ObjectPatch, StoredObject};
use crate::conversations::CHAT;
use crate::repo::Store;
use crate::validate::required_text;
use crate::{DomainError, DomainResult, ObjectId, Page, PageRequest};

/// The largest source kept, in bytes.
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

fn source(raw: &str) -> DomainResult<String> {
    if raw.trim().is_empty() {
        return Err(DomainError::invalid("source", "must not be empty"));
    }
    if raw.len() > MAX_SOURCE_BYTES {
        return Err(DomainError::invalid("source", format!("must be at most {MAX_SOURCE_BYTES} bytes")));
    }
    Ok(raw.to_owned())
}

fn changeable(access: &Access, object: &StoredObject) -> DomainResult<()> {
    if object.created_by == Some(access.user_id) || access.can("documents.manage") {
        Ok(())
    } else {
        Err(DomainError::Forbidden("changing another member's object needs documents.manage".into()))
    }
}

pub async fn list(store: &dyn Store, access: &Access, page: PageRequest) -> DomainResult<Page<StoredObject>> {
    access.require(CHAT)?;
    store.list_objects(access.tenant_id, page).await
}

pub async fn get(store: &dyn Store, access: &Access, id: ObjectId) -> DomainResult<StoredObject> {
    access.require(CHAT)?;
    store.get_object(access.tenant_id, id).await
}

pub async fn create(store: &dyn Store, access: &Access, name: &str, text: &str) -> DomainResult<StoredObject> {
    access.require(CHAT)?;
    let new = NewObject {
        kind: ObjectKind::Openscad,
        name: required_text("name", name, 255)?,
        source: source(text)?,
        created_by: Some(access.user_id),
    };
    store.create_object(access.tenant_id, new).await
}

pub async fn update(
    store: &dyn Store,
    access: &Access,
    id: ObjectId,
    patch: ObjectPatch,
) -> DomainResult<StoredObject> {
    let object = get(store, access, id).await?;
    changeable(access, &object)?;
    let patch = ObjectPatch {
        name: patch.name.as_deref().map(|raw| required_text("name", raw, 255)).transpose()?,
        source: patch.source.as_deref().map(source).transpose()?,
    };
    store.update_object(access.tenant_id, id, patch).await
}

pub async fn delete(store: &dyn Store, access: &Access, id: ObjectId) -> DomainResult<()> {
    let object = get(store, access, id).await?;
    changeable(access, &object)?;
    store.delete_object(access.tenant_id, id).await
}
