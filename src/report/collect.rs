//! Reading a report out of the store: one pass over the URLs, one over
//! the link graph, one over recent title changes. Only what a section
//! lists is kept: a million-URL crawl never sits in memory whole.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::time::SystemTime;

use foldhash::fast::RandomState;

/// Maps and sets keyed by text or fingerprints, with a fast hash (no
/// attacker picks the keys of a report's own passes).
type Map<K, V> = HashMap<K, V, RandomState>;
type Set<K> = HashSet<K, RandomState>;

use super::model::{
    Bucket, Change, Duplicate, Hop, HostTimes, Inlink, Links, MAX_INLINKS, MAX_LISTED, Orphan,
    PageTitle, Performance, Redirect, Report, Sized, Summary, Target, Thresholds, Titles,
};
use super::{Section, Sections};
use crate::config::ReportSettings;
use crate::frontier::{self, Details, PageRow, StoreError, link_print};

/// Upper bounds of the response-time histogram, in milliseconds.
const TIME_BUCKETS: [u64; 8] = [50, 100, 250, 500, 1000, 2500, 5000, 10_000];

/// Reads the report of the crawl `store` holds, for `sections`.
///
/// # Errors
/// The store cannot be read.
pub fn collect(
    store: &mut dyn frontier::Frontier,
    settings: &ReportSettings,
    sections: &Sections,
    now: SystemTime,
) -> Result<Report, StoreError> {
    let since = now
        .checked_sub(settings.recent)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut pass = Pass::new(settings);
    store.each_page(&mut |row| pass.page(row))?;
    pass.keep_orphan_candidates();
    if settings.links && sections.has(Section::Links) {
        pass.index_prints();
        let mut damaged = 0u64;
        let mut reader = frontier::OutlinkReader::default();
        store.each_outlinks(&mut |page, stored| {
            // Most pages link to nothing listed: their text stays deflated.
            if frontier::may_link_to(stored, |print| pass.wants(print))
                && !reader.each(page, stored, |url, anchor| pass.link(page, url, anchor))
            {
                damaged += 1;
            }
        })?;
        if damaged > 0 {
            log::warn!(
                "report: the stored links of {damaged} pages do not decode (damaged); they are left out"
            );
        }
    }
    let mut changes = Map::<String, Changes>::default();
    if sections.has(Section::Titles) {
        store.each_title_change(since, &mut |url, change| match changes.get_mut(url) {
            Some(seen) => seen.add(change),
            None => {
                changes.insert(url.to_owned(), Changes::new(change));
            }
        })?;
    }
    let rendered = if sections.has(Section::Summary) {
        store.status(now)?.rendered
    } else {
        0
    };
    let mut report = Report {
        generated_at: rfc3339(now),
        covers: "now",
        store: store.location().display().to_string(),
        settings: Thresholds {
            title_max: settings.title_max,
            title_min: settings.title_min,
            changed_since: rfc3339(since),
            link_graph: settings.links,
        },
        ..Report::default()
    };
    let (summary, titles, links, performance) = pass.finish(changes);
    if sections.has(Section::Summary) {
        report.summary = Some(Summary {
            rendered,
            ..summary
        });
    }
    if sections.has(Section::Titles) {
        report.titles = Some(titles);
    }
    if sections.has(Section::Links) {
        report.links = Some(links);
    }
    if sections.has(Section::Performance) {
        report.performance = Some(performance);
    }
    Ok(report)
}

/// A time as reports write it.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// Where a linked URL is listed.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Broken(usize),
    NotHtml(usize),
    Robots(usize),
    Redirect(usize),
}

/// What the passes gathered so far.
struct Pass<'a> {
    settings: &'a ReportSettings,
    summary: Summary,
    hosts: Map<String, Vec<u64>>,
    titles: Titles,
    by_title: Map<String, Vec<String>>,
    links: Links,
    /// Listed URLs, by fingerprint → where they are listed.
    targets: Map<u64, Vec<Slot>>,
    /// Each listed target's first page (by fingerprint), used when the
    /// graph knows no inlink.
    found_on: Map<u64, String>,
    /// Fingerprints of every URL in the crawl; of the orphan candidates;
    /// of the candidates a page links to.
    known: Set<u64>,
    candidates: Set<u64>,
    linked: Set<u64>,
    /// Listed targets and orphan candidates by the short fingerprint
    /// stored with each link ([`frontier::short_print`]).
    prints: Map<u32, Vec<u64>>,
    /// Seeds (no page) and pages found on something that is not a page
    /// (a sitemap; the fingerprint of what they were found on). While the
    /// URLs are read, every page found on something is kept.
    orphan_candidates: Vec<(String, Option<u64>)>,
    slowest: BinaryHeap<Reverse<(u64, String, u64)>>,
    largest: BinaryHeap<Reverse<(u64, String, u64)>>,
    times: [u64; TIME_BUCKETS.len() + 1],
    /// When the first and the last fetch started.
    fetched: Option<(SystemTime, SystemTime)>,
}

impl<'a> Pass<'a> {
    fn new(settings: &'a ReportSettings) -> Self {
        Self {
            settings,
            summary: Summary::default(),
            hosts: Map::default(),
            titles: Titles::default(),
            by_title: Map::default(),
            links: Links::default(),
            targets: Map::default(),
            found_on: Map::default(),
            known: Set::default(),
            candidates: Set::default(),
            linked: Set::default(),
            prints: Map::default(),
            orphan_candidates: Vec::new(),
            slowest: BinaryHeap::new(),
            largest: BinaryHeap::new(),
            times: [0; TIME_BUCKETS.len() + 1],
            fetched: None,
        }
    }

    fn page(&mut self, mut row: PageRow) {
        self.summary.urls += 1;
        self.summary.seeds += u64::from(row.is_seed);
        *self.summary.depths.entry(row.depth).or_default() += 1;
        self.known.insert(link_print(&row.url));
        let has_details = row.details.is_some();
        let details = row.details.take().unwrap_or_default();
        let host = host_of(&row.url);
        let times = match self.hosts.get_mut(host) {
            Some(times) => times,
            None => self.hosts.entry(host.to_owned()).or_default(),
        };
        if has_details && !details.is_check && row.outcome.as_deref() == Some("ok") {
            times.push(details.elapsed_ms);
            self.timed(&row.url, &details);
        }
        if row.is_seed {
            self.orphan_candidates.push((row.url.clone(), None));
        } else if let Some(found_on) = &row.found_on
            && !details.is_check
        {
            self.orphan_candidates
                .push((row.url.clone(), Some(link_print(found_on))));
        }
        let Some(outcome) = row.outcome.take() else {
            self.summary.waiting += 1;
            return;
        };
        self.count(&row, &details, &outcome);
        if !details.redirects.is_empty() {
            self.redirect(&row, &details, &outcome);
        }
        match outcome.as_str() {
            "ok" | "not_modified" if !details.is_check => self.title(&row, &details),
            "ok" | "not_modified" => {}
            "robots" => self.target(&row, &details, &outcome, Slot::Robots),
            "content_type" if details.status.is_some_and(|s| (200..300).contains(&s)) => {
                self.target(&row, &details, &outcome, Slot::NotHtml);
            }
            _ => self.target(&row, &details, &outcome, Slot::Broken),
        }
    }

    /// Counts a fetched URL in the summary.
    fn count(&mut self, row: &PageRow, details: &Details, outcome: &str) {
        let summary = &mut self.summary;
        summary.fetched += 1;
        summary.checked_external += u64::from(details.is_check);
        match summary.outcomes.get_mut(outcome) {
            Some(count) => *count += 1,
            None => {
                summary.outcomes.insert(outcome.to_owned(), 1);
            }
        }
        if let Some(status) = details.status {
            *summary.statuses.entry(status).or_default() += 1;
        }
        if let Some(at) = row.fetched_at {
            let (first, last) = self.fetched.get_or_insert((at, at));
            *first = (*first).min(at);
            *last = (*last).max(at);
        }
    }

    /// Counts a fetched page's response time and size.
    fn timed(&mut self, url: &str, details: &Details) {
        let bucket = TIME_BUCKETS
            .iter()
            .position(|&le| details.elapsed_ms <= le)
            .unwrap_or(TIME_BUCKETS.len());
        self.times[bucket] += 1;
        keep_top(&mut self.slowest, (details.elapsed_ms, url, details.bytes));
        keep_top(&mut self.largest, (details.bytes, url, details.elapsed_ms));
    }

    /// Checks the title of an HTML page whose last fetch succeeded.
    fn title(&mut self, row: &PageRow, details: &Details) {
        if details.final_url.is_some() {
            // Its title is its final URL's, checked there.
            return;
        }
        let titles = &mut self.titles;
        titles.pages += 1;
        let length = row
            .title
            .as_deref()
            .map_or(0, |title| title.chars().count());
        let entry = PageTitle {
            url: row.url.clone(),
            title: row.title.clone(),
            length,
            ..PageTitle::default()
        };
        match row.title.as_deref() {
            None => titles.missing.push(entry.clone()),
            Some("") => titles.empty.push(entry.clone()),
            Some(title) => {
                if length > self.settings.title_max {
                    titles.too_long.push(entry.clone());
                } else if length < self.settings.title_min {
                    titles.too_short.push(entry.clone());
                }
                self.by_title
                    .entry(title.to_owned())
                    .or_default()
                    .push(row.url.clone());
            }
        }
        if let Some(count) = details.titles.filter(|&count| count > 1) {
            titles.multiple.push(PageTitle {
                count: Some(count),
                ..entry.clone()
            });
        }
        if let Some(static_title) = &details.static_title {
            titles.changed_by_script.push(PageTitle {
                static_title: Some(static_title.clone()),
                ..entry
            });
        }
    }

    /// Lists a URL others may link to, in `slot`'s list.
    fn target(&mut self, row: &PageRow, details: &Details, kind: &str, slot: fn(usize) -> Slot) {
        let target = Target {
            url: row.url.clone(),
            status: details.status,
            kind: kind.to_owned(),
            error: details.error.clone(),
            content_type: details.content_type.clone(),
            external: details.is_check,
            ..Target::default()
        };
        let list = match slot(0) {
            Slot::Broken(_) => &mut self.links.broken,
            Slot::NotHtml(_) => &mut self.links.not_html,
            _ => &mut self.links.robots,
        };
        list.push(target);
        let index = slot(list.len() - 1);
        self.listed(row, index);
    }

    fn redirect(&mut self, row: &PageRow, details: &Details, outcome: &str) {
        let chain: Vec<Hop> = details
            .redirects
            .iter()
            .map(|(url, status)| Hop {
                url: url.clone(),
                status: *status,
            })
            .collect();
        let final_url = details.final_url.clone().filter(|_| outcome != "redirects");
        let mut seen = HashSet::new();
        let is_loop = chain
            .iter()
            .map(|hop| hop.url.as_str())
            .chain(details.final_url.as_deref())
            .any(|url| !seen.insert(url));
        let hops = chain.len();
        self.links.redirects.push(Redirect {
            url: row.url.clone(),
            chain,
            final_url,
            hops,
            is_loop,
            is_long: hops > 2,
            ..Redirect::default()
        });
        let index = Slot::Redirect(self.links.redirects.len() - 1);
        self.listed(row, index);
    }

    fn listed(&mut self, row: &PageRow, slot: Slot) {
        let key = link_print(&row.url);
        self.targets.entry(key).or_default().push(slot);
        if let Some(found_on) = &row.found_on {
            self.found_on.insert(key, found_on.clone());
        }
    }

    /// Once every URL is known, keeps the orphan candidates that are
    /// seeds or were found on something that is not a page.
    fn keep_orphan_candidates(&mut self) {
        let known = &self.known;
        (self.orphan_candidates)
            .retain(|(_, found_on)| found_on.is_none_or(|on| !known.contains(&on)));
        self.candidates = (self.orphan_candidates.iter())
            .map(|(url, _)| link_print(url))
            .collect();
    }

    /// Indexes the listed targets and orphan candidates by short
    /// fingerprint, for [`Self::wants`].
    fn index_prints(&mut self) {
        for &key in self.targets.keys().chain(&self.candidates) {
            let keys = self.prints.entry(frontier::short_print(key)).or_default();
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }

    /// Whether a link with this short fingerprint may matter: it may be a
    /// listed target, or an orphan candidate no page is yet seen to link to.
    fn wants(&self, print: u32) -> bool {
        self.prints.get(&print).is_some_and(|keys| {
            keys.iter().any(|key| {
                self.targets.contains_key(key)
                    || (self.candidates.contains(key) && !self.linked.contains(key))
            })
        })
    }

    /// One link of the graph: `page` links to `url` with `anchor`.
    fn link(&mut self, page: &str, url: &str, anchor: &str) {
        let key = link_print(url);
        if url != page && self.candidates.contains(&key) {
            self.linked.insert(key);
        }
        let Some(slots) = self.targets.get(&key) else {
            return;
        };
        let inlink = Inlink {
            page: page.to_owned(),
            anchor: anchor.to_owned(),
        };
        for slot in slots {
            let (inlinks, count) = inlinks_at(&mut self.links, *slot);
            *count += 1;
            if inlinks.len() < MAX_INLINKS {
                inlinks.push(inlink.clone());
            }
        }
    }

    fn finish(mut self, changes: Map<String, Changes>) -> (Summary, Titles, Links, Performance) {
        self.fill_found_on();
        let has_graph = self.settings.links;
        let orphans = has_graph.then(|| {
            let linked = &self.linked;
            let mut orphans: Vec<Orphan> = (self.orphan_candidates.iter())
                .filter(|(url, _)| !linked.contains(&link_print(url)))
                .map(|(url, found_on)| Orphan {
                    url: url.clone(),
                    source: if found_on.is_some() {
                        "sitemap"
                    } else {
                        "seed"
                    },
                })
                .collect();
            orphans.sort_by(|a, b| a.url.cmp(&b.url));
            orphans
        });
        let mut links = self.links;
        links.orphans = orphans;
        for list in [&mut links.broken, &mut links.not_html, &mut links.robots] {
            for target in list.iter_mut() {
                target.inlinks.sort();
            }
            list.sort_by(|a, b| {
                (Reverse(a.inlink_count), &a.url).cmp(&(Reverse(b.inlink_count), &b.url))
            });
        }
        for redirect in &mut links.redirects {
            redirect.inlinks.sort();
        }
        links
            .redirects
            .sort_by(|a, b| (Reverse(a.hops), &a.url).cmp(&(Reverse(b.hops), &b.url)));
        let mut titles = self.titles;
        let mut duplicate: Vec<Duplicate> = (self.by_title.into_iter())
            .filter(|(_, urls)| urls.len() > 1)
            .map(|(title, mut urls)| {
                urls.sort();
                Duplicate { title, urls }
            })
            .collect();
        duplicate.sort_by(|a, b| {
            (Reverse(a.urls.len()), &a.title).cmp(&(Reverse(b.urls.len()), &b.title))
        });
        titles.duplicate = duplicate;
        for list in [
            &mut titles.missing,
            &mut titles.empty,
            &mut titles.multiple,
            &mut titles.changed_by_script,
        ] {
            list.sort();
        }
        titles
            .too_long
            .sort_by(|a, b| (Reverse(a.length), &a.url).cmp(&(Reverse(b.length), &b.url)));
        titles
            .too_short
            .sort_by(|a, b| (a.length, &a.url).cmp(&(b.length, &b.url)));
        let mut changes: Vec<(String, Changes)> = changes.into_iter().collect();
        changes.sort_by(|a, b| (Reverse(a.1.last), &a.0).cmp(&(Reverse(b.1.last), &b.0)));
        titles.changed_recently = changes
            .into_iter()
            .map(|(url, seen)| Change {
                url,
                at: rfc3339(seen.last),
                from: seen.from,
                to: seen.to,
                changes: seen.count,
            })
            .collect();
        let mut summary = self.summary;
        summary.hosts = self.hosts.len() as u64;
        summary.first_fetch = self.fetched.map(|(first, _)| rfc3339(first));
        summary.last_fetch = self.fetched.map(|(_, last)| rfc3339(last));
        summary.response_times = (TIME_BUCKETS.iter().map(|le| le.to_string()))
            .chain(std::iter::once("inf".to_owned()))
            .zip(self.times)
            .map(|(le, count)| Bucket { le, count })
            .collect();
        let performance = Performance {
            hosts: host_times(self.hosts),
            slowest: sorted_top(self.slowest, |(ms, url, bytes)| Sized { url, ms, bytes }),
            largest: sorted_top(self.largest, |(bytes, url, ms)| Sized { url, ms, bytes }),
        };
        (summary, titles, links, performance)
    }

    /// A listed target no page of the graph links to gets the page it was
    /// first found on (the graph is off, or was off then).
    fn fill_found_on(&mut self) {
        for (key, slots) in &self.targets {
            let Some(found_on) = self.found_on.get(key) else {
                continue;
            };
            for slot in slots {
                let (inlinks, count) = inlinks_at(&mut self.links, *slot);
                if *count == 0 {
                    *count = 1;
                    inlinks.push(Inlink {
                        page: found_on.clone(),
                        anchor: String::new(),
                    });
                }
            }
        }
    }
}

/// A URL's title changes within the report's window: the title before
/// the first, the title after the last, how many.
struct Changes {
    first: SystemTime,
    from: Option<String>,
    last: SystemTime,
    to: Option<String>,
    count: u64,
}

impl Changes {
    fn new(change: frontier::TitleChange) -> Self {
        Self {
            first: change.at,
            last: change.at,
            from: change.from,
            to: change.to,
            count: 1,
        }
    }

    fn add(&mut self, change: frontier::TitleChange) {
        self.count += 1;
        if change.at < self.first {
            self.first = change.at;
            self.from = change.from;
        } else if change.at >= self.last {
            self.last = change.at;
            self.to = change.to;
        }
    }
}

/// The inlinks of the entry `slot` names in `links`, and their count.
fn inlinks_at(links: &mut Links, slot: Slot) -> (&mut Vec<Inlink>, &mut u64) {
    let target = match slot {
        Slot::Broken(i) => &mut links.broken[i],
        Slot::NotHtml(i) => &mut links.not_html[i],
        Slot::Robots(i) => &mut links.robots[i],
        Slot::Redirect(i) => {
            let redirect = &mut links.redirects[i];
            return (&mut redirect.inlinks, &mut redirect.inlink_count);
        }
    };
    (&mut target.inlinks, &mut target.inlink_count)
}

/// Keeps the [`MAX_LISTED`] largest entries of a min-heap (the URL is
/// copied only when the entry is kept).
fn keep_top(heap: &mut BinaryHeap<Reverse<(u64, String, u64)>>, entry: (u64, &str, u64)) {
    let (key, url, other) = entry;
    let is_kept = heap.len() < MAX_LISTED
        || heap
            .peek()
            .is_some_and(|Reverse(least)| (key, url, other) > (least.0, least.1.as_str(), least.2));
    if is_kept {
        if heap.len() >= MAX_LISTED {
            heap.pop();
        }
        heap.push(Reverse((key, url.to_owned(), other)));
    }
}

/// The host of a URL as the crawl stores it (`scheme://host[:port]/…`,
/// without user info), lowercase already; empty when there is none.
fn host_of(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else {
        return "";
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_port.starts_with('[') {
        // An IPv6 literal keeps its brackets, as `Url::host_str` does.
        return host_port
            .find(']')
            .map_or(host_port, |end| &host_port[..=end]);
    }
    host_port.split(':').next().unwrap_or_default()
}

fn sorted_top(
    heap: BinaryHeap<Reverse<(u64, String, u64)>>,
    make: impl Fn((u64, String, u64)) -> Sized,
) -> Vec<Sized> {
    let mut entries: Vec<(u64, String, u64)> =
        heap.into_iter().map(|Reverse(entry)| entry).collect();
    entries.sort_by(|a, b| (Reverse(a.0), &a.1).cmp(&(Reverse(b.0), &b.1)));
    entries.into_iter().map(make).collect()
}

/// Each host's response-time percentiles (nearest rank), slowest p95 first.
fn host_times(hosts: Map<String, Vec<u64>>) -> Vec<HostTimes> {
    let mut list: Vec<HostTimes> = hosts
        .into_iter()
        .filter(|(_, times)| !times.is_empty())
        .map(|(host, mut times)| {
            times.sort_unstable();
            HostTimes {
                pages: times.len() as u64,
                p50_ms: percentile(&times, 50),
                p95_ms: percentile(&times, 95),
                max_ms: times.last().copied().unwrap_or_default(),
                host,
            }
        })
        .collect();
    list.sort_by(|a, b| (Reverse(a.p95_ms), &a.host).cmp(&(Reverse(b.p95_ms), &b.host)));
    list
}

/// The nearest-rank `p`th percentile of sorted `times`.
fn percentile(times: &[u64], p: usize) -> u64 {
    if times.is_empty() {
        return 0;
    }
    let rank = (p * times.len()).div_ceil(100).max(1);
    times[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_urls_changes_read_as_one_from_its_first_title_to_its_last() {
        let at = |secs| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let change = |secs, from: &str, to: &str| frontier::TitleChange {
            at: at(secs),
            from: Some(from.to_owned()),
            to: Some(to.to_owned()),
        };
        let mut seen = Changes::new(change(20, "B", "C"));
        seen.add(change(30, "C", "D"));
        seen.add(change(10, "A", "B"));
        assert_eq!(
            (seen.from.as_deref(), seen.to.as_deref()),
            (Some("A"), Some("D"))
        );
        assert_eq!((seen.first, seen.last, seen.count), (at(10), at(30), 3));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let times: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&times, 50), 10);
        assert_eq!(percentile(&times, 95), 19);
        assert_eq!(percentile(&[7], 95), 7);
    }

    #[test]
    fn the_top_keeps_the_largest() {
        let mut heap = BinaryHeap::new();
        for value in 0..(MAX_LISTED as u64 + 50) {
            keep_top(&mut heap, (value, &format!("u{value}"), 0));
        }
        let top = sorted_top(heap, |(ms, url, bytes)| Sized { url, ms, bytes });
        assert_eq!(top.len(), MAX_LISTED);
        assert_eq!(top[0].ms, MAX_LISTED as u64 + 49);
        assert_eq!(top[MAX_LISTED - 1].ms, 50);
    }

    #[test]
    fn a_host_is_read_as_the_url_crate_reads_it() {
        for url in [
            "http://example.com/a",
            "https://example.com:8443/a?b#c",
            "http://user:pass@127.0.0.1:80",
            "http://[::1]:8080/x",
            "http://[::1]",
            "https://example.com?query",
            "https://example.com#fragment",
        ] {
            let parsed = url::Url::parse(url).unwrap();
            assert_eq!(host_of(url), parsed.host_str().unwrap_or_default(), "{url}");
        }
        assert_eq!(host_of("not a url"), "");
    }
}
