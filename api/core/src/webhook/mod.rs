//! Webhooks out (Standard Webhooks): signing, the guard on where requests may go, and the
//! sending itself. What to send, to whom, and when is decided in `service::webhook`; the
//! delivery loop is [`worker`].

pub mod worker;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use ipnet::IpNet;
use sha2::Sha256;

/// How long a host name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The prefix of every signing secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Makes sure rustls has its cryptography (ring, as lettre uses) before any HTTPS client is
/// built; once per process.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The signature of a delivery as Standard Webhooks defines it: `v1,` and the base64
/// HMAC-SHA256 of `id.timestamp.body` under the secret's key. None for a malformed secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Where webhooks may not go unless configuration names the network: this host, private and
/// shared ranges, link-local (cloud metadata), multicast and the unspecified address.
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064 && v6.segments()[1] == 0xff9b
        }
    }
}

/// The guard on outbound requests: an address is refused when [`forbidden`] and not in a
/// network configuration allows.
#[derive(Clone, Debug, Default)]
pub struct Guard {
    pub allowed: Vec<IpNet>,
}

impl Guard {
    pub fn permits(&self, ip: IpAddr) -> bool {
        !forbidden(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }
}

/// Why an endpoint cannot be used, in words for its admin.
#[derive(Debug, PartialEq, Eq)]
pub struct Unusable(pub String);

/// Checks an endpoint URL's form: HTTPS (plain HTTP only to a network configuration allows),
/// a host, no credentials or fragment. Returns the URL and its host.
pub fn check_url(raw: &str, guard: &Guard) -> Result<url::Url, Unusable> {
    let url = url::Url::parse(raw.trim()).map_err(|_| Unusable("is not a URL".into()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Unusable("must not hold credentials".into()));
    }
    if url.fragment().is_some() {
        return Err(Unusable("must not have a fragment".into()));
    }
    let host = url.host().ok_or_else(|| Unusable("has no host".into()))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let allowed_ip = match host {
                url::Host::Ipv4(ip) => !guard.allowed.is_empty() && guard.permits(ip.into()),
                url::Host::Ipv6(ip) => !guard.allowed.is_empty() && guard.permits(ip.into()),
                url::Host::Domain(_) => false,
            };
            if !allowed_ip {
                return Err(Unusable("must be an https:// URL".into()));
            }
        }
        _ => return Err(Unusable("must be an https:// URL".into())),
    }
    Ok(url)
}

/// The addresses `url`'s host resolves to, all of them permitted; refused if any is not (a
/// name that also points inside the network is not used at all).
pub async fn resolve(url: &url::Url, guard: &Guard) -> Result<Vec<SocketAddr>, Unusable> {
    let host = url
        .host_str()
        .ok_or_else(|| Unusable("has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Unusable("has no port".into()))?;
    let lookup = tokio::net::lookup_host((host.as_str(), port));
    let addrs: Vec<SocketAddr> = tokio::time::timeout(RESOLVE_TIMEOUT, lookup)
        .await
        .map_err(|_| Unusable(format!("the host {host} did not resolve in time")))?
        .map_err(|_| Unusable(format!("the host {host} does not resolve")))?
        .collect();
    if addrs.is_empty() {
        return Err(Unusable(format!("the host {host} does not resolve")));
    }
    if let Some(bad) = addrs.iter().find(|a| !guard.permits(a.ip())) {
        return Err(Unusable(format!(
            "the host {host} resolves to {}, a private, loopback or link-local address",
            bad.ip()
        )));
    }
    Ok(addrs)
}

/// One delivery to send.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub id: &'a str,
    pub timestamp: i64,
    /// Every signature to send (two during a secret rotation), space-separated.
    pub signatures: String,
    pub body: &'a str,
}

/// Sends one delivery: to the addresses checked here (so a name cannot be re-pointed between
/// the check and the connection), following no redirect, within `timeout` in all. Ok for a
/// 2xx answer; otherwise what went wrong, for the delivery's record.
pub async fn send(out: &Outgoing<'_>, guard: &Guard, timeout: Duration) -> Result<(), String> {
    install_tls_provider();
    let url = check_url(out.url, guard).map_err(|u| u.0)?;
    let addrs = resolve(&url, guard).await.map_err(|u| u.0)?;
    let host = url.host_str().unwrap_or_default().to_owned();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .user_agent(concat!("Patchwork-Webhooks/", env!("CARGO_PKG_VERSION")))
        .resolve_to_addrs(&host, &addrs)
        .build()
        .map_err(|e| format!("client: {e}"))?;
    let res = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", out.id)
        .header("webhook-timestamp", out.timestamp.to_string())
        .header("webhook-signature", &out.signatures)
        .body(out.body.to_owned())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else if e.is_connect() {
                "could not connect".to_owned()
            } else {
                "the request failed".to_owned()
            }
        })?;
    let status = res.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_reference() {
        // The example in the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let signed = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(sign("not-a-secret", "id", 1, "{}"), None);
        let fresh = new_secret();
        assert!(fresh.starts_with(SECRET_PREFIX));
        assert!(sign(&fresh, "id", 1, "{}").is_some());
    }

    #[test]
    fn inside_addresses_are_refused_unless_configuration_allows_them() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.215.14", "2606:4700::1111"] {
            assert!(!forbidden(ip.parse().unwrap()), "{ip}");
        }
        let guard = Guard {
            allowed: vec!["127.0.0.0/8".parse().unwrap()],
        };
        assert!(guard.permits("127.0.0.1".parse().unwrap()));
        assert!(!guard.permits("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn endpoints_are_https_without_credentials() {
        let none = Guard::default();
        let loopback = Guard {
            allowed: vec!["127.0.0.0/8".parse().unwrap()],
        };
        assert!(check_url("https://hooks.example/patchwork", &none).is_ok());
        assert!(check_url("http://hooks.example/patchwork", &none).is_err());
        assert!(check_url("http://127.0.0.1:9000/hook", &none).is_err());
        assert!(check_url("http://127.0.0.1:9000/hook", &loopback).is_ok());
        assert!(check_url("https://user:pw@hooks.example/", &none).is_err());
        assert!(check_url("ftp://hooks.example/", &none).is_err());
        assert!(check_url("https://hooks.example/#x", &none).is_err());
    }
}
