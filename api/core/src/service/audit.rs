//! The audit trail: one append-only row per read or write of personal data, written in the
//! same transaction as the change it describes.

use diesel::PgConnection;
use uuid::Uuid;

use crate::auth::{Actor, RequestMeta};
use crate::db::audit_events::{self, Stamp};
use crate::db::bound::BoundSql;
use crate::db::models::NewAuditEventRow;
use crate::domain::AuditAction;
use crate::service::error::ServiceResult;

pub use crate::db::audit_events::PerRow;

/// One event to record.
#[derive(Debug)]
pub struct AuditEvent<'a> {
    pub action: AuditAction,
    pub child_id: Option<Uuid>,
    pub subject_type: Option<&'a str>,
    pub subject_id: Option<Uuid>,
    pub reason: Option<&'a str>,
    /// What the actor could see: an agency admin reads this (rule 8).
    pub details: Option<serde_json::Value>,
    /// What the actor was not told (e.g. a registration attached to a hidden record): only
    /// system admins read it.
    pub sealed: Option<serde_json::Value>,
}

impl AuditEvent<'_> {
    /// An event of `action`; the caller sets what it concerns.
    pub fn of(action: AuditAction) -> Self {
        AuditEvent {
            action,
            child_id: None,
            subject_type: None,
            subject_id: None,
            reason: None,
            details: None,
            sealed: None,
        }
    }
}

/// Appends an event for `actor` (None for an anonymous caller, e.g. a failed sign-in).
pub fn record(
    conn: &mut PgConnection,
    actor: Option<&Actor>,
    meta: &RequestMeta,
    event: AuditEvent<'_>,
) -> ServiceResult<()> {
    audit_events::insert(
        conn,
        NewAuditEventRow {
            actor_id: actor.map(|a| a.practitioner_id),
            actor_agency_id: actor.map(|a| a.agency_id),
            action: event.action.as_str(),
            child_id: event.child_id,
            subject_type: event.subject_type,
            subject_id: event.subject_id,
            request_id: Some(meta.request_id.as_str()).filter(|s| !s.is_empty()),
            client_addr: meta.client_addr.as_deref(),
            reason: event.reason,
            details: event.details.unwrap_or_else(|| serde_json::json!({})),
            sealed: event.sealed.unwrap_or_else(|| serde_json::json!({})),
        },
    )?;
    Ok(())
}

/// The columns every event of this request by `actor` shares.
pub fn stamp(actor: &Actor, meta: &RequestMeta) -> Stamp {
    Stamp {
        actor_id: actor.practitioner_id,
        agency_id: actor.agency_id,
        request_id: Some(meta.request_id.clone()).filter(|s| !s.is_empty()),
        client_addr: meta.client_addr.clone(),
    }
}

/// An `INSERT` of one `action` event by `actor` per row a statement reads (see
/// [`audit_events::insert_per_row_sql`]).
pub fn record_per_row_sql(
    actor: &Actor,
    meta: &RequestMeta,
    action: AuditAction,
    subject_type: &'static str,
    rows: PerRow<'_>,
) -> BoundSql {
    audit_events::insert_per_row_sql(stamp(actor, meta), action, subject_type, rows)
}
