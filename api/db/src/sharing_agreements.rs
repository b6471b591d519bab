//! Sharing agreements between agencies.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::models::SharingAgreementRow;
use crate::schema::sharing_agreements;

#[derive(QueryableByName)]
struct Ids {
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
    ids: Vec<Uuid>,
}

/// The agency ids `query` selects (one uuid column), as one array.
pub fn ids(conn: &mut PgConnection, query: BoundSql) -> QueryResult<Vec<Uuid>> {
    let Ids { ids } = BoundSql::new("SELECT ARRAY(")
        .append(query)
        .sql(") AS ids")
        .query()
        .get_result(conn)?;
    Ok(ids)
}

/// A new agreement: `from` shares its restricted involvements with `to`.
pub struct NewAgreement<'a> {
    pub from: Uuid,
    pub to: Uuid,
    pub purpose: &'a str,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub created_by: Uuid,
}

/// Inserts an agreement.
pub fn insert(conn: &mut PgConnection, new: NewAgreement<'_>) -> QueryResult<SharingAgreementRow> {
    diesel::insert_into(sharing_agreements::table)
        .values((
            sharing_agreements::id.eq(Uuid::now_v7()),
            sharing_agreements::from_agency_id.eq(new.from),
            sharing_agreements::to_agency_id.eq(new.to),
            sharing_agreements::purpose.eq(new.purpose),
            sharing_agreements::starts_on.eq(new.starts_on),
            sharing_agreements::ends_on.eq(new.ends_on),
            sharing_agreements::created_by.eq(new.created_by),
        ))
        .returning(SharingAgreementRow::as_returning())
        .get_result(conn)
}

/// The agreement `id`, locked for an update.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<SharingAgreementRow>> {
    sharing_agreements::table
        .find(id)
        .select(SharingAgreementRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Revokes the agreement `id` now, by `by`.
pub fn revoke(conn: &mut PgConnection, id: Uuid, by: Uuid) -> QueryResult<SharingAgreementRow> {
    let now = Utc::now();
    diesel::update(sharing_agreements::table.find(id))
        .set((
            sharing_agreements::revoked_at.eq(now),
            sharing_agreements::revoked_by.eq(by),
            sharing_agreements::version.eq(sharing_agreements::version + 1),
            sharing_agreements::updated_at.eq(now),
        ))
        .returning(SharingAgreementRow::as_returning())
        .get_result(conn)
}

/// The agreements `agency` is a party to, newest start first.
pub fn of_agency(conn: &mut PgConnection, agency: Uuid) -> QueryResult<Vec<SharingAgreementRow>> {
    sharing_agreements::table
        .filter(
            sharing_agreements::from_agency_id
                .eq(agency)
                .or(sharing_agreements::to_agency_id.eq(agency)),
        )
        .select(SharingAgreementRow::as_select())
        .order((
            sharing_agreements::starts_on.desc(),
            sharing_agreements::id.desc(),
        ))
        .load(conn)
}
