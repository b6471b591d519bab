//! Agencies' own references to children, involvements and contacts, as their case-management
//! systems name them. Each agency's references are its own.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::schema::{agency_children, agency_contacts, agency_involvements, involvements};

/// A child as one agency's system knows it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = agency_children, check_for_backend(diesel::pg::Pg))]
pub struct AgencyChildRow {
    pub agency_id: Uuid,
    #[diesel(column_name = ref_)]
    pub reference: String,
    /// Set once the agency has allocated someone: the child is then on Patchwork.
    pub child_id: Option<Uuid>,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub gender: Option<String>,
    pub postcode: Option<String>,
    pub nhs_number: Option<String>,
    pub school_upn: Option<String>,
    pub la_id: Option<String>,
    pub version: i32,
}

/// A child's details as an agency's system sends them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildDetails {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub gender: Option<String>,
    pub postcode: Option<String>,
    pub nhs_number: Option<String>,
    pub school_upn: Option<String>,
    pub la_id: Option<String>,
}

impl AgencyChildRow {
    /// The details as stored.
    pub fn details(&self) -> ChildDetails {
        ChildDetails {
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            date_of_birth: self.date_of_birth,
            gender: self.gender.clone(),
            postcode: self.postcode.clone(),
            nhs_number: self.nhs_number.clone(),
            school_upn: self.school_upn.clone(),
            la_id: self.la_id.clone(),
        }
    }
}

/// Inserts the child `reference` of `agency` unless it exists; true when inserted.
pub fn insert_child(
    conn: &mut PgConnection,
    agency: Uuid,
    reference: &str,
    d: &ChildDetails,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(agency_children::table)
        .values((
            agency_children::agency_id.eq(agency),
            agency_children::ref_.eq(reference),
            agency_children::given_name.eq(&d.given_name),
            agency_children::family_name.eq(&d.family_name),
            agency_children::date_of_birth.eq(d.date_of_birth),
            agency_children::gender.eq(&d.gender),
            agency_children::postcode.eq(&d.postcode),
            agency_children::nhs_number.eq(&d.nhs_number),
            agency_children::school_upn.eq(&d.school_upn),
            agency_children::la_id.eq(&d.la_id),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

/// The child `reference` of `agency`, locked for an update.
pub fn lock_child(
    conn: &mut PgConnection,
    agency: Uuid,
    reference: &str,
) -> QueryResult<Option<AgencyChildRow>> {
    agency_children::table
        .find((agency, reference))
        .select(AgencyChildRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// The child `reference` of `agency`.
pub fn child(
    conn: &mut PgConnection,
    agency: Uuid,
    reference: &str,
) -> QueryResult<Option<AgencyChildRow>> {
    agency_children::table
        .find((agency, reference))
        .select(AgencyChildRow::as_select())
        .first(conn)
        .optional()
}

/// Replaces the details of the child `reference` of `agency`.
pub fn update_child(
    conn: &mut PgConnection,
    agency: Uuid,
    reference: &str,
    d: &ChildDetails,
) -> QueryResult<AgencyChildRow> {
    diesel::update(agency_children::table.find((agency, reference)))
        .set((
            agency_children::given_name.eq(&d.given_name),
            agency_children::family_name.eq(&d.family_name),
            agency_children::date_of_birth.eq(d.date_of_birth),
            agency_children::gender.eq(&d.gender),
            agency_children::postcode.eq(&d.postcode),
            agency_children::nhs_number.eq(&d.nhs_number),
            agency_children::school_upn.eq(&d.school_upn),
            agency_children::la_id.eq(&d.la_id),
            agency_children::version.eq(agency_children::version + 1),
            agency_children::updated_at.eq(Utc::now()),
        ))
        .returning(AgencyChildRow::as_returning())
        .get_result(conn)
}

/// Records that the child `reference` of `agency` is the Patchwork child `child`.
pub fn set_child_id(
    conn: &mut PgConnection,
    agency: Uuid,
    reference: &str,
    child: Uuid,
) -> QueryResult<()> {
    diesel::update(agency_children::table.find((agency, reference)))
        .set(agency_children::child_id.eq(child))
        .execute(conn)?;
    Ok(())
}

/// The involvement `reference` of `agency`, and the child reference it was allocated under.
pub fn involvement(
    conn: &mut PgConnection,
    agency: Uuid,
    reference: &str,
) -> QueryResult<Option<(Uuid, String)>> {
    agency_involvements::table
        .find((agency, reference))
        .select((
            agency_involvements::involvement_id,
            agency_involvements::child_ref,
        ))
        .first(conn)
        .optional()
}

/// Names `involvement` `reference` for `agency`, under the child `child_ref`.
pub fn link_involvement(
    conn: &mut PgConnection,
    agency: Uuid,
    reference: &str,
    involvement: Uuid,
    child_ref: &str,
) -> QueryResult<()> {
    diesel::insert_into(agency_involvements::table)
        .values((
            agency_involvements::agency_id.eq(agency),
            agency_involvements::ref_.eq(reference),
            agency_involvements::involvement_id.eq(involvement),
            agency_involvements::child_ref.eq(child_ref),
        ))
        .execute(conn)?;
    Ok(())
}

/// The active involvements `agency` allocated under the child `child_ref`.
pub fn active_involvements_of(
    conn: &mut PgConnection,
    agency: Uuid,
    child_ref: &str,
) -> QueryResult<Vec<Uuid>> {
    agency_involvements::table
        .inner_join(involvements::table)
        .filter(agency_involvements::agency_id.eq(agency))
        .filter(agency_involvements::child_ref.eq(child_ref))
        .filter(involvements::ended_on.is_null())
        .select(agency_involvements::involvement_id)
        .load(conn)
}

/// The contact `reference` of `agency`.
pub fn contact(
    conn: &mut PgConnection,
    agency: Uuid,
    reference: &str,
) -> QueryResult<Option<Uuid>> {
    agency_contacts::table
        .find((agency, reference))
        .select(agency_contacts::contact_id)
        .first(conn)
        .optional()
}

/// Names `contact` `reference` for `agency`.
pub fn link_contact(
    conn: &mut PgConnection,
    agency: Uuid,
    reference: &str,
    contact: Uuid,
) -> QueryResult<()> {
    diesel::insert_into(agency_contacts::table)
        .values((
            agency_contacts::agency_id.eq(agency),
            agency_contacts::ref_.eq(reference),
            agency_contacts::contact_id.eq(contact),
        ))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` of `agency`'s allocations by reference, after the reference `after`, in
/// reference order: (reference, involvement, child reference).
pub fn involvements_page(
    conn: &mut PgConnection,
    agency: Uuid,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<(String, Uuid, String)>> {
    let mut query = agency_involvements::table
        .filter(agency_involvements::agency_id.eq(agency))
        .select((
            agency_involvements::ref_,
            agency_involvements::involvement_id,
            agency_involvements::child_ref,
        ))
        .order(agency_involvements::ref_.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(agency_involvements::ref_.gt(after));
    }
    query.load(conn)
}

/// The references `agency` gives the children `children`, where it gave one.
pub fn child_refs(
    conn: &mut PgConnection,
    agency: Uuid,
    children: &[Uuid],
) -> QueryResult<Vec<(Uuid, String)>> {
    agency_children::table
        .filter(agency_children::agency_id.eq(agency))
        .filter(agency_children::child_id.eq_any(children))
        .select((
            agency_children::child_id.assume_not_null(),
            agency_children::ref_,
        ))
        .order(agency_children::ref_)
        .load(conn)
}

/// The references `agency` gives the involvements `ids`, where it gave one.
pub fn involvement_refs(
    conn: &mut PgConnection,
    agency: Uuid,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String)>> {
    agency_involvements::table
        .filter(agency_involvements::agency_id.eq(agency))
        .filter(agency_involvements::involvement_id.eq_any(ids))
        .select((
            agency_involvements::involvement_id,
            agency_involvements::ref_,
        ))
        .load(conn)
}
