//! The report for a terminal: each list's first rows, with how many more.

use std::fmt::Write as _;

use super::model::{Inlink, Links, Performance, Report, Summary, Titles};

/// `report` as text, `top` rows per list.
pub fn write(report: &Report, top: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "crawl report of {} at {} (the crawl as it is now: each URL's last fetch)",
        report.store, report.generated_at
    );
    if let Some(summary) = &report.summary {
        summary_text(&mut out, summary);
    }
    if let Some(titles) = &report.titles {
        titles_text(&mut out, titles, report, top);
    }
    if let Some(links) = &report.links {
        links_text(&mut out, links, report.settings.link_graph, top);
    }
    if let Some(performance) = &report.performance {
        performance_text(&mut out, performance, top);
    }
    out
}

fn summary_text(out: &mut String, summary: &Summary) {
    let _ = writeln!(out, "\n== summary");
    let _ = writeln!(
        out,
        "urls: {} ({} seeds), fetched {}, waiting {}, hosts {}",
        summary.urls, summary.seeds, summary.fetched, summary.waiting, summary.hosts
    );
    let counts = |map: Vec<(String, u64)>| {
        if map.is_empty() {
            "none".to_owned()
        } else {
            map.into_iter()
                .map(|(key, count)| format!("{key} {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let outcomes = summary
        .outcomes
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let _ = writeln!(out, "outcomes: {}", counts(outcomes));
    let statuses = summary
        .statuses
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    let _ = writeln!(out, "statuses: {}", counts(statuses));
    let depths = summary
        .depths
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    let _ = writeln!(out, "depths: {}", counts(depths));
    if summary.checked_external > 0 {
        let _ = writeln!(out, "external links checked: {}", summary.checked_external);
    }
    if summary.rendered > 0 {
        let _ = writeln!(out, "rendered in Chromium: {}", summary.rendered);
    }
    let _ = writeln!(
        out,
        "fetches from {} to {}",
        summary.first_fetch.as_deref().unwrap_or("-"),
        summary.last_fetch.as_deref().unwrap_or("-")
    );
}

/// Writes a list's heading with its count, its first `top` rows, and how many more.
fn list<T>(out: &mut String, name: &str, items: &[T], top: usize, row: impl Fn(&T) -> String) {
    let _ = writeln!(out, "{name}: {}", items.len());
    for item in items.iter().take(top) {
        let _ = writeln!(out, "  {}", row(item));
    }
    if items.len() > top {
        let _ = writeln!(out, "  … and {} more", items.len() - top);
    }
}

fn quoted(title: Option<&str>) -> String {
    title.map_or_else(|| "(none)".to_owned(), |title| format!("\"{title}\""))
}

fn titles_text(out: &mut String, titles: &Titles, report: &Report, top: usize) {
    let _ = writeln!(out, "\n== titles ({} HTML pages)", titles.pages);
    list(out, "missing", &titles.missing, top, |p| p.url.clone());
    list(out, "empty", &titles.empty, top, |p| p.url.clone());
    list(out, "duplicate", &titles.duplicate, top, |d| {
        format!(
            "\"{}\" on {} pages: {}",
            d.title,
            d.urls.len(),
            d.urls.join(" ")
        )
    });
    let max = report.settings.title_max;
    list(
        out,
        &format!("over {max} characters"),
        &titles.too_long,
        top,
        |p| format!("{} ({}): {}", p.url, p.length, quoted(p.title.as_deref())),
    );
    let min = report.settings.title_min;
    list(
        out,
        &format!("under {min} characters"),
        &titles.too_short,
        top,
        |p| format!("{} ({}): {}", p.url, p.length, quoted(p.title.as_deref())),
    );
    list(out, "more than one <title>", &titles.multiple, top, |p| {
        format!("{} ({} titles)", p.url, p.count.unwrap_or_default())
    });
    list(
        out,
        "changed by JavaScript",
        &titles.changed_by_script,
        top,
        |p| {
            let before = p.static_title.clone().flatten();
            format!(
                "{}: {} -> {}",
                p.url,
                quoted(before.as_deref()),
                quoted(p.title.as_deref())
            )
        },
    );
    list(
        out,
        &format!("changed since {}", report.settings.changed_since),
        &titles.changed_recently,
        top,
        |c| {
            format!(
                "{} {}: {} -> {}{}",
                c.at,
                c.url,
                quoted(c.from.as_deref()),
                quoted(c.to.as_deref()),
                if c.changes > 1 {
                    format!(" ({} changes)", c.changes)
                } else {
                    String::new()
                }
            )
        },
    );
}

fn inlinks_text(inlinks: &[Inlink], count: u64) -> String {
    if count == 0 {
        return "linked from no crawled page (a seed or a sitemap entry)".to_owned();
    }
    let shown: Vec<String> = inlinks
        .iter()
        .take(3)
        .map(|inlink| {
            if inlink.anchor.is_empty() {
                inlink.page.clone()
            } else {
                format!("{} (\"{}\")", inlink.page, inlink.anchor)
            }
        })
        .collect();
    let more = count.saturating_sub(shown.len() as u64);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("linked from {}{more}", shown.join(", "))
}

fn links_text(out: &mut String, links: &Links, has_graph: bool, top: usize) {
    let _ = writeln!(out, "\n== links");
    list(out, "broken", &links.broken, top, |t| {
        let why = t
            .status
            .map_or_else(|| t.kind.clone(), |status| status.to_string());
        format!(
            "{} [{why}] {}",
            t.url,
            inlinks_text(&t.inlinks, t.inlink_count)
        )
    });
    list(
        out,
        "not HTML (answer 200, not broken)",
        &links.not_html,
        top,
        |t| {
            format!(
                "{} [{}] {}",
                t.url,
                t.content_type.as_deref().unwrap_or("no type"),
                inlinks_text(&t.inlinks, t.inlink_count)
            )
        },
    );
    list(out, "redirects", &links.redirects, top, |r| {
        let mut chain: Vec<String> = r
            .chain
            .iter()
            .map(|hop| format!("{} ({})", hop.url, hop.status))
            .collect();
        chain.push(
            r.final_url
                .clone()
                .unwrap_or_else(|| "(never ends)".to_owned()),
        );
        let flags = match (r.is_loop, r.is_long) {
            (true, _) => " [loop]",
            (false, true) => " [over 2 hops]",
            _ => "",
        };
        format!("{}{flags}", chain.join(" -> "))
    });
    list(out, "disallowed by robots.txt", &links.robots, top, |t| {
        format!("{} {}", t.url, inlinks_text(&t.inlinks, t.inlink_count))
    });
    match &links.orphans {
        Some(orphans) => list(
            out,
            "orphans (no crawled page links to them)",
            orphans,
            top,
            |o| format!("{} (from {})", o.url, o.source),
        ),
        None if !has_graph => {
            let _ = writeln!(out, "orphans: unknown (report.links = false)");
        }
        None => {}
    }
}

fn performance_text(out: &mut String, performance: &Performance, top: usize) {
    let _ = writeln!(out, "\n== performance");
    list(out, "hosts", &performance.hosts, top, |h| {
        format!(
            "{}: {} pages, p50 {} ms, p95 {} ms, max {} ms",
            h.host, h.pages, h.p50_ms, h.p95_ms, h.max_ms
        )
    });
    list(out, "slowest", &performance.slowest, top, |p| {
        format!("{} ms {}", p.ms, p.url)
    });
    list(out, "largest", &performance.largest, top, |p| {
        format!(
            "{} {}",
            bytesize::ByteSize::b(p.bytes).display().iec(),
            p.url
        )
    });
}
