//! The report as one self-contained HTML page: inline CSS, inline script,
//! charts drawn as inline SVG, and the report's JSON embedded for the
//! tables (sortable, filterable, a page of rows at a time). Opened from
//! disk, it makes no request.

use std::fmt::Write as _;

use super::model::{Report, Summary};

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// `report` as a page.
pub fn write(report: &Report) -> String {
    write_with(report, false)
}

/// `report` as a page; a `live` one (served by the metrics endpoint)
/// links to its JSON and to the metrics.
pub fn write_with(report: &Report, live: bool) -> String {
    let mut page = String::with_capacity(64 * 1024);
    let title = format!("Crawl report: {}", report.store);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = write!(
        page,
        "<header><h1>Crawl report</h1>\n<p class=\"meta\">{} &middot; made {} &middot; \
         the crawl as it is now (each URL's last fetch)</p>\n",
        escape(&report.store),
        escape(&report.generated_at)
    );
    page.push_str(
        "<nav aria-label=\"Sections\"><ul>\
         <li><a href=\"#summary\">Summary</a></li><li><a href=\"#titles\">Titles</a></li>\
         <li><a href=\"#links\">Links</a></li><li><a href=\"#performance\">Performance</a></li>",
    );
    if live {
        page.push_str(
            "<li><a href=\"/report.json\">report.json</a></li><li><a href=\"/metrics\">metrics</a></li>\
             <li><a href=\"/\">reload</a></li>",
        );
    }
    page.push_str("</ul></nav></header>\n<main>\n");
    if let Some(summary) = &report.summary {
        summary_html(&mut page, summary);
    }
    problems_html(&mut page, report);
    page.push_str(
        "<div id=\"tables\"><noscript><p>The tables need JavaScript; \
         the same data is in this page's source as JSON.</p></noscript></div>\n</main>\n",
    );
    // `<` never appears raw in the embedded JSON: no `</script>` can end it early.
    let data = serde_json::to_string(report)
        .unwrap_or_else(|_| "{}".to_owned())
        .replace('<', "\\u003c");
    let _ = write!(
        page,
        "<script type=\"application/json\" id=\"report-data\">{data}</script>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n"
    );
    page
}

/// The summary: counts, then charts of outcomes, response times and depths.
fn summary_html(page: &mut String, summary: &Summary) {
    page.push_str("<section id=\"summary\" aria-labelledby=\"summary-h\">\n<h2 id=\"summary-h\">Summary</h2>\n<dl class=\"cards\">");
    for (name, value) in [
        ("URLs", summary.urls),
        ("Seeds", summary.seeds),
        ("Fetched", summary.fetched),
        ("Waiting", summary.waiting),
        ("Hosts", summary.hosts),
        ("External checked", summary.checked_external),
        ("Rendered", summary.rendered),
    ] {
        let _ = write!(page, "<div><dt>{name}</dt><dd>{value}</dd></div>");
    }
    page.push_str("</dl>\n");
    let _ = writeln!(
        page,
        "<p class=\"meta\">Fetches from {} to {}</p>",
        escape(summary.first_fetch.as_deref().unwrap_or("-")),
        escape(summary.last_fetch.as_deref().unwrap_or("-"))
    );
    page.push_str("<div class=\"charts\">\n");
    let outcomes: Vec<(String, u64)> = summary
        .outcomes
        .iter()
        .map(|(kind, count)| (kind.clone(), *count))
        .collect();
    page.push_str(&bar_chart("chart-outcomes", "URLs by outcome", &outcomes));
    let times: Vec<(String, u64)> = summary
        .response_times
        .iter()
        .map(|bucket| {
            let label = if bucket.le == "inf" {
                "slower".to_owned()
            } else {
                format!("≤ {} ms", bucket.le)
            };
            (label, bucket.count)
        })
        .collect();
    page.push_str(&bar_chart("chart-times", "Pages by response time", &times));
    let depths: Vec<(String, u64)> = summary
        .depths
        .iter()
        .map(|(depth, count)| (format!("depth {depth}"), *count))
        .collect();
    page.push_str(&bar_chart("chart-depths", "URLs by depth", &depths));
    page.push_str("</div>\n</section>\n");
}

/// How many of each problem the report found, each linking to its table.
fn problems_html(page: &mut String, report: &Report) {
    let mut problems: Vec<(&str, &str, usize)> = Vec::new();
    if let Some(links) = &report.links {
        problems.extend([
            ("broken", "Broken links", links.broken.len()),
            ("redirects", "Redirects", links.redirects.len()),
            ("robots", "Disallowed by robots.txt", links.robots.len()),
            ("not_html", "Not HTML (not broken)", links.not_html.len()),
        ]);
        if let Some(orphans) = &links.orphans {
            problems.push(("orphans", "Orphan pages", orphans.len()));
        }
    }
    if let Some(titles) = &report.titles {
        problems.extend([
            ("missing", "Missing titles", titles.missing.len()),
            ("empty", "Empty titles", titles.empty.len()),
            ("duplicate", "Duplicate titles", titles.duplicate.len()),
            ("too_long", "Titles too long", titles.too_long.len()),
            ("too_short", "Titles too short", titles.too_short.len()),
            ("multiple", "Several titles", titles.multiple.len()),
            (
                "changed_by_script",
                "Changed by JavaScript",
                titles.changed_by_script.len(),
            ),
            (
                "changed_recently",
                "Title changes",
                titles.changed_recently.len(),
            ),
        ]);
    }
    if problems.is_empty() {
        return;
    }
    page.push_str("<section id=\"problems\" aria-labelledby=\"problems-h\">\n<h2 id=\"problems-h\">Problems</h2>\n<ul class=\"problems\">");
    for (id, name, count) in problems {
        if count == 0 {
            let _ = write!(page, "<li class=\"none\">{name}: 0</li>");
        } else {
            let _ = write!(
                page,
                "<li><a href=\"#t-{id}-block\">{name}: {count}</a></li>"
            );
        }
    }
    page.push_str("</ul>\n</section>\n");
}

/// A horizontal bar chart as inline SVG, with a text alternative.
fn bar_chart(id: &str, title: &str, bars: &[(String, u64)]) -> String {
    const ROW: usize = 22;
    const LABEL: usize = 130;
    const WIDTH: usize = 420;
    let max = bars
        .iter()
        .map(|(_, count)| *count)
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW * bars.len().max(1) + 8;
    let description: Vec<String> = bars
        .iter()
        .map(|(label, count)| format!("{label}: {count}"))
        .collect();
    let mut svg = format!(
        "<figure><figcaption id=\"{id}-t\">{}</figcaption>\
         <svg id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 {WIDTH} {height}\" \
         width=\"100%\" preserveAspectRatio=\"xMinYMin meet\"><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(&description.join(", "))
    );
    let room = WIDTH - LABEL - 60;
    for (index, (label, count)) in bars.iter().enumerate() {
        let y = index * ROW + 4;
        let length = (*count as f64 / max as f64 * room as f64).round() as usize;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{}\" height=\"{}\" class=\"bar\"></rect>\
             <text x=\"{}\" y=\"{}\" class=\"value\">{count}</text>",
            LABEL - 6,
            y + 14,
            escape(label),
            length.max(1),
            ROW - 6,
            LABEL + length + 6,
            y + 14
        );
    }
    if bars.is_empty() {
        svg.push_str("<text x=\"10\" y=\"20\" class=\"label\">nothing yet</text>");
    }
    svg.push_str("</svg></figure>\n");
    svg
}

/// `text` escaped for HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_cannot_close_its_script() {
        let report = Report {
            store: "</script><b>x".to_owned(),
            ..Report::default()
        };
        let page = write(&report);
        assert_eq!(page.matches("</script>").count(), 2);
        assert!(page.contains("&lt;/script&gt;&lt;b&gt;x"));
    }

    #[test]
    fn a_chart_has_a_bar_and_a_text_alternative_per_value() {
        let svg = bar_chart("c", "Outcomes", &[("ok".into(), 9), ("dns".into(), 1)]);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("<desc id=\"c-d\">ok: 9, dns: 1</desc>"));
    }
}
