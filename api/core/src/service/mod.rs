//! Business rules, one module per resource. Each operation validates its input, asks
//! [`crate::policy`], and writes its change with the audit event in one transaction.

pub mod agency;
pub mod api_client;
pub mod audit;
pub mod audit_batch;
pub mod audit_log;
pub mod audit_seal;
pub mod by_reference;
pub mod callers;
pub mod child;
pub mod contact;
pub mod error;
pub mod events;
pub mod family;
pub mod idempotency;
pub mod involvement;
pub mod live;
pub mod node;
pub mod notification;
pub mod page;
pub mod persisted;
pub mod practitioner;
pub mod rate;
pub mod readers;
pub mod search;
pub mod session;
pub mod sharing;
pub mod task;
pub mod webhook;

use uuid::Uuid;

use error::{FieldError, ServiceError, ServiceResult};

/// Parses an ID argument, naming the field when it is not a UUID.
pub fn parse_id(field: &str, id: &str) -> ServiceResult<Uuid> {
    Uuid::parse_str(id.trim()).map_err(|_| ServiceError::invalid(field, "is not a valid ID"))
}

/// Parses an ID that is one field of an input checked as a whole: a malformed one is added to
/// `problems`, and the nil UUID stands in for it. The caller refuses the input when `problems`
/// is not empty, so the stand-in never reaches a query.
pub fn parse_id_noting(problems: &mut Vec<FieldError>, field: &str, id: &str) -> Uuid {
    parse_id(field, id).unwrap_or_else(|_| {
        problems.push(FieldError::new(field, "is not a valid ID"));
        Uuid::nil()
    })
}

/// Trims optional text; blank becomes absent.
pub fn trimmed(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}
