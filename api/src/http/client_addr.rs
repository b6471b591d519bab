//! The client's address, for per-address sign-in limits and the audit log. Behind a reverse
//! proxy every connection comes from the proxy; its `X-Forwarded-For` (or RFC 7239
//! `Forwarded`) names the client, but only a trusted proxy's word counts: otherwise any client
//! could claim any address and step around the limits.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The address to count and record for `req`: the TCP peer, unless the peer is a trusted
/// proxy, in which case the nearest address in the forwarding chain that is not itself a
/// trusted proxy.
pub fn client_addr(req: &HttpRequest, trusted: &[IpNet]) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let forwarded = || {
        let headers = req.headers();
        let chain: Vec<IpAddr> = if let Some(v) = headers.get("forwarded") {
            forwarded_for(v.to_str().ok()?)
        } else {
            headers
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse().ok())
                .collect()
        };
        Some(chain)
    };
    Some(choose(peer, trusted, forwarded).to_string())
}

fn is_trusted(addr: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&addr))
}

/// Walks the chain from the proxy nearest to us back towards the client.
fn choose(peer: IpAddr, trusted: &[IpNet], chain: impl FnOnce() -> Option<Vec<IpAddr>>) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let mut client = peer;
    for addr in chain().unwrap_or_default().into_iter().rev() {
        client = addr;
        if !is_trusted(addr, trusted) {
            break;
        }
    }
    client
}

/// The `for=` addresses of an RFC 7239 `Forwarded` header, in order; unknown or obfuscated
/// identifiers end the chain.
fn forwarded_for(header: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for element in header.split(',') {
        let Some(value) = element.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("for")
                .then(|| v.trim().trim_matches('"'))
        }) else {
            continue;
        };
        // "192.0.2.60", "192.0.2.60:4711", "[2001:db8::1]" or "[2001:db8::1]:4711".
        let host = match value.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(""),
            None => value.split(':').next().unwrap_or(""),
        };
        match host.parse() {
            Ok(addr) => out.push(addr),
            Err(_) => out.clear(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_peer_is_believed() {
        let trusted = crate::config::parse_networks("10.0.0.0/8, 127.0.0.1").unwrap();
        let chain = || Some(vec![ip("198.51.100.7"), ip("10.1.2.3")]);
        assert_eq!(choose(ip("127.0.0.1"), &trusted, chain), ip("198.51.100.7"));
        assert_eq!(
            choose(ip("203.0.113.9"), &trusted, chain),
            ip("203.0.113.9")
        );
        // A client cannot push an address past an untrusted hop.
        let spoofed = || Some(vec![ip("1.2.3.4"), ip("198.51.100.7")]);
        assert_eq!(
            choose(ip("127.0.0.1"), &trusted, spoofed),
            ip("198.51.100.7")
        );
        assert_eq!(choose(ip("127.0.0.1"), &trusted, || None), ip("127.0.0.1"));
    }

    #[test]
    fn forwarded_header_forms() {
        assert_eq!(
            forwarded_for("for=192.0.2.60;proto=http;by=203.0.113.43, for=\"[2001:db8::1]:4711\""),
            vec![ip("192.0.2.60"), ip("2001:db8::1")]
        );
        assert_eq!(
            forwarded_for("for=unknown, for=192.0.2.1"),
            vec![ip("192.0.2.1")]
        );
        assert!(crate::config::parse_networks("10.0.0.0/33").is_err());
        assert!(crate::config::parse_networks("proxy.example").is_err());
    }
}
