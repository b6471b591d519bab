//! FHIR R4 for health systems: the team around a child as a `CareTeam`, read with the same
//! bearer tokens as the rest of the API (a practitioner's, or a machine client's with
//! `teams:read`) and through the same services and policy as the team screen: a participant
//! the caller may not see is not there, and a child they may not read answers as no child.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::models::ChildRow;
use crate::domain::ApiScope;
use crate::http::graphql::{credentials, meta_of};
use crate::policy::Reader;
use crate::service::api_client::{self, CallAuth};
use crate::service::error::ServiceError;
use crate::service::involvement::{self, TeamMember};
use crate::service::{child, session};
use crate::state::AppState;

/// FHIR's JSON media type.
const FHIR_JSON: &str = "application/fhir+json";
/// The NHS number's identifier system.
pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/fhir")
            .route("/metadata", web::get().to(metadata))
            .route("/CareTeam", web::get().to(search))
            .route("/CareTeam/{id}", web::get().to(read))
            .default_service(web::to(|| async {
                outcome(
                    StatusCode::NOT_FOUND,
                    "not-supported",
                    "this server offers CareTeam (read, search by subject) and metadata",
                )
            })),
    );
}

fn fhir(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .body(body.to_string())
}

/// An `OperationOutcome` with one issue.
fn outcome(status: StatusCode, code: &str, diagnostics: &str) -> HttpResponse {
    fhir(
        status,
        json!({
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": "error", "code": code, "diagnostics": diagnostics }],
        }),
    )
}

fn refusal(err: ServiceError) -> HttpResponse {
    match err {
        ServiceError::NotFound => outcome(StatusCode::NOT_FOUND, "not-found", "no such resource"),
        ServiceError::Invalid(fields) => outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            &fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ServiceError::Unavailable(_) => outcome(
            StatusCode::SERVICE_UNAVAILABLE,
            "transient",
            "the service is busy; try again shortly",
        ),
        ServiceError::Unauthenticated => unauthenticated(),
        ServiceError::Forbidden => outcome(StatusCode::FORBIDDEN, "forbidden", "not allowed"),
        other => {
            tracing::error!(error = ?other, "FHIR: internal error");
            outcome(
                StatusCode::INTERNAL_SERVER_ERROR,
                "exception",
                "internal error",
            )
        }
    }
}

fn unauthenticated() -> HttpResponse {
    let mut res = outcome(
        StatusCode::UNAUTHORIZED,
        "login",
        "a bearer token is needed: a practitioner's, or an API client's with teams:read",
    );
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"patchwork\""),
    );
    res
}

/// The caller as a reader: a practitioner's token, or a machine client's holding `teams:read`
/// (counted against its rate limit).
async fn caller(req: &HttpRequest, state: &AppState) -> Result<Reader, HttpResponse> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| credentials(v, "bearer"))
        .ok_or_else(unauthenticated)?;
    if let Some(claims) = state.tokens.verify(token) {
        return session::load_caller(state, claims.sub)
            .await
            .map_err(refusal);
    }
    match api_client::authenticate_call(state, token).await {
        Ok(CallAuth::Allowed(call)) if call.scopes.contains(&ApiScope::TeamsRead) => {
            Ok(call.reader)
        }
        Ok(CallAuth::Allowed(_)) => Err(outcome(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this call needs the scope teams:read",
        )),
        Ok(CallAuth::Limited(_)) => Err(outcome(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "too many requests",
        )),
        Ok(CallAuth::Refused) => Err(unauthenticated()),
        Err(e) => Err(refusal(e)),
    }
}

/// `GET /fhir/metadata`: what this server offers (no token needed).
async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    fhir(
        StatusCode::OK,
        json!({
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-12-06",
            "publisher": "Patchwork",
            "kind": "instance",
            "software": { "name": "Patchwork", "version": env!("CARGO_PKG_VERSION") },
            "implementation": {
                "description": "Who else is working with this child, and how to reach them",
                "url": format!("{}/fhir", state.config.public_url),
            },
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [{
                "mode": "server",
                "security": {
                    "service": [{ "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "OAuth",
                    }] }],
                    "description": "Bearer tokens: a practitioner's (GraphQL login), or an API \
                                    client's with teams:read (POST /oauth/token).",
                },
                "resource": [{
                    "type": "CareTeam",
                    "interaction": [{ "code": "read" }, { "code": "search-type" }],
                    "searchParam": [{
                        "name": "subject",
                        "type": "reference",
                        "documentation": "The child: its id (or Patient/<id>), or \
                                          https://fhir.nhs.uk/Id/nhs-number|<NHS number>",
                    }],
                }],
            }],
        }),
    )
}

/// The child's team as a `CareTeam`, as the reader may see it.
fn care_team(child: &ChildRow, nhs: Option<&str>, team: &[TeamMember]) -> Value {
    let mut subject = json!({
        "reference": format!("Patient/{}", child.id),
        "display": format!("{} {}", child.given_name, child.family_name),
    });
    if let Some(nhs) = nhs {
        subject["identifier"] = json!({ "system": NHS_NUMBER, "value": nhs });
    }
    let mut contained = Vec::new();
    let mut organisations: Vec<Uuid> = Vec::new();
    let participants: Vec<Value> = team
        .iter()
        .map(|m| {
            let p = &m.practitioner;
            let mut telecom = Vec::new();
            if let Some(phone) = &p.phone {
                telecom.push(json!({ "system": "phone", "value": phone, "use": "work" }));
            }
            if let Some(mobile) = &p.mobile {
                telecom.push(json!({ "system": "phone", "value": mobile, "use": "mobile" }));
            }
            telecom.push(json!({ "system": "email", "value": p.email, "use": "work" }));
            let mut practitioner = json!({
                "resourceType": "Practitioner",
                "id": format!("practitioner-{}", m.involvement.id),
                "active": p.active,
                "name": [{ "text": p.display_name }],
                "telecom": telecom,
            });
            if let Some(title) = &p.job_title {
                practitioner["qualification"] = json!([{ "code": { "text": title } }]);
            }
            contained.push(practitioner);
            if !organisations.contains(&m.agency.id) {
                organisations.push(m.agency.id);
                contained.push(json!({
                    "resourceType": "Organization",
                    "id": format!("organization-{}", m.agency.id),
                    "active": true,
                    "name": m.agency.name,
                }));
            }
            let mut roles = vec![json!({ "text": m.involvement.role })];
            if m.involvement.is_lead {
                roles.push(json!({ "text": "Lead professional" }));
            }
            json!({
                "role": roles,
                "member": {
                    "reference": format!("#practitioner-{}", m.involvement.id),
                    "display": p.display_name,
                },
                "onBehalfOf": {
                    "reference": format!("#organization-{}", m.agency.id),
                    "display": m.agency.name,
                },
                "period": { "start": m.involvement.started_on.to_string() },
            })
        })
        .collect();
    let mut resource = json!({
        "resourceType": "CareTeam",
        "id": child.id,
        "status": "active",
        "name": format!("The team around {} {}", child.given_name, child.family_name),
        "subject": subject,
    });
    // FHIR JSON has no empty arrays.
    if !participants.is_empty() {
        resource["participant"] = Value::Array(participants);
    }
    if !contained.is_empty() {
        resource["contained"] = Value::Array(contained);
    }
    resource
}

/// The `CareTeam` of `id`, or NotFound when the reader may not read the child.
async fn team_of(
    req: &HttpRequest,
    state: &AppState,
    reader: Reader,
    id: Uuid,
) -> Result<Value, ServiceError> {
    let meta = meta_of(req, state);
    let child = child::get_child(state, reader.clone(), &meta, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let nhs = child::nhs_number_seen(state, reader.clone(), id).await?;
    let mut teams = involvement::teams(state, reader, vec![id], false).await?;
    let team = teams.remove(&id).unwrap_or_default();
    Ok(care_team(&child, nhs.as_deref(), &team))
}

/// `GET /fhir/CareTeam/{id}`.
async fn read(req: HttpRequest, state: web::Data<AppState>, id: web::Path<String>) -> HttpResponse {
    let reader = match caller(&req, &state).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let Ok(id) = Uuid::parse_str(id.trim()) else {
        return refusal(ServiceError::NotFound);
    };
    match team_of(&req, &state, reader, id).await {
        Ok(team) => fhir(StatusCode::OK, team),
        Err(e) => refusal(e),
    }
}

/// Which child a `subject` names: an id, `Patient/<id>`, or `<system>|<value>` with the NHS
/// number system.
enum Subject {
    Id(Uuid),
    NhsNumber(String),
}

fn subject_of(value: &str) -> Result<Subject, ServiceError> {
    let bad = || {
        ServiceError::invalid(
            "subject",
            "must be a child's id, Patient/<id>, or https://fhir.nhs.uk/Id/nhs-number|<NHS number>",
        )
    };
    let value = value.trim();
    if let Some((system, nhs)) = value.split_once('|') {
        let nhs: String = nhs.chars().filter(|c| !c.is_whitespace()).collect();
        return if system == NHS_NUMBER && nhs.len() == 10 && nhs.bytes().all(|b| b.is_ascii_digit())
        {
            Ok(Subject::NhsNumber(nhs))
        } else {
            Err(bad())
        };
    }
    let id = value.strip_prefix("Patient/").unwrap_or(value);
    Uuid::parse_str(id).map(Subject::Id).map_err(|_| bad())
}

/// `GET /fhir/CareTeam?subject=...` (or `subject:identifier=system|value`): a `searchset`
/// bundle of the child's team, empty when the caller may not read such a child.
async fn search(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let reader = match caller(&req, &state).await {
        Ok(r) => r,
        Err(res) => return res,
    };
    let subject = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "subject" || k == "subject:identifier" || k == "patient")
        .map(|(_, v)| v.into_owned());
    let Some(subject) = subject else {
        return refusal(ServiceError::invalid(
            "subject",
            "is required: this server searches care teams by subject",
        ));
    };
    let ids = match subject_of(&subject) {
        Ok(Subject::Id(id)) => vec![id],
        Ok(Subject::NhsNumber(nhs)) => {
            match child::find_by_nhs_number(&state, reader.clone(), nhs).await {
                Ok(ids) => ids,
                Err(e) => return refusal(e),
            }
        }
        Err(e) => return refusal(e),
    };
    let base = format!("{}/fhir", state.config.public_url);
    let mut entries = Vec::new();
    for id in ids {
        match team_of(&req, &state, reader.clone(), id).await {
            Ok(team) => entries.push(json!({
                "fullUrl": format!("{base}/CareTeam/{id}"),
                "resource": team,
                "search": { "mode": "match" },
            })),
            Err(ServiceError::NotFound) => {}
            Err(e) => return refusal(e),
        }
    }
    let self_url = format!("{base}/CareTeam?{}", req.query_string());
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": entries.len(),
        "link": [{ "relation": "self", "url": self_url }],
    });
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    fhir(StatusCode::OK, bundle)
}
