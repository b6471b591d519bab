//! Contacts: one touch point on an involvement. No free text.

use std::collections::HashMap;

use chrono::Utc;
use diesel::Connection;
use uuid::Uuid;

use crate::auth::RequestMeta;
use crate::db::activity::{self as changes, Change};
use crate::db::models::ContactRow;
use crate::db::{contacts, involvements};
use crate::domain::{ActivityKind, AuditAction};
use crate::domain::{ContactKind, ContactOutcome, Timestamp};
use crate::mail::compose::Links;
use crate::mail::notify;
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::parse_id;
use crate::state::AppState;

/// One contact to record.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordContactInput {
    pub involvement_id: String,
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
    let involvement_id = parse_id("involvementId", &input.involvement_id)?;
    let at = input.at.0;
    let now = Utc::now();
    let past_outcome = matches!(
        input.outcome,
        ContactOutcome::Happened | ContactOutcome::WasNotBrought | ContactOutcome::NoAccess
    );
    if past_outcome && at > now + SKEW {
        return Err(ServiceError::invalid(
            "at",
            "a contact with this outcome cannot be in the future",
        ));
    }
    if at < now - chrono::Duration::days(366 * 5) {
        return Err(ServiceError::invalid("at", "is too far in the past"));
    }
    let meta = meta.clone();
    let links = Links::new(&state.config.public_url);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let inv = crate::service::involvement::lock_for_change(
                conn,
                &reader,
                involvement_id,
                policy::may_record_contact,
            )?;
            if inv.ended_on.is_some() {
                return Err(ServiceError::invalid(
                    "involvementId",
                    "this involvement has ended",
                ));
            }
            let contact = contacts::insert(
                conn,
                involvement_id,
                input.kind,
                input.outcome,
                at,
                reader.actor.practitioner_id,
            )?;
            let id = contact.id;
            let last = match input.outcome {
                ContactOutcome::Happened if inv.last_contact_at.is_none_or(|l| at > l) => Some(at),
                _ => inv.last_contact_at,
            };
            let next = match input.outcome {
                ContactOutcome::Planned if at > now => match inv.next_contact_at {
                    Some(n) if n > now && n <= at => Some(n),
                    _ => Some(at),
                },
                // The planned contact that was next has now happened, or did not.
                _ if inv.next_contact_at.is_some_and(|n| n <= now) => None,
                _ => inv.next_contact_at,
            };
            involvements::set_contact_times(conn, involvement_id, last, next)?;
            changes::record(
                conn,
                Change {
                    child_id: inv.child_id,
                    actor_id: Some(reader.actor.practitioner_id),
                    involvement_id: Some(involvement_id),
                    contact_id: Some(id),
                    details: Some(
                        serde_json::json!({ "kind": input.kind, "outcome": input.outcome }),
                    ),
                    ..Change::of(ActivityKind::ContactRecorded)
                },
            )?;
            if matches!(
                input.outcome,
                ContactOutcome::WasNotBrought | ContactOutcome::NoAccess
            ) {
                let cx = notify::Context {
                    links: &links,
                    today: reader.today,
                    actor: reader.actor.practitioner_id,
                };
                notify::contact_missed(conn, &cx, &inv, input.outcome, at)?;
            }
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: Some(inv.child_id),
                    subject_type: Some("contact"),
                    subject_id: Some(id),
                    ..AuditEvent::of(AuditAction::ContactRecorded)
                },
            )?;
            Ok(contact)
        })
    })
    .await
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
