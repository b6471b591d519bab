//! The record of changes to a child's team: feeds the timeline (and notifications).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::domain::ActivityKind;
use crate::models::ActivityRow;
use crate::paging::Slice;
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

/// Records `change`, with a snapshot of the involvement, task and contact it concerns as they
/// stand now (after the change, in its transaction): what its event says, however they change
/// later.
pub fn record(conn: &mut PgConnection, change: Change) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    let details = change.details.unwrap_or_else(|| serde_json::json!({}));
    BoundSql::new(
        "INSERT INTO activity (id, child_id, actor_id, kind, involvement_id, task_id, contact_id, \
         details, snapshot) SELECT v.id, v.child_id, v.actor_id, v.kind, v.involvement_id, \
         v.task_id, v.contact_id, v.details::jsonb, jsonb_build_object(\
         'involvement', (SELECT to_jsonb(i) FROM involvements i WHERE i.id = coalesce(v.involvement_id, \
         (SELECT c.involvement_id FROM contacts c WHERE c.id = v.contact_id))), \
         'task', (SELECT to_jsonb(t) FROM tasks t WHERE t.id = v.task_id), \
         'contact', (SELECT to_jsonb(c) FROM contacts c WHERE c.id = v.contact_id)) \
         FROM (SELECT ",
    )
    .uuid(id)
    .sql("::uuid AS id, ")
    .uuid(change.child_id)
    .sql("::uuid AS child_id, ")
    .optional_uuid(change.actor_id)
    .sql("::uuid AS actor_id, ")
    .text(change.kind.as_str())
    .sql("::text AS kind, ")
    .optional_uuid(change.involvement_id)
    .sql("::uuid AS involvement_id, ")
    .optional_uuid(change.task_id)
    .sql("::uuid AS task_id, ")
    .optional_uuid(change.contact_id)
    .sql("::uuid AS contact_id, ")
    .text(details.to_string())
    .sql("::text AS details) v")
    .query()
    .execute(conn)?;
    Ok(id)
}

/// A page of `child`'s events that pass `filter` (over `activity`), newest first, in the order
/// taken (see [`Slice`]); cursors are (time, id).
pub fn page(
    conn: &mut PgConnection,
    child: Uuid,
    filter: BoundSql,
    slice: Slice<(DateTime<Utc>, Uuid)>,
) -> QueryResult<Vec<ActivityRow>> {
    let mut filter = filter;
    // Newest first: rows after a cursor are older.
    let fetch = slice.fetch();
    for (op, bound) in [("<", slice.after), (">", slice.before)] {
        if let Some((at, id)) = bound {
            filter = filter
                .sql(format!(" AND (activity.at, activity.id) {op} ("))
                .timestamptz(at)
                .sql(", ")
                .uuid(id)
                .sql(")");
        }
    }
    let query = activity::table
        .filter(activity::child_id.eq(child))
        .filter(filter)
        .select(ActivityRow::as_select())
        .limit(fetch)
        .into_boxed();
    if slice.from_end {
        query.order((activity::at.asc(), activity::id.asc()))
    } else {
        query.order((activity::at.desc(), activity::id.desc()))
    }
    .load(conn)
}

/// A place in the feed of all changes: the writing transaction's id, then the row's insertion
/// number. Every row after a place is either visible already or written by a transaction that
/// had not ended when the place was read, so following places never passes a row over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeedPosition {
    pub txid: i64,
    pub seq: i64,
}

/// Rows of transactions that have all ended: older than the oldest one still running.
const ENDED: &str = "activity.txid < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint";

fn after_sql(after: FeedPosition) -> BoundSql {
    BoundSql::new("(activity.txid, activity.seq) > (")
        .bigint(after.txid)
        .sql(", ")
        .bigint(after.seq)
        .sql(")")
}

/// A row of the feed: the change, its place, and its snapshot.
#[derive(Clone, Debug)]
pub struct FeedRow {
    pub row: ActivityRow,
    pub position: FeedPosition,
    /// `involvement`, `task` and `contact` as they were just after the change (rows recorded
    /// before snapshots were kept have none).
    pub snapshot: Option<serde_json::Value>,
}

type FeedColumns = (ActivityRow, i64, i64, Option<serde_json::Value>);

/// What a feed row selects.
fn feed_columns() -> (
    diesel::helper_types::AsSelect<ActivityRow, diesel::pg::Pg>,
    activity::txid,
    activity::seq,
    activity::snapshot,
) {
    (
        ActivityRow::as_select(),
        activity::txid,
        activity::seq,
        activity::snapshot,
    )
}

impl From<FeedColumns> for FeedRow {
    fn from((row, txid, seq, snapshot): FeedColumns) -> FeedRow {
        FeedRow {
            row,
            position: FeedPosition { txid, seq },
            snapshot,
        }
    }
}

/// Up to `limit` ended rows after `after` (and up to `upto`, when given) that pass `filter`
/// (over `activity`), in feed order.
pub fn feed(
    conn: &mut PgConnection,
    after: FeedPosition,
    upto: Option<FeedPosition>,
    filter: BoundSql,
    limit: i64,
) -> QueryResult<Vec<FeedRow>> {
    let mut filter = filter
        .sql(" AND ")
        .append(after_sql(after))
        .sql(" AND ")
        .sql(ENDED);
    if let Some(upto) = upto {
        filter = filter
            .sql(" AND (activity.txid, activity.seq) <= (")
            .bigint(upto.txid)
            .sql(", ")
            .bigint(upto.seq)
            .sql(")");
    }
    let rows: Vec<FeedColumns> = activity::table
        .filter(filter)
        .select(feed_columns())
        .order((activity::txid, activity::seq))
        .limit(limit)
        .load(conn)?;
    Ok(rows.into_iter().map(FeedRow::from).collect())
}

/// The change `id` as a row of the feed, if it passes `filter` (over `activity`): how a change
/// is looked at by each subscriber within its own transaction.
pub fn one(conn: &mut PgConnection, id: Uuid, filter: BoundSql) -> QueryResult<Option<FeedRow>> {
    activity::table
        .filter(activity::id.eq(id))
        .filter(filter)
        .select(feed_columns())
        .first::<FeedColumns>(conn)
        .optional()
        .map(|row| row.map(FeedRow::from))
}

/// The place of the change `id` in the feed, if there is such a change.
pub fn position_of(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<FeedPosition>> {
    activity::table
        .find(id)
        .select((activity::txid, activity::seq))
        .first::<(i64, i64)>(conn)
        .optional()
        .map(|p| p.map(|(txid, seq)| FeedPosition { txid, seq }))
}

/// Where a reader that wants only what happens from now on starts: before every row of a
/// transaction still running or yet to start. (Rows of transactions that ended already but
/// are later in the order may be read once more: readers keep their own places.)
pub fn now_position(conn: &mut PgConnection) -> QueryResult<FeedPosition> {
    #[derive(QueryableByName)]
    struct Xmin {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        xmin: i64,
    }
    let x: Xmin =
        BoundSql::new("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint AS xmin")
            .query()
            .get_result(conn)?;
    Ok(FeedPosition {
        txid: x.xmin - 1,
        seq: i64::MAX,
    })
}

/// The children of up to `limit` ended rows after `after`, in feed order, with their places.
pub fn children_after(
    conn: &mut PgConnection,
    after: FeedPosition,
    limit: i64,
) -> QueryResult<Vec<(Uuid, FeedPosition)>> {
    let rows: Vec<(Uuid, i64, i64)> = activity::table
        .filter(after_sql(after).sql(" AND ").sql(ENDED))
        .select((activity::child_id, activity::txid, activity::seq))
        .order((activity::txid, activity::seq))
        .limit(limit)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(child, txid, seq)| (child, FeedPosition { txid, seq }))
        .collect())
}
