//! Addresses in control-plane flags: loopback or reachable from elsewhere.

use std::net::IpAddr;

/// checks.md "Loopback": 127.0.0.0/8, ::1 and localhost; anything else, 0.0.0.0 and an empty
/// host included, is reachable from elsewhere.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim();
    let h = h
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(h);
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// A listen URL's scheme (lower case) and host; `None` when it is not a URL.
pub fn url_scheme_host(url: &str) -> Option<(String, &str)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    Some((scheme.to_ascii_lowercase(), host))
}

/// Whether a listen URL can be reached from another host: a non-loopback TCP address.
/// Unix sockets (`unix://`, `unixs://`) are local.
pub fn url_is_exposed(url: &str) -> Option<bool> {
    let (scheme, host) = url_scheme_host(url)?;
    Some(!scheme.starts_with("unix") && !is_loopback(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_and_urls() {
        for h in [
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["0.0.0.0", "", "10.0.0.1", "::", "example.com", "128.0.0.1"] {
            assert!(!is_loopback(h), "{h}");
        }
        assert_eq!(url_is_exposed("http://127.0.0.1:2379"), Some(false));
        assert_eq!(url_is_exposed("https://[::1]:2379"), Some(false));
        assert_eq!(url_is_exposed("http://localhost:2379/x"), Some(false));
        assert_eq!(url_is_exposed("http://0.0.0.0:2379"), Some(true));
        assert_eq!(url_is_exposed("http://:2379"), Some(true));
        assert_eq!(url_is_exposed("https://[2001:db8::1]:2380"), Some(true));
        assert_eq!(url_is_exposed("unix://etcd.sock:0"), Some(false));
        assert_eq!(url_is_exposed("not a url"), None);
        assert_eq!(
            url_scheme_host("HTTP://10.0.0.1:2379").map(|u| u.0),
            Some("http".to_string())
        );
    }
}
