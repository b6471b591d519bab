//! Webhook subscriptions (an agency's admins manage them; rule 10) and their deliveries: each
//! change is queued, in its own transaction, for every subscription whose agency may see it,
//! described as that agency sees it then (rules 1 and 3); a worker later numbers the queued
//! deliveries in commit-safe order. Sending is `crate::webhook`'s.

use chrono::{Duration, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::auth::{Actor, RequestMeta};
use crate::db::activity;
use crate::db::webhooks::{self, DeliveryRow, NewDelivery, NewSubscription, SubscriptionRow};
use crate::domain::AuditAction;
use crate::policy;
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{FieldError, ServiceError, ServiceResult};
use crate::service::idempotency::{maybe_once, Outcome, Retry};
use crate::service::{events, readers};
use crate::state::AppState;
use crate::webhook::{self as out, Guard};

/// How long a rotated-out secret keeps signing beside the new one.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// Deliveries one numbering takes at most.
const BATCH: i64 = 200;

/// A subscription to make.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub event_types: Vec<String>,
}

/// A subscription and its signing secret (shown once, when made or rotated).
pub struct WithSecret {
    pub subscription: SubscriptionRow,
    pub secret: String,
}

fn guard(state: &AppState) -> Guard {
    Guard {
        allowed: state.config.webhooks.allowed_networks.clone(),
    }
}

/// Checks an endpoint: its form, and that its host resolves only to addresses webhooks may
/// reach. `field` names it in errors.
pub async fn check_endpoint(state: &AppState, field: &str, url: &str) -> ServiceResult<String> {
    let guard = guard(state);
    let parsed = out::check_url(url, &guard).map_err(|e| ServiceError::invalid(field, e.0))?;
    out::resolve(&parsed, &guard)
        .await
        .map_err(|e| ServiceError::invalid(field, e.0))?;
    Ok(parsed.to_string())
}

fn check_types(field: &str, types: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = types.iter().map(|t| t.trim().to_owned()).collect();
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(FieldError::new(field, "must name at least one event type"));
    }
    if let Some(bad) = out.iter().find(|t| !events::TYPES.contains(&t.as_str())) {
        return Err(FieldError::new(
            field,
            format!(
                "'{bad}' is not an event type; they are {}",
                events::TYPES.join(", ")
            ),
        ));
    }
    Ok(out)
}

/// Subscribes an endpoint of the caller's agency to event types. Changes made from now on are
/// sent.
pub async fn create(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    input: NewWebhook,
    retry: Option<Retry<WithSecret>>,
) -> ServiceResult<Outcome<WithSecret>> {
    policy::ensure_manages_webhooks(&actor)?;
    let mut fields = Vec::new();
    let types = check_types("eventTypes", &input.event_types).map_err(|e| fields.push(e));
    let url = match check_endpoint(state, "url", &input.url).await {
        Ok(url) => Some(url),
        Err(ServiceError::Invalid(mut f)) => {
            fields.append(&mut f);
            None
        }
        Err(e) => return Err(e),
    };
    let (Some(url), Ok(types)) = (url, types) else {
        return Err(ServiceError::Invalid(fields));
    };
    let secret = out::new_secret();
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            maybe_once(conn, retry, |conn| {
                let id = Uuid::new_v4();
                let subscription = webhooks::insert(
                    conn,
                    NewSubscription {
                        id,
                        agency: actor.agency_id,
                        url: &url,
                        event_types: &types,
                        secret: &secret,
                        created_by: actor.practitioner_id,
                    },
                )?;
                audit::record(
                    conn,
                    Some(&actor),
                    &meta,
                    AuditEvent {
                        subject_type: Some("webhook_subscription"),
                        subject_id: Some(id),
                        details: Some(serde_json::json!({ "url": url, "eventTypes": types })),
                        ..AuditEvent::of(AuditAction::WebhookSubscribed)
                    },
                )?;
                Ok(WithSecret {
                    subscription,
                    secret,
                })
            })
        })
    })
    .await
}

/// The caller's agency's subscriptions.
pub async fn list(state: &AppState, actor: Actor) -> ServiceResult<Vec<SubscriptionRow>> {
    policy::ensure_manages_webhooks(&actor)?;
    crate::db::run(&state.pool, move |conn| {
        Ok(webhooks::of_agency(conn, actor.agency_id)?)
    })
    .await
}

/// What an admin does to a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Pause,
    /// Also re-enables one that was disabled; what waited is sent.
    Resume,
    RotateSecret,
    Delete,
}

/// Changes one of the caller's agency's subscriptions; a rotation also returns the new secret.
pub async fn change(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    id: Uuid,
    what: Change,
    retry: Option<Retry<(SubscriptionRow, Option<String>)>>,
) -> ServiceResult<Outcome<(SubscriptionRow, Option<String>)>> {
    policy::ensure_manages_webhooks(&actor)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            maybe_once(conn, retry, |conn| {
                webhooks::lock(conn, id)?
                    .filter(|s| s.agency_id == actor.agency_id)
                    .ok_or(ServiceError::NotFound)?;
                let mut secret = None;
                let (row, action) = match what {
                    Change::Pause => (
                        webhooks::set_status(conn, id, "PAUSED")?,
                        AuditAction::WebhookChanged,
                    ),
                    Change::Resume => (
                        webhooks::set_status(conn, id, "ACTIVE")?,
                        AuditAction::WebhookChanged,
                    ),
                    Change::RotateSecret => {
                        let fresh = out::new_secret();
                        let row =
                            webhooks::rotate(conn, id, &fresh, Utc::now() + ROTATION_OVERLAP)?;
                        secret = Some(fresh);
                        (row, AuditAction::WebhookSecretRotated)
                    }
                    Change::Delete => (webhooks::delete(conn, id)?, AuditAction::WebhookDeleted),
                };
                audit::record(
                    conn,
                    Some(&actor),
                    &meta,
                    AuditEvent {
                        subject_type: Some("webhook_subscription"),
                        subject_id: Some(id),
                        details: Some(serde_json::json!({ "url": row.url, "status": row.status })),
                        ..AuditEvent::of(action)
                    },
                )?;
                Ok((row, secret))
            })
        })
    })
    .await
}

/// The dead letters of one of the caller's agency's subscriptions.
pub async fn dead_letters(
    state: &AppState,
    actor: Actor,
    subscription: Uuid,
) -> ServiceResult<Vec<DeliveryRow>> {
    policy::ensure_manages_webhooks(&actor)?;
    crate::db::run(&state.pool, move |conn| {
        let owned = webhooks::of_agency(conn, actor.agency_id)?
            .iter()
            .any(|s| s.id == subscription);
        if !owned {
            return Err(ServiceError::NotFound);
        }
        Ok(webhooks::dead(conn, subscription)?)
    })
    .await
}

/// Sends a dead letter again (with its own id and sequence number, so the receiver can tell
/// it is late).
pub async fn replay(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    subscription: Uuid,
    delivery: Uuid,
    retry: Option<Retry<()>>,
) -> ServiceResult<Outcome<()>> {
    policy::ensure_manages_webhooks(&actor)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            maybe_once(conn, retry, |conn| {
                webhooks::lock(conn, subscription)?
                    .filter(|s| s.agency_id == actor.agency_id)
                    .ok_or(ServiceError::NotFound)?;
                if !webhooks::replay(conn, subscription, delivery)? {
                    return Err(ServiceError::NotFound);
                }
                audit::record(
                    conn,
                    Some(&actor),
                    &meta,
                    AuditEvent {
                        subject_type: Some("webhook_delivery"),
                        subject_id: Some(delivery),
                        ..AuditEvent::of(AuditAction::WebhookReplayed)
                    },
                )?;
                Ok(())
            })
        })
    })
    .await
}

/// Within a change's transaction: queues the change `activity` for every live subscription
/// whose agency may see it now, described as that agency sees it (rules 1 and 3). One cheap
/// statement when no agency subscribes.
pub fn enqueue(
    conn: &mut PgConnection,
    activity: Uuid,
    today: chrono::NaiveDate,
) -> ServiceResult<()> {
    let subscriptions = webhooks::live(conn)?;
    let mut agencies: Vec<Uuid> = subscriptions.iter().map(|s| s.agency_id).collect();
    agencies.sort();
    agencies.dedup();
    for agency in agencies {
        let reader = readers::for_agency(conn, agency, today)?;
        let Some(row) = activity::one(
            conn,
            activity,
            policy::event_visible_sql(&reader, "activity"),
        )?
        else {
            continue;
        };
        let Some(event) = events::describe(conn, &reader, vec![row], true)?.pop() else {
            continue;
        };
        let described = serde_json::json!({
            "type": event.kind,
            "timestamp": event.timestamp(),
            "data": event.data,
        });
        for sub in subscriptions
            .iter()
            .filter(|s| s.agency_id == agency && s.event_types.iter().any(|t| t == event.kind))
        {
            webhooks::insert_delivery(
                conn,
                NewDelivery {
                    id: Uuid::now_v7(),
                    subscription: sub.id,
                    activity,
                    event_type: event.kind,
                    event: &described,
                },
            )?;
        }
    }
    Ok(())
}

/// Within a transaction: numbers the subscription's queued deliveries in feed order, once
/// every transaction before them has ended, and writes each body (Standard Webhooks' `type`,
/// `timestamp` and `data`, and the subscription's `sequence` number: 1, 2, 3, ... with no
/// gaps). Returns how many.
pub fn number(conn: &mut PgConnection, subscription: Uuid) -> ServiceResult<usize> {
    let Some(sub) = webhooks::lock(conn, subscription)? else {
        return Ok(0);
    };
    let queued = webhooks::unnumbered(conn, sub.id, BATCH)?;
    let mut sequence = sub.next_sequence;
    for (id, event) in &queued {
        let mut body = event.clone();
        body["sequence"] = serde_json::json!(sequence);
        webhooks::number(conn, *id, sequence, &body.to_string())?;
        sequence += 1;
    }
    if !queued.is_empty() {
        webhooks::set_next_sequence(conn, sub.id, sequence)?;
    }
    Ok(queued.len())
}
