//! Database access: the product's words as types (`domain`), the connection pool,
//! migrations, the diesel rows and a repository per table. Nothing here knows an access rule
//! or a transport: reads that must obey a rule take the rule's SQL fragment as a
//! [`bound::BoundSql`] from the caller.
//!
//! diesel is blocking, so every use goes through [`run`], which takes a pooled connection on
//! tokio's blocking thread pool and never on the async executor.

pub mod activity;
pub mod agencies;
pub mod agency_refs;
pub mod api_clients;
pub mod audit_events;
pub mod audit_seals;
pub mod bound;
pub mod child_identities;
pub mod children;
pub mod contacts;
pub mod daily_runs;
pub mod domain;
pub mod family_links;
pub mod fixtures;
pub mod idempotency_keys;
pub mod invitations;
pub mod involvements;
pub mod login_failures;
pub mod models;
pub mod nodes;
pub mod notices;
pub mod notifications;
pub mod paging;
pub mod persisted_queries;
pub mod practitioners;
pub mod rate_windows;
pub mod refresh_tokens;
pub mod roles;
pub mod schema;
pub mod sharing_agreements;
pub mod tasks;
pub mod webhooks;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{
    ConnectionManager, CustomizeConnection, ManageConnection, Pool as R2d2Pool, PooledConnection,
};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// What [`run`] needs of its caller's error type: to be made from the database layer's own
/// failures, and to say whether a failure may have come from a broken connection.
pub trait RunError: From<DbUnavailable> + From<DbTaskFailed> + Send + 'static {
    /// Whether the connection should be checked (and dropped if dead) after this failure.
    fn may_be_connection_failure(&self) -> bool;
}

/// No connection could be had from the pool in time.
#[derive(Debug, thiserror::Error)]
#[error("no database connection: {0}")]
pub struct DbUnavailable(#[from] pub diesel::r2d2::PoolError);

/// The blocking task running the work failed (panicked or was cancelled).
#[derive(Debug, thiserror::Error)]
#[error("blocking task failed: {0}")]
pub struct DbTaskFailed(pub String);

pub type Pool = R2d2Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

/// A pooled connection that can be marked dead, so the pool drops it instead of handing it out
/// again (diesel notices a lost connection only inside a transaction).
pub struct Conn {
    inner: PgConnection,
    dead: bool,
}

impl std::ops::Deref for Conn {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.inner
    }
}

/// diesel's connection manager, handing out [`Conn`]s.
pub struct Manager(ConnectionManager<PgConnection>);

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        Ok(Conn {
            inner: self.0.connect()?,
            dead: false,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        self.0.is_valid(&mut conn.inner)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.dead || self.0.has_broken(&mut conn.inner)
    }
}

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Counts the SQL statements a process sends, and the connections it takes from the pool
/// (each a hand-off to a blocking thread), for tests and benchmarks.
#[derive(Clone, Debug, Default)]
pub struct StatementCounter {
    statements: Arc<AtomicU64>,
    checkouts: Arc<AtomicU64>,
}

impl StatementCounter {
    /// Statements sent so far.
    pub fn get(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Connections taken from the pool so far.
    pub fn checkouts(&self) -> u64 {
        self.checkouts.load(Ordering::Relaxed)
    }
}

impl diesel::r2d2::HandleEvent for StatementCounter {
    fn handle_checkout(&self, _: diesel::r2d2::event::CheckoutEvent) {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
    }
}

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            self.statements.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Session settings for every pooled connection: no statement or idle transaction may hang
/// a connection for long, and prepared statements keep one plan.
///
/// Left to choose, PostgreSQL re-plans the access-rule statements on every execution: their
/// plan for one child's id looks cheaper than the generic plan for any array of ids, so it
/// never settles on the generic one. Planning them took longer than running them (about 1 ms
/// against 0.3 ms each). Every statement here looks rows up by key through an index, which a
/// generic plan does as well, so generic plans are forced.
#[derive(Debug)]
struct SessionSettings(StatementCounter);

impl CustomizeConnection<Conn, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "SET statement_timeout = '15s'; SET idle_in_transaction_session_timeout = '30s'; \
             SET application_name = 'patchwork'; SET plan_cache_mode = force_generic_plan",
        )
        .map_err(diesel::r2d2::Error::QueryError)?;
        // Counted from here: setting up a connection is not any request's cost.
        conn.set_instrumentation(self.0.clone());
        Ok(())
    }
}

/// Builds the pool with an explicit size and timeouts. Connections are opened lazily, so a
/// server starts even while the database is briefly unreachable, and `/readyz` says so.
pub fn pool(url: &str, size: u32, timeout: Duration, counter: StatementCounter) -> Pool {
    R2d2Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(timeout)
        .idle_timeout(Some(Duration::from_secs(300)))
        // No `SELECT 1` before every use: a broken connection fails its query, is dropped by
        // the pool, and the next checkout gets a fresh one.
        .test_on_check_out(false)
        .event_handler(Box::new(counter.clone()))
        .connection_customizer(Box::new(SessionSettings(counter)))
        .build_unchecked(Manager(ConnectionManager::new(url)))
}

/// Runs `work` with a pooled connection on the blocking thread pool.
pub async fn run<T, E, F>(pool: &Pool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: RunError,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || run_here(&pool, work))
        .await
        .map_err(|e| DbTaskFailed(e.to_string()))?
}

/// [`run`] on the calling thread, for threads of their own that may block.
pub fn run_here<T, E, F>(pool: &Pool, work: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E>,
    E: RunError,
{
    let mut conn = pool.get().map_err(DbUnavailable)?;
    let result = work(&mut conn);
    // After a failure, make sure the connection itself still works (the database may have
    // restarted); a dead one is dropped, and the next request gets a fresh one.
    if result.as_ref().is_err_and(E::may_be_connection_failure)
        && conn.inner.batch_execute("SELECT 1").is_err()
    {
        conn.dead = true;
    }
    result
}

/// Applies every pending migration; returns the versions applied.
/// Several processes starting at once take turns: the first applies what is pending, the
/// others then find nothing to do.
pub fn migrate(url: &str) -> anyhow::Result<Vec<String>> {
    const MIGRATION_LOCK: i64 = 7_274_200;
    let mut conn = PgConnection::establish(url)?;
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(|v| v.to_string()).collect())
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
    // The lock also ends with the connection; released here so as not to depend on that.
    let _ = conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
    applied
}

/// Takes the advisory lock `key` until the transaction ends, if no one holds it; false if
/// someone does.
pub fn try_xact_lock(conn: &mut PgConnection, key: i64) -> diesel::QueryResult<bool> {
    holds(
        conn,
        bound::BoundSql::new("pg_try_advisory_xact_lock(")
            .bigint(key)
            .sql(")"),
    )
}

/// True when a diesel error is a unique violation of the named constraint or index.
pub fn is_unique_violation(err: &diesel::result::Error, constraint: &str) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(err, Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
        if info.constraint_name() == Some(constraint))
}

/// Whether `condition`, a boolean SQL expression, holds.
pub fn holds(conn: &mut PgConnection, condition: bound::BoundSql) -> diesel::QueryResult<bool> {
    use diesel::RunQueryDsl;
    diesel::select(condition).get_result(conn)
}

/// The migrations this build holds that the database has not applied, oldest first.
pub fn pending_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    let mut conn = PgConnection::establish(url)?;
    let pending = conn
        .pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("cannot read the applied migrations: {e}"))?;
    Ok(pending.iter().map(|m| m.name().to_string()).collect())
}

/// True when the database answers a trivial query within the pool's timeout.
pub async fn ping(pool: &Pool) -> bool {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(mut conn) = pool.get() else {
            return false;
        };
        let alive = conn.inner.batch_execute("SELECT 1").is_ok();
        conn.dead = !alive;
        alive
    })
    .await
    .unwrap_or(false)
}

/// SQL functions used in queries.
pub mod functions {
    use diesel::sql_types::Text;

    #[diesel::declare_sql_function]
    extern "SQL" {
        /// PostgreSQL `lower(text)`: emails are unique and looked up case-insensitively.
        fn lower(x: Text) -> Text;
    }
}
