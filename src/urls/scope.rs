//! Which discovered links the crawl may follow: the scope of the seed a link
//! descends from (its host, its registrable domain by the Public Suffix
//! List, or anything), `include`/`exclude` patterns on the absolute URL,
//! a length limit, and a trap guard against paths that repeat a segment.
//!
//! Pure decisions, no I/O.

use std::net::IpAddr;

use regex::RegexSet;
use url::Url;

/// How far from its seed a link may lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The seed's host, over http or https.
    Host,
    /// The seed's registrable domain: `shop.example.co.uk` is within
    /// `www.example.co.uk`'s.
    Domain,
    /// Anywhere.
    Any,
}

/// Why a link is not followed, or that it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// In scope.
    Follow,
    /// Another host or domain than its seed's.
    OutOfScope,
    /// Matches an `exclude` pattern, or no `include` pattern.
    Excluded,
    /// Longer than `max_url_length`.
    TooLong,
    /// A path that repeats one segment more than [`MAX_SEGMENT_REPEATS`] times.
    Trap,
}

impl Verdict {
    /// The word `crawler links` prints and records use.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Follow => "follow",
            Self::OutOfScope => "out_of_scope",
            Self::Excluded => "excluded",
            Self::TooLong => "too_long",
            Self::Trap => "trap",
        }
    }
}

/// How often one path segment may appear before the path is a trap.
pub const MAX_SEGMENT_REPEATS: usize = 3;

/// The rules a link is judged by.
#[derive(Debug, Clone)]
pub struct Scope {
    reach: Reach,
    include: RegexSet,
    exclude: RegexSet,
    max_url_length: usize,
}

impl Scope {
    /// Builds the rules.
    ///
    /// # Errors
    /// A pattern is not a valid regex: the error names its key and index.
    pub fn new(
        reach: Reach,
        include: &[String],
        exclude: &[String],
        max_url_length: usize,
    ) -> Result<Self, PatternError> {
        Ok(Self {
            reach,
            include: pattern_set(include, "include")?,
            exclude: pattern_set(exclude, "exclude")?,
            max_url_length,
        })
    }

    /// Whether `link`, found on a page that descends from `seed`, is followed.
    pub fn judge(&self, seed: &Url, link: &Url) -> Verdict {
        if link.as_str().len() > self.max_url_length {
            return Verdict::TooLong;
        }
        if !self.is_within_reach(seed, link) {
            return Verdict::OutOfScope;
        }
        let text = link.as_str();
        let is_excluded = !self.exclude.is_empty() && self.exclude.is_match(text);
        if is_excluded || (!self.include.is_empty() && !self.include.is_match(text)) {
            return Verdict::Excluded;
        }
        if is_trap(link) {
            return Verdict::Trap;
        }
        Verdict::Follow
    }

    fn is_within_reach(&self, seed: &Url, link: &Url) -> bool {
        let (Some(seed_host), Some(link_host)) = (seed.host_str(), link.host_str()) else {
            return false;
        };
        match self.reach {
            Reach::Any => true,
            Reach::Host => seed_host.eq_ignore_ascii_case(link_host),
            Reach::Domain => registrable_domain(seed_host) == registrable_domain(link_host),
        }
    }
}

/// The registrable domain of `host` by the Public Suffix List (private
/// suffixes such as `github.io` included); an IP address, a public suffix
/// itself or a name the list does not know stands for itself.
pub fn registrable_domain(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return host;
    }
    match psl::domain_str(&host) {
        Some(domain) => domain.to_owned(),
        None => host,
    }
}

/// A `crawl.include` or `crawl.exclude` pattern that is not a valid regex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct PatternError {
    /// The config key, with the pattern's index: `crawl.include[1]`.
    pub key: String,
    /// What the regex parser said.
    pub message: String,
}

/// One set of every pattern; a bad one is reported by its index.
fn pattern_set(patterns: &[String], key: &str) -> Result<RegexSet, PatternError> {
    for (index, pattern) in patterns.iter().enumerate() {
        if let Err(err) = regex::Regex::new(pattern) {
            return Err(PatternError {
                key: format!("crawl.{key}[{index}]"),
                message: err.to_string(),
            });
        }
    }
    RegexSet::new(patterns).map_err(|err| PatternError {
        key: format!("crawl.{key}"),
        message: err.to_string(),
    })
}

/// Whether `url`'s path repeats one segment more than [`MAX_SEGMENT_REPEATS`]
/// times (`/a/b/a/b/a/b/a/b/`): the mark of a relative-link loop.
pub fn is_trap(url: &Url) -> bool {
    let segments = || url.path().split('/').filter(|segment| !segment.is_empty());
    let count = segments().count();
    if count <= MAX_SEGMENT_REPEATS {
        return false;
    }
    if count > SHORT_PATH {
        let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        return segments().any(|segment| {
            let copies = counts.entry(segment).or_insert(0);
            *copies += 1;
            *copies > MAX_SEGMENT_REPEATS
        });
    }
    // A short path: counting each segment's earlier copies allocates nothing.
    segments().enumerate().any(|(index, segment)| {
        segments()
            .take(index)
            .filter(|earlier| *earlier == segment)
            .count()
            >= MAX_SEGMENT_REPEATS
    })
}

/// Segments up to which [`is_trap`] compares them pairwise.
const SHORT_PATH: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn scope(reach: Reach) -> Scope {
        Scope::new(reach, &[], &[], 2048).unwrap()
    }

    #[test]
    fn host_scope_keeps_the_seed_host_over_http_and_https() {
        let seed = url("http://www.example.co.uk/");
        let host = scope(Reach::Host);
        assert_eq!(
            host.judge(&seed, &url("https://www.example.co.uk/a")),
            Verdict::Follow
        );
        assert_eq!(
            host.judge(&seed, &url("http://shop.example.co.uk/")),
            Verdict::OutOfScope
        );
        let domain = scope(Reach::Domain);
        assert_eq!(
            domain.judge(&seed, &url("http://shop.example.co.uk/")),
            Verdict::Follow
        );
        assert_eq!(
            domain.judge(&seed, &url("http://other.co.uk/")),
            Verdict::OutOfScope
        );
        assert_eq!(
            scope(Reach::Any).judge(&seed, &url("http://other.co.uk/")),
            Verdict::Follow
        );
    }

    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        assert_eq!(registrable_domain("www.example.co.uk"), "example.co.uk");
        assert_eq!(
            registrable_domain("a.b.c.github.io"),
            "c.github.io",
            "a private suffix"
        );
        assert_eq!(registrable_domain("127.0.0.1"), "127.0.0.1");
        assert_eq!(registrable_domain("[::1]"), "[::1]");
        assert_eq!(registrable_domain("WWW.Example.COM."), "example.com");
        assert_ne!(
            registrable_domain("127.0.0.2"),
            registrable_domain("127.0.0.3")
        );
    }

    #[test]
    fn exclude_wins_and_include_must_match_when_given() {
        let seed = url("http://127.0.0.1/");
        let rules = Scope::new(
            Reach::Any,
            &["/docs/".to_owned()],
            &["\\.pdf$".to_owned()],
            2048,
        )
        .unwrap();
        assert_eq!(
            rules.judge(&seed, &url("http://127.0.0.1/docs/a")),
            Verdict::Follow
        );
        assert_eq!(
            rules.judge(&seed, &url("http://127.0.0.1/docs/a.pdf")),
            Verdict::Excluded
        );
        assert_eq!(
            rules.judge(&seed, &url("http://127.0.0.1/blog/")),
            Verdict::Excluded
        );
        let bad = Scope::new(Reach::Any, &["a".to_owned(), "(".to_owned()], &[], 10).unwrap_err();
        assert_eq!(bad.key, "crawl.include[1]");
        assert!(bad.message.contains("unclosed group"), "{bad}");
    }

    #[test]
    fn long_urls_and_traps_are_not_followed() {
        let seed = url("http://127.0.0.1/");
        let short = Scope::new(Reach::Any, &[], &[], 30).unwrap();
        assert_eq!(
            short.judge(&seed, &url("http://127.0.0.1/a-rather-long-path")),
            Verdict::TooLong
        );
        let any = scope(Reach::Any);
        assert_eq!(
            any.judge(&seed, &url("http://127.0.0.1/a/b/a/b/a/b/a/b/")),
            Verdict::Trap
        );
        assert_eq!(
            any.judge(&seed, &url("http://127.0.0.1/a/b/a/b/a/b/")),
            Verdict::Follow
        );
        assert_eq!(
            any.judge(&seed, &url("http://127.0.0.1/x/x/x/")),
            Verdict::Follow
        );
        assert_eq!(
            any.judge(&seed, &url("http://127.0.0.1/x/x/x/x")),
            Verdict::Trap
        );
        assert_eq!(Verdict::Trap.reason(), "trap");
    }
}
