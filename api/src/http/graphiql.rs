//! GraphiQL for development, served from the binary so that it works with no internet: our page
//! and init script, and the vendored GraphiQL and React builds (`api/assets/graphiql/`).
//!
//! Each asset is served at `/graphiql/<hash>/<name>`, the hash being its content's, so a
//! browser may keep it for a year and a new build names new paths. The page is answered fresh
//! on `GET /graphql` with a Content-Security-Policy that allows scripts and styles from this
//! server only, plus, for the one `<style>` element GraphiQL's dialogs add, a per-page nonce.
//! Development only: in production neither the page nor the assets are served.

use std::sync::LazyLock;

use actix_web::http::header::{self, ContentType, EntityTag};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// One file served under `/graphiql/`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// An asset from `api/assets/graphiql/` (ours) or its `vendor/` directory (npm's).
macro_rules! asset {
    ($dir:literal, $name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../../assets/graphiql/", $dir, $name)),
        }
    };
}

static ASSETS: [Asset; 6] = [
    asset!("vendor/", "react.production.min.js", JS),
    asset!("vendor/", "react-dom.production.min.js", JS),
    asset!("vendor/", "graphiql.min.js", JS),
    asset!("vendor/", "graphiql.min.css", CSS),
    asset!("", "init.js", JS),
    asset!("", "page.css", CSS),
];

/// The page; `{{name}}` stands for an asset's path and `{{style-nonce}}` for the page's nonce.
const PAGE: &str = include_str!("../../assets/graphiql/index.html");

/// Long enough that a guessed path is as good as none, short enough to read in a URL.
const HASH_HEX_DIGITS: usize = 16;

/// An asset and the hash of its content that names it.
struct Hashed {
    asset: &'static Asset,
    hash: String,
}

impl Hashed {
    fn path(&self) -> String {
        format!("/graphiql/{}/{}", self.hash, self.asset.name)
    }

    fn etag(&self) -> EntityTag {
        EntityTag::new_strong(self.hash.clone())
    }
}

/// Hashed once, on first use (about 1.6 MB).
static HASHED: LazyLock<Vec<Hashed>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = Sha256::digest(asset.bytes);
            let mut hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            hash.truncate(HASH_HEX_DIGITS);
            Hashed { asset, hash }
        })
        .collect()
});

/// The Content-Security-Policy of the page. GraphiQL's stylesheet carries its fonts and a few
/// images as `data:` URLs; everything else comes from this server. Queries use `fetch` and
/// subscriptions a WebSocket to this server, both allowed by `connect-src 'self'`.
fn policy(style_nonce: &str) -> String {
    [
        "default-src 'self'".to_owned(),
        "script-src 'self'".to_owned(),
        format!("style-src 'self' 'nonce-{style_nonce}'"),
        "img-src 'self' data:".to_owned(),
        "font-src 'self' data:".to_owned(),
        "connect-src 'self'".to_owned(),
        "object-src 'none'".to_owned(),
        "base-uri 'none'".to_owned(),
        "form-action 'none'".to_owned(),
        "frame-ancestors 'none'".to_owned(),
    ]
    .join("; ")
}

/// A fresh nonce: 16 random bytes in URL-safe base64 (CSP allows `-` and `_`; no `/` that
/// could read as part of a URL).
fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The page with every asset's hashed path and the nonce filled in.
fn render(style_nonce: &str) -> String {
    let mut page = PAGE.replace("{{style-nonce}}", style_nonce);
    for hashed in HASHED.iter() {
        page = page.replace(&format!("{{{{{}}}}}", hashed.asset.name), &hashed.path());
    }
    page
}

/// The GraphiQL page (`GET /graphql` without a query, in development).
pub fn page() -> HttpResponse {
    let nonce = new_nonce();
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CONTENT_SECURITY_POLICY, policy(&nonce)))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(render(&nonce))
}

/// `GET /graphiql/{hash}/{name}`: an asset, when both its name and its current hash match.
pub async fn asset(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !state.config.is_development() {
        return HttpResponse::NotFound().finish();
    }
    let (hash, name) = path.into_inner();
    let Some(found) = HASHED
        .iter()
        .find(|h| h.hash == hash && h.asset.name == name)
    else {
        return HttpResponse::NotFound().finish();
    };
    super::embedded_file(
        &req,
        found.asset.content_type,
        found.asset.bytes,
        found.etag(),
        "public, max-age=31536000, immutable",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendored files are the ones `scripts/vendor_graphiql.sh` fetched: each file listed in
    /// `vendor/SHA256SUMS` has that hash, and every vendored asset is listed.
    #[test]
    fn vendored_files_match_their_sums() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/graphiql/vendor");
        let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("SHA256SUMS");
        let mut listed = Vec::new();
        for line in sums.lines() {
            let (sum, name) = line.split_once("  ").expect("`<sha256>  <name>` lines");
            let bytes = std::fs::read(dir.join(name)).expect("a listed file");
            let actual: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(actual, sum, "{name} differs from vendor/SHA256SUMS");
            listed.push(name);
        }
        for asset in &ASSETS {
            let vendored = dir.join(asset.name).exists();
            assert_eq!(
                vendored,
                listed.contains(&asset.name),
                "{} is vendored but not listed, or listed but not vendored",
                asset.name
            );
        }
    }

    #[test]
    fn the_page_names_every_asset_by_its_hash_and_nothing_else() {
        let page = render("bm9uY2U=");
        assert!(!page.contains("{{"), "a placeholder is left: {page}");
        assert!(page.contains(r#"data-style-nonce="bm9uY2U=""#));
        for hashed in HASHED.iter() {
            assert!(
                page.contains(&hashed.path()),
                "{} is missing",
                hashed.path()
            );
        }
        assert!(!page.contains("http:") && !page.contains("https:") && !page.contains("//"));
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_eval() {
        let policy = policy("bm9uY2U=");
        assert!(!policy.contains("unsafe"), "{policy}");
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(
            policy.contains("style-src 'self' 'nonce-bm9uY2U=';"),
            "{policy}"
        );
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(new_nonce(), new_nonce());
    }
}
