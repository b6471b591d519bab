//! Tamper evidence for the audit log: seals over closed time windows, chained by digest, and
//! the check that walks them (`patchwork audit verify`).
//!
//! A seal covers the events recorded in `[covers_from, covers_to)`. `covers_to` is the start of
//! the oldest transaction still running when the seal is made (or the sealer's own start), so
//! no event in the window can commit later: the window is closed for good. Its digest is
//! SHA-256 over the previous seal's digest and each event's canonical form, in `(at, id)`
//! order. Sealing reads the log and appends one row, off the request path, so reads and writes
//! pay nothing for it.

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection, QueryResult};
use sha2::{Digest, Sha256};

use crate::db::audit_events;
use crate::db::audit_seals::{self, Seal};
use crate::service::error::ServiceResult;
use crate::state::AppState;

/// How often every server process tries to seal (one of them does at a time).
pub const SEAL_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Events hashed per round trip while sealing or verifying.
const CHUNK: i64 = 5_000;

/// Only one sealer at a time, across every process.
const SEAL_LOCK: i64 = 7_274_201;

/// Feeds the events of `[from, to)` into `hasher`, in `(at, id)` order, a chunk at a time;
/// returns how many there were.
fn hash_window(
    conn: &mut PgConnection,
    hasher: &mut Sha256,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> QueryResult<i64> {
    let mut count = 0;
    let mut after: Option<(DateTime<Utc>, i64)> = None;
    loop {
        let rows = audit_events::canonical(conn, from, to, after, CHUNK)?;
        for row in &rows {
            hasher.update((row.canonical.len() as u64).to_be_bytes());
            hasher.update(row.canonical.as_bytes());
        }
        count += rows.len() as i64;
        match rows.last() {
            Some(last) if rows.len() as i64 == CHUNK => after = Some((last.at, last.id)),
            _ => return Ok(count),
        }
    }
}

/// Appends a seal over every event recorded since the last seal up to the start of the oldest
/// transaction still running. Returns how many events it covered, or None when another process
/// holds the sealer's lock or there is nothing new to cover.
pub fn seal(conn: &mut PgConnection) -> QueryResult<Option<i64>> {
    conn.transaction(|conn| {
        if !crate::db::try_xact_lock(conn, SEAL_LOCK)? {
            return Ok(None);
        }
        let Some(to) = audit_seals::horizon(conn)? else {
            return Ok(None);
        };
        let last = audit_seals::last(conn)?;
        let (seq, from, previous) = match &last {
            Some(s) => (s.seq + 1, s.covers_to, s.digest.clone()),
            None => (1, genesis(), vec![0; 32]),
        };
        if to <= from {
            return Ok(None);
        }
        let mut hasher = Sha256::new();
        hasher.update(&previous);
        let events = hash_window(conn, &mut hasher, from, to)?;
        let digest = hasher.finalize().to_vec();
        audit_seals::insert(
            conn,
            &Seal {
                seq,
                covers_from: from,
                covers_to: to,
                events,
                digest,
            },
        )?;
        Ok(Some(events))
    })
}

/// Where the first seal's window starts: before any event could have been recorded.
fn genesis() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// What `patchwork audit verify` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every seal matches the events it covers.
    Intact { seals: i64, events: i64 },
    /// The first seal that does not match: the log changed in its window since it was sealed.
    Broken {
        seq: i64,
        covers_from: DateTime<Utc>,
        covers_to: DateTime<Utc>,
        sealed_events: i64,
        found_events: i64,
    },
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Intact { seals, events } => {
                write!(f, "intact: {seals} seal(s) over {events} event(s)")
            }
            Verdict::Broken {
                seq,
                covers_from,
                covers_to,
                sealed_events,
                found_events,
            } => write!(
                f,
                "broken at seal {seq}: the events recorded from {covers_from} to {covers_to} \
                 changed since they were sealed ({sealed_events} sealed, {found_events} now)"
            ),
        }
    }
}

/// Walks every seal in order, recomputing each window's digest from the log as it is now.
pub fn verify(conn: &mut PgConnection) -> QueryResult<Verdict> {
    let mut previous = vec![0u8; 32];
    let mut expected_from = genesis();
    let mut seals = 0;
    let mut total = 0;
    let mut after = 0;
    loop {
        let page = audit_seals::after(conn, after, 1000)?;
        if page.is_empty() {
            return Ok(Verdict::Intact {
                seals,
                events: total,
            });
        }
        for seal in page {
            let mut hasher = Sha256::new();
            hasher.update(&previous);
            let found = hash_window(conn, &mut hasher, seal.covers_from, seal.covers_to)?;
            let digest = hasher.finalize().to_vec();
            let chained = seal.seq == seals + 1 && seal.covers_from == expected_from;
            if !chained || digest != seal.digest || found != seal.events {
                return Ok(Verdict::Broken {
                    seq: seal.seq,
                    covers_from: seal.covers_from,
                    covers_to: seal.covers_to,
                    sealed_events: seal.events,
                    found_events: found,
                });
            }
            previous = seal.digest;
            expected_from = seal.covers_to;
            seals += 1;
            total += found;
            after = seal.seq;
        }
    }
}

/// Seals every [`SEAL_EVERY`] until `shutdown` turns true; run by every server process.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if let Err(e) = seal_now(&state).await {
            tracing::error!(error = ?e, "sealing the audit log failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(SEAL_EVERY) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// One sealing pass on the pool.
pub async fn seal_now(state: &AppState) -> ServiceResult<Option<i64>> {
    crate::db::run(&state.pool, |conn| Ok(seal(conn)?)).await
}
