//! Checks on a document before it runs, beyond the engine's depth and complexity limits: a
//! bound on bracket nesting checked before the parser recurses, a cap on aliases (so one
//! request cannot ask the same field hundreds of times), text arguments the database could
//! not take or that no field needs, and, outside development, no introspection
//! (`schema.graphql` is how clients learn the schema).

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, ServerError, ServerResult, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::graphql::error::code;
use crate::graphql::nesting::{self, MAX_NESTING};

/// At most this many aliased fields in one document.
pub const MAX_ALIASES: usize = 15;

/// The longest text any argument may carry, in characters. Stored fields have their own,
/// lower limits; this one bounds the rest (tokens, cursors, filters) and any field that
/// forgets its own, so none of them meets the database or a hash with unbounded text.
pub const MAX_STRING_CHARS: usize = 10_000;

/// The field whose arguments the length cap leaves alone: sign-in must answer any email or
/// password it cannot accept exactly as a wrong password (UNAUTHENTICATED), and a refusal
/// naming the argument would tell them apart. Sign-in checks its own input.
const SIGN_IN: &str = "login";

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

/// What is wrong with a text argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// PostgreSQL text cannot store a NUL character: bad input, not a server error.
    Nul,
    /// Longer than [`MAX_STRING_CHARS`].
    TooLong,
}

impl Fault {
    fn of(text: &str, capped: bool) -> Option<Fault> {
        if text.contains('\0') {
            Some(Fault::Nul)
        } else if capped && text.len() > MAX_STRING_CHARS && text.chars().count() > MAX_STRING_CHARS
        {
            Some(Fault::TooLong)
        } else {
            None
        }
    }

    fn message(self) -> String {
        match self {
            Fault::Nul => "must not contain NUL characters".to_owned(),
            Fault::TooLong => format!("must be at most {MAX_STRING_CHARS} characters"),
        }
    }
}

#[derive(Default)]
struct Tally {
    aliases: usize,
    introspects: bool,
    /// The first argument, as written (e.g. `input.givenName`), whose text is at fault.
    bad_argument: Option<(String, Fault)>,
}

fn const_fault(value: &ConstValue, path: &str, capped: bool) -> Option<(String, Fault)> {
    match value {
        ConstValue::String(s) => Fault::of(s, capped).map(|f| (path.to_owned(), f)),
        ConstValue::List(items) => items.iter().find_map(|v| const_fault(v, path, capped)),
        ConstValue::Object(fields) => fields
            .iter()
            .find_map(|(k, v)| const_fault(v, &format!("{path}.{k}"), capped)),
        _ => None,
    }
}

fn value_fault(
    value: &Value,
    path: &str,
    variables: &Variables,
    capped: bool,
) -> Option<(String, Fault)> {
    match value {
        Value::String(s) => Fault::of(s, capped).map(|f| (path.to_owned(), f)),
        Value::Variable(name) => variables
            .get(name)
            .and_then(|v| const_fault(v, path, capped)),
        Value::List(items) => items
            .iter()
            .find_map(|v| value_fault(v, path, variables, capped)),
        Value::Object(fields) => fields
            .iter()
            .find_map(|(k, v)| value_fault(v, &format!("{path}.{k}"), variables, capped)),
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
                if tally.bad_argument.is_none() {
                    let capped = field.name.node.as_str() != SIGN_IN;
                    tally.bad_argument = field.arguments.iter().find_map(|(name, value)| {
                        value_fault(&value.node, name.node.as_str(), variables, capped)
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
        if let Some((field, fault)) = tally.bad_argument {
            let message = fault.message();
            let mut error = ServerError::new(format!("{field} {message}"), None);
            let mut ext = ErrorExtensionValues::default();
            ext.set("code", code::BAD_USER_INPUT);
            ext.set(
                "fields",
                ConstValue::from_json(serde_json::json!([
                    { "field": field, "message": message }
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

    fn bad(t: Tally) -> Option<(String, Fault)> {
        t.bad_argument
    }

    fn at(field: &str, fault: Fault) -> Option<(String, Fault)> {
        Some((field.to_owned(), fault))
    }

    #[test]
    fn finds_nul_in_literals_and_variables_by_argument_path() {
        assert_eq!(
            bad(of(
                r#"{ searchChildren(familyName: "a\u0000b", dateOfBirth: "2015-01-01") { id } }"#
            )),
            at("familyName", Fault::Nul)
        );
        let vars = Variables::from_json(serde_json::json!({ "i": { "givenName": "x\u{0}" } }));
        let doc = async_graphql::parser::parse_query(
            "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id } }",
        )
        .unwrap();
        assert_eq!(bad(tally(&doc, &vars)), at("input.givenName", Fault::Nul));
        assert_eq!(
            bad(of(
                r#"{ searchChildren(familyName: "Marsh", dateOfBirth: "2015-01-01") { id } }"#
            )),
            None
        );
    }

    #[test]
    fn caps_every_text_argument_but_sign_in() {
        let at_cap = "é".repeat(MAX_STRING_CHARS);
        let over = "x".repeat(MAX_STRING_CHARS + 1);
        assert_eq!(
            bad(of(&format!(r#"{{ child(id: "{at_cap}") {{ id }} }}"#))),
            None
        );
        assert_eq!(
            bad(of(&format!(r#"{{ child(id: "{over}") {{ id }} }}"#))),
            at("id", Fault::TooLong)
        );
        let vars = Variables::from_json(serde_json::json!({
            "i": { "givenName": "Leo", "identifiers": [{ "value": over }] }
        }));
        let doc = async_graphql::parser::parse_query(
            "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id } }",
        )
        .unwrap();
        assert_eq!(
            bad(tally(&doc, &vars)),
            at("input.identifiers.value", Fault::TooLong)
        );
        let vars = Variables::from_json(serde_json::json!({ "e": over, "p": over }));
        let doc = async_graphql::parser::parse_query(
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }",
        )
        .unwrap();
        assert_eq!(bad(tally(&doc, &vars)), None, "sign-in answers for itself");
        let vars = Variables::from_json(serde_json::json!({ "e": "a\u{0}", "p": "x" }));
        assert_eq!(
            bad(tally(&doc, &vars)),
            at("email", Fault::Nul),
            "NUL stays bad input everywhere"
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
