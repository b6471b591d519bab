//! Credentials: password hashing, access tokens (JWT) and refresh tokens.

pub mod password;
pub mod tokens;
pub mod unsubscribe;

use uuid::Uuid;

use crate::domain::Role;

/// Who is making a request, established once per request from a verified access token and
/// the practitioner's current row (so a deactivation or role change applies at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub practitioner_id: Uuid,
    pub agency_id: Uuid,
    pub role: Role,
}

/// Where a request comes from, for the audit trail and rate limits.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub client_addr: Option<String>,
}
