//! Relay's `Node` interface and `node(id:)`.

use async_graphql::{Context, Interface, Object, ID};

use crate::graphql::context::{reader, ContextExt};
use crate::graphql::error::Result;
use crate::graphql::team::{Child, Involvement, Task};
use crate::graphql::types::{Agency, Practitioner};
use crate::service::node::{self, Node as Found};
use crate::service::parse_id;

/// Anything that can be fetched again by its id alone.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Child(Child),
    Involvement(Involvement),
    Task(Task),
    Practitioner(Practitioner),
    Agency(Agency),
}

impl From<Found> for Node {
    fn from(found: Found) -> Node {
        match found {
            Found::Child(row) => Node::Child(Child(row)),
            Found::Involvement(row) => Node::Involvement(Involvement(row)),
            Found::Task(row) => Node::Task(Task(row)),
            Found::Practitioner(row) => Node::Practitioner(Practitioner(row)),
            Found::Agency(row) => Node::Agency(Agency(row)),
        }
    }
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Null, with no error, when nothing has this id or the reader may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let reader = reader(ctx)?;
        let id = parse_id("id", &id)?;
        Ok(node::get_node(ctx.state(), reader, ctx.meta(), id)
            .await?
            .map(Node::from))
    }
}
