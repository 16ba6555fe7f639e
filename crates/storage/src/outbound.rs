//! Which URLs the server may contact on its own, and an HTTP client that contacts only those.
//!
//! Several features take a URL from a user and later send requests there on the server's own (Web Push
//! endpoints, outgoing webhooks). Without rules, any account could point one at the server's own network (a
//! database's HTTP port, a cloud metadata service) and make the server send requests there (server-side request
//! forgery). So a target must be an `https` URL whose host is a name (never an address literal, in any of the
//! forms browsers and `reqwest` accept, such as `https://2130706433/`), not `localhost`, and that resolves only
//! to public addresses. A name that does not resolve when it is stored is accepted: it is checked again before
//! every request, and the connection goes only to the addresses that check allowed ([`checked_client`]: a
//! resolver of its own, no proxies, no redirects).
//!
//! The address rules are pure logic ([`address_allowed`]), tested over every range here.
//!
//! `allow_loopback` exists only for tests that run a receiver on `127.0.0.1` (each feature has its own named
//! test-only setting, off by default): it admits loopback addresses and plain `http` to them, nothing else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Where a URL points, once it passed [`check_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A host name, to be resolved and checked ([`resolved_allowed`]).
    Name {
        /// The name, lower-case, without a trailing dot.
        host: String,
        /// The port (443 unless given).
        port: u16,
    },
    /// A loopback address literal, admitted by `allow_loopback` only.
    Loopback(IpAddr),
}

/// Checks a URL as `reqwest` will read it (WHATWG URL parsing, so numeric hosts like `0x7f.1` are
/// the addresses they denote): `https`, no credentials, a host that is a name other than `localhost`.
/// Answers what to resolve, or why the URL is refused.
pub fn check_url(endpoint: &str, allow_loopback: bool) -> Result<Target, &'static str> {
    let url = url::Url::parse(endpoint).map_err(|_| "must be an https URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials");
    }
    let port = url.port_or_known_default().ok_or("must be an https URL")?;
    let target = match url.host() {
        Some(url::Host::Domain(name)) => {
            let host = name.trim_end_matches('.').to_ascii_lowercase();
            if is_local_name(&host) && !allow_loopback {
                return Err("must not name this machine (localhost)");
            }
            Target::Name { host, port }
        }
        Some(url::Host::Ipv4(v4)) => literal(IpAddr::V4(v4), allow_loopback)?,
        Some(url::Host::Ipv6(v6)) => literal(IpAddr::V6(v6), allow_loopback)?,
        None => return Err("must be an https URL"),
    };
    let loopback = matches!(target, Target::Loopback(_))
        || matches!(&target, Target::Name { host, .. } if is_local_name(host));
    match url.scheme() {
        "https" => Ok(target),
        "http" if allow_loopback && loopback => Ok(target),
        _ => Err("must be an https URL"),
    }
}

fn literal(ip: IpAddr, allow_loopback: bool) -> Result<Target, &'static str> {
    if allow_loopback && canonical(ip).is_loopback() {
        Ok(Target::Loopback(ip))
    } else {
        Err("must name a host, not an IP address")
    }
}

/// `localhost` and the names under it (RFC 6761), which resolve to this machine.
fn is_local_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// Whether every address a name resolved to may be contacted (and there is at least one).
pub fn resolved_allowed(addresses: &[IpAddr], allow_loopback: bool) -> bool {
    !addresses.is_empty() && addresses.iter().all(|ip| address_allowed(*ip, allow_loopback))
}

/// Whether the server may connect to `ip` on a user's behalf: a public (globally routable unicast) address, or
/// a loopback one when `allow_loopback`. Refused: unspecified, loopback, private, carrier-grade NAT,
/// link-local (cloud metadata at `169.254.169.254`), unique-local (`fd00:ec2::254`), documentation,
/// benchmarking, multicast, reserved, and IPv6 outside global unicast; IPv4-mapped and NAT64 addresses are
/// judged by the IPv4 address they carry.
pub fn address_allowed(ip: IpAddr, allow_loopback: bool) -> bool {
    let ip = canonical(ip);
    if ip.is_loopback() {
        return allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => v4_public(v4),
        IpAddr::V6(v6) => v6_public(v6),
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it is; others unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn in_v4(ip: Ipv4Addr, network: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(network)) & mask
}

fn in_v6(ip: Ipv6Addr, network: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(network)) & mask
}

/// IPv4 special-purpose blocks (IANA registry) that are not globally reachable unicast.
const V4_REFUSED: [([u8; 4], u32); 15] = [
    ([0, 0, 0, 0], 8),       // "this network", unspecified
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // shared address space (carrier-grade NAT; also 100.100.100.200 metadata)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local (169.254.169.254 metadata)
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and the broadcast address
];

fn v4_public(ip: Ipv4Addr) -> bool {
    !V4_REFUSED
        .iter()
        .any(|(network, prefix)| in_v4(ip, *network, *prefix))
}

fn v6_public(ip: Ipv6Addr) -> bool {
    // NAT64 (RFC 6052 well-known prefix): the IPv4 address it carries decides.
    if in_v6(ip, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        let [.., a, b] = ip.segments();
        let v4 = Ipv4Addr::from((u32::from(a) << 16) | u32::from(b));
        return v4_public(v4);
    }
    // Only global unicast (2000::/3), and not its special blocks.
    in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3)
        && !in_v6(ip, [0x2001, 0, 0, 0, 0, 0, 0, 0], 23) // IETF protocol assignments (Teredo, ORCHID, ...)
        && !in_v6(ip, [0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32) // documentation
        && !in_v6(ip, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16) // 6to4, which can carry any IPv4 address
        && !in_v6(ip, [0x3fff, 0, 0, 0, 0, 0, 0, 0], 20) // documentation (RFC 9637)
}

/// The addresses `host` resolves to, when it resolves within `timeout` (`None` otherwise). Tokio's resolver:
/// the blocking system call runs on the blocking pool, never on an executor thread.
pub async fn resolve(host: &str, port: u16, timeout: Duration) -> Option<Vec<IpAddr>> {
    match tokio::time::timeout(timeout, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addresses)) => Some(addresses.map(|a| a.ip()).collect()),
        Ok(Err(_)) | Err(_) => None,
    }
}

/// Whether a target that passed [`check_url`] may be stored: an address literal may; a name may unless it
/// resolves (within `timeout`) to an address that [`resolved_allowed`] refuses. A name that does not resolve
/// now is accepted: every request checks it again.
pub async fn target_allowed_now(target: &Target, allow_loopback: bool, timeout: Duration) -> bool {
    match target {
        Target::Loopback(_) => true,
        Target::Name { host, port } => match resolve(host, *port, timeout).await {
            Some(addresses) if !addresses.is_empty() => resolved_allowed(&addresses, allow_loopback),
            Some(_) | None => true,
        },
    }
}

/// The field message of a name that resolves to an address the server does not contact.
pub const REFUSED_ADDRESS_MESSAGE: &str = "its host resolves to an address this server does not contact \
     (loopback, private, link-local, unique-local, unspecified or otherwise not public)";

/// A name that resolved to an address the server does not contact.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to an address this server does not contact")]
pub struct RefusedAddress(String);

/// The resolver of [`checked_client`]: tokio's (off the executor threads), and only names whose every address
/// passes [`resolved_allowed`]; the client connects to exactly the addresses returned here.
#[derive(Debug, Clone, Copy)]
struct CheckedResolver {
    allow_loopback: bool,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_loopback = self.allow_loopback;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<IpAddr> = addresses.iter().map(|a| a.ip()).collect();
            if !resolved_allowed(&ips, allow_loopback) {
                return Err(Box::new(RefusedAddress(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether `error` (or one of its causes) is [`RefusedAddress`]: the request was not sent because its host
/// resolved to an address the server does not contact.
pub fn refused_address(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current.is::<RefusedAddress>() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// An HTTP client for user-given URLs: names resolve through the checking resolver (the connection goes only to
/// addresses it allowed), no redirect is followed, no proxy resolves for it, and every request ends within
/// `timeout` (connecting within `connect_timeout`). Check each URL with [`check_url`] before sending: address
/// literals do not pass through the resolver.
pub fn checked_client(
    allow_loopback: bool,
    timeout: Duration,
    connect_timeout: Duration,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(CheckedResolver { allow_loopback })
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(text: &str) -> bool {
        address_allowed(text.parse().unwrap(), false)
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "142.250.74.110",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.167.255.255",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2a00:1450:4001:82b::200a",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(allowed(ip), "{ip} is public");
        }
    }

    #[test]
    fn every_non_public_ipv4_range_is_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.100.100.200",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.0.1",
            "192.168.255.255",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!allowed(ip), "{ip} is refused");
        }
    }

    #[test]
    fn every_non_public_ipv6_range_is_refused() {
        for ip in [
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fc00::1",
            "fd00::1",
            "fd00:ec2::254",
            "fec0::1",
            "ff02::1",
            "ff05::2",
            "2001:db8::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "3fff::1",
            "100::1",
            "64:ff9b:1::1",
            "::127.0.0.1",
            "::a9fe:a9fe",
        ] {
            assert!(!allowed(ip), "{ip} is refused");
        }
    }

    #[test]
    fn ipv4_mapped_and_nat64_addresses_are_judged_by_their_ipv4_address() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::ffff:192.168.1.1",
            "::ffff:0.0.0.0",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
        ] {
            assert!(!allowed(ip), "{ip} is refused");
        }
    }

    #[test]
    fn the_test_switch_admits_loopback_only() {
        for ip in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(address_allowed(ip.parse().unwrap(), true), "{ip}");
        }
        for ip in ["10.0.0.1", "169.254.169.254", "fd00:ec2::254", "::", "0.0.0.0"] {
            assert!(!address_allowed(ip.parse().unwrap(), true), "{ip}");
        }
    }

    #[test]
    fn resolved_names_need_every_address_allowed() {
        let public: IpAddr = "8.8.8.8".parse().unwrap();
        let private: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(resolved_allowed(&[public], false));
        assert!(!resolved_allowed(&[public, private], false));
        assert!(!resolved_allowed(&[], false));
    }

    #[test]
    fn endpoints_must_be_https_urls_naming_a_host() {
        assert_eq!(
            check_url("https://fcm.googleapis.com/fcm/send/abc", false),
            Ok(Target::Name {
                host: "fcm.googleapis.com".into(),
                port: 443
            })
        );
        assert_eq!(
            check_url("https://Push.Example.COM.:8443/x", false),
            Ok(Target::Name {
                host: "push.example.com".into(),
                port: 8443
            })
        );
        for (endpoint, why) in [
            ("http://push.example.com/x", "https"),
            ("ftp://push.example.com/x", "https"),
            ("not a url", "https"),
            ("https://user:secret@push.example.com/x", "credentials"),
            ("https://localhost/x", "localhost"),
            ("https://LOCALHOST./x", "localhost"),
            ("https://api.localhost/x", "localhost"),
            ("https://127.0.0.1/x", "IP address"),
            ("https://169.254.169.254/latest/meta-data", "IP address"),
            ("https://8.8.8.8/x", "IP address"),
            ("https://[::1]/x", "IP address"),
            ("https://[fd00:ec2::254]/x", "IP address"),
            ("https://[::ffff:127.0.0.1]/x", "IP address"),
            // Numeric forms that URL parsers turn into addresses.
            ("https://2130706433/x", "IP address"),
            ("https://0x7f.1/x", "IP address"),
            ("https://0177.0.0.1/x", "IP address"),
            ("https://127.1/x", "IP address"),
        ] {
            let refused = check_url(endpoint, false).unwrap_err();
            assert!(refused.contains(why), "{endpoint}: {refused}");
        }
    }

    #[test]
    fn the_test_switch_admits_loopback_endpoints_over_http() {
        assert_eq!(
            check_url("http://127.0.0.1:9000/push", true),
            Ok(Target::Loopback("127.0.0.1".parse().unwrap()))
        );
        assert!(check_url("http://localhost:9000/push", true).is_ok());
        assert!(check_url("https://[::1]:9000/push", true).is_ok());
        assert!(check_url("http://push.example.com/x", true).is_err());
        assert!(check_url("https://10.0.0.1/x", true).is_err());
    }

    #[test]
    fn refusals_are_found_among_the_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] RefusedAddress);
        assert!(refused_address(&Outer(RefusedAddress("x".into()))));
        assert!(!refused_address(&std::io::Error::other("other")));
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_this_machine() {
        use reqwest::dns::Resolve as _;
        let refused = CheckedResolver {
            allow_loopback: false,
        }
        .resolve("localhost".parse().unwrap())
        .await;
        assert!(refused.is_err_and(|e| refused_address(e.as_ref())));
        let allowed = CheckedResolver { allow_loopback: true }
            .resolve("localhost".parse().unwrap())
            .await;
        assert!(allowed.is_ok());
    }
}
