//! Checks on a document before it runs, beyond the engine's depth and complexity limits: a
//! bound on bracket nesting checked before the parser recurses, a cap on aliases (so one
//! request cannot ask the same field hundreds of times) and, outside development, no
//! introspection (`schema.graphql` is how clients learn the schema).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError, ServerResult, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::graphql::error::code;
use crate::graphql::nesting::{self, MAX_NESTING};

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
    /// The first argument, as written, whose text holds a NUL character: PostgreSQL text
    /// cannot store one, so it is bad input, not a server error.
    nul_argument: Option<String>,
}

fn const_has_nul(value: &ConstValue, path: &str) -> Option<String> {
    match value {
        ConstValue::String(s) if s.contains('\0') => Some(path.to_owned()),
        ConstValue::List(items) => items.iter().find_map(|v| const_has_nul(v, path)),
        ConstValue::Object(fields) => fields
            .iter()
            .find_map(|(k, v)| const_has_nul(v, &format!("{path}.{k}"))),
        _ => None,
    }
}

fn value_has_nul(value: &Value, path: &str, variables: &Variables) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(path.to_owned()),
        Value::Variable(name) => variables.get(name).and_then(|v| const_has_nul(v, path)),
        Value::List(items) => items.iter().find_map(|v| value_has_nul(v, path, variables)),
        Value::Object(fields) => fields
            .iter()
            .find_map(|(k, v)| value_has_nul(v, &format!("{path}.{k}"), variables)),
        _ => None,
    }
}

fn walk(set: &SelectionSet, tally: &mut Tally, variables: &Variables) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                if field.alias.is_some() {
                    tally.aliases += 1;
                }
                if tally.nul_argument.is_none() {
                    tally.nul_argument = field.arguments.iter().find_map(|(name, value)| {
                        value_has_nul(&value.node, name.node.as_str(), variables)
                    });
                }
                if matches!(field.name.node.as_str(), "__schema" | "__type") {
                    tally.introspects = true;
                }
                walk(&field.selection_set.node, tally, variables);
            }
            Selection::InlineFragment(fragment) => {
                walk(&fragment.node.selection_set.node, tally, variables)
            }
            // Fragment definitions are walked once each, below.
            Selection::FragmentSpread(_) => {}
        }
    }
}

fn tally(doc: &ExecutableDocument, variables: &Variables) -> Tally {
    let mut tally = Tally::default();
    for (_, op) in doc.operations.iter() {
        walk(&op.node.selection_set.node, &mut tally, variables);
    }
    for fragment in doc.fragments.values() {
        walk(&fragment.node.selection_set.node, &mut tally, variables);
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
        // The HTTP door checks this too, with a 400; this covers every door into the schema.
        if nesting::exceeds(query, MAX_NESTING) {
            return Err(refused(format!(
                "the document nests deeper than {MAX_NESTING} levels"
            )));
        }
        let doc = next.run(ctx, query, variables).await?;
        let tally = tally(&doc, variables);
        if let Some(field) = tally.nul_argument {
            let mut error =
                ServerError::new(format!("{field} must not contain NUL characters"), None);
            let mut ext = ErrorExtensionValues::default();
            ext.set("code", code::BAD_USER_INPUT);
            ext.set(
                "fields",
                ConstValue::from_json(serde_json::json!([
                    { "field": field, "message": "must not contain NUL characters" }
                ]))
                .unwrap_or(ConstValue::Null),
            );
            error.extensions = Some(ext);
            return Err(error);
        }
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
        tally(
            &async_graphql::parser::parse_query(query).unwrap(),
            &Variables::default(),
        )
    }

    #[test]
    fn finds_nul_in_literals_and_variables_by_argument_path() {
        assert_eq!(
            of(r#"{ searchChildren(familyName: "a\u0000b", dateOfBirth: "2015-01-01") { id } }"#)
                .nul_argument
                .as_deref(),
            Some("familyName")
        );
        let vars = Variables::from_json(serde_json::json!({ "i": { "givenName": "x\u{0}" } }));
        let doc = async_graphql::parser::parse_query(
            "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id } }",
        )
        .unwrap();
        assert_eq!(
            tally(&doc, &vars).nul_argument.as_deref(),
            Some("input.givenName")
        );
        assert!(
            of(r#"{ searchChildren(familyName: "Marsh", dateOfBirth: "2015-01-01") { id } }"#)
                .nul_argument
                .is_none()
        );
    }

    #[tokio::test]
    async fn refuses_deep_documents_before_the_parser_on_any_door() {
        struct Query;
        #[async_graphql::Object]
        impl Query {
            async fn echo(&self, value: async_graphql::Json<serde_json::Value>) -> bool {
                value.0.is_null()
            }
        }
        let schema = async_graphql::Schema::build(
            Query,
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        )
        .extension(DocumentLimits {
            introspection: false,
        })
        .finish();
        let deep = format!(
            "{{ echo(value: {}1{}) }}",
            "{a:".repeat(2_000),
            "}".repeat(2_000)
        );
        let response = schema.execute(deep).await;
        let error = &response.errors[0];
        assert!(error.message.contains("nests deeper than"), "{error:?}");
        let code = error.extensions.as_ref().and_then(|e| e.get("code"));
        assert_eq!(
            code,
            Some(&ConstValue::from(code::GRAPHQL_VALIDATION_FAILED))
        );
        let shallow = schema.execute("{ echo(value: {a: [{b: null}]}) }").await;
        assert!(shallow.errors.is_empty(), "{:?}", shallow.errors);
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
