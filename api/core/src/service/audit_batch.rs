//! Group commit of read events. A read hands its audit event to this process's appender and
//! answers only once the event is committed; the appender inserts every event waiting at that
//! moment in one statement and one commit. Under load, many reads share one commit instead of
//! paying one each; a lone read waits for its own insert and nothing else (there is no timer).
//!
//! Still fail-closed: an event that cannot be written fails its read, and nothing of the
//! record leaves the server. A batch that fails is retried one event at a time, so that one
//! event the database refuses fails only its own read.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use uuid::Uuid;

use crate::db::audit_events::{self, Stamp};
use crate::db::models::NewAuditEventRow;
use crate::db::Pool;
use crate::domain::AuditAction;
use crate::service::error::{ServiceError, ServiceResult};

/// At most this many events in one statement.
const MAX_BATCH: usize = 64;

/// Threads inserting batches. With one, every event that arrives during a commit joins the
/// next batch: at 32 connections batches of 4 instead of 3 with two threads, a quarter fewer
/// commits per screen for the same throughput and tail (docs/performance.md).
const APPENDERS: usize = 1;

/// One read to record: who read, through which request, what.
#[derive(Debug)]
pub struct ReadEvent {
    pub stamp: Stamp,
    pub action: AuditAction,
    pub subject_type: &'static str,
    pub child_id: Uuid,
    pub subject_id: Uuid,
}

struct Waiting {
    event: ReadEvent,
    done: oneshot::Sender<Result<(), Failure>>,
}

/// Why an insert failed, as the read waiting for it reports it.
#[derive(Clone, Debug)]
struct Failure {
    /// No connection could be had in time (the read answers "busy", not "internal").
    unavailable: bool,
    cause: String,
}

impl From<ServiceError> for Failure {
    fn from(err: ServiceError) -> Failure {
        Failure {
            unavailable: matches!(err, ServiceError::Unavailable(_)),
            cause: format!("{err:?}"),
        }
    }
}

/// The process's way in to its appender threads; cheap to share.
pub struct Appender {
    queue: Sender<Waiting>,
}

pub type SharedAppender = Arc<Appender>;

impl Appender {
    /// Starts the appender threads over `pool`. They stop once every handle is dropped.
    pub fn start(pool: Pool) -> SharedAppender {
        let (queue, waiting) = mpsc::channel();
        let waiting = Arc::new(Mutex::new(waiting));
        for n in 0..APPENDERS {
            let (waiting, pool) = (waiting.clone(), pool.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("audit-appender-{n}"))
                .spawn(move || append(&waiting, &pool));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "audit: could not start an appender");
            }
        }
        Arc::new(Appender { queue })
    }

    /// Records `event`, returning once it is committed.
    pub async fn record(&self, event: ReadEvent) -> ServiceResult<()> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Waiting { event, done })
            .map_err(|_| ServiceError::Internal(anyhow::anyhow!("audit: no appender running")))?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Failure { unavailable, cause })) => {
                let cause = anyhow::anyhow!("audit: the event could not be written: {cause}");
                Err(if unavailable {
                    ServiceError::Unavailable(cause)
                } else {
                    ServiceError::Internal(cause)
                })
            }
            Err(_) => Err(ServiceError::Internal(anyhow::anyhow!(
                "audit: the appender stopped before the event was written"
            ))),
        }
    }
}

/// One appender thread: takes the first event waiting and every other one already queued (up
/// to [`MAX_BATCH`]), inserts them together, and tells each read the outcome.
fn append(waiting: &Mutex<Receiver<Waiting>>, pool: &Pool) {
    loop {
        let batch = {
            let Ok(queue) = waiting.lock() else { return };
            let Ok(first) = queue.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        match insert(pool, &batch) {
            Ok(()) => answer(batch, Ok(())),
            // Without a connection, one at a time would fare no better.
            Err(e) if batch.len() == 1 || matches!(e, ServiceError::Unavailable(_)) => {
                answer(batch, Err(e.into()))
            }
            Err(e) => {
                tracing::warn!(
                    error = format!("{e:?}"),
                    size = batch.len(),
                    "audit: a batch failed; retrying its events one by one"
                );
                for one in batch {
                    let outcome = insert(pool, std::slice::from_ref(&one)).map_err(Failure::from);
                    answer(vec![one], outcome);
                }
            }
        }
    }
}

fn answer(batch: Vec<Waiting>, outcome: Result<(), Failure>) {
    for waiting in batch {
        // A read whose caller has gone is not waited for.
        let _ = waiting.done.send(outcome.clone());
    }
}

fn insert(pool: &Pool, batch: &[Waiting]) -> ServiceResult<()> {
    let rows: Vec<NewAuditEventRow<'_>> = batch
        .iter()
        .map(|w| {
            let e = &w.event;
            NewAuditEventRow {
                actor_id: Some(e.stamp.actor_id),
                actor_agency_id: Some(e.stamp.agency_id),
                action: e.action.as_str(),
                child_id: Some(e.child_id),
                subject_type: Some(e.subject_type),
                subject_id: Some(e.subject_id),
                request_id: e.stamp.request_id.as_deref(),
                client_addr: e.stamp.client_addr.as_deref(),
                reason: None,
                details: serde_json::json!({}),
                sealed: serde_json::json!({}),
            }
        })
        .collect();
    crate::db::run_here(pool, |conn| -> ServiceResult<()> {
        Ok(audit_events::insert_many(conn, &rows)?)
    })
}
