//! Rows as diesel reads and writes them.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::schema::*;

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = agencies, check_for_backend(diesel::pg::Pg))]
pub struct AgencyRow {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub sensitive: bool,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub version: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = agencies)]
pub struct NewAgencyRow<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub kind: &'a str,
    pub sensitive: bool,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = practitioners, check_for_backend(diesel::pg::Pg))]
pub struct PractitionerRow {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub job_title: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub role: String,
    pub active: bool,
    pub version: i32,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = practitioners)]
pub struct NewPractitionerRow<'a> {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub display_name: &'a str,
    pub email: &'a str,
    pub job_title: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub mobile: Option<&'a str>,
    pub role: &'a str,
    pub password_hash: Option<&'a str>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshTokenRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub practitioner_id: Uuid,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct RefreshTokenRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub practitioner_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The successor's token, sealed with this one's (see `auth::tokens::seal_successor`).
    pub successor_sealed: Option<Vec<u8>>,
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(diesel::pg::Pg))]
pub struct AuditEventRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_agency_id: Option<Uuid>,
    pub action: String,
    pub child_id: Option<Uuid>,
    pub subject_type: Option<String>,
    pub subject_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
    /// What the actor was not told; for system admins only.
    pub sealed: serde_json::Value,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEventRow<'a> {
    pub actor_id: Option<Uuid>,
    pub actor_agency_id: Option<Uuid>,
    pub action: &'a str,
    pub child_id: Option<Uuid>,
    pub subject_type: Option<&'a str>,
    pub subject_id: Option<Uuid>,
    pub request_id: Option<&'a str>,
    pub client_addr: Option<&'a str>,
    pub reason: Option<&'a str>,
    pub details: serde_json::Value,
    pub sealed: serde_json::Value,
}

/// A child as one reader sees it: the identity details most recently recorded through an
/// involvement the reader may see (rule 2), read only through
/// `policy::child_as_seen_sql` in the service crate.
#[derive(Clone, Debug, QueryableByName)]
pub struct ChildRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub given_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub family_name: String,
    #[diesel(sql_type = diesel::sql_types::Date)]
    pub date_of_birth: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub gender: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub postcode: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub version: i32,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = involvements, check_for_backend(diesel::pg::Pg))]
pub struct InvolvementRow {
    pub id: Uuid,
    pub child_id: Uuid,
    pub practitioner_id: Uuid,
    pub agency_id: Uuid,
    pub role: String,
    pub sensitivity: String,
    pub consent: String,
    pub lawful_basis: Option<String>,
    pub is_lead: bool,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub next_contact_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = contacts, check_for_backend(diesel::pg::Pg))]
pub struct ContactRow {
    pub id: Uuid,
    pub involvement_id: Uuid,
    pub kind: String,
    pub outcome: String,
    pub at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tasks, check_for_backend(diesel::pg::Pg))]
pub struct TaskRow {
    pub id: Uuid,
    pub child_id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub created_by: Uuid,
    pub due_on: Option<NaiveDate>,
    pub status: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = sharing_agreements, check_for_backend(diesel::pg::Pg))]
pub struct SharingAgreementRow {
    pub id: Uuid,
    pub from_agency_id: Uuid,
    pub to_agency_id: Uuid,
    pub purpose: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub version: i32,
}

#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = activity, check_for_backend(diesel::pg::Pg))]
pub struct ActivityRow {
    pub id: Uuid,
    pub child_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub kind: String,
    pub involvement_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub details: serde_json::Value,
}

/// A recorded family relationship (rule 11): a sibling pair (the lower child id first), or a
/// child's parent or carer by name.
#[derive(Clone, Debug, Queryable, Selectable, Identifiable)]
#[diesel(table_name = family_links, check_for_backend(diesel::pg::Pg))]
pub struct FamilyLinkRow {
    pub id: Uuid,
    pub child_id: Uuid,
    pub relation: String,
    pub sibling_id: Option<Uuid>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// None for a link recorded before recorders were kept.
    pub recorded_by: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}
