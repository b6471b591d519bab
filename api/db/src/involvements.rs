//! Involvements: a practitioner working with a child.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::domain::{ConsentStatus, LawfulBasis, Sensitivity};
use crate::models::{AgencyRow, InvolvementRow, PractitionerRow};
use crate::schema::{agencies, involvements, practitioners};

/// The active practitioners with an active involvement with `child`, with their agency.
pub fn active_members(conn: &mut PgConnection, child: Uuid) -> QueryResult<Vec<(Uuid, Uuid)>> {
    involvements::table
        .inner_join(practitioners::table.on(practitioners::id.eq(involvements::practitioner_id)))
        .filter(involvements::child_id.eq(child))
        .filter(involvements::ended_on.is_null())
        .filter(practitioners::active.eq(true))
        .select((practitioners::id, practitioners::agency_id))
        .distinct()
        .load(conn)
}

/// Every involvement, active or ended, of `practitioner` with `child`.
pub fn of_practitioner(
    conn: &mut PgConnection,
    child: Uuid,
    practitioner: Uuid,
) -> QueryResult<Vec<InvolvementRow>> {
    involvements::table
        .filter(involvements::child_id.eq(child))
        .filter(involvements::practitioner_id.eq(practitioner))
        .select(InvolvementRow::as_select())
        .load(conn)
}

/// A new involvement.
pub struct NewInvolvement<'a> {
    pub child: Uuid,
    pub practitioner: Uuid,
    pub agency: Uuid,
    pub role: &'a str,
    pub sensitivity: Sensitivity,
    pub lawful_basis: Option<LawfulBasis>,
    pub started_on: NaiveDate,
}

/// The unique index that allows one active involvement per practitioner and child.
pub const ONE_ACTIVE_PER_PRACTITIONER: &str = "involvements_one_active_per_practitioner";

/// Inserts an involvement; a second active one of the same practitioner with the same child
/// violates [`ONE_ACTIVE_PER_PRACTITIONER`]. Its id is time-ordered, so that members who
/// started on the same day stand in the order they joined (a team is ordered by lead, start
/// date, then id).
pub fn insert(conn: &mut PgConnection, new: NewInvolvement<'_>) -> QueryResult<InvolvementRow> {
    diesel::insert_into(involvements::table)
        .values((
            involvements::id.eq(Uuid::now_v7()),
            involvements::child_id.eq(new.child),
            involvements::practitioner_id.eq(new.practitioner),
            involvements::agency_id.eq(new.agency),
            involvements::role.eq(new.role),
            involvements::sensitivity.eq(new.sensitivity.as_str()),
            involvements::lawful_basis.eq(new.lawful_basis.map(LawfulBasis::as_str)),
            involvements::started_on.eq(new.started_on),
        ))
        .returning(InvolvementRow::as_returning())
        .get_result(conn)
}

/// The involvement `id`, locked for an update in this transaction.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<InvolvementRow>> {
    involvements::table
        .find(id)
        .select(InvolvementRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Whether `practitioner` has an active involvement with `child`.
pub fn is_active_member(
    conn: &mut PgConnection,
    child: Uuid,
    practitioner: Uuid,
) -> QueryResult<bool> {
    has_active(conn, child, practitioner, BoundSql::new("TRUE"))
}

/// Whether `practitioner` has an active involvement with `child` that passes `filter` (over
/// `involvements`).
pub fn has_active(
    conn: &mut PgConnection,
    child: Uuid,
    practitioner: Uuid,
    filter: BoundSql,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        involvements::table
            .filter(involvements::child_id.eq(child))
            .filter(involvements::practitioner_id.eq(practitioner))
            .filter(involvements::ended_on.is_null())
            .filter(filter),
    ))
    .get_result(conn)
}

/// The active involvement of `practitioner` with `child`, if any.
pub fn active_of(
    conn: &mut PgConnection,
    child: Uuid,
    practitioner: Uuid,
) -> QueryResult<Option<InvolvementRow>> {
    involvements::table
        .filter(involvements::child_id.eq(child))
        .filter(involvements::practitioner_id.eq(practitioner))
        .filter(involvements::ended_on.is_null())
        .select(InvolvementRow::as_select())
        .first(conn)
        .optional()
}

/// Which of `practitioners` have an active involvement with `child` that passes `filter`
/// (over `involvements`).
pub fn members_among(
    conn: &mut PgConnection,
    child: Uuid,
    practitioners: &[Uuid],
    filter: BoundSql,
) -> QueryResult<Vec<Uuid>> {
    involvements::table
        .filter(involvements::child_id.eq(child))
        .filter(involvements::ended_on.is_null())
        .filter(involvements::practitioner_id.eq_any(practitioners))
        .filter(filter)
        .select(involvements::practitioner_id)
        .distinct()
        .load(conn)
}

/// Every involvement, active or ended, with `child`.
pub fn of_child(conn: &mut PgConnection, child: Uuid) -> QueryResult<Vec<InvolvementRow>> {
    involvements::table
        .filter(involvements::child_id.eq(child))
        .select(InvolvementRow::as_select())
        .load(conn)
}

/// Takes the lead flag from every active involvement of `child` that holds it; returns them.
pub fn clear_lead(
    conn: &mut PgConnection,
    child: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<InvolvementRow>> {
    diesel::update(involvements::table)
        .filter(involvements::child_id.eq(child))
        .filter(involvements::is_lead.eq(true))
        .filter(involvements::ended_on.is_null())
        .set((
            involvements::is_lead.eq(false),
            involvements::version.eq(involvements::version + 1),
            involvements::updated_at.eq(now),
        ))
        .returning(InvolvementRow::as_returning())
        .get_results(conn)
}

/// Who recorded the involvement's consent, and when.
pub fn consent_recorded(
    conn: &mut PgConnection,
    id: Uuid,
) -> QueryResult<(Option<Uuid>, Option<DateTime<Utc>>)> {
    involvements::table
        .find(id)
        .select((
            involvements::consent_recorded_by,
            involvements::consent_recorded_at,
        ))
        .first(conn)
}

/// An involvement's new state, every field given.
pub struct InvolvementChange<'a> {
    pub role: &'a str,
    pub sensitivity: Sensitivity,
    pub consent: ConsentStatus,
    pub consent_recorded_by: Option<Uuid>,
    pub consent_recorded_at: Option<DateTime<Utc>>,
    pub lawful_basis: Option<&'a str>,
    pub is_lead: bool,
    pub next_contact_at: Option<DateTime<Utc>>,
}

/// Writes an involvement's new state and moves its version on.
pub fn update(
    conn: &mut PgConnection,
    id: Uuid,
    change: InvolvementChange<'_>,
    now: DateTime<Utc>,
) -> QueryResult<InvolvementRow> {
    diesel::update(involvements::table.find(id))
        .set((
            involvements::consent_recorded_by.eq(change.consent_recorded_by),
            involvements::consent_recorded_at.eq(change.consent_recorded_at),
            involvements::role.eq(change.role),
            involvements::sensitivity.eq(change.sensitivity.as_str()),
            involvements::consent.eq(change.consent.as_str()),
            involvements::lawful_basis.eq(change.lawful_basis),
            involvements::is_lead.eq(change.is_lead),
            involvements::next_contact_at.eq(change.next_contact_at),
            involvements::version.eq(involvements::version + 1),
            involvements::updated_at.eq(now),
        ))
        .returning(InvolvementRow::as_returning())
        .get_result(conn)
}

/// Ends an involvement on `on`, for `reason`; an ended involvement does not lead.
pub fn end(
    conn: &mut PgConnection,
    id: Uuid,
    on: NaiveDate,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> QueryResult<InvolvementRow> {
    diesel::update(involvements::table.find(id))
        .set((
            involvements::ended_on.eq(on),
            involvements::end_reason.eq(reason),
            involvements::is_lead.eq(false),
            involvements::version.eq(involvements::version + 1),
            involvements::updated_at.eq(now),
        ))
        .returning(InvolvementRow::as_returning())
        .get_result(conn)
}

/// Sets the last and next contact of an involvement.
pub fn set_contact_times(
    conn: &mut PgConnection,
    id: Uuid,
    last: Option<DateTime<Utc>>,
    next: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    diesel::update(involvements::table.find(id))
        .set((
            involvements::last_contact_at.eq(last),
            involvements::next_contact_at.eq(next),
        ))
        .execute(conn)?;
    Ok(())
}

/// The involvements with `children` that pass `filter` (over `involvements`), with each
/// practitioner's profile and agency; ended ones too when `include_ended`. By child, then the
/// active lead first, then start date, then id.
pub fn teams(
    conn: &mut PgConnection,
    children: &[Uuid],
    filter: BoundSql,
    include_ended: bool,
) -> QueryResult<Vec<(InvolvementRow, PractitionerRow, AgencyRow)>> {
    let mut query = involvements::table
        .inner_join(practitioners::table.on(practitioners::id.eq(involvements::practitioner_id)))
        .inner_join(agencies::table.on(agencies::id.eq(involvements::agency_id)))
        .filter(involvements::child_id.eq_any(children))
        .filter(filter)
        .select((
            InvolvementRow::as_select(),
            PractitionerRow::as_select(),
            AgencyRow::as_select(),
        ))
        .order((
            involvements::child_id.asc(),
            (involvements::is_lead.and(involvements::ended_on.is_null())).desc(),
            involvements::started_on.asc(),
            involvements::id.asc(),
        ))
        .into_boxed();
    if !include_ended {
        query = query.filter(involvements::ended_on.is_null());
    }
    query.load(conn)
}

/// The involvements `ids` that pass `filter` (over `involvements`).
pub fn by_ids(
    conn: &mut PgConnection,
    ids: &[Uuid],
    filter: BoundSql,
) -> QueryResult<Vec<InvolvementRow>> {
    involvements::table
        .filter(involvements::id.eq_any(ids))
        .filter(filter)
        .select(InvolvementRow::as_select())
        .load(conn)
}
