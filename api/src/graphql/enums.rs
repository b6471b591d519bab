//! The contract's enums: the domain's words, published under the same names. Each converts to
//! and from its domain type.

use std::str::FromStr;

use crate::domain::{self, UnknownValue};

/// What a signed-in person may do beyond their own work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::Role")]
pub enum Role {
    Practitioner,
    AgencyAdmin,
    SystemAdmin,
}

/// The kind of organisation an agency is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::AgencyKind")]
pub enum AgencyKind {
    SocialCare,
    Education,
    EarlyYears,
    Health,
    Police,
    Housing,
    Youth,
    Probation,
    Voluntary,
    SubstanceMisuse,
    MentalHealth,
    DomesticAbuse,
    Other,
}

/// Whether an involvement is visible to the whole team or only to those rule 3 admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::Sensitivity")]
pub enum Sensitivity {
    Standard,
    Restricted,
}

/// How a family member is related to a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::FamilyRelation")]
pub enum FamilyRelation {
    Sibling,
    Parent,
    Carer,
}

/// Consent to share an involvement with the team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::ConsentStatus")]
pub enum ConsentStatus {
    NotRecorded,
    Given,
    Refused,
    NotRequired,
}

/// The UK GDPR basis on which an involvement is shared with the team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::LawfulBasis")]
pub enum LawfulBasis {
    Consent,
    PublicTask,
    LegalObligation,
    VitalInterests,
    LegitimateInterests,
}

/// How a contact with the child happened or is planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::ContactKind")]
pub enum ContactKind {
    HomeVisit,
    OfficeVisit,
    SchoolVisit,
    Phone,
    Video,
    Meeting,
    Other,
}

/// What came of a contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::ContactOutcome")]
pub enum ContactOutcome {
    Planned,
    Happened,
    Cancelled,
    WasNotBrought,
    NoAccess,
}

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::TaskStatus")]
pub enum TaskStatus {
    Open,
    Done,
    Cancelled,
}

/// What a notification is about; each practitioner chooses how each kind reaches them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::NotificationKind")]
pub enum NotificationKind {
    TeamChanged,
    LeadChanged,
    TaskAssigned,
    TaskCompleted,
    TaskOverdue,
    ContactMissed,
    AttentionRaised,
    Invitation,
    /// The agency's webhook endpoint kept failing and was disabled (to its agency admins).
    WebhookDisabled,
}

/// How a kind of notification reaches a practitioner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::Delivery")]
pub enum Delivery {
    Immediate,
    DailyDigest,
    Off,
}

impl FromStr for Role {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::Role>().map(Into::into)
    }
}

impl FromStr for AgencyKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::AgencyKind>().map(Into::into)
    }
}

impl FromStr for Sensitivity {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::Sensitivity>().map(Into::into)
    }
}

impl FromStr for ConsentStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::ConsentStatus>().map(Into::into)
    }
}

impl FromStr for LawfulBasis {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::LawfulBasis>().map(Into::into)
    }
}

impl FromStr for ContactKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::ContactKind>().map(Into::into)
    }
}

impl FromStr for ContactOutcome {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::ContactOutcome>().map(Into::into)
    }
}

impl FromStr for TaskStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::TaskStatus>().map(Into::into)
    }
}

impl FromStr for NotificationKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::NotificationKind>().map(Into::into)
    }
}

impl FromStr for Delivery {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        s.parse::<domain::Delivery>().map(Into::into)
    }
}

/// What an API client may do; published as OAuth scopes (`children:write`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(remote = "domain::ApiScope")]
pub enum ApiScope {
    /// `children:read`: read children's records by the agency's reference.
    ChildrenRead,
    /// `children:write`: create and update children by the agency's reference.
    ChildrenWrite,
    /// `involvements:write`: allocate the agency's practitioners to children, and end that.
    InvolvementsWrite,
    /// `contacts:write`: record contacts on the agency's involvements.
    ContactsWrite,
    /// `teams:read`: read the team around a child the agency works with.
    TeamsRead,
    /// `webhooks:manage`: subscribe the agency's endpoints to events, and manage them.
    WebhooksManage,
}
