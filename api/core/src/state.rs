//! What every request shares: the pool, the token keys and the configuration.

use std::sync::Arc;

use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::db::{self, Pool};
use crate::metrics::Metrics;

/// Cheap to clone; built once per process.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    /// Shared, not copied: every request clones the state for its loaders.
    pub tokens: Arc<TokenKeys>,
    pub config: Arc<Config>,
    /// SQL statements sent by this process so far.
    pub statements: db::StatementCounter,
    pub metrics: Metrics,
    /// News of changed children for this process's subscriptions.
    pub live: crate::service::live::SharedBus,
    /// Callers kept between requests, forgotten at PostgreSQL's notice of a change.
    pub callers: crate::service::callers::SharedCallers,
    /// Read events committed together (group commit).
    pub audit: crate::service::audit_batch::SharedAppender,
}

impl AppState {
    pub fn new(config: Config) -> AppState {
        use secrecy::ExposeSecret;
        let statements = db::StatementCounter::default();
        let pool = db::pool(
            config.database_url.expose_secret(),
            config.db_pool_size,
            config.db_pool_timeout,
            statements.clone(),
        );
        let tokens = Arc::new(TokenKeys::new(
            &config.jwt_secret,
            &config.jwt_accepted_secrets,
            &config.public_url,
            config.access_token_ttl,
        ));
        AppState {
            audit: crate::service::audit_batch::Appender::start(pool.clone()),
            pool,
            tokens,
            config: Arc::new(config),
            statements,
            metrics: Metrics::new(),
            live: Default::default(),
            callers: Default::default(),
        }
    }

    /// Today in the deployment's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.config.timezone)
            .date_naive()
    }
}
