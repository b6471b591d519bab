//! Delivers the outbox. Any number of workers may run at once, in `serve` processes or as
//! `patchwork worker`: each claims a few due messages with `FOR UPDATE SKIP LOCKED`, reserves
//! them for a lease, sends, and marks them. A worker that dies mid-batch leaves its messages to
//! be claimed again when the lease runs out, so at most the message in flight is sent twice.

use std::time::Duration;

use lettre::message::Mailbox;
use tokio::sync::watch;
use uuid::Uuid;

use crate::db::notifications::{self, Claimed};
use crate::domain::NotificationKind;
use crate::mail::compose::Links;
use crate::mail::daily;
use crate::mail::transport::{Outgoing, SendError, Transport, Unsubscribe};
use crate::service::error::{ServiceError, ServiceResult};
use crate::state::AppState;

/// How many messages one claim takes.
const BATCH: i64 = 5;
/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);

/// Claims up to [`BATCH`] due messages for `lease`.
async fn claim(state: &AppState) -> ServiceResult<Vec<Claimed>> {
    let lease = state.config.mail.lease.as_millis() as i64;
    crate::db::run(&state.pool, move |conn| {
        Ok(notifications::claim(conn, lease, BATCH)?)
    })
    .await
}

fn backoff(base: Duration, attempts: i32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).max(0) as u32);
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Records the outcome of one attempt. The `attempts` guard ignores a worker whose lease ran
/// out and whose message another worker has since claimed.
async fn settle(
    state: &AppState,
    msg: &Claimed,
    outcome: Result<(), SendError>,
) -> ServiceResult<()> {
    let (id, attempts) = (msg.id, msg.attempts);
    let max = state.config.mail.max_attempts as i32;
    let delay_ms = backoff(state.config.mail.retry_base, attempts).as_millis() as i64;
    crate::db::run(&state.pool, move |conn| {
        match outcome {
            Ok(()) => notifications::mark_sent(conn, id, attempts)?,
            Err(e) => {
                let give_up = e.permanent || attempts >= max;
                let detail: String = e.detail.chars().take(500).collect();
                notifications::mark_attempt_failed(conn, id, attempts, give_up, delay_ms, &detail)?
            }
        };
        Ok(())
    })
    .await
}

/// Gives back claimed messages that will not be sent now (shutting down).
async fn release(state: &AppState, ids: Vec<(Uuid, i32)>) -> ServiceResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    crate::db::run(&state.pool, move |conn| {
        for (id, attempts) in ids {
            notifications::release(conn, id, attempts)?;
        }
        Ok(())
    })
    .await
}

/// The unsubscribe link of a message: one click for the kinds a practitioner may turn off
/// (and digests of them), the preferences page for those that always arrive.
fn unsubscribe(state: &AppState, links: &Links, msg: &Claimed) -> Unsubscribe {
    let optional = msg
        .kind
        .parse::<NotificationKind>()
        .map(|k| !k.always_immediate())
        .unwrap_or(msg.kind == notifications::DIGEST_KIND);
    if !optional {
        return Unsubscribe {
            url: links.preferences(),
            one_click: false,
        };
    }
    Unsubscribe {
        url: links.unsubscribe(&crate::auth::unsubscribe::token_for(
            &state.config,
            msg.recipient_id,
        )),
        one_click: true,
    }
}

/// Delivers until `shutdown` turns true; then finishes the message in flight, gives back the
/// rest of its batch, and returns.
pub async fn run(state: AppState, transport: Transport, mut shutdown: watch::Receiver<bool>) {
    let from: Mailbox = match state.config.mail_from.parse() {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "MAIL_FROM is not an address; mail is not sent");
            return;
        }
    };
    let links = Links::of(&state.config);
    tracing::info!("mail worker started");
    while !*shutdown.borrow() {
        if let Err(e) = daily::run_if_due(&state).await {
            tracing::error!(error = ?e, "daily jobs failed");
        }
        let batch = match claim(&state).await {
            Ok(batch) => batch,
            Err(e) => {
                log_db_error(e);
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(state.config.mail.poll) => {}
                _ = shutdown.changed() => {}
            }
            continue;
        }
        let mut rest = batch.into_iter();
        while let Some(msg) = rest.next() {
            let outcome = match &msg.email {
                None => Err(SendError {
                    permanent: true,
                    detail: "the recipient's account is no longer active".to_owned(),
                }),
                Some(to) => {
                    transport
                        .send(
                            &from,
                            &unsubscribe(&state, &links, &msg),
                            Outgoing {
                                id: msg.id,
                                to: to.clone(),
                                subject: msg.subject.clone(),
                                text: msg.body_text.clone(),
                                html: msg.body_html.clone(),
                            },
                        )
                        .await
                }
            };
            if let Err(e) = &outcome {
                tracing::warn!(notification = %msg.id, attempt = msg.attempts, permanent = e.permanent, error = %e.detail, "send failed");
            }
            if let Err(e) = settle(&state, &msg, outcome).await {
                log_db_error(e);
            }
            if *shutdown.borrow() {
                let left: Vec<(Uuid, i32)> = rest.by_ref().map(|m| (m.id, m.attempts)).collect();
                if let Err(e) = release(&state, left).await {
                    log_db_error(e);
                }
                break;
            }
        }
    }
    tracing::info!("mail worker stopped");
}

fn log_db_error(e: ServiceError) {
    tracing::error!(error = ?e, "mail worker could not reach the database");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), Duration::from_secs(30));
        assert_eq!(backoff(base, 2), Duration::from_secs(60));
        assert_eq!(backoff(base, 4), Duration::from_secs(240));
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
    }
}
