//! The vendor API (`/api/v1`, JSON): API clients act as their agency (rule 10) through the same
//! services and policy as GraphQL. Errors are RFC 9457 problem details whose `code` is the
//! GraphQL code; every answer carries the client's rate-limit state (`RateLimit-Policy`,
//! `RateLimit`, IETF httpapi draft) and a refusal for the limit `Retry-After`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use uuid::Uuid;

use crate::db::agency_refs::{AgencyChildRow, ChildDetails};
use crate::db::models::ChildRow;
use crate::db::models::ContactRow;
use crate::domain::ApiScope;
use crate::graphql::error::code;
use crate::http::graphql::{credentials, meta_of};
use crate::service::api_client::{self, CallAuth, ClientCall, RateStatus};
use crate::service::by_reference::{
    self, Allocation, ContactRecord, InvolvementRecord, PractitionerRef, Upsert,
};
use crate::service::contact::Contact;
use crate::service::error::{
    FieldError, LimitedError, LoginError, RecordOnceError, ServiceError, VersionedError,
};
use crate::service::idempotency::IdempotencyKey;
use crate::service::involvement::{self, TeamMember};
use crate::service::{child, parse_id};
use crate::state::AppState;

/// The media type of an error.
const PROBLEM: &str = "application/problem+json";

/// The OpenAPI document, served as it is.
pub const DOCUMENT: &str = include_str!("../../../openapi/patchwork.yaml");

/// Where the vendor API lives.
pub(crate) const PREFIX: &str = "/api/v1";
/// The team of a child (`teams:read`).
const TEAM: &str = "/children/{id}/team";
/// A child by the agency's reference (`children:read`, `children:write`).
const CHILD: &str = "/children/{ref}";
/// An allocation by the agency's reference (`involvements:write`).
const INVOLVEMENT: &str = "/involvements/{ref}";
/// The agency's allocations, a page at a time (`teams:read`).
const INVOLVEMENTS: &str = "/involvements";
/// A contact by the agency's reference (`contacts:write`).
const CONTACT: &str = "/contacts/{ref}";
/// Contacts on an allocation, recorded without a reference of their own (`contacts:write`,
/// with an `Idempotency-Key`).
const CONTACTS_OF: &str = "/involvements/{ref}/contacts";
/// The changes the agency may see, in commit order (`teams:read`).
const CHANGES: &str = "/changes";
/// The header that makes a POST safe to retry.
pub(crate) const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Every route the vendor API serves, as the document names them (method, path).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/oauth/token"),
    ("get", "/api/v1/children/{id}/team"),
    ("get", "/api/v1/children/{ref}"),
    ("put", "/api/v1/children/{ref}"),
    ("get", "/api/v1/involvements"),
    ("put", "/api/v1/involvements/{ref}"),
    ("put", "/api/v1/contacts/{ref}"),
    ("post", "/api/v1/involvements/{ref}/contacts"),
    ("get", "/api/v1/changes"),
];

/// The vendor API's routes, its token endpoint and its document. A method a path does not
/// serve answers 405 naming the one it does.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.yaml", web::get().to(document))
        .service(
            web::resource("/oauth/token")
                .route(web::post().to(crate::http::oauth::token))
                .default_service(web::to(|| method_not_allowed("POST"))),
        )
        .service(
            crate::http::webhooks::configure(web::scope(PREFIX))
                .service(
                    web::resource(TEAM)
                        .route(web::get().to(team))
                        .default_service(web::to(|| method_not_allowed("GET"))),
                )
                .service(
                    web::resource(CHILD)
                        .route(web::get().to(get_child))
                        .route(web::put().to(put_child))
                        .default_service(web::to(|| method_not_allowed("GET, PUT"))),
                )
                .service(
                    web::resource(INVOLVEMENTS)
                        .route(web::get().to(list_involvements))
                        .default_service(web::to(|| method_not_allowed("GET"))),
                )
                .service(
                    web::resource(INVOLVEMENT)
                        .route(web::put().to(put_involvement))
                        .default_service(web::to(|| method_not_allowed("PUT"))),
                )
                .service(
                    web::resource(CHANGES)
                        .route(web::get().to(changes))
                        .default_service(web::to(|| method_not_allowed("GET"))),
                )
                .service(
                    web::resource(CONTACTS_OF)
                        .route(web::post().to(post_contact))
                        .default_service(web::to(|| method_not_allowed("POST"))),
                )
                .service(
                    web::resource(CONTACT)
                        .route(web::put().to(put_contact))
                        .default_service(web::to(|| method_not_allowed("PUT"))),
                )
                .default_service(web::to(no_such_resource)),
        );
}

pub(crate) async fn method_not_allowed(allowed: &'static str) -> HttpResponse {
    let mut res = problem(
        StatusCode::METHOD_NOT_ALLOWED,
        code::BAD_USER_INPUT,
        &format!("this path answers {allowed} only"),
        serde_json::Value::Null,
    );
    res.headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allowed));
    res
}

async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml; charset=utf-8")
        .body(DOCUMENT)
}

/// An RFC 9457 problem: `type`, `title`, `status`, `detail`, and the GraphQL `code` with the
/// fields at fault.
pub(crate) fn problem(
    status: StatusCode,
    code: &str,
    detail: &str,
    fields: serde_json::Value,
) -> HttpResponse {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
    });
    if !fields.is_null() {
        body["fields"] = fields;
    }
    HttpResponse::build(status)
        .content_type(PROBLEM)
        .body(body.to_string())
}

/// An operation's error as the vendor API answers it.
pub(crate) trait Refusal {
    fn response(self) -> HttpResponse;
}

/// The answer for a service error: the one place the vendor API maps errors to statuses.
pub(crate) fn refusal(err: impl Refusal) -> HttpResponse {
    err.response()
}

impl Refusal for LoginError {
    fn response(self) -> HttpResponse {
        match self {
            LoginError::WrongCredentials => unauthenticated(),
            LoginError::RateLimited { retry_after } => rate_limited(retry_after),
            LoginError::Refused(e) => e.response(),
        }
    }
}

impl Refusal for LimitedError {
    fn response(self) -> HttpResponse {
        match self {
            LimitedError::RateLimited { retry_after } => rate_limited(retry_after),
            LimitedError::Refused(e) => e.response(),
        }
    }
}

impl Refusal for VersionedError {
    fn response(self) -> HttpResponse {
        match self {
            VersionedError::Stale { current_version } => problem(
                StatusCode::CONFLICT,
                code::CONFLICT,
                &format!("changed since it was read; the current version is {current_version}"),
                serde_json::Value::Null,
            ),
            VersionedError::Refused(e) => e.response(),
        }
    }
}

impl Refusal for RecordOnceError {
    fn response(self) -> HttpResponse {
        match self {
            RecordOnceError::RecordedOtherwise => problem(
                StatusCode::CONFLICT,
                code::CONFLICT,
                "this reference names a record made with other details; once recorded it does not change",
                serde_json::Value::Null,
            ),
            RecordOnceError::Refused(e) => e.response(),
        }
    }
}

fn rate_limited(retry_after: u64) -> HttpResponse {
    let mut res = problem(
        StatusCode::TOO_MANY_REQUESTS,
        code::RATE_LIMITED,
        "too many requests; try again later",
        serde_json::Value::Null,
    );
    if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

impl Refusal for ServiceError {
    fn response(self) -> HttpResponse {
        match self {
            ServiceError::Unauthenticated => unauthenticated(),
            ServiceError::Forbidden => problem(
                StatusCode::FORBIDDEN,
                code::FORBIDDEN,
                "this client may not do this",
                serde_json::Value::Null,
            ),
            ServiceError::NotFound => not_found(),
            ServiceError::Invalid(fields) => problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                code::BAD_USER_INPUT,
                &fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                serde_json::Value::Array(
                    fields
                        .iter()
                        .map(|f| serde_json::json!({ "field": f.field, "message": f.message }))
                        .collect(),
                ),
            ),
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = ?cause, "vendor API: unavailable");
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    code::INTERNAL,
                    "the service is busy; try again shortly",
                    serde_json::Value::Null,
                )
            }
            ServiceError::Internal(cause) => {
                tracing::error!(error = ?cause, "vendor API: internal error");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code::INTERNAL,
                    "internal error",
                    serde_json::Value::Null,
                )
            }
        }
    }
}

fn unauthenticated() -> HttpResponse {
    let mut res = problem(
        StatusCode::UNAUTHORIZED,
        code::UNAUTHENTICATED,
        "send an API client's access token from /oauth/token as a Bearer token",
        serde_json::Value::Null,
    );
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"patchwork\""),
    );
    res
}

pub(crate) fn not_found() -> HttpResponse {
    problem(
        StatusCode::NOT_FOUND,
        code::NOT_FOUND,
        "not found",
        serde_json::Value::Null,
    )
}

async fn no_such_resource() -> HttpResponse {
    not_found()
}

/// Adds the client's rate-limit state to an answer.
pub(crate) fn with_rate(mut res: HttpResponse, rate: RateStatus) -> HttpResponse {
    let headers = res.headers_mut();
    let policy = format!("\"default\";q={};w={}", rate.limit, rate.window);
    let state = format!("\"default\";r={};t={}", rate.remaining, rate.reset);
    if let Ok(v) = header::HeaderValue::from_str(&policy) {
        headers.insert(header::HeaderName::from_static("ratelimit-policy"), v);
    }
    if let Ok(v) = header::HeaderValue::from_str(&state) {
        headers.insert(header::HeaderName::from_static("ratelimit"), v);
    }
    res
}

/// The calling client, counted against its limit and holding `scope`; or the answer that
/// refuses the call.
pub(crate) async fn caller(
    req: &HttpRequest,
    state: &AppState,
    scope: ApiScope,
) -> Result<ClientCall, HttpResponse> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| credentials(v, "bearer"))
        .ok_or_else(unauthenticated)?;
    match api_client::authenticate_call(state, token).await {
        Ok(CallAuth::Allowed(call)) if call.scopes.contains(&scope) => Ok(call),
        Ok(CallAuth::Allowed(call)) => {
            let mut res = problem(
                StatusCode::FORBIDDEN,
                code::FORBIDDEN,
                &format!("this call needs the scope {}", scope.as_str()),
                serde_json::Value::Null,
            );
            if let Ok(v) = header::HeaderValue::from_str(&format!(
                "Bearer realm=\"patchwork\", error=\"insufficient_scope\", scope=\"{}\"",
                scope.as_str()
            )) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
            Err(with_rate(res, call.rate))
        }
        Ok(CallAuth::Limited(rate)) => {
            let res = rate_limited(rate.reset);
            Err(with_rate(res, rate))
        }
        Ok(CallAuth::Refused) => Err(unauthenticated()),
        Err(e) => Err(refusal(e)),
    }
}

/// A child as the client's agency sees it (rule 2: the details recorded through involvements
/// it may see).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChildView {
    id: Uuid,
    given_name: String,
    family_name: String,
    date_of_birth: chrono::NaiveDate,
}

impl From<&ChildRow> for ChildView {
    fn from(c: &ChildRow) -> ChildView {
        ChildView {
            id: c.id,
            given_name: c.given_name.clone(),
            family_name: c.family_name.clone(),
            date_of_birth: c.date_of_birth,
        }
    }
}

/// One member of a team: the involvement, who, and how to reach them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberView {
    involvement_id: Uuid,
    role: String,
    sensitivity: String,
    is_lead: bool,
    started_on: chrono::NaiveDate,
    last_contact_at: Option<chrono::DateTime<chrono::Utc>>,
    next_contact_at: Option<chrono::DateTime<chrono::Utc>>,
    practitioner: PractitionerView,
    agency: AgencyView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PractitionerView {
    id: Uuid,
    display_name: String,
    job_title: Option<String>,
    email: String,
    phone: Option<String>,
    mobile: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AgencyView {
    id: Uuid,
    name: String,
    kind: String,
}

impl From<&TeamMember> for MemberView {
    fn from(m: &TeamMember) -> MemberView {
        MemberView {
            involvement_id: m.involvement.id,
            role: m.involvement.role.clone(),
            sensitivity: m.involvement.sensitivity.clone(),
            is_lead: m.involvement.is_lead,
            started_on: m.involvement.started_on,
            last_contact_at: m.involvement.last_contact_at,
            next_contact_at: m.involvement.next_contact_at,
            practitioner: PractitionerView {
                id: m.practitioner.id,
                display_name: m.practitioner.display_name.clone(),
                job_title: m.practitioner.job_title.clone(),
                email: m.practitioner.email.clone(),
                phone: m.practitioner.phone.clone(),
                mobile: m.practitioner.mobile.clone(),
            },
            agency: AgencyView {
                id: m.agency.id,
                name: m.agency.name.clone(),
                kind: m.agency.kind.clone(),
            },
        }
    }
}

#[derive(Serialize)]
struct TeamView {
    child: ChildView,
    team: Vec<MemberView>,
}

/// `GET /api/v1/children/{id}/team` (`teams:read`): the child and its team as the client's
/// agency may see them; 404 for a child it may not read, as for one that does not exist.
async fn team(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::TeamsRead).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    let rate = call.rate;
    let answer = async {
        let id = parse_id("id", &id)?;
        let meta = meta_of(&req, &state);
        let child = child::get_child(&state, call.reader.clone(), &meta, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let mut teams = involvement::teams(&state, call.reader, vec![id], false).await?;
        let members = teams.remove(&id).unwrap_or_default();
        Ok::<_, ServiceError>(TeamView {
            child: ChildView::from(&child),
            team: members.iter().map(MemberView::from).collect(),
        })
    }
    .await;
    let res = match answer {
        Ok(view) => HttpResponse::Ok().json(view),
        Err(e) => refusal(e),
    };
    with_rate(res, rate)
}

/// A JSON body read field by field, so that every field at fault is named.
pub(crate) struct Body {
    fields: serde_json::Map<String, serde_json::Value>,
    errors: Vec<FieldError>,
}

impl Body {
    fn parse(bytes: &[u8]) -> Result<Body, ServiceError> {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Object(fields)) => Ok(Body {
                fields,
                errors: Vec::new(),
            }),
            _ => Err(ServiceError::invalid("body", "must be a JSON object")),
        }
    }

    fn empty() -> Body {
        Body {
            fields: Default::default(),
            errors: Vec::new(),
        }
    }

    fn present(&self, field: &str) -> bool {
        !matches!(self.fields.get(field), None | Some(serde_json::Value::Null))
    }

    fn nested(&mut self, field: &str) -> Body {
        match self.fields.get(field) {
            Some(serde_json::Value::Object(inner)) => Body {
                fields: inner.clone(),
                errors: Vec::new(),
            },
            Some(serde_json::Value::Null) | None => Body::empty(),
            Some(_) => {
                self.errors
                    .push(FieldError::new(field, "must be an object"));
                Body::empty()
            }
        }
    }

    /// Takes `inner`'s errors as this body's, under `prefix`.
    fn adopt(&mut self, prefix: &str, inner: Body) {
        self.errors.extend(
            inner
                .errors
                .into_iter()
                .map(|e| FieldError::new(format!("{prefix}.{}", e.field), e.message)),
        );
    }

    fn optional_text(&mut self, field: &str) -> Option<String> {
        match self.fields.get(field) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s.contains('\0') => {
                self.errors
                    .push(FieldError::new(field, "must not hold NUL characters"));
                None
            }
            Some(serde_json::Value::String(s)) if s.chars().count() <= 10_000 => Some(s.clone()),
            Some(serde_json::Value::String(_)) => {
                self.errors.push(FieldError::new(field, "is too long"));
                None
            }
            Some(_) => {
                self.errors.push(FieldError::new(field, "must be a string"));
                None
            }
        }
    }

    fn required(&mut self, field: &str) {
        if !self.present(field) {
            self.errors.push(FieldError::new(field, "is required"));
        }
    }

    fn text(&mut self, field: &str) -> String {
        self.required(field);
        self.optional_text(field).unwrap_or_default()
    }

    fn optional_parsed<T: std::str::FromStr>(&mut self, field: &str, what: &str) -> Option<T> {
        let text = self.optional_text(field)?;
        match text.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                self.errors
                    .push(FieldError::new(field, format!("is not {what}")));
                None
            }
        }
    }

    fn parsed<T: std::str::FromStr>(&mut self, field: &str, what: &str) -> Option<T> {
        self.required(field);
        self.optional_parsed(field, what)
    }

    fn optional_date(&mut self, field: &str) -> Option<chrono::NaiveDate> {
        let text = self.optional_text(field)?;
        match chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                self.errors
                    .push(FieldError::new(field, "is not a date such as 2016-05-04"));
                None
            }
        }
    }

    fn date(&mut self, field: &str) -> Option<chrono::NaiveDate> {
        self.required(field);
        self.optional_date(field)
    }

    fn instant(&mut self, field: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        self.required(field);
        let text = self.optional_text(field)?;
        match chrono::DateTime::parse_from_rfc3339(&text) {
            Ok(t) => Some(t.with_timezone(&chrono::Utc)),
            Err(_) => {
                self.errors.push(FieldError::new(
                    field,
                    "is not an RFC 3339 time such as 2026-11-22T09:30:00Z",
                ));
                None
            }
        }
    }

    /// Adds errors about fields not yet named.
    fn merge(&mut self, more: Vec<FieldError>) {
        for e in more {
            if !self.errors.iter().any(|known| known.field == e.field) {
                self.errors.push(e);
            }
        }
    }

    /// The value read, or every field at fault.
    fn finish<T>(self, value: Option<T>) -> Result<T, ServiceError> {
        match (self.errors.is_empty(), value) {
            (true, Some(v)) => Ok(v),
            _ => {
                let mut errors = self.errors;
                errors.dedup_by(|a, b| a.field == b.field);
                Err(ServiceError::Invalid(errors))
            }
        }
    }
}

/// A child as its agency's system sent it, with its Patchwork id once allocated.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AgencyChildView {
    #[serde(rename = "ref")]
    reference: String,
    id: Option<Uuid>,
    given_name: String,
    family_name: String,
    date_of_birth: chrono::NaiveDate,
    gender: Option<String>,
    postcode: Option<String>,
    nhs_number: Option<String>,
    school_upn: Option<String>,
    la_id: Option<String>,
}

impl From<AgencyChildRow> for AgencyChildView {
    fn from(r: AgencyChildRow) -> AgencyChildView {
        AgencyChildView {
            reference: r.reference,
            id: r.child_id,
            given_name: r.given_name,
            family_name: r.family_name,
            date_of_birth: r.date_of_birth,
            gender: r.gender,
            postcode: r.postcode,
            nhs_number: r.nhs_number,
            school_upn: r.school_upn,
            la_id: r.la_id,
        }
    }
}

/// 201 for a record made, 200 otherwise.
fn upserted(outcome: Upsert, body: impl Serialize) -> HttpResponse {
    match outcome {
        Upsert::Created => HttpResponse::Created().json(body),
        Upsert::Updated | Upsert::Unchanged => HttpResponse::Ok().json(body),
    }
}

/// Runs a call's work, and answers with its outcome and the client's rate-limit state.
pub(crate) async fn answer<F>(call: &ClientCall, work: F) -> HttpResponse
where
    F: std::future::Future<Output = Result<HttpResponse, ServiceError>>,
{
    answer_refusing(call, work).await
}

/// [`answer`] for an operation whose error enum is its own.
pub(crate) async fn answer_refusing<F, E>(call: &ClientCall, work: F) -> HttpResponse
where
    F: std::future::Future<Output = Result<HttpResponse, E>>,
    E: Refusal,
{
    let res = match work.await {
        Ok(res) => res,
        Err(e) => refusal(e),
    };
    with_rate(res, call.rate)
}

/// `PUT /api/v1/children/{ref}` (`children:write`).
async fn put_child(
    req: HttpRequest,
    state: web::Data<AppState>,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::ChildrenWrite).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer(&call, async {
        let mut b = Body::parse(&body)?;
        let given_name = b.text("givenName");
        let family_name = b.text("familyName");
        let date_of_birth = b.date("dateOfBirth");
        let gender = b.optional_text("gender");
        let postcode = b.optional_text("postcode");
        let nhs_number = b.optional_text("nhsNumber");
        let school_upn = b.optional_text("schoolUpn");
        let la_id = b.optional_text("laId");
        let details = date_of_birth.map(|date_of_birth| ChildDetails {
            given_name,
            family_name,
            date_of_birth,
            gender,
            postcode,
            nhs_number,
            school_upn,
            la_id,
        });
        let details = b.finish(details)?;
        let meta = meta_of(&req, &state);
        let (row, outcome) = by_reference::put_child(
            &state,
            call.reader.clone(),
            &meta,
            reference.into_inner(),
            details,
        )
        .await?;
        Ok(upserted(outcome, AgencyChildView::from(row)))
    })
    .await
}

/// `GET /api/v1/children/{ref}` (`children:read`).
async fn get_child(
    req: HttpRequest,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::ChildrenRead).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer(&call, async {
        let meta = meta_of(&req, &state);
        let row =
            by_reference::get_child(&state, call.reader.clone(), &meta, reference.into_inner())
                .await?;
        Ok(HttpResponse::Ok().json(AgencyChildView::from(row)))
    })
    .await
}

/// An allocation as the agency's system sees it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AllocationView {
    #[serde(rename = "ref")]
    reference: String,
    id: Uuid,
    child_ref: String,
    child_id: Uuid,
    practitioner: PractitionerView,
    role: String,
    sensitivity: String,
    is_lead: bool,
    started_on: chrono::NaiveDate,
    ended_on: Option<chrono::NaiveDate>,
    version: i32,
}

fn allocation_view(reference: String, a: Allocation) -> AllocationView {
    AllocationView {
        reference,
        id: a.involvement.id,
        child_ref: a.child_ref,
        child_id: a.involvement.child_id,
        practitioner: PractitionerView {
            id: a.practitioner.id,
            display_name: a.practitioner.display_name,
            job_title: a.practitioner.job_title,
            email: a.practitioner.email,
            phone: a.practitioner.phone,
            mobile: a.practitioner.mobile,
        },
        role: a.involvement.role,
        sensitivity: a.involvement.sensitivity,
        is_lead: a.involvement.is_lead,
        started_on: a.involvement.started_on,
        ended_on: a.involvement.ended_on,
        version: a.involvement.version,
    }
}

/// `PUT /api/v1/involvements/{ref}` (`involvements:write`).
async fn put_involvement(
    req: HttpRequest,
    state: web::Data<AppState>,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::InvolvementsWrite).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer_refusing::<_, VersionedError>(&call, async {
        let mut b = Body::parse(&body)?;
        let child_ref = b.text("childRef");
        b.required("practitioner");
        let mut p = b.nested("practitioner");
        let practitioner = PractitionerRef {
            email: p.optional_text("email"),
            staff_ref: p.optional_text("staffRef"),
            display_name: p.optional_text("displayName"),
            job_title: p.optional_text("jobTitle"),
            phone: p.optional_text("phone"),
        };
        b.adopt("practitioner", p);
        let role = b.text("role");
        let sensitivity = b.optional_parsed("sensitivity", "STANDARD or RESTRICTED");
        let lawful_basis = b.optional_parsed("lawfulBasis", "a lawful basis");
        let ended_on = b.optional_date("endedOn");
        let record = InvolvementRecord {
            child_ref,
            practitioner,
            role,
            sensitivity,
            lawful_basis,
            ended_on,
        };
        // What the service would refuse too, so that one answer names every field at fault.
        if let Err(ServiceError::Invalid(more)) = by_reference::check_involvement(&record) {
            b.merge(more);
        }
        let record = b.finish(Some(record))?;
        let meta = meta_of(&req, &state);
        let reference = reference.into_inner();
        let (allocation, outcome) = by_reference::put_involvement(
            &state,
            call.reader.clone(),
            &meta,
            reference.clone(),
            record,
        )
        .await?;
        Ok(upserted(outcome, allocation_view(reference, allocation)))
    })
    .await
}

/// Which page of a list: `first` (1 to 100, default 50) after the opaque cursor `after`.
#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    first: Option<String>,
    after: Option<String>,
}

/// The page asked for, and how many it should hold (50 when not said).
fn page_of(
    query: Result<web::Query<PageQuery>, actix_web::Error>,
) -> Result<(PageQuery, i64), ServiceError> {
    let Ok(web::Query(page)) = query else {
        return Err(ServiceError::invalid("query", "is not first and after"));
    };
    let first = match page.first.as_deref() {
        None => 50,
        Some(n) => n
            .parse::<i64>()
            .map_err(|_| ServiceError::invalid("first", "must be 1 to 100"))?,
    };
    Ok((page, first))
}

/// A page of allocations, and the cursor of the next one.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AllocationPage {
    items: Vec<AllocationView>,
    next_cursor: Option<String>,
}

/// `GET /api/v1/involvements` (`teams:read`): the agency's allocations by reference, active
/// and ended, in reference order; a `Link: <...>; rel="next"` header names the next page.
async fn list_involvements(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Result<web::Query<PageQuery>, actix_web::Error>,
) -> HttpResponse {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let call = match caller(&req, &state, ApiScope::TeamsRead).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer(&call, async {
        let (page, first) = page_of(query)?;
        let after = match page.after.as_deref() {
            None => None,
            Some(c) => Some(
                URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        ServiceError::invalid("after", "is not a cursor this server issued")
                    })?,
            ),
        };
        let (items, more) =
            by_reference::allocations(&state, call.reader.clone(), first, after).await?;
        let next_cursor = more
            .then(|| {
                items
                    .last()
                    .map(|(r, _)| URL_SAFE_NO_PAD.encode(r.as_bytes()))
            })
            .flatten();
        let mut res = HttpResponse::Ok();
        if let Some(cursor) = &next_cursor {
            res.insert_header((
                header::LINK,
                format!("<{PREFIX}{INVOLVEMENTS}?first={first}&after={cursor}>; rel=\"next\""),
            ));
        }
        Ok(res.json(AllocationPage {
            items: items
                .into_iter()
                .map(|(reference, a)| allocation_view(reference, a))
                .collect(),
            next_cursor,
        }))
    })
    .await
}

/// A contact as the agency's system recorded it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ContactView {
    /// Absent for a contact recorded without a reference of its own.
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    id: Uuid,
    involvement_ref: String,
    kind: String,
    outcome: String,
    at: chrono::DateTime<chrono::Utc>,
}

fn contact_view(reference: Option<String>, involvement_ref: String, c: ContactRow) -> ContactView {
    ContactView {
        reference,
        id: c.id,
        involvement_ref,
        kind: c.kind,
        outcome: c.outcome,
        at: c.at,
    }
}

/// A contact's kind, outcome and time from a body (each one at fault is noted in it).
fn contact_of(b: &mut Body) -> Option<Contact> {
    let kind = b.parsed("kind", "a contact kind");
    let outcome = b.parsed("outcome", "a contact outcome");
    let at = b.instant("at");
    Some(Contact {
        kind: kind?,
        outcome: outcome?,
        at: at?,
    })
}

/// `PUT /api/v1/contacts/{ref}` (`contacts:write`).
async fn put_contact(
    req: HttpRequest,
    state: web::Data<AppState>,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::ContactsWrite).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer_refusing::<_, RecordOnceError>(&call, async {
        let mut b = Body::parse(&body)?;
        let involvement_ref = b.text("involvementRef");
        let record = contact_of(&mut b).map(|contact| ContactRecord {
            involvement_ref,
            contact,
        });
        let record = b.finish(record)?;
        let meta = meta_of(&req, &state);
        let reference = reference.into_inner();
        let (row, involvement_ref, outcome) = by_reference::put_contact(
            &state,
            call.reader.clone(),
            &meta,
            reference.clone(),
            record,
        )
        .await?;
        Ok(upserted(
            outcome,
            contact_view(Some(reference), involvement_ref, row),
        ))
    })
    .await
}

/// The call's `Idempotency-Key`: an answer refusing the call without one (400), or the key
/// (an error for a malformed one).
pub(crate) fn idempotency_key(
    req: &HttpRequest,
    call: &ClientCall,
    body: &[u8],
) -> Result<Result<IdempotencyKey, ServiceError>, Box<HttpResponse>> {
    let Some(key) = req.headers().get(IDEMPOTENCY_KEY) else {
        let res = problem(
            StatusCode::BAD_REQUEST,
            code::BAD_USER_INPUT,
            "this call needs an Idempotency-Key header, so that it can be retried safely",
            serde_json::json!([{ "field": IDEMPOTENCY_KEY, "message": "is required" }]),
        );
        return Err(Box::new(with_rate(res, call.rate)));
    };
    Ok(key
        .to_str()
        .map_err(|_| ServiceError::invalid(IDEMPOTENCY_KEY, "must be visible ASCII"))
        .and_then(|key| {
            IdempotencyKey::new(
                IDEMPOTENCY_KEY,
                call.reader.actor.practitioner_id,
                key,
                req.method().as_str(),
                req.path(),
                body,
            )
        }))
}

/// `POST /api/v1/involvements/{ref}/contacts` (`contacts:write`): records a contact on the
/// allocation, once per `Idempotency-Key`.
async fn post_contact(
    req: HttpRequest,
    state: web::Data<AppState>,
    reference: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::ContactsWrite).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    let key = match idempotency_key(&req, &call, &body) {
        Ok(key) => key,
        Err(res) => return *res,
    };
    answer(&call, async {
        let key = key?;
        let mut b = Body::parse(&body)?;
        let contact = contact_of(&mut b);
        let contact = b.finish(contact)?;
        let meta = meta_of(&req, &state);
        let involvement_ref = reference.into_inner();
        let named = involvement_ref.clone();
        let answer = by_reference::post_contact(
            &state,
            call.reader.clone(),
            &meta,
            involvement_ref,
            contact,
            (IDEMPOTENCY_KEY, key),
            move |row| {
                let view = contact_view(None, named, row.clone());
                (201, serde_json::to_string(&view).unwrap_or_default())
            },
        )
        .await?;
        let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::CREATED);
        Ok(HttpResponse::build(status)
            .content_type("application/json")
            .body(answer.body))
    })
    .await
}

/// `GET /api/v1/changes?after=&first=` (`teams:read`): the changes the agency may see, in
/// commit order, each as its webhook would describe it.
async fn changes(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Result<web::Query<PageQuery>, actix_web::Error>,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::TeamsRead).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer(&call, async {
        let (page, first) = page_of(query)?;
        let page =
            crate::service::events::changes(&state, call.reader.clone(), page.after, first, true)
                .await?;
        let mut res = HttpResponse::Ok();
        if let (true, Some(cursor)) = (page.has_more, page.end_cursor) {
            res.insert_header((
                header::LINK,
                format!("<{PREFIX}{CHANGES}?first={first}&after={cursor}>; rel=\"next\""),
            ));
        }
        let events: Vec<serde_json::Value> = page
            .events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.id,
                    "type": e.kind,
                    "timestamp": e.timestamp(),
                    "data": e.data,
                })
            })
            .collect();
        Ok(res.json(serde_json::json!({
            "events": events,
            "endCursor": page.end_cursor,
            "hasMore": page.has_more,
        })))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document's paths and methods, read from its `paths:` block.
    fn documented() -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut path = None;
        let mut in_paths = false;
        for line in DOCUMENT.lines() {
            if !line.starts_with(' ') {
                in_paths = line == "paths:";
                continue;
            }
            if !in_paths {
                continue;
            }
            if let Some(p) = line.strip_prefix("  /") {
                path = Some(format!("/{}", p.trim_end_matches(':')));
            } else if let (Some(p), Some(m)) = (&path, line.strip_prefix("    ")) {
                let m = m.trim_end_matches(':');
                if ["get", "put", "post", "patch", "delete"].contains(&m) {
                    out.push((m.to_owned(), p.clone()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn the_document_describes_exactly_the_routes_served() {
        let mut served: Vec<(String, String)> = ROUTES
            .iter()
            .chain(crate::http::webhooks::ROUTES)
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        served.sort();
        assert_eq!(documented(), served);
        assert!(ROUTES.contains(&("get", "/api/v1/children/{id}/team")));
        for path in [
            TEAM,
            CHILD,
            INVOLVEMENTS,
            INVOLVEMENT,
            CONTACT,
            CONTACTS_OF,
            CHANGES,
        ] {
            let full = format!("{PREFIX}{path}");
            assert!(
                ROUTES.iter().any(|(_, p)| *p == full),
                "{full} is not in ROUTES"
            );
        }
    }
}
