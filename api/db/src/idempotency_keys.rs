//! The stored first answers to API clients' POSTs made with an `Idempotency-Key`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::schema::idempotency_keys;

/// An answer kept for a key.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg))]
pub struct StoredAnswer {
    pub fingerprint: Vec<u8>,
    pub status: i16,
    pub body: String,
}

/// Forgets the client's key if it was first used before `cutoff`.
pub fn forget_if_older(
    conn: &mut PgConnection,
    client: Uuid,
    key: &str,
    cutoff: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::client_id.eq(client))
            .filter(idempotency_keys::key.eq(key))
            .filter(idempotency_keys::created_at.lt(cutoff)),
    )
    .execute(conn)
}

/// Claims the client's key for this transaction, with a placeholder answer. False when the key
/// is taken; a claim held by a transaction still running makes this wait for its end.
pub fn claim(
    conn: &mut PgConnection,
    client: Uuid,
    key: &str,
    fingerprint: &[u8],
) -> QueryResult<bool> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::client_id.eq(client),
            idempotency_keys::key.eq(key),
            idempotency_keys::fingerprint.eq(fingerprint),
            idempotency_keys::status.eq(0),
            idempotency_keys::body.eq(""),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .map(|n| n == 1)
}

/// The answer kept for the client's key.
pub fn get(conn: &mut PgConnection, client: Uuid, key: &str) -> QueryResult<Option<StoredAnswer>> {
    idempotency_keys::table
        .filter(idempotency_keys::client_id.eq(client))
        .filter(idempotency_keys::key.eq(key))
        .select(StoredAnswer::as_select())
        .first(conn)
        .optional()
}

/// Keeps the answer to the claimed key.
pub fn keep(
    conn: &mut PgConnection,
    client: Uuid,
    key: &str,
    status: i16,
    body: &str,
) -> QueryResult<usize> {
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::client_id.eq(client))
            .filter(idempotency_keys::key.eq(key)),
    )
    .set((
        idempotency_keys::status.eq(status),
        idempotency_keys::body.eq(body),
    ))
    .execute(conn)
}

/// Drops every key first used before `cutoff`; returns how many.
pub fn purge_older(conn: &mut PgConnection, cutoff: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(cutoff)))
        .execute(conn)
}
