//! SQL written by hand whose values travel as bind parameters.
//!
//! diesel refuses to cache a prepared statement that contains raw SQL (`sql()`, `sql_query`),
//! because the text may embed values. A [`BoundSql`] never embeds one: its text is fixed by the
//! code that builds it, and every value is a parameter. So the text is the same for every
//! reader, diesel keeps one prepared statement per connection, and PostgreSQL parses and plans
//! it once instead of on every request.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::expression::ValidGrouping;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Bool, Date, Nullable, Text, Timestamptz, Untyped};
use diesel::{QueryResult, RunQueryDsl};
use uuid::Uuid;

/// A piece of SQL: fixed text with bound values, usable as a boolean filter or, through
/// [`BoundSql::query`], as a whole statement.
#[derive(Clone, Debug, Default)]
pub struct BoundSql {
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Sql(Cow<'static, str>),
    Uuid(Uuid),
    OptionalUuid(Option<Uuid>),
    Uuids(Vec<Uuid>),
    Text(String),
    OptionalText(Option<String>),
    BigInt(i64),
    Date(NaiveDate),
    Timestamptz(DateTime<Utc>),
}

impl BoundSql {
    /// Starts with fixed text. The text must never be built from a value.
    pub fn new(text: impl Into<Cow<'static, str>>) -> Self {
        BoundSql {
            parts: vec![Part::Sql(text.into())],
        }
    }

    /// Appends fixed text.
    pub fn sql(self, text: impl Into<Cow<'static, str>>) -> Self {
        self.push(Part::Sql(text.into()))
    }

    fn push(mut self, part: Part) -> Self {
        self.parts.push(part);
        self
    }

    /// Appends another fragment, text and values.
    pub fn append(mut self, other: BoundSql) -> Self {
        self.parts.extend(other.parts);
        self
    }

    pub fn uuid(self, value: Uuid) -> Self {
        self.push(Part::Uuid(value))
    }

    /// A uuid parameter that is NULL when `value` is None.
    pub fn optional_uuid(self, value: Option<Uuid>) -> Self {
        self.push(Part::OptionalUuid(value))
    }

    /// A `uuid[]` parameter, for `= ANY(...)`: one parameter however many ids.
    pub fn uuids(self, values: Vec<Uuid>) -> Self {
        self.push(Part::Uuids(values))
    }

    pub fn text(self, value: impl Into<String>) -> Self {
        self.push(Part::Text(value.into()))
    }

    /// A text parameter that is NULL when `value` is None.
    pub fn optional_text(self, value: Option<String>) -> Self {
        self.push(Part::OptionalText(value))
    }

    pub fn date(self, value: NaiveDate) -> Self {
        self.push(Part::Date(value))
    }

    pub fn bigint(self, value: i64) -> Self {
        self.push(Part::BigInt(value))
    }

    pub fn timestamptz(self, value: DateTime<Utc>) -> Self {
        self.push(Part::Timestamptz(value))
    }

    /// This fragment as a whole statement, whose rows load into `QueryableByName` types.
    pub fn query(self) -> BoundQuery {
        BoundQuery(self)
    }

    /// The text as sent to PostgreSQL (values as `$n`); for tests and diagnostics.
    pub fn to_sql_text(&self) -> String {
        diesel::debug_query::<Pg, _>(self)
            .to_string()
            .split(" -- binds:")
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

impl QueryFragment<Pg> for BoundSql {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for part in &self.parts {
            match part {
                Part::Sql(text) => out.push_sql(text),
                Part::Uuid(v) => out.push_bind_param::<diesel::sql_types::Uuid, _>(v)?,
                Part::OptionalUuid(v) => {
                    out.push_bind_param::<Nullable<diesel::sql_types::Uuid>, _>(v)?
                }
                Part::Uuids(v) => out.push_bind_param::<Array<diesel::sql_types::Uuid>, _>(v)?,
                Part::Text(v) => out.push_bind_param::<Text, _>(v)?,
                Part::OptionalText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                Part::Date(v) => out.push_bind_param::<Date, _>(v)?,
                Part::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                Part::Timestamptz(v) => out.push_bind_param::<Timestamptz, _>(v)?,
            }
        }
        Ok(())
    }
}

// The text depends on the code path, not on a type, so the cache is keyed by the text.
impl QueryId for BoundSql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Expression for BoundSql {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for BoundSql {}

impl<QS> SelectableExpression<QS> for BoundSql {}

impl<GB> ValidGrouping<GB> for BoundSql {
    type IsAggregate = is_aggregate::Never;
}

/// A whole statement made of a [`BoundSql`].
#[derive(Clone, Debug)]
pub struct BoundQuery(BoundSql);

impl QueryFragment<Pg> for BoundQuery {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(out)
    }
}

impl QueryId for BoundQuery {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for BoundQuery {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for BoundQuery {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_parameters_and_the_text_stays_the_same() {
        let a = BoundSql::new("x = ")
            .uuid(Uuid::new_v4())
            .sql(" AND y = ANY(")
            .uuids(vec![Uuid::new_v4(), Uuid::new_v4()])
            .sql(")");
        let b = BoundSql::new("x = ")
            .uuid(Uuid::new_v4())
            .sql(" AND y = ANY(")
            .uuids(vec![])
            .sql(")");
        assert_eq!(a.to_sql_text(), "x = $1 AND y = ANY($2)");
        assert_eq!(a.to_sql_text(), b.to_sql_text());
    }

    #[test]
    fn appended_fragments_number_their_parameters_in_order() {
        let inner = BoundSql::new("b = ").text("two");
        let whole = BoundSql::new("a = ")
            .bigint(1)
            .sql(" AND (")
            .append(inner)
            .sql(")");
        assert_eq!(whole.to_sql_text(), "a = $1 AND (b = $2)");
    }
}
