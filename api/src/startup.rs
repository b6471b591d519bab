//! Builds and runs the HTTP server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{middleware, App, HttpServer};

use crate::config::Config;
use crate::graphql::build_schema;
use crate::http;
use crate::mail::transport::Transport;
use crate::mail::worker;
use crate::state::AppState;
use tokio::sync::watch;

/// A bound, not yet running server, and its mail worker.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    transport: Option<Transport>,
}

impl Application {
    /// Binds `BIND_ADDR` (port 0 picks a free port) and prepares the server.
    pub fn build(config: Config) -> anyhow::Result<Application> {
        crate::webhook::install_tls_provider();
        let listener = TcpListener::bind(config.bind_addr).map_err(|e| {
            anyhow::anyhow!("BIND_ADDR: cannot listen on {}: {e}", config.bind_addr)
        })?;
        let port = listener.local_addr()?.port();
        let transport = Transport::from_config(&config)?;
        let state = AppState::new(config);
        {
            use secrecy::ExposeSecret;
            // Hear of changed callers from the start, so that callers are kept from the start.
            state
                .callers
                .start(state.config.database_url.expose_secret());
        }
        let schema = build_schema(state.clone());
        let app_state = state.clone();
        let workers = state.config.http_workers;
        let cors_origins = state.config.cors_origins.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .configure(http::configure(app_state.clone(), schema.clone()))
                .wrap(http::default_headers())
                .wrap(middleware::from_fn(http::request_id::middleware))
                .wrap(middleware::Condition::new(
                    !cors_origins.is_empty(),
                    http::cors(&cors_origins),
                ))
        })
        .shutdown_timeout(30);
        if let Some(n) = workers {
            server = server.workers(n);
        }
        let server = server.listen(listener)?.run();
        Ok(Application {
            port,
            server,
            state,
            transport,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C; in-flight requests finish first, then the mail worker
    /// finishes the message in flight and gives back the rest of its batch, and the webhook
    /// worker the delivery in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let sealer = tokio::spawn(crate::service::audit_seal::run(
            self.state.clone(),
            stopped.clone(),
        ));
        let hooks = self.state.config.mail.worker_in_server.then(|| {
            tokio::spawn(crate::webhook::worker::run(
                self.state.clone(),
                stopped.clone(),
            ))
        });
        let worker = match (self.transport, self.state.config.mail.worker_in_server) {
            (Some(transport), true) => Some(tokio::spawn(worker::run(
                self.state.clone(),
                transport,
                stopped,
            ))),
            (None, _) => {
                tracing::warn!("SMTP_URL is not set: notifications wait in the outbox");
                None
            }
            _ => None,
        };
        let served = self.server.await;
        let _ = stop.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        if let Some(hooks) = hooks {
            let _ = hooks.await;
        }
        let _ = sealer.await;
        served
    }
}
