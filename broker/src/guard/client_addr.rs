//! Which address a request comes from, for rate limiting and logs.
//!
//! The TCP peer is the truth unless the peer is one of *our* proxies (a configured
//! network list such as `10.0.0.0/8,::1/128`). Only then is `X-Forwarded-For` read,
//! and from the right: each proxy appends the address it saw, so the rightmost
//! entries were written by our proxies and everything left of the first untrusted
//! entry was written by the client and may be invented. The first untrusted address
//! from the right is the client.
//!
//! A spoofed `X-Forwarded-For` from a peer outside the list changes nothing, and
//! one sent through our proxy only adds entries left of the real one, which are never
//! reached. An entry that does not parse stops the walk at the hop that forwarded it:
//! requests then share that proxy's bucket, which limits more, never less.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use http::HeaderMap;
use ipnet::IpNet;

/// The header our proxies append to.
pub(super) const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The networks whose connections may speak for someone else via `X-Forwarded-For`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

/// A trusted-proxy list entry that is not a network or address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{entry}` is not a network (like 10.0.0.0/8 or ::1/128) or an address")]
pub struct ProxyListError {
    pub entry: String,
}

impl TrustedProxies {
    /// No proxies: the TCP peer is always the client. The default.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a comma-separated list of networks; a bare address means just that host.
    /// Whitespace and empty entries are ignored, so `""` is [`TrustedProxies::none`].
    pub fn parse(list: &str) -> Result<Self, ProxyListError> {
        let nets = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| ProxyListError {
                        entry: entry.to_owned(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { nets })
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether `ip` is one of our proxies. IPv4-mapped IPv6 peers (a dual-stack
    /// socket) are compared as the IPv4 address they are.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client address for a request that arrived from `peer` with `headers`.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.ip().to_canonical();
        if !self.contains(client) {
            return client;
        }
        // Several header lines count as one list joined in order (RFC 9110 section 5.3, https://www.rfc-editor.org/rfc/rfc9110#section-5.3).
        let lines: Vec<&str> = headers
            .get_all(X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        for entry in lines.iter().rev().flat_map(|line| line.rsplit(',')) {
            let Some(hop) = parse_hop(entry) else { break };
            client = hop;
            if !self.contains(hop) {
                break;
            }
        }
        client
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nets: Vec<String> = self.nets.iter().map(ToString::to_string).collect();
        f.write_str(&nets.join(","))
    }
}

/// One `X-Forwarded-For` entry: an address, tolerating the `addr:port` and
/// `[v6]:port` forms some proxies write.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    IpAddr::from_str(entry)
        .or_else(|_| SocketAddr::from_str(entry).map(|sa| sa.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 40000)
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(X_FORWARDED_FOR, v.parse().unwrap());
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let proxies = TrustedProxies::none();
        let spoofed = xff(&["203.0.113.50"]);
        assert_eq!(
            proxies.client_ip(peer("198.51.100.1"), &spoofed),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_spoof_its_way_into_another_bucket() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, ::1/128").unwrap();
        let spoofed = xff(&["203.0.113.50, 10.0.0.1"]);
        assert_eq!(
            proxies.client_ip(peer("198.51.100.1"), &spoofed),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn through_one_proxy_the_rightmost_entry_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client sent "1.1.1.1" itself; our proxy appended what it saw.
        let headers = xff(&["1.1.1.1, 198.51.100.7"]);
        assert_eq!(
            proxies.client_ip(peer("10.1.2.3"), &headers),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn trusted_hops_are_skipped_from_the_right_across_header_lines() {
        let proxies = TrustedProxies::parse("10.0.0.0/8,192.168.0.0/16").unwrap();
        let headers = xff(&["6.6.6.6, 198.51.100.7", "192.168.1.1", "10.0.0.9"]);
        assert_eq!(
            proxies.client_ip(peer("10.0.0.1"), &headers),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_itself_the_client() {
        let proxies = TrustedProxies::parse("::1").unwrap();
        assert_eq!(proxies.client_ip(peer("::1"), &HeaderMap::new()), ip("::1"));
        // Only trusted hops: the leftmost one we reached is the best we know.
        let headers = xff(&["::1"]);
        assert_eq!(proxies.client_ip(peer("::1"), &headers), ip("::1"));
    }

    #[test]
    fn garbage_stops_the_walk_at_the_hop_that_forwarded_it() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let headers = xff(&["198.51.100.7, not-an-ip, 10.0.0.5"]);
        assert_eq!(
            proxies.client_ip(peer("10.0.0.1"), &headers),
            ip("10.0.0.5")
        );
        let empty = xff(&[""]);
        assert_eq!(proxies.client_ip(peer("10.0.0.1"), &empty), ip("10.0.0.1"));
    }

    #[test]
    fn ports_and_mapped_addresses_are_understood() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let headers = xff(&["[2001:db8::1]:5555, 198.51.100.7:1234"]);
        assert_eq!(
            proxies.client_ip(peer("::ffff:10.0.0.1"), &headers),
            ip("198.51.100.7")
        );
        let headers = xff(&["::ffff:198.51.100.8"]);
        assert_eq!(
            proxies.client_ip(peer("10.0.0.1"), &headers),
            ip("198.51.100.8")
        );
    }

    #[test]
    fn the_list_parses_networks_and_hosts_and_names_a_bad_entry() {
        let proxies = TrustedProxies::parse(" 10.0.0.0/8 ,, ::1/128,192.0.2.4 ").unwrap();
        assert_eq!(proxies.to_string(), "10.0.0.0/8,::1/128,192.0.2.4/32");
        assert!(proxies.contains(ip("10.255.0.1")));
        assert!(proxies.contains(ip("192.0.2.4")));
        assert!(!proxies.contains(ip("192.0.2.5")));
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        let err = TrustedProxies::parse("10.0.0.0/8,10.0.0.0/33").unwrap_err();
        assert_eq!(err.entry, "10.0.0.0/33");
        assert!(err.to_string().contains("10.0.0.0/33"));
    }

    #[test]
    fn host_bits_in_a_network_are_ignored() {
        let proxies = TrustedProxies::parse("10.1.2.3/8").unwrap();
        assert_eq!(proxies.to_string(), "10.0.0.0/8");
    }
}
