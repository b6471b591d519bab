//! Checks on a document before it runs, beyond the engine's depth and complexity limits: a cap
//! on aliases (so one request cannot ask the same field hundreds of times) and, outside
//! development, no introspection (`schema.graphql` is how clients learn the schema).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError, ServerResult, Variables};

use crate::graphql::error::code;

/// At most this many aliased fields in one document.
pub const MAX_ALIASES: usize = 15;

/// The extension's settings; one per schema.
pub struct DocumentLimits {
    pub introspection: bool,
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Limits {
            introspection: self.introspection,
        })
    }
}

struct Limits {
    introspection: bool,
}

#[derive(Default)]
struct Tally {
    aliases: usize,
    introspects: bool,
}

fn walk(set: &SelectionSet, tally: &mut Tally) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                if field.alias.is_some() {
                    tally.aliases += 1;
                }
                if matches!(field.name.node.as_str(), "__schema" | "__type") {
                    tally.introspects = true;
                }
                walk(&field.selection_set.node, tally);
            }
            Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node, tally),
            // Fragment definitions are walked once each, below.
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn tally(doc: &ExecutableDocument) -> Tally {
    let mut tally = Tally::default();
    for (_, op) in doc.operations.iter() {
        walk(&op.node.selection_set.node, &mut tally);
    }
    for fragment in doc.fragments.values() {
        walk(&fragment.node.selection_set.node, &mut tally);
    }
    tally
}

fn refused(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code::GRAPHQL_VALIDATION_FAILED);
    error.extensions = Some(ext);
    error
}

#[async_trait::async_trait]
impl Extension for Limits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let tally = tally(&doc);
        if tally.aliases > MAX_ALIASES {
            return Err(refused(format!(
                "the document uses {} aliases; at most {MAX_ALIASES} are allowed",
                tally.aliases
            )));
        }
        if tally.introspects && !self.introspection {
            return Err(refused(
                "introspection is off; the schema is published at /schema.graphql".to_owned(),
            ));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(query: &str) -> Tally {
        tally(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn counts_aliases_everywhere_once() {
        let t = of(
            "query { a: me { id } b: me { x: id ...F ... on Practitioner { y: id } } } \
                    fragment F on Practitioner { z: id }",
        );
        assert_eq!(t.aliases, 5);
        assert!(!t.introspects);
    }

    #[test]
    fn finds_introspection_in_fragments_too() {
        assert!(of("{ ...Q } fragment Q on Query { __schema { types { name } } }").introspects);
        assert!(of("{ me { id } __type(name: \"Child\") { name } }").introspects);
        assert!(!of("{ me { __typename id } }").introspects);
    }
}
