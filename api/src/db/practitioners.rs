//! Practitioners: people who work for an agency.

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::db::bound::BoundSql;
use crate::db::schema::{agencies, practitioners};

/// A practitioner with the agencies a subquery names for their agency.
#[derive(QueryableByName)]
pub struct SharingRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub agency_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub role: String,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
    pub sharing: Vec<Uuid>,
}

/// The practitioners `ids` (only active ones when `active_only`), each with the agency ids
/// `sharing` selects, a subquery that may name the practitioner's agency as `p.agency_id`.
pub fn with_sharing(
    conn: &mut PgConnection,
    ids: &[Uuid],
    active_only: bool,
    sharing: BoundSql,
) -> QueryResult<Vec<SharingRow>> {
    BoundSql::new("SELECT p.id, p.agency_id, p.role, ARRAY(")
        .append(sharing)
        .sql(if active_only {
            ") AS sharing FROM practitioners p WHERE p.active AND p.id = ANY("
        } else {
            ") AS sharing FROM practitioners p WHERE p.id = ANY("
        })
        .uuids(ids.to_vec())
        .sql(")")
        .query()
        .load(conn)
}

/// How a message names practitioner `id`: display name, email, phone and agency name.
pub fn card(
    conn: &mut PgConnection,
    id: Uuid,
) -> QueryResult<(String, String, Option<String>, String)> {
    practitioners::table
        .inner_join(agencies::table)
        .filter(practitioners::id.eq(id))
        .select((
            practitioners::display_name,
            practitioners::email,
            practitioners::phone,
            agencies::name,
        ))
        .first(conn)
}
