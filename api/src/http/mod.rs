//! The actix application: routes, limits and middleware.

pub mod client_addr;
pub mod fhir;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod live;
pub mod metrics;
pub mod oauth;
pub mod request_id;
pub mod rest;
pub mod web_client;
pub mod web_session;
pub mod webhooks;

use actix_web::{middleware, web};

use crate::graphql::PatchworkSchema;
use crate::state::AppState;

/// Request bodies larger than this are refused with 413 (a coded JSON error on `/graphql`).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Registers every route; shared by the server and nothing else.
pub fn configure(state: AppState, schema: PatchworkSchema) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state))
            .app_data(web::Data::new(schema))
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/schema.graphql", web::get().to(schema_sdl))
            .route("/metrics", web::get().to(metrics::endpoint))
            .route("/graphiql/{hash}/{name}", web::get().to(graphiql::asset))
            .configure(rest::configure)
            .configure(fhir::configure)
            .configure(web_client::configure)
            .configure(web_session::configure)
            .service(
                web::resource("/graphql")
                    .route(
                        web::get()
                            .guard(actix_web::guard::fn_guard(graphql::wants_websocket))
                            .to(live::subscribe),
                    )
                    .route(web::post().to(graphql::post))
                    .route(web::get().to(graphql::get))
                    .default_service(web::to(graphql::other_method)),
            );
    }
}

/// Cross-origin access for browser clients served from the origins configured in
/// `CORS_ALLOWED_ORIGINS`: the methods and headers the APIs use, and the answers' headers a
/// client reads (request id, trace, rate limits, the next page).
pub fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::HeaderName::from_static("x-request-id"),
            actix_web::http::header::HeaderName::from_static("traceparent"),
            actix_web::http::header::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            "x-request-id",
            "traceparent",
            "ratelimit",
            "ratelimit-policy",
            "retry-after",
            "link",
        ])
        .max_age(600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// Middleware applied to every route, outermost last.
pub fn default_headers() -> middleware::DefaultHeaders {
    middleware::DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Cache-Control", "no-store"))
}

/// A file embedded in the binary, answered with its strong `etag` and `cache_control`, or 304
/// when the request's `If-None-Match` already names it.
pub fn embedded_file(
    req: &actix_web::HttpRequest,
    content_type: &'static str,
    bytes: &'static [u8],
    etag: actix_web::http::header::EntityTag,
    cache_control: &'static str,
) -> actix_web::HttpResponse {
    use actix_web::http::header;
    use actix_web::HttpMessage as _;
    let cache = (header::CACHE_CONTROL, cache_control);
    let unchanged = match req.get_header::<header::IfNoneMatch>() {
        Some(header::IfNoneMatch::Any) => true,
        Some(header::IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&etag)),
        None => false,
    };
    if unchanged {
        return actix_web::HttpResponse::NotModified()
            .insert_header(header::ETag(etag))
            .insert_header(cache)
            .finish();
    }
    actix_web::HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(header::ETag(etag))
        .insert_header(cache)
        .body(web::Bytes::from_static(bytes))
}

/// The published schema, for clients and code generators (introspection may be off).
async fn schema_sdl(schema: web::Data<PatchworkSchema>) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/graphql; charset=utf-8")
        .body(schema.sdl())
}
