//! Access tokens are short-lived HS256 JWTs; refresh tokens are random strings stored only as
//! SHA-256 digests.
//!
//! Every access token names its signing key in the `kid` header. The current key signs; other
//! accepted keys only verify, so a key can be rotated in without rejecting tokens mid-way: first
//! every process accepts the new key, then it becomes the signing key and the old one is only
//! accepted, and once the access-token lifetime has passed the old one is dropped.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::domain::Role;

/// The audience every access token is minted for.
pub const AUDIENCE: &str = "patchwork-api";

/// The audience of API clients' access tokens: the vendor API accepts only these, and the
/// GraphQL API never does.
pub const CLIENT_AUDIENCE: &str = "patchwork-vendor-api";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub role: Role,
    pub agency: Uuid,
}

/// The claims of an API client's access token: the client acts as `agency` within `scope`
/// (space-separated, as OAuth writes scopes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientClaims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub agency: Uuid,
    pub scope: String,
}

/// A key's public name: derived from the secret, so every process agrees on it without
/// configuration, and revealing nothing usable about the secret.
pub fn key_id(secret: &str) -> String {
    let digest = Sha256::digest(format!("patchwork access-token key id\0{secret}").as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Signs and verifies access tokens. Keys are parsed once, at start.
#[derive(Clone)]
pub struct TokenKeys {
    kid: String,
    encoding: EncodingKey,
    /// Every key a token may be signed with, by key id; the signing key among them.
    decoding: Vec<(String, DecodingKey)>,
    validation: Validation,
    client_validation: Validation,
    issuer: String,
    ttl: Duration,
}

/// A freshly minted access token.
pub struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl TokenKeys {
    /// `secret` signs; `accepted` are further keys that only verify (mid-rotation).
    pub fn new(
        secret: &SecretString,
        accepted: &[SecretString],
        issuer: &str,
        ttl: Duration,
    ) -> TokenKeys {
        let bytes = secret.expose_secret().as_bytes();
        let decoding = std::iter::once(secret)
            .chain(accepted)
            .map(|s| {
                let s = s.expose_secret();
                (key_id(s), DecodingKey::from_secret(s.as_bytes()))
            })
            .collect();
        // Pinned to HS256: a token naming any other algorithm, `none` included, is refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        let mut client_validation = validation.clone();
        client_validation.set_audience(&[CLIENT_AUDIENCE]);
        TokenKeys {
            kid: key_id(secret.expose_secret()),
            encoding: EncodingKey::from_secret(bytes),
            decoding,
            validation,
            client_validation,
            issuer: issuer.to_owned(),
            ttl,
        }
    }

    /// Mints an access token for a practitioner.
    pub fn issue(
        &self,
        practitioner: Uuid,
        agency: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> anyhow::Result<AccessToken> {
        let expires_at = now + chrono::Duration::from_std(self.ttl)?;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: practitioner,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::new_v4(),
            role,
            agency,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        let token = encode(&header, &claims, &self.encoding)?;
        Ok(AccessToken { token, expires_at })
    }

    /// Verifies key id, signature, algorithm, issuer, audience and expiry. A token without a
    /// `kid`, or naming a key we do not hold, is refused.
    /// An access token for the API client `client` of `agency`, carrying `scope`.
    pub fn issue_client(
        &self,
        client: Uuid,
        agency: Uuid,
        scope: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<AccessToken> {
        let expires_at = now + chrono::Duration::from_std(self.ttl)?;
        let claims = ClientClaims {
            iss: self.issuer.clone(),
            aud: CLIENT_AUDIENCE.to_owned(),
            sub: client,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::new_v4(),
            agency,
            scope: scope.to_owned(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        let token = encode(&header, &claims, &self.encoding)?;
        Ok(AccessToken { token, expires_at })
    }

    /// The claims of an API client's access token, if it is one of ours and unexpired.
    pub fn verify_client(&self, token: &str) -> Option<ClientClaims> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let (_, key) = self.decoding.iter().find(|(id, _)| *id == kid)?;
        decode::<ClientClaims>(token, key, &self.client_validation)
            .map(|data| data.claims)
            .ok()
    }

    /// The issuer every token names: the server's public URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn verify(&self, token: &str) -> Option<Claims> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        let (_, key) = self.decoding.iter().find(|(id, _)| *id == kid)?;
        decode::<Claims>(token, key, &self.validation)
            .map(|data| data.claims)
            .ok()
    }
}

/// A new refresh token: the text handed to the client and the digest kept in the database.
pub struct RefreshSecret {
    pub token: String,
    pub digest: Vec<u8>,
}

/// 256 random bits, base64url-encoded.
pub fn new_refresh_token() -> RefreshSecret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let digest = refresh_digest(&token);
    RefreshSecret { token, digest }
}

/// `successor` sealed with `token`: XORed with a pad that only `token` yields. Each token is
/// rotated once, so each pad seals one successor; without `token` (never stored) the sealed
/// bytes tell nothing.
pub fn seal_successor(token: &str, successor: &str) -> Vec<u8> {
    let pad = successor_pad(token);
    match URL_SAFE_NO_PAD.decode(successor) {
        Ok(bytes) if bytes.len() == pad.len() => {
            bytes.iter().zip(pad.iter()).map(|(b, p)| b ^ p).collect()
        }
        _ => Vec::new(),
    }
}

/// The successor sealed by [`seal_successor`], given the same `token`.
pub fn unseal_successor(token: &str, sealed: &[u8]) -> Option<String> {
    let pad = successor_pad(token);
    (sealed.len() == pad.len()).then(|| {
        let bytes: Vec<u8> = sealed.iter().zip(pad.iter()).map(|(b, p)| b ^ p).collect();
        URL_SAFE_NO_PAD.encode(bytes)
    })
}

fn successor_pad(token: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"patchwork refresh successor\0");
    hasher.update(token.as_bytes());
    hasher.finalize().into()
}

/// The stored form of a refresh token.
pub fn refresh_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(
            &SecretString::from("k".repeat(40)),
            &[],
            "https://patchwork.test",
            Duration::from_secs(900),
        )
    }

    #[test]
    fn client_tokens_and_practitioner_tokens_are_not_interchangeable() {
        let k = keys();
        let now = Utc::now();
        let client = k
            .issue_client(Uuid::new_v4(), Uuid::new_v4(), "teams:read", now)
            .unwrap();
        let person = k
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Practitioner, now)
            .unwrap();
        assert_eq!(k.verify_client(&client.token).unwrap().scope, "teams:read");
        assert!(k.verify(&client.token).is_none());
        assert!(k.verify_client(&person.token).is_none());
    }

    #[test]
    fn rotation_accepts_both_keys_but_signs_with_the_new_one() {
        let old = SecretString::from("o".repeat(40));
        let new = SecretString::from("n".repeat(40));
        let before = TokenKeys::new(
            &old,
            &[],
            "https://patchwork.test",
            Duration::from_secs(900),
        );
        let during = TokenKeys::new(
            &new,
            std::slice::from_ref(&old),
            "https://patchwork.test",
            Duration::from_secs(900),
        );
        let after = TokenKeys::new(
            &new,
            &[],
            "https://patchwork.test",
            Duration::from_secs(900),
        );
        let issue = |k: &TokenKeys| {
            k.issue(
                Uuid::new_v4(),
                Uuid::new_v4(),
                Role::Practitioner,
                Utc::now(),
            )
            .unwrap()
            .token
        };
        let old_token = issue(&before);
        let new_token = issue(&during);
        assert!(during.verify(&old_token).is_some());
        assert!(during.verify(&new_token).is_some());
        assert!(after.verify(&new_token).is_some());
        assert!(after.verify(&old_token).is_none(), "retired key");
        let header = jsonwebtoken::decode_header(&new_token).unwrap();
        assert_eq!(
            header.kid.as_deref(),
            Some(key_id("n".repeat(40).as_str()).as_str())
        );
    }

    #[test]
    fn round_trip() {
        let keys = keys();
        let id = Uuid::new_v4();
        let t = keys
            .issue(id, Uuid::new_v4(), Role::Practitioner, Utc::now())
            .unwrap();
        let claims = keys.verify(&t.token).unwrap();
        assert_eq!(claims.sub, id);
        assert_eq!(claims.role, Role::Practitioner);
    }

    #[test]
    fn refuses_expired_and_foreign() {
        let keys = keys();
        let old = Utc::now() - chrono::Duration::hours(1);
        let t = keys
            .issue(Uuid::new_v4(), Uuid::new_v4(), Role::Practitioner, old)
            .unwrap();
        assert!(keys.verify(&t.token).is_none());

        let other = TokenKeys::new(
            &SecretString::from("z".repeat(40)),
            &[],
            "https://patchwork.test",
            Duration::from_secs(900),
        );
        let t = other
            .issue(
                Uuid::new_v4(),
                Uuid::new_v4(),
                Role::Practitioner,
                Utc::now(),
            )
            .unwrap();
        assert!(keys.verify(&t.token).is_none());
    }

    #[test]
    fn a_successor_unseals_only_with_the_token_that_sealed_it() {
        let (old, next) = (new_refresh_token().token, new_refresh_token().token);
        let sealed = seal_successor(&old, &next);
        assert_eq!(sealed.len(), 32);
        assert_eq!(
            unseal_successor(&old, &sealed).as_deref(),
            Some(next.as_str())
        );
        let other = new_refresh_token().token;
        assert_ne!(
            unseal_successor(&other, &sealed).as_deref(),
            Some(next.as_str())
        );
        assert_eq!(unseal_successor(&old, &sealed[1..]), None);
    }

    #[test]
    fn refresh_tokens_differ() {
        let a = new_refresh_token();
        let b = new_refresh_token();
        assert_ne!(a.token, b.token);
        assert_eq!(a.digest, refresh_digest(&a.token));
        assert_eq!(a.digest.len(), 32);
    }
}
