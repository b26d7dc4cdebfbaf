//! Bytes of politeness state per host: 100,000 hosts, each crawled once,
//! with and without a small robots.txt kept. Run: `cargo bench --bench host_memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crawler::crawl::Job;
use crawler::crawl::politeness::robots::{Rules, Verdict};
use crawler::crawl::politeness::{Action, HostKey, Hosts, Policy, Signal};
use url::Url;

/// Counts the bytes currently allocated.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: same layout as asked.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const HOSTS: usize = 100_000;
const ROBOTS: &str = "User-agent: *\nDisallow: /private/\nDisallow: /*.pdf$\nCrawl-delay: 2\n";

fn policy(robots: bool) -> Policy {
    Policy {
        respect_robots_txt: robots,
        product_token: "crawler".to_owned(),
        per_host_concurrency: 2,
        per_host_delay: std::time::Duration::ZERO,
        max_crawl_delay: std::time::Duration::from_secs(30),
    }
}

/// Crawls one page on each of [`HOSTS`] hosts; returns bytes per host kept
/// right after, and once the hosts are idle (a minute later).
fn bytes_per_host(robots: bool) -> (usize, usize) {
    let now = Instant::now();
    let before = ALLOCATED.load(Ordering::Relaxed);
    let mut hosts = Hosts::new(policy(robots), now);
    for i in 0..HOSTS {
        let url = format!("https://host-{i}.example.com/index.html");
        let job = Job::new(Url::parse(&url).expect("valid URL"));
        assert!(hosts.push(job, now).is_none());
        let mut at = now;
        loop {
            match hosts.next_action(at) {
                Some(Action::FetchRobots(key, _)) => {
                    let rules = Rules::parse("crawler", ROBOTS.as_bytes()).expect("robots");
                    hosts.robots_fetched(key, Verdict::Rules(rules), at);
                }
                Some(Action::Fetch(job)) => {
                    hosts.completed(HostKey::of(&job.url), Signal::Answered, at);
                    break;
                }
                // Waiting out the Crawl-delay after the robots.txt request.
                None => at = hosts.next_timer().expect("a host waiting"),
            }
        }
    }
    assert_eq!(hosts.len(), HOSTS);
    let active = ALLOCATED.load(Ordering::Relaxed) - before;
    hosts.sweep_idle(now + std::time::Duration::from_secs(120));
    assert_eq!(hosts.len(), HOSTS, "idle, not yet forgotten");
    let idle = ALLOCATED.load(Ordering::Relaxed) - before;
    drop(hosts);
    (active / HOSTS, idle / HOSTS)
}

fn main() {
    let (plain, plain_idle) = bytes_per_host(false);
    let (robots, robots_idle) = bytes_per_host(true);
    println!("{HOSTS} hosts, one page each; bytes of politeness state per host:");
    println!("  robots.txt off:            {plain} just after, {plain_idle} once idle");
    println!("  4-line robots.txt (a `$`): {robots} just after, {robots_idle} once idle");
}
