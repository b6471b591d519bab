//! Sessions for the web client in the binary. The refresh token never reaches the page's
//! script: it lives in an `HttpOnly`, `Secure`, `SameSite=Strict` cookie sent only to
//! `/web/session`, and the page holds the short-lived access token in memory. Each endpoint
//! takes only a JSON request (a form on another site cannot send one), and the cookie is
//! never sent with a request from another site.
//!
//! - `POST /web/session` `{"email", "password"}`: signs in.
//! - `POST /web/session/refresh`: a new access token, and a new refresh cookie.
//! - `POST /web/session/logout`: ends the session and clears the cookie.
//!
//! A session answers `{"accessToken", "expiresAt"}`; a refusal is an RFC 9457 problem with
//! the contract's `code`.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::graphql::error::code;
use crate::http::graphql::meta_of;
use crate::http::rest::{problem, refusal};
use crate::service::error::{FieldError, LoginError, ServiceError};
use crate::service::session::{self, Session};
use crate::state::AppState;

/// The cookie that carries the refresh token.
pub const COOKIE: &str = "patchwork_refresh";
/// The only path the cookie is sent to.
pub const PATH: &str = "/web/session";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::post().to(sign_in))
        .route("/web/session/refresh", web::post().to(refresh))
        .route("/web/session/logout", web::post().to(logout));
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn not_json() -> HttpResponse {
    problem(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        code::BAD_USER_INPUT,
        "send Content-Type: application/json",
        serde_json::Value::Null,
    )
}

fn cookie(value: String, max_age: time::Duration) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path(PATH)
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .finish()
}

/// A session's answer: the access token in the body, the refresh token in the cookie.
fn opened(state: &AppState, session: Session) -> HttpResponse {
    let ttl = time::Duration::seconds(state.config.refresh_token_ttl.as_secs() as i64);
    HttpResponse::Ok()
        .cookie(cookie(session.refresh_token, ttl))
        .json(serde_json::json!({
            "accessToken": session.access.token,
            "expiresAt": session.access.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }))
}

/// A refusal; a refused session also loses its cookie.
fn refused(err: ServiceError) -> HttpResponse {
    let mut res = match err {
        ServiceError::Unauthenticated => problem(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHENTICATED,
            "wrong email or password, or the session has ended; sign in again",
            serde_json::Value::Null,
        ),
        other => refusal(other),
    };
    if res.status() == StatusCode::UNAUTHORIZED {
        let _ = res.add_removal_cookie(&cookie(String::new(), time::Duration::ZERO));
    }
    res
}

async fn sign_in(req: HttpRequest, state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    if !is_json(&req) {
        return not_json();
    }
    let Ok(credentials) = serde_json::from_slice::<Credentials>(&body) else {
        return refusal(ServiceError::Invalid(vec![
            FieldError::new("email", "is required"),
            FieldError::new("password", "is required"),
        ]));
    };
    match session::login(
        &state,
        &meta_of(&req, &state),
        credentials.email,
        credentials.password,
    )
    .await
    {
        Ok(session) => opened(&state, session),
        Err(LoginError::WrongCredentials) => refused(ServiceError::Unauthenticated),
        Err(LoginError::Refused(e)) => refused(e),
        Err(limited) => refusal(limited),
    }
}

async fn refresh(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !is_json(&req) {
        return not_json();
    }
    let Some(token) = req.cookie(COOKIE).map(|c| c.value().to_owned()) else {
        return refused(ServiceError::Unauthenticated);
    };
    match session::refresh(&state, &meta_of(&req, &state), token).await {
        Ok(session) => opened(&state, session),
        Err(e) => refused(e),
    }
}

async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !is_json(&req) {
        return not_json();
    }
    if let Some(token) = req.cookie(COOKIE).map(|c| c.value().to_owned()) {
        if let Err(e) = session::logout(&state, token).await {
            return refusal(e);
        }
    }
    let mut res = HttpResponse::NoContent().finish();
    let _ = res.add_removal_cookie(&cookie(String::new(), time::Duration::ZERO));
    res
}
