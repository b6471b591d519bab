//! Jobs that run once a day, whichever process gets there first: overdue-task notices and the
//! daily digests.

use chrono::{NaiveDate, Timelike, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::db::schema::{daily_runs, notifications, task_overdue_notices, tasks};
use crate::domain::{NotificationKind, OutboxStatus};
use crate::mail::compose::{self, Links};
use crate::mail::notify::Initials;
use crate::mail::outbox;
use crate::policy::{self, Reader};
use crate::service::error::ServiceResult;
use crate::state::AppState;

/// What a daily run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DailyReport {
    pub ran: bool,
    pub overdue_notices: usize,
    pub digests: usize,
}

/// Runs today's jobs if the configured hour has passed and no process has run them yet.
pub async fn run_if_due(state: &AppState) -> ServiceResult<DailyReport> {
    let now = Utc::now().with_timezone(&state.config.timezone);
    if now.hour() < state.config.mail.daily_hour {
        return Ok(DailyReport::default());
    }
    run_daily(state, now.date_naive()).await
}

/// Runs the jobs for `today` unless they ran already.
pub async fn run_daily(state: &AppState, today: NaiveDate) -> ServiceResult<DailyReport> {
    let links = Links {
        public_url: state.config.public_url.clone(),
    };
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let claimed = diesel::insert_into(daily_runs::table)
                .values((daily_runs::job.eq("daily"), daily_runs::run_on.eq(today)))
                .on_conflict_do_nothing()
                .execute(conn)?;
            if claimed == 0 {
                return Ok(DailyReport::default());
            }
            let overdue_notices = overdue(conn, &links, today)?;
            let digests = digests(conn, &links)?;
            Ok(DailyReport {
                ran: true,
                overdue_notices,
                digests,
            })
        })
    })
    .await
}

/// Tells each assignee about their open tasks past due (once a day per task), when they may
/// still see the task: one that names a practitioner since hidden from them is not theirs to
/// hear about.
fn overdue(conn: &mut PgConnection, links: &Links, today: NaiveDate) -> ServiceResult<usize> {
    let due: Vec<(Uuid, Uuid, Uuid, NaiveDate)> = tasks::table
        .filter(tasks::status.eq("OPEN"))
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
        .load(conn)?;
    let mut sent = 0;
    for (task, child, assignee, due_on) in due {
        diesel::insert_into(task_overdue_notices::table)
            .values((
                task_overdue_notices::task_id.eq(task),
                task_overdue_notices::noticed_on.eq(today),
            ))
            .execute(conn)?;
        let Some(assignee) = Reader::load_many(conn, &[assignee], today)?.pop() else {
            continue;
        };
        let visible: bool = diesel::select(diesel::dsl::exists(
            tasks::table
                .filter(tasks::id.eq(task))
                .filter(policy::task_readable_sql(&assignee, "tasks")),
        ))
        .get_result(conn)?;
        if !visible {
            continue;
        }
        let initials = Initials::load(conn, child, std::slice::from_ref(&assignee))?;
        let due_text = format!("It was due on {}.", due_on.format("%-d %B %Y"));
        sent += outbox::enqueue(
            conn,
            NotificationKind::TaskOverdue,
            Some(child),
            std::slice::from_ref(&assignee),
            |_| {
                compose::about_child(
                    links,
                    child,
                    initials.of(&assignee),
                    "a task assigned to you is overdue",
                    std::slice::from_ref(&due_text),
                )
            },
        )?;
    }
    Ok(sent)
}

/// Folds each recipient's waiting messages into one digest.
fn digests(conn: &mut PgConnection, links: &Links) -> QueryResult<usize> {
    let waiting: Vec<(Uuid, Uuid, Option<String>)> = notifications::table
        .filter(notifications::status.eq(OutboxStatus::Waiting.as_str()))
        .select((
            notifications::id,
            notifications::recipient_id,
            notifications::digest_line,
        ))
        .order((
            notifications::recipient_id,
            notifications::created_at,
            notifications::id,
        ))
        .for_update()
        .load(conn)?;
    let mut by_recipient: Vec<(Uuid, Vec<(Uuid, String)>)> = Vec::new();
    for (id, recipient, line) in waiting {
        let line = line.unwrap_or_default();
        match by_recipient.last_mut() {
            Some((r, items)) if *r == recipient => items.push((id, line)),
            _ => by_recipient.push((recipient, vec![(id, line)])),
        }
    }
    let count = by_recipient.len();
    for (recipient, items) in by_recipient {
        let lines: Vec<String> = items.iter().map(|(_, l)| l.clone()).collect();
        let content = compose::digest(links, &lines);
        let digest_id = Uuid::now_v7();
        diesel::insert_into(notifications::table)
            .values((
                notifications::id.eq(digest_id),
                notifications::recipient_id.eq(recipient),
                notifications::kind.eq("DIGEST"),
                notifications::status.eq(OutboxStatus::Pending.as_str()),
                notifications::subject.eq(&content.subject),
                notifications::body_text.eq(&content.text),
                notifications::body_html.eq(&content.html),
            ))
            .execute(conn)?;
        let ids: Vec<Uuid> = items.iter().map(|(id, _)| *id).collect();
        diesel::update(notifications::table.filter(notifications::id.eq_any(&ids)))
            .set((
                notifications::status.eq("DIGESTED"),
                notifications::digest_id.eq(digest_id),
            ))
            .execute(conn)?;
    }
    Ok(count)
}
