//! Retry-safe creation (IETF httpapi idempotency-key draft): a call made again with the same
//! key and the same request is answered as it was the first time, without doing the work
//! again, by whichever process receives it, for 24 hours; the same key with another request is
//! refused. The key is claimed, the work done and the answer kept in one transaction, so a
//! crash leaves no half-used key and a concurrent retry waits for the first and replays it.

use chrono::{Duration, Utc};
use diesel::PgConnection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::idempotency_keys;
use crate::service::error::{ServiceError, ServiceResult};

/// How long a key's answer is kept.
pub const KEPT_FOR: Duration = Duration::hours(24);

/// The longest key accepted.
pub const MAX_KEY_LEN: usize = 255;

/// A client's key for one request.
#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    client: Uuid,
    key: String,
    fingerprint: [u8; 32],
}

impl IdempotencyKey {
    /// The key `key` of `client` for the request `method path` with `body`. `field` names the
    /// header in errors.
    pub fn new(
        field: &str,
        client: Uuid,
        key: &str,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> ServiceResult<IdempotencyKey> {
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(ServiceError::invalid(
                field,
                format!("must be 1 to {MAX_KEY_LEN} characters"),
            ));
        }
        let mut hash = Sha256::new();
        for part in [method.as_bytes(), path.as_bytes(), body] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        Ok(IdempotencyKey {
            client,
            key: key.to_owned(),
            fingerprint: hash.finalize().into(),
        })
    }
}

/// An answer: done now, or replayed from the first call with the key.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// The body, byte for byte as first sent.
    pub body: String,
    pub replayed: bool,
}

/// Within the caller's transaction: replays the answer kept for `key`, or does `work`, keeps
/// the answer `render` makes of its outcome, and returns it. Work that fails keeps nothing, so
/// its retry does the work again.
pub fn once<T>(
    conn: &mut PgConnection,
    field: &str,
    key: &IdempotencyKey,
    work: impl FnOnce(&mut PgConnection) -> ServiceResult<T>,
    render: impl FnOnce(&T) -> (u16, String),
) -> ServiceResult<Answer> {
    idempotency_keys::forget_if_older(conn, key.client, &key.key, Utc::now() - KEPT_FOR)?;
    if !idempotency_keys::claim(conn, key.client, &key.key, &key.fingerprint)? {
        let kept = idempotency_keys::get(conn, key.client, &key.key)?.ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("an idempotency key vanished"))
        })?;
        if kept.fingerprint != key.fingerprint {
            return Err(ServiceError::invalid(
                field,
                "was used with another request; use a new key for a new request",
            ));
        }
        return Ok(Answer {
            status: u16::try_from(kept.status).unwrap_or(500),
            body: kept.body,
            replayed: true,
        });
    }
    let done = work(conn)?;
    let (status, body) = render(&done);
    idempotency_keys::keep(conn, key.client, &key.key, status as i16, &body)?;
    Ok(Answer {
        status,
        body,
        replayed: false,
    })
}

/// How a transport renders an operation's outcome as the answer (status, body) it keeps.
pub type Render<T> = Box<dyn FnOnce(&T) -> (u16, String) + Send>;

/// What makes an operation retry-safe: the key, the header it came in (for errors), and how
/// the transport renders the operation's outcome as the answer it keeps.
pub struct Retry<T> {
    pub field: &'static str,
    pub key: IdempotencyKey,
    pub render: Render<T>,
}

/// An operation's outcome: done by this call (no key), or the answer kept for its key.
pub enum Outcome<T> {
    Done(T),
    Answered(Answer),
}

impl<T> Outcome<T> {
    /// The outcome of a call made without a key.
    pub fn done(self) -> ServiceResult<T> {
        match self {
            Outcome::Done(t) => Ok(t),
            Outcome::Answered(_) => Err(ServiceError::Internal(anyhow::anyhow!(
                "an answer kept for a key where none was given"
            ))),
        }
    }
}

/// Within the caller's transaction: `work` as it is without a key, or [`once`] with one.
pub fn maybe_once<T>(
    conn: &mut PgConnection,
    retry: Option<Retry<T>>,
    work: impl FnOnce(&mut PgConnection) -> ServiceResult<T>,
) -> ServiceResult<Outcome<T>> {
    match retry {
        None => work(conn).map(Outcome::Done),
        Some(r) => once(conn, r.field, &r.key, work, r.render).map(Outcome::Answered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_tells_requests_apart_by_method_path_and_body() {
        let client = Uuid::new_v4();
        let of = |m: &str, p: &str, b: &[u8]| {
            IdempotencyKey::new("Idempotency-Key", client, "k-1", m, p, b)
                .unwrap()
                .fingerprint
        };
        let base = of("POST", "/a", b"{}");
        assert_eq!(base, of("POST", "/a", b"{}"));
        assert_ne!(base, of("POST", "/b", b"{}"));
        assert_ne!(base, of("PUT", "/a", b"{}"));
        assert_ne!(base, of("POST", "/a", b"{ }"));
        // Parts are length-prefixed: moving bytes between them is another request.
        assert_ne!(of("POST", "/a{", b"}"), of("POST", "/a", b"{}"));
        assert!(IdempotencyKey::new("h", client, "", "POST", "/a", b"").is_err());
        assert!(IdempotencyKey::new("h", client, &"k".repeat(256), "POST", "/a", b"").is_err());
    }
}
