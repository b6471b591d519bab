//! GraphQL documents by their SHA-256, shared by every process.

use diesel::prelude::*;
use diesel::PgConnection;

use crate::schema::persisted_queries;

/// The documents of `hashes` that are known (registered ones only, when `registered_only`):
/// (hash, document).
pub fn known(
    conn: &mut PgConnection,
    hashes: &[String],
    registered_only: bool,
) -> QueryResult<Vec<(String, String)>> {
    let mut query = persisted_queries::table
        .filter(persisted_queries::hash.eq_any(hashes))
        .select((persisted_queries::hash, persisted_queries::query))
        .into_boxed();
    if registered_only {
        query = query.filter(persisted_queries::registered.eq(true));
    }
    query.load(conn)
}

/// Keeps documents by hash (a registration marks them for the allow-list). Returns how many
/// were new.
pub fn remember(
    conn: &mut PgConnection,
    documents: &[(String, String)],
    registered: bool,
) -> QueryResult<usize> {
    let rows: Vec<_> = documents
        .iter()
        .map(|(hash, query)| {
            (
                persisted_queries::hash.eq(hash),
                persisted_queries::query.eq(query),
                persisted_queries::registered.eq(registered),
            )
        })
        .collect();
    if registered {
        diesel::insert_into(persisted_queries::table)
            .values(&rows)
            .on_conflict(persisted_queries::hash)
            .do_update()
            .set(persisted_queries::registered.eq(true))
            .execute(conn)
    } else {
        diesel::insert_into(persisted_queries::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(conn)
    }
}
