//! Secrets at rest. A keyring of numbered 256-bit keys (the newest is current) encrypts
//! values such as TOTP secrets with ChaCha20-Poly1305, and peppers hashes of values such as
//! recovery codes with HMAC-SHA-256, so that a copy of the database alone reveals neither.
//! Older keys stay in the ring after a rotation so that what they protected still opens.
//!
//! The ring is written as comma-separated `id:base64url(key)` entries, newest first
//! (`TOME_SECRET_KEY`, or the file `secret_key` in the data folder). A value that is not a
//! ring is taken as one key (id 1) derived from it with SHA-256.

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

use crate::{DomainError, DomainResult};

/// What an encrypted value starts with; anything else is a value stored before encryption.
const SEALED: &str = "enc1";

/// Numbered keys, newest first.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(u32, [u8; 32])>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u32> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish_non_exhaustive()
    }
}

impl Default for Keyring {
    /// A ring of one fresh key (tests, and a first start before the file exists).
    fn default() -> Self {
        Self::generate()
    }
}

impl Keyring {
    /// One fresh random key, id 1.
    pub fn generate() -> Self {
        Self { keys: vec![(1, random_key())] }
    }

    /// Reads a ring (`id:base64url, …`) or derives a single key from any other text of at
    /// least 32 characters.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let entries: Vec<&str> = text.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
        let parsed: Option<Vec<(u32, [u8; 32])>> = entries
            .iter()
            .map(|entry| {
                let (id, key) = entry.split_once(':')?;
                let bytes = URL_SAFE_NO_PAD.decode(key).ok()?;
                Some((id.parse().ok()?, bytes.try_into().ok()?))
            })
            .collect();
        match parsed {
            Some(keys) if !keys.is_empty() => {
                let mut ids: Vec<u32> = keys.iter().map(|(id, _)| *id).collect();
                ids.sort_unstable();
                ids.dedup();
                if ids.len() != keys.len() {
                    return Err("the secret key ring names a key id twice".into());
                }
                Ok(Self { keys })
            }
            _ if text.len() >= 32 => Ok(Self { keys: vec![(1, Sha256::digest(text.as_bytes()).into())] }),
            _ => Err("must be a key ring (`id:key, …`) or at least 32 characters".into()),
        }
    }

    /// The ring as it is written down, newest first.
    pub fn to_text(&self) -> String {
        self.keys.iter().map(|(id, key)| format!("{id}:{}", URL_SAFE_NO_PAD.encode(key))).collect::<Vec<_>>().join(",")
    }

    /// This ring with a fresh current key in front of the others.
    pub fn rotated(&self) -> Self {
        let next = self.keys.iter().map(|(id, _)| *id).max().unwrap_or(0) + 1;
        let mut keys = vec![(next, random_key())];
        keys.extend(self.keys.iter().copied());
        Self { keys }
    }

    /// The id of the key that encrypts now.
    pub fn current_id(&self) -> u32 {
        self.keys.first().map_or(0, |(id, _)| *id)
    }

    /// `enc1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>` under the current key.
    pub fn seal(&self, plaintext: &str) -> DomainResult<String> {
        let (id, key) = self.keys.first().ok_or_else(|| DomainError::internal("the key ring is empty"))?;
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| DomainError::internal("no randomness for a nonce"))?;
        let mut sealed = plaintext.as_bytes().to_vec();
        aead_key(key)?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(id.to_be_bytes()), &mut sealed)
            .map_err(|_| DomainError::internal("encryption failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED}:{id}:{}", STANDARD_NO_PAD.encode(out)))
    }

    /// The plaintext of a sealed value; a value stored before encryption is returned as is.
    pub fn open(&self, stored: &str) -> DomainResult<String> {
        let Some(rest) = stored.strip_prefix(SEALED).and_then(|rest| rest.strip_prefix(':')) else {
            return Ok(stored.to_owned());
        };
        let broken =
            || DomainError::internal("a stored secret does not open with the key ring (wrong TOME_SECRET_KEY?)");
        let (id, data) = rest.split_once(':').ok_or_else(broken)?;
        let id: u32 = id.parse().map_err(|_| broken())?;
        let key = self.keys.iter().find(|(key_id, _)| *key_id == id).map(|(_, key)| key).ok_or_else(broken)?;
        let data = STANDARD_NO_PAD.decode(data).map_err(|_| broken())?;
        if data.len() < NONCE_LEN {
            return Err(broken());
        }
        let (nonce, sealed) = data.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| broken())?;
        let mut sealed = sealed.to_vec();
        let plain =
            aead_key(key)?.open_in_place(nonce, Aad::from(id.to_be_bytes()), &mut sealed).map_err(|_| broken())?;
        String::from_utf8(plain.to_vec()).map_err(|_| broken())
    }

    /// Whether `stored` is sealed under the current key (else `tome secrets rotate` reseals it).
    pub fn is_current(&self, stored: &str) -> bool {
        stored.starts_with(&format!("{SEALED}:{}:", self.current_id()))
    }

    /// HMAC-SHA-256 of `value` under the current key's pepper, lower-case hex.
    pub fn pepper(&self, value: &str) -> String {
        self.keys.first().map(|(_, key)| peppered(key, value)).unwrap_or_default()
    }

    /// Every hash `value` may be stored under: each key's pepper, newest first, then the
    /// bare SHA-256 of hashes written before peppering.
    pub fn pepper_candidates(&self, value: &str) -> Vec<String> {
        let mut candidates: Vec<String> = self.keys.iter().map(|(_, key)| peppered(key, value)).collect();
        candidates.push(hex(&Sha256::digest(value.as_bytes())));
        candidates
    }
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    rand::fill(&mut key);
    key
}

fn aead_key(key: &[u8; 32]) -> DomainResult<LessSafeKey> {
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| DomainError::internal("bad key length"))?;
    Ok(LessSafeKey::new(unbound))
}

/// The pepper is derived from the key (so that it never equals the encryption key).
fn peppered(key: &[u8; 32], value: &str) -> String {
    let pepper = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), b"tome pepper v1");
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, pepper.as_ref()), value.as_bytes());
    hex(tag.as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_after_rotation_and_not_under_another_ring() {
        let ring = Keyring::generate();
        let sealed = ring.seal("JBSWY3DPEHPK3PXP").unwrap_or_default();
        assert!(sealed.starts_with("enc1:1:") && !sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(ring.seal("JBSWY3DPEHPK3PXP").unwrap_or_default(), sealed, "a fresh nonce each time");
        let rotated = Keyring::parse(&ring.rotated().to_text()).unwrap_or_default();
        assert_eq!(rotated.current_id(), 2);
        assert_eq!(rotated.open(&sealed).ok().as_deref(), Some("JBSWY3DPEHPK3PXP"), "old keys still open");
        assert!(!rotated.is_current(&sealed) && ring.is_current(&sealed));
        assert!(Keyring::generate().open(&sealed).is_err(), "another ring cannot open it");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(ring.open(&tampered).is_err(), "a changed ciphertext is refused");
        assert_eq!(ring.open("PLAINBASE32").ok().as_deref(), Some("PLAINBASE32"), "values from before encryption");
    }

    #[test]
    fn peppered_hashes_differ_per_ring_and_old_ones_still_match() {
        let ring = Keyring::generate();
        let hash = ring.pepper("abcde-fghjk");
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, Keyring::generate().pepper("abcde-fghjk"));
        assert!(ring.rotated().pepper_candidates("abcde-fghjk").contains(&hash));
        let bare = hex(&Sha256::digest(b"abcde-fghjk"));
        assert!(ring.pepper_candidates("abcde-fghjk").contains(&bare), "hashes from before peppering");
    }

    #[test]
    fn a_passphrase_becomes_one_key_and_short_ones_are_refused() {
        let ring = Keyring::parse("a passphrase of more than thirty-two characters").unwrap_or_default();
        assert_eq!(ring.current_id(), 1);
        assert!(Keyring::parse("short").is_err());
        assert!(Keyring::parse("1:AAAA").is_err(), "a ring entry with a short key is neither");
    }
}
