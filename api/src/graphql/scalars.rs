//! The contract's scalars, for the domain's date and time types: the same values under the
//! contract's names, converted with `From` at the edge.

use crate::domain;

/// ISO 8601 calendar date, as the contract's `Date`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub chrono::NaiveDate);

/// RFC 3339 timestamp, as the contract's `DateTime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub chrono::DateTime<chrono::Utc>);

impl Date {
    fn parse_text(s: &str) -> Option<Date> {
        domain::Date::parse_text(s).map(|d| Date(d.0))
    }
}

impl Timestamp {
    fn parse_text(s: &str) -> Option<Timestamp> {
        domain::Timestamp::parse_text(s).map(|t| Timestamp(t.0))
    }
}

impl From<Date> for domain::Date {
    fn from(d: Date) -> domain::Date {
        domain::Date(d.0)
    }
}

impl From<Timestamp> for domain::Timestamp {
    fn from(t: Timestamp) -> domain::Timestamp {
        domain::Timestamp(t.0)
    }
}

/// ISO 8601 calendar date, e.g. "2014-03-09".
#[async_graphql::Scalar(name = "Date")]
impl async_graphql::ScalarType for Date {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| {
                    async_graphql::InputValueError::custom(
                        "expected an ISO 8601 date such as 2014-03-09",
                    )
                }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    // Checked while the document is validated, so the error names the argument.
    fn is_valid(value: &async_graphql::Value) -> bool {
        matches!(value, async_graphql::Value::String(s) if Date::parse_text(s).is_some())
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// RFC 3339 timestamp with offset.
#[async_graphql::Scalar(name = "DateTime")]
impl async_graphql::ScalarType for Timestamp {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => Timestamp::parse_text(s).ok_or_else(|| {
                async_graphql::InputValueError::custom(
                    "expected an RFC 3339 timestamp such as 2026-11-22T09:30:00Z",
                )
            }),
            _ => Err(async_graphql::InputValueError::expected_type(value)),
        }
    }

    // Checked while the document is validated, so the error names the argument.
    fn is_valid(value: &async_graphql::Value) -> bool {
        matches!(value, async_graphql::Value::String(s) if Timestamp::parse_text(s).is_some())
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}
