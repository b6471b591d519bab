//! Practitioner accounts and their public work profiles.

use std::collections::HashMap;

use chrono::Utc;
use diesel::{Connection, PgConnection};
use uuid::Uuid;
use validator::Validate;

use crate::auth::{password, Actor, RequestMeta};
use crate::db::is_unique_violation;
use crate::db::models::{NewPractitionerRow, PractitionerRow};
use crate::db::{agencies, practitioners};
use crate::domain::AuditAction;
use crate::domain::Role;
use crate::mail::compose::Links;
use crate::policy;
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{
    from_validation, validate_not_blank, validate_phone, FieldError, ServiceError, ServiceResult,
};
use crate::service::{parse_id, trimmed};
use crate::state::AppState;

fn validate_password(value: &str) -> Result<(), validator::ValidationError> {
    password::check_strength(value)
        .map_err(|m| validator::ValidationError::new("password").with_message(m.into()))
}

/// A new account.
#[derive(Debug, Clone, Validate, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePractitionerInput {
    pub agency_id: String,
    #[validate(length(min = 1, max = 200), custom(function = validate_not_blank))]
    pub display_name: String,
    #[validate(email, length(max = 254))]
    pub email: String,
    #[validate(length(max = 200))]
    pub job_title: Option<String>,
    #[validate(custom(function = validate_phone))]
    pub phone: Option<String>,
    #[validate(custom(function = validate_phone))]
    pub mobile: Option<String>,
    pub role: Option<Role>,
    /// Initial password; when absent the practitioner is emailed a link to set one.
    #[validate(custom(function = validate_password))]
    pub password: Option<String>,
}

/// Creates an account. System admins: any agency and role; agency admins: their own agency,
/// roles up to agency admin.
pub async fn create_practitioner(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    input: CreatePractitionerInput,
) -> ServiceResult<PractitionerRow> {
    policy::ensure_manages_accounts(&actor)?;
    let role = input.role.unwrap_or(Role::Practitioner);

    let mut fields: Vec<FieldError> = match input.validate().map_err(from_validation) {
        Err(ServiceError::Invalid(f)) => f,
        _ => Vec::new(),
    };
    let agency_id = match parse_id("agencyId", &input.agency_id) {
        Ok(id) => Some(id),
        Err(ServiceError::Invalid(f)) => {
            fields.extend(f);
            None
        }
        Err(e) => return Err(e),
    };
    if !fields.is_empty() {
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        return Err(ServiceError::Invalid(fields));
    }
    let agency_id = agency_id.expect("checked above");
    policy::ensure_may_create_practitioner(&actor, agency_id, role)?;

    let hash = match input.password.clone() {
        Some(p) => Some(
            password::off_executor(move || password::hash(&p))
                .await
                .and_then(|h| h)
                .map_err(ServiceError::Internal)?,
        ),
        None => None,
    };

    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if !agencies::exists(conn, agency_id)? {
                return Err(ServiceError::invalid("agencyId", "no such agency"));
            }
            let created = create_in(
                conn,
                &actor,
                &meta,
                &links,
                NewPractitionerRow {
                    id: Uuid::new_v4(),
                    agency_id,
                    display_name: input.display_name.trim(),
                    email: input.email.trim(),
                    job_title: trimmed(input.job_title.as_deref()),
                    phone: trimmed(input.phone.as_deref()),
                    mobile: trimmed(input.mobile.as_deref()),
                    role: role.as_str(),
                    password_hash: hash.as_deref(),
                },
            )?;
            created.ok_or_else(|| ServiceError::invalid("email", "is already in use"))
        })
    })
    .await
}

/// Creates an account inside the caller's transaction, invites it by mail when it has no
/// password, and records the audit event. None when the email is already in use: each caller
/// names the field at fault in its own words.
pub fn create_in(
    conn: &mut PgConnection,
    actor: &Actor,
    meta: &RequestMeta,
    links: &Links,
    new: NewPractitionerRow<'_>,
) -> ServiceResult<Option<PractitionerRow>> {
    let (id, agency_id, role) = (new.id, new.agency_id, new.role.to_owned());
    let invite = new.password_hash.is_none();
    let row = match practitioners::insert(conn, new) {
        Err(e) if is_unique_violation(&e, practitioners::EMAIL_TAKEN) => return Ok(None),
        other => other?,
    };
    if invite {
        crate::service::notification::invite(conn, links, &row)?;
    }
    audit::record(
        conn,
        Some(actor),
        meta,
        AuditEvent {
            subject_type: Some("practitioner"),
            subject_id: Some(id),
            details: Some(serde_json::json!({ "role": role, "agencyId": agency_id })),
            ..AuditEvent::of(AuditAction::PractitionerCreated)
        },
    )?;
    Ok(Some(row))
}

/// Deactivates an account at once: its access tokens stop working on their next use and its
/// refresh tokens are revoked. Deactivating an inactive account changes nothing.
pub async fn deactivate_practitioner(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    id: Uuid,
) -> ServiceResult<PractitionerRow> {
    policy::ensure_manages_accounts(&actor)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let target = practitioners::lock(conn, id)?.ok_or(ServiceError::NotFound)?;
            let role: Role = target.role.parse().map_err(anyhow::Error::from)?;
            policy::ensure_may_deactivate(&actor, target.id, target.agency_id, role)?;
            if !target.active {
                return Ok(target);
            }
            let row = practitioners::deactivate(conn, id, Utc::now())?;
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    subject_type: Some("practitioner"),
                    subject_id: Some(id),
                    ..AuditEvent::of(AuditAction::PractitionerDeactivated)
                },
            )?;
            Ok(row)
        })
    })
    .await
}

/// One profile, or None when there is no such practitioner.
pub async fn get_practitioner(
    state: &AppState,
    actor: Actor,
    id: Uuid,
) -> ServiceResult<Option<PractitionerRow>> {
    if !policy::may_read_profiles(&actor) {
        return Ok(None);
    }
    Ok(practitioners_by_ids(state, vec![id]).await?.remove(&id))
}

/// Profiles by id, for batch loading.
pub async fn practitioners_by_ids(
    state: &AppState,
    ids: Vec<Uuid>,
) -> ServiceResult<HashMap<Uuid, PractitionerRow>> {
    crate::db::run(&state.pool, move |conn| {
        let rows = practitioners::by_ids(conn, &ids)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    })
    .await
}
