//! Contacts: one touch point on an involvement.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::domain::{ContactKind, ContactOutcome};
use crate::models::ContactRow;
use crate::schema::contacts;

/// Records a contact on `involvement`, by `recorded_by`.
pub fn insert(
    conn: &mut PgConnection,
    involvement: Uuid,
    kind: ContactKind,
    outcome: ContactOutcome,
    at: DateTime<Utc>,
    recorded_by: Uuid,
) -> QueryResult<ContactRow> {
    diesel::insert_into(contacts::table)
        .values((
            contacts::id.eq(Uuid::now_v7()),
            contacts::involvement_id.eq(involvement),
            contacts::kind.eq(kind.as_str()),
            contacts::outcome.eq(outcome.as_str()),
            contacts::at.eq(at),
            contacts::recorded_by.eq(recorded_by),
        ))
        .returning(ContactRow::as_returning())
        .get_result(conn)
}

/// The newest `first` contacts of each of `involvements` that passes `filter` (over the
/// involvement `v`), by involvement, newest first.
pub fn newest_of(
    conn: &mut PgConnection,
    involvements: Vec<Uuid>,
    filter: BoundSql,
    first: i64,
) -> QueryResult<Vec<ContactRow>> {
    // One index range scan per involvement, however many contacts each has.
    BoundSql::new(
        "SELECT c.id, c.involvement_id, c.kind, c.outcome, c.at FROM involvements v \
         CROSS JOIN LATERAL (SELECT * FROM contacts WHERE contacts.involvement_id = v.id \
         ORDER BY contacts.at DESC, contacts.id DESC LIMIT ",
    )
    .bigint(first)
    .sql(") c WHERE v.id = ANY(")
    .uuids(involvements)
    .sql(") AND ")
    .append(filter)
    .sql(" ORDER BY c.involvement_id, c.at DESC, c.id DESC")
    .query()
    .load(conn)
}

/// The contact `id`.
pub fn get(conn: &mut PgConnection, id: Uuid) -> QueryResult<ContactRow> {
    contacts::table
        .find(id)
        .select(ContactRow::as_select())
        .first(conn)
}

/// The contacts `ids`, in one statement.
pub fn by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<ContactRow>> {
    contacts::table
        .filter(contacts::id.eq_any(ids))
        .select(ContactRow::as_select())
        .load(conn)
}
