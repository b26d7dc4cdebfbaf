//! The interceptor around every request curl makes: the `deny_private` SSRF
//! guard on the way out, header sanitizing on the way back.

use std::net::{IpAddr, SocketAddr};

use isahc::ResponseExt as _;
use isahc::config::Dialer;
use isahc::http::header::{CONTENT_TYPE, HeaderValue};
use isahc::interceptor::{Context, Interceptor, InterceptorFuture};

/// Marks a response that had no `Content-Type` (the glue would report octet-stream).
pub(super) const NO_CONTENT_TYPE: &str = "x-crawler-no-content-type";
/// Starts the message of an error the guard raises for a denied address.
pub(super) const DENIED_MARKER: &str = "crawler-denied: ";
/// Starts it when the address is denied because a public page led there.
pub(super) const DENIED_FROM_PUBLIC_MARKER: &str = "crawler-denied-from-public: ";
/// Asks the guard to refuse non-public addresses for this request (removed before sending).
pub(super) const PUBLIC_ONLY: &str = "x-crawler-public-only";
/// Tells the fetcher whether the response came from a public address (`1`) or not (`0`).
pub(super) const FROM_PUBLIC: &str = "x-crawler-from-public";
/// Addresses (comma-separated) that count as public: for tests that
/// simulate a public host on loopback. Not a config key on purpose.
pub const PUBLIC_OVERRIDE_VAR: &str = "TEST_CRAWLER_PUBLIC_ADDRESSES";

/// Runs around every request curl makes, redirect hops included.
///
/// With `deny_private`, it resolves the host itself, refuses private
/// addresses, and pins curl to the address it checked (no DNS rebinding
/// between the check and the connect). On the way back it rewrites header
/// values the HTTP glue cannot hold as text (non-ASCII bytes would make it
/// panic): each such byte becomes `%XX`, as a browser does with a
/// `Location`. It also marks a missing `Content-Type`.
pub(super) struct Guard {
    pub(super) deny_private: bool,
}

impl Interceptor for Guard {
    type Err = Box<dyn std::error::Error>;

    fn intercept<'a>(
        &'a self,
        mut request: isahc::http::Request<isahc::Body>,
        ctx: Context<'a>,
    ) -> InterceptorFuture<'a, Self::Err> {
        Box::pin(async move {
            let is_public_only = request.headers_mut().remove(PUBLIC_ONLY).is_some();
            if self.deny_private || is_public_only {
                let marker = if self.deny_private {
                    DENIED_MARKER
                } else {
                    DENIED_FROM_PUBLIC_MARKER
                };
                let address = public_address(request.uri(), marker).await?;
                request.extensions_mut().insert(Dialer::ip_socket(address));
            }
            let mut response = ctx.send(request).await?;
            let from_public = response
                .remote_addr()
                .map(|address| is_public(address.ip()));
            let headers = response.headers_mut();
            if let Some(from_public) = from_public {
                let flag = if from_public { "1" } else { "0" };
                headers.insert(FROM_PUBLIC, HeaderValue::from_static(flag));
            }
            for value in headers.values_mut() {
                if value.to_str().is_err() {
                    *value = escape_header_value(value.as_bytes());
                }
            }
            if !headers.contains_key(CONTENT_TYPE) {
                headers.insert(NO_CONTENT_TYPE, HeaderValue::from_static("1"));
            }
            Ok(response)
        })
    }
}

/// Whether `ip` is a public address (or listed in [`PUBLIC_OVERRIDE_VAR`]).
pub fn is_public(ip: IpAddr) -> bool {
    private_kind(ip).is_none() || public_override().contains(&ip)
}

/// The addresses [`PUBLIC_OVERRIDE_VAR`] lists, read once.
fn public_override() -> &'static [IpAddr] {
    static LISTED: std::sync::OnceLock<Vec<IpAddr>> = std::sync::OnceLock::new();
    LISTED.get_or_init(|| {
        std::env::var(PUBLIC_OVERRIDE_VAR)
            .unwrap_or_default()
            .split(',')
            .filter_map(|text| text.trim().parse().ok())
            .collect()
    })
}

/// Resolves the URI's host; the first address, unless any address is
/// private (then an error starting with `marker`).
async fn public_address(
    uri: &isahc::http::Uri,
    marker: &str,
) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let addresses: Vec<SocketAddr> =
        async_std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .await
            .map_err(|_| isahc::Error::CouldntResolveHost)?
            .collect();
    if let Some(private) = addresses.iter().find(|address| !is_public(address.ip())) {
        let kind = private_kind(private.ip()).unwrap_or("private");
        return Err(format!("{marker}resolves to {}, a {kind} address", private.ip()).into());
    }
    addresses
        .first()
        .copied()
        .ok_or_else(|| isahc::Error::CouldntResolveHost.into())
}

/// What kind of non-public address `ip` is, if it is one.
pub fn private_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() || a == 0 {
                Some("unspecified")
            } else if a == 100 && (64..128).contains(&b) {
                Some("shared (CGNAT)")
            } else if v4.is_broadcast() || v4.is_multicast() {
                Some("broadcast or multicast")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_kind(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if first & 0xfe00 == 0xfc00 {
                Some("unique-local")
            } else if first & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    }
}

fn escape_header_value(bytes: &[u8]) -> HeaderValue {
    let mut text = String::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        if byte == b'\t' || (0x20..0x7f).contains(&byte) {
            text.push(char::from(byte));
        } else {
            text.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_header_bytes_are_escaped() {
        let value = escape_header_value(b"/caf\xc3\xa9?a=b");
        assert_eq!(value.to_str().unwrap(), "/caf%C3%A9?a=b");
    }

    #[test]
    fn private_addresses_are_recognized() {
        for (ip, private) in [
            ("127.0.0.1", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("192.168.1.1", true),
            ("169.254.169.254", true),
            ("100.64.0.1", true),
            ("0.0.0.0", true),
            ("::1", true),
            ("fd00::1", true),
            ("fe80::1", true),
            ("::ffff:127.0.0.1", true),
            ("93.184.216.34", false),
            ("2606:4700::1111", false),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(private_kind(ip).is_some(), private, "{ip}");
        }
    }
}
