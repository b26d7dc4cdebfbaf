//! A deterministic corpus of generated pages shaped like real ones: a head
//! with meta tags, stylesheets, inline styles and scripts, JSON-LD; a body with
//! navigation, inline SVG icons (with their own `<title>`), articles, tables
//! and a footer. Titles carry entities, non-ASCII text and runs of whitespace.
//! Sizes follow a log-normal spread around a 41 KB median.
//!
//! Page `n` is the same bytes on every machine; its expected title (what a
//! browser shows) comes from [`expected_title`] without generating the page.

#![allow(dead_code)]

use encoding_rs::{UTF_8, WINDOWS_1252};

/// Median page size, in bytes.
pub const MEDIAN_SIZE: f64 = 41_000.0;

/// A generated page.
pub struct Page {
    /// The encoded body.
    pub body: Vec<u8>,
    /// `document.title` in a browser, or `None` for a page without a title.
    pub title: Option<String>,
}

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        Rng(seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(stream.wrapping_mul(0xD1B5_4A32_D192_ED03)))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "the", "crawler", "daemon", "network", "archive", "river", "garden", "market", "history",
    "science", "report", "weather", "council", "library", "music", "season", "harbour", "station",
    "journal", "forest", "energy", "travel", "recipe", "review", "guide", "season", "policy",
    "election", "match", "culture", "design", "museum", "village", "research", "product", "update",
    "release", "notes", "and", "of", "for", "with", "in", "on", "a", "new", "old", "best", "local",
    "national", "open", "free", "daily", "weekly", "quick", "deep", "simple", "modern",
];

/// Title pieces: (as written in the HTML, as the browser shows it).
const TITLE_PIECES: &[(&str, &str)] = &[
    ("&amp;", "&"),
    ("&#8211;", "\u{2013}"),
    ("&mdash;", "\u{2014}"),
    ("&eacute;t&eacute;", "\u{e9}t\u{e9}"),
    ("&quot;quoted&quot;", "\"quoted\""),
    ("&#x27;s", "'s"),
    ("caf\u{e9}", "caf\u{e9}"),
    ("M\u{fc}ller", "M\u{fc}ller"),
    ("Espa\u{f1}a", "Espa\u{f1}a"),
    ("\u{65e5}\u{672c}\u{8a9e}", "\u{65e5}\u{672c}\u{8a9e}"),
    (
        "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
        "\u{41f}\u{440}\u{438}\u{432}\u{435}\u{442}",
    ),
    ("\u{1f680}", "\u{1f680}"),
    ("a&nbsp;b", "a\u{a0}b"),
    ("&lt;b&gt;", "<b>"),
    ("&copy 2026", "\u{a9} 2026"),
    ("&euro;5", "\u{20ac}5"),
];

/// Where a page puts its title.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    /// Right after the charset and viewport meta tags (most pages).
    Early,
    /// After the stylesheets, inline style and scripts of the head.
    AfterAssets,
    /// In the body, after the navigation (the browser still finds it).
    InBody,
    /// No title at all.
    None,
}

/// The choices that decide a page's title, drawn from their own stream so
/// the title is known without generating the body.
struct TitlePlan {
    /// HTML source of the title's content.
    source: String,
    /// What a browser shows.
    shown: String,
    placement: Placement,
}

fn title_plan(index: u64) -> TitlePlan {
    let mut rng = Rng::new(index, 1);
    let placement = match rng.below(100) {
        0..=1 => Placement::None,
        2..=4 => Placement::InBody,
        5..=29 => Placement::AfterAssets,
        _ => Placement::Early,
    };
    let mut source = String::new();
    let mut shown = String::new();
    if rng.below(4) == 0 {
        source.push_str("\n    ");
    }
    let pieces = 3 + rng.below(6);
    for piece in 0..pieces {
        if piece > 0 {
            let gap = if rng.below(8) == 0 { "  \n\t " } else { " " };
            source.push_str(gap);
            shown.push(' ');
        }
        if rng.below(3) == 0 {
            let (written, displayed) = TITLE_PIECES[rng.below(TITLE_PIECES.len() as u64) as usize];
            source.push_str(written);
            shown.push_str(displayed);
        } else {
            let word = rng.pick(WORDS);
            source.push_str(word);
            shown.push_str(word);
        }
    }
    let suffix = format!(" | page {index}");
    source.push_str(&suffix);
    shown.push_str(&suffix);
    if rng.below(4) == 0 {
        source.push_str(" \r\n");
    }
    TitlePlan {
        source,
        shown,
        placement,
    }
}

/// `document.title` of page `index`, or `None` when it has no title.
pub fn expected_title(index: u64) -> Option<String> {
    let plan = title_plan(index);
    (plan.placement != Placement::None).then_some(plan.shown)
}

/// The path of page `index` on the server.
pub fn path_of(index: u64) -> String {
    format!("/p/{index}.html")
}

/// The page index in a URL or path made by [`path_of`] (a query is ignored).
pub fn index_of(url: &str) -> Option<u64> {
    let start = url.rfind("/p/")? + 3;
    let rest = &url[start..];
    rest[..rest.find(".html")?].parse().ok()
}

/// Generates page `index`.
pub fn page(index: u64) -> Page {
    let plan = title_plan(index);
    let mut rng = Rng::new(index, 2);
    // Log-normal size (σ ≈ 0.55) from the sum of 12 uniforms, kept in 6–240 KB.
    let normal = (0..12).map(|_| rng.unit()).sum::<f64>() - 6.0;
    let target = (MEDIAN_SIZE * (0.55 * normal).exp()).clamp(6_000.0, 240_000.0) as usize;
    let legacy = rng.below(10) == 0;
    let mut html = String::with_capacity(target + 4096);
    let title_element = format!("<title>{}</title>\n", plan.source);

    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n");
    html.push_str(if legacy {
        "<meta charset=\"windows-1252\">\n"
    } else {
        "<meta charset=\"utf-8\">\n"
    });
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    if plan.placement == Placement::Early {
        html.push_str(&title_element);
    }
    let description = sentence(&mut rng, 18);
    html.push_str(&format!(
        "<meta name=\"description\" content=\"{description}\">\n\
         <meta property=\"og:type\" content=\"article\">\n\
         <meta property=\"og:title\" content=\"{}\">\n\
         <meta name=\"twitter:card\" content=\"summary_large_image\">\n\
         <link rel=\"canonical\" href=\"https://example.invalid{}\">\n\
         <link rel=\"preconnect\" href=\"https://cdn.example.invalid\">\n\
         <link rel=\"stylesheet\" href=\"/static/site.{}.css\">\n\
         <link rel=\"icon\" href=\"/favicon.ico\">\n",
        plan.shown
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;"),
        path_of(index),
        rng.next() % 100_000
    ));
    html.push_str("<style>\n");
    for _ in 0..20 + rng.below(60) {
        let class = rng.pick(WORDS);
        html.push_str(&format!(
            ".{class}-{} {{ margin: {}px {}px; color: #{:06x}; font: 400 {}px/1.5 system-ui, sans-serif; }}\n",
            rng.below(100),
            rng.below(40),
            rng.below(40),
            rng.below(0xFF_FFFF),
            12 + rng.below(12)
        ));
    }
    html.push_str("</style>\n<script>\n");
    for _ in 0..10 + rng.below(50) {
        html.push_str(&format!(
            "window.dataLayer = window.dataLayer || []; dataLayer.push({{'event': '{}', 'id': {}, 'html': '<title>not this</title>' }});\n",
            rng.pick(WORDS),
            rng.next() % 1_000_000
        ));
    }
    html.push_str("</script>\n<script async src=\"/static/app.js\"></script>\n");
    if plan.placement == Placement::AfterAssets {
        html.push_str(&title_element);
    }
    html.push_str(&format!(
        "<script type=\"application/ld+json\">{{\"@context\":\"https://schema.org\",\"@type\":\"Article\",\"headline\":\"{}\"}}</script>\n",
        sentence(&mut rng, 8)
    ));
    html.push_str("</head>\n<body class=\"page\">\n<header><nav><ul>\n");
    for _ in 0..8 + rng.below(20) {
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a></li>\n",
            path_of(rng.below(20_000)),
            rng.pick(WORDS)
        ));
    }
    html.push_str("</ul></nav>\n");
    html.push_str(&svg_icon(&mut rng));
    html.push_str("</header>\n");
    if plan.placement == Placement::InBody {
        html.push_str(&title_element);
    }
    html.push_str("<main><article>\n");
    html.push_str(&format!("<h1>{}</h1>\n", sentence(&mut rng, 7)));
    while html.len() < target {
        match rng.below(12) {
            0 => html.push_str(&svg_icon(&mut rng)),
            1 => html.push_str(&table(&mut rng)),
            2 => html.push_str(&format!("<h2>{}</h2>\n", sentence(&mut rng, 5))),
            _ => html.push_str(&paragraph(&mut rng)),
        }
    }
    html.push_str("</article></main>\n<footer><p>&copy; 2026 Example &mdash; all rights reserved.</p></footer>\n");
    html.push_str(
        "<script>document.documentElement.classList.add('js');</script>\n</body>\n</html>\n",
    );

    let encoding = if legacy { WINDOWS_1252 } else { UTF_8 };
    // Characters windows-1252 lacks become numeric character references.
    let body = encoding.encode(&html).0.into_owned();
    Page {
        body,
        title: (plan.placement != Placement::None).then_some(plan.shown),
    }
}

fn sentence(rng: &mut Rng, words: u64) -> String {
    let count = words / 2 + rng.below(words);
    let mut text = String::new();
    for i in 0..count.max(1) {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(rng.pick(WORDS));
    }
    text
}

fn paragraph(rng: &mut Rng) -> String {
    let mut text = String::from("<p>");
    for _ in 0..3 + rng.below(6) {
        match rng.below(10) {
            0 => text.push_str(&format!(
                "<a href=\"{}\" class=\"link\">{}</a>",
                path_of(rng.below(20_000)),
                sentence(rng, 3)
            )),
            1 => text.push_str(&format!("<em>{}</em>", sentence(rng, 3))),
            2 => text.push_str(&format!("<strong>{}</strong>", sentence(rng, 2))),
            3 => text
                .push_str("caf&eacute; &amp; cr\u{e8}me &ndash; na\u{ef}ve \u{2019}quotes\u{2019}"),
            _ => text.push_str(&sentence(rng, 12)),
        }
        text.push_str(". ");
    }
    text.push_str("</p>\n");
    text
}

fn table(rng: &mut Rng) -> String {
    let mut text = String::from(
        "<table class=\"data\"><thead><tr><th>name</th><th>value</th><th>change</th></tr></thead><tbody>\n",
    );
    for _ in 0..3 + rng.below(10) {
        text.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{:+}.{}%</td></tr>\n",
            rng.pick(WORDS),
            rng.below(100_000),
            rng.below(20) as i64 - 10,
            rng.below(10)
        ));
    }
    text.push_str("</tbody></table>\n");
    text
}

fn svg_icon(rng: &mut Rng) -> String {
    let mut path = String::new();
    for _ in 0..6 + rng.below(20) {
        path.push_str(&format!(
            "L{}.{} {}.{} ",
            rng.below(24),
            rng.below(10),
            rng.below(24),
            rng.below(10)
        ));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 24 24\" width=\"24\" height=\"24\" aria-hidden=\"true\"><title>{} icon</title><path d=\"M0 0 {path}Z\" fill=\"currentColor\"/></svg>\n",
        rng.pick(WORDS)
    )
}

/// Index pages of [`INDEX_SIZE`] links each that a site of `pages` pages needs.
pub fn index_pages(pages: u64) -> u64 {
    pages.div_ceil(INDEX_SIZE)
}

/// Links on one index page.
pub const INDEX_SIZE: u64 = 1000;

/// The path of index page `index`.
pub fn index_path(index: u64) -> String {
    format!("/i/{index}.html")
}

/// `/index.html`: links to every index page.
pub fn site_root(pages: u64) -> Vec<u8> {
    let mut html = String::from("<!DOCTYPE html>\n<title>Site index</title>\n<ul>\n");
    for index in 0..index_pages(pages) {
        html.push_str(&format!(
            "<li><a href=\"{}\">pages {}</a>\n",
            index_path(index),
            index
        ));
    }
    html.push_str("</ul>\n");
    html.into_bytes()
}

/// Index page `index`: links to pages `index * INDEX_SIZE ..` of the site.
pub fn site_index(index: u64, pages: u64) -> Vec<u8> {
    let mut html = format!("<!DOCTYPE html>\n<title>Pages, part {index}</title>\n<ol>\n");
    let first = index * INDEX_SIZE;
    for page in first..(first + INDEX_SIZE).min(pages) {
        html.push_str(&format!(
            "<li><a href=\"../p/{page}.html\">page {page}</a>\n"
        ));
    }
    html.push_str("</ol>\n<a href=\"/index.html\">all parts</a>\n");
    html.into_bytes()
}

/// Page `index` of a site: the corpus page (whose navigation and text
/// already link to random pages of the first 20,000) with the links a
/// crawler must not follow: `mailto:`, `tel:`, `#top` and another site.
pub fn site_page(index: u64) -> Vec<u8> {
    let mut body = page(index).body;
    let mut rng = Rng::new(index, 7);
    let links = format!(
        "<aside><ul id=\"contact\">\n<li><a href=\"mailto:desk{}@example.invalid\">mail</a>\n\
         <li><a href=\"tel:+1555{:07}\">call</a>\n<li><a href=\"#top\">top</a>\n\
         <li><a href=\"https://elsewhere.example.invalid/story/{}\">elsewhere</a>\n</ul></aside>\n",
        rng.below(100),
        rng.below(10_000_000),
        rng.below(1_000_000)
    );
    let at = body
        .windows(7)
        .rposition(|window| window == b"</body>")
        .unwrap_or(body.len());
    body.splice(at..at, links.into_bytes());
    body
}
