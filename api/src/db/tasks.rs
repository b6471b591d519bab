//! Tasks on a child's team, and the record of overdue notices sent about them.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::db::bound::BoundSql;
use crate::db::schema::{task_overdue_notices, tasks};
use crate::domain::TaskStatus;

/// Open, assigned tasks due before `today` whose assignee has not been told today: (task,
/// child, assignee, due date).
pub fn overdue_unnoticed(
    conn: &mut PgConnection,
    today: NaiveDate,
) -> QueryResult<Vec<(Uuid, Uuid, Uuid, NaiveDate)>> {
    tasks::table
        .filter(tasks::status.eq(TaskStatus::Open.as_str()))
        .filter(tasks::due_on.lt(today))
        .filter(tasks::assignee_id.is_not_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(
            task_overdue_notices::table
                .filter(task_overdue_notices::task_id.eq(tasks::id))
                .filter(task_overdue_notices::noticed_on.eq(today)),
        )))
        .select((
            tasks::id,
            tasks::child_id,
            tasks::assignee_id.assume_not_null(),
            tasks::due_on.assume_not_null(),
        ))
        .load(conn)
}

/// Records that the assignee of `task` was told on `day` that it is overdue.
pub fn notice_overdue(conn: &mut PgConnection, task: Uuid, day: NaiveDate) -> QueryResult<()> {
    diesel::insert_into(task_overdue_notices::table)
        .values((
            task_overdue_notices::task_id.eq(task),
            task_overdue_notices::noticed_on.eq(day),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the task `id` exists and passes `filter` (over the table `tasks`).
pub fn exists(conn: &mut PgConnection, id: Uuid, filter: BoundSql) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        tasks::table.filter(tasks::id.eq(id)).filter(filter),
    ))
    .get_result(conn)
}
