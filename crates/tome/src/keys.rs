//! The server's own keys: the token signing key (`TOME_JWT_SECRET`) and the key ring that
//! seals secrets at rest (`TOME_SECRET_KEY`). Either comes from the environment, else from a
//! file in the data folder generated once (mode 0600); the two are separate keys.

use std::path::Path;

use anyhow::{Context, bail};
use secrecy::ExposeSecret;
use tome_config::Config;
use tome_domain::secrets::Keyring;

/// The key that signs access tokens: `TOME_JWT_SECRET`, else a random key generated once
/// and kept in `<data>/jwt_secret`. Several nodes behind one load balancer must share it.
pub fn signing_key(config: &Config) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &config.jwt_secret {
        let secret = secret.expose_secret();
        if secret.len() < 32 {
            bail!("invalid configuration: key `jwt_secret` (TOME_JWT_SECRET) must be at least 32 characters");
        }
        return Ok(secret.as_bytes().to_vec());
    }
    let generate = || tome_domain::auth::random_secret() + &tome_domain::auth::random_secret();
    let text = kept_once(&config.data_dir.join("jwt_secret"), "a token signing key", generate)?;
    if text.len() < 32 {
        bail!("{} is too short: delete it to generate a new key", config.data_dir.join("jwt_secret").display());
    }
    Ok(text.into_bytes())
}

/// The ring that seals secrets at rest: `TOME_SECRET_KEY`, else `<data>/secret_key`
/// (generated once). Several nodes must share it.
pub fn keyring(config: &Config) -> anyhow::Result<Keyring> {
    if let Some(secret) = &config.secret_key {
        return Keyring::parse(secret.expose_secret())
            .map_err(|reason| anyhow::anyhow!("invalid configuration: key `secret_key` (TOME_SECRET_KEY) {reason}"));
    }
    let path = config.data_dir.join("secret_key");
    let text = kept_once(&path, "a key for secrets at rest", || Keyring::generate().to_text())?;
    Keyring::parse(&text).map_err(|reason| anyhow::anyhow!("{}: {reason}", path.display()))
}

/// `tome secrets rotate`: a new current key in front of the ring in the data folder, and
/// every stored secret sealed again under it. Old keys stay, so nothing sealed is lost.
pub async fn rotate(config: &Config, store: &dyn tome_domain::repo::Store) -> anyhow::Result<()> {
    if config.secret_key.is_some() {
        bail!(
            "TOME_SECRET_KEY is set, so the ring is yours to rotate: put a new `id:key` entry in front of it \
             (`tome secrets rotate` works on the ring kept in the data folder)"
        );
    }
    let path = config.data_dir.join("secret_key");
    let rotated = keyring(config)?.rotated();
    write_secret_file(&path, &rotated.to_text(), true)?;
    let resealed = tome_domain::two_factor::reseal(store, &rotated).await?;
    println!("key {} is current; {resealed} second-factor secret(s) sealed again", rotated.current_id());
    Ok(())
}

/// The text of `path`, or `generate()` written there first (`what` names it in the log).
fn kept_once(path: &Path, what: &str, generate: impl Fn() -> String) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text.trim().to_owned()),
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(error).with_context(|| format!("cannot read {}", path.display()));
        }
        Err(_) => {}
    }
    let secret = generate();
    match write_secret_file(path, &secret, false) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated {what}");
            Ok(secret)
        }
        // Another process created it first: use theirs.
        Err(error)
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists) =>
        {
            kept_once(path, what, generate)
        }
        Err(error) => Err(error),
    }
}

/// Writes a secret file readable by its owner only; `replace` swaps it in atomically.
fn write_secret_file(path: &Path, text: &str, replace: bool) -> anyhow::Result<()> {
    let target = if replace { path.with_extension("new") } else { path.to_path_buf() };
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if replace {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&target)?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("cannot write {}", target.display()))?;
    file.sync_all().with_context(|| format!("cannot write {}", target.display()))?;
    if replace {
        std::fs::rename(&target, path).with_context(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(())
}
