//! The vendor API (`/api/v1`, JSON): API clients act as their agency (rule 10) through the same
//! services and policy as GraphQL. Errors are RFC 9457 problem details whose `code` is the
//! GraphQL code; every answer carries the client's rate-limit state (`RateLimit-Policy`,
//! `RateLimit`, IETF httpapi draft) and a refusal for the limit `Retry-After`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use uuid::Uuid;

use crate::db::models::ChildRow;
use crate::domain::ApiScope;
use crate::graphql::error::code;
use crate::http::graphql::{credentials, meta_of};
use crate::service::api_client::{self, CallAuth, ClientCall, RateStatus};
use crate::service::error::ServiceError;
use crate::service::involvement::{self, TeamMember};
use crate::service::{child, parse_id};
use crate::state::AppState;

/// The media type of an error.
const PROBLEM: &str = "application/problem+json";

/// The OpenAPI document, served as it is.
pub const DOCUMENT: &str = include_str!("../../../openapi/patchwork.yaml");

/// Where the vendor API lives.
const PREFIX: &str = "/api/v1";
/// The team of a child (`teams:read`).
const TEAM: &str = "/children/{id}/team";

/// Every route the vendor API serves, as the document names them (method, path).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/oauth/token"),
    ("get", "/api/v1/children/{id}/team"),
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
            web::scope(PREFIX)
                .service(
                    web::resource(TEAM)
                        .route(web::get().to(team))
                        .default_service(web::to(|| method_not_allowed("GET"))),
                )
                .default_service(web::to(no_such_resource)),
        );
}

async fn method_not_allowed(allowed: &'static str) -> HttpResponse {
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
fn problem(
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

/// The answer for a service error: the one place the vendor API maps errors to statuses.
fn refusal(err: ServiceError) -> HttpResponse {
    match err {
        ServiceError::Unauthenticated | ServiceError::WrongCredentials => unauthenticated(),
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
        ServiceError::Conflict { current_version } => problem(
            StatusCode::CONFLICT,
            code::CONFLICT,
            &format!("changed since it was read; the current version is {current_version}"),
            serde_json::Value::Null,
        ),
        ServiceError::RateLimited => problem(
            StatusCode::TOO_MANY_REQUESTS,
            code::RATE_LIMITED,
            "too many requests; try again later",
            serde_json::Value::Null,
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

fn not_found() -> HttpResponse {
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
fn with_rate(mut res: HttpResponse, rate: RateStatus) -> HttpResponse {
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
async fn caller(
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
            let mut res = refusal(ServiceError::RateLimited);
            if let Ok(v) = header::HeaderValue::from_str(&rate.reset.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
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
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        served.sort();
        assert_eq!(documented(), served);
        assert!(ROUTES.contains(&("get", "/api/v1/children/{id}/team")));
        assert_eq!(format!("{PREFIX}{TEAM}"), "/api/v1/children/{id}/team");
    }
}
