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
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Nullable, Text, Timestamptz};
use diesel::PgConnection;
use sha2::{Digest, Sha256};

use crate::db::bound::BoundSql;
use crate::service::error::ServiceResult;
use crate::state::AppState;

/// How often every server process tries to seal (one of them does at a time).
pub const SEAL_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Events hashed per round trip while sealing or verifying.
const CHUNK: i64 = 5_000;

/// Only one sealer at a time, across every process.
const SEAL_LOCK: i64 = 7_274_201;

#[derive(QueryableByName)]
struct Canonical {
    #[diesel(sql_type = Timestamptz)]
    at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    canonical: String,
}

/// One event's canonical form: every column, in a fixed order, as jsonb text (which has one
/// spelling per value); the time as microseconds since the epoch.
const CANONICAL: &str = "jsonb_build_array(e.id, (extract(epoch FROM e.at) * 1000000)::bigint, \
     e.actor_id, e.actor_agency_id, e.action, e.child_id, e.subject_type, e.subject_id, \
     e.request_id, e.client_addr, e.reason, e.details, e.sealed)::text";

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
        let mut q = BoundSql::new(format!("SELECT e.at, e.id, {CANONICAL} AS canonical "))
            .sql("FROM audit_events e WHERE e.at >= ")
            .timestamptz(from)
            .sql(" AND e.at < ")
            .timestamptz(to);
        if let Some((at, id)) = after {
            q = q
                .sql(" AND (e.at, e.id) > (")
                .timestamptz(at)
                .sql(", ")
                .bigint(id)
                .sql(")");
        }
        let rows: Vec<Canonical> = q
            .sql(" ORDER BY e.at, e.id LIMIT ")
            .bigint(CHUNK)
            .query()
            .load(conn)?;
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

#[derive(QueryableByName)]
struct SealRow {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Timestamptz)]
    covers_from: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    covers_to: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    events: i64,
    #[diesel(sql_type = Bytea)]
    digest: Vec<u8>,
}

#[derive(QueryableByName)]
struct Horizon {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    horizon: Option<DateTime<Utc>>,
}

/// Appends a seal over every event recorded since the last seal up to the start of the oldest
/// transaction still running. Returns how many events it covered, or None when another process
/// holds the sealer's lock or there is nothing new to cover.
pub fn seal(conn: &mut PgConnection) -> QueryResult<Option<i64>> {
    conn.transaction(|conn| {
        #[derive(QueryableByName)]
        struct Locked {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            locked: bool,
        }
        let Locked { locked } = BoundSql::new("SELECT pg_try_advisory_xact_lock(")
            .bigint(SEAL_LOCK)
            .sql(") AS locked")
            .query()
            .get_result(conn)?;
        if !locked {
            return Ok(None);
        }
        // The sealer's own transaction began at now(); any other still running began later or
        // earlier, and nothing it records can fall before its start.
        let Horizon { horizon } = BoundSql::new(
            "SELECT LEAST(now(), (SELECT min(a.xact_start) FROM pg_stat_activity a \
             WHERE a.pid <> pg_backend_pid() AND a.datname = current_database())) AS horizon",
        )
        .query()
        .get_result(conn)?;
        let Some(to) = horizon else {
            return Ok(None);
        };
        let last: Option<SealRow> = BoundSql::new(
            "SELECT seq, covers_from, covers_to, events, digest FROM audit_seals \
             ORDER BY seq DESC LIMIT 1",
        )
        .query()
        .get_result(conn)
        .optional()?;
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
        BoundSql::new(
            "INSERT INTO audit_seals (seq, covers_from, covers_to, events, digest) VALUES (",
        )
        .bigint(seq)
        .sql(", ")
        .timestamptz(from)
        .sql(", ")
        .timestamptz(to)
        .sql(", ")
        .bigint(events)
        .sql(", decode(")
        .text(hex(&digest))
        .sql(", 'hex'))")
        .query()
        .execute(conn)?;
        Ok(Some(events))
    })
}

/// Where the first seal's window starts: before any event could have been recorded.
fn genesis() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
        let page: Vec<SealRow> = BoundSql::new(
            "SELECT seq, covers_from, covers_to, events, digest FROM audit_seals WHERE seq > ",
        )
        .bigint(after)
        .sql(" ORDER BY seq LIMIT 1000")
        .query()
        .load(conn)?;
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
