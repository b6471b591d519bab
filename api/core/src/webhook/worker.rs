//! Delivers webhooks. Any number of workers may run at once (in `serve` processes or as
//! `patchwork worker`): each claims one endpoint for a lease (`FOR UPDATE SKIP LOCKED`),
//! numbers what was queued for it, sends its deliveries one at a time in sequence order, and
//! gives the endpoint back. A failure backs the whole endpoint off (exponentially, with
//! jitter: the circuit breaker), so events reach it in order; a delivery that fails its last
//! attempt becomes a dead letter and the next one goes; an endpoint that keeps failing is
//! disabled and its agency's admins are mailed. A worker that dies mid-send leaves the
//! delivery pending, so it is sent again with the same `webhook-id` (at least once).

use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::Connection;
use rand::Rng;
use tokio::sync::watch;
use uuid::Uuid;

use crate::db::practitioners;
use crate::db::webhooks::{self, DeliveryRow, SubscriptionRow};
use crate::domain::NotificationKind;
use crate::mail::{compose, outbox};
use crate::service::error::ServiceResult;
use crate::service::webhook::number;
use crate::state::AppState;
use crate::webhook::{send, sign, Guard, Outgoing};

/// The longest back-off of a failing endpoint.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The back-off after `failures` failures in a row: doubling from `base`, capped, and drawn
/// between half and all of that so that endpoints failing together do not retry together.
pub fn backoff(base: Duration, failures: i32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).clamp(0, 20) as u32);
    let full = base.saturating_mul(factor).min(MAX_BACKOFF);
    let millis = full.as_millis().max(2) as u64;
    Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
}

/// Delivers until `shutdown` turns true; the delivery in flight finishes first.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let busy = match step(&state, &shutdown).await {
            Ok(busy) => busy,
            Err(e) => {
                tracing::warn!(error = ?e, "webhooks: a delivery round failed");
                false
            }
        };
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(state.config.webhooks.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// One endpoint's turn, if one is due: false when none was.
pub async fn step(state: &AppState, shutdown: &watch::Receiver<bool>) -> ServiceResult<bool> {
    let settings = state.config.webhooks.clone();
    let lease = settings.lease.as_millis() as i64;
    let claimed = crate::db::run(&state.pool, move |conn| -> ServiceResult<_> {
        Ok(webhooks::claim_due(conn, lease)?)
    })
    .await?;
    let Some(sub) = claimed else {
        return Ok(false);
    };
    let id = sub.id;
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| number(conn, id))
    })
    .await?;
    let guard = Guard {
        allowed: settings.allowed_networks.clone(),
    };
    // Leave time to record the outcome before the lease runs out.
    let until = Instant::now() + settings.lease / 2;
    let mut failures = sub.consecutive_failures;
    loop {
        if *shutdown.borrow() || Instant::now() >= until {
            release(state, id, Duration::ZERO, failures, None).await?;
            return Ok(true);
        }
        let next = crate::db::run(&state.pool, move |conn| -> ServiceResult<_> {
            Ok(webhooks::next_pending(conn, id)?)
        })
        .await?;
        let Some(delivery) = next else {
            release(state, id, settings.poll, failures, None).await?;
            return Ok(true);
        };
        match deliver(&sub, &delivery, &guard, settings.timeout).await {
            Ok(()) => {
                failures = 0;
                record(state, delivery.id, "SENT", None).await?;
            }
            Err(error) => {
                failures += 1;
                let dead = delivery.attempts + 1 >= settings.max_attempts as i32;
                let status = if dead { "DEAD" } else { "PENDING" };
                tracing::info!(
                    subscription = %id,
                    sequence = delivery.sequence,
                    %error,
                    dead,
                    "webhook delivery failed"
                );
                record(state, delivery.id, status, Some(error.clone())).await?;
                let disable = failures >= settings.disable_after as i32;
                let delay = backoff(settings.retry_base, failures);
                release(state, id, delay, failures, disable.then_some(error)).await?;
                return Ok(true);
            }
        }
    }
}

/// Signs and sends one delivery: with the current secret, and the previous one too while a
/// rotation overlaps.
async fn deliver(
    sub: &SubscriptionRow,
    delivery: &DeliveryRow,
    guard: &Guard,
    timeout: Duration,
) -> Result<(), String> {
    let id = delivery.id.to_string();
    let payload = delivery.payload.as_deref().unwrap_or_default();
    let timestamp = Utc::now().timestamp();
    let mut signatures = vec![sign(&sub.secret, &id, timestamp, payload)
        .ok_or_else(|| "the signing secret is malformed".to_owned())?];
    if let (Some(previous), Some(until)) = (&sub.previous_secret, sub.previous_until) {
        if until > Utc::now() {
            signatures.extend(sign(previous, &id, timestamp, payload));
        }
    }
    send(
        &Outgoing {
            url: &sub.url,
            id: &id,
            timestamp,
            signatures: signatures.join(" "),
            body: payload,
        },
        guard,
        timeout,
    )
    .await
}

async fn record(
    state: &AppState,
    delivery: Uuid,
    status: &'static str,
    error: Option<String>,
) -> ServiceResult<()> {
    crate::db::run(&state.pool, move |conn| {
        let error: Option<String> = error.map(|e| e.chars().take(500).collect());
        webhooks::record_attempt(conn, delivery, status, error.as_deref())?;
        Ok(())
    })
    .await
}

/// Gives the endpoint back until `delay` from now; with `disabled_by`, stops it and tells its
/// agency's admins why, in the same transaction.
async fn release(
    state: &AppState,
    id: Uuid,
    delay: Duration,
    failures: i32,
    disabled_by: Option<String>,
) -> ServiceResult<()> {
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let disable = disabled_by.is_some();
            webhooks::release(conn, id, delay.as_millis() as i64, failures, disable)?;
            if let Some(error) = disabled_by {
                let Some(sub) = webhooks::lock(conn, id)? else {
                    return Ok(());
                };
                tracing::warn!(subscription = %id, failures, "webhook endpoint disabled");
                let content = compose::webhook_disabled(&sub.url, failures, &error);
                for admin in practitioners::admins_of(conn, sub.agency_id)? {
                    outbox::enqueue_personal(
                        conn,
                        NotificationKind::WebhookDisabled,
                        admin,
                        content.clone(),
                    )?;
                }
            }
            Ok(())
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_secs(10);
        for _ in 0..50 {
            let first = backoff(base, 1);
            assert!(
                first >= Duration::from_secs(5) && first <= base,
                "{first:?}"
            );
            let third = backoff(base, 3);
            assert!(third >= Duration::from_secs(20) && third <= Duration::from_secs(40));
            assert!(backoff(base, 40) <= MAX_BACKOFF);
        }
    }
}
