//! Typed configuration, read from the environment once at start.
//!
//! Every problem names the variable at fault, so a misconfigured deployment fails with one
//! clear line instead of at the first request.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use chrono_tz::Tz;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};

/// Where the service runs: production hides development aids (GraphiQL, introspection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Production,
    Development,
}

/// Limits on failed sign-ins, counted per account and per client address in fixed windows.
#[derive(Clone, Debug)]
pub struct LoginLimits {
    pub window: Duration,
    pub per_account: u32,
    pub per_address: u32,
}

/// The whole configuration of one server process.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: SecretString,
    pub migration_database_url: Option<SecretString>,
    pub bind_addr: SocketAddr,
    pub jwt_secret: SecretString,
    /// Further keys access tokens may be signed with (during a key rotation); never used to sign.
    pub jwt_accepted_secrets: Vec<SecretString>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long a just-rotated refresh token may be presented again (a client retrying a
    /// refresh whose answer it lost) and get the same successor; zero turns it off.
    pub refresh_reuse_grace: Duration,
    pub public_url: String,
    /// Where links in mail lead instead of this server's web client: `{path}` stands for the
    /// path the web client would open (`/children/<id>`, `/set-password?token=...`).
    pub app_link_template: Option<String>,
    pub environment: Environment,
    pub timezone: Tz,
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
    pub db_pool_size: u32,
    /// How long a request waits for a free connection before it is refused.
    pub db_pool_timeout: Duration,
    /// HTTP worker threads; by default one per core.
    pub http_workers: Option<usize>,
    pub login_limits: LoginLimits,
    /// Searches one practitioner may run per window; more are refused and audited.
    pub search_limit: SearchLimit,
    /// Requests one API client may make per window (token requests included).
    pub api_limit: SearchLimit,
    pub mail: MailSettings,
    pub webhooks: WebhookSettings,
    /// When set, `GET /metrics` requires it as a bearer token.
    pub metrics_token: Option<SecretString>,
    /// Whether `serve` and `worker` apply pending migrations when they start (development's
    /// default); otherwise they refuse to start on an older schema (`patchwork migrate` first).
    pub migrate_on_start: bool,
    /// Browser origins allowed to call the API (CORS), exactly as browsers send them.
    pub cors_origins: Vec<String>,
    /// Whether only registered persisted queries run (`PERSISTED_QUERIES=only`), or clients
    /// may also send documents and have them remembered by hash (`auto`, the default).
    pub persisted_queries_only: bool,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` names the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// A cap on requests per caller in fixed windows: searches per practitioner (against
/// enumeration of the child index), calls per API client.
#[derive(Clone, Copy, Debug)]
pub struct SearchLimit {
    pub per_window: u32,
    pub window: Duration,
}

/// How the outbox is delivered.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// Where messages are written as `.eml` files in development when `SMTP_URL` is unset.
    pub dir: std::path::PathBuf,
    /// How often an idle worker looks for work.
    pub poll: Duration,
    /// How long a claimed message is reserved for the worker that claimed it.
    pub lease: Duration,
    /// Attempts before a message is marked failed.
    pub max_attempts: u32,
    /// The first retry's delay; each later one doubles it.
    pub retry_base: Duration,
    /// How long one SMTP exchange may take.
    pub timeout: Duration,
    /// The local hour after which the daily jobs (digests, overdue tasks) run; 24 never.
    pub daily_hour: u32,
    /// Whether `serve` runs a delivery worker in-process.
    pub worker_in_server: bool,
}

/// How webhooks are delivered.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Networks webhooks may reach although they are private or loopback (and where plain
    /// HTTP is then allowed): none by default.
    pub allowed_networks: Vec<ipnet::IpNet>,
    /// How long one delivery may take, connection included.
    pub timeout: Duration,
    /// How often an idle worker looks for work.
    pub poll: Duration,
    /// How long a worker holds an endpoint it delivers to.
    pub lease: Duration,
    /// Attempts at one delivery before it becomes a dead letter.
    pub max_attempts: u32,
    /// The endpoint's first back-off after a failure; each further failure doubles it (with
    /// jitter), up to an hour.
    pub retry_base: Duration,
    /// Failed attempts in a row after which an endpoint is disabled and its admins mailed.
    pub disable_after: u32,
}

/// A configuration problem, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

fn fail<T>(name: &'static str, problem: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError {
        name,
        problem: problem.into(),
    })
}

/// A source of variables: the process environment, or a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<S: std::hash::BuildHasher> Source for std::collections::HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<String> {
        std::collections::HashMap::get(self, name)
            .cloned()
            .filter(|v| !v.trim().is_empty())
    }
}

/// Parses a duration such as `900`, `900s`, `15m`, `12h` or `30d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    if unit.trim() == "ms" {
        return (n > 0).then(|| Duration::from_millis(n));
    }
    let seconds = match unit.trim() {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

fn duration_var(
    env: &impl Source,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(v) => parse_duration(&v).map_or_else(
            || {
                fail(
                    name,
                    format!("'{v}' is not a duration such as 900s, 15m, 12h or 30d"),
                )
            },
            Ok,
        ),
    }
}

fn number_var(env: &impl Source, name: &'static str, default: u32) -> Result<u32, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => fail(name, format!("'{v}' is not a positive whole number")),
        },
    }
}

fn number_or_zero(env: &impl Source, name: &'static str, default: u32) -> Result<u32, ConfigError> {
    match env.get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .map_or_else(|_| fail(name, format!("'{v}' is not a whole number")), Ok),
    }
}

fn postgres_url(name: &'static str, value: String) -> Result<SecretString, ConfigError> {
    if value.starts_with("postgres://") || value.starts_with("postgresql://") {
        Ok(SecretString::from(value))
    } else {
        fail(name, "must be a postgres:// or postgresql:// URL")
    }
}

/// Secrets that may instead be read from a file named by `<NAME>_FILE` (container secrets,
/// systemd credentials), so that they never sit in the environment.
pub const SECRET_VARS: [&str; 6] = [
    "DATABASE_URL",
    "MIGRATION_DATABASE_URL",
    "JWT_SECRET",
    "JWT_ACCEPTED_SECRETS",
    "SMTP_URL",
    "METRICS_TOKEN",
];

/// A source whose secrets were read from files where `<NAME>_FILE` said so.
struct WithSecretFiles<'a, S> {
    env: &'a S,
    from_files: Vec<(&'static str, String)>,
}

impl<S: Source> Source for WithSecretFiles<'_, S> {
    fn get(&self, name: &str) -> Option<String> {
        match self.from_files.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => Some(value.clone()),
            None => self.env.get(name),
        }
    }
}

fn secret_files(env: &impl Source) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let mut out = Vec::new();
    for name in SECRET_VARS {
        let Some(path) = env.get(&format!("{name}_FILE")) else {
            continue;
        };
        if env.get(name).is_some() {
            return fail(name, format!("is set, and so is {name}_FILE: set only one"));
        }
        let value = match std::fs::read_to_string(path.trim()) {
            Ok(v) => v.trim_end_matches(['\n', '\r']).to_owned(),
            Err(e) => {
                return fail(
                    name,
                    format!("could not be read from {name}_FILE ({}): {e}", path.trim()),
                )
            }
        };
        if value.trim().is_empty() {
            return fail(name, format!("{name}_FILE ({}) is empty", path.trim()));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// One variable of the process environment, from its `_FILE` where that is how it is given.
pub fn process_var(name: &str) -> Result<Option<String>, ConfigError> {
    let from_files = secret_files(&ProcessEnv)?;
    Ok(WithSecretFiles {
        env: &ProcessEnv,
        from_files,
    }
    .get(name))
}

/// Whether the process runs in development, where a `.env` file is read too.
pub fn reads_dotenv() -> bool {
    std::env::var("PATCHWORK_ENV").is_ok_and(|v| v == "development")
}

impl Config {
    /// Reads the configuration from the process environment; in development, a `.env` file too.
    pub fn from_env() -> Result<Config, ConfigError> {
        if reads_dotenv() {
            let _ = dotenvy::dotenv();
        }
        Config::from_source(&ProcessEnv)
    }

    /// Reads the configuration from any source of variables; secrets may come from files.
    pub fn from_source(env: &impl Source) -> Result<Config, ConfigError> {
        let from_files = secret_files(env)?;
        let env = &WithSecretFiles { env, from_files };
        let database_url = match env.get("DATABASE_URL") {
            Some(v) => postgres_url("DATABASE_URL", v)?,
            None => return fail("DATABASE_URL", "is required (a postgres:// URL)"),
        };
        let migration_database_url = env
            .get("MIGRATION_DATABASE_URL")
            .map(|v| postgres_url("MIGRATION_DATABASE_URL", v))
            .transpose()?;

        let bind_addr = match env.get("BIND_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => match v.parse() {
                Ok(addr) => addr,
                Err(_) => return fail("BIND_ADDR", format!("'{v}' is not a host:port address")),
            },
        };

        let jwt_secret = match env.get("JWT_SECRET") {
            None => {
                return fail(
                    "JWT_SECRET",
                    "is required (at least 32 bytes of random text)",
                )
            }
            Some(v) if v.len() < 32 => {
                return fail(
                    "JWT_SECRET",
                    format!("is {} bytes; at least 32 are needed", v.len()),
                )
            }
            Some(v) => SecretString::from(v),
        };
        let mut jwt_accepted_secrets = Vec::new();
        for (i, key) in env
            .get("JWT_ACCEPTED_SECRETS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .enumerate()
        {
            if key.len() < 32 {
                return fail(
                    "JWT_ACCEPTED_SECRETS",
                    format!(
                        "key {} is {} bytes; at least 32 are needed",
                        i + 1,
                        key.len()
                    ),
                );
            }
            jwt_accepted_secrets.push(SecretString::from(key.to_owned()));
        }

        let access_token_ttl = duration_var(env, "ACCESS_TOKEN_TTL", Duration::from_secs(15 * 60))?;
        let refresh_token_ttl =
            duration_var(env, "REFRESH_TOKEN_TTL", Duration::from_secs(30 * 86_400))?;
        if refresh_token_ttl <= access_token_ttl {
            return fail("REFRESH_TOKEN_TTL", "must be longer than ACCESS_TOKEN_TTL");
        }
        let refresh_reuse_grace = match env.get("REFRESH_REUSE_GRACE") {
            None => Duration::from_secs(30),
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n <= 300 => Duration::from_secs(n),
                _ => return fail("REFRESH_REUSE_GRACE", "must be 0 to 300 seconds"),
            },
        };

        let environment = match env.get("PATCHWORK_ENV").as_deref() {
            None | Some("production") => Environment::Production,
            Some("development") => Environment::Development,
            Some(v) => {
                return fail(
                    "PATCHWORK_ENV",
                    format!("'{v}' is neither production nor development"),
                )
            }
        };

        let public_url = match env.get("PUBLIC_URL") {
            Some(v) if v.starts_with("https://") || v.starts_with("http://") => {
                v.trim_end_matches('/').to_owned()
            }
            Some(v) => return fail("PUBLIC_URL", format!("'{v}' is not an http(s) URL")),
            None if environment == Environment::Development => format!("http://{bind_addr}"),
            None => return fail("PUBLIC_URL", "is required in production (links in emails)"),
        };

        let app_link_template = match env.get("APP_LINK_TEMPLATE").as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) if v.contains("{path}") && !v.contains(char::is_whitespace) => {
                Some(v.to_owned())
            }
            Some(_) => {
                return fail(
                    "APP_LINK_TEMPLATE",
                    "must contain {path} (e.g. https://app.example/open{path}) and no spaces",
                )
            }
        };

        let timezone = match env.get("PATCHWORK_TIMEZONE") {
            None => chrono_tz::Europe::London,
            Some(v) => match v.parse::<Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    return fail(
                        "PATCHWORK_TIMEZONE",
                        format!("'{v}' is not an IANA time zone"),
                    )
                }
            },
        };

        let trusted_proxies = match env.get("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(v) => parse_networks(&v).or_else(|problem| fail("TRUSTED_PROXIES", problem))?,
        };

        let smtp_url = match env.get("SMTP_URL") {
            None => None,
            Some(v) if v.starts_with("smtp://") || v.starts_with("smtps://") => {
                Some(SecretString::from(v))
            }
            Some(_) => return fail("SMTP_URL", "must be an smtp:// or smtps:// URL"),
        };
        let mail_from = env
            .get("MAIL_FROM")
            .unwrap_or_else(|| "Patchwork <no-reply@patchwork.invalid>".to_owned());
        if !mail_from.contains('@') {
            return fail(
                "MAIL_FROM",
                format!("'{mail_from}' is not an email address"),
            );
        }

        let login_limits = LoginLimits {
            window: duration_var(env, "LOGIN_FAILURE_WINDOW", Duration::from_secs(15 * 60))?,
            per_account: number_var(env, "LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)?,
            per_address: number_var(env, "LOGIN_MAX_FAILURES_PER_ADDRESS", 100)?,
        };

        let daily_hour = number_or_zero(env, "DAILY_JOBS_HOUR", 7)?;
        if daily_hour > 24 {
            return fail("DAILY_JOBS_HOUR", "must be 0 to 23, or 24 for never");
        }
        let mail = MailSettings {
            dir: env
                .get("MAIL_DIR")
                .unwrap_or_else(|| "var/mail".to_owned())
                .into(),
            poll: duration_var(env, "MAIL_POLL_INTERVAL", Duration::from_secs(2))?,
            lease: duration_var(env, "MAIL_LEASE", Duration::from_secs(60))?,
            max_attempts: number_var(env, "MAIL_MAX_ATTEMPTS", 8)?,
            retry_base: duration_var(env, "MAIL_RETRY_BASE", Duration::from_secs(30))?,
            timeout: duration_var(env, "SMTP_TIMEOUT", Duration::from_secs(20))?,
            daily_hour,
            worker_in_server: match env.get("MAIL_WORKER").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(v) => return fail("MAIL_WORKER", format!("'{v}' is neither on nor off")),
            },
        };

        let migrate_on_start = match env.get("MIGRATE_ON_START").as_deref() {
            None => environment == Environment::Development,
            Some("true") => true,
            Some("false") => false,
            Some(v) => {
                return fail(
                    "MIGRATE_ON_START",
                    format!("'{v}' is neither true nor false"),
                )
            }
        };

        let mut cors_origins = Vec::new();
        for origin in env
            .get("CORS_ALLOWED_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            let rest = origin.split_once("://").map(|(_, r)| r).unwrap_or("");
            if !(origin.starts_with("https://") || origin.starts_with("http://"))
                || rest.is_empty()
                || rest.contains(['/', '?', '#', ' '])
            {
                return fail(
                    "CORS_ALLOWED_ORIGINS",
                    format!("'{origin}' is not an origin such as https://app.council.example"),
                );
            }
            cors_origins.push(origin.to_owned());
        }

        Ok(Config {
            database_url,
            migration_database_url,
            bind_addr,
            jwt_secret,
            jwt_accepted_secrets,
            access_token_ttl,
            refresh_token_ttl,
            refresh_reuse_grace,
            public_url,
            environment,
            timezone,
            smtp_url,
            mail_from,
            db_pool_size: number_var(env, "DATABASE_POOL_SIZE", 16)?,
            db_pool_timeout: duration_var(env, "DATABASE_POOL_TIMEOUT", Duration::from_secs(2))?,
            http_workers: match env.get("HTTP_WORKERS") {
                None => None,
                Some(_) => Some(number_var(env, "HTTP_WORKERS", 1)? as usize),
            },
            login_limits,
            search_limit: SearchLimit {
                per_window: number_var(env, "SEARCH_LIMIT", 60)?,
                window: duration_var(env, "SEARCH_WINDOW", Duration::from_secs(15 * 60))?,
            },
            api_limit: SearchLimit {
                per_window: number_var(env, "API_RATE_LIMIT", 600)?,
                window: duration_var(env, "API_RATE_WINDOW", Duration::from_secs(60))?,
            },
            mail,
            webhooks: WebhookSettings {
                allowed_networks: match env.get("WEBHOOK_ALLOWED_NETWORKS") {
                    None => Vec::new(),
                    Some(v) => parse_networks(&v)
                        .or_else(|problem| fail("WEBHOOK_ALLOWED_NETWORKS", problem))?,
                },
                timeout: duration_var(env, "WEBHOOK_TIMEOUT", Duration::from_secs(10))?,
                poll: duration_var(env, "WEBHOOK_POLL_INTERVAL", Duration::from_secs(1))?,
                lease: duration_var(env, "WEBHOOK_LEASE", Duration::from_secs(60))?,
                max_attempts: number_var(env, "WEBHOOK_MAX_ATTEMPTS", 8)?,
                retry_base: duration_var(env, "WEBHOOK_RETRY_BASE", Duration::from_secs(10))?,
                disable_after: number_var(env, "WEBHOOK_DISABLE_AFTER", 50)?,
            },
            metrics_token: env.get("METRICS_TOKEN").map(SecretString::from),
            migrate_on_start,
            cors_origins,
            app_link_template,
            persisted_queries_only: match env.get("PERSISTED_QUERIES").as_deref() {
                None | Some("auto") => false,
                Some("only") => true,
                Some(v) => {
                    return fail(
                        "PERSISTED_QUERIES",
                        format!("'{v}' is neither auto nor only"),
                    )
                }
            },
            trusted_proxies,
        })
    }

    /// The URL migrations run with: the owner role when one is configured.
    pub fn migration_url(&self) -> &str {
        self.migration_database_url
            .as_ref()
            .unwrap_or(&self.database_url)
            .expose_secret()
    }

    pub fn is_development(&self) -> bool {
        self.environment == Environment::Development
    }
}

/// Parses a list of networks (`TRUSTED_PROXIES`, `WEBHOOK_ALLOWED_NETWORKS`): comma-separated
/// CIDRs or single addresses.
pub fn parse_networks(value: &str) -> Result<Vec<IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{s}' is not an address or a CIDR such as 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<String, String> {
        HashMap::from([
            (
                "DATABASE_URL".into(),
                "postgres://localhost/patchwork".into(),
            ),
            ("JWT_SECRET".into(), "x".repeat(32)),
            ("PUBLIC_URL".into(), "https://patchwork.example.org/".into()),
        ])
    }

    #[test]
    fn secrets_may_come_from_files() {
        let dir = std::env::temp_dir().join(format!("patchwork-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("jwt");
        std::fs::write(&secret, format!("{}\n", "s".repeat(40))).unwrap();
        let mut env = base();
        env.remove("JWT_SECRET");
        env.insert("JWT_SECRET_FILE".into(), secret.display().to_string());
        let config = Config::from_source(&env).unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(config.jwt_secret.expose_secret(), "s".repeat(40));

        // Both at once, a missing file and an empty one are refused, naming the variable.
        env.insert("JWT_SECRET".into(), "x".repeat(32));
        let both = Config::from_source(&env).unwrap_err();
        assert_eq!(both.name, "JWT_SECRET");
        assert!(both.problem.contains("JWT_SECRET_FILE"), "{both}");
        env.remove("JWT_SECRET");
        env.insert(
            "JWT_SECRET_FILE".into(),
            dir.join("absent").display().to_string(),
        );
        assert_eq!(Config::from_source(&env).unwrap_err().name, "JWT_SECRET");
        let empty = dir.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        env.insert("JWT_SECRET_FILE".into(), empty.display().to_string());
        assert!(Config::from_source(&env)
            .unwrap_err()
            .problem
            .contains("empty"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn defaults_apply() {
        let config = Config::from_source(&base()).unwrap();
        assert_eq!(config.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.refresh_token_ttl, Duration::from_secs(30 * 86_400));
        assert_eq!(config.refresh_reuse_grace, Duration::from_secs(30));
        assert_eq!(config.environment, Environment::Production);
        assert_eq!(config.timezone, chrono_tz::Europe::London);
        assert_eq!(config.public_url, "https://patchwork.example.org");
    }

    #[test]
    fn errors_name_the_variable() {
        for (name, value) in [
            ("JWT_SECRET", "short"),
            ("BIND_ADDR", "nowhere"),
            ("ACCESS_TOKEN_TTL", "soon"),
            ("PATCHWORK_ENV", "staging"),
            ("PATCHWORK_TIMEZONE", "Mars/Olympus"),
            ("DATABASE_URL", "mysql://x"),
            ("SMTP_URL", "http://mail"),
        ] {
            let mut env = base();
            env.insert(name.into(), value.into());
            let err = Config::from_source(&env).unwrap_err();
            assert_eq!(err.name, name, "{err}");
        }
        let mut env = base();
        env.remove("DATABASE_URL");
        assert_eq!(Config::from_source(&env).unwrap_err().name, "DATABASE_URL");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("0"), None);
        assert_eq!(parse_duration("5w"), None);
    }
}
