//! Sign-in attempts counted per bucket (an account or an address) and window.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;

use crate::bound::BoundSql;
use crate::schema::login_failures;

/// Takes one attempt from `bucket`'s window starting at `window` and returns the window's
/// count, this attempt included. One atomic statement: N attempts at once see N different
/// counts, so at most the limit of them go on to check a password. Older windows are dropped
/// with it.
pub fn take(conn: &mut PgConnection, bucket: &str, window: DateTime<Utc>) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        failures: i32,
    }
    BoundSql::new("WITH gone AS (DELETE FROM login_failures WHERE bucket = ")
        .text(bucket)
        .sql(" AND window_start < ")
        .timestamptz(window)
        .sql(") INSERT INTO login_failures (bucket, window_start, failures) VALUES (")
        .text(bucket)
        .sql(", ")
        .timestamptz(window)
        .sql(
            ", 1) ON CONFLICT (bucket, window_start) \
             DO UPDATE SET failures = login_failures.failures + 1 RETURNING failures",
        )
        .query()
        .get_result::<Taken>(conn)
        .map(|t| i64::from(t.failures))
}

/// Gives back an attempt that turned out to be a success: successes are not failures (the row
/// goes when it reaches zero).
pub fn give_back(conn: &mut PgConnection, bucket: &str, window: DateTime<Utc>) -> QueryResult<()> {
    BoundSql::new("WITH last AS (DELETE FROM login_failures WHERE bucket = ")
        .text(bucket)
        .sql(" AND window_start = ")
        .timestamptz(window)
        .sql(
            " AND failures <= 1) UPDATE login_failures SET failures = failures - 1 WHERE bucket = ",
        )
        .text(bucket)
        .sql(" AND window_start = ")
        .timestamptz(window)
        .sql(" AND failures > 1")
        .query()
        .execute(conn)?;
    Ok(())
}

/// Forgets every counted attempt of `bucket`.
pub fn clear(conn: &mut PgConnection, bucket: &str) -> QueryResult<()> {
    diesel::delete(login_failures::table)
        .filter(login_failures::bucket.eq(bucket))
        .execute(conn)?;
    Ok(())
}
