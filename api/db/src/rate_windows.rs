//! Request counters in fixed windows, one row per bucket and window.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Integer;
use diesel::PgConnection;

use crate::bound::BoundSql;

#[derive(QueryableByName)]
struct Hits {
    #[diesel(sql_type = Integer)]
    hits: i32,
}

/// Counts one hit in `bucket`'s window starting at `start` and returns the window's count so
/// far, this one included. Older windows of the bucket are dropped in the same statement.
pub fn hit(conn: &mut PgConnection, bucket: &str, start: DateTime<Utc>) -> QueryResult<i32> {
    BoundSql::new("WITH gone AS (DELETE FROM rate_windows WHERE bucket = ")
        .text(bucket)
        .sql(" AND window_start < ")
        .timestamptz(start)
        .sql(") INSERT INTO rate_windows (bucket, window_start, hits) VALUES (")
        .text(bucket)
        .sql(", ")
        .timestamptz(start)
        .sql(
            ", 1) ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_windows.hits + 1 \
             RETURNING hits",
        )
        .query()
        .get_result::<Hits>(conn)
        .map(|h| h.hits)
}
