//! Arbitrary bytes through every step a request to `/graphql` meets before a resolver would
//! run, once as a POST body and once as a GET query string: decoding (JSON, or the query string
//! as the handler's extractor decodes it), the batch bound, the bracket-nesting bound, parsing,
//! the spread-size, alias and argument limits, depth, complexity and validation, and the error
//! codes. The schema is `checking_schema`, which stops where execution would begin, so nothing
//! needs a database.
//!
//! The steps run on a thread with an actix worker's stack, so a document that would overflow a
//! server worker's stack overflows here too. A panic, a stack overflow or an input slower than
//! libFuzzer's `-timeout` is a finding.

#![no_main]

use std::sync::OnceLock;

use actix_web::web::Query;
use libfuzzer_sys::fuzz_target;
use patchwork::graphql::{checking_schema, PatchworkSchema};
use patchwork::http::graphql::{check_get, check_post, GetParams};
use tokio::runtime::Runtime;

/// The stack of an actix worker thread: Rust's default for spawned threads.
const WORKER_STACK: usize = 2 * 1024 * 1024;

struct Harness {
    runtime: Runtime,
    schema: PatchworkSchema,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| Harness {
        runtime: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_stack_size(WORKER_STACK)
            .build()
            .expect("a runtime"),
        schema: checking_schema(),
    })
}

async fn check(schema: PatchworkSchema, data: Vec<u8>) {
    // Refusals and GraphQL errors are answers; only a panic, an overflow or a hang is a fault.
    let _ = check_post(&schema, &data).await;
    let Ok(query_string) = std::str::from_utf8(&data) else {
        return;
    };
    let Ok(params) = Query::<GetParams>::from_query(query_string) else {
        return;
    };
    // `extensions` (a persisted query's hash) is looked up in the database before these checks,
    // which then see the document itself.
    let GetParams {
        query,
        variables,
        operation_name,
        ..
    } = params.into_inner();
    if let Some(query) = query {
        let _ = check_get(&schema, query, variables, operation_name).await;
    }
}

fuzz_target!(|data: &[u8]| {
    let harness = harness();
    let task = harness
        .runtime
        .spawn(check(harness.schema.clone(), data.to_vec()));
    // libFuzzer's panic hook aborts first; this only keeps a panic from passing unseen.
    if let Err(error) = harness.runtime.block_on(task) {
        std::panic::resume_unwind(error.into_panic());
    }
});
