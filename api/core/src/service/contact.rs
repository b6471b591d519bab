//! Contacts: one touch point on an involvement. No free text.

use std::collections::HashMap;

use chrono::Utc;
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::auth::RequestMeta;
use crate::db::activity::Change;
use crate::db::models::ContactRow;
use crate::db::{contacts, involvements};
use crate::domain::{ActivityKind, AuditAction};
use crate::domain::{ContactKind, ContactOutcome, Timestamp};
use crate::mail::compose::Links;
use crate::mail::notify;
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::events;
use crate::state::AppState;

/// One contact to record.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordContactInput {
    pub involvement_id: Uuid,
    pub kind: ContactKind,
    pub outcome: ContactOutcome,
    pub at: Timestamp,
}

/// How far ahead of the server's clock a past contact may be stamped (clock skew on phones).
const SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Records a contact on the caller's own, active involvement, keeping its last and next contact
/// true: a contact that happened moves `lastContactAt` forward; a planned one in the future
/// becomes `nextContactAt` when it is sooner than the one known (or that one has passed).
pub async fn record_contact(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    input: RecordContactInput,
) -> ServiceResult<ContactRow> {
    let involvement_id = input.involvement_id;
    let contact = Contact {
        kind: input.kind,
        outcome: input.outcome,
        at: input.at.0,
    };
    check_time(&contact, "at")?;
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            record_in(
                conn,
                &reader,
                &meta,
                &links,
                involvement_id,
                &contact,
                policy::may_record_contact,
            )
        })
    })
    .await
}

/// One contact: what kind, how it went, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub kind: ContactKind,
    pub outcome: ContactOutcome,
    pub at: chrono::DateTime<Utc>,
}

/// A contact that happened (or did not) cannot be in the future, beyond clock skew; none may
/// be more than five years old.
pub fn check_time(contact: &Contact, field: &str) -> ServiceResult<()> {
    let now = Utc::now();
    let past_outcome = matches!(
        contact.outcome,
        ContactOutcome::Happened | ContactOutcome::WasNotBrought | ContactOutcome::NoAccess
    );
    if past_outcome && contact.at > now + SKEW {
        return Err(ServiceError::invalid(
            field,
            "a contact with this outcome cannot be in the future",
        ));
    }
    if contact.at < now - chrono::Duration::days(366 * 5) {
        return Err(ServiceError::invalid(field, "is too far in the past"));
    }
    Ok(())
}

/// Records `contact` on the active involvement `involvement_id`, which `may` must let the
/// reader record on, inside the caller's transaction: the contact, the involvement's last and
/// next contact, the timeline, the notices of a missed contact and the audit event.
pub fn record_in(
    conn: &mut PgConnection,
    reader: &Reader,
    meta: &RequestMeta,
    links: &Links,
    involvement_id: Uuid,
    contact: &Contact,
    may: impl Fn(&crate::auth::Actor, &crate::db::models::InvolvementRow) -> bool,
) -> ServiceResult<ContactRow> {
    let now = Utc::now();
    let at = contact.at;
    let inv = crate::service::involvement::lock_for_change(conn, reader, involvement_id, may)?;
    if inv.ended_on.is_some() {
        return Err(ServiceError::invalid(
            "involvementId",
            "this involvement has ended",
        ));
    }
    let row = contacts::insert(
        conn,
        involvement_id,
        contact.kind,
        contact.outcome,
        at,
        reader.actor.practitioner_id,
    )?;
    let id = row.id;
    let last = match contact.outcome {
        ContactOutcome::Happened if inv.last_contact_at.is_none_or(|l| at > l) => Some(at),
        _ => inv.last_contact_at,
    };
    let next = match contact.outcome {
        ContactOutcome::Planned if at > now => match inv.next_contact_at {
            Some(n) if n > now && n <= at => Some(n),
            _ => Some(at),
        },
        // The planned contact that was next has now happened, or did not.
        _ if inv.next_contact_at.is_some_and(|n| n <= now) => None,
        _ => inv.next_contact_at,
    };
    involvements::set_contact_times(conn, involvement_id, last, next)?;
    events::record(
        conn,
        reader.today,
        Change {
            child_id: inv.child_id,
            actor_id: Some(reader.actor.practitioner_id),
            involvement_id: Some(involvement_id),
            contact_id: Some(id),
            details: Some(serde_json::json!({ "kind": contact.kind, "outcome": contact.outcome })),
            ..Change::of(ActivityKind::ContactRecorded)
        },
    )?;
    if matches!(
        contact.outcome,
        ContactOutcome::WasNotBrought | ContactOutcome::NoAccess
    ) {
        let cx = notify::Context {
            links,
            today: reader.today,
            actor: reader.actor.practitioner_id,
        };
        notify::contact_missed(conn, &cx, &inv, contact.outcome, at)?;
    }
    audit::record(
        conn,
        Some(&reader.actor),
        meta,
        AuditEvent {
            child_id: Some(inv.child_id),
            subject_type: Some("contact"),
            subject_id: Some(id),
            ..AuditEvent::of(AuditAction::ContactRecorded)
        },
    )?;
    Ok(row)
}

/// The newest `first` contacts of each involvement the reader may see on a child whose record
/// they may read, newest first.
pub async fn contacts_of(
    state: &AppState,
    reader: Reader,
    involvement_ids: Vec<Uuid>,
    first: i64,
) -> ServiceResult<HashMap<Uuid, Vec<ContactRow>>> {
    crate::db::run(&state.pool, move |conn| {
        let visible = policy::involvement_visible_sql(&reader, "v")
            .sql(" AND ")
            .append(policy::child_readable_sql(&reader, "v.child_id"));
        let rows = contacts::newest_of(conn, involvement_ids, visible, first)?;
        let mut out: HashMap<Uuid, Vec<ContactRow>> = HashMap::new();
        for row in rows {
            out.entry(row.involvement_id).or_default().push(row);
        }
        Ok(out)
    })
    .await
}
