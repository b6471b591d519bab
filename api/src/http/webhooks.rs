//! The vendor API's webhook management (`webhooks:manage`): an API client manages its agency's
//! subscriptions as the agency's admins do in GraphQL, through the same service. POSTs take an
//! `Idempotency-Key`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use uuid::Uuid;

use crate::db::webhooks::{DeliveryRow, SubscriptionRow};
use crate::domain::ApiScope;
use crate::http::graphql::meta_of;
use crate::http::rest::{answer, caller, idempotency_key, IDEMPOTENCY_KEY};
use crate::service::error::{FieldError, ServiceError};
use crate::service::idempotency::{Outcome, Retry};
use crate::service::parse_id;
use crate::service::webhook::{self, Change, NewWebhook, WithSecret};
use crate::state::AppState;

/// Every route this module serves, as the document names them (method, path).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
    ("patch", "/api/v1/webhooks/{id}"),
    ("delete", "/api/v1/webhooks/{id}"),
    ("post", "/api/v1/webhooks/{id}/secret"),
    ("get", "/api/v1/webhooks/{id}/dead-letters"),
    (
        "post",
        "/api/v1/webhooks/{id}/dead-letters/{delivery}/replay",
    ),
];

/// Registers the routes under the vendor API's scope.
pub fn configure(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(
            web::resource("/webhooks")
                .route(web::get().to(list))
                .route(web::post().to(create))
                .default_service(web::to(|| super::rest::method_not_allowed("GET, POST"))),
        )
        .service(
            web::resource("/webhooks/{id}")
                .route(web::patch().to(patch))
                .route(web::delete().to(delete))
                .default_service(web::to(|| super::rest::method_not_allowed("PATCH, DELETE"))),
        )
        .service(
            web::resource("/webhooks/{id}/secret")
                .route(web::post().to(rotate))
                .default_service(web::to(|| super::rest::method_not_allowed("POST"))),
        )
        .service(
            web::resource("/webhooks/{id}/dead-letters")
                .route(web::get().to(dead_letters))
                .default_service(web::to(|| super::rest::method_not_allowed("GET"))),
        )
        .service(
            web::resource("/webhooks/{id}/dead-letters/{delivery}/replay")
                .route(web::post().to(replay))
                .default_service(web::to(|| super::rest::method_not_allowed("POST"))),
        )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookView {
    id: Uuid,
    url: String,
    event_types: Vec<String>,
    status: String,
    failing_since: Option<chrono::DateTime<chrono::Utc>>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&SubscriptionRow> for WebhookView {
    fn from(s: &SubscriptionRow) -> WebhookView {
        WebhookView {
            id: s.id,
            url: s.url.clone(),
            event_types: s.event_types.clone(),
            status: s.status.clone(),
            failing_since: s.failing_since,
            created_at: s.created_at,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryView {
    id: Uuid,
    sequence: Option<i64>,
    event_type: String,
    attempts: i32,
    last_error: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&DeliveryRow> for DeliveryView {
    fn from(d: &DeliveryRow) -> DeliveryView {
        DeliveryView {
            id: d.id,
            sequence: d.sequence,
            event_type: d.event_type.clone(),
            attempts: d.attempts,
            last_error: d.last_error.clone(),
            created_at: d.created_at,
        }
    }
}

/// A subscription and its secret, as JSON.
fn with_secret(w: &WithSecret) -> String {
    serde_json::json!({ "subscription": WebhookView::from(&w.subscription), "secret": w.secret })
        .to_string()
}

/// The answer for an outcome kept for a key.
fn kept<T>(outcome: Outcome<T>) -> Result<HttpResponse, ServiceError> {
    match outcome {
        Outcome::Answered(a) => Ok(HttpResponse::build(
            StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK),
        )
        .content_type("application/json")
        .body(a.body)),
        Outcome::Done(_) => Err(ServiceError::Internal(anyhow::anyhow!(
            "a call with a key was not kept"
        ))),
    }
}

fn json_body(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ServiceError> {
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(ServiceError::invalid("body", "must be a JSON object")),
    }
}

/// `GET /api/v1/webhooks`.
async fn list(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::WebhooksManage).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer(&call, async {
        let rows = webhook::list(&state, call.reader.actor).await?;
        let views: Vec<WebhookView> = rows.iter().map(WebhookView::from).collect();
        Ok(HttpResponse::Ok().json(serde_json::json!({ "webhooks": views })))
    })
    .await
}

/// `POST /api/v1/webhooks` `{url, eventTypes}`: 201 with the secret, shown this once.
async fn create(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::WebhooksManage).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    let key = match idempotency_key(&req, &call, &body) {
        Ok(key) => key,
        Err(res) => return *res,
    };
    answer(&call, async {
        let key = key?;
        let map = json_body(&body)?;
        let mut fields = Vec::new();
        let url = map.get("url").and_then(|v| v.as_str()).map(str::to_owned);
        if url.is_none() {
            fields.push(FieldError::new("url", "is required, as a string"));
        }
        let types: Option<Vec<String>> = map.get("eventTypes").and_then(|v| {
            v.as_array()?
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect()
        });
        if types.is_none() {
            fields.push(FieldError::new(
                "eventTypes",
                "is required, as a list of strings",
            ));
        }
        let (Some(url), Some(event_types)) = (url, types) else {
            return Err(ServiceError::Invalid(fields));
        };
        let outcome = webhook::create(
            &state,
            call.reader.actor,
            &meta_of(&req, &state),
            NewWebhook { url, event_types },
            Some(Retry {
                field: IDEMPOTENCY_KEY,
                key,
                render: Box::new(|w: &WithSecret| (201, with_secret(w))),
            }),
        )
        .await?;
        kept(outcome)
    })
    .await
}

/// `PATCH /api/v1/webhooks/{id}` `{status: ACTIVE | PAUSED}`: resume or pause.
async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::WebhooksManage).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer(&call, async {
        let map = json_body(&body)?;
        let what = match map.get("status").and_then(|v| v.as_str()) {
            Some("ACTIVE") => Change::Resume,
            Some("PAUSED") => Change::Pause,
            _ => return Err(ServiceError::invalid("status", "must be ACTIVE or PAUSED")),
        };
        let (row, _) = webhook::change(
            &state,
            call.reader.actor,
            &meta_of(&req, &state),
            parse_id("id", &id)?,
            what,
            None,
        )
        .await?
        .done()?;
        Ok(HttpResponse::Ok().json(WebhookView::from(&row)))
    })
    .await
}

/// `DELETE /api/v1/webhooks/{id}`: 204; nothing more is sent to it.
async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::WebhooksManage).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer(&call, async {
        webhook::change(
            &state,
            call.reader.actor,
            &meta_of(&req, &state),
            parse_id("id", &id)?,
            Change::Delete,
            None,
        )
        .await?
        .done()?;
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}

/// `POST /api/v1/webhooks/{id}/secret`: a new secret (both sign for 24 hours).
async fn rotate(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::WebhooksManage).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    let key = match idempotency_key(&req, &call, &body) {
        Ok(key) => key,
        Err(res) => return *res,
    };
    answer(&call, async {
        let outcome = webhook::change(
            &state,
            call.reader.actor,
            &meta_of(&req, &state),
            parse_id("id", &id)?,
            Change::RotateSecret,
            Some(Retry {
                field: IDEMPOTENCY_KEY,
                key: key?,
                render: Box::new(|(row, secret): &(SubscriptionRow, Option<String>)| {
                    let body = serde_json::json!({
                        "subscription": WebhookView::from(row),
                        "secret": secret,
                    });
                    (200, body.to_string())
                }),
            }),
        )
        .await?;
        kept(outcome)
    })
    .await
}

/// `GET /api/v1/webhooks/{id}/dead-letters`.
async fn dead_letters(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::WebhooksManage).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    answer(&call, async {
        let id = Uuid::parse_str(id.trim()).map_err(|_| ServiceError::NotFound)?;
        let rows = webhook::dead_letters(&state, call.reader.actor, id).await?;
        let views: Vec<DeliveryView> = rows.iter().map(DeliveryView::from).collect();
        Ok(HttpResponse::Ok().json(serde_json::json!({ "deadLetters": views })))
    })
    .await
}

/// `POST /api/v1/webhooks/{id}/dead-letters/{delivery}/replay`: 202; sent again in its place.
async fn replay(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let call = match caller(&req, &state, ApiScope::WebhooksManage).await {
        Ok(call) => call,
        Err(res) => return res,
    };
    let key = match idempotency_key(&req, &call, &body) {
        Ok(key) => key,
        Err(res) => return *res,
    };
    answer(&call, async {
        let (subscription, delivery) = path.into_inner();
        let outcome = webhook::replay(
            &state,
            call.reader.actor,
            &meta_of(&req, &state),
            parse_id("subscriptionId", &subscription)?,
            parse_id("deliveryId", &delivery)?,
            Some(Retry {
                field: IDEMPOTENCY_KEY,
                key: key?,
                render: Box::new(|_: &()| (202, r#"{"replayed":true}"#.to_owned())),
            }),
        )
        .await?;
        kept(outcome)
    })
    .await
}
