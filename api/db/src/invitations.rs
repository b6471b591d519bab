//! Invitations: single-use tokens that let a new practitioner set their first password.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::schema::invitations;

/// Stores an invitation for `practitioner`, by the digest of its token.
pub fn insert(
    conn: &mut PgConnection,
    practitioner: Uuid,
    digest: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(invitations::table)
        .values((
            invitations::id.eq(Uuid::now_v7()),
            invitations::practitioner_id.eq(practitioner),
            invitations::token_hash.eq(digest),
            invitations::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// An invitation found by its token: (practitioner, expiry, when used).
pub type Found = (Uuid, DateTime<Utc>, Option<DateTime<Utc>>);

/// The invitation whose token has this digest, locked until the transaction ends.
pub fn lock_by_digest(conn: &mut PgConnection, digest: &[u8]) -> QueryResult<Option<Found>> {
    invitations::table
        .filter(invitations::token_hash.eq(digest))
        .select((
            invitations::practitioner_id,
            invitations::expires_at,
            invitations::used_at,
        ))
        .for_update()
        .first(conn)
        .optional()
}

/// Marks every unused invitation of `practitioner` used: one password set ends them all.
pub fn use_all(conn: &mut PgConnection, practitioner: Uuid) -> QueryResult<()> {
    diesel::update(invitations::table.filter(invitations::practitioner_id.eq(practitioner)))
        .filter(invitations::used_at.is_null())
        .set(invitations::used_at.eq(Utc::now()))
        .execute(conn)?;
    Ok(())
}
