//! Notifications: raising attention, preferences, first passwords and failed deliveries.

use async_graphql::{Context, Object, SimpleObject, ID};

use crate::graphql::context::{reader, ContextExt};
use crate::graphql::enums::{Delivery, NotificationKind};
use crate::graphql::error::Result;
use crate::graphql::inputs::PreferenceInput;
use crate::graphql::loaders::{loader_error, Practitioners};
use crate::graphql::scalars::Timestamp;
use crate::graphql::types::{AuthPayload, Practitioner};
use crate::service::error::ServiceError;
use crate::service::notification::{self, FailedRow};
use crate::service::parse_id;

/// How one kind of notification reaches the caller.
#[derive(SimpleObject)]
pub struct NotificationPreference {
    pub kind: NotificationKind,
    pub delivery: Delivery,
    /// False for kinds that always arrive at once (raise-attention, invitations).
    pub adjustable: bool,
}

fn preferences(list: Vec<notification::Preference>) -> Vec<NotificationPreference> {
    list.into_iter()
        .map(|p| NotificationPreference {
            kind: p.kind.into(),
            delivery: p.delivery.into(),
            adjustable: !p.kind.always_immediate(),
        })
        .collect()
}

/// A message the mail worker could not deliver (or one put back to try again).
pub struct FailedNotification(pub FailedRow);

#[Object]
impl FailedNotification {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn recipient(&self, ctx: &Context<'_>) -> Result<Practitioner> {
        ctx.data_unchecked::<Practitioners>()
            .load_one(self.0.recipient_id)
            .await
            .map_err(loader_error)?
            .map(Practitioner)
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("recipient vanished")).into())
    }
    /// e.g. TEAM_CHANGED, ATTENTION_RAISED, INVITATION, DIGEST
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// FAILED, or PENDING once put back in the queue.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
}

#[derive(Default)]
pub struct NotificationQuery;

#[Object]
impl NotificationQuery {
    /// How each kind of notification reaches the caller.
    async fn notification_preferences(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<NotificationPreference>> {
        let actor = ctx.actor()?;
        Ok(preferences(
            notification::preferences(ctx.state(), actor).await?,
        ))
    }

    /// Messages that could not be delivered, newest first. System admins only.
    async fn failed_notifications(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
    ) -> Result<Vec<FailedNotification>> {
        let actor = ctx.actor()?;
        Ok(
            notification::failed(ctx.state(), actor, first.unwrap_or(50))
                .await?
                .into_iter()
                .map(FailedNotification)
                .collect(),
        )
    }
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Emails a short message (1 to 1,000 characters) to every other team member who may see the
    /// caller's involvement. Returns how many of those recipients the caller may see, so the answer
    /// reveals nobody.
    async fn raise_attention(
        &self,
        ctx: &Context<'_>,
        child_id: ID,
        message: String,
    ) -> Result<i32> {
        let reader = reader(ctx)?;
        let attention = notification::Attention::parse(&child_id, &message)?;
        Ok(notification::raise_attention(ctx.state(), reader, ctx.meta(), attention).await?)
    }

    /// Changes how the listed kinds reach the caller; answers every kind.
    async fn update_notification_preferences(
        &self,
        ctx: &Context<'_>,
        input: Vec<PreferenceInput>,
    ) -> Result<Vec<NotificationPreference>> {
        let actor = ctx.actor()?;
        notification::update_preferences(
            ctx.state(),
            actor,
            ctx.meta(),
            input.into_iter().map(Into::into).collect(),
        )
        .await
        .map(preferences)
        .map_err(|e| e.within("input").into())
    }

    /// Sets a first password from an invitation link (valid 72 hours, once) and signs in.
    /// Needs no access token.
    async fn set_password(
        &self,
        ctx: &Context<'_>,
        token: String,
        password: String,
    ) -> Result<AuthPayload> {
        Ok(AuthPayload(
            notification::set_password(ctx.state(), ctx.meta(), token, password).await?,
        ))
    }

    /// Puts a failed message back in the queue. System admins only.
    async fn retry_notification(&self, ctx: &Context<'_>, id: ID) -> Result<FailedNotification> {
        let actor = ctx.actor()?;
        Ok(FailedNotification(
            notification::retry(ctx.state(), actor, ctx.meta(), parse_id("id", &id)?).await?,
        ))
    }
}
