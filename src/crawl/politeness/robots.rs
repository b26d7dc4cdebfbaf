//! robots.txt (RFC 9309): what a fetch of `/robots.txt` means for a host.
//!
//! Parsing and matching are `texting_robots`' (the group for our product
//! token, else `*`; longest match wins, Allow wins a tie; `*` and `$`). This
//! module decides what each kind of answer means: rules for a 2xx, no
//! restrictions for a 4xx, everything disallowed for a 5xx or no answer.

use std::time::Duration;

use texting_robots::Robot;
use url::Url;

pub use crate::fetch::MAX_ROBOTS_SIZE;
use crate::fetch::RobotsResponse;

/// The product token matched against `User-agent` lines: the leading
/// letters, `-` and `_` of `user_agent` (`crawler` for `crawler/0.1 (+…)`).
pub fn product_token(user_agent: &str) -> String {
    let token: String = user_agent
        .chars()
        .take_while(|c| c.is_ascii_alphabetic() || *c == '-' || *c == '_')
        .collect();
    if token.is_empty() {
        "crawler".to_owned()
    } else {
        token.to_ascii_lowercase()
    }
}

/// A robots.txt up to this size is kept as text while its host is idle, and
/// compiled again when the host has work; a larger one stays compiled.
const MAX_PARKED_SIZE: usize = 16 * 1024;

/// The rules of one host's robots.txt for our product token.
///
/// Compiled rules can be large (a rule with `$` becomes a regex of several
/// KiB), so an idle host keeps only the text ([`Rules::park`]).
pub struct Rules {
    compiled: Option<Robot>,
    text: Option<Box<[u8]>>,
    crawl_delay: Option<Duration>,
}

impl std::fmt::Debug for Rules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rules")
            .field("is_compiled", &self.compiled.is_some())
            .field("crawl_delay", &self.crawl_delay)
            .finish_non_exhaustive()
    }
}

impl Rules {
    /// Parses `body` (cut at [`MAX_ROBOTS_SIZE`]) for the group of `token`.
    ///
    /// # Errors
    /// The file holds a rule too complex to match safely.
    pub fn parse(token: &str, body: &[u8]) -> Result<Self, String> {
        let body = &body[..body.len().min(MAX_ROBOTS_SIZE)];
        let robot = compile(token, body)?;
        let crawl_delay = robot
            .delay
            .and_then(|seconds| Duration::try_from_secs_f32(seconds).ok());
        Ok(Self {
            compiled: Some(robot),
            text: (body.len() <= MAX_PARKED_SIZE).then(|| body.into()),
            crawl_delay,
        })
    }

    /// Whether `url` (its path and query) may be fetched; compiles parked rules first.
    pub fn allows(&mut self, token: &str, url: &Url) -> bool {
        self.unpark(token);
        self.compiled
            .as_ref()
            .is_none_or(|robot| robot.allowed(url.as_str()))
    }

    /// The group's `Crawl-delay`, when it is a valid number of seconds.
    pub fn crawl_delay(&self) -> Option<Duration> {
        self.crawl_delay
    }

    /// Drops the compiled rules when the text is kept to compile them again.
    pub fn park(&mut self) {
        if self.text.is_some() {
            self.compiled = None;
        }
    }

    fn unpark(&mut self, token: &str) {
        if self.compiled.is_none()
            && let Some(text) = &self.text
        {
            // The same text compiled before, so this cannot fail; if it did,
            // the rules would allow everything, as for an unparsable file.
            self.compiled = compile(token, text).ok();
        }
    }
}

fn compile(token: &str, body: &[u8]) -> Result<Robot, String> {
    let mut robot = Robot::new(token, body).map_err(|err| format!("{err:#}"))?;
    // Sitemaps are not used; do not keep them for every host.
    robot.sitemaps = Vec::new();
    Ok(robot)
}

/// The `Sitemap:` URLs of a robots.txt (they belong to no group), as written.
pub fn sitemaps(body: &[u8]) -> Vec<String> {
    let body = &body[..body.len().min(MAX_ROBOTS_SIZE)];
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or_default().trim();
            let (name, value) = line.split_once(':')?;
            (name.trim().eq_ignore_ascii_case("sitemap") && !value.trim().is_empty())
                .then(|| value.trim().to_owned())
        })
        .collect()
}

/// What a host's robots.txt says for us.
#[derive(Debug)]
pub enum Verdict {
    /// The rules of a 2xx answer.
    Rules(Rules),
    /// No restrictions: a 4xx, too many redirects, or an unusable file. Says why.
    AllowAll(String),
    /// Everything disallowed: a 5xx, a 429, a timeout, or no connection.
    DisallowAll(Unreachable),
}

/// Why a host's robots.txt could not be had: the host then counts as
/// disallowing everything (RFC 9309 §2.3.1.4), and the records of its
/// pages name this cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// The cause as an error kind: `connect`, `dns`, `tls`, `timeout`,
    /// `http_status` (a 5xx or 429), …
    pub kind: &'static str,
    /// What happened.
    pub why: String,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.why)
    }
}

impl Unreachable {
    fn new(kind: &'static str, why: String) -> Self {
        Self { kind, why }
    }
}

/// The `/robots.txt` URL of `url`'s scheme, host and port.
pub fn robots_url(url: &Url) -> Option<Url> {
    let mut robots = url.join("/robots.txt").ok()?;
    robots.set_query(None);
    robots.set_fragment(None);
    let _ = robots.set_username("");
    let _ = robots.set_password(None);
    Some(robots)
}

/// What `response`, the answer to `robots` (its URL), means (RFC 9309 §2.3.1).
pub fn judge(token: &str, robots: &Url, response: &RobotsResponse) -> Verdict {
    if let Some(error) = &response.error {
        if error.kind() == "redirects" {
            return Verdict::AllowAll(format!("{error}; treated as no robots.txt"));
        }
        return Verdict::DisallowAll(Unreachable::new(error.kind(), error.to_string()));
    }
    match response.status {
        Some(status @ 200..=299) => match Rules::parse(token, &response.body) {
            Ok(rules) => Verdict::Rules(rules),
            Err(err) => Verdict::AllowAll(format!(
                "`{robots}` (HTTP {status}) could not be parsed ({err}); treated as no robots.txt"
            )),
        },
        Some(429) => Verdict::DisallowAll(Unreachable::new(
            "http_status",
            format!("`{robots}` answered HTTP 429"),
        )),
        Some(status @ 400..=499) => Verdict::AllowAll(format!("`{robots}` answered HTTP {status}")),
        Some(status) => Verdict::DisallowAll(Unreachable::new(
            "http_status",
            format!("`{robots}` answered HTTP {status}"),
        )),
        None => Verdict::DisallowAll(Unreachable::new(
            "protocol",
            format!("`{robots}` gave no answer"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_product_token_is_the_leading_name() {
        assert_eq!(product_token("crawler/0.1.0 (+https://x)"), "crawler");
        assert_eq!(product_token("My_Bot-2/1"), "my_bot-");
        assert_eq!(product_token("/weird"), "crawler");
    }

    #[test]
    fn robots_url_keeps_scheme_host_and_port_only() {
        let url = Url::parse("http://user:pw@127.0.0.1:8080/a/b?q=1#x").unwrap();
        assert_eq!(
            robots_url(&url).unwrap().as_str(),
            "http://127.0.0.1:8080/robots.txt"
        );
    }

    #[test]
    fn only_the_first_500_kib_are_parsed() {
        let mut body = vec![b'#'; MAX_ROBOTS_SIZE];
        body.extend_from_slice(b"\nUser-agent: *\nDisallow: /\n");
        let mut rules = Rules::parse("crawler", &body).unwrap();
        assert!(rules.allows("crawler", &Url::parse("http://h/x").unwrap()));
    }

    #[test]
    fn crawl_delay_is_read_for_our_group() {
        let rules = Rules::parse(
            "crawler",
            b"User-agent: *\nCrawl-delay: 9\n\nUser-agent: crawler\nCrawl-delay: 2.5\n",
        )
        .unwrap();
        assert_eq!(rules.crawl_delay(), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn parked_rules_compile_again_when_asked() {
        let mut rules = Rules::parse("crawler", b"User-agent: *\nDisallow: /*.pdf$\n").unwrap();
        rules.park();
        assert!(rules.compiled.is_none());
        let pdf = Url::parse("http://h/a.pdf").unwrap();
        assert!(!rules.allows("crawler", &pdf));
        assert!(rules.allows("crawler", &Url::parse("http://h/a.pdf?x").unwrap()));
    }
}
