//! Notifications as practitioners handle them: raising attention, choosing what reaches them,
//! first-password invitations, and (for system admins) messages that could not be delivered.

use chrono::Utc;
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::auth::tokens::{new_refresh_token, refresh_digest};
use crate::auth::{password, Actor, RequestMeta};
use crate::db::activity::Change;
use crate::db::models::PractitionerRow;
use crate::db::{invitations, involvements, notifications, practitioners};

pub use crate::db::notifications::FailedRow;
use crate::domain::{ActivityKind, AuditAction};
use crate::domain::{Delivery, NotificationKind};
use crate::mail::compose::{self, Links};
use crate::mail::{notify, outbox};
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{FieldError, ServiceError, ServiceResult};
use crate::service::events;
use crate::service::parse_id_noting;
use crate::service::session::{self, Session};
use crate::state::AppState;

/// The longest message `raiseAttention` carries.
pub const MAX_MESSAGE: usize = 1000;

/// A message to a child's team, parsed: what [`raise_attention`] acts on.
#[derive(Debug, Clone)]
pub struct Attention {
    pub child_id: Uuid,
    /// Trimmed; 1 to [`MAX_MESSAGE`] characters.
    pub message: String,
}

impl Attention {
    /// Every field's problems in one answer.
    pub fn parse(child_id: &str, message: &str) -> ServiceResult<Attention> {
        let mut fields = Vec::new();
        let child_id = parse_id_noting(&mut fields, "childId", child_id);
        let message = message.trim().to_owned();
        let length = message.chars().count();
        if length == 0 {
            fields.push(FieldError::new("message", "must not be blank"));
        } else if length > MAX_MESSAGE {
            fields.push(FieldError::new(
                "message",
                "must be at most 1000 characters",
            ));
        }
        if !fields.is_empty() {
            return Err(ServiceError::Invalid(fields));
        }
        Ok(Attention { child_id, message })
    }
}

/// Emails a short message to every other team member who may see the caller's involvement.
/// Answers how many of them the caller may see, so the answer reveals nobody.
pub async fn raise_attention(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    attention: Attention,
) -> ServiceResult<i32> {
    let Attention {
        child_id: child,
        message,
    } = attention;
    let links = Links::of(&state.config);
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let me = reader.actor.practitioner_id;
            let sender = involvements::active_of(conn, child, me)?.ok_or(ServiceError::NotFound)?;
            let cx = notify::Context {
                links: &links,
                today: reader.today,
                actor: me,
            };
            let recipients = notify::attention(conn, &cx, &sender, &message)?;
            let seen = involvements::members_among(
                conn,
                child,
                &recipients,
                policy::involvement_visible_sql(&reader, "involvements"),
            )?;
            events::record(
                conn,
                reader.today,
                Change {
                    child_id: child,
                    actor_id: Some(me),
                    involvement_id: Some(sender.id),
                    ..Change::of(ActivityKind::AttentionRaised)
                },
            )?;
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: Some(child),
                    subject_type: Some("involvement"),
                    subject_id: Some(sender.id),
                    // The sender's agency admin reads what the sender was told.
                    details: Some(serde_json::json!({ "recipients": seen.len() })),
                    sealed: Some(serde_json::json!({ "recipients": recipients.len() })),
                    ..AuditEvent::of(AuditAction::AttentionRaised)
                },
            )?;
            Ok(seen.len() as i32)
        })
    })
    .await
}

/// One kind's delivery for a practitioner.
#[derive(Debug, Clone, Copy)]
pub struct Preference {
    pub kind: NotificationKind,
    pub delivery: Delivery,
}

/// A change to one kind's delivery.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreferenceInput {
    pub kind: NotificationKind,
    pub delivery: Delivery,
}

/// The kinds `actor` can receive: a disabled webhook is news for agency admins alone.
fn kinds_for(actor: &Actor) -> impl Iterator<Item = NotificationKind> + '_ {
    NotificationKind::ALL.iter().copied().filter(move |k| {
        *k != NotificationKind::WebhookDisabled || actor.role == crate::domain::Role::AgencyAdmin
    })
}

fn load_preferences(conn: &mut PgConnection, actor: &Actor) -> ServiceResult<Vec<Preference>> {
    let chosen = notifications::preferences_of(conn, actor.practitioner_id)?;
    Ok(kinds_for(actor)
        .map(|kind| Preference {
            kind,
            delivery: chosen
                .iter()
                .find(|(k, _)| k == kind.as_str())
                .and_then(|(_, d)| d.parse().ok())
                .unwrap_or(Delivery::Immediate),
        })
        .collect())
}

/// Every kind with the caller's choice (IMMEDIATE unless changed).
pub async fn preferences(state: &AppState, actor: Actor) -> ServiceResult<Vec<Preference>> {
    crate::db::run(&state.pool, move |conn| load_preferences(conn, &actor)).await
}

/// Changes the caller's choices; raise-attention and invitations always arrive at once.
pub async fn update_preferences(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    input: Vec<PreferenceInput>,
) -> ServiceResult<Vec<Preference>> {
    let fields: Vec<FieldError> = input
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind.always_immediate() && p.delivery != Delivery::Immediate)
        .map(|(i, _)| FieldError::new(format!("{i}.delivery"), "this kind always arrives at once"))
        .collect();
    if !fields.is_empty() {
        return Err(ServiceError::Invalid(fields));
    }
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let changes = input
                .iter()
                .filter(|p| !p.kind.always_immediate())
                .map(|p| (p.kind, p.delivery));
            set_preferences(conn, &actor, &meta, changes, None)?;
            load_preferences(conn, &actor)
        })
    })
    .await
}

/// Records the practitioner's choices of delivery, with their audit event.
fn set_preferences(
    conn: &mut PgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    changes: impl Iterator<Item = (NotificationKind, Delivery)>,
    reason: Option<&str>,
) -> ServiceResult<()> {
    for (kind, delivery) in changes {
        notifications::set_preference(conn, actor.practitioner_id, kind, delivery)?;
    }
    audit::record(
        conn,
        Some(actor),
        meta,
        AuditEvent {
            subject_type: Some("practitioner"),
            subject_id: Some(actor.practitioner_id),
            reason,
            ..AuditEvent::of(AuditAction::NotificationPreferencesUpdated)
        },
    )
}

/// One-click unsubscribe (RFC 8058): turns off every kind of mail the practitioner the token
/// names may turn off (those that always arrive still do), audited as their own change. A
/// token no key of this server signed, or that names nobody, is refused as `token`.
pub async fn unsubscribe(state: &AppState, meta: &RequestMeta, token: &str) -> ServiceResult<()> {
    let refused = || ServiceError::invalid("token", "is not a valid unsubscribe link");
    let practitioner =
        crate::auth::unsubscribe::verify(&state.config, token).ok_or_else(refused)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let row = practitioners::by_ids(conn, &[practitioner])?
                .pop()
                .ok_or_else(refused)?;
            let actor = session::actor_of(&row)?;
            let changes = kinds_for(&actor)
                .filter(|k| !k.always_immediate())
                .map(|k| (k, Delivery::Off));
            set_preferences(conn, &actor, &meta, changes, Some("one-click unsubscribe"))
        })
    })
    .await
}

/// How long an invitation link works.
pub const INVITATION_HOURS: i64 = 72;

/// Creates a one-time first-password link for a new account and queues its email, in the
/// account's own transaction.
pub fn invite(
    conn: &mut PgConnection,
    links: &Links,
    practitioner: &PractitionerRow,
) -> ServiceResult<()> {
    let secret = new_refresh_token();
    invitations::insert(
        conn,
        practitioner.id,
        &secret.digest,
        Utc::now() + chrono::Duration::hours(INVITATION_HOURS),
    )?;
    let content = compose::invitation(
        links,
        &practitioner.display_name,
        &secret.token,
        INVITATION_HOURS,
    );
    outbox::enqueue_personal(conn, NotificationKind::Invitation, practitioner.id, content)?;
    Ok(())
}

/// Sets a first password from an invitation link and signs the practitioner in.
pub async fn set_password(
    state: &AppState,
    meta: &RequestMeta,
    token: String,
    new_password: String,
) -> ServiceResult<Session> {
    if let Err(problem) = password::check_strength(&new_password) {
        return Err(ServiceError::invalid("password", problem));
    }
    let hash = password::off_executor(move || password::hash(&new_password))
        .await
        .and_then(|h| h)
        .map_err(ServiceError::Internal)?;
    let digest = refresh_digest(&token);
    let state_c = state.clone();
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let practitioner = match invitations::lock_by_digest(conn, &digest)? {
                Some((who, expires, None)) if expires > Utc::now() => who,
                _ => {
                    return Err(ServiceError::invalid(
                        "token",
                        "is not valid, or has expired or been used",
                    ))
                }
            };
            let row = practitioners::set_password(conn, practitioner, &hash)?.ok_or_else(|| {
                ServiceError::invalid("token", "is not valid, or has expired or been used")
            })?;
            invitations::use_all(conn, practitioner)?;
            let actor = crate::service::session::actor_of(&row)?;
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    subject_type: Some("practitioner"),
                    subject_id: Some(row.id),
                    ..AuditEvent::of(AuditAction::PasswordSetFromInvitation)
                },
            )?;
            session::open_session(
                conn,
                &state_c,
                row,
                Uuid::new_v4(),
                crate::auth::tokens::new_refresh_token(),
            )
        })
    })
    .await
}

/// Messages that could not be delivered, newest first (system admins only).
pub async fn failed(state: &AppState, actor: Actor, first: i32) -> ServiceResult<Vec<FailedRow>> {
    policy::ensure_system_admin(&actor)?;
    let limit = crate::service::page::check_first(first)?;
    crate::db::run(&state.pool, move |conn| {
        Ok(notifications::failed(conn, limit)?)
    })
    .await
}

/// Puts a failed message back in the queue for another round of attempts.
pub async fn retry(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    id: Uuid,
) -> ServiceResult<FailedRow> {
    policy::ensure_system_admin(&actor)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let row = notifications::retry(conn, id)?.ok_or(ServiceError::NotFound)?;
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    subject_type: Some("notification"),
                    subject_id: Some(id),
                    ..AuditEvent::of(AuditAction::NotificationRetried)
                },
            )?;
            Ok(row)
        })
    })
    .await
}
