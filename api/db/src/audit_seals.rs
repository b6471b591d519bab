//! Seals over closed windows of the audit log, one row each, chained by digest.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Nullable, Timestamptz};
use diesel::PgConnection;

use crate::bound::BoundSql;

/// One seal: the events recorded in `[covers_from, covers_to)`, how many, and the digest
/// chained from the previous seal's.
#[derive(Debug, QueryableByName)]
pub struct Seal {
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    #[diesel(sql_type = Timestamptz)]
    pub covers_from: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub covers_to: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub events: i64,
    #[diesel(sql_type = Bytea)]
    pub digest: Vec<u8>,
}

/// Where a window may close now: the start of the oldest other transaction still running in
/// this database, or this one's start if that is earlier. Nothing recorded later can fall
/// before it.
pub fn horizon(conn: &mut PgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    #[derive(QueryableByName)]
    struct Horizon {
        #[diesel(sql_type = Nullable<Timestamptz>)]
        horizon: Option<DateTime<Utc>>,
    }
    let Horizon { horizon } = BoundSql::new(
        "SELECT LEAST(now(), (SELECT min(a.xact_start) FROM pg_stat_activity a \
         WHERE a.pid <> pg_backend_pid() AND a.datname = current_database())) AS horizon",
    )
    .query()
    .get_result(conn)?;
    Ok(horizon)
}

/// The newest seal.
pub fn last(conn: &mut PgConnection) -> QueryResult<Option<Seal>> {
    BoundSql::new(
        "SELECT seq, covers_from, covers_to, events, digest FROM audit_seals \
         ORDER BY seq DESC LIMIT 1",
    )
    .query()
    .get_result(conn)
    .optional()
}

/// Up to `limit` seals after the seal `seq`, oldest first.
pub fn after(conn: &mut PgConnection, seq: i64, limit: i64) -> QueryResult<Vec<Seal>> {
    BoundSql::new(
        "SELECT seq, covers_from, covers_to, events, digest FROM audit_seals WHERE seq > ",
    )
    .bigint(seq)
    .sql(" ORDER BY seq LIMIT ")
    .bigint(limit)
    .query()
    .load(conn)
}

/// Appends a seal.
pub fn insert(conn: &mut PgConnection, seal: &Seal) -> QueryResult<()> {
    let hex: String = seal.digest.iter().map(|b| format!("{b:02x}")).collect();
    BoundSql::new("INSERT INTO audit_seals (seq, covers_from, covers_to, events, digest) VALUES (")
        .bigint(seal.seq)
        .sql(", ")
        .timestamptz(seal.covers_from)
        .sql(", ")
        .timestamptz(seal.covers_to)
        .sql(", ")
        .bigint(seal.events)
        .sql(", decode(")
        .text(hex)
        .sql(", 'hex'))")
        .query()
        .execute(conn)?;
    Ok(())
}
