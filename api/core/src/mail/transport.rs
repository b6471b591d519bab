//! Where messages go: an SMTP server, or `.eml` files in development.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Config;

/// A message ready to hand to a transport.
pub struct Outgoing {
    pub id: uuid::Uuid,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A message's `List-Unsubscribe` link; with `one_click`, a POST to it unsubscribes
/// (RFC 8058), so a mail client's button works.
pub struct Unsubscribe {
    pub url: String,
    pub one_click: bool,
}

/// Why a message was not handed over.
#[derive(Debug)]
pub struct SendError {
    /// The server refused for good (5xx): retrying will not help.
    pub permanent: bool,
    pub detail: String,
}

#[derive(Clone)]
pub enum Transport {
    /// lettre's own timeout covers only connecting, so the whole exchange is bounded here too:
    /// a server that accepts and then never answers must not hold a worker for ever.
    Smtp(AsyncSmtpTransport<Tokio1Executor>, std::time::Duration),
    Files(AsyncFileTransport<Tokio1Executor>),
}

impl Transport {
    /// SMTP when `SMTP_URL` is set; `.eml` files in development otherwise; in production
    /// without `SMTP_URL`, none: mail waits in the outbox until a transport is configured.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Transport>> {
        if let Some(url) = &config.smtp_url {
            let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                .map_err(|e| anyhow::anyhow!("SMTP_URL: {e}"))?
                .timeout(Some(config.mail.timeout))
                .build();
            return Ok(Some(Transport::Smtp(smtp, config.mail.timeout)));
        }
        if config.is_development() {
            std::fs::create_dir_all(&config.mail.dir).map_err(|e| {
                anyhow::anyhow!("MAIL_DIR: cannot create {}: {e}", config.mail.dir.display())
            })?;
            return Ok(Some(Transport::Files(AsyncFileTransport::new(
                &config.mail.dir,
            ))));
        }
        Ok(None)
    }

    pub async fn send(
        &self,
        from: &Mailbox,
        unsubscribe: &Unsubscribe,
        mail: Outgoing,
    ) -> Result<(), SendError> {
        let invalid = |detail: String| SendError {
            permanent: true,
            detail,
        };
        let domain = from.email.domain().to_owned();
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| invalid(format!("bad recipient address: {e}")))?;
        let header = |name: &str, value: String| {
            HeaderName::new_from_ascii(name.to_owned())
                .map(|name| HeaderValue::new(name, value))
                .map_err(|e| invalid(format!("{e}")))
        };
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(mail.subject)
            // Stable per notification: a retried message carries the same id.
            .message_id(Some(format!("<{}@{domain}>", mail.id)))
            .raw_header(header(
                "List-Unsubscribe",
                format!("<{}>", unsubscribe.url),
            )?);
        if unsubscribe.one_click {
            builder = builder.raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".to_owned(),
            )?);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(|e| invalid(format!("cannot build message: {e}")))?;
        match self {
            Transport::Smtp(smtp, limit) => {
                match tokio::time::timeout(*limit, smtp.send(message)).await {
                    Ok(sent) => sent.map(|_| ()).map_err(|e| SendError {
                        permanent: e.is_permanent(),
                        detail: e.to_string(),
                    }),
                    Err(_) => Err(SendError {
                        permanent: false,
                        detail: format!(
                            "the mail server did not answer within {} ms (timed out)",
                            limit.as_millis()
                        ),
                    }),
                }
            }
            Transport::Files(files) => {
                files
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendError {
                        permanent: false,
                        detail: e.to_string(),
                    })
            }
        }
    }
}
