//! Which of a fetched page's links the crawl follows: `crawl.max_depth`,
//! the seed's scope, and `nofollow` by `rel`, `<meta name="robots">` (or our
//! product token) and `X-Robots-Tag`, unless `crawl.follow_nofollow`.

use url::Url;

use crate::config::Config;
use crate::crawl::Job;
use crate::crawl::politeness::robots;
use crate::extract::links::PageLinks;
use crate::urls::scope::{Scope, Verdict};

/// Why a link is followed or not, as `crawler links` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The crawl follows it.
    Follow,
    /// `rel="nofollow"`, or the page says `nofollow` for all its links.
    Nofollow,
    /// Judged by the scope rules.
    Scope(Verdict),
    /// The page is at `crawl.max_depth` already.
    TooDeep,
    /// robots.txt of the link's host disallows it (`crawler links` only).
    Robots,
    /// Out of scope, checked once and not followed (`crawl.check_external`).
    Check,
}

impl Reason {
    /// The word printed and counted.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Follow => "follow",
            Self::Nofollow => "nofollow",
            Self::Scope(verdict) => verdict.reason(),
            Self::TooDeep => "too_deep",
            Self::Robots => "robots",
            Self::Check => "check",
        }
    }
}

/// How many of `reasons` are not followed (nor checked), by reason.
pub fn skipped(reasons: &[Reason]) -> Vec<(&'static str, u64)> {
    let mut counts: Vec<(&'static str, u64)> = Vec::new();
    for reason in reasons {
        if matches!(reason, Reason::Follow | Reason::Check) {
            continue;
        }
        match counts.iter_mut().find(|(name, _)| *name == reason.as_str()) {
            Some((_, count)) => *count += 1,
            None => counts.push((reason.as_str(), 1)),
        }
    }
    counts
}

/// The link rules in effect (replaced on reload).
#[derive(Debug, Clone)]
pub struct Rules {
    /// Links followed from a seed at most.
    pub max_depth: u32,
    scope: Scope,
    follow_nofollow: bool,
    product_token: String,
    /// Out-of-scope links are checked once (`crawl.check_external`).
    check_external: bool,
    /// Anchor texts are kept for the link graph (`report.links`).
    pub keeps_graph: bool,
}

/// A page's links with the crawl's decision on each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judged {
    /// Every link, in document order.
    pub links: Vec<(Url, Reason)>,
    /// The anchor text of each link, when the link graph is kept.
    pub anchors: Option<Vec<String>>,
}

impl Judged {
    /// The links as strings in document order, the indices of those to
    /// follow, and the reason of each link.
    pub fn into_lists(self) -> (Vec<String>, Vec<usize>, Vec<Reason>) {
        let follow = (self.links.iter().enumerate())
            .filter(|(_, (_, reason))| matches!(reason, Reason::Follow | Reason::Check))
            .map(|(index, _)| index)
            .collect();
        let reasons = self.links.iter().map(|(_, reason)| *reason).collect();
        let all = self.links.into_iter().map(|(url, _)| url.into()).collect();
        (all, follow, reasons)
    }
}

impl Rules {
    /// Whether a rendered page of `job` may navigate to a URL: anywhere
    /// when links are not followed (as redirects may), else only within
    /// the crawl's scope.
    pub fn navigation_scope(&self, job: &Job) -> crate::render::NavigationScope {
        if self.max_depth == 0 {
            return std::sync::Arc::new(|_: &Url| Ok(()));
        }
        let scope = self.scope.clone();
        let seed = job.seed().clone();
        std::sync::Arc::new(move |target: &Url| match scope.judge(&seed, target) {
            Verdict::Follow => Ok(()),
            other => Err(format!("is not followed ({})", other.reason())),
        })
    }

    /// The rules of `config`'s `[crawl]` table.
    pub fn new(config: &Config) -> Self {
        let crawl = &config.settings.crawl;
        Self {
            max_depth: crawl.max_depth,
            scope: config.scope.clone(),
            follow_nofollow: crawl.follow_nofollow,
            product_token: robots::product_token(&config.settings.user_agent),
            check_external: crawl.check_external,
            keeps_graph: config.settings.report.links,
        }
    }

    /// Whether `job` is a link that left its seed's scope: it is checked
    /// (`HEAD`, else `GET`), never crawled for links.
    pub fn is_check(&self, job: &Job) -> bool {
        job.lineage.is_some() && self.scope.judge(job.seed(), &job.url) == Verdict::OutOfScope
    }

    /// The same rules, with links extracted at any depth (`crawler links`
    /// shows what a page links to even beyond `max_depth`).
    pub fn at_any_depth(&self) -> Self {
        Self {
            max_depth: u32::MAX,
            ..self.clone()
        }
    }

    /// Whether the links of `job`'s page are needed at all.
    pub fn wants_links(&self, job: &Job) -> bool {
        job.depth() < self.max_depth && !self.is_check(job)
    }

    /// Judges the links of the page fetched for `job`, served from `final_url`
    /// with `robots_tags` (its `X-Robots-Tag` values).
    pub fn judge(
        &self,
        job: &Job,
        final_url: &Url,
        mut page: PageLinks,
        robots_tags: &[String],
    ) -> Judged {
        let is_too_deep = !self.wants_links(job);
        let page_verdict = self.scope.judge(job.seed(), final_url);
        let page_says_nofollow = !self.follow_nofollow
            && (page.is_meta_nofollow(&self.product_token)
                || is_header_nofollow(robots_tags, &self.product_token));
        let anchors = self.keeps_graph.then(|| {
            (page.links.iter_mut())
                .map(|link| std::mem::take(&mut link.anchor))
                .collect()
        });
        let links = page
            .links
            .into_iter()
            .map(|link| {
                let reason = if is_too_deep {
                    Reason::TooDeep
                } else if page_verdict == Verdict::OutOfScope {
                    Reason::Scope(Verdict::OutOfScope)
                } else if page_says_nofollow || (link.is_nofollow && !self.follow_nofollow) {
                    Reason::Nofollow
                } else {
                    match self.scope.judge(job.seed(), &link.url) {
                        Verdict::Follow => Reason::Follow,
                        Verdict::OutOfScope if self.check_external => Reason::Check,
                        other => Reason::Scope(other),
                    }
                };
                (link.url, reason)
            })
            .collect();
        Judged { links, anchors }
    }
}

/// Whether `X-Robots-Tag` values say `nofollow` (or `none`) for everyone or
/// for `product_token` (`X-Robots-Tag: crawler: nofollow`).
pub fn is_header_nofollow(values: &[String], product_token: &str) -> bool {
    values.iter().any(|value| {
        let directives = match value.split_once(':') {
            Some((name, rest)) if is_agent_name(name) => {
                if !name.trim().eq_ignore_ascii_case(product_token) {
                    return false;
                }
                rest
            }
            _ => value.as_str(),
        };
        directives.split(',').any(|directive| {
            let directive = directive.trim();
            directive.eq_ignore_ascii_case("nofollow") || directive.eq_ignore_ascii_case("none")
        })
    })
}

/// Whether the text before a `:` names a crawler rather than a directive
/// that takes a value (`unavailable_after: …`).
fn is_agent_name(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty()
        && !name.eq_ignore_ascii_case("unavailable_after")
        && !name.contains(',')
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn header_nofollow_for_everyone_or_for_us() {
        assert!(is_header_nofollow(&tags(&["noindex, NoFollow"]), "crawler"));
        assert!(is_header_nofollow(&tags(&["none"]), "crawler"));
        assert!(is_header_nofollow(&tags(&["Crawler: nofollow"]), "crawler"));
        assert!(!is_header_nofollow(
            &tags(&["googlebot: nofollow"]),
            "crawler"
        ));
        assert!(!is_header_nofollow(&tags(&["noindex"]), "crawler"));
        assert!(!is_header_nofollow(
            &tags(&["unavailable_after: 25 Jun 2010 15:00:00 PST"]),
            "crawler"
        ));
        assert!(is_header_nofollow(
            &tags(&["googlebot: noindex", "crawler: none"]),
            "crawler"
        ));
    }
}
