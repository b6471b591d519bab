//! The audit trail's table: append-only rows, inserted one at a time or one per row a
//! statement reads.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz};
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::domain::AuditAction;
use crate::models::{AuditEventRow, NewAuditEventRow};
use crate::paging::Slice;
use crate::schema::audit_events;

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

/// Appends many events in one statement.
pub fn insert_many(conn: &mut PgConnection, rows: &[NewAuditEventRow<'_>]) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(rows)
        .execute(conn)?;
    Ok(())
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

/// Which events to read: each given field narrows the list.
#[derive(Debug, Default)]
pub struct Filter {
    pub child_id: Option<Uuid>,
    pub practitioner_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page of the events in `scope` that pass `filter`, newest first, in the order taken (see
/// [`Slice`]); cursors are event ids.
pub fn page(
    conn: &mut PgConnection,
    scope: BoundSql,
    filter: &Filter,
    slice: Slice<i64>,
) -> QueryResult<Vec<AuditEventRow>> {
    let mut query = audit_events::table
        .filter(scope)
        .select(AuditEventRow::as_select())
        .limit(slice.fetch())
        .into_boxed();
    query = if slice.from_end {
        query.order(audit_events::id.asc())
    } else {
        query.order(audit_events::id.desc())
    };
    if let Some(child) = filter.child_id {
        query = query.filter(audit_events::child_id.eq(child));
    }
    if let Some(p) = filter.practitioner_id {
        query = query.filter(audit_events::actor_id.eq(p));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::at.lt(to));
    }
    if let Some(id) = slice.after {
        query = query.filter(audit_events::id.lt(id));
    }
    if let Some(id) = slice.before {
        query = query.filter(audit_events::id.gt(id));
    }
    query.load(conn)
}

/// Someone who opened a child's record, and when they last did.
#[derive(Debug, QueryableByName)]
pub struct Viewer {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub practitioner_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub last_viewed_at: DateTime<Utc>,
}

/// Who viewed `child` since `since`, among the events that pass `filter` (over the event `a`),
/// most recent first, at most `limit`.
pub fn viewers(
    conn: &mut PgConnection,
    child: Uuid,
    since: DateTime<Utc>,
    filter: BoundSql,
    limit: i64,
) -> QueryResult<Vec<Viewer>> {
    BoundSql::new(
        "SELECT a.actor_id AS practitioner_id, max(a.at) AS last_viewed_at \
         FROM audit_events a WHERE a.action = ",
    )
    .text(AuditAction::ChildViewed.as_str())
    .sql(" AND a.child_id = ")
    .uuid(child)
    .sql(" AND a.at >= ")
    .timestamptz(since)
    .sql(" AND a.actor_id IS NOT NULL AND ")
    .append(filter)
    .sql(" GROUP BY a.actor_id ORDER BY last_viewed_at DESC, a.actor_id LIMIT ")
    .bigint(limit)
    .query()
    .load(conn)
}

/// One event in the canonical form a seal's digest covers.
#[derive(QueryableByName)]
pub struct Canonical {
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// Every column, as one JSON array's text.
    #[diesel(sql_type = Text)]
    pub canonical: String,
}

/// One event's canonical form: every column, in a fixed order, as jsonb text (which has one
/// spelling per value); the time as microseconds since the epoch.
const CANONICAL: &str = "jsonb_build_array(e.id, (extract(epoch FROM e.at) * 1000000)::bigint, \
     e.actor_id, e.actor_agency_id, e.action, e.child_id, e.subject_type, e.subject_id, \
     e.request_id, e.client_addr, e.reason, e.details, e.sealed)::text";

/// Up to `limit` events recorded in `[from, to)`, after `after` (time, id) when given, in
/// `(at, id)` order, in canonical form.
pub fn canonical(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> QueryResult<Vec<Canonical>> {
    let mut q = BoundSql::new(format!("SELECT e.at, e.id, {CANONICAL} AS canonical "))
        .sql("FROM audit_events e WHERE e.at >= ")
        .timestamptz(from)
        .sql(" AND e.at < ")
        .timestamptz(to);
    if let Some((at, id)) = after {
        q = q
            .sql(" AND (e.at, e.id) > (")
            .timestamptz(at)
            .sql(", ")
            .bigint(id)
            .sql(")");
    }
    q.sql(" ORDER BY e.at, e.id LIMIT ")
        .bigint(limit)
        .query()
        .load(conn)
}
