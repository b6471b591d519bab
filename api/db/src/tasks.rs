//! Tasks on a child's team, and the record of overdue notices sent about them.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::domain::TaskStatus;
use crate::models::{PractitionerRow, TaskRow};
use crate::paging::Slice;
use crate::schema::{practitioners, task_overdue_notices, tasks};

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

/// A new task.
pub struct NewTask<'a> {
    pub child: Uuid,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub assignee: Option<Uuid>,
    pub created_by: Uuid,
    pub due_on: Option<NaiveDate>,
}

/// Inserts a task, open.
pub fn insert(conn: &mut PgConnection, new: NewTask<'_>) -> QueryResult<TaskRow> {
    diesel::insert_into(tasks::table)
        .values((
            tasks::id.eq(Uuid::now_v7()),
            tasks::child_id.eq(new.child),
            tasks::title.eq(new.title),
            tasks::description.eq(new.description),
            tasks::assignee_id.eq(new.assignee),
            tasks::created_by.eq(new.created_by),
            tasks::due_on.eq(new.due_on),
        ))
        .returning(TaskRow::as_returning())
        .get_result(conn)
}

/// The task `id` if it passes `filter` (over `tasks`), locked for an update.
pub fn lock(conn: &mut PgConnection, id: Uuid, filter: BoundSql) -> QueryResult<Option<TaskRow>> {
    tasks::table
        .find(id)
        .filter(filter)
        .select(TaskRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// When the task was closed, and by whom.
pub fn closed(
    conn: &mut PgConnection,
    id: Uuid,
) -> QueryResult<(Option<DateTime<Utc>>, Option<Uuid>)> {
    tasks::table
        .find(id)
        .select((tasks::closed_at, tasks::closed_by))
        .first(conn)
}

/// A task's new state, every field given.
pub struct TaskChange<'a> {
    pub title: &'a str,
    pub description: Option<String>,
    pub assignee: Option<Uuid>,
    pub due_on: Option<NaiveDate>,
    pub status: TaskStatus,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<Uuid>,
}

/// Writes a task's new state and moves its version on.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    change: TaskChange<'_>,
    now: DateTime<Utc>,
) -> QueryResult<TaskRow> {
    diesel::update(tasks::table.find(id))
        .set((
            tasks::title.eq(change.title),
            tasks::description.eq(change.description),
            tasks::assignee_id.eq(change.assignee),
            tasks::due_on.eq(change.due_on),
            tasks::status.eq(change.status.as_str()),
            tasks::closed_at.eq(change.closed_at),
            tasks::closed_by.eq(change.closed_by),
            tasks::version.eq(tasks::version + 1),
            tasks::updated_at.eq(now),
        ))
        .returning(TaskRow::as_returning())
        .get_result(conn)
}

/// The tasks of `children` that pass `filter` (over `tasks`), each with its assignee's
/// profile: by due date (undated last), then creation, then id.
pub fn of_children(
    conn: &mut PgConnection,
    children: &[Uuid],
    filter: BoundSql,
) -> QueryResult<Vec<(TaskRow, Option<PractitionerRow>)>> {
    tasks::table
        .left_join(practitioners::table.on(tasks::assignee_id.eq(practitioners::id.nullable())))
        .filter(tasks::child_id.eq_any(children))
        .filter(filter)
        .select((TaskRow::as_select(), Option::<PractitionerRow>::as_select()))
        .order((
            tasks::due_on.asc().nulls_last(),
            tasks::created_at.asc(),
            tasks::id.asc(),
        ))
        .load(conn)
}

/// Where a page of tasks starts: after the task with this due date, creation time and id.
pub type TaskKey = (Option<NaiveDate>, DateTime<Utc>, Uuid);

/// A page of the tasks assigned to `assignee` that pass `filter` (over `tasks`), by due date
/// (none last), creation and id, in the order taken (see [`Slice`]).
pub fn assigned_to(
    conn: &mut PgConnection,
    assignee: Uuid,
    filter: BoundSql,
    status: Option<TaskStatus>,
    slice: Slice<TaskKey>,
) -> QueryResult<Vec<TaskRow>> {
    let mut filter = filter;
    if let Some(status) = status {
        filter = filter.sql(" AND tasks.status = ").text(status.as_str());
    }
    if let Some(key) = slice.after {
        filter = filter.sql(" AND ").append(beyond(key, true));
    }
    if let Some(key) = slice.before {
        filter = filter.sql(" AND ").append(beyond(key, false));
    }
    let query = tasks::table
        .filter(tasks::assignee_id.eq(assignee))
        .filter(filter)
        .select(TaskRow::as_select())
        .limit(slice.fetch())
        .into_boxed();
    if slice.from_end {
        query.order((
            tasks::due_on.desc().nulls_first(),
            tasks::created_at.desc(),
            tasks::id.desc(),
        ))
    } else {
        query.order((
            tasks::due_on.asc().nulls_last(),
            tasks::created_at.asc(),
            tasks::id.asc(),
        ))
    }
    .load(conn)
}

/// The tasks after (`later`) or before the key in the order of [`assigned_to`], where a task
/// with no due date comes after every dated one.
fn beyond((due, created, id): TaskKey, later: bool) -> BoundSql {
    let op = if later { ">" } else { "<" };
    let tie = BoundSql::new(format!("(tasks.created_at, tasks.id) {op} ("))
        .timestamptz(created)
        .sql(", ")
        .uuid(id)
        .sql(")");
    match (due, later) {
        (Some(due), true) => BoundSql::new("(tasks.due_on > ")
            .date(due)
            .sql(" OR tasks.due_on IS NULL OR (tasks.due_on = ")
            .date(due)
            .sql(" AND ")
            .append(tie)
            .sql("))"),
        (Some(due), false) => BoundSql::new("(tasks.due_on < ")
            .date(due)
            .sql(" OR (tasks.due_on = ")
            .date(due)
            .sql(" AND ")
            .append(tie)
            .sql("))"),
        (None, true) => BoundSql::new("tasks.due_on IS NULL AND ").append(tie),
        (None, false) => BoundSql::new("(tasks.due_on IS NOT NULL OR (tasks.due_on IS NULL AND ")
            .append(tie)
            .sql("))"),
    }
}

/// The tasks `ids` that pass `filter` (over `tasks`).
pub fn by_ids(
    conn: &mut PgConnection,
    ids: &[Uuid],
    filter: BoundSql,
) -> QueryResult<Vec<TaskRow>> {
    tasks::table
        .filter(tasks::id.eq_any(ids))
        .filter(filter)
        .select(TaskRow::as_select())
        .load(conn)
}
