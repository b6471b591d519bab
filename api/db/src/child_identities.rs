//! A child's identity details, one row per involvement that recorded them (rule 2).

use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::schema::child_identities;

/// The given and family name that `seen`, a lateral subquery over the child `c.id`, selects
/// for `child`; None when it selects nothing.
pub fn seen(
    conn: &mut PgConnection,
    child: Uuid,
    seen: BoundSql,
) -> QueryResult<Option<(String, String)>> {
    #[derive(QueryableByName)]
    struct Names {
        #[diesel(sql_type = diesel::sql_types::Text)]
        given_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        family_name: String,
    }
    let names: Option<Names> =
        BoundSql::new("SELECT s.given_name, s.family_name FROM children c CROSS JOIN LATERAL (")
            .append(seen)
            .sql(") s WHERE c.id = ")
            .uuid(child)
            .query()
            .get_result(conn)
            .optional()?;
    Ok(names.map(|n| (n.given_name, n.family_name)))
}

/// Identity details recorded through one involvement.
pub struct NewIdentity<'a> {
    pub child: Uuid,
    pub involvement: Uuid,
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub gender: Option<&'a str>,
    pub postcode: Option<&'a str>,
    pub nhs_number: Option<&'a str>,
    pub school_upn: Option<&'a str>,
    pub la_id: Option<&'a str>,
}

/// Records the details a new involvement brought.
pub fn insert(conn: &mut PgConnection, new: NewIdentity<'_>) -> QueryResult<()> {
    diesel::insert_into(child_identities::table)
        .values((
            child_identities::id.eq(Uuid::now_v7()),
            child_identities::child_id.eq(new.child),
            child_identities::involvement_id.eq(new.involvement),
            child_identities::given_name.eq(new.given_name),
            child_identities::family_name.eq(new.family_name),
            child_identities::gender.eq(new.gender),
            child_identities::postcode.eq(new.postcode),
            child_identities::nhs_number.eq(new.nhs_number),
            child_identities::school_upn.eq(new.school_upn),
            child_identities::la_id.eq(new.la_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records through `involvement` the details that `seen`, a lateral subquery over the child
/// `c.id`, selects for `child`.
pub fn copy_seen(
    conn: &mut PgConnection,
    child: Uuid,
    involvement: Uuid,
    seen: BoundSql,
) -> QueryResult<()> {
    BoundSql::new(
        "INSERT INTO child_identities (id, child_id, involvement_id, given_name, family_name, \
         gender, postcode, nhs_number, school_upn, la_id) SELECT ",
    )
    .uuid(Uuid::now_v7())
    .sql(", s.child_id, ")
    .uuid(involvement)
    .sql(
        ", s.given_name, s.family_name, s.gender, s.postcode, s.nhs_number, s.school_upn, \
         s.la_id FROM children c CROSS JOIN LATERAL (",
    )
    .append(seen)
    .sql(") s WHERE c.id = ")
    .uuid(child)
    .query()
    .execute(conn)?;
    Ok(())
}
