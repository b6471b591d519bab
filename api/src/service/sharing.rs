//! Sharing agreements: a sensitive agency lets another agency see its restricted involvements
//! (rule 5). Revoking takes effect on the next request, since every request reads the
//! agreements in force afresh.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Actor, RequestMeta};
use crate::db::models::SharingAgreementRow;
use crate::db::schema::{agencies, sharing_agreements};
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
            let exists: bool =
                diesel::select(diesel::dsl::exists(agencies::table.find(to))).get_result(conn)?;
            if !exists {
                return Err(ServiceError::invalid("toAgencyId", "no such agency"));
            }
            let id = Uuid::now_v7();
            let row: SharingAgreementRow = diesel::insert_into(sharing_agreements::table)
                .values((
                    sharing_agreements::id.eq(id),
                    sharing_agreements::from_agency_id.eq(actor.agency_id),
                    sharing_agreements::to_agency_id.eq(to),
                    sharing_agreements::purpose.eq(input.purpose.trim()),
                    sharing_agreements::starts_on.eq(input.starts_on.0),
                    sharing_agreements::ends_on.eq(input.ends_on.map(|d| d.0)),
                    sharing_agreements::created_by.eq(actor.practitioner_id),
                ))
                .returning(SharingAgreementRow::as_returning())
                .get_result(conn)?;
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
    id: &str,
) -> ServiceResult<SharingAgreementRow> {
    let id = parse_id("id", id)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let row: SharingAgreementRow = sharing_agreements::table
                .find(id)
                .select(SharingAgreementRow::as_select())
                .for_update()
                .first(conn)
                .optional()?
                .ok_or(ServiceError::NotFound)?;
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
            let now = Utc::now();
            let updated = diesel::update(sharing_agreements::table.find(id))
                .set((
                    sharing_agreements::revoked_at.eq(now),
                    sharing_agreements::revoked_by.eq(actor.practitioner_id),
                    sharing_agreements::version.eq(sharing_agreements::version + 1),
                    sharing_agreements::updated_at.eq(now),
                ))
                .returning(SharingAgreementRow::as_returning())
                .get_result(conn)?;
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
        Ok(sharing_agreements::table
            .filter(
                sharing_agreements::from_agency_id
                    .eq(actor.agency_id)
                    .or(sharing_agreements::to_agency_id.eq(actor.agency_id)),
            )
            .select(SharingAgreementRow::as_select())
            .order((
                sharing_agreements::starts_on.desc(),
                sharing_agreements::id.desc(),
            ))
            .load(conn)?)
    })
    .await
}
