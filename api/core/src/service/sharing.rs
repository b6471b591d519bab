//! Sharing agreements: a sensitive agency lets another agency see its restricted involvements
//! (rule 5). Revoking takes effect on the next request, since every request reads the
//! agreements in force afresh.

use chrono::NaiveDate;
use diesel::Connection;
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Actor, RequestMeta};
use crate::db::agencies;
use crate::db::models::SharingAgreementRow;
use crate::db::sharing_agreements::{self, NewAgreement};
use crate::domain::AuditAction;
use crate::domain::Date;
use crate::policy;
use crate::service::audit::{self, AuditEvent};
use crate::service::child::invalid_unless_empty;
use crate::service::error::{validate_not_blank, FieldError, ServiceError, ServiceResult};
use crate::service::parse_id;
use crate::state::AppState;

/// A new agreement, granted from the caller's agency.
#[derive(Debug, Clone, Validate, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSharingAgreementInput {
    pub to_agency_id: String,
    #[validate(length(min = 1, max = 1000), custom(function = validate_not_blank))]
    pub purpose: String,
    pub starts_on: Date,
    /// Inclusive.
    pub ends_on: Option<Date>,
}

pub async fn create_sharing_agreement(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    input: CreateSharingAgreementInput,
) -> ServiceResult<SharingAgreementRow> {
    policy::ensure_may_grant_agreement(&actor)?;
    let mut extra = Vec::new();
    let to = parse_id("toAgencyId", &input.to_agency_id).ok();
    if to.is_none() {
        extra.push(FieldError::new("toAgencyId", "is not a valid ID"));
    }
    if to == Some(actor.agency_id) {
        extra.push(FieldError::new("toAgencyId", "must be another agency"));
    }
    if let Some(end) = input.ends_on {
        if end.0 < input.starts_on.0 {
            extra.push(FieldError::new("endsOn", "must not be before startsOn"));
        }
    }
    let plausible = |d: NaiveDate| (2000..=2200).contains(&chrono::Datelike::year(&d));
    if !plausible(input.starts_on.0) {
        extra.push(FieldError::new("startsOn", "is not a plausible date"));
    }
    invalid_unless_empty(input.validate(), extra)?;
    let to = to.expect("checked above");
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if !agencies::exists(conn, to)? {
                return Err(ServiceError::invalid("toAgencyId", "no such agency"));
            }
            let row = sharing_agreements::insert(
                conn,
                NewAgreement {
                    from: actor.agency_id,
                    to,
                    purpose: input.purpose.trim(),
                    starts_on: input.starts_on.0,
                    ends_on: input.ends_on.map(|d| d.0),
                    created_by: actor.practitioner_id,
                },
            )?;
            let id = row.id;
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    subject_type: Some("sharing_agreement"),
                    subject_id: Some(id),
                    details: Some(serde_json::json!({ "toAgencyId": to })),
                    ..AuditEvent::of(AuditAction::SharingAgreementCreated)
                },
            )?;
            Ok(row)
        })
    })
    .await
}

/// Revokes an agreement granted by the caller's agency; revoking twice changes nothing.
pub async fn revoke_sharing_agreement(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    id: Uuid,
) -> ServiceResult<SharingAgreementRow> {
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let row = sharing_agreements::lock(conn, id)?.ok_or(ServiceError::NotFound)?;
            let party =
                row.from_agency_id == actor.agency_id || row.to_agency_id == actor.agency_id;
            if !party {
                return Err(ServiceError::NotFound);
            }
            if !policy::may_revoke_agreement(&actor, row.from_agency_id) {
                return Err(ServiceError::Forbidden);
            }
            if row.revoked_at.is_some() {
                return Ok(row);
            }
            let updated = sharing_agreements::revoke(conn, id, actor.practitioner_id)?;
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    subject_type: Some("sharing_agreement"),
                    subject_id: Some(id),
                    ..AuditEvent::of(AuditAction::SharingAgreementRevoked)
                },
            )?;
            Ok(updated)
        })
    })
    .await
}

/// Agreements granted by or to the caller's agency, newest first.
pub async fn list_sharing_agreements(
    state: &AppState,
    actor: Actor,
) -> ServiceResult<Vec<SharingAgreementRow>> {
    crate::db::run(&state.pool, move |conn| {
        Ok(sharing_agreements::of_agency(conn, actor.agency_id)?)
    })
    .await
}
