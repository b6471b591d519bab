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

use error::{ServiceError, ServiceResult};

/// Parses an ID argument, naming the field when it is not a UUID.
pub fn parse_id(field: &str, id: &str) -> ServiceResult<Uuid> {
    Uuid::parse_str(id.trim()).map_err(|_| ServiceError::invalid(field, "is not a valid ID"))
}

/// Trims optional text; blank becomes absent.
pub fn trimmed(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}
