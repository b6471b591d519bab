//! The audit log for admins, and who recently opened a child's record.

use async_graphql::{Context, Json, Object, SimpleObject, ID};

use crate::db::models::AuditEventRow;
use crate::graphql::context::ContextExt;
use crate::graphql::error::Result;
use crate::graphql::loaders::{loader_error, Agencies, Practitioners};
use crate::graphql::scalars::Timestamp;
use crate::graphql::types::{Agency, Practitioner};
use crate::service::audit_log::{self, AuditFilter};
use crate::service::page::Page;
use crate::service::parse_id;

/// One recorded read or write.
pub struct AuditEvent(pub AuditEventRow);

#[Object]
impl AuditEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn at(&self) -> Timestamp {
        Timestamp(self.0.at)
    }
    /// e.g. CHILD_VIEWED, CHILD_SEARCHED, TEAM_JOINED, SEARCH_RATE_LIMITED, LOGIN_FAILED
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// Who did it; absent for an anonymous caller (e.g. a failed sign-in).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Practitioner>> {
        let Some(id) = self.0.actor_id else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<Practitioners>()
            .load_one(id)
            .await
            .map_err(loader_error)?
            .map(Practitioner))
    }
    /// The actor's agency when it happened.
    async fn actor_agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        let Some(id) = self.0.actor_agency_id else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<Agencies>()
            .load_one(id)
            .await
            .map_err(loader_error)?
            .map(Agency))
    }
    async fn child_id(&self) -> Option<ID> {
        self.0.child_id.map(|c| ID(c.to_string()))
    }
    async fn subject_type(&self) -> Option<&str> {
        self.0.subject_type.as_deref()
    }
    async fn subject_id(&self) -> Option<ID> {
        self.0.subject_id.map(|c| ID(c.to_string()))
    }
    async fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }
    /// The reason the actor gave, where one was asked for (e.g. joining a team).
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// What else was recorded, e.g. a search's criteria.
    async fn details(&self) -> Json<serde_json::Value> {
        Json(self.0.details.clone())
    }
}

#[derive(SimpleObject)]
pub struct AuditEventEdge {
    pub cursor: String,
    pub node: AuditEvent,
}

#[derive(SimpleObject)]
pub struct AuditEventConnection {
    pub edges: Vec<AuditEventEdge>,
    pub page_info: crate::graphql::team::PageInfo,
}

impl From<Page<AuditEventRow>> for AuditEventConnection {
    fn from(page: Page<AuditEventRow>) -> Self {
        let page_info = crate::graphql::team::PageInfo::from(&page);
        AuditEventConnection {
            edges: page
                .items
                .into_iter()
                .map(|(cursor, row)| AuditEventEdge {
                    cursor,
                    node: AuditEvent(row),
                })
                .collect(),
            page_info,
        }
    }
}

/// Someone who opened a child's record recently.
pub struct RecentViewer(pub audit_log::Viewer);

#[Object]
impl RecentViewer {
    async fn practitioner(&self, ctx: &Context<'_>) -> Result<Practitioner> {
        ctx.data_unchecked::<Practitioners>()
            .load_one(self.0.practitioner_id)
            .await
            .map_err(loader_error)?
            .map(Practitioner)
            .ok_or_else(|| {
                crate::service::error::ServiceError::Internal(anyhow::anyhow!("viewer vanished"))
                    .into()
            })
    }
    async fn last_viewed_at(&self) -> Timestamp {
        Timestamp(self.0.last_viewed_at)
    }
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first. System admins: all of it; agency admins: what their own
    /// agency's staff did. `from` is inclusive, `to` exclusive; `action` e.g. SEARCH_RATE_LIMITED.
    /// `first`/`after` page forwards, `last`/`before` backwards (`first` is then ignored).
    #[allow(clippy::too_many_arguments)]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        child_id: Option<ID>,
        practitioner_id: Option<ID>,
        action: Option<String>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<AuditEventConnection> {
        let actor = ctx.actor()?;
        let filter = AuditFilter {
            child_id: child_id.map(|c| parse_id("childId", &c)).transpose()?,
            practitioner_id: practitioner_id
                .map(|p| parse_id("practitionerId", &p))
                .transpose()?,
            action,
            from: from.map(|t| t.0),
            to: to.map(|t| t.0),
        };
        let page = audit_log::events(
            ctx.state(),
            actor,
            ctx.meta(),
            filter,
            &crate::graphql::team::page_request(first, after, last, before),
        )
        .await?;
        Ok(page.into())
    }
}
