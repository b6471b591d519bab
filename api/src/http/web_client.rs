//! The web client, served from the binary (`api/assets/web/`): the page for every screen a
//! mail links to, its script, style, manifest and service worker, all from this server under
//! a strict Content-Security-Policy, so it works in a council network with no internet. The
//! client speaks only the public API (GraphQL and `/web/session`).
//!
//! Also here: `POST /unsubscribe?token=...`, the one-click unsubscribe (RFC 8058) that mail
//! clients call from a message's `List-Unsubscribe` header. `GET` on that link only shows the
//! page with a button: a link scanner that opens it changes nothing.

use std::sync::LazyLock;

use actix_web::http::header::{self, ContentType, EntityTag};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::graphql::error::code;
use crate::http::graphql::meta_of;
use crate::http::rest::{problem, refusal};
use crate::service::notification;
use crate::state::AppState;

/// One file of the client.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../../assets/web/", $name)),
        }
    };
}

static ASSETS: [Asset; 5] = [
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("manifest.webmanifest", "application/manifest+json"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("sw.js", "text/javascript; charset=utf-8"),
];

/// The page every screen starts from.
const SHELL: &str = include_str!("../../assets/web/index.html");

/// Each asset's strong ETag, from its content.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.bytes);
            digest[..12].iter().map(|b| format!("{b:02x}")).collect()
        })
        .collect()
});

/// Paths that open the client; the client decides the screen from the path.
const SCREENS: &[&str] = &[
    "/",
    "/sign-in",
    "/set-password",
    "/tasks",
    "/search",
    "/preferences",
    "/unsubscribe",
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    for screen in SCREENS {
        cfg.route(screen, web::get().to(shell));
    }
    cfg.route("/children/{rest:.*}", web::get().to(shell))
        .route("/unsubscribe", web::post().to(unsubscribe))
        .route("/web/{name}", web::get().to(asset))
        .route("/sw.js", web::get().to(service_worker));
}

/// The page's policy: everything from this server, nothing inline, no frames.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

fn with_page_headers(mut res: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    res.insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=()",
        ));
    res
}

/// `GET` on any screen: the shell, never cached (a link's token stays out of caches).
async fn shell() -> HttpResponse {
    with_page_headers(HttpResponse::Ok())
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(SHELL)
}

/// Revalidated on each use: a new build's client is picked up at once.
fn serve(req: &HttpRequest, index: usize) -> HttpResponse {
    let found = &ASSETS[index];
    let etag = EntityTag::new_strong(ETAGS[index].clone());
    super::embedded_file(req, found.content_type, found.bytes, etag, "no-cache")
}

/// `GET /web/{name}`: one of the client's files (the service worker lives at `/sw.js`).
async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    match ASSETS
        .iter()
        .position(|a| a.name == name.as_str() && a.name != "sw.js")
    {
        Some(index) => serve(&req, index),
        None => HttpResponse::NotFound().finish(),
    }
}

/// `GET /sw.js`: the service worker, at the root so that it may answer for every screen.
async fn service_worker(req: HttpRequest) -> HttpResponse {
    let index = ASSETS
        .iter()
        .position(|a| a.name == "sw.js")
        .expect("the service worker is embedded");
    serve(&req, index)
}

#[derive(Deserialize)]
struct UnsubscribeQuery {
    token: Option<String>,
}

/// `POST /unsubscribe?token=...`: turns off the practitioner's optional mail. Mail clients
/// send `List-Unsubscribe=One-Click` as a form; the client's button sends the same.
async fn unsubscribe(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<UnsubscribeQuery>,
) -> HttpResponse {
    let Some(token) = query.token.as_deref().filter(|t| !t.is_empty()) else {
        return problem(
            StatusCode::BAD_REQUEST,
            code::BAD_USER_INPUT,
            "token: is required",
            serde_json::json!([{ "field": "token", "message": "is required" }]),
        );
    };
    match notification::unsubscribe(&state, &meta_of(&req, &state), token).await {
        Ok(()) => HttpResponse::Ok().json(serde_json::json!({ "unsubscribed": true })),
        Err(e) => refusal(e),
    }
}
