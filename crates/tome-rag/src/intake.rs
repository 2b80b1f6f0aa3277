//! Receiving uploads: each file is streamed to storage (hashed on the way, size-capped),
//! its type decided from its content, and then registered as a document. A file that is
//! refused, or whose content the tenant already has, leaves nothing behind in storage.

use bytes::Bytes;
use futures::stream::BoxStream;
use tome_domain::access::Access;
use tome_domain::auth::ClientInfo;
use tome_domain::documents::{self, Registered, UploadOptions, UploadedFile};
use tome_domain::outbox::StorageQuota;
use tome_domain::repo::Store;
use tome_domain::{DomainError, DomainResult, TenantId};
use uuid::Uuid;

use crate::detect::{self, FileKind};
use crate::storage::{FileStore, StorageError, StoredFile};

/// A file in storage whose type is known, not yet a document.
#[derive(Clone, Debug)]
pub struct Received {
    pub original_name: String,
    pub kind: FileKind,
    pub stored: StoredFile,
}

/// Upload handling for one server.
#[derive(Clone)]
pub struct Intake {
    files: FileStore,
    max_bytes: u64,
    quota: StorageQuota,
}

impl Intake {
    pub fn new(files: FileStore, max_bytes: u64) -> Self {
        Self { files, max_bytes, quota: StorageQuota::default() }
    }

    /// Registers documents only within `quota` (each tenant's, checked as each is added).
    pub fn with_quota(mut self, quota: StorageQuota) -> Self {
        self.quota = quota;
        self
    }

    /// The most bytes one upload request may carry, all files together.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn files(&self) -> &FileStore {
        &self.files
    }

    /// Streams one file to storage and decides its type: 413 over the size cap, 415 for a
    /// type Tome cannot read (listing what it can).
    pub async fn receive<E: std::fmt::Display>(
        &self,
        tenant: TenantId,
        original_name: &str,
        source: BoxStream<'_, Result<Bytes, E>>,
    ) -> DomainResult<Received> {
        self.receive_within(tenant, original_name, source, self.max_bytes).await
    }

    /// `receive`, with at most `limit` bytes (what is left of a request's allowance).
    pub async fn receive_within<E: std::fmt::Display>(
        &self,
        tenant: TenantId,
        original_name: &str,
        source: BoxStream<'_, Result<Bytes, E>>,
        limit: u64,
    ) -> DomainResult<Received> {
        let key = format!("tenants/{tenant}/documents/{}", Uuid::now_v7());
        let stored = self.put(&key, original_name, source, limit.min(self.max_bytes)).await?;
        match detect::detect(&stored.head, original_name) {
            Ok(kind) => Ok(Received { original_name: original_name.to_owned(), kind, stored }),
            Err(detect::Unsupported(found)) => {
                self.discard(&stored.key).await;
                Err(DomainError::Unsupported(format!(
                    "{original_name} is {found}, which Tome cannot read; {}",
                    detect::supported_list()
                )))
            }
        }
    }

    /// Streams one recording to storage and checks from its content that it is audio
    /// Tome can take: 413 over the size cap, 415 otherwise (listing what it takes).
    pub async fn receive_audio<E: std::fmt::Display>(
        &self,
        tenant: TenantId,
        original_name: &str,
        source: BoxStream<'_, Result<Bytes, E>>,
    ) -> DomainResult<(StoredFile, &'static str)> {
        let key = format!("tenants/{tenant}/audio/{}", Uuid::now_v7());
        let stored = self.put(&key, original_name, source, self.max_bytes).await?;
        match detect::audio(&stored.head) {
            Ok(mime) => Ok((stored, mime)),
            Err(detect::Unsupported(found)) => {
                self.discard(&stored.key).await;
                Err(DomainError::Unsupported(format!(
                    "{original_name} is {found}, not a recording Tome can transcribe; {}",
                    detect::AUDIO_SUPPORTED
                )))
            }
        }
    }

    async fn put<E: std::fmt::Display>(
        &self,
        key: &str,
        original_name: &str,
        source: BoxStream<'_, Result<Bytes, E>>,
        limit: u64,
    ) -> DomainResult<StoredFile> {
        let max = self.max_bytes;
        self.files.put_stream(key, source, limit).await.map_err(|error| match error {
            StorageError::TooLarge { limit } if limit < max => DomainError::TooLarge(format!(
                "{original_name} goes past the upload limit of {max} bytes for the files of one request"
            )),
            StorageError::TooLarge { limit } => {
                DomainError::TooLarge(format!("{original_name} is larger than the upload limit of {limit} bytes"))
            }
            StorageError::Source(message) => {
                DomainError::invalid("file", format!("the upload was interrupted: {message}"))
            }
            other => DomainError::internal(other),
        })
    }

    /// Removes a received file that will not become a document.
    pub async fn discard(&self, key: &str) {
        self.files.discard(key).await;
    }

    /// Registers every received file as a document; content the tenant already has returns
    /// the existing document and its new copy is removed. On an error, files not yet
    /// registered are removed too.
    pub async fn register(
        &self,
        store: &dyn Store,
        access: &Access,
        received: Vec<Received>,
        options: UploadOptions,
        client: &ClientInfo,
    ) -> DomainResult<Vec<Registered>> {
        let options = UploadOptions { quota: self.quota, ..options };
        // The whole request fits the quota or none of it is kept; each document is checked
        // again as it is written, so concurrent uploads cannot pass it together.
        if self.quota != StorageQuota::default() {
            let bytes = received.iter().map(|file| i64::try_from(file.stored.size_bytes).unwrap_or(i64::MAX)).sum();
            let admitted = match store.storage_used(access.tenant_id).await {
                Ok(used) => self.quota.admit(used, i64::try_from(received.len()).unwrap_or(i64::MAX), bytes),
                Err(error) => Err(error),
            };
            if let Err(error) = admitted {
                for file in &received {
                    self.discard(&file.stored.key).await;
                }
                return Err(error);
            }
        }
        let mut registered = Vec::with_capacity(received.len());
        let mut pending = received.into_iter();
        while let Some(file) = pending.next() {
            let key = file.stored.key.clone();
            let upload = UploadedFile {
                original_name: file.original_name,
                storage_key: key.clone(),
                mime_type: file.kind.mime_type().to_owned(),
                size_bytes: i64::try_from(file.stored.size_bytes).unwrap_or(i64::MAX),
                sha256: file.stored.sha256,
            };
            match documents::register_upload(store, access, upload, options.clone(), client).await {
                Ok(done) => {
                    if done.duplicate {
                        self.discard(&key).await;
                    }
                    registered.push(done);
                }
                Err(error) => {
                    self.discard(&key).await;
                    for rest in pending {
                        self.discard(&rest.stored.key).await;
                    }
                    return Err(error);
                }
            }
        }
        Ok(registered)
    }
}
