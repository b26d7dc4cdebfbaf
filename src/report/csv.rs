//! The report as CSV: one table per section, each with its header row, the
//! tables one after another with an empty line between them.

use super::model::{Inlink, Report, Target};

/// `report` as CSV tables.
pub fn write(report: &Report) -> String {
    let mut tables = Vec::new();
    if report.summary.is_some() {
        tables.push(summary(report));
    }
    if report.titles.is_some() {
        tables.push(titles(report));
    }
    if report.links.is_some() {
        tables.push(links(report));
    }
    if report.performance.is_some() {
        tables.push(performance(report));
    }
    tables.join("\n")
}

/// Writes `rows` under `header` as one CSV table.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let write = || -> Result<Vec<u8>, Box<dyn std::error::Error>> {
        let mut writer = ::csv::WriterBuilder::new()
            .flexible(false)
            .from_writer(Vec::new());
        writer.write_record(header)?;
        for row in rows {
            writer.write_record(row)?;
        }
        Ok(writer.into_inner().map_err(|err| err.to_string())?)
    };
    match write() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(err) => {
            log::error!("report: cannot write CSV: {err}");
            String::new()
        }
    }
}

fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_owned()
}

/// `summary`: one row per count (`metric`, `key`, `value`).
fn summary(report: &Report) -> String {
    let mut rows = Vec::new();
    if let Some(summary) = &report.summary {
        let mut add = |metric: &str, key: String, value: String| {
            rows.push(vec!["summary".to_owned(), metric.to_owned(), key, value]);
        };
        for (name, value) in [
            ("urls", summary.urls),
            ("seeds", summary.seeds),
            ("fetched", summary.fetched),
            ("waiting", summary.waiting),
            ("hosts", summary.hosts),
            ("rendered", summary.rendered),
            ("checked_external", summary.checked_external),
        ] {
            add(name, String::new(), value.to_string());
        }
        for (key, value) in &summary.outcomes {
            add("outcome", key.clone(), value.to_string());
        }
        for (key, value) in &summary.statuses {
            add("status", key.to_string(), value.to_string());
        }
        for (key, value) in &summary.depths {
            add("depth", key.to_string(), value.to_string());
        }
        for bucket in &summary.response_times {
            add(
                "response_ms_le",
                bucket.le.clone(),
                bucket.count.to_string(),
            );
        }
        add(
            "first_fetch",
            String::new(),
            text(summary.first_fetch.as_deref()),
        );
        add(
            "last_fetch",
            String::new(),
            text(summary.last_fetch.as_deref()),
        );
    }
    table(&["section", "metric", "key", "value"], rows)
}

/// `titles`: one row per page and defect.
fn titles(report: &Report) -> String {
    let mut rows = Vec::new();
    if let Some(titles) = &report.titles {
        let lists = [
            ("missing", &titles.missing),
            ("empty", &titles.empty),
            ("too_long", &titles.too_long),
            ("too_short", &titles.too_short),
            ("multiple", &titles.multiple),
            ("changed_by_script", &titles.changed_by_script),
        ];
        for (issue, list) in lists {
            for page in list {
                let detail = match (page.count, &page.static_title) {
                    (Some(count), _) => count.to_string(),
                    (None, Some(before)) => text(before.as_deref()),
                    _ => String::new(),
                };
                rows.push(vec![
                    "titles".to_owned(),
                    issue.to_owned(),
                    page.url.clone(),
                    text(page.title.as_deref()),
                    page.length.to_string(),
                    detail,
                    String::new(),
                ]);
            }
        }
        for duplicate in &titles.duplicate {
            for url in &duplicate.urls {
                rows.push(vec![
                    "titles".to_owned(),
                    "duplicate".to_owned(),
                    url.clone(),
                    duplicate.title.clone(),
                    duplicate.title.chars().count().to_string(),
                    duplicate.urls.len().to_string(),
                    String::new(),
                ]);
            }
        }
        for change in &titles.changed_recently {
            let to = text(change.to.as_deref());
            rows.push(vec![
                "titles".to_owned(),
                "changed_recently".to_owned(),
                change.url.clone(),
                to.clone(),
                to.chars().count().to_string(),
                text(change.from.as_deref()),
                change.at.clone(),
            ]);
        }
    }
    table(
        &["section", "issue", "url", "title", "length", "detail", "at"],
        rows,
    )
}

/// `links`: one row per linked URL and page linking to it.
fn links(report: &Report) -> String {
    let mut rows = Vec::new();
    let target_rows = |rows: &mut Vec<Vec<String>>, issue: &str, target: &Target| {
        let base = vec![
            "links".to_owned(),
            issue.to_owned(),
            target.url.clone(),
            target.status.map(|s| s.to_string()).unwrap_or_default(),
            target.kind.clone(),
            text(target.error.as_deref().or(target.content_type.as_deref())),
            String::new(),
            String::new(),
        ];
        push_inlinks(rows, &base, &target.inlinks);
    };
    if let Some(links) = &report.links {
        for target in &links.broken {
            target_rows(&mut rows, "broken", target);
        }
        for target in &links.not_html {
            target_rows(&mut rows, "not_html", target);
        }
        for target in &links.robots {
            target_rows(&mut rows, "robots", target);
        }
        for redirect in &links.redirects {
            let issue = if redirect.is_loop {
                "redirect_loop"
            } else if redirect.is_long {
                "redirect_chain"
            } else {
                "redirect"
            };
            let chain: Vec<String> = redirect
                .chain
                .iter()
                .map(|hop| format!("{} {}", hop.status, hop.url))
                .collect();
            let base = vec![
                "links".to_owned(),
                issue.to_owned(),
                redirect.url.clone(),
                redirect
                    .chain
                    .first()
                    .map(|hop| hop.status.to_string())
                    .unwrap_or_default(),
                "redirect".to_owned(),
                chain.join(" -> "),
                text(redirect.final_url.as_deref()),
                redirect.hops.to_string(),
            ];
            push_inlinks(&mut rows, &base, &redirect.inlinks);
        }
        for orphan in links.orphans.iter().flatten() {
            rows.push(vec![
                "links".to_owned(),
                "orphan".to_owned(),
                orphan.url.clone(),
                String::new(),
                orphan.source.to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    }
    table(
        &[
            "section",
            "issue",
            "url",
            "status",
            "kind",
            "detail",
            "final_url",
            "hops",
            "linked_from",
            "anchor",
        ],
        rows,
    )
}

/// One row per inlink of a target (one row with no inlink when none).
fn push_inlinks(rows: &mut Vec<Vec<String>>, base: &[String], inlinks: &[Inlink]) {
    if inlinks.is_empty() {
        let mut row = base.to_vec();
        row.extend([String::new(), String::new()]);
        rows.push(row);
    }
    for inlink in inlinks {
        let mut row = base.to_vec();
        row.extend([inlink.page.clone(), inlink.anchor.clone()]);
        rows.push(row);
    }
}

/// `performance`: hosts, then the slowest and the largest pages.
fn performance(report: &Report) -> String {
    let mut rows = Vec::new();
    if let Some(performance) = &report.performance {
        for host in &performance.hosts {
            rows.push(vec![
                "performance".to_owned(),
                "host".to_owned(),
                host.host.clone(),
                host.pages.to_string(),
                host.p50_ms.to_string(),
                host.p95_ms.to_string(),
                host.max_ms.to_string(),
                String::new(),
            ]);
        }
        for (kind, list) in [
            ("slowest", &performance.slowest),
            ("largest", &performance.largest),
        ] {
            for page in list {
                rows.push(vec![
                    "performance".to_owned(),
                    kind.to_owned(),
                    page.url.clone(),
                    "1".to_owned(),
                    String::new(),
                    String::new(),
                    page.ms.to_string(),
                    page.bytes.to_string(),
                ]);
            }
        }
    }
    table(
        &[
            "section", "kind", "name", "pages", "p50_ms", "p95_ms", "max_ms", "bytes",
        ],
        rows,
    )
}
