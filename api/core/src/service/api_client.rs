//! API clients (rule 10): registering a vendor's system for an agency, and giving it access
//! tokens through OAuth 2.0 client credentials (RFC 6749 §4.4), authenticated by a shared
//! secret (`client_secret_basic`) or by an assertion signed with its key (`private_key_jwt`,
//! RFC 7523). A client acts as its agency's admin, within its scopes.

use chrono::Utc;
use diesel::Connection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::tokens::{new_refresh_token, AccessToken};
use crate::auth::{Actor, RequestMeta};
use crate::db::api_clients::{self, ApiClientRow, NewApiClient};
use crate::domain::{ApiScope, AuditAction, Role};
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{FieldError, LimitedError, ServiceError, ServiceResult};
use crate::service::rate;
use crate::state::AppState;

/// A client to register.
#[derive(Debug, Clone)]
pub struct CreateApiClientInput {
    pub name: String,
    pub scopes: Vec<ApiScope>,
    /// A PEM public key (RSA or EC P-256) for `private_key_jwt`; without one, the client gets a
    /// secret for `client_secret_basic`.
    pub public_key_pem: Option<String>,
}

/// A registered client, with its secret: shown this once, stored only as a digest.
#[derive(Debug)]
pub struct CreatedApiClient {
    pub client: ApiClientRow,
    pub secret: Option<String>,
}

/// The scopes a client holds, as stored.
pub fn scopes_of(row: &ApiClientRow) -> Vec<ApiScope> {
    row.scopes.iter().filter_map(|s| s.parse().ok()).collect()
}

/// Checks that `pem` is a public key a client may sign assertions with.
pub fn check_public_key(pem: &str) -> Result<(), &'static str> {
    let rsa = jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).is_ok();
    let ec = jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()).is_ok();
    if rsa || ec {
        Ok(())
    } else {
        Err("is not an RSA or EC public key in PEM")
    }
}

/// Registers a client for the caller's agency.
pub async fn create_api_client(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    input: CreateApiClientInput,
) -> ServiceResult<CreatedApiClient> {
    policy::ensure_manages_api_clients(&actor)?;
    let name = input.name.trim().to_owned();
    let mut fields = Vec::new();
    if name.is_empty() {
        fields.push(FieldError::new("name", "must not be blank"));
    } else if name.chars().count() > 200 {
        fields.push(FieldError::new("name", "must be at most 200 characters"));
    }
    let mut scopes = input.scopes.clone();
    scopes.sort_by_key(|s| s.as_str());
    scopes.dedup();
    if scopes.is_empty() {
        fields.push(FieldError::new("scopes", "must name at least one scope"));
    }
    let pem = input
        .public_key_pem
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned);
    if let Some(pem) = &pem {
        if pem.len() > 10_000 {
            fields.push(FieldError::new("publicKeyPem", "is too long"));
        } else if let Err(problem) = check_public_key(pem) {
            fields.push(FieldError::new("publicKeyPem", problem));
        }
    }
    if !fields.is_empty() {
        return Err(ServiceError::Invalid(fields));
    }
    let secret = pem.is_none().then(new_refresh_token);
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let id = Uuid::new_v4();
            let client = api_clients::insert(
                conn,
                NewApiClient {
                    id,
                    agency: actor.agency_id,
                    name: &name,
                    scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                    secret_hash: secret.as_ref().map(|s| s.digest.clone()),
                    public_key_pem: pem.as_deref(),
                    created_by: actor.practitioner_id,
                },
            )?;
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    subject_type: Some("api_client"),
                    subject_id: Some(id),
                    details: Some(serde_json::json!({
                        "name": name,
                        "scopes": client.scopes,
                        "authentication": if pem.is_some() { "private_key_jwt" } else { "client_secret_basic" },
                    })),
                    ..AuditEvent::of(AuditAction::ApiClientCreated)
                },
            )?;
            Ok(CreatedApiClient {
                client,
                secret: secret.map(|s| s.token),
            })
        })
    })
    .await
}

/// The caller's agency's clients.
pub async fn api_clients(state: &AppState, actor: Actor) -> ServiceResult<Vec<ApiClientRow>> {
    policy::ensure_manages_api_clients(&actor)?;
    crate::db::run(&state.pool, move |conn| {
        Ok(api_clients::of_agency(conn, actor.agency_id)?)
    })
    .await
}

/// Revokes one of the caller's agency's clients: its tokens stop working on their next use.
/// Revoking a revoked client changes nothing.
pub async fn revoke_api_client(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    id: Uuid,
) -> ServiceResult<ApiClientRow> {
    policy::ensure_manages_api_clients(&actor)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let row = api_clients::lock(conn, id)?
                .filter(|c| c.agency_id == actor.agency_id)
                .ok_or(ServiceError::NotFound)?;
            if row.revoked_at.is_some() {
                return Ok(row);
            }
            let row = api_clients::revoke(conn, id, actor.practitioner_id, Utc::now())?;
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    subject_type: Some("api_client"),
                    subject_id: Some(id),
                    ..AuditEvent::of(AuditAction::ApiClientRevoked)
                },
            )?;
            Ok(row)
        })
    })
    .await
}

/// How a client proves who it is at the token endpoint.
#[derive(Debug, Clone)]
pub enum ClientProof {
    /// `client_secret_basic`: the secret from registration.
    Secret(String),
    /// `private_key_jwt`: an assertion signed with the client's key.
    Assertion(String),
}

/// A token request: which client, its proof, and the scopes asked for (all the client holds
/// when None).
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub client_id: String,
    pub proof: ClientProof,
    pub scope: Option<String>,
}

/// An access token for a client, and the scopes it carries.
pub struct ClientToken {
    pub token: AccessToken,
    pub scopes: Vec<ApiScope>,
}

/// Authenticates a client and gives it a short-lived access token. Every refusal is the same
/// UNAUTHENTICATED, whether the client is unknown, revoked or the proof wrong; each is audited.
/// A scope asked for but not held is INVALID on `scope`.
pub async fn token(
    state: &AppState,
    meta: &RequestMeta,
    request: TokenRequest,
) -> Result<ClientToken, LimitedError> {
    let client_id = Uuid::parse_str(request.client_id.trim()).ok();
    let limit = state.config.api_limit;
    let audience = format!(
        "{}/oauth/token",
        state.config.public_url.trim_end_matches('/')
    );
    let state_c = state.clone();
    let meta = meta.clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let refuse = |conn: &mut diesel::PgConnection, why: &str| -> ServiceResult<_> {
                audit::record(
                    conn,
                    None,
                    &meta,
                    AuditEvent {
                        details: Some(serde_json::json!({
                            "clientId": request.client_id.chars().take(64).collect::<String>(),
                            "why": why,
                        })),
                        ..AuditEvent::of(AuditAction::ApiClientRefused)
                    },
                )?;
                Ok(Err(ServiceError::Unauthenticated.into()))
            };
            let Some(id) = client_id else {
                return refuse(conn, "unknown client");
            };
            // Counted before the proof is checked, like sign-in attempts.
            let hits = rate::hit(conn, &format!("client:{id}"), limit.window, Utc::now())?;
            if hits > limit.per_window as i32 {
                return Ok(Err(LimitedError::RateLimited {
                    retry_after: rate::seconds_left(Utc::now(), limit.window),
                }));
            }
            let Some((client, secret_hash)) = api_clients::usable(conn, id)? else {
                return refuse(conn, "unknown or revoked client");
            };
            let proven = match (&request.proof, &secret_hash, &client.public_key_pem) {
                (ClientProof::Secret(secret), Some(hash), _) => same_digest(secret, hash),
                (ClientProof::Assertion(jwt), _, Some(pem)) => {
                    match check_assertion(jwt, pem, id, &audience) {
                        Some((jti, expires)) => {
                            api_clients::use_assertion(conn, id, &jti, expires)?
                        }
                        None => false,
                    }
                }
                _ => false,
            };
            if !proven {
                return refuse(conn, "wrong proof");
            }
            let held = scopes_of(&client);
            let scopes = match &request.scope {
                None => held,
                Some(asked) => {
                    let mut granted = Vec::new();
                    for word in asked.split_whitespace() {
                        match word.parse::<ApiScope>() {
                            Ok(s) if held.contains(&s) => granted.push(s),
                            _ => {
                                return Ok(Err(ServiceError::invalid(
                                    "scope",
                                    format!(
                                        "{} is not a scope this client holds",
                                        word.chars().take(64).collect::<String>()
                                    ),
                                )
                                .into()))
                            }
                        }
                    }
                    granted.dedup();
                    if granted.is_empty() {
                        held
                    } else {
                        granted
                    }
                }
            };
            let actor = Actor {
                practitioner_id: client.id,
                agency_id: client.agency_id,
                role: Role::AgencyAdmin,
            };
            let scope = scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    subject_type: Some("api_client"),
                    subject_id: Some(client.id),
                    details: Some(serde_json::json!({ "scope": scope })),
                    ..AuditEvent::of(AuditAction::ApiTokenIssued)
                },
            )?;
            let token =
                state_c
                    .tokens
                    .issue_client(client.id, client.agency_id, &scope, Utc::now())?;
            Ok(Ok(ClientToken { token, scopes }))
        })
    })
    .await?;
    outcome
}

/// Compares a presented secret with the stored digest, in time that does not depend on where
/// they differ.
fn same_digest(secret: &str, stored: &[u8]) -> bool {
    let given = Sha256::digest(secret.as_bytes());
    given.len() == stored.len() && given.iter().zip(stored).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
}

/// The id and expiry of a valid client assertion (RFC 7523 §3): signed by the client's key,
/// issued by and about the client, for this token endpoint, unexpired and at most five minutes
/// long.
fn check_assertion(
    jwt: &str,
    pem: &str,
    client: Uuid,
    audience: &str,
) -> Option<(String, chrono::DateTime<Utc>)> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    #[derive(serde::Deserialize)]
    struct Assertion {
        exp: i64,
        iat: Option<i64>,
        jti: String,
    }
    let header = jsonwebtoken::decode_header(jwt).ok()?;
    let key = match header.alg {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256 => {
            DecodingKey::from_rsa_pem(pem.as_bytes()).ok()?
        }
        Algorithm::ES256 | Algorithm::ES384 => DecodingKey::from_ec_pem(pem.as_bytes()).ok()?,
        _ => return None,
    };
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[client.to_string()]);
    validation.sub = Some(client.to_string());
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 5;
    let claims = jsonwebtoken::decode::<Assertion>(jwt, &key, &validation)
        .ok()?
        .claims;
    let now = Utc::now().timestamp();
    let lifetime_ok = claims.exp - claims.iat.unwrap_or(now).min(now) <= 300;
    if !lifetime_ok || claims.jti.is_empty() || claims.jti.len() > 200 {
        return None;
    }
    Some((claims.jti, chrono::DateTime::from_timestamp(claims.exp, 0)?))
}

/// Where a client stands against its rate limit after a call.
#[derive(Clone, Copy, Debug)]
pub struct RateStatus {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window resets.
    pub reset: u64,
    pub window: u64,
}

/// An authenticated call by an API client.
pub struct ClientCall {
    /// The client as a reader of its agency (rule 10).
    pub reader: Reader,
    /// The scopes its token carries.
    pub scopes: Vec<ApiScope>,
    pub rate: RateStatus,
}

/// What an access token presented to the vendor API turns out to be.
pub enum CallAuth {
    /// Not a client's token, expired, or its client revoked since.
    Refused,
    /// Over the client's limit: refused, with when to retry.
    Limited(RateStatus),
    Allowed(ClientCall),
}

/// The API client behind an access token, settled with its agency's agreements and counted
/// against its rate limit, in one hand-off to the database.
pub async fn authenticate_call(state: &AppState, token: &str) -> ServiceResult<CallAuth> {
    let Some(claims) = state.tokens.verify_client(token) else {
        return Ok(CallAuth::Refused);
    };
    let today = state.today();
    let limit = state.config.api_limit;
    crate::db::run(&state.pool, move |conn| {
        let Some(reader) = crate::service::readers::load_caller(conn, claims.sub, today)? else {
            return Ok(CallAuth::Refused);
        };
        if reader.actor.agency_id != claims.agency {
            return Ok(CallAuth::Refused);
        }
        let now = Utc::now();
        let hits = rate::hit(conn, &format!("client:{}", claims.sub), limit.window, now)?;
        let window = limit.window.as_secs().max(1);
        let started = rate::window_start(now, limit.window);
        let rate = RateStatus {
            limit: limit.per_window,
            remaining: limit.per_window.saturating_sub(hits.max(0) as u32),
            reset: (window as i64 - (now - started).num_seconds()).max(1) as u64,
            window,
        };
        if hits > limit.per_window as i32 {
            return Ok(CallAuth::Limited(rate));
        }
        let scopes = claims
            .scope
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        Ok(CallAuth::Allowed(ClientCall {
            reader,
            scopes,
            rate,
        }))
    })
    .await
}
