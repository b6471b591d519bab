//! Children: the record itself holds only the date of birth; what each source knows of the
//! child's identity is in `child_identities`.

use chrono::NaiveDate;
use diesel::expression::Expression;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Record};
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::functions::lower;
use crate::models::{AgencyRow, ChildRow, InvolvementRow, PractitionerRow, TaskRow};
use crate::paging::Slice;
use crate::schema::{child_identities, children};

/// Whether the child `id` exists and passes `filter` (over `children`).
pub fn exists(conn: &mut PgConnection, id: Uuid, filter: BoundSql) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        children::table.filter(children::id.eq(id)).filter(filter),
    ))
    .get_result(conn)
}

/// Waits, until the transaction ends, for any other registration of the same names and date
/// of birth: two at once cannot make two records of one child.
pub fn lock_registration(
    conn: &mut PgConnection,
    given: &str,
    family: &str,
    dob: NaiveDate,
) -> QueryResult<()> {
    BoundSql::new("SELECT pg_advisory_xact_lock(hashtextextended(")
        .text(format!(
            "child:{}:{}:{}",
            given.to_lowercase(),
            family.to_lowercase(),
            dob
        ))
        .sql(", 0))")
        .query()
        .execute(conn)?;
    Ok(())
}

/// The oldest child born on `dob` whom any source recorded with these names (any case).
pub fn find_by_names(
    conn: &mut PgConnection,
    given: &str,
    family: &str,
    dob: NaiveDate,
) -> QueryResult<Option<Uuid>> {
    children::table
        .filter(children::date_of_birth.eq(dob))
        .filter(diesel::dsl::exists(
            child_identities::table
                .filter(child_identities::child_id.eq(children::id))
                .filter(lower(child_identities::given_name).eq(given.to_lowercase()))
                .filter(lower(child_identities::family_name).eq(family.to_lowercase())),
        ))
        .order((children::created_at.asc(), children::id.asc()))
        .select(children::id)
        .first(conn)
        .optional()
}

/// Inserts a child record born on `dob`; returns its id.
pub fn insert(conn: &mut PgConnection, dob: NaiveDate) -> QueryResult<Uuid> {
    let id = Uuid::new_v4();
    diesel::insert_into(children::table)
        .values((children::id.eq(id), children::date_of_birth.eq(dob)))
        .execute(conn)?;
    Ok(id)
}

/// The children `seen` (a reader's view of `children`, see `policy::child_as_seen_sql`)
/// selects whose date of birth is `dob` and that pass `filter` (over `children`).
pub fn born_on(
    conn: &mut PgConnection,
    seen: BoundSql,
    dob: NaiveDate,
    filter: BoundSql,
) -> QueryResult<Vec<ChildRow>> {
    seen.sql(" WHERE children.date_of_birth = ")
        .date(dob)
        .sql(" AND ")
        .append(filter)
        .query()
        .load(conn)
}

/// The children `ids` that pass `filter` (over `children`), as `seen` shows them, each
/// recorded in the same statement by `record`: an insert per row of the `WITH` query `c`
/// (columns as [`ChildRow`]), so that no row leaves the database without its record.
pub fn read_recorded(
    conn: &mut PgConnection,
    seen: BoundSql,
    ids: Vec<Uuid>,
    filter: BoundSql,
    record: BoundSql,
) -> QueryResult<Vec<ChildRow>> {
    BoundSql::new("WITH c AS (")
        .append(seen)
        .sql(" WHERE children.id = ANY(")
        .uuids(ids)
        .sql(") AND ")
        .append(filter)
        .sql("), recorded AS (")
        .append(record)
        .sql(") SELECT * FROM c")
        .query()
        .load(conn)
}

/// A page of the children `practitioner` is actively involved with, by family name, given name
/// and id as `seen` shows them (a query over `children` joined to the identity `idn`), in the
/// order taken (see [`Slice`]). A cursor is a child's id with the identity its reader sees (a
/// query over `ac`) and a filter over `ac` it must pass to place the page at all, so no name
/// travels in a cursor. `record` runs over the rows `shown`.
pub fn page_of_member(
    conn: &mut PgConnection,
    seen: BoundSql,
    practitioner: Uuid,
    slice: Slice<(Uuid, BoundSql, BoundSql)>,
    record: BoundSql,
) -> QueryResult<Vec<ChildRow>> {
    let mut mine = seen
        .sql(
            " WHERE children.id IN (SELECT r.child_id FROM involvements r \
             WHERE r.ended_on IS NULL AND r.practitioner_id = ",
        )
        .uuid(practitioner)
        .sql(")");
    let fetch = slice.fetch();
    for (op, bound) in [(">", slice.after), ("<", slice.before)] {
        if let Some((id, seen_of, readable)) = bound {
            mine = mine
                .sql(format!(
                    " AND (idn.family_name, idn.given_name, children.id) {op} (SELECT \
                     s.family_name, s.given_name, ac.id FROM children ac CROSS JOIN LATERAL ("
                ))
                .append(seen_of)
                .sql(") s WHERE ac.id = ")
                .uuid(id)
                .sql(" AND ")
                .append(readable)
                .sql(")");
        }
    }
    let order = if slice.from_end {
        "ORDER BY family_name DESC, given_name DESC, id DESC"
    } else {
        "ORDER BY family_name, given_name, id"
    };
    BoundSql::new("WITH page AS (")
        .append(mine)
        .sql(format!(" {order} LIMIT "))
        .bigint(fetch)
        .sql(format!("), shown AS (SELECT * FROM page {order} LIMIT "))
        .bigint(slice.limit)
        .sql("), recorded AS (")
        .append(record)
        .sql(format!(") SELECT * FROM page {order}"))
        .query()
        .load(conn)
}

/// The oldest child any source recorded with one of these identifiers: an NHS number, a
/// school UPN or a local-authority id, tried in that order.
pub fn find_by_identifier(
    conn: &mut PgConnection,
    nhs_number: Option<&str>,
    school_upn: Option<&str>,
    la_id: Option<&str>,
) -> QueryResult<Option<Uuid>> {
    let base = || {
        children::table
            .order((children::created_at.asc(), children::id.asc()))
            .select(children::id)
    };
    if let Some(nhs) = nhs_number {
        let found = base()
            .filter(diesel::dsl::exists(
                child_identities::table
                    .filter(child_identities::child_id.eq(children::id))
                    .filter(child_identities::nhs_number.eq(nhs)),
            ))
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    if let Some(upn) = school_upn {
        let found = base()
            .filter(diesel::dsl::exists(
                child_identities::table
                    .filter(child_identities::child_id.eq(children::id))
                    .filter(child_identities::school_upn.eq(upn)),
            ))
            .first(conn)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    if let Some(la) = la_id {
        return base()
            .filter(diesel::dsl::exists(
                child_identities::table
                    .filter(child_identities::child_id.eq(children::id))
                    .filter(child_identities::la_id.eq(la)),
            ))
            .first(conn)
            .optional();
    }
    Ok(None)
}

#[derive(QueryableByName)]
struct Nhs {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    nhs_number: Option<String>,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

/// The NHS number of `child` in the identity `seen` chooses (over `children`), if it holds one.
pub fn nhs_number_seen(
    conn: &mut PgConnection,
    child: Uuid,
    seen: crate::bound::BoundSql,
) -> QueryResult<Option<String>> {
    crate::bound::BoundSql::new("SELECT idn.nhs_number FROM children CROSS JOIN LATERAL (")
        .append(seen)
        .sql(") idn WHERE children.id = ")
        .uuid(child)
        .query()
        .get_result::<Nhs>(conn)
        .optional()
        .map(|r| r.and_then(|r| r.nhs_number))
}

/// The children whose identity `seen` chooses (over `children`) holds the NHS number `nhs`
/// and that pass `filter`, oldest first.
pub fn with_nhs_number_seen(
    conn: &mut PgConnection,
    nhs: &str,
    seen: crate::bound::BoundSql,
    filter: crate::bound::BoundSql,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<Id> =
        crate::bound::BoundSql::new("SELECT children.id FROM children CROSS JOIN LATERAL (")
            .append(seen)
            .sql(") idn WHERE idn.nhs_number = ")
            .text(nhs)
            .sql(" AND ")
            .append(filter)
            .sql(" ORDER BY children.created_at, children.id")
            .query()
            .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The child's active team from its kept row `k` (migration `kept_teams`), in the order kept
/// (see [`crate::involvements::teams`]), as an array of (involvement, practitioner, agency)
/// records: the visibility filter, over the involvement `(member.involvement)`, and `)` follow.
const TEAM_OF_K: &str = "(SELECT array_agg(ROW(member.involvement, member.practitioner, \
     member.agency) ORDER BY member.n) \
     FROM unnest(k.members) WITH ORDINALITY AS member(involvement, practitioner, agency, n) \
     WHERE ";

/// The child's tasks from its kept row `k`, in the order kept (see
/// [`crate::tasks::of_children`]), as an array of (task, assignee or NULL) records: the
/// visibility filter, over the task `(entry.task)` and the involvements it names
/// `entry.namers`, and `)` follow.
const TASKS_OF_K: &str = "(SELECT array_agg(ROW(entry.task, entry.assignee) ORDER BY entry.n) \
     FROM unnest(k.tasks) WITH ORDINALITY AS entry(task, assignee, namers, n) \
     WHERE ";

type SqlTypeOf<Row> = <<Row as Selectable<Pg>>::SelectExpression as Expression>::SqlType;
type TupleOf<Row> = <Row as Queryable<SqlTypeOf<Row>, Pg>>::Row;
type MemberRecord = (
    TupleOf<InvolvementRow>,
    TupleOf<PractitionerRow>,
    TupleOf<AgencyRow>,
);
type TaskRecord = (TupleOf<TaskRow>, Option<TupleOf<PractitionerRow>>);

/// A row from its columns decoded as a record.
fn build<Row>(columns: TupleOf<Row>) -> diesel::deserialize::Result<Row>
where
    Row: Selectable<Pg> + Queryable<SqlTypeOf<Row>, Pg>,
{
    <Row as Queryable<SqlTypeOf<Row>, Pg>>::build(columns)
}

/// The rows of an array of records when it was `asked` for (NULL is the empty array), else
/// None.
fn rows_of<R, T>(
    asked: bool,
    records: Option<Vec<R>>,
    build: impl Fn(R) -> diesel::deserialize::Result<T>,
) -> QueryResult<Option<Vec<T>>> {
    asked
        .then(|| records.unwrap_or_default().into_iter().map(build).collect())
        .transpose()
        .map_err(diesel::result::Error::DeserializationError)
}

/// One team screen as one row: the child, its team and its tasks as arrays of records, decoded
/// from PostgreSQL's binary format (no text or JSON in between).
#[derive(QueryableByName)]
struct TeamScreenRow {
    #[diesel(embed)]
    child: ChildRow,
    #[diesel(sql_type = Nullable<Array<Record<(
        Record<SqlTypeOf<InvolvementRow>>,
        Record<SqlTypeOf<PractitionerRow>>,
        Record<SqlTypeOf<AgencyRow>>,
    )>>>)]
    team: Option<Vec<MemberRecord>>,
    #[diesel(sql_type = Nullable<Array<Record<(
        Record<SqlTypeOf<TaskRow>>,
        Nullable<Record<SqlTypeOf<PractitionerRow>>>,
    )>>>)]
    tasks: Option<Vec<TaskRecord>>,
}

/// A child with, where asked for, its active team (each member with the practitioner and
/// agency) and its tasks (each with its assignee).
#[derive(Debug)]
pub struct TeamScreen {
    pub child: ChildRow,
    pub team: Option<Vec<(InvolvementRow, PractitionerRow, AgencyRow)>>,
    pub tasks: Option<Vec<(TaskRow, Option<PractitionerRow>)>>,
}

/// The team screen in one statement: the child `id` as `seen` shows it (a query over
/// `children`) if it passes `filter` (over `children`); and for that child only, from its
/// kept row, its active involvements passing `team` (over `(member.involvement)`) and its
/// tasks passing `tasks` (over `(entry.task)` and `entry.namers`), in the orders of
/// [`crate::involvements::teams`] and [`crate::tasks::of_children`]. A `None` filter leaves
/// that part out. Nothing is read beyond a child that does not pass.
pub fn team_screen(
    conn: &mut PgConnection,
    seen: BoundSql,
    id: Uuid,
    filter: BoundSql,
    team: Option<BoundSql>,
    tasks: Option<BoundSql>,
) -> QueryResult<Option<TeamScreen>> {
    let (with_team, with_tasks) = (team.is_some(), tasks.is_some());
    let mut query = BoundSql::new("WITH c AS (")
        .append(seen)
        .sql(" WHERE children.id = ")
        .uuid(id)
        .sql(" AND ")
        .append(filter)
        .sql(") SELECT c.*, ");
    query = match team {
        None => query.sql("NULL AS team, "),
        Some(visible) => query.sql(TEAM_OF_K).append(visible).sql(") AS team, "),
    };
    query = match tasks {
        None => query.sql("NULL AS tasks"),
        Some(visible) => query.sql(TASKS_OF_K).append(visible).sql(") AS tasks"),
    };
    let Some(row) = query
        .sql(" FROM c JOIN child_teams k ON k.child_id = c.id")
        .query()
        .get_result::<TeamScreenRow>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    Ok(Some(TeamScreen {
        child: row.child,
        team: rows_of(with_team, row.team, |(i, p, a)| {
            Ok((build(i)?, build(p)?, build(a)?))
        })?,
        tasks: rows_of(with_tasks, row.tasks, |(t, p)| {
            Ok((build(t)?, p.map(build).transpose()?))
        })?,
    }))
}
