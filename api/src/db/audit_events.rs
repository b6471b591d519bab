//! The audit trail's table: append-only rows, inserted one at a time or one per row a
//! statement reads.

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::db::bound::BoundSql;
use crate::db::models::NewAuditEventRow;
use crate::db::schema::audit_events;
use crate::domain::AuditAction;

/// Who acted, and through which request: the columns every event of one request shares.
#[derive(Clone, Debug)]
pub struct Stamp {
    pub actor_id: Uuid,
    pub agency_id: Uuid,
    pub request_id: Option<String>,
    pub client_addr: Option<String>,
}

/// Appends one event.
pub fn insert(conn: &mut PgConnection, row: NewAuditEventRow<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// An `INSERT` of one `action` event whose details are the JSON object `details` computes,
/// for a data-modifying `WITH` clause like [`insert_per_row_sql`]'s.
pub fn insert_one_sql(stamp: Stamp, action: AuditAction, details: BoundSql) -> BoundSql {
    BoundSql::new(
        "INSERT INTO audit_events (actor_id, actor_agency_id, action, request_id, client_addr, \
         details) SELECT ",
    )
    .uuid(stamp.actor_id)
    .sql(", ")
    .uuid(stamp.agency_id)
    .sql(", ")
    .text(action.as_str())
    .sql(", ")
    .optional_text(stamp.request_id)
    .sql(", ")
    .optional_text(stamp.client_addr)
    .sql(", ")
    .append(details)
}

/// Where a read's audit events come from: one per row of `source`, a name in the statement's
/// `WITH` list, whose columns `child` and `subject` name the child and the subject.
pub struct PerRow<'a> {
    pub source: &'a str,
    pub child: &'a str,
    pub subject: &'a str,
}

/// An `INSERT` of one `action` event per row of `rows.source`, for a data-modifying `WITH`
/// clause: the rows read and their events then commit together, in one statement and one
/// round trip, and no row leaves the database without its event. No reason and no details.
pub fn insert_per_row_sql(
    stamp: Stamp,
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
    .uuid(stamp.actor_id)
    .sql(", ")
    .uuid(stamp.agency_id)
    .sql(", ")
    .text(action.as_str())
    .sql(format!(", {source}.{child}, "))
    .text(subject_type)
    .sql(format!(", {source}.{subject}, "))
    .optional_text(stamp.request_id)
    .sql(", ")
    .optional_text(stamp.client_addr)
    .sql(format!(" FROM {source}"))
}
