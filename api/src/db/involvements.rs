//! Involvements: a practitioner working with a child.

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::db::models::InvolvementRow;
use crate::db::schema::{involvements, practitioners};

/// The active practitioners with an active involvement with `child`, with their agency.
pub fn active_members(conn: &mut PgConnection, child: Uuid) -> QueryResult<Vec<(Uuid, Uuid)>> {
    involvements::table
        .inner_join(practitioners::table.on(practitioners::id.eq(involvements::practitioner_id)))
        .filter(involvements::child_id.eq(child))
        .filter(involvements::ended_on.is_null())
        .filter(practitioners::active.eq(true))
        .select((practitioners::id, practitioners::agency_id))
        .distinct()
        .load(conn)
}

/// Every involvement, active or ended, of `practitioner` with `child`.
pub fn of_practitioner(
    conn: &mut PgConnection,
    child: Uuid,
    practitioner: Uuid,
) -> QueryResult<Vec<InvolvementRow>> {
    involvements::table
        .filter(involvements::child_id.eq(child))
        .filter(involvements::practitioner_id.eq(practitioner))
        .select(InvolvementRow::as_select())
        .load(conn)
}
