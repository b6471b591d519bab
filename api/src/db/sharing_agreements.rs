//! Sharing agreements between agencies.

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::db::bound::BoundSql;

#[derive(QueryableByName)]
struct Ids {
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
    ids: Vec<Uuid>,
}

/// The agency ids `query` selects (one uuid column), as one array.
pub fn ids(conn: &mut PgConnection, query: BoundSql) -> QueryResult<Vec<Uuid>> {
    let Ids { ids } = BoundSql::new("SELECT ARRAY(")
        .append(query)
        .sql(") AS ids")
        .query()
        .get_result(conn)?;
    Ok(ids)
}
