//! URL normalization: what a crawlable URL is, and one spelling per URL so
//! that duplicates are found.

use url::Url;

/// The longest URL we send: the HTTP client cannot carry more (http's `Uri` stops at 64 KiB).
pub const MAX_URL_LEN: usize = 65_534;

/// How much of a long URL goes into a message.
const SHOWN_URL_CHARS: usize = 120;

/// A URL for messages: long ones are cut, with their length said.
pub fn shorten(url: &str) -> std::borrow::Cow<'_, str> {
    match url.char_indices().nth(SHOWN_URL_CHARS) {
        Some((cut, _)) => format!("{}… ({} bytes)", &url[..cut], url.len()).into(),
        None => url.into(),
    }
}

/// Parses one seed and normalizes it for de-duplication.
///
/// The `url` crate already lowercases the scheme and host, punycodes IDN hosts and
/// drops default ports; the fragment is dropped here because it is never sent.
///
/// # Errors
/// A message saying why the text is not a crawlable `http`/`https` URL.
pub fn parse_seed(text: &str) -> Result<Url, String> {
    let shown = shorten(text);
    let mut url = Url::parse(text).map_err(|err| format!("`{shown}` is not a valid URL: {err}"))?;
    check_crawlable(&url).map_err(|why| format!("`{shown}` {why}"))?;
    url.set_fragment(None);
    Ok(url)
}

/// Checks that a URL can be fetched: `http`/`https`, a host, and a length the client accepts.
///
/// # Errors
/// A lowercase reason, to be prefixed with the URL by the caller.
pub fn check_crawlable(url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "has scheme `{}`; only http and https are crawled",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_owned());
    }
    if url.as_str().len() > MAX_URL_LEN {
        return Err(format!(
            "is {} bytes long; the limit is {MAX_URL_LEN}",
            url.as_str().len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_scheme_host_port_and_fragment() {
        let url = parse_seed("HTTP://Example.COM:80/a/b?q=1#frag").unwrap();
        assert_eq!(url.as_str(), "http://example.com/a/b?q=1");
    }

    #[test]
    fn idn_host_becomes_punycode() {
        let url = parse_seed("https://bücher.example/").unwrap();
        assert_eq!(url.host_str(), Some("xn--bcher-kva.example"));
    }

    #[test]
    fn rejects_other_schemes_and_garbage() {
        assert!(
            parse_seed("ftp://example.com/")
                .unwrap_err()
                .contains("scheme `ftp`")
        );
        assert!(parse_seed("file:///etc/passwd").is_err());
        assert!(
            parse_seed("not a url")
                .unwrap_err()
                .contains("not a valid URL")
        );
        assert!(parse_seed("http://").is_err());
    }

    #[test]
    fn rejects_urls_longer_than_the_client_accepts() {
        let long = format!("http://127.0.0.1/{}", "a".repeat(MAX_URL_LEN));
        assert!(parse_seed(&long).unwrap_err().contains("bytes long"));
    }

    #[test]
    fn long_urls_are_shortened_in_messages() {
        let long = format!("http://127.0.0.1/{}", "a".repeat(500));
        let shown = shorten(&long);
        assert!(
            shown.len() < 200 && shown.ends_with("(517 bytes)"),
            "{shown}"
        );
        assert_eq!(shorten("http://a/"), "http://a/");
    }
}
