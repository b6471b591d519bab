//! Jobs that run once a day, whichever process gets there first: overdue-task notices, the
//! daily digests, and forgetting idempotency keys older than a day.

use chrono::{NaiveDate, Timelike, Utc};
use diesel::{Connection, PgConnection, QueryResult};
use uuid::Uuid;

use crate::db::notifications::{self, NewMessage};
use crate::db::{daily_runs, idempotency_keys, tasks};
use crate::domain::{NotificationKind, OutboxStatus};
use crate::mail::compose::{self, Links};
use crate::mail::notify::Initials;
use crate::mail::outbox;
use crate::policy;
use crate::service::error::ServiceResult;
use crate::service::readers;
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
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if !daily_runs::claim(conn, "daily", today)? {
                return Ok(DailyReport::default());
            }
            // Answers to retried POSTs are kept a day; older ones go.
            idempotency_keys::purge_older(
                conn,
                Utc::now() - crate::service::idempotency::KEPT_FOR,
            )?;
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
    let due = tasks::overdue_unnoticed(conn, today)?;
    let mut sent = 0;
    for (task, child, assignee, due_on) in due {
        tasks::notice_overdue(conn, task, today)?;
        let Some(assignee) = readers::load_many(conn, &[assignee], today)?.pop() else {
            continue;
        };
        if !tasks::exists(conn, task, policy::task_readable_sql(&assignee, "tasks"))? {
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
    let waiting = notifications::lock_waiting(conn)?;
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
        let digest_id = notifications::insert(
            conn,
            NewMessage {
                recipient,
                kind: notifications::DIGEST_KIND,
                child: None,
                status: OutboxStatus::Pending,
                subject: &content.subject,
                text: &content.text,
                html: &content.html,
                digest_line: None,
            },
        )?;
        let ids: Vec<Uuid> = items.iter().map(|(id, _)| *id).collect();
        notifications::mark_digested(conn, &ids, digest_id)?;
    }
    Ok(count)
}
