//! Records by an agency's own reference, as its case-management system sends them (rule 10):
//! children, allocations of the agency's practitioners (involvements) and contacts, each
//! created or updated by a reference only that agency uses. Every write goes through the same
//! rules as the practitioners' own: a child is matched to an existing record as `registerChild`
//! does (identifiers first, then names and date of birth), the agency's details are recorded
//! through its own involvements (identity per source), and nothing in an answer differs
//! because of a service the agency may not see.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;

use crate::auth::RequestMeta;
use crate::db::activity::Change;
use crate::db::agency_refs::{self, AgencyChildRow, ChildDetails};
use crate::db::child_identities::{self, NewIdentity};
use crate::db::involvements::{self, NewInvolvement};
use crate::db::models::{ContactRow, InvolvementRow, NewPractitionerRow, PractitionerRow};
use crate::db::{agencies, children, contacts, practitioners};
use crate::domain::{ActivityKind, AuditAction, LawfulBasis, Role, Sensitivity};
use crate::mail::compose::Links;
use crate::mail::notify;
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::child::{check_date_of_birth, tidy_postcode, validate_postcode};
use crate::service::contact::{self, Contact};
use crate::service::error::{
    FieldError, RecordOnceError, ServiceError, ServiceResult, VersionedError,
};
use crate::service::events;
use crate::service::idempotency::{self, Answer, IdempotencyKey};
use crate::service::involvement::{self as involvement_service, UpdateInvolvement};
use crate::state::AppState;

/// Whether an upsert made the record or found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upsert {
    Created,
    Updated,
    Unchanged,
}

/// Checks a reference: 1 to 200 characters, no control characters.
pub fn check_reference(field: &str, reference: &str) -> ServiceResult<()> {
    if reference.is_empty() || reference.chars().count() > 200 {
        return Err(ServiceError::invalid(field, "must be 1 to 200 characters"));
    }
    if reference.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            field,
            "must not hold control characters",
        ));
    }
    Ok(())
}

/// An NHS number: ten digits whose last is the modulus-11 check digit of the others.
pub fn valid_nhs_number(value: &str) -> bool {
    let digits: Vec<u32> = value.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 || value.len() != 10 {
        return false;
    }
    let sum: u32 = digits[..9]
        .iter()
        .enumerate()
        .map(|(i, d)| d * (10 - i as u32))
        .sum();
    let check = 11 - sum % 11;
    match check {
        11 => digits[9] == 0,
        10 => false,
        c => digits[9] == c,
    }
}

/// A school unique pupil number: a letter, eleven digits, and a digit or letter.
fn valid_upn(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 13
        && b[0].is_ascii_uppercase()
        && b[1..12].iter().all(u8::is_ascii_digit)
        && (b[12].is_ascii_digit() || b[12].is_ascii_uppercase())
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Checks and tidies a child's details as a system sends them.
pub fn check_child(details: ChildDetails, today: NaiveDate) -> ServiceResult<ChildDetails> {
    let mut fields = Vec::new();
    let given = details.given_name.trim().to_owned();
    let family = details.family_name.trim().to_owned();
    for (field, value) in [("givenName", &given), ("familyName", &family)] {
        if value.is_empty() {
            fields.push(FieldError::new(field, "must not be blank"));
        } else if value.chars().count() > 100 {
            fields.push(FieldError::new(field, "must be at most 100 characters"));
        }
    }
    if let Some(e) = check_date_of_birth("dateOfBirth", details.date_of_birth, today) {
        fields.push(e);
    }
    let gender = trimmed(details.gender);
    if gender.as_ref().is_some_and(|g| g.chars().count() > 50) {
        fields.push(FieldError::new("gender", "must be at most 50 characters"));
    }
    let postcode = trimmed(details.postcode);
    if let Some(p) = &postcode {
        if validate_postcode(p).is_err() {
            fields.push(FieldError::new(
                "postcode",
                "is not a UK postcode such as KB1 4AX",
            ));
        }
    }
    let nhs_number = trimmed(details.nhs_number).map(|n| n.replace(' ', ""));
    if nhs_number.as_deref().is_some_and(|n| !valid_nhs_number(n)) {
        fields.push(FieldError::new(
            "nhsNumber",
            "is not an NHS number (ten digits, the last a check digit)",
        ));
    }
    let school_upn = trimmed(details.school_upn).map(|u| u.to_uppercase());
    if school_upn.as_deref().is_some_and(|u| !valid_upn(u)) {
        fields.push(FieldError::new(
            "schoolUpn",
            "is not a unique pupil number (a letter, eleven digits and a check character)",
        ));
    }
    let la_id = trimmed(details.la_id);
    if la_id.as_ref().is_some_and(|l| l.chars().count() > 50) {
        fields.push(FieldError::new("laId", "must be at most 50 characters"));
    }
    if !fields.is_empty() {
        return Err(ServiceError::Invalid(fields));
    }
    Ok(ChildDetails {
        given_name: given,
        family_name: family,
        date_of_birth: details.date_of_birth,
        gender,
        postcode: postcode.map(|p| tidy_postcode(&p)),
        nhs_number,
        school_upn,
        la_id,
    })
}

/// Creates or updates the child `reference` of the reader's agency. Once the agency has
/// allocated someone to the child, new details are recorded through its involvements.
pub async fn put_child(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    reference: String,
    details: ChildDetails,
) -> ServiceResult<(AgencyChildRow, Upsert)> {
    check_reference("ref", &reference)?;
    let details = check_child(details, reader.today)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let agency = reader.actor.agency_id;
            let created = agency_refs::insert_child(conn, agency, &reference, &details)?;
            let row = agency_refs::lock_child(conn, agency, &reference)?.ok_or_else(|| {
                ServiceError::Internal(anyhow::anyhow!("child reference vanished"))
            })?;
            let outcome = if created {
                Upsert::Created
            } else if row.details() == details {
                return Ok((row, Upsert::Unchanged));
            } else {
                Upsert::Updated
            };
            let row = if created {
                row
            } else {
                let row = agency_refs::update_child(conn, agency, &reference, &details)?;
                if let Some(child) = row.child_id {
                    for involvement in
                        agency_refs::active_involvements_of(conn, agency, &reference)?
                    {
                        record_identity(conn, child, involvement, &details)?;
                    }
                }
                row
            };
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: row.child_id,
                    subject_type: Some("agency_child"),
                    details: Some(serde_json::json!({ "ref": reference, "created": created })),
                    ..AuditEvent::of(AuditAction::AgencyChildRecorded)
                },
            )?;
            Ok((row, outcome))
        })
    })
    .await
}

/// The child `reference` of the reader's agency, as its system sent it; the read is audited.
pub async fn get_child(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    reference: String,
) -> ServiceResult<AgencyChildRow> {
    check_reference("ref", &reference)?;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let row = agency_refs::child(conn, reader.actor.agency_id, &reference)?
                .ok_or(ServiceError::NotFound)?;
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: row.child_id,
                    subject_type: Some("agency_child"),
                    details: Some(serde_json::json!({ "ref": reference })),
                    ..AuditEvent::of(AuditAction::ChildViewed)
                },
            )?;
            Ok(row)
        })
    })
    .await
}

fn record_identity(
    conn: &mut PgConnection,
    child: Uuid,
    involvement: Uuid,
    d: &ChildDetails,
) -> ServiceResult<()> {
    child_identities::insert(
        conn,
        NewIdentity {
            child,
            involvement,
            given_name: &d.given_name,
            family_name: &d.family_name,
            gender: d.gender.as_deref(),
            postcode: d.postcode.as_deref(),
            nhs_number: d.nhs_number.as_deref(),
            school_upn: d.school_upn.as_deref(),
            la_id: d.la_id.as_deref(),
        },
    )?;
    Ok(())
}

/// Who an allocation names: a practitioner of the agency, by work email or staff reference,
/// with what an invitation needs when they have no account yet.
#[derive(Debug, Clone, Default)]
pub struct PractitionerRef {
    pub email: Option<String>,
    pub staff_ref: Option<String>,
    pub display_name: Option<String>,
    pub job_title: Option<String>,
    pub phone: Option<String>,
}

/// An allocation of one of the agency's practitioners to a child it knows by reference.
#[derive(Debug, Clone)]
pub struct InvolvementRecord {
    pub child_ref: String,
    pub practitioner: PractitionerRef,
    pub role: String,
    pub sensitivity: Option<Sensitivity>,
    pub lawful_basis: Option<LawfulBasis>,
    pub ended_on: Option<NaiveDate>,
}

/// An allocation as the agency's system sees it.
#[derive(Debug, Clone)]
pub struct Allocation {
    pub child_ref: String,
    pub involvement: InvolvementRow,
    pub practitioner: PractitionerRow,
}

/// Checks and tidies an allocation as a system sends it.
pub fn check_involvement(record: &InvolvementRecord) -> ServiceResult<InvolvementRecord> {
    let mut fields = Vec::new();
    if let Err(ServiceError::Invalid(f)) = check_reference("childRef", &record.child_ref) {
        fields.extend(f);
    }
    let role = record.role.trim().to_owned();
    if role.is_empty() {
        fields.push(FieldError::new("role", "must not be blank"));
    } else if role.chars().count() > 100 {
        fields.push(FieldError::new("role", "must be at most 100 characters"));
    }
    let p = &record.practitioner;
    let email = trimmed(p.email.clone());
    let staff_ref = trimmed(p.staff_ref.clone());
    if email.is_none() && staff_ref.is_none() {
        fields.push(FieldError::new(
            "practitioner",
            "name the practitioner by email or staffRef",
        ));
    }
    if let Some(e) = &email {
        if e.len() > 254 || !validator::ValidateEmail::validate_email(&e.as_str()) {
            fields.push(FieldError::new(
                "practitioner.email",
                "is not an email address",
            ));
        }
    }
    if staff_ref.as_ref().is_some_and(|s| s.chars().count() > 100) {
        fields.push(FieldError::new(
            "practitioner.staffRef",
            "must be at most 100 characters",
        ));
    }
    let display_name = trimmed(p.display_name.clone());
    if display_name
        .as_ref()
        .is_some_and(|d| d.chars().count() > 200)
    {
        fields.push(FieldError::new(
            "practitioner.displayName",
            "must be at most 200 characters",
        ));
    }
    let job_title = trimmed(p.job_title.clone());
    if job_title.as_ref().is_some_and(|j| j.chars().count() > 200) {
        fields.push(FieldError::new(
            "practitioner.jobTitle",
            "must be at most 200 characters",
        ));
    }
    let phone = trimmed(p.phone.clone());
    if let Some(ph) = &phone {
        if crate::service::error::validate_phone(ph).is_err() {
            fields.push(FieldError::new(
                "practitioner.phone",
                "is not a phone number",
            ));
        }
    }
    if let Some(end) = record.ended_on {
        if !(2000..=2200).contains(&chrono::Datelike::year(&end)) {
            fields.push(FieldError::new("endedOn", "is not a plausible date"));
        }
    }
    if !fields.is_empty() {
        return Err(ServiceError::Invalid(fields));
    }
    Ok(InvolvementRecord {
        child_ref: record.child_ref.clone(),
        practitioner: PractitionerRef {
            email,
            staff_ref,
            display_name,
            job_title,
            phone,
        },
        role,
        sensitivity: record.sensitivity,
        lawful_basis: record.lawful_basis,
        ended_on: record.ended_on,
    })
}

/// What the allocating transaction found.
enum Allocated {
    Created(Box<Allocation>),
    /// The reference names an involvement already (perhaps allocated by a concurrent call).
    Exists(Uuid),
}

/// Creates or updates the allocation `reference` of the reader's agency: the first call puts
/// the child on Patchwork if needed (matched as `registerChild` matches) and starts the
/// practitioner's involvement, inviting a practitioner who has no account yet; later calls
/// change its role, sensitivity or lawful basis, or end it (`endedOn`).
pub async fn put_involvement(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    reference: String,
    record: InvolvementRecord,
) -> Result<(Allocation, Upsert), VersionedError> {
    check_reference("ref", &reference)?;
    let record = check_involvement(&record)?;
    let agency = reader.actor.agency_id;
    let existing = {
        let reference = reference.clone();
        crate::db::run(&state.pool, move |conn| -> ServiceResult<_> {
            Ok(agency_refs::involvement(conn, agency, &reference)?)
        })
        .await?
    };
    let existing = match existing {
        Some((id, _)) => id,
        None => {
            if record.ended_on.is_some() {
                return Err(ServiceError::invalid(
                    "endedOn",
                    "an allocation not yet made cannot be ended",
                )
                .into());
            }
            match allocate(
                state,
                reader.clone(),
                meta,
                reference.clone(),
                record.clone(),
            )
            .await?
            {
                Allocated::Created(a) => return Ok((*a, Upsert::Created)),
                Allocated::Exists(id) => id,
            }
        }
    };
    update_allocation(state, reader, meta, reference, existing, record).await
}

async fn allocate(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    reference: String,
    record: InvolvementRecord,
) -> ServiceResult<Allocated> {
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let agency = reader.actor.agency_id;
            // Calls about one child take turns, so one reference makes one allocation.
            let child_row =
                agency_refs::lock_child(conn, agency, &record.child_ref)?.ok_or_else(|| {
                    ServiceError::invalid("childRef", "no child has this reference; PUT it first")
                })?;
            if let Some((id, _)) = agency_refs::involvement(conn, agency, &reference)? {
                return Ok(Allocated::Exists(id));
            }
            let practitioner =
                practitioner_for(conn, &reader, &meta, &links, &record.practitioner)?;
            let details = child_row.details();
            let (child, attached) = match child_row.child_id {
                Some(child) => (child, false),
                None => {
                    children::lock_registration(
                        conn,
                        &details.given_name,
                        &details.family_name,
                        details.date_of_birth,
                    )?;
                    let found = match children::find_by_identifier(
                        conn,
                        details.nhs_number.as_deref(),
                        details.school_upn.as_deref(),
                        details.la_id.as_deref(),
                    )? {
                        Some(child) => Some(child),
                        None => children::find_by_names(
                            conn,
                            &details.given_name,
                            &details.family_name,
                            details.date_of_birth,
                        )?,
                    };
                    let (child, attached) = match found {
                        Some(child) => (child, true),
                        None => (children::insert(conn, details.date_of_birth)?, false),
                    };
                    agency_refs::set_child_id(conn, agency, &record.child_ref, child)?;
                    (child, attached)
                }
            };
            // Already on the team (joined through an app): the reference names that involvement.
            if let Some(inv) = involvements::active_of(conn, child, practitioner.id)? {
                agency_refs::link_involvement(conn, agency, &reference, inv.id, &record.child_ref)?;
                return Ok(Allocated::Created(Box::new(Allocation {
                    child_ref: record.child_ref,
                    involvement: inv,
                    practitioner,
                })));
            }
            let sensitive = agencies::is_sensitive(conn, agency)?;
            let sensitivity = policy::initial_sensitivity(sensitive, record.sensitivity)
                .map_err(|m| ServiceError::invalid("sensitivity", m))?;
            let inv = involvements::insert(
                conn,
                NewInvolvement {
                    child,
                    practitioner: practitioner.id,
                    agency,
                    role: &record.role,
                    sensitivity,
                    lawful_basis: record.lawful_basis,
                    started_on: reader.today,
                },
            )?;
            record_identity(conn, child, inv.id, &details)?;
            agency_refs::link_involvement(conn, agency, &reference, inv.id, &record.child_ref)?;
            events::record(
                conn,
                reader.today,
                Change {
                    child_id: child,
                    actor_id: Some(reader.actor.practitioner_id),
                    involvement_id: Some(inv.id),
                    ..Change::of(ActivityKind::InvolvementStarted)
                },
            )?;
            let cx = notify::Context {
                links: &links,
                today: reader.today,
                actor: reader.actor.practitioner_id,
            };
            notify::team_changed(conn, &cx, &inv, true)?;
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    child_id: Some(child),
                    subject_type: Some("involvement"),
                    subject_id: Some(inv.id),
                    details: Some(serde_json::json!({
                        "ref": reference, "childRef": record.child_ref,
                        "practitionerId": practitioner.id,
                    })),
                    sealed: Some(serde_json::json!({ "attachedToExisting": attached })),
                    ..AuditEvent::of(AuditAction::InvolvementAllocated)
                },
            )?;
            Ok(Allocated::Created(Box::new(Allocation {
                child_ref: record.child_ref,
                involvement: inv,
                practitioner,
            })))
        })
    })
    .await
}

/// The agency's practitioner an allocation names; one not yet known is created in the agency
/// and invited by mail.
fn practitioner_for(
    conn: &mut PgConnection,
    reader: &Reader,
    meta: &RequestMeta,
    links: &Links,
    who: &PractitionerRef,
) -> ServiceResult<PractitionerRow> {
    let agency = reader.actor.agency_id;
    if let Some(found) =
        practitioners::in_agency(conn, agency, who.email.as_deref(), who.staff_ref.as_deref())?
    {
        if !found.active {
            return Err(ServiceError::invalid(
                "practitioner",
                "this practitioner's account is deactivated",
            ));
        }
        return Ok(found);
    }
    let (Some(email), Some(name)) = (&who.email, &who.display_name) else {
        return Err(ServiceError::invalid(
            "practitioner",
            "no practitioner of your agency has this email or staff reference; give email and \
             displayName to invite them",
        ));
    };
    let created = crate::service::practitioner::create_in(
        conn,
        &reader.actor,
        meta,
        links,
        NewPractitionerRow {
            id: Uuid::new_v4(),
            agency_id: agency,
            display_name: name,
            email,
            job_title: who.job_title.as_deref(),
            phone: who.phone.as_deref(),
            mobile: None,
            role: Role::Practitioner.as_str(),
            password_hash: None,
        },
    )?;
    let row = created.ok_or_else(|| {
        ServiceError::invalid(
            "practitioner.email",
            "belongs to a practitioner of another agency",
        )
    })?;
    if let Some(staff_ref) = &who.staff_ref {
        practitioners::set_staff_ref(conn, row.id, staff_ref)?;
    }
    Ok(row)
}

/// Applies a later call to an allocation: the same practitioner and child, a changed role,
/// sensitivity or lawful basis, or its end.
async fn update_allocation(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    reference: String,
    id: Uuid,
    record: InvolvementRecord,
) -> Result<(Allocation, Upsert), VersionedError> {
    let agency = reader.actor.agency_id;
    let (inv, practitioner, child_ref) = {
        let who = record.practitioner.clone();
        let reference = reference.clone();
        crate::db::run(&state.pool, move |conn| -> ServiceResult<_> {
            let (_, child_ref) = agency_refs::involvement(conn, agency, &reference)?
                .ok_or(ServiceError::NotFound)?;
            let inv = involvements::lock(conn, id)?.ok_or(ServiceError::NotFound)?;
            let named = practitioners::in_agency(conn, agency, who.email.as_deref(), who.staff_ref.as_deref())?;
            let practitioner = practitioners::get(conn, inv.practitioner_id)?;
            if named.map(|p| p.id) != Some(inv.practitioner_id) {
                return Err(ServiceError::invalid(
                    "practitioner",
                    "an allocation keeps its practitioner; end it and allocate the new one under another reference",
                ));
            }
            Ok((inv, practitioner, child_ref))
        })
        .await?
    };
    if child_ref != record.child_ref {
        return Err(ServiceError::invalid("childRef", "an allocation keeps its child").into());
    }
    let current: Sensitivity = inv.sensitivity.parse().map_err(anyhow::Error::from)?;
    let lawful = inv
        .lawful_basis
        .as_deref()
        .and_then(|b| b.parse::<LawfulBasis>().ok());
    let role_changed = record.role != inv.role;
    let sensitivity_changed = record.sensitivity.is_some_and(|s| s != current);
    let lawful_changed = record.lawful_basis.is_some() && record.lawful_basis != lawful;
    let ending = record.ended_on.is_some() && inv.ended_on.is_none();
    if inv.ended_on.is_some() && (role_changed || sensitivity_changed || lawful_changed) {
        return Err(ServiceError::invalid("ref", "this involvement has ended").into());
    }
    let mut inv = inv;
    let mut outcome = Upsert::Unchanged;
    if role_changed || sensitivity_changed || lawful_changed {
        inv = involvement_service::update_involvement(
            state,
            reader.clone(),
            meta,
            UpdateInvolvement {
                id: inv.id,
                expected_version: inv.version,
                role: role_changed.then(|| record.role.clone()),
                sensitivity: record.sensitivity.filter(|_| sensitivity_changed),
                consent: None,
                lawful_basis: record.lawful_basis.filter(|_| lawful_changed),
                is_lead: None,
                next_contact_at: None,
            },
        )
        .await?;
        outcome = Upsert::Updated;
    }
    if ending {
        inv = involvement_service::end_involvement(
            state,
            reader,
            meta,
            inv.id,
            inv.version,
            Some("ended in the agency's case-management system".to_owned()),
        )
        .await?;
        outcome = Upsert::Updated;
    }
    Ok((
        Allocation {
            child_ref,
            involvement: inv,
            practitioner,
        },
        outcome,
    ))
}

/// A page of the reader's agency's allocations, by reference, after the reference `after`;
/// with whether more follow.
pub async fn allocations(
    state: &AppState,
    reader: Reader,
    first: i64,
    after: Option<String>,
) -> ServiceResult<(Vec<(String, Allocation)>, bool)> {
    if !(1..=100).contains(&first) {
        return Err(ServiceError::invalid("first", "must be 1 to 100"));
    }
    crate::db::run(&state.pool, move |conn| {
        let agency = reader.actor.agency_id;
        let mut page = agency_refs::involvements_page(conn, agency, after.as_deref(), first + 1)?;
        let more = page.len() as i64 > first;
        page.truncate(first as usize);
        let ids: Vec<Uuid> = page.iter().map(|(_, id, _)| *id).collect();
        let rows = involvements::by_ids(conn, &ids, policy::agency_own_involvement_sql(&reader))?;
        let people: Vec<Uuid> = rows.iter().map(|r| r.practitioner_id).collect();
        let practitioners = practitioners::by_ids(conn, &people)?;
        let mut out = Vec::with_capacity(page.len());
        for (reference, id, child_ref) in page {
            let Some(involvement) = rows.iter().find(|r| r.id == id).cloned() else {
                continue;
            };
            let Some(practitioner) = practitioners
                .iter()
                .find(|p| p.id == involvement.practitioner_id)
                .cloned()
            else {
                continue;
            };
            out.push((
                reference,
                Allocation {
                    child_ref,
                    involvement,
                    practitioner,
                },
            ));
        }
        Ok((out, more))
    })
    .await
}

/// A contact on an allocation the agency knows by reference.
#[derive(Debug, Clone)]
pub struct ContactRecord {
    pub involvement_ref: String,
    pub contact: Contact,
}

/// Records the contact `reference` of the reader's agency on its allocation; a contact once
/// recorded does not change, so the same call again answers it unchanged, and a call with other
/// details is a CONFLICT.
pub async fn put_contact(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    reference: String,
    record: ContactRecord,
) -> Result<(ContactRow, String, Upsert), RecordOnceError> {
    check_reference("ref", &reference)?;
    check_reference("involvementRef", &record.involvement_ref)?;
    let mut record = record;
    record.contact.at = stored_instant(record.contact.at);
    contact::check_time(&record.contact, "at")?;
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let agency = reader.actor.agency_id;
            let Some((involvement, _)) =
                agency_refs::involvement(conn, agency, &record.involvement_ref)?
            else {
                return Err(ServiceError::invalid(
                    "involvementRef",
                    "no allocation has this reference",
                )
                .into());
            };
            // Calls about one allocation take turns.
            involvements::lock(conn, involvement)?;
            if let Some(id) = agency_refs::contact(conn, agency, &reference)? {
                let row = contacts::get(conn, id)?;
                let same = row.involvement_id == involvement
                    && row.kind == record.contact.kind.as_str()
                    && row.outcome == record.contact.outcome.as_str()
                    && row.at == record.contact.at;
                return if same {
                    Ok((row, record.involvement_ref, Upsert::Unchanged))
                } else {
                    Err(RecordOnceError::RecordedOtherwise)
                };
            }
            let row = contact::record_in(
                conn,
                &reader,
                &meta,
                &links,
                involvement,
                &record.contact,
                policy::may_record_contact_for_agency,
            )?;
            agency_refs::link_contact(conn, agency, &reference, row.id)?;
            Ok((row, record.involvement_ref, Upsert::Created))
        })
    })
    .await
}

/// Records a contact on the reader's agency's allocation `involvement_ref`, once per
/// idempotency key: a retry with the key is answered as the first call was.
pub async fn post_contact(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    involvement_ref: String,
    contact: Contact,
    key: (&'static str, IdempotencyKey),
    render: impl FnOnce(&ContactRow) -> (u16, String) + Send + 'static,
) -> ServiceResult<Answer> {
    check_reference("ref", &involvement_ref)?;
    let mut contact = contact;
    contact.at = stored_instant(contact.at);
    contact::check_time(&contact, "at")?;
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let (field, key) = key;
            idempotency::once(
                conn,
                field,
                &key,
                |conn| {
                    let agency = reader.actor.agency_id;
                    let Some((involvement, _)) =
                        agency_refs::involvement(conn, agency, &involvement_ref)?
                    else {
                        return Err(ServiceError::NotFound);
                    };
                    contact::record_in(
                        conn,
                        &reader,
                        &meta,
                        &links,
                        involvement,
                        &contact,
                        policy::may_record_contact_for_agency,
                    )
                },
                render,
            )
        })
    })
    .await
}

/// A time as PostgreSQL stores it (to the microsecond), so that the same call again compares
/// equal.
pub fn stored_instant(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_carry_a_check_digit() {
        assert!(valid_nhs_number("9434765919"));
        assert!(!valid_nhs_number("9434765918"));
        assert!(!valid_nhs_number("943476591"));
        assert!(!valid_nhs_number("94347659x9"));
    }

    #[test]
    fn pupil_numbers_have_their_shape() {
        assert!(valid_upn("A123456789012"));
        assert!(valid_upn("A12345678901B"));
        assert!(!valid_upn("a123456789012"));
        assert!(!valid_upn("A1234567890"));
    }
}
