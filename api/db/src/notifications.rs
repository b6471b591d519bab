//! The outbox: one row per message to one recipient, from queued to sent (or failed), and the
//! recipients' delivery preferences.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel::PgConnection;
use uuid::Uuid;

use crate::domain::{Delivery, NotificationKind, OutboxStatus};
use crate::schema::{notification_preferences, notifications, practitioners};

/// The stored kind of a daily digest, which folds other messages and is never chosen.
pub const DIGEST_KIND: &str = "DIGEST";

/// A message to queue.
pub struct NewMessage<'a> {
    pub recipient: Uuid,
    /// A [`NotificationKind`] or [`DIGEST_KIND`].
    pub kind: &'a str,
    pub child: Option<Uuid>,
    pub status: OutboxStatus,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub digest_line: Option<&'a str>,
}

/// Queues one message; returns its id.
pub fn insert(conn: &mut PgConnection, message: NewMessage<'_>) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(notifications::table)
        .values((
            notifications::id.eq(id),
            notifications::recipient_id.eq(message.recipient),
            notifications::kind.eq(message.kind),
            notifications::child_id.eq(message.child),
            notifications::status.eq(message.status.as_str()),
            notifications::subject.eq(message.subject),
            notifications::body_text.eq(message.text),
            notifications::body_html.eq(message.html),
            notifications::digest_line.eq(message.digest_line),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Which of `ids` are active practitioners.
pub fn active_recipients(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    practitioners::table
        .filter(practitioners::id.eq_any(ids))
        .filter(practitioners::active.eq(true))
        .select(practitioners::id)
        .load(conn)
}

/// The delivery each of `ids` chose for `kind`, as stored, for those who chose.
pub fn chosen_deliveries(
    conn: &mut PgConnection,
    ids: &[Uuid],
    kind: NotificationKind,
) -> QueryResult<Vec<(Uuid, String)>> {
    notification_preferences::table
        .filter(notification_preferences::practitioner_id.eq_any(ids))
        .filter(notification_preferences::kind.eq(kind.as_str()))
        .select((
            notification_preferences::practitioner_id,
            notification_preferences::delivery,
        ))
        .load(conn)
}

/// A message claimed for sending.
#[derive(Debug, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// None when the recipient's account is no longer active.
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub body_text: String,
    #[diesel(sql_type = Text)]
    pub body_html: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = SqlUuid)]
    pub recipient_id: Uuid,
    /// A [`crate::domain::NotificationKind`], or `DIGEST`.
    #[diesel(sql_type = Text)]
    pub kind: String,
}

/// Claims up to `batch` due messages for `lease_ms`, skipping those other workers hold.
pub fn claim(conn: &mut PgConnection, lease_ms: i64, batch: i64) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "UPDATE notifications n SET locked_until = now() + make_interval(secs => $1::bigint / 1000.0), \
                attempts = attempts + 1 \
         WHERE n.id IN (SELECT id FROM notifications \
                        WHERE status = 'PENDING' AND next_attempt_at <= now() \
                          AND (locked_until IS NULL OR locked_until < now()) \
                        ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
         RETURNING n.id, \
                   (SELECT p.email FROM practitioners p WHERE p.id = n.recipient_id AND p.active) AS email, \
                   n.subject, n.body_text, n.body_html, n.attempts, n.recipient_id, n.kind",
    )
    .bind::<BigInt, _>(lease_ms)
    .bind::<BigInt, _>(batch)
    .load(conn)
}

/// Marks a claimed message sent. The `attempts` guard ignores a worker whose lease ran out
/// and whose message another worker has since claimed.
pub fn mark_sent(conn: &mut PgConnection, id: Uuid, attempts: i32) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE notifications SET status = 'SENT', sent_at = now(), locked_until = NULL, last_error = NULL \
         WHERE id = $1 AND attempts = $2 AND status = 'PENDING'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Integer, _>(attempts)
    .execute(conn)
}

/// Records a failed attempt: the message fails for good when `give_up`, otherwise it is due
/// again after `delay_ms`. Guarded like [`mark_sent`].
pub fn mark_attempt_failed(
    conn: &mut PgConnection,
    id: Uuid,
    attempts: i32,
    give_up: bool,
    delay_ms: i64,
    error: &str,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE notifications SET status = CASE WHEN $3 THEN 'FAILED' ELSE 'PENDING' END, \
                next_attempt_at = now() + make_interval(secs => $4::bigint / 1000.0), \
                locked_until = NULL, last_error = $5 \
         WHERE id = $1 AND attempts = $2 AND status = 'PENDING'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Integer, _>(attempts)
    .bind::<Bool, _>(give_up)
    .bind::<BigInt, _>(delay_ms)
    .bind::<Text, _>(error)
    .execute(conn)
}

/// Gives back a claimed message unsent, as if it had not been claimed.
pub fn release(conn: &mut PgConnection, id: Uuid, attempts: i32) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE notifications SET locked_until = NULL, attempts = attempts - 1 \
         WHERE id = $1 AND attempts = $2 AND status = 'PENDING'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Integer, _>(attempts)
    .execute(conn)
}

/// The messages waiting for a digest (id, recipient, digest line), locked, by recipient and
/// age.
pub fn lock_waiting(conn: &mut PgConnection) -> QueryResult<Vec<(Uuid, Uuid, Option<String>)>> {
    notifications::table
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
        .load(conn)
}

/// Marks the messages `ids` as folded into the digest `digest`.
pub fn mark_digested(conn: &mut PgConnection, ids: &[Uuid], digest: Uuid) -> QueryResult<usize> {
    diesel::update(notifications::table.filter(notifications::id.eq_any(ids)))
        .set((
            notifications::status.eq(OutboxStatus::Digested.as_str()),
            notifications::digest_id.eq(digest),
        ))
        .execute(conn)
}

/// The kinds `who` chose a delivery for, with that delivery, as stored.
pub fn preferences_of(conn: &mut PgConnection, who: Uuid) -> QueryResult<Vec<(String, String)>> {
    notification_preferences::table
        .filter(notification_preferences::practitioner_id.eq(who))
        .select((
            notification_preferences::kind,
            notification_preferences::delivery,
        ))
        .load(conn)
}

/// Records `who`'s choice of `delivery` for `kind`.
pub fn set_preference(
    conn: &mut PgConnection,
    who: Uuid,
    kind: NotificationKind,
    delivery: Delivery,
) -> QueryResult<()> {
    diesel::insert_into(notification_preferences::table)
        .values((
            notification_preferences::practitioner_id.eq(who),
            notification_preferences::kind.eq(kind.as_str()),
            notification_preferences::delivery.eq(delivery.as_str()),
        ))
        .on_conflict((
            notification_preferences::practitioner_id,
            notification_preferences::kind,
        ))
        .do_update()
        .set((
            notification_preferences::delivery.eq(delivery.as_str()),
            notification_preferences::updated_at.eq(Utc::now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A message the worker gave up on.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg))]
pub struct FailedRow {
    pub id: Uuid,
    pub recipient_id: Uuid,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The newest `limit` messages that failed for good.
pub fn failed(conn: &mut PgConnection, limit: i64) -> QueryResult<Vec<FailedRow>> {
    notifications::table
        .filter(notifications::status.eq(OutboxStatus::Failed.as_str()))
        .select(FailedRow::as_select())
        .order((notifications::created_at.desc(), notifications::id.desc()))
        .limit(limit)
        .load(conn)
}

/// Puts the failed message `id` back in the queue, due now, with no attempts; None when there
/// is no such failed message.
pub fn retry(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<FailedRow>> {
    diesel::update(notifications::table.find(id))
        .filter(notifications::status.eq(OutboxStatus::Failed.as_str()))
        .set((
            notifications::status.eq(OutboxStatus::Pending.as_str()),
            notifications::attempts.eq(0),
            notifications::next_attempt_at.eq(Utc::now()),
            notifications::locked_until.eq(None::<DateTime<Utc>>),
        ))
        .returning(FailedRow::as_returning())
        .get_result(conn)
        .optional()
}

/// How many messages are in each of `statuses` (those with none are left out).
pub fn count_by_status(
    conn: &mut PgConnection,
    statuses: &[OutboxStatus],
) -> QueryResult<Vec<(String, i64)>> {
    let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    notifications::table
        .filter(notifications::status.eq_any(statuses))
        .group_by(notifications::status)
        .select((notifications::status, diesel::dsl::count_star()))
        .load(conn)
}

/// A message as its recipient's app shows it.
#[derive(Clone, Debug, Queryable)]
pub struct Received {
    pub id: Uuid,
    pub kind: String,
    pub child_id: Option<Uuid>,
    pub subject: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The messages queued for `recipient` since `since` (digests aside: they repeat the rest),
/// oldest first.
pub fn received_since(
    conn: &mut PgConnection,
    recipient: Uuid,
    since: chrono::DateTime<chrono::Utc>,
) -> QueryResult<Vec<Received>> {
    notifications::table
        .filter(notifications::recipient_id.eq(recipient))
        .filter(notifications::created_at.ge(since))
        .filter(notifications::kind.ne("DIGEST"))
        .select((
            notifications::id,
            notifications::kind,
            notifications::child_id,
            notifications::subject,
            notifications::created_at,
        ))
        .order((notifications::created_at, notifications::id))
        .limit(200)
        .load(conn)
}
