//! A child's identity details, one row per involvement that recorded them (rule 2).

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::db::bound::BoundSql;

/// The given and family name that `seen`, a lateral subquery over the child `c.id`, selects
/// for `child`; None when it selects nothing.
pub fn seen(
    conn: &mut PgConnection,
    child: Uuid,
    seen: BoundSql,
) -> QueryResult<Option<(String, String)>> {
    #[derive(QueryableByName)]
    struct Names {
        #[diesel(sql_type = diesel::sql_types::Text)]
        given_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        family_name: String,
    }
    let names: Option<Names> =
        BoundSql::new("SELECT s.given_name, s.family_name FROM children c CROSS JOIN LATERAL (")
            .append(seen)
            .sql(") s WHERE c.id = ")
            .uuid(child)
            .query()
            .get_result(conn)
            .optional()?;
    Ok(names.map(|n| (n.given_name, n.family_name)))
}
