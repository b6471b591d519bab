//! Agencies' webhook subscriptions and the deliveries made for them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::schema::{webhook_deliveries, webhook_subscriptions};

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = webhook_subscriptions, check_for_backend(diesel::pg::Pg))]
pub struct SubscriptionRow {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<DateTime<Utc>>,
    pub status: String,
    pub next_sequence: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub consecutive_failures: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct DeliveryRow {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub activity_id: Uuid,
    pub event_type: String,
    pub event: serde_json::Value,
    pub sequence: Option<i64>,
    pub payload: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A new subscription.
pub struct NewSubscription<'a> {
    pub id: Uuid,
    pub agency: Uuid,
    pub url: &'a str,
    pub event_types: &'a [String],
    pub secret: &'a str,
    pub created_by: Uuid,
}

pub fn insert(conn: &mut PgConnection, new: NewSubscription<'_>) -> QueryResult<SubscriptionRow> {
    diesel::insert_into(webhook_subscriptions::table)
        .values((
            webhook_subscriptions::id.eq(new.id),
            webhook_subscriptions::agency_id.eq(new.agency),
            webhook_subscriptions::url.eq(new.url),
            webhook_subscriptions::event_types.eq(new.event_types),
            webhook_subscriptions::secret.eq(new.secret),
            webhook_subscriptions::created_by.eq(new.created_by),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
}

/// The agency's subscriptions that are not deleted, oldest first.
pub fn of_agency(conn: &mut PgConnection, agency: Uuid) -> QueryResult<Vec<SubscriptionRow>> {
    webhook_subscriptions::table
        .filter(webhook_subscriptions::agency_id.eq(agency))
        .filter(webhook_subscriptions::deleted_at.is_null())
        .select(SubscriptionRow::as_select())
        .order((webhook_subscriptions::created_at, webhook_subscriptions::id))
        .load(conn)
}

/// Every subscription not deleted (paused and disabled ones too: their events wait).
pub fn live(conn: &mut PgConnection) -> QueryResult<Vec<SubscriptionRow>> {
    webhook_subscriptions::table
        .filter(webhook_subscriptions::deleted_at.is_null())
        .select(SubscriptionRow::as_select())
        .order(webhook_subscriptions::id)
        .load(conn)
}

/// The subscription `id`, locked for this transaction, unless deleted.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<SubscriptionRow>> {
    webhook_subscriptions::table
        .find(id)
        .filter(webhook_subscriptions::deleted_at.is_null())
        .select(SubscriptionRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Sets a subscription's status; resuming also clears its back-off.
pub fn set_status(conn: &mut PgConnection, id: Uuid, status: &str) -> QueryResult<SubscriptionRow> {
    let resumed = status == "ACTIVE";
    diesel::update(webhook_subscriptions::table.find(id))
        .set((
            webhook_subscriptions::status.eq(status),
            webhook_subscriptions::consecutive_failures.eq(diesel::dsl::sql::<
                diesel::sql_types::Integer,
            >(if resumed {
                "0"
            } else {
                "consecutive_failures"
            })),
            webhook_subscriptions::next_attempt_at.eq(Utc::now()),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
}

/// A new secret; the current one keeps signing beside it until `previous_until`.
pub fn rotate(
    conn: &mut PgConnection,
    id: Uuid,
    secret: &str,
    previous_until: DateTime<Utc>,
) -> QueryResult<SubscriptionRow> {
    diesel::update(webhook_subscriptions::table.find(id))
        .set((
            webhook_subscriptions::previous_secret.eq(webhook_subscriptions::secret.nullable()),
            webhook_subscriptions::previous_until.eq(Some(previous_until)),
            webhook_subscriptions::secret.eq(secret),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
}

/// Deletes a subscription: nothing more is sent to it; its deliveries stay as a record.
pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<SubscriptionRow> {
    diesel::update(webhook_subscriptions::table.find(id))
        .set((
            webhook_subscriptions::deleted_at.eq(Some(Utc::now())),
            webhook_subscriptions::status.eq("PAUSED"),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result(conn)
}

/// Claims the active subscription that has waited longest for its turn, for `lease_ms`: no
/// other worker delivers to it meanwhile.
pub fn claim_due(conn: &mut PgConnection, lease_ms: i64) -> QueryResult<Option<SubscriptionRow>> {
    BoundSql::new("UPDATE webhook_subscriptions SET lease_until = now() + make_interval(secs => ")
        .bigint(lease_ms)
        .sql(
            "::double precision / 1000) WHERE id = (SELECT id FROM webhook_subscriptions \
         WHERE status = 'ACTIVE' AND deleted_at IS NULL AND next_attempt_at <= now() \
         AND (lease_until IS NULL OR lease_until < now()) \
         ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING *",
        )
        .query()
        .get_result::<SubscriptionRow>(conn)
        .optional()
}

/// Gives a claimed subscription back, to be looked at again after `delay_ms`, with its
/// endpoint's failure count (0 after a success); `disable` stops it.
pub fn release(
    conn: &mut PgConnection,
    id: Uuid,
    delay_ms: i64,
    consecutive_failures: i32,
    disable: bool,
) -> QueryResult<usize> {
    BoundSql::new(
        "UPDATE webhook_subscriptions SET lease_until = NULL, \
         next_attempt_at = now() + make_interval(secs => ",
    )
    .bigint(delay_ms)
    .sql("::double precision / 1000), consecutive_failures = ")
    .bigint(consecutive_failures.into())
    .sql(
        ", failing_since = CASE WHEN consecutive_failures = 0 THEN NULL \
         ELSE coalesce(failing_since, now()) END",
    )
    .sql(if disable { ", status = 'DISABLED'" } else { "" })
    .sql(" WHERE id = ")
    .uuid(id)
    .query()
    .execute(conn)
}

/// A delivery to make, numbered later.
pub struct NewDelivery<'a> {
    pub id: Uuid,
    pub subscription: Uuid,
    pub activity: Uuid,
    pub event_type: &'a str,
    pub event: &'a serde_json::Value,
}

pub fn insert_delivery(conn: &mut PgConnection, new: NewDelivery<'_>) -> QueryResult<usize> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(new.id),
            webhook_deliveries::subscription_id.eq(new.subscription),
            webhook_deliveries::activity_id.eq(new.activity),
            webhook_deliveries::event_type.eq(new.event_type),
            webhook_deliveries::event.eq(new.event),
        ))
        .execute(conn)
}

#[derive(QueryableByName)]
struct Unnumbered {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    event: serde_json::Value,
}

/// The subscription's deliveries not yet numbered, in feed order, of transactions that have
/// all ended: none written later can come before them.
pub fn unnumbered(
    conn: &mut PgConnection,
    subscription: Uuid,
    limit: i64,
) -> QueryResult<Vec<(Uuid, serde_json::Value)>> {
    let rows: Vec<Unnumbered> = BoundSql::new(
        "SELECT d.id, d.event FROM webhook_deliveries d JOIN activity ON activity.id = d.activity_id \
         WHERE d.subscription_id = ",
    )
    .uuid(subscription)
    .sql(
        " AND d.sequence IS NULL \
         AND activity.txid < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint \
         ORDER BY activity.txid, activity.seq LIMIT ",
    )
    .bigint(limit)
    .query()
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.id, r.event)).collect())
}

/// Gives a delivery its number and its body.
pub fn number(
    conn: &mut PgConnection,
    id: Uuid,
    sequence: i64,
    payload: &str,
) -> QueryResult<usize> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::sequence.eq(Some(sequence)),
            webhook_deliveries::payload.eq(Some(payload)),
        ))
        .execute(conn)
}

/// Sets the number the subscription's next delivery gets.
pub fn set_next_sequence(conn: &mut PgConnection, id: Uuid, next: i64) -> QueryResult<usize> {
    diesel::update(webhook_subscriptions::table.find(id))
        .set(webhook_subscriptions::next_sequence.eq(next))
        .execute(conn)
}

/// The subscription's pending delivery with the lowest sequence number.
pub fn next_pending(
    conn: &mut PgConnection,
    subscription: Uuid,
) -> QueryResult<Option<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription))
        .filter(webhook_deliveries::status.eq("PENDING"))
        .filter(webhook_deliveries::sequence.is_not_null())
        .select(DeliveryRow::as_select())
        .order(webhook_deliveries::sequence)
        .first(conn)
        .optional()
}

/// Records one attempt at a delivery: sent, failed (to try again), or dead.
pub fn record_attempt(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
    error: Option<&str>,
) -> QueryResult<usize> {
    let sent = status == "SENT";
    diesel::update(webhook_deliveries::table.find(id))
        .set((
            webhook_deliveries::status.eq(status),
            webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
            webhook_deliveries::last_error.eq(error),
            webhook_deliveries::delivered_at.eq(sent.then(Utc::now)),
        ))
        .execute(conn)
}

/// The subscription's dead letters, oldest first.
pub fn dead(conn: &mut PgConnection, subscription: Uuid) -> QueryResult<Vec<DeliveryRow>> {
    webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription))
        .filter(webhook_deliveries::status.eq("DEAD"))
        .select(DeliveryRow::as_select())
        .order(webhook_deliveries::sequence)
        .load(conn)
}

/// Sends a dead letter again, in its place by sequence number; false when it is not dead.
pub fn replay(conn: &mut PgConnection, subscription: Uuid, id: Uuid) -> QueryResult<bool> {
    diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::subscription_id.eq(subscription))
            .filter(webhook_deliveries::status.eq("DEAD")),
    )
    .set((
        webhook_deliveries::status.eq("PENDING"),
        webhook_deliveries::attempts.eq(0),
    ))
    .execute(conn)
    .map(|n| n == 1)
}
