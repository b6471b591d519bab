//! Practitioners as readers: who they are and which agencies share with theirs, settled in one
//! statement, and who on a team may hear of a change.

use chrono::NaiveDate;
use diesel::{PgConnection, QueryResult};
use uuid::Uuid;

use crate::auth::Actor;
use crate::db::models::InvolvementRow;
use crate::db::{involvements, practitioners, sharing_agreements};
use crate::policy::{self, Reader};
use crate::service::error::ServiceResult;

/// The signed-in practitioner `id` as a reader, with their agency's agreements in force today,
/// in one statement. None when there is no such active practitioner: a deactivated
/// practitioner is refused even while their token is unexpired.
pub fn load_caller(
    conn: &mut PgConnection,
    id: Uuid,
    today: NaiveDate,
) -> ServiceResult<Option<Reader>> {
    let rows = practitioners::with_sharing(conn, &[id], true, |agency| {
        policy::sharing_with_sql(agency, today)
    })?;
    Ok(readers(rows, today)?.pop())
}

/// Many practitioners as readers, each with their agency's agreements in force on `today`, in
/// one statement: how a notification's recipients are settled before anything is written for
/// them. Unknown ids are left out; the rest come in the order asked.
pub fn load_many(
    conn: &mut PgConnection,
    ids: &[Uuid],
    today: NaiveDate,
) -> ServiceResult<Vec<Reader>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = practitioners::with_sharing(conn, ids, false, |agency| {
        policy::sharing_with_sql(agency, today)
    })?;
    let mut readers = readers(rows, today)?;
    // In the order asked, so that messages are written in a stable order.
    readers.sort_by_key(|r| ids.iter().position(|id| *id == r.actor.practitioner_id));
    Ok(readers)
}

/// An agency as a reader, as its webhooks and machine clients see (rule 10): what its admins
/// may see, with the agreements in force on `today`, and no practitioner of its own.
pub fn for_agency(
    conn: &mut PgConnection,
    agency: Uuid,
    today: NaiveDate,
) -> ServiceResult<Reader> {
    let sharing = sharing_agreements::ids(
        conn,
        policy::sharing_with_sql(crate::db::bound::BoundSql::new("").uuid(agency), today),
    )?;
    let actor = Actor {
        practitioner_id: Uuid::nil(),
        agency_id: agency,
        role: crate::domain::Role::AgencyAdmin,
    };
    Ok(Reader::new(actor, sharing, today))
}

fn readers(rows: Vec<practitioners::SharingRow>, today: NaiveDate) -> ServiceResult<Vec<Reader>> {
    rows.into_iter()
        .map(|row| {
            let actor = Actor {
                practitioner_id: row.id,
                agency_id: row.agency_id,
                role: row.role.parse().map_err(anyhow::Error::from)?,
            };
            Ok(Reader::new(actor, row.sharing, today))
        })
        .collect()
}

/// The active, signed-up team members of a child who may see `inv` (rule 3, as each of them
/// would read it), without `except`. A change to an involvement is announced only to them.
pub fn audience_for_involvement(
    conn: &mut PgConnection,
    inv: &InvolvementRow,
    except: &[Uuid],
    today: NaiveDate,
) -> QueryResult<Vec<Uuid>> {
    let members = involvements::active_members(conn, inv.child_id)?;
    // Only a restricted involvement's audience depends on agreements.
    let shared_with = if policy::is_restricted(inv) {
        sharing_agreements::ids(conn, policy::shared_by_sql(inv.agency_id, today))?
    } else {
        Vec::new()
    };
    Ok(members
        .into_iter()
        .filter(|(p, agency)| policy::member_sees_involvement(inv, *p, *agency, &shared_with))
        .map(|(p, _)| p)
        .filter(|p| !except.contains(p))
        .collect())
}
