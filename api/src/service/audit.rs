//! The audit trail: one append-only row per read or write of personal data, written in the
//! same transaction as the change it describes.

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::auth::{Actor, RequestMeta};
use crate::db::bound::BoundSql;
use crate::db::models::NewAuditEventRow;
use crate::db::schema::audit_events;
use crate::domain::AuditAction;
use crate::service::error::ServiceResult;

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
    diesel::insert_into(audit_events::table)
        .values(NewAuditEventRow {
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
        })
        .execute(conn)?;
    Ok(())
}

/// An `INSERT` of one `action` event by `actor` whose details are the JSON object `details`
/// computes, for a data-modifying `WITH` clause like [`record_per_row_sql`]'s.
pub fn record_one_sql(
    actor: &Actor,
    meta: &RequestMeta,
    action: AuditAction,
    details: BoundSql,
) -> BoundSql {
    BoundSql::new(
        "INSERT INTO audit_events (actor_id, actor_agency_id, action, request_id, client_addr, \
         details) SELECT ",
    )
    .uuid(actor.practitioner_id)
    .sql(", ")
    .uuid(actor.agency_id)
    .sql(", ")
    .text(action.as_str())
    .sql(", ")
    .optional_text(request_id(meta))
    .sql(", ")
    .optional_text(meta.client_addr.clone())
    .sql(", ")
    .append(details)
}

fn request_id(meta: &RequestMeta) -> Option<String> {
    Some(meta.request_id.clone()).filter(|s| !s.is_empty())
}

/// Where a read's audit events come from: one per row of `source`, a name in the statement's
/// `WITH` list, whose columns `child` and `subject` name the child and the subject.
pub struct PerRow<'a> {
    pub source: &'a str,
    pub child: &'a str,
    pub subject: &'a str,
}

/// An `INSERT` of one `action` event by `actor` per row of `rows.source`, for a data-modifying
/// `WITH` clause: the rows read and their events then commit together, in one statement and
/// one round trip, and no row leaves the database without its event. Same columns as
/// [`record`], with no reason and no details.
pub fn record_per_row_sql(
    actor: &Actor,
    meta: &RequestMeta,
    action: AuditAction,
    subject_type: &'static str,
    rows: PerRow<'_>,
) -> BoundSql {
    let PerRow {
        source,
        child,
        subject,
    } = rows;
    BoundSql::new(
        "INSERT INTO audit_events (actor_id, actor_agency_id, action, child_id, subject_type, \
         subject_id, request_id, client_addr) SELECT ",
    )
    .uuid(actor.practitioner_id)
    .sql(", ")
    .uuid(actor.agency_id)
    .sql(", ")
    .text(action.as_str())
    .sql(format!(", {source}.{child}, "))
    .text(subject_type)
    .sql(format!(", {source}.{subject}, "))
    .optional_text(request_id(meta))
    .sql(", ")
    .optional_text(meta.client_addr.clone())
    .sql(format!(" FROM {source}"))
}
