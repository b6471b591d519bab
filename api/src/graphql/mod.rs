//! The GraphQL API: it translates between the contract and the services, nothing more.

pub mod account;
pub mod audit;
pub mod context;
pub mod enums;
pub mod error;
pub mod inputs;
pub mod limits;
pub mod loaders;
pub mod nesting;
pub mod notifications;
pub mod scalars;
pub mod team;
pub mod types;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::state::AppState;

#[derive(MergedObject, Default)]
pub struct Query(
    account::AccountQuery,
    team::TeamQuery,
    notifications::NotificationQuery,
    audit::AuditQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    account::AccountMutation,
    team::TeamMutation,
    notifications::NotificationMutation,
);

pub type PatchworkSchema = Schema<Query, Mutation, EmptySubscription>;

/// Limits sized for the contract's real screens: the team screen nests six levels deep.
pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 2_000;
/// Directives on one field.
pub const MAX_DIRECTIVES: usize = 4;

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_directives(MAX_DIRECTIVES)
}

/// The schema a server runs. Outside development, introspection and "did you mean" field
/// suggestions are off.
pub fn build_schema(state: AppState) -> PatchworkSchema {
    let development = state.config.is_development();
    let mut builder = builder()
        .extension(limits::DocumentLimits {
            introspection: development,
        })
        .data(state);
    if !development {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL the server serves; `schema.graphql` must equal it.
pub fn sdl() -> String {
    builder().finish().sdl()
}
