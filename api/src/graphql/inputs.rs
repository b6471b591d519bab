//! The input objects of the contract, each translated into its service's plain input; where
//! the service takes a parsed input (IDs and dates as values), the translation parses it here,
//! at the edge, naming each field at fault.

use async_graphql::{InputObject, ID};

use crate::graphql::enums::*;
use crate::graphql::scalars::{Date, Timestamp};
use crate::service::error::ServiceError;
use crate::service::parse_id;
use crate::service::{
    agency, child, contact, involvement, notification, practitioner, sharing, task,
};

/// A new child, with the caller's own involvement.
#[derive(Debug, Clone, InputObject)]
pub struct RegisterChildInput {
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: Date,
    pub gender: Option<String>,
    pub postcode: Option<String>,
    /// The caller's own involvement with the new child.
    pub role: String,
    pub sensitivity: Option<Sensitivity>,
    pub lawful_basis: Option<LawfulBasis>,
}

impl From<RegisterChildInput> for child::RegisterChildInput {
    fn from(input: RegisterChildInput) -> Self {
        child::RegisterChildInput {
            given_name: input.given_name,
            family_name: input.family_name,
            date_of_birth: input.date_of_birth.into(),
            gender: input.gender,
            postcode: input.postcode,
            role: input.role,
            sensitivity: input.sensitivity.map(Into::into),
            lawful_basis: input.lawful_basis.map(Into::into),
        }
    }
}

/// One contact to record.
#[derive(Debug, Clone, InputObject)]
pub struct RecordContactInput {
    pub involvement_id: ID,
    pub kind: ContactKind,
    pub outcome: ContactOutcome,
    pub at: Timestamp,
}

impl TryFrom<RecordContactInput> for contact::RecordContactInput {
    type Error = ServiceError;

    fn try_from(input: RecordContactInput) -> Result<Self, ServiceError> {
        Ok(contact::RecordContactInput {
            involvement_id: parse_id("involvementId", &input.involvement_id)?,
            kind: input.kind.into(),
            outcome: input.outcome.into(),
            at: input.at.into(),
        })
    }
}

/// A new agency.
#[derive(Debug, Clone, InputObject)]
pub struct CreateAgencyInput {
    pub name: String,
    pub kind: AgencyKind,
    /// Whether the agency's involvement with a child is itself sensitive.
    #[graphql(default_with = "Some(false)")]
    pub sensitive: Option<bool>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl From<CreateAgencyInput> for agency::CreateAgencyInput {
    fn from(input: CreateAgencyInput) -> Self {
        agency::CreateAgencyInput {
            name: input.name,
            kind: input.kind.into(),
            sensitive: input.sensitive,
            email: input.email,
            phone: input.phone,
        }
    }
}

/// A new agreement, granted from the caller's agency.
#[derive(Debug, Clone, InputObject)]
pub struct CreateSharingAgreementInput {
    pub to_agency_id: ID,
    pub purpose: String,
    pub starts_on: Date,
    /// Inclusive.
    pub ends_on: Option<Date>,
}

impl From<CreateSharingAgreementInput> for sharing::CreateSharingAgreementInput {
    fn from(input: CreateSharingAgreementInput) -> Self {
        sharing::CreateSharingAgreementInput {
            to_agency_id: input.to_agency_id.0,
            purpose: input.purpose,
            starts_on: input.starts_on.into(),
            ends_on: input.ends_on.map(Into::into),
        }
    }
}

/// A new account.
#[derive(Debug, Clone, InputObject)]
pub struct CreatePractitionerInput {
    pub agency_id: ID,
    pub display_name: String,
    pub email: String,
    pub job_title: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    #[graphql(default_with = "Some(Role::Practitioner)")]
    pub role: Option<Role>,
    /// Initial password; when absent the practitioner is emailed a link to set one.
    pub password: Option<String>,
}

impl From<CreatePractitionerInput> for practitioner::CreatePractitionerInput {
    fn from(input: CreatePractitionerInput) -> Self {
        practitioner::CreatePractitionerInput {
            agency_id: input.agency_id.0,
            display_name: input.display_name,
            email: input.email,
            job_title: input.job_title,
            phone: input.phone,
            mobile: input.mobile,
            role: input.role.map(Into::into),
            password: input.password,
        }
    }
}

/// A new task on a child.
#[derive(Debug, Clone, InputObject)]
pub struct CreateTaskInput {
    pub child_id: ID,
    pub title: String,
    pub description: Option<String>,
    pub assignee_id: Option<ID>,
    pub due_on: Option<Date>,
}

impl TryFrom<CreateTaskInput> for task::CreateTask {
    type Error = ServiceError;

    fn try_from(input: CreateTaskInput) -> Result<Self, ServiceError> {
        task::CreateTask::try_from(task::CreateTaskInput {
            child_id: input.child_id.0,
            title: input.title,
            description: input.description,
            assignee_id: input.assignee_id.map(|id| id.0),
            due_on: input.due_on.map(Into::into),
        })
    }
}

/// Changes to a task; absent fields stay as they are.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateTaskInput {
    pub id: ID,
    pub expected_version: i32,
    pub title: Option<String>,
    pub description: Option<String>,
    pub assignee_id: Option<ID>,
    pub due_on: Option<Date>,
    pub status: Option<TaskStatus>,
}

impl TryFrom<UpdateTaskInput> for task::UpdateTask {
    type Error = ServiceError;

    fn try_from(input: UpdateTaskInput) -> Result<Self, ServiceError> {
        task::UpdateTask::try_from(task::UpdateTaskInput {
            id: input.id.0,
            expected_version: input.expected_version,
            title: input.title,
            description: input.description,
            assignee_id: input.assignee_id.map(|id| id.0),
            due_on: input.due_on.map(Into::into),
            status: input.status.map(Into::into),
        })
    }
}

/// Joining a child's team.
#[derive(Debug, Clone, InputObject)]
pub struct JoinTeamInput {
    pub child_id: ID,
    pub role: String,
    pub sensitivity: Option<Sensitivity>,
    pub lawful_basis: Option<LawfulBasis>,
    /// Why the caller is joining; kept in the audit log.
    pub reason: String,
}

impl TryFrom<JoinTeamInput> for involvement::JoinTeam {
    type Error = ServiceError;

    fn try_from(input: JoinTeamInput) -> Result<Self, ServiceError> {
        involvement::JoinTeam::try_from(involvement::JoinTeamInput {
            child_id: input.child_id.0,
            role: input.role,
            sensitivity: input.sensitivity.map(Into::into),
            lawful_basis: input.lawful_basis.map(Into::into),
            reason: input.reason,
        })
    }
}

/// Changes to an involvement; absent fields stay as they are.
#[derive(Debug, Clone, InputObject)]
pub struct UpdateInvolvementInput {
    pub id: ID,
    pub expected_version: i32,
    pub role: Option<String>,
    pub sensitivity: Option<Sensitivity>,
    pub consent: Option<ConsentStatus>,
    pub lawful_basis: Option<LawfulBasis>,
    pub is_lead: Option<bool>,
    pub next_contact_at: Option<Timestamp>,
}

impl TryFrom<UpdateInvolvementInput> for involvement::UpdateInvolvement {
    type Error = ServiceError;

    fn try_from(input: UpdateInvolvementInput) -> Result<Self, ServiceError> {
        involvement::UpdateInvolvement::try_from(involvement::UpdateInvolvementInput {
            id: input.id.0,
            expected_version: input.expected_version,
            role: input.role,
            sensitivity: input.sensitivity.map(Into::into),
            consent: input.consent.map(Into::into),
            lawful_basis: input.lawful_basis.map(Into::into),
            is_lead: input.is_lead,
            next_contact_at: input.next_contact_at.map(Into::into),
        })
    }
}

/// A change to one kind's delivery.
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "NotificationPreferenceInput")]
pub struct PreferenceInput {
    pub kind: NotificationKind,
    pub delivery: Delivery,
}

impl From<PreferenceInput> for notification::PreferenceInput {
    fn from(input: PreferenceInput) -> Self {
        notification::PreferenceInput {
            kind: input.kind.into(),
            delivery: input.delivery.into(),
        }
    }
}
