//! Signing in and out: `login`, `refresh`, `logout`, and turning an access token into an
//! [`Actor`] once per request.

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::auth::tokens::{
    new_refresh_token, refresh_digest, seal_successor, unseal_successor, AccessToken, RefreshSecret,
};
use crate::auth::{password, Actor, RequestMeta};
use crate::db::models::{NewRefreshTokenRow, PractitionerRow, RefreshTokenRow};
use crate::db::{login_failures, practitioners, refresh_tokens};
use crate::domain::AuditAction;
use crate::policy::Reader;
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{LoginError, ServiceError, ServiceResult};
use crate::service::rate::window_start;
use crate::state::AppState;
use sha2::{Digest, Sha256};

/// What a successful sign-in or refresh hands back.
pub struct Session {
    pub access: AccessToken,
    pub refresh_token: String,
    pub practitioner: PractitionerRow,
}

/// Resolves a verified access token's subject to the practitioner's current standing, as the
/// reader the request will use. A deactivated practitioner is refused even while their token is
/// unexpired.
pub async fn load_caller(state: &AppState, practitioner_id: Uuid) -> ServiceResult<Reader> {
    use secrecy::ExposeSecret;
    let today = state.today();
    let url = state.config.database_url.expose_secret();
    if let Some(kept) = state.callers.get(url, practitioner_id, today) {
        return Ok(kept);
    }
    let generation = state.callers.generation();
    let reader = crate::db::run(&state.pool, move |conn| {
        crate::service::readers::load_caller(conn, practitioner_id, today)?
            .ok_or(ServiceError::Unauthenticated)
    })
    .await?;
    state.callers.keep(&reader, generation);
    Ok(reader)
}

/// The account's counter: keyed by a digest of the address, so that any length of input makes
/// a key of the same small size.
fn account_bucket(email: &str) -> String {
    let digest = Sha256::digest(email.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("account:{hex}")
}

fn address_bucket(addr: &str) -> String {
    format!("address:{addr}")
}

fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// What the audit log keeps of a typed email: no address is longer than 254 characters, and
/// an attacker's megabyte is not evidence worth storing whole.
fn audited_email(email: &str) -> String {
    email.chars().take(254).collect()
}

/// Signs in with email and password. Unknown email and wrong password answer alike; attempts
/// are limited per account and per client address. Each attempt is counted before its
/// password is checked, so a burst evaluates at most the limit; a success is given back.
pub async fn login(
    state: &AppState,
    meta: &RequestMeta,
    email: String,
    password: String,
) -> Result<Session, LoginError> {
    let email = normalise_email(&email);
    let limits = state.config.login_limits.clone();
    let now = Utc::now();
    let window = window_start(now, limits.window);
    let address = meta.client_addr.clone();

    // 1. Take an attempt from both counters, and read the stored hash, without holding a
    //    connection while hashing.
    let (email_c, address_c, meta_c) = (email.clone(), address.clone(), meta.clone());
    let candidate = crate::db::run(&state.pool, move |conn| {
        let account_attempts = login_failures::take(conn, &account_bucket(&email_c), window)?;
        let address_attempts = match &address_c {
            Some(a) => login_failures::take(conn, &address_bucket(a), window)?,
            None => 0,
        };
        if account_attempts > i64::from(limits.per_account)
            || address_attempts > i64::from(limits.per_address)
        {
            audit::record(
                conn,
                None,
                &meta_c,
                AuditEvent {
                    details: Some(serde_json::json!({ "email": audited_email(&email_c) })),
                    ..AuditEvent::of(AuditAction::LoginRateLimited)
                },
            )?;
            return Err(LoginError::RateLimited {
                retry_after: crate::service::rate::seconds_left(now, limits.window),
            });
        }
        Ok(practitioners::with_password_hash(conn, &email_c)?)
    })
    .await?;

    // 2. Verify on the blocking pool: argon2 is slow on purpose.
    let (row, hash) = match candidate {
        Some((row, hash)) if row.active => (Some(row), hash),
        _ => (None, None),
    };
    let verified = password::off_executor(move || password::verify(&password, hash.as_deref()))
        .await
        .map_err(ServiceError::Internal)?;

    // 3. Record the outcome and, on success, open a new refresh-token family. A failure was
    //    counted in step 1.
    let meta = meta.clone();
    let state_c = state.clone();
    match (row, verified) {
        (Some(row), true) => Ok(crate::db::run(&state.pool, move |conn| {
            conn.transaction(|conn| {
                login_failures::clear(conn, &account_bucket(&email))?;
                if let Some(a) = &address {
                    login_failures::give_back(conn, &address_bucket(a), window)?;
                }
                let actor = actor_of(&row)?;
                audit::record(
                    conn,
                    Some(&actor),
                    &meta,
                    AuditEvent {
                        subject_type: Some("practitioner"),
                        subject_id: Some(row.id),
                        ..AuditEvent::of(AuditAction::LoginSucceeded)
                    },
                )?;
                open_session(conn, &state_c, row, Uuid::new_v4(), new_refresh_token())
            })
        })
        .await?),
        _ => {
            crate::db::run(&state.pool, move |conn| {
                audit::record(
                    conn,
                    None,
                    &meta,
                    AuditEvent {
                        details: Some(serde_json::json!({ "email": audited_email(&email) })),
                        ..AuditEvent::of(AuditAction::LoginFailed)
                    },
                )
            })
            .await?;
            Err(LoginError::WrongCredentials)
        }
    }
}

/// The actor a practitioner's row stands for.
pub(crate) fn actor_of(row: &PractitionerRow) -> ServiceResult<Actor> {
    Ok(Actor {
        practitioner_id: row.id,
        agency_id: row.agency_id,
        role: row.role.parse().map_err(anyhow::Error::from)?,
    })
}

/// Issues an access token and a refresh token in `family`.
pub fn open_session(
    conn: &mut PgConnection,
    state: &AppState,
    practitioner: PractitionerRow,
    family_id: Uuid,
    secret: RefreshSecret,
) -> ServiceResult<Session> {
    let now = Utc::now();
    let actor = actor_of(&practitioner)?;
    let expires_at = now
        + chrono::Duration::from_std(state.config.refresh_token_ttl)
            .map_err(anyhow::Error::from)?;
    refresh_tokens::insert(
        conn,
        NewRefreshTokenRow {
            id: Uuid::new_v4(),
            family_id,
            practitioner_id: practitioner.id,
            token_hash: secret.digest,
            expires_at,
        },
    )?;
    let access = state
        .tokens
        .issue(actor.practitioner_id, actor.agency_id, actor.role, now)?;
    Ok(Session {
        access,
        refresh_token: secret.token,
        practitioner,
    })
}

enum RefreshOutcome {
    Rotated(Box<Session>),
    Refused,
}

/// Exchanges a refresh token for a new pair. The presented token is rotated out; presenting
/// it again later revokes its whole family (a stolen token is then useless to both holders),
/// except within `REFRESH_REUSE_GRACE` of its rotation while its successor is unused: a client
/// retrying a refresh whose answer it lost gets the same successor and a fresh access token.
pub async fn refresh(
    state: &AppState,
    meta: &RequestMeta,
    token: String,
) -> ServiceResult<Session> {
    let digest = refresh_digest(&token);
    let state_c = state.clone();
    let meta = meta.clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let Some(row) = refresh_tokens::lock_by_digest(conn, &digest)? else {
                return Ok(RefreshOutcome::Refused);
            };
            let now = Utc::now();
            if row.revoked_at.is_some() {
                return Ok(RefreshOutcome::Refused);
            }
            if let Some(rotated_at) = row.rotated_at {
                if let Some(session) = retried(conn, &state_c, &token, &row, rotated_at, now)? {
                    return Ok(RefreshOutcome::Rotated(Box::new(session)));
                }
                // A rotated token came back: someone holds a copy. End the family.
                refresh_tokens::revoke_family(conn, row.family_id, now)?;
                audit::record(
                    conn,
                    None,
                    &meta,
                    AuditEvent {
                        subject_type: Some("practitioner"),
                        subject_id: Some(row.practitioner_id),
                        ..AuditEvent::of(AuditAction::RefreshTokenReused)
                    },
                )?;
                return Ok(RefreshOutcome::Refused);
            }
            if row.expires_at <= now {
                return Ok(RefreshOutcome::Refused);
            }
            let practitioner = practitioners::get(conn, row.practitioner_id)?;
            if !practitioner.active {
                return Ok(RefreshOutcome::Refused);
            }
            let successor = new_refresh_token();
            let sealed = seal_successor(&token, &successor.token);
            refresh_tokens::mark_rotated(conn, row.id, now, sealed)?;
            open_session(conn, &state_c, practitioner, row.family_id, successor)
                .map(|s| RefreshOutcome::Rotated(Box::new(s)))
        })
    })
    .await?;
    match outcome {
        RefreshOutcome::Rotated(session) => Ok(*session),
        RefreshOutcome::Refused => Err(ServiceError::Unauthenticated),
    }
}

/// A retry of the refresh that rotated `row` out: within the grace window, with its successor
/// still unused and the practitioner still active, the same successor and a new access token.
fn retried(
    conn: &mut PgConnection,
    state: &AppState,
    token: &str,
    row: &RefreshTokenRow,
    rotated_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ServiceResult<Option<Session>> {
    let grace = chrono::Duration::from_std(state.config.refresh_reuse_grace)
        .map_err(anyhow::Error::from)?;
    if grace.is_zero() || now - rotated_at > grace {
        return Ok(None);
    }
    let Some(successor) = row
        .successor_sealed
        .as_deref()
        .and_then(|sealed| unseal_successor(token, sealed))
    else {
        return Ok(None);
    };
    let Some(next) = refresh_tokens::lock_by_digest(conn, &refresh_digest(&successor))? else {
        return Ok(None);
    };
    let unused = next.rotated_at.is_none() && next.revoked_at.is_none() && next.expires_at > now;
    if next.family_id != row.family_id || !unused {
        return Ok(None);
    }
    let practitioner = practitioners::get(conn, row.practitioner_id)?;
    if !practitioner.active {
        return Ok(None);
    }
    let actor = actor_of(&practitioner)?;
    let access = state
        .tokens
        .issue(actor.practitioner_id, actor.agency_id, actor.role, now)?;
    Ok(Some(Session {
        access,
        refresh_token: successor,
        practitioner,
    }))
}

/// Ends the session the refresh token belongs to. Answers the same for an unknown token.
pub async fn logout(state: &AppState, token: String) -> ServiceResult<()> {
    let digest = refresh_digest(&token);
    crate::db::run(&state.pool, move |conn| {
        if let Some(family) = refresh_tokens::family_of(conn, &digest)? {
            refresh_tokens::revoke_family(conn, family, Utc::now())?;
        }
        Ok(())
    })
    .await
}
