//! Practitioners: people who work for an agency.

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use chrono::Utc;

use crate::bound::BoundSql;
use crate::functions::lower;
use crate::models::{NewPractitionerRow, PractitionerRow};
use crate::schema::{agencies, practitioners, refresh_tokens};

/// A practitioner with the agencies a subquery names for their agency.
#[derive(QueryableByName)]
pub struct SharingRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub agency_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub role: String,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
    pub sharing: Vec<Uuid>,
}

/// The practitioners `ids` (only active ones when `active_only`), each with the agency ids
/// that the subquery `sharing` makes of the practitioner's agency.
pub fn with_sharing(
    conn: &mut PgConnection,
    ids: &[Uuid],
    active_only: bool,
    sharing: impl FnOnce(BoundSql) -> BoundSql,
) -> QueryResult<Vec<SharingRow>> {
    BoundSql::new("SELECT p.id, p.agency_id, p.role, ARRAY(")
        .append(sharing(BoundSql::new("p.agency_id")))
        .sql(if active_only {
            ") AS sharing FROM practitioners p WHERE p.active AND p.id = ANY("
        } else {
            ") AS sharing FROM practitioners p WHERE p.id = ANY("
        })
        .uuids(ids.to_vec())
        .sql(")")
        .query()
        .load(conn)
}

/// How a message names practitioner `id`: display name, email, phone and agency name.
pub fn card(
    conn: &mut PgConnection,
    id: Uuid,
) -> QueryResult<(String, String, Option<String>, String)> {
    practitioners::table
        .inner_join(agencies::table)
        .filter(practitioners::id.eq(id))
        .select((
            practitioners::display_name,
            practitioners::email,
            practitioners::phone,
            agencies::name,
        ))
        .first(conn)
}

/// Sets the password hash of `id` if the account is active; None otherwise.
pub fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    hash: &str,
) -> QueryResult<Option<PractitionerRow>> {
    diesel::update(practitioners::table.find(id))
        .filter(practitioners::active.eq(true))
        .set((
            practitioners::password_hash.eq(hash),
            practitioners::updated_at.eq(Utc::now()),
        ))
        .returning(PractitionerRow::as_returning())
        .get_result(conn)
        .optional()
}

/// The unique index on practitioners' emails.
pub const EMAIL_TAKEN: &str = "practitioners_email_key";

/// Inserts a practitioner; an email already in use violates [`EMAIL_TAKEN`].
pub fn insert(
    conn: &mut PgConnection,
    new: NewPractitionerRow<'_>,
) -> QueryResult<PractitionerRow> {
    diesel::insert_into(practitioners::table)
        .values(new)
        .returning(PractitionerRow::as_returning())
        .get_result(conn)
}

/// The practitioner `id`, locked for an update.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<PractitionerRow>> {
    practitioners::table
        .find(id)
        .select(PractitionerRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Deactivates the account `id` and revokes its refresh tokens, at `now`.
pub fn deactivate(
    conn: &mut PgConnection,
    id: Uuid,
    now: chrono::DateTime<Utc>,
) -> QueryResult<PractitionerRow> {
    let row = diesel::update(practitioners::table.find(id))
        .set((
            practitioners::active.eq(false),
            practitioners::deactivated_at.eq(now),
            practitioners::updated_at.eq(now),
            practitioners::version.eq(practitioners::version + 1),
        ))
        .returning(PractitionerRow::as_returning())
        .get_result(conn)?;
    diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::practitioner_id.eq(id))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)?;
    Ok(row)
}

/// The practitioners `ids`.
pub fn by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<PractitionerRow>> {
    practitioners::table
        .filter(practitioners::id.eq_any(ids))
        .select(PractitionerRow::as_select())
        .load(conn)
}

/// The practitioner whose email is `email` (compared in lower case), with their password hash.
pub fn with_password_hash(
    conn: &mut PgConnection,
    email: &str,
) -> QueryResult<Option<(PractitionerRow, Option<String>)>> {
    practitioners::table
        .filter(lower(practitioners::email).eq(email))
        .select((PractitionerRow::as_select(), practitioners::password_hash))
        .first(conn)
        .optional()
}

/// The practitioner `id`.
pub fn get(conn: &mut PgConnection, id: Uuid) -> QueryResult<PractitionerRow> {
    practitioners::table
        .find(id)
        .select(PractitionerRow::as_select())
        .first(conn)
}

/// Whether an account already uses `email` (any case, surrounding spaces ignored).
pub fn email_taken(conn: &mut PgConnection, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        practitioners::table.filter(lower(practitioners::email).eq(email.trim().to_lowercase())),
    ))
    .get_result(conn)
}

/// The practitioner of `agency` with this work email (any case) or staff reference.
pub fn in_agency(
    conn: &mut PgConnection,
    agency: Uuid,
    email: Option<&str>,
    staff_ref: Option<&str>,
) -> QueryResult<Option<PractitionerRow>> {
    if let Some(email) = email {
        let found = practitioners::table
            .filter(practitioners::agency_id.eq(agency))
            .filter(lower(practitioners::email).eq(email.trim().to_lowercase()))
            .select(PractitionerRow::as_select())
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    match staff_ref {
        Some(r) => practitioners::table
            .filter(practitioners::agency_id.eq(agency))
            .filter(practitioners::staff_ref.eq(r))
            .select(PractitionerRow::as_select())
            .first(conn)
            .optional(),
        None => Ok(None),
    }
}

/// Records the staff reference `staff_ref` of practitioner `id`.
pub fn set_staff_ref(conn: &mut PgConnection, id: Uuid, staff_ref: &str) -> QueryResult<()> {
    diesel::update(practitioners::table.find(id))
        .set(practitioners::staff_ref.eq(staff_ref))
        .execute(conn)?;
    Ok(())
}

/// The active admins (people, not machine clients) of `agency`.
pub fn admins_of(conn: &mut PgConnection, agency: Uuid) -> QueryResult<Vec<Uuid>> {
    practitioners::table
        .filter(practitioners::agency_id.eq(agency))
        .filter(practitioners::role.eq("AGENCY_ADMIN"))
        .filter(practitioners::active.eq(true))
        .filter(practitioners::kind.eq("PERSON"))
        .select(practitioners::id)
        .order(practitioners::id)
        .load(conn)
}
