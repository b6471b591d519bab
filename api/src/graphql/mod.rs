//! The GraphQL API: it translates between the contract and the services, nothing more.

pub mod account;
pub mod api_clients;
pub mod audit;
pub mod changes;
pub mod context;
pub mod enums;
pub mod error;
pub mod family;
pub mod inputs;
pub mod limits;
pub mod live;
pub mod loaders;
pub mod nesting;
pub mod node;
pub mod notifications;
pub mod scalars;
pub mod team;
pub mod types;
pub mod webhooks;

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute};
use async_graphql::{MergedObject, Response, Schema, SchemaBuilder};

use crate::state::AppState;

#[derive(MergedObject, Default)]
pub struct Query(
    account::AccountQuery,
    team::TeamQuery,
    notifications::NotificationQuery,
    audit::AuditQuery,
    api_clients::ApiClientQuery,
    webhooks::WebhookQuery,
    changes::ChangeQuery,
    node::NodeQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    team::TeamMutation,
    family::FamilyMutation,
    notifications::NotificationMutation,
    api_clients::ApiClientMutation,
    webhooks::WebhookMutation,
);

pub type PatchworkSchema = Schema<Query, Mutation, live::SubscriptionRoot>;

/// Limits sized for the contract's real screens: the team screen nests six levels deep.
pub const MAX_DEPTH: usize = 12;
/// In development, where introspection is on: GraphiQL's introspection query follows a type
/// through nine `ofType` levels under `__schema { types { fields { args { type ...`.
pub const MAX_DEPTH_DEVELOPMENT: usize = 16;
pub const MAX_COMPLEXITY: usize = 2_000;
/// Directives on one field.
pub const MAX_DIRECTIVES: usize = 4;

fn builder() -> SchemaBuilder<Query, Mutation, live::SubscriptionRoot> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        live::SubscriptionRoot,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_directives(MAX_DIRECTIVES)
}

/// The schema a server runs, before its state is attached: every limit and check. Outside
/// development, introspection and "did you mean" field suggestions are off.
fn configured(development: bool) -> SchemaBuilder<Query, Mutation, live::SubscriptionRoot> {
    let builder = builder().extension(limits::DocumentLimits {
        introspection: development,
    });
    if development {
        builder.limit_depth(MAX_DEPTH_DEVELOPMENT)
    } else {
        builder.disable_introspection().disable_suggestions()
    }
}

/// The schema a server runs.
pub fn build_schema(state: AppState) -> PatchworkSchema {
    configured(state.config.is_development())
        .data(state)
        .finish()
}

/// The production schema with every check a request meets before it runs (parse, depth,
/// complexity, validation, [`limits::DocumentLimits`]), that then stops: no resolver runs, so
/// it needs no state or database. The fuzz target drives the request path through it.
pub fn checking_schema() -> PatchworkSchema {
    configured(false).extension(StopBeforeExecution).finish()
}

/// The SDL the server serves; `schema.graphql` must equal it.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// Answers an empty response where execution would begin: everything before it has run.
struct StopBeforeExecution;

impl ExtensionFactory for StopBeforeExecution {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(StopBeforeExecution)
    }
}

#[async_trait::async_trait]
impl Extension for StopBeforeExecution {
    async fn execute(
        &self,
        _ctx: &ExtensionContext<'_>,
        _operation_name: Option<&str>,
        _next: NextExecute<'_>,
    ) -> Response {
        Response::default()
    }
}
