//! Signing in and out: `login`, `refresh`, `logout`, and turning an access token into an
//! [`Actor`] once per request.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::auth::tokens::{new_refresh_token, refresh_digest, AccessToken};
use crate::auth::{password, Actor, RequestMeta};
use crate::db::functions::lower;
use crate::db::models::{NewRefreshTokenRow, PractitionerRow, RefreshTokenRow};
use crate::db::schema::{login_failures, practitioners, refresh_tokens};
use crate::policy::Reader;
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::rate::window_start;
use crate::state::AppState;

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
    let today = state.today();
    crate::db::run(&state.pool, move |conn| {
        Reader::load_caller(conn, practitioner_id, today)?.ok_or(ServiceError::Unauthenticated)
    })
    .await
}

fn account_bucket(email: &str) -> String {
    format!("account:{email}")
}

fn address_bucket(addr: &str) -> String {
    format!("address:{addr}")
}

fn failures_in(conn: &mut PgConnection, bucket: &str, since: DateTime<Utc>) -> QueryResult<i64> {
    login_failures::table
        .filter(login_failures::bucket.eq(bucket))
        .filter(login_failures::window_start.ge(since))
        .select(diesel::dsl::sum(login_failures::failures))
        .first::<Option<i64>>(conn)
        .map(|n| n.unwrap_or(0))
}

fn count_failure(conn: &mut PgConnection, bucket: &str, window: DateTime<Utc>) -> QueryResult<()> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::bucket.eq(bucket),
            login_failures::window_start.eq(window),
            login_failures::failures.eq(1),
        ))
        .on_conflict((login_failures::bucket, login_failures::window_start))
        .do_update()
        .set(login_failures::failures.eq(login_failures::failures + 1))
        .execute(conn)?;
    // Old windows are no longer consulted.
    diesel::delete(login_failures::table)
        .filter(login_failures::bucket.eq(bucket))
        .filter(login_failures::window_start.lt(window))
        .execute(conn)?;
    Ok(())
}

fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Signs in with email and password. Unknown email and wrong password answer alike; repeated
/// failures (only failures) are limited per account and per client address.
pub async fn login(
    state: &AppState,
    meta: &RequestMeta,
    email: String,
    password: String,
) -> ServiceResult<Session> {
    let email = normalise_email(&email);
    let limits = state.config.login_limits.clone();
    let now = Utc::now();
    let window = window_start(now, limits.window);
    let address = meta.client_addr.clone();

    // 1. Limits and the stored hash, without holding a connection while hashing.
    let (email_c, address_c, meta_c) = (email.clone(), address.clone(), meta.clone());
    let candidate = crate::db::run(&state.pool, move |conn| {
        let account_failures = failures_in(conn, &account_bucket(&email_c), window)?;
        let address_failures = match &address_c {
            Some(a) => failures_in(conn, &address_bucket(a), window)?,
            None => 0,
        };
        if account_failures >= i64::from(limits.per_account)
            || address_failures >= i64::from(limits.per_address)
        {
            audit::record(
                conn,
                None,
                &meta_c,
                AuditEvent {
                    action: "LOGIN_RATE_LIMITED",
                    details: Some(serde_json::json!({ "email": email_c })),
                    ..AuditEvent::default()
                },
            )?;
            return Err(ServiceError::RateLimited);
        }
        let row: Option<(PractitionerRow, Option<String>)> = practitioners::table
            .filter(lower(practitioners::email).eq(&email_c))
            .select((PractitionerRow::as_select(), practitioners::password_hash))
            .first(conn)
            .optional()?;
        Ok(row)
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

    // 3. Record the outcome and, on success, open a new refresh-token family.
    let meta = meta.clone();
    let state_c = state.clone();
    match (row, verified) {
        (Some(row), true) => {
            crate::db::run(&state.pool, move |conn| {
                conn.transaction(|conn| {
                    diesel::delete(login_failures::table)
                        .filter(login_failures::bucket.eq(account_bucket(&email)))
                        .execute(conn)?;
                    let actor = actor_of(&row)?;
                    audit::record(
                        conn,
                        Some(&actor),
                        &meta,
                        AuditEvent {
                            action: "LOGIN_SUCCEEDED",
                            subject_type: Some("practitioner"),
                            subject_id: Some(row.id),
                            ..AuditEvent::default()
                        },
                    )?;
                    open_session(conn, &state_c, row, Uuid::new_v4())
                })
            })
            .await
        }
        _ => {
            crate::db::run(&state.pool, move |conn| {
                conn.transaction(|conn| {
                    count_failure(conn, &account_bucket(&email), window)?;
                    if let Some(a) = &address {
                        count_failure(conn, &address_bucket(a), window)?;
                    }
                    audit::record(
                        conn,
                        None,
                        &meta,
                        AuditEvent {
                            action: "LOGIN_FAILED",
                            details: Some(serde_json::json!({ "email": email })),
                            ..AuditEvent::default()
                        },
                    )
                })
            })
            .await?;
            Err(ServiceError::Unauthenticated)
        }
    }
}

fn actor_of(row: &PractitionerRow) -> ServiceResult<Actor> {
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
) -> ServiceResult<Session> {
    let now = Utc::now();
    let actor = actor_of(&practitioner)?;
    let secret = new_refresh_token();
    let expires_at = now
        + chrono::Duration::from_std(state.config.refresh_token_ttl)
            .map_err(anyhow::Error::from)?;
    diesel::insert_into(refresh_tokens::table)
        .values(NewRefreshTokenRow {
            id: Uuid::new_v4(),
            family_id,
            practitioner_id: practitioner.id,
            token_hash: secret.digest,
            expires_at,
        })
        .execute(conn)?;
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
/// it again later revokes its whole family (a stolen token is then useless to both holders).
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
            let row: Option<RefreshTokenRow> = refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(&digest))
                .select(RefreshTokenRow::as_select())
                .for_update()
                .first(conn)
                .optional()?;
            let Some(row) = row else {
                return Ok(RefreshOutcome::Refused);
            };
            let now = Utc::now();
            if row.rotated_at.is_some() || row.revoked_at.is_some() {
                if row.revoked_at.is_none() {
                    // A rotated token came back: someone holds a copy. End the family.
                    diesel::update(refresh_tokens::table)
                        .filter(refresh_tokens::family_id.eq(row.family_id))
                        .filter(refresh_tokens::revoked_at.is_null())
                        .set(refresh_tokens::revoked_at.eq(now))
                        .execute(conn)?;
                    audit::record(
                        conn,
                        None,
                        &meta,
                        AuditEvent {
                            action: "REFRESH_TOKEN_REUSED",
                            subject_type: Some("practitioner"),
                            subject_id: Some(row.practitioner_id),
                            ..AuditEvent::default()
                        },
                    )?;
                }
                return Ok(RefreshOutcome::Refused);
            }
            if row.expires_at <= now {
                return Ok(RefreshOutcome::Refused);
            }
            let practitioner: PractitionerRow = practitioners::table
                .find(row.practitioner_id)
                .select(PractitionerRow::as_select())
                .first(conn)?;
            if !practitioner.active {
                return Ok(RefreshOutcome::Refused);
            }
            diesel::update(refresh_tokens::table.find(row.id))
                .set(refresh_tokens::rotated_at.eq(now))
                .execute(conn)?;
            open_session(conn, &state_c, practitioner, row.family_id)
                .map(|s| RefreshOutcome::Rotated(Box::new(s)))
        })
    })
    .await?;
    match outcome {
        RefreshOutcome::Rotated(session) => Ok(*session),
        RefreshOutcome::Refused => Err(ServiceError::Unauthenticated),
    }
}

/// Ends the session the refresh token belongs to. Answers the same for an unknown token.
pub async fn logout(state: &AppState, token: String) -> ServiceResult<()> {
    let digest = refresh_digest(&token);
    crate::db::run(&state.pool, move |conn| {
        let family: Option<Uuid> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(&digest))
            .select(refresh_tokens::family_id)
            .first(conn)
            .optional()?;
        if let Some(family) = family {
            diesel::update(refresh_tokens::table)
                .filter(refresh_tokens::family_id.eq(family))
                .filter(refresh_tokens::revoked_at.is_null())
                .set(refresh_tokens::revoked_at.eq(Utc::now()))
                .execute(conn)?;
        }
        Ok(())
    })
    .await
}
