//! Agencies: the organisations practitioners belong to.

use std::collections::HashMap;

use diesel::Connection;
use uuid::Uuid;
use validator::Validate;

use crate::auth::{Actor, RequestMeta};
use crate::db::agencies;
use crate::db::is_unique_violation;
use crate::db::models::{AgencyRow, NewAgencyRow};
use crate::domain::AgencyKind;
use crate::domain::AuditAction;
use crate::policy;
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{
    from_validation, validate_not_blank, validate_phone, ServiceError, ServiceResult,
};
use crate::service::trimmed;
use crate::state::AppState;

/// A new agency.
#[derive(Debug, Clone, Validate, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAgencyInput {
    #[validate(length(min = 1, max = 200), custom(function = validate_not_blank))]
    pub name: String,
    pub kind: AgencyKind,
    /// Whether the agency's involvement with a child is itself sensitive.
    pub sensitive: Option<bool>,
    #[validate(email, length(max = 254))]
    pub email: Option<String>,
    #[validate(custom(function = validate_phone))]
    pub phone: Option<String>,
}

/// Creates an agency (system admins only).
pub async fn create_agency(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    input: CreateAgencyInput,
) -> ServiceResult<AgencyRow> {
    policy::ensure_may_create_agency(&actor)?;
    input.validate().map_err(from_validation)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let id = Uuid::new_v4();
            let inserted = agencies::insert(
                conn,
                NewAgencyRow {
                    id,
                    name: input.name.trim(),
                    kind: input.kind.as_str(),
                    sensitive: input.sensitive.unwrap_or(false),
                    email: trimmed(input.email.as_deref()),
                    phone: trimmed(input.phone.as_deref()),
                },
            );
            let row = match inserted {
                Err(e) if is_unique_violation(&e, agencies::NAME_TAKEN) => {
                    return Err(ServiceError::invalid(
                        "name",
                        "an agency with this name already exists",
                    ))
                }
                other => other?,
            };
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    subject_type: Some("agency"),
                    subject_id: Some(id),
                    ..AuditEvent::of(AuditAction::AgencyCreated)
                },
            )?;
            Ok(row)
        })
    })
    .await
}

/// Every agency, by name (the directory is visible to everyone signed in).
pub async fn list_agencies(state: &AppState, actor: Actor) -> ServiceResult<Vec<AgencyRow>> {
    if !policy::may_read_profiles(&actor) {
        return Ok(Vec::new());
    }
    crate::db::run(&state.pool, |conn| Ok(agencies::all(conn)?)).await
}

/// Agencies by id, for batch loading.
pub async fn agencies_by_ids(
    state: &AppState,
    ids: Vec<Uuid>,
) -> ServiceResult<HashMap<Uuid, AgencyRow>> {
    crate::db::run(&state.pool, move |conn| {
        let rows = agencies::by_ids(conn, &ids)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    })
    .await
}
