//! Involvements: joining a child's team, changing and ending one's involvement, and reading
//! the team (rules 3, 4 and 6).

use std::collections::HashMap;

use chrono::Utc;
use diesel::{Connection, PgConnection};
use uuid::Uuid;
use validator::Validate;

use crate::auth::RequestMeta;
use crate::db::activity::Change;
use crate::db::involvements::{self, InvolvementChange, NewInvolvement};
use crate::db::is_unique_violation;
use crate::db::models::{AgencyRow, InvolvementRow, PractitionerRow};
use crate::db::{agencies, child_identities, children};
use crate::domain::{ActivityKind, AuditAction};
use crate::domain::{ConsentStatus, LawfulBasis, Sensitivity, Timestamp};
use crate::mail::compose::Links;
use crate::mail::notify;
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::child::invalid_unless_empty;
use crate::service::error::{
    validate_not_blank, FieldError, ServiceError, ServiceResult, VersionedError,
};
use crate::service::events;
use crate::service::parse_id_noting;
use crate::state::AppState;

/// Joining a child's team.
#[derive(Debug, Clone, Validate, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinTeamInput {
    pub child_id: String,
    #[validate(length(min = 1, max = 100), custom(function = validate_not_blank))]
    pub role: String,
    pub sensitivity: Option<Sensitivity>,
    pub lawful_basis: Option<LawfulBasis>,
    /// Why the caller is joining; kept in the audit log.
    #[validate(length(min = 1, max = 1000), custom(function = validate_not_blank))]
    pub reason: String,
}

/// Changes to an involvement; absent fields stay as they are.
#[derive(Debug, Clone, Validate, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInvolvementInput {
    pub id: String,
    pub expected_version: i32,
    #[validate(length(min = 1, max = 100), custom(function = validate_not_blank))]
    pub role: Option<String>,
    pub sensitivity: Option<Sensitivity>,
    pub consent: Option<ConsentStatus>,
    pub lawful_basis: Option<LawfulBasis>,
    pub is_lead: Option<bool>,
    pub next_contact_at: Option<Timestamp>,
}

/// Joining a child's team, the child's ID parsed: what [`join_team`] acts on.
#[derive(Debug, Clone)]
pub struct JoinTeam {
    pub child_id: Uuid,
    pub role: String,
    pub sensitivity: Option<Sensitivity>,
    pub lawful_basis: Option<LawfulBasis>,
    pub reason: String,
}

impl TryFrom<JoinTeamInput> for JoinTeam {
    type Error = ServiceError;

    /// Every field's problems in one answer.
    fn try_from(input: JoinTeamInput) -> ServiceResult<JoinTeam> {
        let mut problems = Vec::new();
        let child_id = parse_id_noting(&mut problems, "childId", &input.child_id);
        invalid_unless_empty(input.validate(), problems)?;
        Ok(JoinTeam {
            child_id,
            role: input.role,
            sensitivity: input.sensitivity,
            lawful_basis: input.lawful_basis,
            reason: input.reason,
        })
    }
}

/// Changes to an involvement, its ID parsed: what [`update_involvement`] acts on.
#[derive(Debug, Clone)]
pub struct UpdateInvolvement {
    pub id: Uuid,
    pub expected_version: i32,
    pub role: Option<String>,
    pub sensitivity: Option<Sensitivity>,
    pub consent: Option<ConsentStatus>,
    pub lawful_basis: Option<LawfulBasis>,
    pub is_lead: Option<bool>,
    pub next_contact_at: Option<Timestamp>,
}

impl TryFrom<UpdateInvolvementInput> for UpdateInvolvement {
    type Error = ServiceError;

    /// Every field's problems in one answer.
    fn try_from(input: UpdateInvolvementInput) -> ServiceResult<UpdateInvolvement> {
        let mut problems = Vec::new();
        let id = parse_id_noting(&mut problems, "id", &input.id);
        if input.consent == Some(ConsentStatus::NotRecorded) {
            problems.push(FieldError::new(
                "consent",
                "cannot be set back to NOT_RECORDED",
            ));
        }
        invalid_unless_empty(input.validate(), problems)?;
        Ok(UpdateInvolvement {
            id,
            expected_version: input.expected_version,
            role: input.role,
            sensitivity: input.sensitivity,
            consent: input.consent,
            lawful_basis: input.lawful_basis,
            is_lead: input.is_lead,
            next_contact_at: input.next_contact_at,
        })
    }
}

/// Inserts the reader's own new involvement with a child.
pub fn start(
    conn: &mut PgConnection,
    reader: &Reader,
    child_id: Uuid,
    role: &str,
    sensitivity: Sensitivity,
    lawful_basis: Option<LawfulBasis>,
) -> ServiceResult<InvolvementRow> {
    let inserted = involvements::insert(
        conn,
        NewInvolvement {
            child: child_id,
            practitioner: reader.actor.practitioner_id,
            agency: reader.actor.agency_id,
            role,
            sensitivity,
            lawful_basis,
            started_on: reader.today,
        },
    );
    match inserted {
        Err(e) if is_unique_violation(&e, involvements::ONE_ACTIVE_PER_PRACTITIONER) => Err(
            ServiceError::invalid("childId", "you are already on this child's team"),
        ),
        other => Ok(other?),
    }
}

/// Records the caller's own involvement with a child they found (rule 2). A child they could
/// not find answers NOT_FOUND, like one that does not exist.
pub async fn join_team(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    input: JoinTeam,
) -> ServiceResult<InvolvementRow> {
    let child_id = input.child_id;
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if !children::exists(conn, child_id, policy::child_joinable_sql(&reader))? {
                return Err(ServiceError::NotFound);
            }
            let sensitive = agencies::is_sensitive(conn, reader.actor.agency_id)?;
            let sensitivity = policy::initial_sensitivity(sensitive, input.sensitivity)
                .map_err(|m| ServiceError::invalid("sensitivity", m))?;
            let involvement = start(
                conn,
                &reader,
                child_id,
                input.role.trim(),
                sensitivity,
                input.lawful_basis,
            )?;
            // The joiner's agency now knows the child by the details the joiner was shown
            // (rule 2): recorded through the new involvement, so that those who see it see them.
            child_identities::copy_seen(
                conn,
                child_id,
                involvement.id,
                policy::identity_seen_sql(&reader, "c.id"),
            )?;
            events::record(
                conn,
                reader.today,
                Change {
                    child_id,
                    actor_id: Some(reader.actor.practitioner_id),
                    involvement_id: Some(involvement.id),
                    details: Some(serde_json::json!({ "joined": true })),
                    ..Change::of(ActivityKind::InvolvementStarted)
                },
            )?;
            let cx = notify::Context {
                links: &links,
                today: reader.today,
                actor: reader.actor.practitioner_id,
            };
            notify::team_changed(conn, &cx, &involvement, true)?;
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: Some(child_id),
                    subject_type: Some("involvement"),
                    subject_id: Some(involvement.id),
                    reason: Some(input.reason.trim()),
                    ..AuditEvent::of(AuditAction::TeamJoined)
                },
            )?;
            Ok(involvement)
        })
    })
    .await
}

/// Loads an involvement for a write: NOT_FOUND when it does not exist or the reader may not
/// see it; FORBIDDEN when they may see it but not change it.
pub fn lock_for_change(
    conn: &mut PgConnection,
    reader: &Reader,
    id: Uuid,
    may: impl Fn(&crate::auth::Actor, &InvolvementRow) -> bool,
) -> ServiceResult<InvolvementRow> {
    let row = involvements::lock(conn, id)?.ok_or(ServiceError::NotFound)?;
    let reads_child = crate::service::child::may_read(conn, reader, row.child_id)?;
    let own_agency = row.agency_id == reader.actor.agency_id
        && reader.actor.role == crate::domain::Role::AgencyAdmin;
    if !reader.sees_involvement(&row)
        || !(reads_child || own_agency || row.practitioner_id == reader.actor.practitioner_id)
    {
        return Err(ServiceError::NotFound);
    }
    if !may(&reader.actor, &row) {
        return Err(ServiceError::Forbidden);
    }
    Ok(row)
}

fn check_version(row: &InvolvementRow, expected: i32) -> Result<(), VersionedError> {
    if row.version != expected {
        return Err(VersionedError::Stale {
            current_version: row.version,
        });
    }
    Ok(())
}

/// Changes an involvement (its practitioner, or an admin of its agency).
pub async fn update_involvement(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    input: UpdateInvolvement,
) -> Result<InvolvementRow, VersionedError> {
    let id = input.id;
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let row = lock_for_change(conn, &reader, id, policy::may_change_involvement)?;
            check_version(&row, input.expected_version)?;
            if row.ended_on.is_some() {
                return Err(ServiceError::invalid("id", "this involvement has ended").into());
            }
            let now = Utc::now();
            let current: Sensitivity = row.sensitivity.parse().map_err(anyhow::Error::from)?;
            let mut sensitivity = input.sensitivity.unwrap_or(current);
            let consent = match input.consent {
                Some(c) => c,
                None => row.consent.parse().map_err(anyhow::Error::from)?,
            };
            let mut is_lead = input.is_lead.unwrap_or(row.is_lead);
            let sensitive = agencies::is_sensitive(conn, row.agency_id)?;

            // Rule 4: a sensitive service's restricted involvement becomes standard only once
            // consent is GIVEN; consent recorded as refused or withdrawn on its standard one
            // makes it restricted again in the same update, and so no longer the lead.
            let refused_now = input.consent == Some(ConsentStatus::Refused);
            if sensitive && current == Sensitivity::Standard && refused_now {
                if input.sensitivity == Some(Sensitivity::Standard) {
                    return Err(ServiceError::invalid(
                        "sensitivity",
                        "a sensitive service's involvement cannot stay STANDARD once consent is REFUSED",
                    ).into());
                }
                sensitivity = Sensitivity::Restricted;
                if input.is_lead.is_none() {
                    is_lead = false;
                }
            }
            if sensitive
                && current == Sensitivity::Restricted
                && sensitivity == Sensitivity::Standard
                && consent != ConsentStatus::Given
            {
                return Err(ServiceError::invalid(
                    "sensitivity",
                    "a sensitive service's involvement can be made STANDARD only once consent is GIVEN",
                ).into());
            }
            // Rule 6: only a standard involvement may lead.
            if is_lead && sensitivity != Sensitivity::Standard {
                let field = if input.is_lead == Some(true) { "isLead" } else { "sensitivity" };
                return Err(ServiceError::invalid(field, "only a STANDARD involvement can be the lead professional").into());
            }
            if let Some(Timestamp(next)) = input.next_contact_at {
                if next < now - chrono::Duration::days(1) {
                    return Err(ServiceError::invalid("nextContactAt", "must not be in the past").into());
                }
            }

            let lead_changed = is_lead != row.is_lead;
            if lead_changed && is_lead {
                // The flag moves: at most one lead per child.
                for p in involvements::clear_lead(conn, row.child_id, now)? {
                    events::record(
                        conn,
                        reader.today,
                        Change {
                            child_id: row.child_id,
                            actor_id: Some(reader.actor.practitioner_id),
                            involvement_id: Some(p.id),
                            ..Change::of(ActivityKind::LeadRemoved)
                        },
                    )?;
                }
            }
            let consent_changed = input.consent.is_some() && consent.as_str() != row.consent;
            // Who recorded the consent, and when, change with it (and only with it).
            let (recorded_by, recorded_at): (Option<uuid::Uuid>, Option<chrono::DateTime<Utc>>) = if consent_changed {
                (Some(reader.actor.practitioner_id), Some(now))
            } else {
                involvements::consent_recorded(conn, id)?
            };
            let updated = involvements::update(
                conn,
                id,
                InvolvementChange {
                    role: input.role.as_deref().map(str::trim).unwrap_or(&row.role),
                    sensitivity,
                    consent,
                    consent_recorded_by: recorded_by,
                    consent_recorded_at: recorded_at,
                    lawful_basis: input
                        .lawful_basis
                        .map(LawfulBasis::as_str)
                        .or(row.lawful_basis.as_deref()),
                    is_lead,
                    next_contact_at: input.next_contact_at.map(|t| t.0).or(row.next_contact_at),
                },
                now,
            )?;
            let kind = if lead_changed && is_lead {
                ActivityKind::LeadAssigned
            } else if lead_changed {
                ActivityKind::LeadRemoved
            } else {
                ActivityKind::InvolvementUpdated
            };
            if lead_changed {
                let cx = notify::Context {
                    links: &links,
                    today: reader.today,
                    actor: reader.actor.practitioner_id,
                };
                if is_lead {
                    notify::lead_changed(conn, &cx, row.child_id, Some(&updated), None)?;
                } else {
                    notify::lead_changed(conn, &cx, row.child_id, None, Some(&row))?;
                }
            }
            events::record(
                conn,
                reader.today,
                Change {
                    child_id: row.child_id,
                    actor_id: Some(reader.actor.practitioner_id),
                    involvement_id: Some(id),
                    ..Change::of(kind)
                },
            )?;
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: Some(row.child_id),
                    subject_type: Some("involvement"),
                    subject_id: Some(id),
                    details: Some(serde_json::json!({
                        "sensitivity": sensitivity, "consent": consent, "isLead": is_lead,
                    })),
                    ..AuditEvent::of(AuditAction::InvolvementUpdated)
                },
            )?;
            Ok(updated)
        })
    })
    .await
}

/// Ends an involvement (its practitioner, or an admin of its agency).
pub async fn end_involvement(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    id: Uuid,
    expected_version: i32,
    reason: Option<String>,
) -> Result<InvolvementRow, VersionedError> {
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ServiceError::invalid("reason", "must be at most 500 characters").into());
    }
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let row = lock_for_change(conn, &reader, id, policy::may_change_involvement)?;
            check_version(&row, expected_version)?;
            if row.ended_on.is_some() {
                return Err(
                    ServiceError::invalid("id", "this involvement has already ended").into(),
                );
            }
            let ended_on = reader.today.max(row.started_on);
            let updated = involvements::end(conn, id, ended_on, reason.as_deref(), Utc::now())?;
            let cx = notify::Context {
                links: &links,
                today: reader.today,
                actor: reader.actor.practitioner_id,
            };
            notify::team_changed(conn, &cx, &row, false)?;
            if row.is_lead {
                notify::lead_changed(conn, &cx, row.child_id, None, Some(&row))?;
            }
            events::record(
                conn,
                reader.today,
                Change {
                    child_id: row.child_id,
                    actor_id: Some(reader.actor.practitioner_id),
                    involvement_id: Some(id),
                    details: Some(serde_json::json!({ "wasLead": row.is_lead })),
                    ..Change::of(ActivityKind::InvolvementEnded)
                },
            )?;
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: Some(row.child_id),
                    subject_type: Some("involvement"),
                    subject_id: Some(id),
                    reason: reason.as_deref(),
                    ..AuditEvent::of(AuditAction::InvolvementEnded)
                },
            )?;
            Ok(updated)
        })
    })
    .await
}

/// One member of a team, with the profile and agency a team screen shows.
#[derive(Clone, Debug)]
pub struct TeamMember {
    pub involvement: InvolvementRow,
    pub practitioner: PractitionerRow,
    pub agency: AgencyRow,
}

impl From<(InvolvementRow, PractitionerRow, AgencyRow)> for TeamMember {
    fn from(
        (involvement, practitioner, agency): (InvolvementRow, PractitionerRow, AgencyRow),
    ) -> Self {
        TeamMember {
            involvement,
            practitioner,
            agency,
        }
    }
}

/// The teams of many children at once, as the reader may see them: only children whose record
/// they may read, only involvements rule 3 lets them see. Lead first, then start date, then id.
/// One statement, profiles and agencies included.
pub async fn teams(
    state: &AppState,
    reader: Reader,
    child_ids: Vec<Uuid>,
    include_ended: bool,
) -> ServiceResult<HashMap<Uuid, Vec<TeamMember>>> {
    crate::db::run(&state.pool, move |conn| {
        teams_on(conn, &reader, child_ids, include_ended)
    })
    .await
}

/// [`teams`] on a connection the caller holds.
pub fn teams_on(
    conn: &mut PgConnection,
    reader: &Reader,
    child_ids: Vec<Uuid>,
    include_ended: bool,
) -> ServiceResult<HashMap<Uuid, Vec<TeamMember>>> {
    let visible = policy::child_readable_sql(reader, "involvements.child_id")
        .sql(" AND ")
        .append(policy::involvement_visible_sql(reader, "involvements"));
    let rows = involvements::teams(conn, &child_ids, visible, include_ended)?;
    let mut out: HashMap<Uuid, Vec<TeamMember>> = HashMap::new();
    for row in rows {
        out.entry(row.0.child_id).or_default().push(row.into());
    }
    Ok(out)
}

/// Involvements by id, each only if the reader may see it and read its child, or it is their
/// own.
pub async fn involvements_by_ids(
    state: &AppState,
    reader: Reader,
    ids: Vec<Uuid>,
) -> ServiceResult<HashMap<Uuid, InvolvementRow>> {
    crate::db::run(&state.pool, move |conn| {
        let rows = involvements::by_ids(conn, &ids, policy::involvement_readable_sql(&reader))?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    })
    .await
}
