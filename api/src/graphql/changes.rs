//! The change feed for apps that sync: the changes to teams the caller may see, in commit
//! order, each described as a webhook describes it.

use async_graphql::{Context, Json, Object, SimpleObject, ID};

use crate::graphql::context::{reader, ContextExt};
use crate::graphql::error::Result;
use crate::graphql::scalars::Timestamp;
use crate::service::events::{self, Event};

/// One change to a team the caller may see.
pub struct ChangeEvent(Event);

impl From<Event> for ChangeEvent {
    fn from(event: Event) -> ChangeEvent {
        ChangeEvent(event)
    }
}

#[Object]
impl ChangeEvent {
    /// The change's id; also a cursor to read on from.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// e.g. `team.member_joined`; see `webhookEventTypes`.
    #[graphql(name = "type")]
    async fn kind(&self) -> &str {
        self.0.kind
    }
    async fn timestamp(&self) -> Timestamp {
        Timestamp(self.0.at)
    }
    async fn child_id(&self) -> ID {
        ID(self.0.child_id.to_string())
    }
    /// The involvement, task or contact concerned, as the caller may see it (the same JSON a
    /// webhook's `data` holds).
    async fn data(&self) -> Json<serde_json::Value> {
        Json(self.0.data.clone())
    }
}

/// A page of changes.
#[derive(SimpleObject)]
pub struct ChangePage {
    pub events: Vec<ChangeEvent>,
    /// Where the next page starts (the `after` given when nothing is new).
    pub end_cursor: Option<String>,
    /// Whether more can be read at once.
    pub has_more: bool,
}

#[derive(Default)]
pub struct ChangeQuery;

#[Object]
impl ChangeQuery {
    /// The changes to teams the caller may see, in commit order, after the change `after`
    /// (from the start without it), `first` (1 to 100) at a time. A change committed late by a
    /// slow transaction is never skipped.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        #[graphql(default = 50)] first: i32,
    ) -> Result<ChangePage> {
        let reader = reader(ctx)?;
        let page = events::changes(ctx.state(), reader, after, i64::from(first), false).await?;
        Ok(ChangePage {
            events: page.events.into_iter().map(ChangeEvent).collect(),
            end_cursor: page.end_cursor.map(|c| c.to_string()),
            has_more: page.has_more,
        })
    }
}
