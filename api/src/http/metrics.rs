//! `GET /metrics`, for Prometheus.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::state::AppState;

/// `GET /metrics`. When `METRICS_TOKEN` is set, a matching bearer token is required.
pub async fn endpoint(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(expected) = &state.config.metrics_token {
        use secrecy::ExposeSecret;
        let given = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let ok = given.is_some_and(|g| {
            use sha2::{Digest, Sha256};
            // Compare digests so the comparison takes the same time wherever they differ.
            Sha256::digest(g.as_bytes()) == Sha256::digest(expected.expose_secret().as_bytes())
        });
        if !ok {
            return HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer"))
                .finish();
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::current(&state).await)
}
