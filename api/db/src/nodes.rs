//! What kind of thing an id names, among the things a client may fetch by id alone.

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;

/// A kind of thing with an id of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Child,
    Involvement,
    Task,
    Practitioner,
    Agency,
}

impl NodeKind {
    fn from_str(s: &str) -> Option<Self> {
        Some(match s {
            "CHILD" => NodeKind::Child,
            "INVOLVEMENT" => NodeKind::Involvement,
            "TASK" => NodeKind::Task,
            "PRACTITIONER" => NodeKind::Practitioner,
            "AGENCY" => NodeKind::Agency,
            _ => return None,
        })
    }
}

/// The rows that may answer for an id: each kind's filter is over its own table (`children`,
/// `involvements`, `tasks`); practitioners and agencies have none.
pub struct Filters {
    pub child: BoundSql,
    pub involvement: BoundSql,
    pub task: BoundSql,
}

/// The kind of the row `id` names, if a row of it passes its kind's filter: one statement,
/// whether the id names nothing or something filtered out.
pub fn kind_of(
    conn: &mut PgConnection,
    id: Uuid,
    filters: Filters,
) -> QueryResult<Option<NodeKind>> {
    #[derive(QueryableByName)]
    struct Kind {
        #[diesel(sql_type = Text)]
        kind: String,
    }
    let found: Option<Kind> =
        BoundSql::new("SELECT 'CHILD' AS kind FROM children WHERE children.id = ")
            .uuid(id)
            .sql(" AND ")
            .append(filters.child)
            .sql(" UNION ALL SELECT 'INVOLVEMENT' FROM involvements WHERE involvements.id = ")
            .uuid(id)
            .sql(" AND ")
            .append(filters.involvement)
            .sql(" UNION ALL SELECT 'TASK' FROM tasks WHERE tasks.id = ")
            .uuid(id)
            .sql(" AND ")
            .append(filters.task)
            .sql(" UNION ALL SELECT 'PRACTITIONER' FROM practitioners WHERE practitioners.id = ")
            .uuid(id)
            .sql(" UNION ALL SELECT 'AGENCY' FROM agencies WHERE agencies.id = ")
            .uuid(id)
            .sql(" LIMIT 1")
            .query()
            .get_result(conn)
            .optional()?;
    Ok(found.and_then(|k| NodeKind::from_str(&k.kind)))
}
