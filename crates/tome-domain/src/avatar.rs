//! A user's avatar: a JPEG of at most 512 KiB, accepted only when it really decodes (the
//! bytes, not a claimed content type, decide) and its dimensions are sane, so that a
//! crafted file can neither pass as an image nor make the decoder allocate gigabytes.

use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::options::DecoderOptions;

use crate::identity::{Avatar, MAX_AVATAR_BYTES};
use crate::repo::Store;
use crate::{DomainError, DomainResult, UserId};

/// Largest width or height accepted.
pub const MAX_AVATAR_SIDE: usize = 4096;

/// Decodes `bytes` fully as a JPEG; returns (width, height).
pub fn check_jpeg(bytes: &[u8]) -> DomainResult<(usize, usize)> {
    if bytes.len() > MAX_AVATAR_BYTES {
        return Err(DomainError::TooLarge(format!(
            "an avatar may be at most {MAX_AVATAR_BYTES} bytes (this one is {})",
            bytes.len()
        )));
    }
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(DomainError::Unsupported("an avatar must be a JPEG image".into()));
    }
    let options =
        DecoderOptions::default().set_strict_mode(true).set_max_width(MAX_AVATAR_SIDE).set_max_height(MAX_AVATAR_SIDE);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode()
        .map_err(|error| DomainError::invalid("avatar", format!("is not a readable JPEG image ({error})")))?;
    let (width, height) = decoder.dimensions().unwrap_or_default();
    if width == 0 || height == 0 {
        return Err(DomainError::invalid("avatar", "the image has no pixels"));
    }
    Ok((width, height))
}

/// Replaces the user's avatar after checking it off the async threads.
pub async fn set(store: &dyn Store, user: UserId, bytes: Vec<u8>) -> DomainResult<()> {
    let (bytes, checked) = tokio::task::spawn_blocking(move || {
        let checked = check_jpeg(&bytes);
        (bytes, checked)
    })
    .await
    .map_err(DomainError::internal)?;
    checked?;
    store.set_avatar(user, Some(Avatar { mime_type: "image/jpeg".into(), bytes })).await
}

pub async fn get(store: &dyn Store, user: UserId) -> DomainResult<Avatar> {
    store.get_avatar(user).await
}

pub async fn remove(store: &dyn Store, user: UserId) -> DomainResult<()> {
    store.get_avatar(user).await?;
    store.set_avatar(user, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_that_are_not_a_jpeg_are_refused() {
        assert!(matches!(check_jpeg(b"\x89PNG\r\n\x1a\n...."), Err(DomainError::Unsupported(_))));
        // A JPEG signature followed by garbage does not decode.
        assert!(matches!(check_jpeg(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 2, 3]), Err(DomainError::Invalid { .. })));
        assert!(matches!(check_jpeg(&vec![0xFF; MAX_AVATAR_BYTES + 1]), Err(DomainError::TooLarge(_))));
    }
}
