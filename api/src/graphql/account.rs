//! Sign-in and administration: `me`, `practitioner`, `agencies`, `login`, `refresh`,
//! `logout`, `createAgency`, `createPractitioner`, `deactivatePractitioner`.

use async_graphql::{Context, Object, ID};

use crate::graphql::context::ContextExt;
use crate::graphql::error::Result;
use crate::graphql::inputs::{CreateAgencyInput, CreatePractitionerInput};
use crate::graphql::types::{Agency, AuthPayload, Practitioner};
use crate::service::agency;
use crate::service::error::ServiceError;
use crate::service::parse_id;
use crate::service::practitioner;
use crate::service::session;

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in practitioner.
    async fn me(&self, ctx: &Context<'_>) -> Result<Practitioner> {
        let actor = ctx.actor()?;
        practitioner::get_practitioner(ctx.state(), actor, actor.practitioner_id)
            .await?
            .map(Practitioner)
            .ok_or_else(|| ServiceError::Unauthenticated.into())
    }

    /// A practitioner's work profile; null when there is no such practitioner.
    async fn practitioner(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Practitioner>> {
        let actor = ctx.actor()?;
        Ok(
            practitioner::get_practitioner(ctx.state(), actor, parse_id("id", &id)?)
                .await?
                .map(Practitioner),
        )
    }

    /// Every agency, by name.
    async fn agencies(&self, ctx: &Context<'_>) -> Result<Vec<Agency>> {
        let actor = ctx.actor()?;
        Ok(agency::list_agencies(ctx.state(), actor)
            .await?
            .into_iter()
            .map(Agency)
            .collect())
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// login, refresh and logout need no access token. Logout answers true even for an unknown token.
    async fn login(
        &self,
        ctx: &Context<'_>,
        email: String,
        password: String,
    ) -> Result<AuthPayload> {
        Ok(AuthPayload(
            session::login(ctx.state(), ctx.meta(), email, password).await?,
        ))
    }

    async fn refresh(&self, ctx: &Context<'_>, refresh_token: String) -> Result<AuthPayload> {
        Ok(AuthPayload(
            session::refresh(ctx.state(), ctx.meta(), refresh_token).await?,
        ))
    }

    async fn logout(&self, ctx: &Context<'_>, refresh_token: String) -> Result<bool> {
        session::logout(ctx.state(), refresh_token).await?;
        Ok(true)
    }

    /// System admins only.
    async fn create_agency(&self, ctx: &Context<'_>, input: CreateAgencyInput) -> Result<Agency> {
        let actor = ctx.actor()?;
        agency::create_agency(ctx.state(), actor, ctx.meta(), input.into())
            .await
            .map(Agency)
            .map_err(|e| e.within("input").into())
    }

    /// System admins: any agency and role. Agency admins: their own agency, roles up to AGENCY_ADMIN.
    async fn create_practitioner(
        &self,
        ctx: &Context<'_>,
        input: CreatePractitionerInput,
    ) -> Result<Practitioner> {
        let actor = ctx.actor()?;
        practitioner::create_practitioner(ctx.state(), actor, ctx.meta(), input.into())
            .await
            .map(Practitioner)
            .map_err(|e| e.within("input").into())
    }

    async fn deactivate_practitioner(&self, ctx: &Context<'_>, id: ID) -> Result<Practitioner> {
        let actor = ctx.actor()?;
        let id = parse_id("id", &id)?;
        practitioner::deactivate_practitioner(ctx.state(), actor, ctx.meta(), id)
            .await
            .map(Practitioner)
            .map_err(Into::into)
    }
}
