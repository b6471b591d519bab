//! Agencies: the organisations practitioners work for.

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::functions::lower;
use crate::models::{AgencyRow, NewAgencyRow};
use crate::schema::agencies;

/// The unique index on agency names.
pub const NAME_TAKEN: &str = "agencies_name_key";

/// Inserts an agency; a name already taken violates [`NAME_TAKEN`].
pub fn insert(conn: &mut PgConnection, new: NewAgencyRow<'_>) -> QueryResult<AgencyRow> {
    diesel::insert_into(agencies::table)
        .values(new)
        .returning(AgencyRow::as_returning())
        .get_result(conn)
}

/// Every agency, by name.
pub fn all(conn: &mut PgConnection) -> QueryResult<Vec<AgencyRow>> {
    agencies::table
        .select(AgencyRow::as_select())
        .order((agencies::name.asc(), agencies::id.asc()))
        .load(conn)
}

/// The agencies `ids`.
pub fn by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<AgencyRow>> {
    agencies::table
        .filter(agencies::id.eq_any(ids))
        .select(AgencyRow::as_select())
        .load(conn)
}

/// Whether the agency `id` is a sensitive service.
pub fn is_sensitive(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    agencies::table
        .find(id)
        .select(agencies::sensitive)
        .first(conn)
}

/// Whether the agency `id` exists.
pub fn exists(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(agencies::table.find(id))).get_result(conn)
}

/// The agency named `name` (any case, surrounding spaces ignored).
pub fn by_name(conn: &mut PgConnection, name: &str) -> QueryResult<Option<Uuid>> {
    agencies::table
        .filter(lower(agencies::name).eq(name.trim().to_lowercase()))
        .select(agencies::id)
        .first(conn)
        .optional()
}
