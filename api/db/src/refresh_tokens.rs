//! Refresh tokens, stored by digest, in families: each rotation adds one to the family, and a
//! reuse revokes the whole family.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::models::{NewRefreshTokenRow, RefreshTokenRow};
use crate::schema::refresh_tokens;

/// Stores a new token.
pub fn insert(conn: &mut PgConnection, row: NewRefreshTokenRow) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The token with this digest, locked until the transaction ends.
pub fn lock_by_digest(
    conn: &mut PgConnection,
    digest: &[u8],
) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(digest))
        .select(RefreshTokenRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// The family of the token with this digest.
pub fn family_of(conn: &mut PgConnection, digest: &[u8]) -> QueryResult<Option<Uuid>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(digest))
        .select(refresh_tokens::family_id)
        .first(conn)
        .optional()
}

/// Revokes every token of `family` not revoked yet.
pub fn revoke_family(conn: &mut PgConnection, family: Uuid, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::family_id.eq(family))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Marks the token `id` as rotated, keeping its successor sealed: it may not be used again,
/// except as a retry within the grace window.
pub fn mark_rotated(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
    successor_sealed: Vec<u8>,
) -> QueryResult<()> {
    diesel::update(refresh_tokens::table.find(id))
        .set((
            refresh_tokens::rotated_at.eq(now),
            refresh_tokens::successor_sealed.eq(successor_sealed),
        ))
        .execute(conn)?;
    Ok(())
}
