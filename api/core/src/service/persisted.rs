//! Persisted queries (Apollo's protocol): documents known by their SHA-256, in PostgreSQL so
//! that every process knows what any process learnt. Clients signed in may teach new ones
//! (automatic persisted queries); with `PERSISTED_QUERIES=only`, only operations an operator
//! registered run at all.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::db::persisted_queries;
use crate::service::error::ServiceResult;
use crate::state::AppState;

/// A document's hash as the protocol writes it: lower-case hex SHA-256 of its text.
pub fn hash_of(document: &str) -> String {
    Sha256::digest(document.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `hash` is written as the protocol writes one.
pub fn well_formed(hash: &str) -> bool {
    hash.len() == 64
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The documents known for `hashes` (registered ones only, when `registered_only`).
pub async fn known(
    state: &AppState,
    hashes: Vec<String>,
    registered_only: bool,
) -> ServiceResult<HashMap<String, String>> {
    if hashes.is_empty() {
        return Ok(HashMap::new());
    }
    crate::db::run(&state.pool, move |conn| {
        Ok(persisted_queries::known(conn, &hashes, registered_only)?
            .into_iter()
            .collect())
    })
    .await
}

/// Remembers documents by hash; `registered` puts them on the allow-list.
pub async fn remember(
    state: &AppState,
    documents: Vec<(String, String)>,
    registered: bool,
) -> ServiceResult<usize> {
    if documents.is_empty() {
        return Ok(0);
    }
    crate::db::run(&state.pool, move |conn| {
        Ok(persisted_queries::remember(conn, &documents, registered)?)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lower_case_hex_sha256() {
        let h = hash_of("{ me { id } }");
        assert!(well_formed(&h));
        assert_eq!(h, hash_of("{ me { id } }"));
        assert_ne!(h, hash_of("{ me { id }}"));
        assert!(!well_formed(&h.to_uppercase()));
        assert!(!well_formed("abc"));
    }
}
