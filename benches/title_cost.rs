//! Title extraction cost per page over the real pages in `../shared/corpus/real`
//! (or `$CRAWLER_CORPUS_DIR`), and a check that every title equals the one a
//! whole-document parse gives. Skips when the corpus is absent.
//!
//! Run: `cargo bench --bench title_cost`

use std::time::{Duration, Instant};

use crawler::extract::{self, charset};

#[path = "support/real.rs"]
mod real;

/// Mean time of one `html_title` call on `text`, over at least 20 ms.
fn cost_per_call(text: &str) -> Duration {
    let mut calls = 0u32;
    let started = Instant::now();
    while calls < 5 || started.elapsed() < Duration::from_millis(20) {
        std::hint::black_box(extract::html_title(std::hint::black_box(text)));
        calls += 1;
    }
    started.elapsed() / calls
}

fn main() {
    let pages = real::real_pages();
    if pages.is_empty() {
        return;
    }
    let mut costs = Vec::new();
    let mut mismatches = 0;
    for (path, body) in &pages {
        let text = charset::decode_html(body, None, None).text;
        let fast = extract::html_title(&text);
        let reference = extract::html_title_whole_document(&text);
        if fast != reference {
            mismatches += 1;
            println!("MISMATCH {}: {fast:?} != {reference:?}", path.display());
        }
        costs.push((cost_per_call(&text), path));
    }
    costs.sort();
    let at = |q: f64| costs[((costs.len() - 1) as f64 * q).round() as usize].0;
    println!(
        "title_cost: {} pages from {}: median {:.1} µs/page, p90 {:.1} µs, max {:.1} µs ({}); {} titles differ from a whole-document parse",
        costs.len(),
        real::corpus_dir().display(),
        at(0.5).as_secs_f64() * 1e6,
        at(0.9).as_secs_f64() * 1e6,
        at(1.0).as_secs_f64() * 1e6,
        costs[costs.len() - 1].1.display(),
        mismatches
    );
    if mismatches > 0 {
        std::process::exit(1);
    }
}
