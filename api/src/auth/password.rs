//! argon2id password hashing. Hashing is slow on purpose; callers run it on the blocking pool.

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// The minimum password length.
pub const MIN_LENGTH: usize = 12;
/// The maximum password length: bounds the work an attacker can ask for.
pub const MAX_LENGTH: usize = 256;

/// At most this many hashes are computed at once (one per core): each takes about 19 MiB and
/// a core's worth of time, so a burst of sign-ins queues instead of exhausting memory.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// Runs argon2 work on the blocking pool, a bounded number at a time.
pub async fn off_executor<T, F>(work: F) -> anyhow::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| anyhow::anyhow!("hashing closed: {e}"))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| anyhow::anyhow!("hashing task failed: {e}"))
}

/// Hashes a password as an argon2id PHC string with a fresh random salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// A hash of no one's password, verified against when the account is unknown so that a
/// wrong email and a wrong password take the same time.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("no-such-account-dummy-password").expect("argon2 works"));

/// True when `password` matches `phc`; an unknown account (`None`) never matches but costs
/// the same time.
pub fn verify(password: &str, phc: Option<&str>) -> bool {
    let (phc, real) = match phc {
        Some(p) => (p, true),
        None => (DUMMY_HASH.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

/// Checks a new password; returns the problem in words.
pub fn check_strength(password: &str) -> Result<(), &'static str> {
    let chars = password.chars().count();
    if chars < MIN_LENGTH {
        Err("must be at least 12 characters")
    } else if chars > MAX_LENGTH {
        Err("must be at most 256 characters")
    } else if password.trim().is_empty() {
        Err("must not be blank")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_verifies() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("wrong horse battery", Some(&h)));
        assert!(!verify("no-such-account-dummy-password", None));
    }

    #[test]
    fn strength() {
        assert!(check_strength("short").is_err());
        assert!(check_strength("twelve chars").is_ok());
        assert!(check_strength("            ").is_err());
    }
}
