//! Tasks: agreed actions on a child, optionally assigned to a team member (rule 6).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;
use validator::Validate;

use crate::auth::RequestMeta;
use crate::db::activity::Change;
use crate::db::involvements;
use crate::db::models::{InvolvementRow, PractitionerRow, TaskRow};
use crate::db::tasks::{self, NewTask, TaskChange, TaskKey};
use crate::domain::{ActivityKind, AuditAction};
use crate::domain::{Date, TaskStatus};
use crate::mail::compose::Links;
use crate::mail::notify;
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::child::invalid_unless_empty;
use crate::service::error::{
    validate_not_blank, FieldError, ServiceError, ServiceResult, VersionedError,
};
use crate::service::events;
use crate::service::page::{self, Page, PageRequest, Slice};
use crate::service::{parse_id_noting, trimmed};
use crate::state::AppState;

/// A new task on a child.
#[derive(Debug, Clone, Validate, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTaskInput {
    pub child_id: String,
    #[validate(length(min = 1, max = 200), custom(function = validate_not_blank))]
    pub title: String,
    #[validate(length(max = 2000))]
    pub description: Option<String>,
    pub assignee_id: Option<String>,
    pub due_on: Option<Date>,
}

/// Changes to a task; absent fields stay as they are.
#[derive(Debug, Clone, Validate, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTaskInput {
    pub id: String,
    pub expected_version: i32,
    #[validate(length(min = 1, max = 200), custom(function = validate_not_blank))]
    pub title: Option<String>,
    #[validate(length(max = 2000))]
    pub description: Option<String>,
    pub assignee_id: Option<String>,
    pub due_on: Option<Date>,
    pub status: Option<TaskStatus>,
}

/// A new task, its IDs and dates parsed: what [`create_task`] acts on.
#[derive(Debug, Clone)]
pub struct CreateTask {
    pub child_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub due_on: Option<NaiveDate>,
}

impl TryFrom<CreateTaskInput> for CreateTask {
    type Error = ServiceError;

    /// Every field's problems in one answer.
    fn try_from(input: CreateTaskInput) -> ServiceResult<CreateTask> {
        let mut problems = Vec::new();
        let child_id = parse_id_noting(&mut problems, "childId", &input.child_id);
        let (assignee_id, due_on) =
            assignee_and_due(&mut problems, input.assignee_id.as_deref(), input.due_on);
        invalid_unless_empty(input.validate(), problems)?;
        Ok(CreateTask {
            child_id,
            title: input.title,
            description: input.description,
            assignee_id,
            due_on,
        })
    }
}

/// The assignee and due date that new tasks and changes to one both carry, parsed.
fn assignee_and_due(
    problems: &mut Vec<FieldError>,
    assignee: Option<&str>,
    due: Option<Date>,
) -> (Option<Uuid>, Option<NaiveDate>) {
    let assignee = assignee.map(|a| parse_id_noting(problems, "assigneeId", a));
    let due = due.map(|d| d.0);
    check_due("dueOn", due, problems);
    (assignee, due)
}

/// Changes to a task, its IDs and dates parsed: what [`update_task`] acts on.
#[derive(Debug, Clone)]
pub struct UpdateTask {
    pub id: Uuid,
    pub expected_version: i32,
    pub title: Option<String>,
    pub description: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub due_on: Option<NaiveDate>,
    pub status: Option<TaskStatus>,
}

impl TryFrom<UpdateTaskInput> for UpdateTask {
    type Error = ServiceError;

    /// Every field's problems in one answer.
    fn try_from(input: UpdateTaskInput) -> ServiceResult<UpdateTask> {
        let mut problems = Vec::new();
        let id = parse_id_noting(&mut problems, "id", &input.id);
        let (assignee_id, due_on) =
            assignee_and_due(&mut problems, input.assignee_id.as_deref(), input.due_on);
        invalid_unless_empty(input.validate(), problems)?;
        Ok(UpdateTask {
            id,
            expected_version: input.expected_version,
            title: input.title,
            description: input.description,
            assignee_id,
            due_on,
            status: input.status,
        })
    }
}

/// Whether `practitioner` is an active team member of `child` whose involvement the reader
/// may see (a hidden one answers like a stranger).
fn visible_member(
    conn: &mut PgConnection,
    reader: &Reader,
    child: Uuid,
    practitioner: Uuid,
) -> ServiceResult<bool> {
    Ok(involvements::has_active(
        conn,
        child,
        practitioner,
        policy::involvement_visible_sql(reader, "involvements"),
    )?)
}

/// Rule 6 on an assignment: the assignee is an active team member the changer may see, and
/// everyone the task would name (creator, assignee) and the changer can all see one another.
/// Every refusal is the same answer as for an assignee who is not on the team: a different one
/// would betray whose involvement is hidden from whom.
fn check_assignment(
    conn: &mut PgConnection,
    changer: &Reader,
    child: Uuid,
    assignee: Uuid,
    creator: Uuid,
) -> ServiceResult<()> {
    let refused = || ServiceError::invalid("assigneeId", "is not a member of this child's team");
    if !visible_member(conn, changer, child, assignee)? {
        return Err(refused());
    }
    let mut people = vec![changer.actor.practitioner_id, creator, assignee];
    people.sort();
    people.dedup();
    let others: Vec<Uuid> = people
        .iter()
        .copied()
        .filter(|p| *p != changer.actor.practitioner_id)
        .collect();
    let readers = crate::service::readers::load_many(conn, &others, changer.today)?;
    let mut views = vec![changer.clone()];
    views.extend(readers);
    for view in &views {
        let rest: Vec<Uuid> = people
            .iter()
            .copied()
            .filter(|p| *p != view.actor.practitioner_id)
            .collect();
        if !crate::db::holds(conn, policy::sees_all_of_sql(view, child, rest))? {
            return Err(refused());
        }
    }
    Ok(())
}

/// Rule 6 on a reassignment: everyone on the team who may see the task now may still see it
/// afterwards. A task that vanished from someone's screens would tell them that it now names
/// a practitioner hidden from them; the refusal is the answer for a stranger as assignee.
fn check_nobody_loses_sight(
    conn: &mut PgConnection,
    changer: &Reader,
    task: &TaskRow,
    new_assignee: Uuid,
) -> ServiceResult<()> {
    let all = involvements::of_child(conn, task.child_id)?;
    let of = |p: Uuid| -> Vec<InvolvementRow> {
        all.iter()
            .filter(|i| i.practitioner_id == p)
            .cloned()
            .collect()
    };
    let creator = of(task.created_by);
    let before = task.assignee_id.map(of).unwrap_or_default();
    let after = of(new_assignee);
    let mut members: Vec<Uuid> = all
        .iter()
        .filter(|i| i.ended_on.is_none())
        .map(|i| i.practitioner_id)
        .collect();
    members.sort();
    members.dedup();
    for member in crate::service::readers::load_many(conn, &members, changer.today)? {
        let saw = member.sees_all(&creator) && member.sees_all(&before);
        if saw && !member.sees_all(&after) {
            return Err(ServiceError::invalid(
                "assigneeId",
                "is not a member of this child's team",
            ));
        }
    }
    Ok(())
}

fn check_due(field: &str, due: Option<NaiveDate>, extra: &mut Vec<FieldError>) {
    if let Some(d) = due {
        if d.year_ce().1 < 2000 || d.year_ce().1 > 2200 {
            extra.push(FieldError::new(field, "is not a plausible date"));
        }
    }
}

use chrono::Datelike;

/// Creates a task on a child the caller is a team member of.
pub async fn create_task(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    input: CreateTask,
) -> ServiceResult<TaskRow> {
    let child_id = input.child_id;
    let assignee = input.assignee_id;
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let me = reader.actor.practitioner_id;
            if !involvements::is_active_member(conn, child_id, me)? {
                return Err(ServiceError::NotFound);
            }
            if let Some(a) = assignee {
                check_assignment(conn, &reader, child_id, a, me)?;
            }
            let task = tasks::insert(
                conn,
                NewTask {
                    child: child_id,
                    title: input.title.trim(),
                    description: trimmed(input.description.as_deref()),
                    assignee,
                    created_by: me,
                    due_on: input.due_on,
                },
            )?;
            let id = task.id;
            events::record(
                conn,
                reader.today,
                Change {
                    child_id,
                    actor_id: Some(me),
                    task_id: Some(id),
                    ..Change::of(ActivityKind::TaskCreated)
                },
            )?;
            if let Some(a) = assignee {
                let cx = notify::Context {
                    links: &links,
                    today: reader.today,
                    actor: me,
                };
                notify::task_assigned(conn, &cx, &task, a)?;
            }
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: Some(child_id),
                    subject_type: Some("task"),
                    subject_id: Some(id),
                    ..AuditEvent::of(AuditAction::TaskCreated)
                },
            )?;
            Ok(task)
        })
    })
    .await
}

/// Changes, completes or cancels a task (its creator or assignee).
pub async fn update_task(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    input: UpdateTask,
) -> Result<TaskRow, VersionedError> {
    let id = input.id;
    let assignee = input.assignee_id;
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let row = tasks::lock(conn, id, policy::task_readable_sql(&reader, "tasks"))?
                .ok_or(ServiceError::NotFound)?;
            if !policy::may_update_task(&reader.actor, &row) {
                return Err(ServiceError::Forbidden.into());
            }
            if row.version != input.expected_version {
                return Err(VersionedError::Stale {
                    current_version: row.version,
                });
            }
            if let Some(a) = assignee.filter(|a| Some(*a) != row.assignee_id) {
                check_assignment(conn, &reader, row.child_id, a, row.created_by)?;
                check_nobody_loses_sight(conn, &reader, &row, a)?;
            }
            let was: TaskStatus = row.status.parse().map_err(anyhow::Error::from)?;
            let status = input.status.unwrap_or(was);
            let closing = status != TaskStatus::Open && was == TaskStatus::Open;
            let reopening = status == TaskStatus::Open && was != TaskStatus::Open;
            let now = Utc::now();
            let (closed_at, closed_by): (Option<DateTime<Utc>>, Option<Uuid>) = if closing {
                (Some(now), Some(reader.actor.practitioner_id))
            } else if reopening {
                (None, None)
            } else {
                tasks::closed(conn, id)?
            };
            let updated = tasks::update(
                conn,
                id,
                TaskChange {
                    title: input.title.as_deref().map(str::trim).unwrap_or(&row.title),
                    description: match &input.description {
                        Some(d) => trimmed(Some(d)).map(str::to_owned),
                        None => row.description.clone(),
                    },
                    assignee: assignee.or(row.assignee_id),
                    due_on: input.due_on.or(row.due_on),
                    status,
                    closed_at,
                    closed_by,
                },
                now,
            )?;
            let kind = match (closing, status) {
                (true, TaskStatus::Done) => ActivityKind::TaskCompleted,
                (true, _) => ActivityKind::TaskCancelled,
                _ if reopening => ActivityKind::TaskReopened,
                _ if assignee.is_some() && assignee != row.assignee_id => {
                    ActivityKind::TaskAssigned
                }
                _ => ActivityKind::TaskUpdated,
            };
            let cx = notify::Context {
                links: &links,
                today: reader.today,
                actor: reader.actor.practitioner_id,
            };
            if let Some(new) = assignee.filter(|a| Some(*a) != row.assignee_id) {
                notify::task_assigned(conn, &cx, &updated, new)?;
                if let Some(old) = row.assignee_id {
                    notify::task_unassigned(conn, &cx, &updated, old)?;
                }
            }
            if kind == ActivityKind::TaskCompleted {
                notify::task_completed(conn, &cx, &updated)?;
            }
            events::record(
                conn,
                reader.today,
                Change {
                    child_id: row.child_id,
                    actor_id: Some(reader.actor.practitioner_id),
                    task_id: Some(id),
                    ..Change::of(kind)
                },
            )?;
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: Some(row.child_id),
                    subject_type: Some("task"),
                    subject_id: Some(id),
                    details: Some(serde_json::json!({ "status": status })),
                    ..AuditEvent::of(AuditAction::TaskUpdated)
                },
            )?;
            Ok(updated)
        })
    })
    .await
}

/// A task with its assignee's profile.
#[derive(Clone, Debug)]
pub struct TaskWithAssignee {
    pub task: TaskRow,
    pub assignee: Option<PractitionerRow>,
}

impl From<(TaskRow, Option<PractitionerRow>)> for TaskWithAssignee {
    fn from((task, assignee): (TaskRow, Option<PractitionerRow>)) -> Self {
        TaskWithAssignee { task, assignee }
    }
}

/// Visible tasks of many children at once, assignees included: dueOn (none last), then
/// creation. One statement.
pub async fn tasks_of(
    state: &AppState,
    reader: Reader,
    child_ids: Vec<Uuid>,
) -> ServiceResult<HashMap<Uuid, Vec<TaskWithAssignee>>> {
    crate::db::run(&state.pool, move |conn| tasks_on(conn, &reader, child_ids)).await
}

/// [`tasks_of`] on a connection the caller holds.
pub fn tasks_on(
    conn: &mut PgConnection,
    reader: &Reader,
    child_ids: Vec<Uuid>,
) -> ServiceResult<HashMap<Uuid, Vec<TaskWithAssignee>>> {
    let rows = tasks::of_children(conn, &child_ids, policy::task_readable_sql(reader, "tasks"))?;
    let mut out: HashMap<Uuid, Vec<TaskWithAssignee>> = HashMap::new();
    for row in rows {
        out.entry(row.0.child_id).or_default().push(row.into());
    }
    Ok(out)
}

/// Tasks assigned to the caller, in the contract's order, a page at a time.
pub async fn my_tasks(
    state: &AppState,
    reader: Reader,
    status: Option<TaskStatus>,
    request: &PageRequest,
) -> ServiceResult<Page<TaskRow>> {
    let slice: Slice<TaskKey> = request.slice()?;
    crate::db::run(&state.pool, move |conn| {
        let rows = tasks::assigned_to(
            conn,
            reader.actor.practitioner_id,
            policy::task_readable_sql(&reader, "tasks"),
            status,
            slice.clone(),
        )?;
        Ok(page::paginate(rows, &slice, |t: &TaskRow| {
            (t.due_on, t.created_at, t.id)
        }))
    })
    .await
}

/// Tasks by id, each only if the reader may see it.
pub async fn tasks_by_ids(
    state: &AppState,
    reader: Reader,
    ids: Vec<Uuid>,
) -> ServiceResult<HashMap<Uuid, TaskRow>> {
    crate::db::run(&state.pool, move |conn| {
        let rows = tasks::by_ids(conn, &ids, policy::task_readable_sql(&reader, "tasks"))?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    })
    .await
}
