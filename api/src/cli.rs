//! The `patchwork` command: serve | worker | migrate | seed | audit | create-admin.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::auth::password;
use crate::config::Config;
use crate::db::models::{NewAgencyRow, NewPractitionerRow};
use crate::db::{agencies, practitioners};
use crate::domain::{AgencyKind, Role};
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "patchwork",
    version,
    about = "Who else is working with this child, and how do I reach them?"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve the API.
    Serve,
    /// Deliver the email outbox (as `serve` also does) until SIGTERM or Ctrl-C.
    Worker,
    /// Apply pending database migrations.
    Migrate,
    /// Load the demo town from the fixtures folder (safe to run twice).
    Seed {
        #[arg(long, default_value = "fixtures")]
        fixtures: PathBuf,
    },
    /// Register GraphQL documents (one operation document per file) for the allow-list mode
    /// (`PERSISTED_QUERIES=only`); prints each file's SHA-256, the hash clients send.
    RegisterQueries { files: Vec<PathBuf> },
    /// The audit log's tamper evidence.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Create a system admin (and the agency it belongs to) for a fresh install.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, env = "PATCHWORK_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        name: String,
        /// The agency the admin belongs to; created when missing.
        #[arg(long, default_value = "Patchwork Administration")]
        agency: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every seal against the log; exits 1 and names the first broken seal if any.
    Verify,
    /// Seal what has been recorded since the last seal (servers do this every minute).
    Seal,
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// The database URL alone, for commands that need nothing else.
fn database_url() -> anyhow::Result<String> {
    if crate::config::reads_dotenv() {
        let _ = dotenvy::dotenv();
    }
    use crate::config::process_var;
    process_var("MIGRATION_DATABASE_URL")?
        .or(process_var("DATABASE_URL")?)
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL: is required (a postgres:// URL)"))
}

/// Before serving: with `MIGRATE_ON_START`, applies pending migrations (and grants the
/// server's role its rights); otherwise refuses to start on a schema older than this build.
fn prepare_schema(config: &Config) -> anyhow::Result<()> {
    if !config.migrate_on_start {
        let pending = crate::db::pending_migrations(config.migration_url())?;
        if !pending.is_empty() {
            anyhow::bail!(
                "the database schema is older than this release: {} migration(s) pending \
                 ({}); run `patchwork migrate` first, or set MIGRATE_ON_START=true",
                pending.len(),
                pending.join(", ")
            );
        }
        return Ok(());
    }
    let applied = crate::db::migrate(config.migration_url())?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    if config.migration_database_url.is_some() {
        use secrecy::ExposeSecret;
        if let Some(role) = crate::db::roles::prepare_runtime_role(
            config.migration_url(),
            config.database_url.expose_secret(),
        )? {
            tracing::info!(%role, "serving as a restricted role");
        }
    }
    Ok(())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    crate::webhook::install_tls_provider();
    match cli.command {
        Command::Serve => {
            let config = Config::from_env()?;
            let _telemetry = crate::telemetry::init(!config.is_development())?;
            prepare_schema(&config)?;
            let app = Application::build(config)?;
            tracing::info!(
                addr = %app.state().config.bind_addr,
                port = app.port(),
                env = ?app.state().config.environment,
                "serving"
            );
            app.run_until_stopped().await?;
            Ok(())
        }
        Command::Worker => {
            let config = Config::from_env()?;
            let _telemetry = crate::telemetry::init(!config.is_development())?;
            prepare_schema(&config)?;
            let transport = crate::mail::transport::Transport::from_config(&config)?
                .ok_or_else(|| anyhow::anyhow!("SMTP_URL: is required to deliver mail"))?;
            let state = crate::state::AppState::new(config);
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let sealer = tokio::spawn(crate::service::audit_seal::run(
                state.clone(),
                stopped.clone(),
            ));
            let hooks = tokio::spawn(crate::webhook::worker::run(state.clone(), stopped.clone()));
            let worker = tokio::spawn(crate::mail::worker::run(state, transport, stopped));
            shutdown_signal().await;
            tracing::info!("stopping: finishing the message and the webhook in flight");
            let _ = stop.send(true);
            worker.await?;
            hooks.await?;
            sealer.await?;
            Ok(())
        }
        Command::Migrate => {
            let _telemetry = crate::telemetry::init(false)?;
            let owner = database_url()?;
            let applied = crate::db::migrate(&owner)?;
            println!("applied {} migration(s)", applied.len());
            // With an owner role and a server role, make sure the server's role has exactly
            // the rights it needs.
            if let (Ok(_), Ok(runtime)) = (
                std::env::var("MIGRATION_DATABASE_URL"),
                std::env::var("DATABASE_URL"),
            ) {
                if let Some(role) = crate::db::roles::prepare_runtime_role(&owner, &runtime)? {
                    println!("granted the server's role '{role}' its rights");
                }
            }
            Ok(())
        }
        Command::Audit { action } => {
            let url = database_url()?;
            let verdict = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
                let mut conn = PgConnection::establish(&url)?;
                Ok(match action {
                    AuditCommand::Verify => {
                        let verdict = crate::service::audit_seal::verify(&mut conn)?;
                        if let crate::service::audit_seal::Verdict::Broken { .. } = verdict {
                            anyhow::bail!("audit log {verdict}");
                        }
                        format!("audit log {verdict}")
                    }
                    AuditCommand::Seal => match crate::service::audit_seal::seal(&mut conn)? {
                        Some(n) => format!("sealed {n} event(s)"),
                        None => "nothing to seal (or another process is sealing)".to_owned(),
                    },
                })
            })
            .await??;
            println!("{verdict}");
            Ok(())
        }
        Command::RegisterQueries { files } => {
            let url = database_url()?;
            let mut documents = Vec::new();
            for file in &files {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                if text.trim().is_empty() {
                    anyhow::bail!("{}: is empty", file.display());
                }
                let hash = crate::service::persisted::hash_of(&text);
                println!("{hash}  {}", file.display());
                documents.push((hash, text));
            }
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let mut conn = PgConnection::establish(&url)?;
                crate::db::persisted_queries::remember(&mut conn, &documents, true)?;
                Ok(())
            })
            .await??;
            Ok(())
        }
        Command::Seed { fixtures } => {
            let url = database_url()?;
            crate::db::migrate(&url)?;
            tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                let mut conn = PgConnection::establish(&url)?;
                for (path, town) in crate::seed::load_dir(&fixtures)? {
                    let report = crate::seed::seed(&mut conn, &town)?;
                    println!("{path}: {}: {report}.", town.town);
                }
                Ok(())
            })
            .await??;
            Ok(())
        }
        Command::CreateAdmin {
            email,
            password: pw,
            name,
            agency,
        } => {
            if let Err(problem) = password::check_strength(&pw) {
                anyhow::bail!("--password {problem}");
            }
            if !validator::ValidateEmail::validate_email(&email) {
                anyhow::bail!("--email is not a valid email address");
            }
            let url = database_url()?;
            crate::db::migrate(&url)?;
            let hash = password::hash(&pw)?;
            let shown = email.clone();
            let id = tokio::task::spawn_blocking(move || {
                create_admin(&url, &email, &hash, &name, &agency)
            })
            .await??;
            println!("created system admin {shown} ({id})");
            Ok(())
        }
    }
}

/// Creates a system admin with an already hashed password, and its agency when missing.
pub fn create_admin(
    url: &str,
    email: &str,
    hash: &str,
    name: &str,
    agency: &str,
) -> anyhow::Result<Uuid> {
    let mut conn = PgConnection::establish(url)?;
    conn.transaction(|conn| {
        if practitioners::email_taken(conn, email)? {
            anyhow::bail!("--email {email} is already in use");
        }
        let agency_id = match agencies::by_name(conn, agency)? {
            Some(id) => id,
            None => {
                agencies::insert(
                    conn,
                    NewAgencyRow {
                        id: Uuid::new_v4(),
                        name: agency.trim(),
                        kind: AgencyKind::Other.as_str(),
                        sensitive: false,
                        email: None,
                        phone: None,
                    },
                )?
                .id
            }
        };
        let id = Uuid::new_v4();
        practitioners::insert(
            conn,
            NewPractitionerRow {
                id,
                agency_id,
                display_name: name.trim(),
                email: email.trim(),
                job_title: None,
                phone: None,
                mobile: None,
                role: Role::SystemAdmin.as_str(),
                password_hash: Some(hash),
            },
        )?;
        Ok(id)
    })
}
