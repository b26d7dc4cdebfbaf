//! `crawler links URL`: a page's links in document order, each with
//! whether the configured crawl would follow it, robots.txt of each link's
//! host included.

use std::collections::HashMap;
use std::path::Path;

use url::Url;

use super::{ExitCode, close_helpers, one_url, one_url_helpers};
use crate::crawl::Job;
use crate::crawl::follow::{Reason, Rules};
use crate::crawl::politeness::robots::{self, Verdict};
use crate::crawl::worker;
use crate::fetch::Fetcher;

/// robots.txt files fetched by one `crawler links` at most; links to
/// further hosts are judged without theirs.
const MAX_ROBOTS_FETCHES: usize = 100;

/// Fetches `url` with the config at `path` (rendered first when `render`)
/// and prints `URL<TAB>reason` lines.
pub fn print(url: &str, path: &Path, render: bool) -> ExitCode {
    let (config, url, fetcher) = match one_url(url, path) {
        Ok(prepared) => prepared,
        Err(code) => return code,
    };
    let helpers = match one_url_helpers(&config, render) {
        Ok(helpers) => helpers,
        Err(code) => return code,
    };
    let rules = Rules::new(&config);
    let job = Job::new(url);
    let attempt = async_std::task::block_on(worker::attempt(
        &fetcher,
        &rules.at_any_depth(),
        &helpers,
        &job,
    ));
    close_helpers(&helpers);
    if let Some(error) = &attempt.record.render_error {
        eprintln!("crawler: render_error: {error}");
    }
    if let Some(error) = &attempt.record.error {
        eprintln!("crawler: {error}");
        return ExitCode::Runtime;
    }
    let (Some(reasons), Some(links)) = (attempt.reasons, attempt.record.links) else {
        eprintln!(
            "crawler: `{}` is not an HTML page: it has no links",
            attempt.record.final_url
        );
        return ExitCode::Ok;
    };
    let too_deep = !rules.wants_links(&job);
    let politeness = &config.settings.politeness;
    let mut robots = RobotsCheck::new(
        &fetcher,
        politeness.respect_robots_txt,
        robots::product_token(&config.settings.user_agent),
    );
    for (link, reason) in links.iter().zip(reasons) {
        let Ok(link) = Url::parse(link) else {
            continue;
        };
        let reason = match reason {
            Reason::Follow if too_deep => Reason::TooDeep,
            Reason::Follow if !robots.allows(&link) => Reason::Robots,
            other => other,
        };
        println!("{link}\t{}", reason.as_str());
    }
    ExitCode::Ok
}

/// robots.txt of each host, fetched once.
struct RobotsCheck<'a> {
    fetcher: &'a Fetcher,
    is_on: bool,
    token: String,
    hosts: HashMap<String, Verdict>,
}

impl<'a> RobotsCheck<'a> {
    fn new(fetcher: &'a Fetcher, is_on: bool, token: String) -> Self {
        Self {
            fetcher,
            is_on,
            token,
            hosts: HashMap::new(),
        }
    }

    /// Whether robots.txt of `link`'s host lets us fetch it.
    fn allows(&mut self, link: &Url) -> bool {
        let Some(robots_url) = self.is_on.then(|| robots::robots_url(link)).flatten() else {
            return true;
        };
        let key = robots_url.to_string();
        if !self.hosts.contains_key(&key) {
            if self.hosts.len() >= MAX_ROBOTS_FETCHES {
                return true;
            }
            let response = async_std::task::block_on(self.fetcher.fetch_robots(&robots_url));
            let verdict = robots::judge(&self.token, &robots_url, &response);
            self.hosts.insert(key.clone(), verdict);
        }
        match self.hosts.get_mut(&key) {
            Some(Verdict::Rules(rules)) => rules.allows(&self.token, link),
            Some(Verdict::DisallowAll(_)) => false,
            Some(Verdict::AllowAll(_)) | None => true,
        }
    }
}
