//! Webhooks: an agency admin subscribes the agency's HTTPS endpoints to events about the teams
//! it may see, and pauses, resumes, rotates, deletes and replays (rule 10).

use async_graphql::{Context, InputObject, Object, ID};

use crate::db::webhooks::{DeliveryRow, SubscriptionRow};
use crate::graphql::context::ContextExt;
use crate::graphql::error::Result;
use crate::graphql::scalars::Timestamp;
use crate::service::parse_id;
use crate::service::webhook::{self, Change, NewWebhook};

/// An agency's endpoint, and what it is sent.
pub struct WebhookSubscription(pub SubscriptionRow);

#[Object]
impl WebhookSubscription {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// e.g. `team.member_joined`, `task.assigned`.
    async fn event_types(&self) -> &[String] {
        &self.0.event_types
    }
    /// ACTIVE, PAUSED (by an admin) or DISABLED (after failing too long; resume it).
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Since when deliveries have been failing, if they are.
    async fn failing_since(&self) -> Option<Timestamp> {
        self.0.failing_since.map(Timestamp)
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// Deliveries that failed every attempt, oldest first; `replayWebhookDelivery` sends one
    /// again.
    async fn dead_letters(&self, ctx: &Context<'_>) -> Result<Vec<WebhookDelivery>> {
        let actor = ctx.actor()?;
        Ok(webhook::dead_letters(ctx.state(), actor, self.0.id)
            .await?
            .into_iter()
            .map(WebhookDelivery)
            .collect())
    }
}

/// One event sent, or to be sent, to an endpoint.
pub struct WebhookDelivery(pub DeliveryRow);

#[Object]
impl WebhookDelivery {
    /// Also the `webhook-id` header: the same on every attempt.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The subscription's sequence number: 1, 2, 3, ... with no gaps (null until numbered).
    async fn sequence(&self) -> Option<i64> {
        self.0.sequence
    }
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// What went wrong the last time (a status or a network failure, never a body).
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
}

/// An endpoint to subscribe.
#[derive(Debug, Clone, InputObject)]
pub struct CreateWebhookSubscriptionInput {
    /// An `https://` URL. It must resolve to public addresses only (no loopback, private or
    /// link-local ones), unless the deployment allows a network.
    pub url: String,
    /// Event types to send; see `webhookEventTypes`.
    pub event_types: Vec<String>,
}

/// A subscription with its signing secret, shown this once.
pub struct WebhookWithSecret {
    subscription: SubscriptionRow,
    secret: String,
}

#[Object]
impl WebhookWithSecret {
    async fn subscription(&self) -> WebhookSubscription {
        WebhookSubscription(self.subscription.clone())
    }
    /// `whsec_...`: verify each delivery's `webhook-signature` with it (Standard Webhooks).
    async fn secret(&self) -> &str {
        &self.secret
    }
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// The caller's agency's webhook subscriptions (agency admins).
    async fn webhook_subscriptions(&self, ctx: &Context<'_>) -> Result<Vec<WebhookSubscription>> {
        let actor = ctx.actor()?;
        Ok(webhook::list(ctx.state(), actor)
            .await?
            .into_iter()
            .map(WebhookSubscription)
            .collect())
    }

    /// Every event type a webhook may subscribe to.
    async fn webhook_event_types(&self) -> Vec<&'static str> {
        crate::service::events::TYPES.to_vec()
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Subscribes an endpoint of the caller's agency (agency admins). Events from now on are
    /// sent, each as the agency may see it; the secret is shown this once.
    async fn create_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookSubscriptionInput,
    ) -> Result<WebhookWithSecret> {
        let actor = ctx.actor()?;
        let made = webhook::create(
            ctx.state(),
            actor,
            ctx.meta(),
            NewWebhook {
                url: input.url,
                event_types: input.event_types,
            },
            None,
        )
        .await
        .and_then(|o| o.done())
        .map_err(|e| e.within("input"))?;
        Ok(WebhookWithSecret {
            subscription: made.subscription,
            secret: made.secret,
        })
    }

    /// Stops sending; events wait, in order.
    async fn pause_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookSubscription> {
        changed(ctx, &id, Change::Pause).await
    }

    /// Sends again, what waited first (also after the endpoint was disabled).
    async fn resume_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookSubscription> {
        changed(ctx, &id, Change::Resume).await
    }

    /// A new secret; for 24 hours deliveries carry signatures with both.
    async fn rotate_webhook_secret(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookWithSecret> {
        let actor = ctx.actor()?;
        let (subscription, secret) = webhook::change(
            ctx.state(),
            actor,
            ctx.meta(),
            parse_id("id", &id)?,
            Change::RotateSecret,
            None,
        )
        .await?
        .done()?;
        Ok(WebhookWithSecret {
            subscription,
            secret: secret.unwrap_or_default(),
        })
    }

    /// Deletes a subscription: nothing more is sent to it.
    async fn delete_webhook_subscription(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        changed(ctx, &id, Change::Delete).await.map(|_| true)
    }

    /// Sends a dead letter again, with its own id and sequence number.
    async fn replay_webhook_delivery(
        &self,
        ctx: &Context<'_>,
        subscription_id: ID,
        delivery_id: ID,
    ) -> Result<bool> {
        let actor = ctx.actor()?;
        webhook::replay(
            ctx.state(),
            actor,
            ctx.meta(),
            parse_id("subscriptionId", &subscription_id)?,
            parse_id("deliveryId", &delivery_id)?,
            None,
        )
        .await?
        .done()?;
        Ok(true)
    }
}

async fn changed(ctx: &Context<'_>, id: &str, what: Change) -> Result<WebhookSubscription> {
    let actor = ctx.actor()?;
    let id = parse_id("id", id)?;
    let (row, _) = webhook::change(ctx.state(), actor, ctx.meta(), id, what, None)
        .await?
        .done()?;
    Ok(WebhookSubscription(row))
}
