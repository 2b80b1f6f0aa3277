//! Mail delivery: SMTP through `lettre` when `TOME_SMTP_URL` is set (`smtp://host:port`,
//! `smtp://…?tls=required` for STARTTLS, `smtps://` for implicit TLS, credentials in the
//! URL), otherwise the log.

use std::sync::Arc;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use tome_config::Config;
use tome_domain::passwords::{LogMailer, Mailer};
use tome_domain::{DomainError, DomainResult};

/// The sender when `TOME_SMTP_FROM` is unset.
pub const DEFAULT_FROM: &str = "Tome <tome@localhost>";

/// Sends through one SMTP relay.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| format!("smtp_url (TOME_SMTP_URL) is not a usable SMTP URL: {error}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from.parse().map_err(|error| format!("smtp_from (TOME_SMTP_FROM) is not an address: {error}"))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> DomainResult<()> {
        let to: Mailbox = to.parse().map_err(|error| DomainError::invalid("email", format!("{error}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(DomainError::internal)?;
        self.transport.send(message).await.map_err(|error| DomainError::Unavailable(format!("mail: {error}")))?;
        Ok(())
    }
}

/// The mailer the configuration asks for.
pub fn from_config(config: &Config) -> Result<Arc<dyn Mailer>, String> {
    match &config.smtp_url {
        Some(url) => {
            let from = config.smtp_from.as_deref().unwrap_or(DEFAULT_FROM);
            Ok(Arc::new(SmtpMailer::new(url.expose_secret(), from)?))
        }
        None => Ok(Arc::new(LogMailer)),
    }
}
