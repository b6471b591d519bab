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
use async_graphql::{
    BatchRequest, BatchResponse, Data, Executor, MergedObject, Request, Response, Schema,
    SchemaBuilder,
};
use futures_util::stream::{BoxStream, StreamExt};

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

type Engine = Schema<Query, Mutation, live::SubscriptionRoot>;

/// The schema as every door runs it: [`limits::admit`] first, then the engine. The engine
/// itself has no extension of ours, since an engine with any extension wraps the resolution
/// of every field in work of its own; and it is reachable only through these methods, so no
/// door can skip the checks.
#[derive(Clone)]
pub struct PatchworkSchema {
    engine: Engine,
    introspection: bool,
}

impl PatchworkSchema {
    pub async fn execute(&self, request: impl Into<Request>) -> Response {
        match limits::admit(request.into(), self.introspection) {
            Ok(request) => self.engine.execute(request).await,
            Err(refused) => Response::from_errors(vec![refused]),
        }
    }

    /// Each operation of a batch, concurrently, answered in order.
    pub async fn execute_batch(&self, batch: BatchRequest) -> BatchResponse {
        match batch {
            BatchRequest::Single(request) => BatchResponse::Single(self.execute(request).await),
            BatchRequest::Batch(requests) => BatchResponse::Batch(
                futures_util::future::join_all(requests.into_iter().map(|r| self.execute(r))).await,
            ),
        }
    }

    pub fn sdl(&self) -> String {
        self.engine.sdl()
    }
}

impl Executor for PatchworkSchema {
    async fn execute(&self, request: Request) -> Response {
        PatchworkSchema::execute(self, request).await
    }

    fn execute_stream(
        &self,
        request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        match limits::admit(request, self.introspection) {
            Ok(request) => Executor::execute_stream(&self.engine, request, session_data),
            Err(refused) => {
                futures_util::stream::once(async move { Response::from_errors(vec![refused]) })
                    .boxed()
            }
        }
    }
}

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

/// The schema a server runs, before its state is attached: every limit of the engine (the
/// checks of [`limits::admit`] are [`PatchworkSchema`]'s). Outside development, introspection
/// and "did you mean" field suggestions are off.
fn configured(development: bool) -> SchemaBuilder<Query, Mutation, live::SubscriptionRoot> {
    let builder = builder();
    if development {
        builder.limit_depth(MAX_DEPTH_DEVELOPMENT)
    } else {
        builder.disable_introspection().disable_suggestions()
    }
}

/// The schema a server runs.
pub fn build_schema(state: AppState) -> PatchworkSchema {
    let development = state.config.is_development();
    PatchworkSchema {
        engine: configured(development).data(state).finish(),
        introspection: development,
    }
}

/// The production schema with every check a request meets before it runs (parse, depth,
/// complexity, validation, [`limits::admit`]), that then stops: no resolver runs, so it needs
/// no state or database. The fuzz target drives the request path through it.
pub fn checking_schema() -> PatchworkSchema {
    PatchworkSchema {
        engine: configured(false).extension(StopBeforeExecution).finish(),
        introspection: false,
    }
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
