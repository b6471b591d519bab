//! GraphQL output types for agencies, practitioners and sessions.

use async_graphql::{Context, Object, ID};

use crate::db::models::{AgencyRow, PractitionerRow};
use crate::graphql::enums::{AgencyKind, Role};
use crate::graphql::error::Result;
use crate::graphql::loaders::{loader_error, Agencies};
use crate::graphql::scalars::Timestamp;
use crate::service::error::ServiceError;
use crate::service::session::Session;

pub fn stored<T: std::str::FromStr<Err = crate::domain::UnknownValue>>(value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|e: crate::domain::UnknownValue| ServiceError::Internal(e.into()).into())
}

/// An organisation: a school, a health-visiting service, a police team, a charity.
pub struct Agency(pub AgencyRow);

#[Object]
impl Agency {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn kind(&self) -> Result<AgencyKind> {
        stored(&self.0.kind)
    }
    /// Whether the agency's involvement with a child is itself sensitive.
    async fn sensitive(&self) -> bool {
        self.0.sensitive
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
}

/// Profiles are visible to every signed-in practitioner; a deactivated one shows active: false.
pub struct Practitioner(pub PractitionerRow);

#[Object]
impl Practitioner {
    pub async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        let loader = ctx.data_unchecked::<Agencies>();
        match loader
            .load_one(self.0.agency_id)
            .await
            .map_err(loader_error)?
        {
            Some(row) => Ok(Agency(row)),
            None => {
                Err(ServiceError::Internal(anyhow::anyhow!("practitioner without agency")).into())
            }
        }
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn job_title(&self) -> Option<&str> {
        self.0.job_title.as_deref()
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn mobile(&self) -> Option<&str> {
        self.0.mobile.as_deref()
    }
    async fn role(&self) -> Result<Role> {
        stored(&self.0.role)
    }
    async fn active(&self) -> bool {
        self.0.active
    }
}

/// A new session: a short-lived access token and a single-use refresh token.
pub struct AuthPayload(pub Session);

#[Object]
impl AuthPayload {
    /// Send as `Authorization: Bearer <accessToken>`.
    async fn access_token(&self) -> &str {
        &self.0.access.token
    }
    /// Exchange with `refresh` for a new pair; each refresh token works once.
    async fn refresh_token(&self) -> &str {
        &self.0.refresh_token
    }
    /// When the access token expires.
    async fn expires_at(&self) -> Timestamp {
        Timestamp(self.0.access.expires_at)
    }
    async fn practitioner(&self) -> Practitioner {
        Practitioner(self.0.practitioner.clone())
    }
}
