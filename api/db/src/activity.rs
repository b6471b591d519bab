//! The record of changes to a child's team: feeds the timeline (and notifications).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::domain::ActivityKind;
use crate::models::ActivityRow;
use crate::schema::activity;

/// One change to record, in the same transaction as the change.
#[derive(Debug)]
pub struct Change {
    pub child_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub kind: ActivityKind,
    pub involvement_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub details: Option<serde_json::Value>,
}

impl Change {
    /// A change of `kind`; the caller sets the child and what else it concerns.
    pub fn of(kind: ActivityKind) -> Change {
        Change {
            child_id: Uuid::nil(),
            actor_id: None,
            kind,
            involvement_id: None,
            task_id: None,
            contact_id: None,
            details: None,
        }
    }
}

pub fn record(conn: &mut PgConnection, change: Change) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(activity::table)
        .values((
            activity::id.eq(id),
            activity::child_id.eq(change.child_id),
            activity::actor_id.eq(change.actor_id),
            activity::kind.eq(change.kind.as_str()),
            activity::involvement_id.eq(change.involvement_id),
            activity::task_id.eq(change.task_id),
            activity::contact_id.eq(change.contact_id),
            activity::details.eq(change.details.unwrap_or_else(|| serde_json::json!({}))),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Up to `limit` of `child`'s events that pass `filter` (over `activity`), newest first,
/// older than `before` (time, id) when given.
pub fn page(
    conn: &mut PgConnection,
    child: Uuid,
    filter: BoundSql,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<ActivityRow>> {
    let mut filter = filter;
    if let Some((at, id)) = before {
        filter = filter
            .sql(" AND (activity.at, activity.id) < (")
            .timestamptz(at)
            .sql(", ")
            .uuid(id)
            .sql(")");
    }
    activity::table
        .filter(activity::child_id.eq(child))
        .filter(filter)
        .select(ActivityRow::as_select())
        .order((activity::at.desc(), activity::id.desc()))
        .limit(limit)
        .load(conn)
}
