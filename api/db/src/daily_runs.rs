//! Which daily jobs have run, one row per job and day.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::PgConnection;

use crate::schema::daily_runs;

/// Claims `job` for `day`: true for the one caller that claims it first.
pub fn claim(conn: &mut PgConnection, job: &str, day: NaiveDate) -> QueryResult<bool> {
    let claimed = diesel::insert_into(daily_runs::table)
        .values((daily_runs::job.eq(job), daily_runs::run_on.eq(day)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(claimed == 1)
}
