//! One-click unsubscribe links (RFC 8058): a token that names a practitioner and is signed
//! with the server's key, so any process can check it and nothing needs storing. It lets its
//! holder do one thing only: turn off the practitioner's optional mail.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use uuid::Uuid;

use crate::config::Config;

/// Bytes of the signature kept in a token: 128 bits.
const TAG_BYTES: usize = 16;

/// Keeps these signatures apart from any other use of the key.
const PURPOSE: &[u8] = b"patchwork unsubscribe v1\0";

fn tag(key: &[u8], practitioner: Uuid) -> [u8; TAG_BYTES] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(PURPOSE);
    mac.update(practitioner.as_bytes());
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; TAG_BYTES];
    out.copy_from_slice(&full[..TAG_BYTES]);
    out
}

/// The token for `practitioner` under the server's signing key.
pub fn token_for(config: &Config, practitioner: Uuid) -> String {
    token(config.jwt_secret.expose_secret().as_bytes(), practitioner)
}

/// The practitioner a token names, when the server's signing key or a key still accepted
/// during a rotation signed it.
pub fn verify(config: &Config, token: &str) -> Option<Uuid> {
    let keys = std::iter::once(&config.jwt_secret)
        .chain(config.jwt_accepted_secrets.iter())
        .map(|k| k.expose_secret().as_bytes());
    verify_with(keys, token)
}

/// The token for `practitioner`: their id and the signature, in URL-safe base64.
pub fn token(key: &[u8], practitioner: Uuid) -> String {
    let mut bytes = practitioner.as_bytes().to_vec();
    bytes.extend_from_slice(&tag(key, practitioner));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The practitioner a token names, when one of `keys` signed it.
fn verify_with<'a>(keys: impl IntoIterator<Item = &'a [u8]>, token: &str) -> Option<Uuid> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .ok()?;
    if bytes.len() != 16 + TAG_BYTES {
        return None;
    }
    let practitioner = Uuid::from_slice(&bytes[..16]).ok()?;
    keys.into_iter().find_map(|key| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
        mac.update(PURPOSE);
        mac.update(practitioner.as_bytes());
        mac.verify_truncated_left(&bytes[16..]).ok()?;
        Some(practitioner)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_practitioner_and_nothing_else_passes() {
        let p = Uuid::now_v7();
        let t = token(b"key one", p);
        assert_eq!(verify_with([&b"key one"[..]], &t), Some(p));
        assert_eq!(verify_with([&b"old"[..], &b"key one"[..]], &t), Some(p));
        assert_eq!(verify_with([&b"key two"[..]], &t), None);
        // Another practitioner's id with this signature fails.
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&t)
            .unwrap();
        bytes[0] ^= 1;
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(verify_with([&b"key one"[..]], &forged), None);
        assert_eq!(verify_with([&b"key one"[..]], "not a token"), None);
        assert_eq!(verify_with([&b"key one"[..]], &t[..t.len() - 2]), None);
    }
}
