//! Where uploaded files live: one `object_store` code path for a local folder (the default,
//! `<data>/files`) and any S3-compatible bucket (`TOME_STORAGE_URL=s3://bucket/prefix` with the
//! usual `AWS_*` variables). Files are written as they arrive, hashed on the way, and never held
//! whole in memory by the upload path.

use std::path::Path as FsPath;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

/// A storage failure, in words for the log.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage is misconfigured: {0}")]
    Config(String),
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("stored file not found: {0}")]
    NotFound(String),
    #[error("storage failed: {0}")]
    Backend(String),
    #[error("the upload was interrupted: {0}")]
    Source(String),
}

fn backend(error: object_store::Error) -> StorageError {
    match error {
        object_store::Error::NotFound { path, .. } => StorageError::NotFound(path),
        other => StorageError::Backend(other.to_string()),
    }
}

/// What a finished upload wrote.
#[derive(Clone, Debug)]
pub struct StoredFile {
    pub key: String,
    pub size_bytes: u64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    /// The first bytes of the file, for type detection.
    pub head: Vec<u8>,
}

/// How many leading bytes an upload keeps for type detection.
pub const HEAD_BYTES: usize = 8192;

/// A bucket or folder of files, addressed by keys such as `tenants/<id>/documents/<uuid>`.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl FileStore {
    /// A store at `url` (`file:///…` or `s3://bucket/prefix`), or the local folder
    /// `default_dir` when no URL is configured.
    pub fn open(url: Option<&str>, default_dir: &FsPath) -> Result<Self, StorageError> {
        let Some(raw) = url else { return Self::local(default_dir) };
        let parsed = url::Url::parse(raw).map_err(|e| StorageError::Config(format!("TOME_STORAGE_URL: {e}")))?;
        match parsed.scheme() {
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|()| StorageError::Config("TOME_STORAGE_URL: not a local path".into()))?;
                Self::local(&dir)
            }
            "s3" => {
                let bucket = AmazonS3Builder::from_env()
                    .with_url(raw)
                    .build()
                    .map_err(|e| StorageError::Config(format!("TOME_STORAGE_URL: {e}")))?;
                let prefix = Path::from(parsed.path().trim_matches('/'));
                Ok(Self { inner: Arc::new(bucket), prefix })
            }
            other => Err(StorageError::Config(format!(
                "TOME_STORAGE_URL: unsupported scheme `{other}` (use file:// or s3://)"
            ))),
        }
    }

    fn local(dir: &FsPath) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Config(format!("cannot create {}: {e}", dir.display())))?;
        let folder = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StorageError::Config(format!("{}: {e}", dir.display())))?
            .with_automatic_cleanup(true);
        Ok(Self { inner: Arc::new(folder), prefix: Path::default() })
    }

    fn path(&self, key: &str) -> Path {
        self.prefix.parts().chain(Path::from(key).parts()).collect()
    }

    /// Writes `source` under `key` as it arrives, hashing it; more than `limit` bytes aborts
    /// the upload (nothing is left behind) with `TooLarge`.
    pub async fn put_stream<E: std::fmt::Display>(
        &self,
        key: &str,
        mut source: BoxStream<'_, Result<Bytes, E>>,
        limit: u64,
    ) -> Result<StoredFile, StorageError> {
        let upload = self.inner.put_multipart(&self.path(key)).await.map_err(backend)?;
        let mut writer = WriteMultipart::new(upload);
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(HEAD_BYTES);
        let mut size: u64 = 0;
        let failure = loop {
            let piece = match source.next().await {
                None => break None,
                Some(Err(error)) => break Some(StorageError::Source(error.to_string())),
                Some(Ok(piece)) => piece,
            };
            size += piece.len() as u64;
            if size > limit {
                break Some(StorageError::TooLarge { limit });
            }
            hasher.update(&piece);
            let room = HEAD_BYTES.saturating_sub(head.len());
            head.extend_from_slice(&piece[..room.min(piece.len())]);
            if let Err(error) = writer.wait_for_capacity(4).await {
                break Some(backend(error));
            }
            writer.write(&piece);
        };
        if let Some(error) = failure {
            // An aborted multipart upload leaves no object; a failed abort is only logged.
            if let Err(abort) = writer.abort().await {
                tracing::warn!(%abort, key, "could not abort an upload");
            }
            return Err(error);
        }
        writer.finish().await.map_err(backend)?;
        Ok(StoredFile { key: key.to_owned(), size_bytes: size, sha256: hex::encode(hasher.finalize()), head })
    }

    /// Writes a whole small value (tests, generated documents).
    pub async fn put_bytes(&self, key: &str, content: Bytes) -> Result<StoredFile, StorageError> {
        let source = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(content) }).boxed();
        self.put_stream(key, source, u64::MAX).await
    }

    /// The whole file, for a parser.
    pub async fn get(&self, key: &str) -> Result<Bytes, StorageError> {
        self.inner.get(&self.path(key)).await.map_err(backend)?.bytes().await.map_err(backend)
    }

    /// The file as a stream of pieces, for a download.
    pub async fn stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes, StorageError>>, StorageError> {
        let result = self.inner.get(&self.path(key)).await.map_err(backend)?;
        Ok(result.into_stream().map_err(backend).boxed())
    }

    /// Removes a file; one that is already gone is not an error (purges are retried).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(backend(error)),
        }
    }

    /// Removes a file nothing will use (a refused upload, a duplicate), best effort: a
    /// failure is logged, not returned.
    pub async fn discard(&self, key: &str) {
        if let Err(error) = self.delete(key).await {
            tracing::warn!(%error, key, "could not remove a file that is no longer wanted");
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn pieces(parts: Vec<&'static [u8]>) -> BoxStream<'static, Result<Bytes, String>> {
        futures::stream::iter(parts.into_iter().map(|p| Ok(Bytes::from_static(p)))).boxed()
    }

    #[tokio::test]
    async fn a_streamed_file_is_hashed_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(None, dir.path()).unwrap();
        let stored = store.put_stream("a/b", pieces(vec![b"hello ", b"world"]), 100).await.unwrap();
        assert_eq!(stored.size_bytes, 11);
        assert_eq!(stored.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        assert_eq!(stored.head, b"hello world");
        assert_eq!(store.get("a/b").await.unwrap(), Bytes::from_static(b"hello world"));
        store.delete("a/b").await.unwrap();
        store.delete("a/b").await.unwrap();
        assert!(matches!(store.get("a/b").await, Err(StorageError::NotFound(_))));
    }

    #[tokio::test]
    async fn a_file_over_the_limit_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open(None, dir.path()).unwrap();
        let result = store.put_stream("big", pieces(vec![b"12345", b"67890"]), 8).await;
        assert!(matches!(result, Err(StorageError::TooLarge { limit: 8 })));
        assert!(matches!(store.get("big").await, Err(StorageError::NotFound(_))));
        let leftovers: Vec<_> = walk(dir.path());
        assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    }

    fn walk(dir: &FsPath) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }

    #[test]
    fn an_unknown_scheme_is_a_configuration_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(FileStore::open(Some("ftp://x/y"), dir.path()), Err(StorageError::Config(_))));
    }
}
