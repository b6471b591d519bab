//! The words of the product as Rust types. Stored as text in the database (with CHECK
//! constraints there); the GraphQL layer publishes them under the same names
//! (`graphql::enums`, `graphql::scalars`).

use std::fmt;
use std::str::FromStr;

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and published spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { kind: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Like `text_enum!`, for kinds the server stores but never publishes as a GraphQL enum.
macro_rules! stored_kind {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { kind: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored value that no variant spells: a sign of a database changed outside the service.
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} '{value}' in the database")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

text_enum!(
    /// What a signed-in person may do beyond their own work.
    Role {
        Practitioner => "PRACTITIONER",
        AgencyAdmin => "AGENCY_ADMIN",
        SystemAdmin => "SYSTEM_ADMIN",
    }
);

text_enum!(
    /// What an API client may do, granted by the agency admin who registers it; OAuth scopes.
    ApiScope {
        ChildrenRead => "children:read",
        ChildrenWrite => "children:write",
        InvolvementsWrite => "involvements:write",
        ContactsWrite => "contacts:write",
        TeamsRead => "teams:read",
        WebhooksManage => "webhooks:manage",
    }
);

/// Whether a practitioners row is a person or an API client's account.
pub const ACCOUNT_PERSON: &str = "PERSON";
/// The kind of a practitioners row that is an API client's account.
pub const ACCOUNT_API_CLIENT: &str = "API_CLIENT";

text_enum!(
    /// The kind of organisation an agency is.
    AgencyKind {
        SocialCare => "SOCIAL_CARE",
        Education => "EDUCATION",
        EarlyYears => "EARLY_YEARS",
        Health => "HEALTH",
        Police => "POLICE",
        Housing => "HOUSING",
        Youth => "YOUTH",
        Probation => "PROBATION",
        Voluntary => "VOLUNTARY",
        SubstanceMisuse => "SUBSTANCE_MISUSE",
        MentalHealth => "MENTAL_HEALTH",
        DomesticAbuse => "DOMESTIC_ABUSE",
        Other => "OTHER",
    }
);

text_enum!(
    /// Whether an involvement is visible to the whole team or only to those rule 3 admits.
    Sensitivity {
        Standard => "STANDARD",
        Restricted => "RESTRICTED",
    }
);

text_enum!(
    /// Consent to share an involvement with the team.
    ConsentStatus {
        NotRecorded => "NOT_RECORDED",
        Given => "GIVEN",
        Refused => "REFUSED",
        NotRequired => "NOT_REQUIRED",
    }
);

text_enum!(
    /// The UK GDPR basis on which an involvement is shared with the team.
    LawfulBasis {
        Consent => "CONSENT",
        PublicTask => "PUBLIC_TASK",
        LegalObligation => "LEGAL_OBLIGATION",
        VitalInterests => "VITAL_INTERESTS",
        LegitimateInterests => "LEGITIMATE_INTERESTS",
    }
);

text_enum!(
    /// How a contact with the child happened or is planned.
    ContactKind {
        HomeVisit => "HOME_VISIT",
        OfficeVisit => "OFFICE_VISIT",
        SchoolVisit => "SCHOOL_VISIT",
        Phone => "PHONE",
        Video => "VIDEO",
        Meeting => "MEETING",
        Other => "OTHER",
    }
);

text_enum!(
    /// What came of a contact.
    ContactOutcome {
        Planned => "PLANNED",
        Happened => "HAPPENED",
        Cancelled => "CANCELLED",
        WasNotBrought => "WAS_NOT_BROUGHT",
        NoAccess => "NO_ACCESS",
    }
);

text_enum!(
    /// Where a task stands.
    TaskStatus {
        Open => "OPEN",
        Done => "DONE",
        Cancelled => "CANCELLED",
    }
);

impl Role {
    /// Whether someone with this role may give `other` to a new account.
    pub fn may_grant(self, other: Role) -> bool {
        match self {
            Role::SystemAdmin => true,
            Role::AgencyAdmin => other != Role::SystemAdmin,
            Role::Practitioner => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for kind in AgencyKind::ALL {
            assert_eq!(kind.as_str().parse::<AgencyKind>().unwrap(), *kind);
        }
        assert!("NOPE".parse::<Role>().is_err());
    }

    #[test]
    fn grants() {
        assert!(Role::AgencyAdmin.may_grant(Role::AgencyAdmin));
        assert!(!Role::AgencyAdmin.may_grant(Role::SystemAdmin));
        assert!(!Role::Practitioner.may_grant(Role::Practitioner));
    }
}

/// An ISO 8601 calendar date, e.g. "2014-03-09".
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Date(pub chrono::NaiveDate);

impl Date {
    pub fn parse_text(s: &str) -> Option<Date> {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .map(Date)
    }
}

/// An RFC 3339 timestamp with offset, e.g. "2026-11-22T09:30:00Z".
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Timestamp(pub chrono::DateTime<chrono::Utc>);

impl Timestamp {
    pub fn parse_text(s: &str) -> Option<Timestamp> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Timestamp(t.with_timezone(&chrono::Utc)))
    }
}

impl From<chrono::DateTime<chrono::Utc>> for Timestamp {
    fn from(t: chrono::DateTime<chrono::Utc>) -> Timestamp {
        Timestamp(t)
    }
}

text_enum!(
    /// What a notification is about; each practitioner chooses how each kind reaches them.
    NotificationKind {
        TeamChanged => "TEAM_CHANGED",
        LeadChanged => "LEAD_CHANGED",
        TaskAssigned => "TASK_ASSIGNED",
        TaskCompleted => "TASK_COMPLETED",
        TaskOverdue => "TASK_OVERDUE",
        ContactMissed => "CONTACT_MISSED",
        AttentionRaised => "ATTENTION_RAISED",
        Invitation => "INVITATION",
        WebhookDisabled => "WEBHOOK_DISABLED",
    }
);

text_enum!(
    /// How a kind of notification reaches a practitioner.
    Delivery {
        Immediate => "IMMEDIATE",
        DailyDigest => "DAILY_DIGEST",
        Off => "OFF",
    }
);

impl NotificationKind {
    /// Raise-attention and invitations always arrive at once.
    pub fn always_immediate(self) -> bool {
        matches!(
            self,
            NotificationKind::AttentionRaised
                | NotificationKind::Invitation
                | NotificationKind::WebhookDisabled
        )
    }
}

text_enum!(
    /// How a family member is related to a child (rule 11).
    FamilyRelation {
        Sibling => "SIBLING",
        Parent => "PARENT",
        Carer => "CARER",
    }
);

stored_kind!(
    /// What an audit event records: each read or write of personal data, and sign-in.
    AuditAction {
        AgencyChildRecorded => "AGENCY_CHILD_RECORDED",
        AgencyCreated => "AGENCY_CREATED",
        ApiClientCreated => "API_CLIENT_CREATED",
        ApiClientRefused => "API_CLIENT_REFUSED",
        ApiClientRevoked => "API_CLIENT_REVOKED",
        ApiTokenIssued => "API_TOKEN_ISSUED",
        AttentionRaised => "ATTENTION_RAISED",
        AuditLogRead => "AUDIT_LOG_READ",
        WebhookSubscribed => "WEBHOOK_SUBSCRIBED",
        WebhookChanged => "WEBHOOK_CHANGED",
        WebhookSecretRotated => "WEBHOOK_SECRET_ROTATED",
        WebhookDeleted => "WEBHOOK_DELETED",
        WebhookReplayed => "WEBHOOK_REPLAYED",
        ChildListed => "CHILD_LISTED",
        ChildRegistered => "CHILD_REGISTERED",
        ChildSearched => "CHILD_SEARCHED",
        ChildViewed => "CHILD_VIEWED",
        ContactRecorded => "CONTACT_RECORDED",
        FamilyLinkRecorded => "FAMILY_LINK_RECORDED",
        FamilyLinkRemoved => "FAMILY_LINK_REMOVED",
        InvolvementAllocated => "INVOLVEMENT_ALLOCATED",
        InvolvementEnded => "INVOLVEMENT_ENDED",
        InvolvementUpdated => "INVOLVEMENT_UPDATED",
        LoginFailed => "LOGIN_FAILED",
        LoginRateLimited => "LOGIN_RATE_LIMITED",
        LoginSucceeded => "LOGIN_SUCCEEDED",
        NotificationPreferencesUpdated => "NOTIFICATION_PREFERENCES_UPDATED",
        NotificationRetried => "NOTIFICATION_RETRIED",
        PasswordSetFromInvitation => "PASSWORD_SET_FROM_INVITATION",
        PractitionerCreated => "PRACTITIONER_CREATED",
        PractitionerDeactivated => "PRACTITIONER_DEACTIVATED",
        RefreshTokenReused => "REFRESH_TOKEN_REUSED",
        SearchRateLimited => "SEARCH_RATE_LIMITED",
        SharingAgreementCreated => "SHARING_AGREEMENT_CREATED",
        SharingAgreementRevoked => "SHARING_AGREEMENT_REVOKED",
        TaskCreated => "TASK_CREATED",
        TaskUpdated => "TASK_UPDATED",
        TeamJoined => "TEAM_JOINED",
    }
);

stored_kind!(
    /// A change to a child's team, as the timeline shows it.
    ActivityKind {
        AttentionRaised => "ATTENTION_RAISED",
        ContactRecorded => "CONTACT_RECORDED",
        InvolvementEnded => "INVOLVEMENT_ENDED",
        InvolvementStarted => "INVOLVEMENT_STARTED",
        InvolvementUpdated => "INVOLVEMENT_UPDATED",
        LeadAssigned => "LEAD_ASSIGNED",
        LeadRemoved => "LEAD_REMOVED",
        TaskAssigned => "TASK_ASSIGNED",
        TaskCancelled => "TASK_CANCELLED",
        TaskCompleted => "TASK_COMPLETED",
        TaskCreated => "TASK_CREATED",
        TaskReopened => "TASK_REOPENED",
        TaskUpdated => "TASK_UPDATED",
    }
);

stored_kind!(
    /// Where a notification is on its way out.
    OutboxStatus {
        Waiting => "WAITING",
        Pending => "PENDING",
        Sent => "SENT",
        Failed => "FAILED",
        Digested => "DIGESTED",
    }
);
