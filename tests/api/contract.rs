//! The published schema: `schema.graphql` is exactly what the server serves, and everything
//! in it that the public contract names means the same there.

use std::collections::HashMap;

use async_graphql_parser::types::{
    BaseType, InputValueDefinition, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql_parser::{parse_schema, Positioned};
use patchwork_tests::*;

fn repo_file(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[tokio::test]
async fn schema_file_matches_the_served_schema() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(format!("{}/schema.graphql", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let served = res.text().await.unwrap();
    let file = repo_file("schema.graphql");
    assert!(
        served == file,
        "schema.graphql differs from the served schema: run `cargo run -q --example print_schema > schema.graphql` and review the diff"
    );
}

/// The contract as published beside the repository, else the copy kept in it.
fn contract() -> String {
    let beside =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/contract.graphql");
    std::fs::read_to_string(beside).unwrap_or_else(|_| repo_file("docs/contract.graphql"))
}

enum Shape {
    Object(HashMap<String, (Type, Vec<InputValueDefinition>)>),
    Input(HashMap<String, InputValueDefinition>),
    Enum(Vec<String>),
    Scalar,
    Other,
}

fn shapes(sdl: &str) -> HashMap<String, Shape> {
    let doc = parse_schema(sdl).expect("valid SDL");
    let mut out = HashMap::new();
    for def in doc.definitions {
        let TypeSystemDefinition::Type(Positioned { node: t, .. }) = def else {
            continue;
        };
        let shape = match t.kind {
            TypeKind::Object(o) => Shape::Object(
                o.fields
                    .into_iter()
                    .map(|f| {
                        let f = f.node;
                        (
                            f.name.node.to_string(),
                            (f.ty.node, f.arguments.into_iter().map(|a| a.node).collect()),
                        )
                    })
                    .collect(),
            ),
            TypeKind::InputObject(i) => Shape::Input(
                i.fields
                    .into_iter()
                    .map(|f| (f.node.name.node.to_string(), f.node))
                    .collect(),
            ),
            TypeKind::Enum(e) => Shape::Enum(
                e.values
                    .into_iter()
                    .map(|v| v.node.value.node.to_string())
                    .collect(),
            ),
            TypeKind::Scalar => Shape::Scalar,
            _ => Shape::Other,
        };
        out.insert(t.name.node.to_string(), shape);
    }
    out
}

/// Ours may be stricter (non-null) where the contract allows null, never looser.
fn output_compatible(contract: &Type, ours: &Type) -> bool {
    if !contract.nullable && ours.nullable {
        return false;
    }
    match (&contract.base, &ours.base) {
        (BaseType::Named(a), BaseType::Named(b)) => a == b,
        (BaseType::List(a), BaseType::List(b)) => output_compatible(a, b),
        _ => false,
    }
}

fn same_input(contract: &InputValueDefinition, ours: &InputValueDefinition) -> Result<(), String> {
    if contract.ty.node.to_string() != ours.ty.node.to_string() {
        return Err(format!("type {} is {}", contract.ty.node, ours.ty.node));
    }
    let default = |v: &InputValueDefinition| v.default_value.as_ref().map(|d| d.node.to_string());
    if default(contract) != default(ours) {
        return Err(format!(
            "default {:?} is {:?}",
            default(contract),
            default(ours)
        ));
    }
    Ok(())
}

#[test]
fn the_schema_keeps_the_contract() {
    let contract = shapes(&contract());
    let ours = shapes(&repo_file("schema.graphql"));
    let mut problems = Vec::new();
    for (name, shape) in &ours {
        let Some(theirs) = contract.get(name) else {
            continue;
        };
        match (theirs, shape) {
            (Shape::Object(c), Shape::Object(o)) => {
                for (field, (ty, args)) in o {
                    let Some((cty, cargs)) = c.get(field) else {
                        continue;
                    };
                    if !output_compatible(cty, ty) {
                        problems.push(format!("{name}.{field}: contract {cty}, ours {ty}"));
                    }
                    for carg in cargs {
                        match args.iter().find(|a| a.name.node == carg.name.node) {
                            None => {
                                problems.push(format!("{name}.{field}({}) missing", carg.name.node))
                            }
                            Some(a) => {
                                if let Err(e) = same_input(carg, a) {
                                    problems
                                        .push(format!("{name}.{field}({}): {e}", carg.name.node));
                                }
                            }
                        }
                    }
                    for arg in args {
                        let known = cargs.iter().any(|c| c.name.node == arg.name.node);
                        if !known && !arg.ty.node.nullable && arg.default_value.is_none() {
                            problems.push(format!(
                                "{name}.{field}({}): a new argument must be optional",
                                arg.name.node
                            ));
                        }
                    }
                }
            }
            (Shape::Input(c), Shape::Input(o)) => {
                for (field, cdef) in c {
                    match o.get(field) {
                        None => problems.push(format!("{name}.{field} missing")),
                        Some(def) => {
                            if let Err(e) = same_input(cdef, def) {
                                problems.push(format!("{name}.{field}: {e}"));
                            }
                        }
                    }
                }
                for (field, def) in o {
                    if !c.contains_key(field) && !def.ty.node.nullable {
                        problems.push(format!(
                            "{name}.{field}: a new input field must be optional"
                        ));
                    }
                }
            }
            (Shape::Enum(c), Shape::Enum(o)) => {
                if c != o {
                    problems.push(format!("enum {name}: contract {c:?}, ours {o:?}"));
                }
            }
            (Shape::Scalar, Shape::Scalar) => {}
            _ => problems.push(format!("{name} is a different kind of type")),
        }
    }
    // Every root field we serve that the contract names is there; the contract's core types are in.
    for root in ["Query", "Mutation"] {
        assert!(ours.contains_key(root), "{root} missing");
    }
    assert!(
        problems.is_empty(),
        "schema.graphql departs from the contract:\n{}",
        problems.join("\n")
    );
}
