//! `POST /graphql` and `GET /graphql`: authenticate once, run the operation, and make every
//! error carry a contract code.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use async_graphql::dataloader::{DataLoader, HashMapCache};
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request, Response, ServerError, Value};
use serde::Deserialize;

use crate::auth::RequestMeta;
use crate::graphql::context::{Auth, RequestReader};
use crate::graphql::error::code;
use crate::graphql::loaders::{
    AgencyLoader, ChildLoader, ContactLoader, InvolvementLoader, PractitionerLoader, ReadAhead,
    TaskByIdLoader, TaskLoader, TeamLoader,
};
use crate::graphql::nesting::{self, MAX_NESTING};
use crate::graphql::PatchworkSchema;
use crate::http::client_addr::client_addr;
use crate::http::request_id::RequestId;
use crate::http::MAX_BODY_BYTES;
use crate::policy::Reader;
use crate::service::error::ServiceError;
use crate::service::session;
use crate::state::AppState;

/// At most this many operations in one batched request.
pub const MAX_BATCH: usize = 10;

/// Where the request comes from, for the audit trail and per-address limits.
pub(crate) fn meta_of(req: &HttpRequest, state: &AppState) -> RequestMeta {
    RequestMeta {
        request_id: req
            .extensions()
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default(),
        client_addr: client_addr(req, &state.config.trusted_proxies),
    }
}

/// The credentials of an `Authorization` header in `scheme` (any case), trimmed.
pub(crate) fn credentials<'a>(value: &'a header::HeaderValue, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.to_str().ok()?.trim().split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// Turns the bearer token into the caller, once per request, with the reader the request's
/// operations share.
async fn authenticate(req: &HttpRequest, state: &AppState) -> (Auth, Option<Reader>) {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return (Auth::Anonymous, None);
    };
    let token = credentials(value, "bearer");
    let Some(claims) = token.and_then(|t| state.tokens.verify(t)) else {
        return (Auth::Invalid, None);
    };
    match session::load_caller(state, claims.sub).await {
        Ok(reader) => (Auth::Actor(reader.actor), Some(reader)),
        Err(ServiceError::Unauthenticated) => (Auth::Invalid, None),
        Err(err) => {
            tracing::error!(error = ?err, "could not load the caller");
            (Auth::Unavailable, None)
        }
    }
}

/// Attaches what every resolver reads, and fresh DataLoaders, to one operation.
fn prepare(
    request: Request,
    state: &AppState,
    meta: &RequestMeta,
    auth: Auth,
    reader: Arc<RequestReader>,
) -> Request {
    let s = || state.clone();
    request
        .data(meta.clone())
        .data(auth)
        .data(reader.clone())
        .data(DataLoader::with_cache(
            AgencyLoader(s()),
            tokio::spawn,
            HashMapCache::default(),
        ))
        .data(DataLoader::with_cache(
            PractitionerLoader(s()),
            tokio::spawn,
            HashMapCache::default(),
        ))
        .data(DataLoader::new(
            ChildLoader(s(), reader.clone(), meta.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            ContactLoader(s(), reader.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            TeamLoader(s(), reader.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            InvolvementLoader(s(), reader.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            TaskLoader(s(), reader.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(TaskByIdLoader(s(), reader), tokio::spawn))
        .data(ReadAhead::default())
}

/// A refusal before any operation ran, shaped like a GraphQL response.
fn refusal(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code::GRAPHQL_VALIDATION_FAILED } }]
    }))
}

/// A request refused before any operation ran: its status and the one error's message.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }

    fn response(&self) -> HttpResponse {
        refusal(self.status, &self.message)
    }
}

/// The refusal for a document whose brackets nest too deeply for the parser to be trusted
/// with it; checked before anything parses the document.
fn too_deep(query: &str) -> Option<Refusal> {
    nesting::exceeds(query, MAX_NESTING).then(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("the document nests deeper than {MAX_NESTING} levels"),
        )
    })
}

/// Whether a GET asks to become a WebSocket (for subscriptions).
pub fn wants_websocket(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Any method but GET and POST on `/graphql`.
pub async fn other_method() -> HttpResponse {
    let mut res = refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        "use POST, or GET for queries",
    );
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
    res
}

pub async fn post(
    req: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
    state: web::Data<AppState>,
    schema: web::Data<PatchworkSchema>,
) -> HttpResponse {
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            let status = e.as_response_error().status_code();
            return if status == StatusCode::PAYLOAD_TOO_LARGE {
                refusal(
                    status,
                    &format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                refusal(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read",
                )
            };
        }
    };
    match decode_post(&body) {
        Ok(batch) => execute(&req, batch, &state, &schema, false).await,
        Err(refused) => refused.response(),
    }
}

/// The operations a POST body asks for: one request or a batch, as JSON.
fn decode_post(body: &[u8]) -> Result<BatchRequest, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not a GraphQL request: {e}"),
        )
    })
}

/// `GET /graphql`'s query string. The fields are public so that the fuzz target can decode a
/// query string exactly as the handler's extractor does, then pass it to [`check_get`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    pub query: Option<String>,
    pub variables: Option<String>,
    pub operation_name: Option<String>,
    /// JSON, e.g. Apollo's `{"persistedQuery": {"version": 1, "sha256Hash": "..."}}`.
    #[serde(default)]
    pub extensions: Option<String>,
}

pub async fn get(
    req: HttpRequest,
    params: Result<web::Query<GetParams>, actix_web::Error>,
    state: web::Data<AppState>,
    schema: web::Data<PatchworkSchema>,
) -> HttpResponse {
    let Ok(params) = params else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "the query string is not a GraphQL request",
        );
    };
    let params = params.into_inner();
    let Some(query) = params
        .query
        .or_else(|| params.extensions.as_ref().map(|_| String::new()))
    else {
        if state.config.is_development() {
            return crate::http::graphiql::page();
        }
        return refusal(
            StatusCode::BAD_REQUEST,
            "a GET request needs a `query` parameter",
        );
    };
    let batch = decode_get(query, params.variables, params.operation_name)
        .and_then(|batch| with_extensions(batch, params.extensions.as_deref()));
    match batch {
        Ok(batch) => execute(&req, batch, &state, &schema, true).await,
        Err(refused) => refused.response(),
    }
}

/// A GET's `extensions` parameter (JSON) on its one request.
fn with_extensions(batch: BatchRequest, extensions: Option<&str>) -> Result<BatchRequest, Refusal> {
    let Some(text) = extensions else {
        return Ok(batch);
    };
    let bad = || Refusal::new(StatusCode::BAD_REQUEST, "`extensions` is not a JSON object");
    let serde_json::Value::Object(map) = serde_json::from_str(text).map_err(|_| bad())? else {
        return Err(bad());
    };
    let BatchRequest::Single(mut request) = batch else {
        return Ok(batch);
    };
    for (k, v) in map {
        let v = async_graphql::Value::from_json(v).map_err(|_| bad())?;
        request.extensions.0.insert(k, v);
    }
    Ok(BatchRequest::Single(request))
}

/// An answer with one coded error, before any operation ran.
fn coded(status: StatusCode, message: &str, code: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

/// Why a request naming a persisted document cannot run.
pub struct PersistedRefusal {
    pub status: StatusCode,
    pub message: &'static str,
    pub code: &'static str,
}

impl PersistedRefusal {
    const NOT_ALLOWED: PersistedRefusal = PersistedRefusal {
        status: StatusCode::BAD_REQUEST,
        message: "only registered operations run on this server",
        code: code::GRAPHQL_VALIDATION_FAILED,
    };

    fn response(&self) -> HttpResponse {
        coded(self.status, self.message, self.code)
    }

    /// The refusal as a GraphQL answer, for transports with no HTTP status (WebSockets).
    pub fn answer(&self) -> Response {
        let mut error = ServerError::new(self.message, None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", self.code);
        error.extensions = Some(ext);
        Response::from_errors(vec![error])
    }
}

/// Persisted queries (Apollo's protocol): a request naming a document by its SHA-256 in
/// `extensions.persistedQuery` runs that document; one sending the document too has it
/// checked against the hash. With `PERSISTED_QUERIES=only`, every request must name a
/// registered document. Fills in each request's document, and returns the documents a
/// signed-in caller may teach the server (remembered for every process).
pub async fn resolve_persisted(
    state: &AppState,
    requests: &mut [Request],
) -> Result<Vec<(String, String)>, PersistedRefusal> {
    use crate::service::persisted::{hash_of, known, well_formed};
    let only = state.config.persisted_queries_only;
    let mut hashes: Vec<Option<String>> = Vec::with_capacity(requests.len());
    let mut to_remember = Vec::new();
    for r in requests.iter() {
        let Some(pq) = r.extensions.0.get("persistedQuery") else {
            if only {
                return Err(PersistedRefusal::NOT_ALLOWED);
            }
            hashes.push(None);
            continue;
        };
        let pq = pq.clone().into_json().unwrap_or_default();
        let hash = pq["sha256Hash"].as_str().unwrap_or_default().to_owned();
        if pq["version"] != 1 || !well_formed(&hash) {
            return Err(PersistedRefusal {
                status: StatusCode::BAD_REQUEST,
                message: "persistedQuery needs version 1 and a sha256Hash in lower-case hex",
                code: code::BAD_USER_INPUT,
            });
        }
        if !r.query.is_empty() {
            if hash_of(&r.query) != hash {
                return Err(PersistedRefusal {
                    status: StatusCode::BAD_REQUEST,
                    message: "provided sha does not match query",
                    code: code::BAD_USER_INPUT,
                });
            }
            if !only {
                to_remember.push((hash.clone(), r.query.clone()));
            }
        }
        hashes.push(Some(hash));
    }
    let wanted: Vec<String> = requests
        .iter()
        .zip(&hashes)
        .filter(|(r, h)| h.is_some() && (only || r.query.is_empty()))
        .filter_map(|(_, h)| h.clone())
        .collect();
    let documents = known(state, wanted, only).await.map_err(|e| {
        tracing::warn!(error = ?e, "persisted queries: lookup failed");
        PersistedRefusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the service is busy; try again shortly",
            code: code::INTERNAL,
        }
    })?;
    for (r, hash) in requests.iter_mut().zip(&hashes) {
        let Some(hash) = hash else { continue };
        match documents.get(hash) {
            Some(document) => r.query = document.clone(),
            None if only => return Err(PersistedRefusal::NOT_ALLOWED),
            None if r.query.is_empty() => {
                return Err(PersistedRefusal {
                    status: StatusCode::OK,
                    message: "PersistedQueryNotFound",
                    code: code::PERSISTED_QUERY_NOT_FOUND,
                })
            }
            None => {}
        }
    }
    Ok(to_remember)
}

/// [`resolve_persisted`] over a POST's or GET's batch.
async fn persisted(
    state: &AppState,
    batch: BatchRequest,
) -> Result<(BatchRequest, Vec<(String, String)>), HttpResponse> {
    let single = matches!(batch, BatchRequest::Single(_));
    let mut requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(list) => list,
    };
    let to_remember = resolve_persisted(state, &mut requests)
        .await
        .map_err(|refused| refused.response())?;
    let batch = if single {
        BatchRequest::Single(requests.pop().expect("one request"))
    } else {
        BatchRequest::Batch(requests)
    };
    Ok((batch, to_remember))
}

/// The operation a GET asks for: a query (never a mutation), with variables as JSON text.
fn decode_get(
    query: String,
    variables: Option<String>,
    operation_name: Option<String>,
) -> Result<BatchRequest, Refusal> {
    if let Some(refused) = too_deep(&query) {
        return Err(refused);
    }
    if has_mutation(&query) {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations must be sent with POST",
        ));
    }
    let mut request = Request::new(query);
    if let Some(name) = operation_name {
        request = request.operation_name(name);
    }
    if let Some(vars) = variables {
        match serde_json::from_str::<serde_json::Value>(&vars) {
            Ok(v) => request = request.variables(async_graphql::Variables::from_json(v)),
            Err(_) => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "`variables` is not JSON",
                ))
            }
        }
    }
    Ok(BatchRequest::Single(request))
}

/// A log label for the operation(s): the client's operation names, or `anonymous`; only
/// identifier characters, and short, since the client chose them.
fn operation_label(batch: &BatchRequest) -> String {
    fn one(r: &Request) -> String {
        let named = r.operation_name.clone().or_else(|| {
            let q = r.query.trim_start();
            let rest = q
                .strip_prefix("query")
                .or_else(|| q.strip_prefix("mutation"))?;
            let name: String = rest
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        });
        let mut name: String = named
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        if name.is_empty() {
            name = "anonymous".to_owned();
        }
        name
    }
    match batch {
        BatchRequest::Single(r) => one(r),
        BatchRequest::Batch(list) => list.iter().map(one).collect::<Vec<_>>().join(","),
    }
}

fn has_mutation(query: &str) -> bool {
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        // Let the schema report the syntax error.
        return false;
    };
    match doc.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => {
            ops.values().any(|op| op.node.ty == OperationType::Mutation)
        }
    }
}

async fn execute(
    req: &HttpRequest,
    batch: BatchRequest,
    state: &AppState,
    schema: &PatchworkSchema,
    via_get: bool,
) -> HttpResponse {
    let meta = meta_of(req, state);
    let (batch, to_remember) = match persisted(state, batch).await {
        Ok(found) => found,
        Err(res) => return res,
    };
    if via_get && batch.iter().any(|r| has_mutation(&r.query)) {
        return Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "mutations must be sent with POST",
        )
        .response();
    }
    let batch = match screen(batch) {
        Ok(batch) => batch,
        Err(refused) => return refused.response(),
    };
    let (auth, reader) = authenticate(req, state).await;
    // Only a signed-in caller teaches the server documents.
    if matches!(auth, Auth::Actor(_)) && !to_remember.is_empty() {
        if let Err(e) = crate::service::persisted::remember(state, to_remember, false).await {
            tracing::warn!(error = ?e, "persisted queries: could not remember a document");
        }
    }
    let reader = Arc::new(RequestReader::new(auth, reader));
    let span = tracing::Span::current();
    if let Auth::Actor(actor) = &auth {
        span.record("actor", tracing::field::display(actor.practitioner_id));
    }
    span.record("operation", operation_label(&batch).as_str());
    let batch = match batch {
        BatchRequest::Single(r) => BatchRequest::Single(prepare(r, state, &meta, auth, reader)),
        BatchRequest::Batch(list) => BatchRequest::Batch(
            list.into_iter()
                .map(|r| prepare(r, state, &meta, auth, reader.clone()))
                .collect(),
        ),
    };
    let finish = |r: Response| {
        let outcome = match (r.errors.is_empty(), r.data == Value::Null) {
            (true, _) => "ok",
            (false, true) => "refused",
            (false, false) => "error",
        };
        state.metrics.observe_operation(outcome);
        finish(r, &meta)
    };
    let response = finish_each(schema.execute_batch(batch).await, finish);
    let mut answer = HttpResponse::Ok();
    if let Some(seconds) = retry_after(&response) {
        answer.insert_header((header::RETRY_AFTER, seconds.to_string()));
    }
    answer.json(response)
}

/// The longest `retryAfter` among the answer's `RATE_LIMITED` errors, for `Retry-After`: a
/// client can wait without reading GraphQL errors.
fn retry_after(response: &BatchResponse) -> Option<u64> {
    let responses = match response {
        BatchResponse::Single(r) => std::slice::from_ref(r),
        BatchResponse::Batch(list) => list.as_slice(),
    };
    responses
        .iter()
        .flat_map(|r| &r.errors)
        .filter_map(|e| e.extensions.as_ref())
        .filter(|ext| matches!(ext.get("code"), Some(Value::String(c)) if c == "RATE_LIMITED"))
        .filter_map(|ext| match ext.get("retryAfter") {
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        })
        .max()
}

/// Refuses a batch of the wrong size, or any operation that nests too deeply to parse.
fn screen(batch: BatchRequest) -> Result<BatchRequest, Refusal> {
    if let BatchRequest::Batch(list) = &batch {
        if list.is_empty() || list.len() > MAX_BATCH {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("a batch must hold 1 to {MAX_BATCH} operations"),
            ));
        }
    }
    if let Some(refused) = batch.iter().find_map(|r| too_deep(&r.query)) {
        return Err(refused);
    }
    Ok(batch)
}

fn finish_each(
    response: BatchResponse,
    mut finish: impl FnMut(Response) -> Response,
) -> BatchResponse {
    match response {
        BatchResponse::Single(r) => BatchResponse::Single(finish(r)),
        BatchResponse::Batch(list) => BatchResponse::Batch(list.into_iter().map(finish).collect()),
    }
}

/// Every step a POST body meets before a resolver would run (decoding, batch size, nesting,
/// the log label, parsing, depth and complexity, validation, [`crate::graphql::limits`], and the
/// error codes), against `schema`, which should be [`crate::graphql::checking_schema`]. No
/// caller is authenticated and nothing reaches the database. The fuzz target drives this.
pub async fn check_post(schema: &PatchworkSchema, body: &[u8]) -> Result<BatchResponse, Refusal> {
    let batch = screen(decode_post(body)?)?;
    Ok(check(schema, batch).await)
}

/// As [`check_post`], for a GET's `query`, `variables` and `operationName` parameters.
pub async fn check_get(
    schema: &PatchworkSchema,
    query: String,
    variables: Option<String>,
    operation_name: Option<String>,
) -> Result<BatchResponse, Refusal> {
    let batch = screen(decode_get(query, variables, operation_name)?)?;
    Ok(check(schema, batch).await)
}

async fn check(schema: &PatchworkSchema, batch: BatchRequest) -> BatchResponse {
    let meta = RequestMeta::default();
    let _label = operation_label(&batch);
    finish_each(schema.execute_batch(batch).await, |r| finish(r, &meta))
}

/// Gives every error a contract code; INTERNAL errors get the request id and nothing else.
fn finish(mut response: Response, meta: &RequestMeta) -> Response {
    let refused_before_run = response.data == Value::Null;
    for error in &mut response.errors {
        let existing = error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                _ => None,
            });
        let code = match existing {
            Some(code) => code,
            None => classify(error, refused_before_run).to_owned(),
        };
        if code == code::INTERNAL {
            tracing::error!(error = %error.message, "unexpected GraphQL error");
            error.message = "internal error".to_owned();
            error.source = None;
            error.extensions = None;
            let id = meta.request_id.clone();
            let ext = error.extensions.get_or_insert_with(Default::default);
            ext.set("code", code::INTERNAL);
            ext.set("requestId", id);
        } else {
            let field = argument_named(&error.message);
            let message = error.message.clone();
            let ext = error.extensions.get_or_insert_with(Default::default);
            ext.set("code", code.as_str());
            if let (Some(field), true) = (field, code == code::BAD_USER_INPUT) {
                if ext.get("fields").is_none() {
                    ext.set("fields", serde_json_field(&field, &message));
                }
            }
        }
    }
    response
}

/// Errors raised by the GraphQL engine itself, not by a resolver.
fn classify(error: &ServerError, refused_before_run: bool) -> &'static str {
    let m = error.message.as_str();
    if m.starts_with("Invalid value for argument") || m.starts_with("Failed to parse") {
        code::BAD_USER_INPUT
    } else if refused_before_run {
        code::GRAPHQL_VALIDATION_FAILED
    } else {
        code::INTERNAL
    }
}

/// The argument path an engine error names, e.g. `input.dateOfBirth` in
/// `Invalid value for argument "input.dateOfBirth", expected type "Date"`.
fn argument_named(message: &str) -> Option<String> {
    let rest = message.strip_prefix("Invalid value for argument \"")?;
    rest.split('"').next().map(str::to_owned)
}

fn serde_json_field(field: &str, message: &str) -> Value {
    let detail = message.split_once(", ").map_or(message, |(_, d)| d);
    Value::List(vec![Value::from_json(
        serde_json::json!({ "field": field, "message": detail }),
    )
    .unwrap_or(Value::Null)])
}
