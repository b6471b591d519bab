//! Checks on a document before it runs, beyond the engine's depth and complexity limits: a
//! bound on bracket nesting checked before the parser recurses, a bound on the size the
//! document reaches once its fragments are spread (checked before the engine, whose own
//! walks spread every fragment each time it is used), a cap on aliases (so one
//! request cannot ask the same field hundreds of times), text arguments the database could
//! not take or that no field needs, and, outside development, no introspection
//! (`schema.graphql` is how clients learn the schema).

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, Request, ServerError, ServerResult, Variables};
use async_graphql_value::{ConstValue, Value};

use crate::graphql::error::code;
use crate::graphql::nesting::{self, MAX_NESTING};

/// At most this many aliased fields in one document.
pub const MAX_ALIASES: usize = 15;

/// At most this many selections (fields, fragment spreads, inline fragments) once every
/// fragment spread is replaced by its fragment. The complexity limit refuses any document with
/// more than [`super::MAX_COMPLEXITY`] fields, but only after walking the spread document; a
/// few hundred bytes of fragments that each spread the next twice spread to billions of
/// selections, and that walk would hold a worker for hours.
pub const MAX_SPREAD_SELECTIONS: usize = 10_000;

/// The longest text any argument may carry, in characters. Stored fields have their own,
/// lower limits; this one bounds the rest (tokens, cursors, filters) and any field that
/// forgets its own, so none of them meets the database or a hash with unbounded text.
pub const MAX_STRING_CHARS: usize = 10_000;

/// The field whose arguments the length cap leaves alone: sign-in must answer any email or
/// password it cannot accept exactly as a wrong password (UNAUTHENTICATED), and a refusal
/// naming the argument would tell them apart. Sign-in checks its own input.
const SIGN_IN: &str = "login";

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

/// Why a document's spread size could not be counted.
#[derive(Debug, PartialEq, Eq)]
enum Spread {
    /// More than [`MAX_SPREAD_SELECTIONS`].
    TooLarge,
    /// Fields and fragments nested deeper than [`MAX_NESTING`].
    TooDeep,
    /// A fragment that spreads itself, directly or through others.
    Cycle(String),
}

/// How many selections `doc` holds once every fragment spread is replaced by its fragment,
/// computed without spreading: each fragment is counted once and its size remembered.
fn spread_size(doc: &ExecutableDocument) -> Result<usize, Spread> {
    let mut sizes = HashMap::new();
    let mut total = 0usize;
    for (_, op) in doc.operations.iter() {
        total += set_size(&op.node.selection_set.node, doc, &mut sizes, 0)?;
        if total > MAX_SPREAD_SELECTIONS {
            return Err(Spread::TooLarge);
        }
    }
    Ok(total)
}

/// A fragment's size, or `None` while it is being counted (meeting it then is a cycle).
type Sizes<'a> = HashMap<&'a str, Option<usize>>;

fn set_size<'a>(
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    sizes: &mut Sizes<'a>,
    depth: usize,
) -> Result<usize, Spread> {
    // Bounds this function's own recursion, which a chain of fragments could otherwise drive
    // as deep as the document is long; the engine allows far less nesting anyway.
    if depth > MAX_NESTING {
        return Err(Spread::TooDeep);
    }
    let mut total = 0usize;
    for selection in &set.items {
        let inner = match &selection.node {
            Selection::Field(field) => {
                set_size(&field.node.selection_set.node, doc, sizes, depth + 1)?
            }
            Selection::InlineFragment(fragment) => {
                set_size(&fragment.node.selection_set.node, doc, sizes, depth + 1)?
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match sizes.get(name) {
                    Some(Some(size)) => *size,
                    Some(None) => return Err(Spread::Cycle(name.to_owned())),
                    // An unknown fragment: validation names it.
                    None => match doc.fragments.get(&spread.node.fragment_name.node) {
                        None => 0,
                        Some(fragment) => {
                            sizes.insert(name, None);
                            let size =
                                set_size(&fragment.node.selection_set.node, doc, sizes, depth + 1)?;
                            sizes.insert(name, Some(size));
                            size
                        }
                    },
                }
            }
        };
        total = total.saturating_add(1).saturating_add(inner);
        if total > MAX_SPREAD_SELECTIONS {
            return Err(Spread::TooLarge);
        }
    }
    Ok(total)
}

/// Documents this process has parsed and found within the spread limits, by their text: apps
/// send the same few documents again and again, and parsing is a visible share of a request.
mod parsed {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    use async_graphql::parser::types::ExecutableDocument;

    /// Documents kept at most (past it, all are dropped and kept afresh), and the longest kept.
    const MAX_KEPT: usize = 512;
    const MAX_TEXT: usize = 16 * 1024;

    static KEPT: LazyLock<Mutex<HashMap<String, ExecutableDocument>>> =
        LazyLock::new(Default::default);

    pub fn get(text: &str) -> Option<ExecutableDocument> {
        KEPT.lock().ok()?.get(text).cloned()
    }

    /// Whether a document of this text would be kept.
    pub fn keeps(text: &str) -> bool {
        text.len() <= MAX_TEXT
    }

    pub fn put(text: &str, doc: ExecutableDocument) {
        if let Ok(mut kept) = KEPT.lock() {
            if kept.len() >= MAX_KEPT {
                kept.clear();
            }
            kept.insert(text.to_owned(), doc);
        }
    }
}

fn refused(message: String) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code::GRAPHQL_VALIDATION_FAILED);
    error.extensions = Some(ext);
    error
}

/// Admits a request to the engine, or refuses it: the nesting bound before the parser
/// recurses, then the parse (kept on the request, so the engine does not parse again; a text
/// parsed before is not parsed again), the spread size, and the checks on aliases, text
/// arguments and introspection. Every door into the schema calls it (through
/// [`super::PatchworkSchema`]) rather than the engine running it as an extension: an engine
/// with any extension wraps the resolution of every field in work of its own.
pub fn admit(mut request: Request, introspection: bool) -> ServerResult<Request> {
    // The HTTP door checks this too, with a 400; this covers every door into the schema.
    if nesting::exceeds(&request.query, MAX_NESTING) {
        return Err(refused(format!(
            "the document nests deeper than {MAX_NESTING} levels"
        )));
    }
    if let Some(doc) = parsed::get(&request.query) {
        // Parsed and measured before: the same text is the same document, and only a
        // document the engine's own parse checks accept is kept.
        request.set_parsed_query(doc);
    } else {
        let keeps = parsed::keeps(&request.query);
        let doc = request.parsed_query()?;
        match spread_size(doc) {
            Ok(_) if engine_refuses(doc) => return Ok(request),
            Ok(_) if keeps => {
                let doc = doc.clone();
                parsed::put(&request.query, doc);
            }
            Ok(_) => {}
            Err(Spread::TooLarge) => {
                return Err(refused(format!(
                    "the document spreads to over {MAX_SPREAD_SELECTIONS} selections"
                )))
            }
            Err(Spread::TooDeep) => {
                return Err(refused(format!(
                    "the document's fields and fragments nest deeper than {MAX_NESTING} levels"
                )))
            }
            Err(Spread::Cycle(name)) => {
                return Err(refused(format!("the fragment {name} spreads itself")))
            }
        }
    }
    let variables = std::mem::take(&mut request.variables);
    let tally = tally(request.parsed_query()?, &variables);
    request.variables = variables;
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
    if tally.introspects && !introspection {
        return Err(refused(
            "introspection is off; the schema is published at /schema.graphql".to_owned(),
        ));
    }
    Ok(request)
}

/// The engine's own checks on a parsed document (recursion depth, directives per field),
/// which it applies before anything else: a document they refuse is left to the engine, so
/// that it gets the engine's answer, as when these checks ran after the engine's parse.
/// [`spread_size`] has already refused cycles and spreads too large, so the walk ends.
fn engine_refuses(doc: &ExecutableDocument) -> bool {
    const RECURSIVE_DEPTH: usize = 32;
    fn walk(doc: &ExecutableDocument, set: &SelectionSet, depth: usize) -> bool {
        if depth > RECURSIVE_DEPTH {
            return true;
        }
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => {
                f.node.directives.len() > super::MAX_DIRECTIVES
                    || (!f.node.selection_set.node.items.is_empty()
                        && walk(doc, &f.node.selection_set.node, depth + 1))
            }
            Selection::FragmentSpread(s) => doc
                .fragments
                .get(&s.node.fragment_name.node)
                .is_some_and(|f| walk(doc, &f.node.selection_set.node, depth + 1)),
            Selection::InlineFragment(i) => walk(doc, &i.node.selection_set.node, depth + 1),
        })
    }
    doc.operations
        .iter()
        .any(|(_, op)| walk(doc, &op.node.selection_set.node, 0))
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

    /// A request through [`admit`], then the engine, as every door runs it.
    async fn admitted<Q: async_graphql::ObjectType + 'static>(
        schema: &async_graphql::Schema<
            Q,
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        >,
        request: impl Into<Request>,
    ) -> async_graphql::Response {
        match admit(request.into(), false) {
            Ok(request) => schema.execute(request).await,
            Err(refused) => async_graphql::Response::from_errors(vec![refused]),
        }
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
        .finish();
        let deep = format!(
            "{{ echo(value: {}1{}) }}",
            "{a:".repeat(2_000),
            "}".repeat(2_000)
        );
        let response = admitted(&schema, deep).await;
        let error = &response.errors[0];
        assert!(error.message.contains("nests deeper than"), "{error:?}");
        let code = error.extensions.as_ref().and_then(|e| e.get("code"));
        assert_eq!(
            code,
            Some(&ConstValue::from(code::GRAPHQL_VALIDATION_FAILED))
        );
        let shallow = admitted(&schema, "{ echo(value: {a: [{b: null}]}) }").await;
        assert!(shallow.errors.is_empty(), "{:?}", shallow.errors);
    }

    /// A document kept from an earlier request still meets every check that depends on the
    /// request: its variables here.
    #[tokio::test]
    async fn a_kept_document_is_checked_again_with_each_requests_variables() {
        struct Query;
        #[async_graphql::Object]
        impl Query {
            async fn echo(&self, value: String) -> usize {
                value.len()
            }
        }
        let schema = async_graphql::Schema::build(
            Query,
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        )
        .finish();
        let doc = "query($v: String!) { echo(value: $v) }";
        let with = |v: String| {
            async_graphql::Request::new(doc)
                .variables(Variables::from_json(serde_json::json!({ "v": v })))
        };
        let first = admitted(&schema, with("short".into())).await;
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert!(parsed::get(doc).is_some(), "kept after its first request");
        let long = admitted(&schema, with("x".repeat(MAX_STRING_CHARS + 1))).await;
        let code = long.errors[0]
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"));
        assert_eq!(code, Some(&ConstValue::from(code::BAD_USER_INPUT)));
        let again = admitted(&schema, with("again".into())).await;
        assert_eq!(again.data.into_json().unwrap()["echo"], 5);
    }

    /// `levels` fragments, each spreading the next twice: 2^levels selections once spread.
    fn fragment_bomb(levels: usize) -> String {
        let mut doc = "query { ...F0 }".to_owned();
        for i in 0..levels {
            let next = i + 1;
            doc.push_str(&format!(
                " fragment F{i} on Query {{ ...F{next} ...F{next} }}"
            ));
        }
        doc.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
        doc
    }

    fn spread(query: &str) -> Result<usize, Spread> {
        spread_size(&async_graphql::parser::parse_query(query).unwrap())
    }

    #[test]
    fn counts_fragments_once_each_and_refuses_what_spreads_too_far() {
        assert_eq!(
            spread("{ me { id ...P } } fragment P on Practitioner { displayName ... on Practitioner { id } }"),
            Ok(6)
        );
        // The fragment n levels above the last spreads to 3 * 2^n - 2 selections.
        assert_eq!(spread(&fragment_bomb(11)), Ok(3 * (1 << 11) - 1));
        assert_eq!(spread(&fragment_bomb(12)), Err(Spread::TooLarge));
        assert_eq!(spread(&fragment_bomb(60)), Err(Spread::TooLarge));
        assert_eq!(
            spread("{ ...A } fragment A on Query { me { ...B } } fragment B on Practitioner { agency { id } ...A }"),
            Err(Spread::Cycle("A".to_owned()))
        );
        // A long chain must not recurse as deep as it is long.
        let mut chain = "{ ...F0 }".to_owned();
        for i in 0..20_000 {
            chain.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        assert_eq!(spread(&chain), Err(Spread::TooDeep));
    }

    /// A few hundred bytes that the engine's own checks would walk 2^40 times: refused at once,
    /// before them, and a fragment that spreads itself too.
    #[tokio::test]
    async fn refuses_fragments_that_spread_exponentially_before_the_engine_walks_them() {
        let schema = crate::graphql::checking_schema();
        let cycle = "query { ...A } fragment A on Query { ...A ...A }";
        for (doc, expected) in [
            (fragment_bomb(40), "spreads to over"),
            (cycle.to_owned(), "spreads itself"),
        ] {
            let started = std::time::Instant::now();
            let response = schema.execute(doc).await;
            assert!(started.elapsed().as_secs() < 5, "refused at once");
            let error = &response.errors[0];
            assert!(error.message.contains(expected), "{error:?}");
            let code = error.extensions.as_ref().and_then(|e| e.get("code"));
            assert_eq!(
                code,
                Some(&ConstValue::from(code::GRAPHQL_VALIDATION_FAILED))
            );
        }
        let fine = schema
            .execute(
                "{ ...Q } fragment Q on Query { me { ...P } } fragment P on Practitioner { id }",
            )
            .await;
        assert!(fine.errors.is_empty(), "{:?}", fine.errors);
    }

    /// The engine's checks at parse (directives per field, recursion depth) still answer
    /// first, as when these checks ran after its parse.
    #[tokio::test]
    async fn the_engines_own_parse_checks_answer_first() {
        let schema = crate::graphql::checking_schema();
        let skips = " @skip(if: false)".repeat(crate::graphql::MAX_DIRECTIVES + 1);
        let response = schema
            .execute(format!(r#"{{ child(id: "a\u0000b"){skips} {{ id }} }}"#))
            .await;
        assert!(
            response.errors[0].message.contains("number of directives"),
            "{:?}",
            response.errors
        );
        let fine = schema
            .execute(r#"{ child(id: "a\u0000b") @skip(if: false) { id } }"#)
            .await;
        let code = fine.errors[0]
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"));
        assert_eq!(code, Some(&ConstValue::from(code::BAD_USER_INPUT)));
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
