//! `POST /oauth/token`: OAuth 2.0 client credentials (RFC 6749 §4.4) for API clients, with
//! `client_secret_basic` (§2.3.1) or `private_key_jwt` (RFC 7523 §2.2). Answers and errors
//! are shaped as RFC 6749 §5.1 and §5.2 say.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;

use crate::http::graphql::{credentials, meta_of};
use crate::service::api_client::{self, ClientProof, TokenRequest};
use crate::service::error::{LimitedError, ServiceError};
use crate::state::AppState;

/// The assertion type RFC 7523 names for `private_key_jwt`.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The form fields a token request may carry.
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_assertion_type: Option<String>,
    client_assertion: Option<String>,
}

fn error(status: actix_web::http::StatusCode, code: &str, description: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header((header::PRAGMA, "no-cache"));
    if status == actix_web::http::StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"patchwork\""));
    }
    res.json(serde_json::json!({ "error": code, "error_description": description }))
}

fn bad_request(code: &str, description: &str) -> HttpResponse {
    error(actix_web::http::StatusCode::BAD_REQUEST, code, description)
}

/// `client_id:client_secret` from a Basic header. Client ids are UUIDs and secrets base64url,
/// so neither needs the form-encoding §2.3.1 allows.
fn basic(req: &HttpRequest) -> Option<(String, String)> {
    let encoded = credentials(req.headers().get(header::AUTHORIZATION)?, "basic")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Issues an access token to an API client.
pub async fn token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<web::Form<TokenForm>, actix_web::Error>,
) -> HttpResponse {
    let Ok(web::Form(form)) = form else {
        return bad_request(
            "invalid_request",
            "send the request as application/x-www-form-urlencoded",
        );
    };
    if form.grant_type.as_deref() != Some("client_credentials") {
        return bad_request(
            "unsupported_grant_type",
            "only grant_type=client_credentials is supported",
        );
    }
    let proof = match (basic(&req), &form.client_assertion) {
        (Some((id, secret)), None) => Some((id, ClientProof::Secret(secret))),
        (None, Some(assertion)) if form.client_assertion_type.as_deref() == Some(JWT_BEARER) => {
            // The client is the assertion's subject; a client_id, when sent, must agree.
            let subject = unverified_subject(assertion);
            match (&form.client_id, subject) {
                (Some(id), Some(sub)) if *id != sub => None,
                (_, Some(sub)) => Some((sub, ClientProof::Assertion(assertion.clone()))),
                _ => None,
            }
        }
        (Some(_), Some(_)) => {
            return bad_request(
                "invalid_request",
                "authenticate with one method: a Basic header or a client assertion",
            )
        }
        _ => None,
    };
    let Some((client_id, proof)) = proof else {
        return error(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    };
    let meta = meta_of(&req, &state);
    let request = TokenRequest {
        client_id,
        proof,
        scope: form.scope.clone(),
    };
    match api_client::token(&state, &meta, request).await {
        Ok(issued) => {
            let expires_in = (issued.token.expires_at - chrono::Utc::now())
                .num_seconds()
                .max(0);
            let scope = issued
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            HttpResponse::Ok()
                .insert_header((header::PRAGMA, "no-cache"))
                .json(serde_json::json!({
                    "access_token": issued.token.token,
                    "token_type": "Bearer",
                    "expires_in": expires_in,
                    "scope": scope,
                }))
        }
        Err(LimitedError::Refused(ServiceError::Unauthenticated)) => error(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ),
        Err(LimitedError::Refused(ServiceError::Invalid(fields))) => bad_request(
            "invalid_scope",
            &fields
                .first()
                .map_or_else(String::new, |f| f.message.clone()),
        ),
        Err(LimitedError::RateLimited { retry_after }) => HttpResponse::TooManyRequests()
            .insert_header((header::RETRY_AFTER, retry_after.to_string()))
            .json(serde_json::json!({
                "error": "slow_down",
                "error_description": "too many requests from this client; try again later",
            })),
        Err(e) => {
            tracing::error!(error = ?e, "token request failed");
            error(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again shortly",
            )
        }
    }
}

/// The `sub` of a JWT, read before its signature is checked (to know whose key checks it).
fn unverified_subject(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}
