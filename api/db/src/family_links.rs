//! Family links (rule 11): sibling pairs and a child's parents or carers.

use chrono::Utc;
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::domain::FamilyRelation;
use crate::models::FamilyLinkRow;
use crate::schema::family_links;

/// A new link. For a sibling pair, `child` and `sibling` in either order.
pub struct NewFamilyLink<'a> {
    pub child: Uuid,
    pub relation: FamilyRelation,
    pub sibling: Option<Uuid>,
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub recorded_by: Uuid,
}

/// Records a link; a sibling pair is stored with the lower child id first.
pub fn insert(conn: &mut PgConnection, new: NewFamilyLink<'_>) -> QueryResult<FamilyLinkRow> {
    let (child, sibling) = match new.sibling {
        Some(s) if s < new.child => (s, Some(new.child)),
        other => (new.child, other),
    };
    diesel::insert_into(family_links::table)
        .values((
            family_links::id.eq(Uuid::now_v7()),
            family_links::child_id.eq(child),
            family_links::relation.eq(new.relation.as_str()),
            family_links::sibling_id.eq(sibling),
            family_links::name.eq(new.name),
            family_links::description.eq(new.description),
            family_links::recorded_by.eq(new.recorded_by),
        ))
        .returning(FamilyLinkRow::as_returning())
        .get_result(conn)
}

/// The links in force around each of `children` (as either child of a sibling pair) that pass
/// `filter` (over the table `family_links`), oldest first.
pub fn around(
    conn: &mut PgConnection,
    children: Vec<Uuid>,
    filter: BoundSql,
) -> QueryResult<Vec<FamilyLinkRow>> {
    family_links::table
        .filter(family_links::removed_at.is_null())
        .filter(
            family_links::child_id
                .eq_any(children.clone())
                .or(family_links::sibling_id.eq_any(children)),
        )
        .filter(filter)
        .order((family_links::recorded_at, family_links::id))
        .select(FamilyLinkRow::as_select())
        .load(conn)
}

/// The link `id`, in force and passing `filter`, locked until the transaction ends.
pub fn lock(
    conn: &mut PgConnection,
    id: Uuid,
    filter: BoundSql,
) -> QueryResult<Option<FamilyLinkRow>> {
    family_links::table
        .find(id)
        .filter(family_links::removed_at.is_null())
        .filter(filter)
        .select(FamilyLinkRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// The sibling pair's links in force that pass `filter`, children in either order.
pub fn pair(
    conn: &mut PgConnection,
    a: Uuid,
    b: Uuid,
    filter: BoundSql,
) -> QueryResult<Vec<FamilyLinkRow>> {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    family_links::table
        .filter(family_links::removed_at.is_null())
        .filter(family_links::child_id.eq(low))
        .filter(family_links::sibling_id.eq(high))
        .filter(filter)
        .order((family_links::recorded_at, family_links::id))
        .select(FamilyLinkRow::as_select())
        .load(conn)
}

/// Marks the links `ids` removed by `by`.
pub fn remove(conn: &mut PgConnection, ids: Vec<Uuid>, by: Uuid) -> QueryResult<usize> {
    diesel::update(
        family_links::table
            .filter(family_links::id.eq_any(ids))
            .filter(family_links::removed_at.is_null()),
    )
    .set((
        family_links::removed_at.eq(Utc::now()),
        family_links::removed_by.eq(by),
    ))
    .execute(conn)
}
