//! Live changes for subscriptions: one task per process follows the feed of changes in
//! PostgreSQL (so a change made through any process reaches subscribers on every process) and
//! tells this process's subscribers which children changed. Each subscriber then reads, with
//! its own reader, only what it may see; nothing here decides what anyone sees.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::activity::{self, FeedPosition};
use crate::policy::{self, Reader};
use crate::service::error::ServiceResult;
use crate::service::events::{self, Event};
use crate::state::AppState;

/// How often the process looks for new changes while anyone subscribes.
const POLL: Duration = Duration::from_millis(200);

/// This process's news of changed children; started by the first subscriber.
#[derive(Default)]
pub struct Bus {
    sender: OnceLock<broadcast::Sender<Uuid>>,
}

impl Bus {
    /// News of every child that changes from now on (a lagging receiver may miss some and
    /// should then look again).
    pub fn subscribe(&self, state: &AppState) -> broadcast::Receiver<Uuid> {
        self.sender
            .get_or_init(|| {
                let (tx, _) = broadcast::channel(1024);
                tokio::spawn(follow(state.clone(), tx.clone()));
                tx
            })
            .subscribe()
    }
}

/// Follows the feed for as long as the process runs, announcing each changed child.
async fn follow(state: AppState, tx: broadcast::Sender<Uuid>) {
    let mut place: Option<FeedPosition> = None;
    loop {
        let after = place;
        let read = crate::db::run(&state.pool, move |conn| -> ServiceResult<_> {
            let after = match after {
                Some(p) => p,
                None => activity::now_position(conn)?,
            };
            Ok((after, activity::children_after(conn, after, 500)?))
        })
        .await;
        match read {
            Ok((after, rows)) => {
                place = Some(rows.last().map_or(after, |(_, p)| *p));
                for (child, _) in rows {
                    let _ = tx.send(child);
                }
            }
            Err(e) => tracing::warn!(error = ?e, "live changes: could not read the feed"),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Where a new subscriber starts: from now on.
pub async fn start(state: &AppState) -> ServiceResult<FeedPosition> {
    crate::db::run(&state.pool, |conn| Ok(activity::now_position(conn)?)).await
}

/// Whether `reader` may read the child now.
pub async fn may_read(state: &AppState, reader: Reader, child: Uuid) -> ServiceResult<bool> {
    crate::db::run(&state.pool, move |conn| {
        Ok(crate::db::holds(
            conn,
            crate::db::bound::BoundSql::new("EXISTS (SELECT 1 FROM children c WHERE c.id = ")
                .uuid(child)
                .sql(" AND ")
                .append(policy::child_readable_sql(&reader, "c.id"))
                .sql(")"),
        )?)
    })
    .await
}

/// The changes to `child` after `after` that `reader` may see, and the place after them.
pub async fn changes_to(
    state: &AppState,
    reader: Reader,
    child: Uuid,
    after: FeedPosition,
) -> ServiceResult<(Vec<Event>, FeedPosition)> {
    crate::db::run(&state.pool, move |conn| {
        let rows = activity::feed(
            conn,
            after,
            None,
            crate::db::bound::BoundSql::new("activity.child_id = ")
                .uuid(child)
                .sql(" AND ")
                .append(policy::event_visible_sql(&reader, "activity")),
            50,
        )?;
        let next = rows.last().map_or(after, |r| r.position);
        Ok((events::describe(conn, &reader, rows, false)?, next))
    })
    .await
}

/// Shared by every subscriber of this process.
pub type SharedBus = Arc<Bus>;

/// The messages queued for `practitioner` since `since`, as their mail says them.
pub async fn messages_since(
    state: &AppState,
    practitioner: Uuid,
    since: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<Vec<crate::db::notifications::Received>> {
    crate::db::run(&state.pool, move |conn| {
        Ok(crate::db::notifications::received_since(
            conn,
            practitioner,
            since,
        )?)
    })
    .await
}
