//! Helper for `benches/e2e.sh`: generates the corpus, writes seed lists,
//! measures a command (wall time, peak RSS, CPU time) and checks the titles a
//! crawl wrote against the generator's.
//!
//! ```text
//! cargo run --release --example e2e -- generate DIR PAGES
//! cargo run --release --example e2e -- seeds BASE_URL PAGES COUNT > seeds.txt
//! cargo run --release --example e2e -- measure -- COMMAND [ARGS...]
//! cargo run --release --example e2e -- verify RESULTS.jsonl COUNT
//! cargo run --release --example e2e -- generate-site DIR PAGES
//! cargo run --release --example e2e -- verify-site RESULTS.jsonl PAGES [HOSTS]
//! cargo run --release --example e2e -- verify-tsv OUT.tsv PAGES
//! cargo run --release --example e2e -- requests ACCESS.log
//! ```
//!
//! A site (`generate-site`) is the corpus with index pages: `/index.html`
//! links to index pages of 1,000 links each (`/i/N.html`), which together
//! reach every page; each page keeps the corpus' own links to random pages
//! (65 on average) and gets `mailto:`, `tel:`, `#top` and off-site links.

mod corpus;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", dir, pages] => generate(Path::new(dir), parse(pages)),
        ["seeds", base, pages, count] => seeds(base, parse(pages), parse(count)),
        ["measure", "--", command @ ..] if !command.is_empty() => measure(command),
        ["verify", results, count] => verify(Path::new(results), parse(count)),
        ["generate-site", dir, pages] => generate_site(Path::new(dir), parse(pages)),
        ["verify-site", results, pages] => verify_site(Path::new(results), parse(pages), 1),
        ["verify-site", results, pages, hosts] => {
            verify_site(Path::new(results), parse(pages), parse(hosts))
        }
        ["verify-tsv", results, pages] => verify_tsv(Path::new(results), parse(pages)),
        ["requests", log] => requests(Path::new(log)),
        _ => Err(anyhow::anyhow!(
            "usage: e2e generate DIR PAGES | seeds BASE_URL PAGES COUNT | measure -- COMMAND... | verify RESULTS.jsonl COUNT | generate-site DIR PAGES | verify-site RESULTS.jsonl PAGES [HOSTS] | verify-tsv OUT.tsv PAGES | requests ACCESS.log"
        )),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            eprintln!("e2e: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn parse(number: &str) -> u64 {
    number.replace('_', "").parse().unwrap_or_else(|_| {
        eprintln!("e2e: `{number}` is not a count");
        std::process::exit(2)
    })
}

/// Writes pages `0..pages` under `dir/p/`, and prints their size statistics.
fn generate(dir: &Path, pages: u64) -> anyhow::Result<ExitCode> {
    let folder = dir.join("p");
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let mut sizes = Vec::with_capacity(pages as usize);
    let mut titled = 0;
    for index in 0..pages {
        let page = corpus::page(index);
        let path = dir.join(corpus::path_of(index).trim_start_matches('/'));
        std::fs::write(&path, &page.body).with_context(|| format!("writing {}", path.display()))?;
        sizes.push(page.body.len());
        titled += usize::from(page.title.is_some());
    }
    sizes.sort_unstable();
    let total: usize = sizes.iter().sum();
    println!(
        "generated {pages} pages in {}: median {} bytes, min {}, max {}, {:.0} MB in all, {titled} with a title",
        folder.display(),
        sizes.get(sizes.len() / 2).unwrap_or(&0),
        sizes.first().unwrap_or(&0),
        sizes.last().unwrap_or(&0),
        total as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints `count` distinct seed URLs over `pages` pages: each page once, then
/// again with `?r=N` (the server ignores the query; the crawler does not).
fn seeds(base: &str, pages: u64, count: u64) -> anyhow::Result<ExitCode> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    for n in 0..count {
        let (index, round) = (n % pages, n / pages);
        let path = corpus::path_of(index);
        if round == 0 {
            writeln!(out, "{base}{path}")?;
        } else {
            writeln!(out, "{base}{path}?r={round}")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `command`, then prints `wall_s=… peak_rss_kb=… cpu_s=…` and exits as it did.
fn measure(command: &[&str]) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let child = Command::new(command[0])
        .args(&command[1..])
        .spawn()
        .with_context(|| format!("starting {}", command[0]))?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; both pointers are to live locals.
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64();
    if waited < 0 {
        bail!(
            "waiting for {}: {}",
            command[0],
            std::io::Error::last_os_error()
        );
    }
    let cpu = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    println!(
        "wall_s={wall:.3} peak_rss_kb={} cpu_s={:.2} user_s={:.2} sys_s={:.2}",
        usage.ru_maxrss,
        cpu(usage.ru_utime) + cpu(usage.ru_stime),
        cpu(usage.ru_utime),
        cpu(usage.ru_stime)
    );
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        1
    };
    Ok(ExitCode::from(code as u8))
}

/// Checks that `results` holds exactly `count` records, one per seed, each
/// with status 200 and the generator's title.
fn verify(results: &Path, count: u64) -> anyhow::Result<ExitCode> {
    let file =
        std::fs::File::open(results).with_context(|| format!("opening {}", results.display()))?;
    let mut seen = HashSet::new();
    let mut wrong = 0u64;
    for line in BufReader::new(file).lines() {
        let line = line?;
        let record: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("record {line}"))?;
        let url = record["url"].as_str().unwrap_or_default().to_owned();
        let Some(index) = corpus::index_of(&url) else {
            bail!("record for an unknown URL: {line}");
        };
        let title = record["title"].as_str().map(str::to_owned);
        let expected = corpus::expected_title(index);
        if record["status"] != 200 || title != expected {
            wrong += 1;
            if wrong <= 5 {
                eprintln!(
                    "wrong: {url}: got status {} title {title:?}, expected {expected:?}",
                    record["status"]
                );
            }
        }
        if !seen.insert(url.clone()) {
            bail!("two records for {url}");
        }
    }
    let missing = count.saturating_sub(seen.len() as u64);
    println!(
        "verified {} records: {wrong} wrong, {missing} missing",
        seen.len()
    );
    Ok(if wrong == 0 && missing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Writes the site of `pages` pages under `dir`: `/index.html`, `/i/`, `/p/`.
fn generate_site(dir: &Path, pages: u64) -> anyhow::Result<ExitCode> {
    for folder in ["p", "i"] {
        let folder = dir.join(folder);
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("creating {}", folder.display()))?;
    }
    let write = |path: &str, body: &[u8]| {
        let path = dir.join(path.trim_start_matches('/'));
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))
    };
    write("/index.html", &corpus::site_root(pages))?;
    for index in 0..corpus::index_pages(pages) {
        write(
            &corpus::index_path(index),
            &corpus::site_index(index, pages),
        )?;
    }
    for index in 0..pages {
        write(&corpus::path_of(index), &corpus::site_page(index))?;
    }
    println!(
        "generated a site of {pages} pages and {} index pages in {}",
        corpus::index_pages(pages) + 1,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks a crawl of the site: one record for each of its pages and index
/// pages, nothing else, every page's title right.
fn verify_site(results: &Path, pages: u64, hosts: u64) -> anyhow::Result<ExitCode> {
    let file =
        std::fs::File::open(results).with_context(|| format!("opening {}", results.display()))?;
    let mut seen = HashSet::new();
    let (mut wrong, mut indexes) = (0u64, 0u64);
    for line in BufReader::new(file).lines() {
        let line = line?;
        let record: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("record {line}"))?;
        let url = record["url"].as_str().unwrap_or_default().to_owned();
        if !seen.insert(url.clone()) {
            bail!("two records for {url}");
        }
        let title = record["title"].as_str().map(str::to_owned);
        if url.contains("/i/") || url.ends_with("/index.html") {
            indexes += 1;
            continue;
        }
        let Some(index) = corpus::index_of(&url).filter(|index| *index < pages) else {
            bail!("record for a URL outside the site: {line}");
        };
        if record["status"] != 200 || title != corpus::expected_title(index) {
            wrong += 1;
        }
    }
    let found = seen.len() as u64 - indexes;
    let missing = (pages * hosts).saturating_sub(found);
    println!("verified {found} pages and {indexes} index pages: {wrong} wrong, {missing} missing");
    let all_indexes = indexes == (corpus::index_pages(pages) + 1) * hosts;
    Ok(if wrong == 0 && missing == 0 && all_indexes {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Grades a peer's `url<TAB>title` lines against the generator's titles
/// (ASCII whitespace collapsed on both sides).
fn verify_tsv(results: &Path, pages: u64) -> anyhow::Result<ExitCode> {
    let file =
        std::fs::File::open(results).with_context(|| format!("opening {}", results.display()))?;
    let collapse = |text: &str| text.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
    let mut seen = HashSet::new();
    let (mut right, mut wrong) = (0u64, 0u64);
    for line in BufReader::new(file).lines() {
        let line = line?;
        let (url, title) = line.split_once('\t').unwrap_or((line.as_str(), ""));
        let Some(index) = corpus::index_of(url).filter(|index| *index < pages) else {
            continue;
        };
        if !seen.insert(index) {
            continue;
        }
        let expected = corpus::expected_title(index).map(|title| collapse(&title));
        if Some(collapse(title)) == expected || (title.is_empty() && expected.is_none()) {
            right += 1;
        } else {
            wrong += 1;
        }
    }
    let missing = pages.saturating_sub(seen.len() as u64);
    println!(
        "peer: {} pages, {right} titles right, {wrong} wrong, {missing} missing",
        seen.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Counts the requests of an nginx access log of `$request_uri` lines: in
/// all, distinct, and fetched more than once.
fn requests(log: &Path) -> anyhow::Result<ExitCode> {
    let file = std::fs::File::open(log).with_context(|| format!("opening {}", log.display()))?;
    let mut counts = std::collections::HashMap::new();
    for line in BufReader::new(file).lines() {
        *counts.entry(line?).or_insert(0u64) += 1;
    }
    let total: u64 = counts.values().sum();
    let repeated = counts.values().filter(|count| **count > 1).count();
    println!(
        "requests={total} distinct={} repeated={repeated}",
        counts.len()
    );
    Ok(ExitCode::SUCCESS)
}
