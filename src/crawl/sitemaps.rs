//! `crawl.sitemaps`: for each seed's host, the sitemaps its robots.txt
//! names in `Sitemap:` lines (else `/sitemap.xml`), index files followed,
//! plain or gzip; their in-scope entries enter the crawl at depth 1 of
//! that seed, `found_on` the sitemap.

use std::collections::{HashSet, VecDeque};

use url::Url;

use crate::config::Config;
use crate::crawl::politeness::robots;
use crate::extract::sitemap::{self, MAX_BYTES, Sitemap};
use crate::fetch::Fetcher;
use crate::frontier::store::Store;
use crate::urls::parse_seed;
use crate::urls::scope::Verdict;

/// Hosts whose sitemaps are read at most (the first seed of each).
const MAX_HOSTS: usize = 1000;
/// Sitemap files read per host at most, index files included.
const MAX_FILES_PER_HOST: usize = 100;

/// Reads the sitemaps of every seed host of `config` into the store;
/// returns how many URLs they added. Problems are logged and skipped.
pub async fn discover(store: &Store, config: &Config, fetcher: &Fetcher) -> u64 {
    let mut added = 0;
    for seed in seed_per_host(config) {
        added += discover_host(store, config, fetcher, &seed).await;
    }
    added
}

/// The first seed of each host, up to [`MAX_HOSTS`].
fn seed_per_host(config: &Config) -> Vec<Url> {
    let mut hosts = HashSet::new();
    let mut seeds = Vec::new();
    let mut stream = config.seed_stream();
    loop {
        let batch = stream.next_batch(10_000);
        if batch.is_empty() {
            return seeds;
        }
        for seed in batch {
            if hosts.insert(seed.origin().ascii_serialization()) {
                seeds.push(seed);
                if seeds.len() == MAX_HOSTS {
                    log::warn!(
                        "crawl.sitemaps: sitemaps are read for the first {MAX_HOSTS} seed hosts only"
                    );
                    return seeds;
                }
            }
        }
    }
}

/// The sitemap URLs `seed`'s robots.txt names, else its `/sitemap.xml`.
async fn sitemap_urls(fetcher: &Fetcher, seed: &Url) -> Vec<Url> {
    let Some(robots_url) = robots::robots_url(seed) else {
        return Vec::new();
    };
    let response = fetcher.fetch_robots(&robots_url).await;
    let named: Vec<Url> = match response.status {
        Some(200..=299) if response.error.is_none() => robots::sitemaps(&response.body)
            .iter()
            .filter_map(|text| robots_url.join(text).ok())
            .collect(),
        _ => Vec::new(),
    };
    if named.is_empty() {
        return seed.join("/sitemap.xml").into_iter().collect();
    }
    named
}

async fn discover_host(store: &Store, config: &Config, fetcher: &Fetcher, seed: &Url) -> u64 {
    let mut queue: VecDeque<Url> = sitemap_urls(fetcher, seed).await.into();
    let mut read = HashSet::new();
    let mut added = 0;
    while let Some(url) = queue.pop_front() {
        if !read.insert(url.to_string()) {
            continue;
        }
        if read.len() > MAX_FILES_PER_HOST {
            log::warn!(
                "sitemaps of `{}`: more than {MAX_FILES_PER_HOST} files; the rest are not read",
                seed.origin().ascii_serialization()
            );
            break;
        }
        let Some((sitemap, is_from_public)) = fetch_sitemap(fetcher, &url).await else {
            continue;
        };
        match sitemap {
            Sitemap::Index(listed) => {
                report(&url, "sitemaps", &listed);
                queue.extend(
                    listed
                        .locations
                        .iter()
                        .filter_map(|text| url.join(text).ok()),
                );
            }
            Sitemap::Pages(listed) => {
                report(&url, "URLs", &listed);
                let entries = in_scope(config, seed, &listed.locations);
                let (seed, sitemap) = (seed.clone(), url.to_string());
                let stored = store
                    .call(move |frontier, _| {
                        frontier.add_sitemap(&seed, &sitemap, &entries, is_from_public)
                    })
                    .await;
                match stored {
                    Some(Ok(count)) => added += count,
                    Some(Err(err)) => log::error!("sitemap `{url}`: {err}"),
                    None => return added,
                }
            }
        }
    }
    added
}

/// Fetches and reads one sitemap; `None` (logged) when it cannot be.
async fn fetch_sitemap(fetcher: &Fetcher, url: &Url) -> Option<(Sitemap, bool)> {
    let response = fetcher.fetch_prefix(url, MAX_BYTES + 1).await;
    if let Some(error) = &response.error {
        log::warn!("sitemap `{url}` could not be fetched: {error}");
        return None;
    }
    match response.status {
        Some(200..=299) => {}
        Some(status) => {
            log::info!("sitemap `{url}` answered HTTP {status}; skipped");
            return None;
        }
        None => return None,
    }
    match sitemap::read(&response.body) {
        Ok(sitemap) => Some((sitemap, response.is_from_public)),
        Err(err) => {
            log::warn!("sitemap `{url}` {err}; skipped");
            None
        }
    }
}

fn report(url: &Url, what: &str, listed: &sitemap::Listed) {
    log::info!("sitemap `{url}`: {} {what}", listed.locations.len());
    if listed.left_out > 0 {
        log::warn!(
            "sitemap `{url}` lists more than {} entries; {} were left out (the sitemaps.org limit)",
            sitemap::MAX_URLS,
            listed.left_out
        );
    }
    if listed.unresolved > 0 {
        log::warn!(
            "sitemap `{url}`: {} entries use an entity XML does not define (external entities are never read); left out",
            listed.unresolved
        );
    }
}

/// The entries that parse as URLs and are within `seed`'s scope.
fn in_scope(config: &Config, seed: &Url, locations: &[String]) -> Vec<String> {
    locations
        .iter()
        .filter_map(|text| parse_seed(text).ok())
        .filter(|url| config.scope.judge(seed, url) == Verdict::Follow)
        .map(String::from)
        .collect()
}
