//! Unit tests of the SQLite frontier on real files in a temp folder.

use std::time::{Duration, SystemTime};

use url::Url;

use super::*;
use crate::frontier::{Known, Outcome, Reschedule, SeedChanges};

fn url(path: &str) -> Url {
    Url::parse(&format!("http://127.0.0.1{path}")).unwrap()
}

fn store(dir: &tempfile::TempDir, interval: Duration) -> SqliteFrontier {
    SqliteFrontier::open(&dir.path().join("state.db"), None, interval)
        .unwrap()
        .0
}

fn list(store: &mut SqliteFrontier, paths: &[&str]) -> SeedChanges {
    let generation = store.begin_seeds().unwrap();
    let urls: Vec<Url> = paths.iter().map(|path| url(path)).collect();
    store
        .add_seeds(&urls, generation, SystemTime::now())
        .unwrap();
    store.end_seeds(generation).unwrap()
}

fn ok(url: &Url, title: &str) -> Outcome {
    Outcome {
        url: url.to_string(),
        fetched_at: SystemTime::now(),
        finished_at: SystemTime::now(),
        status: Some(200),
        error_kind: None,
        page: Some(Known {
            title: Some(title.to_owned()),
            etag: Some("\"e\"".to_owned()),
            last_modified: None,
        }),
        final_url: None,
        links: None,
        is_from_public: false,
    }
}

/// `ok` for a page whose links `paths` are followed.
fn linking(url: &Url, paths: &[&str]) -> Outcome {
    Outcome {
        links: Some(
            paths
                .iter()
                .map(|path| self::url(path).to_string())
                .collect(),
        ),
        ..ok(url, "page")
    }
}

/// Starts a `--once` run of `seeds` (paths) and claims them.
fn start_run(store: &mut SqliteFrontier, seeds: &[&str]) -> Vec<Claim> {
    store.begin_round().unwrap();
    let generation = store.begin_seeds().unwrap();
    let urls: Vec<Url> = seeds.iter().map(|path| url(path)).collect();
    store
        .list_and_claim(&urls, generation, SystemTime::now())
        .unwrap()
}

fn paths(claims: &[Claim]) -> Vec<String> {
    let mut paths: Vec<String> = claims
        .iter()
        .map(|claim| claim.url.path().to_owned())
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_once_run_fetches_each_link_once_breadth_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir, Duration::from_secs(3600));
    let seeds = start_run(&mut store, &["/"]);
    assert_eq!(seeds.len(), 1);
    store
        .commit(&[linking(&url("/"), &["/a", "/b", "/"])])
        .unwrap();
    let first = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(
        paths(&first),
        ["/a", "/b"],
        "the seed itself is not a discovered URL"
    );
    let lineage = first[0].lineage.clone().unwrap();
    assert_eq!((lineage.depth, lineage.seed.path()), (1, "/"));
    assert_eq!(lineage.found_on, url("/").to_string());
    store
        .commit(&[linking(&url("/a"), &["/b", "/c"]), ok(&url("/b"), "b")])
        .unwrap();
    let second = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(paths(&second), ["/c"], "/b was fetched in this run already");
    assert_eq!(second[0].lineage.as_ref().unwrap().depth, 2);
    store.commit(&[ok(&url("/c"), "c")]).unwrap();
    assert!(
        store
            .claim_discovered(SystemTime::now(), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.discovered(), 3);
    store.end_round().unwrap();

    // The next run finds and fetches them again.
    start_run(&mut store, &["/"]);
    store.commit(&[linking(&url("/"), &["/a"])]).unwrap();
    assert_eq!(
        paths(&store.claim_discovered(SystemTime::now(), 10).unwrap()),
        ["/a"]
    );
}

#[test]
fn discovered_urls_in_flight_at_a_crash_are_claimed_again_in_the_resumed_run() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = store(&dir, Duration::from_secs(3600));
        start_run(&mut store, &["/"]);
        store.commit(&[linking(&url("/"), &["/a", "/b"])]).unwrap();
        assert_eq!(
            store.claim_discovered(SystemTime::now(), 10).unwrap().len(),
            2
        );
        // The claims are written with the next commit; then the process dies.
        store.commit(&[]).unwrap();
    }
    let mut store = store(&dir, Duration::from_secs(3600));
    assert_eq!(store.release_claims(SystemTime::now()).unwrap(), 2);
    let round = store.begin_round().unwrap();
    assert!(round.is_resumed);
    let claims = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(paths(&claims), ["/a", "/b"]);
}

#[test]
fn a_removed_seed_takes_its_pending_descendants_off_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir, Duration::from_secs(3600));
    list(&mut store, &["/one", "/two"]);
    assert_eq!(claimed_urls(&mut store).len(), 2);
    store
        .commit(&[
            linking(&url("/one"), &["/a"]),
            linking(&url("/two"), &["/b"]),
        ])
        .unwrap();
    list(&mut store, &["/two"]);
    assert_eq!(
        paths(&store.claim_due(SystemTime::now(), 10).unwrap()),
        ["/b"]
    );
}

#[test]
fn a_redirect_target_fetched_once_has_its_links_followed_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir, Duration::from_secs(3600));
    start_run(&mut store, &["/r1", "/r2"]);
    let redirected = |from: &str, link: &str| Outcome {
        final_url: Some(url("/target").to_string()),
        ..linking(&url(from), &[link])
    };
    store
        .commit(&[redirected("/r1", "/x"), redirected("/r2", "/y")])
        .unwrap();
    let claims = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(
        paths(&claims),
        ["/x"],
        "the second copy's links are not followed"
    );
    store.commit(&[linking(&url("/x"), &["/target"])]).unwrap();
    assert!(
        store
            .claim_discovered(SystemTime::now(), 10)
            .unwrap()
            .is_empty(),
        "the redirect target counts as fetched"
    );
}

#[test]
fn a_host_has_at_most_max_pages_per_host_urls() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir, Duration::from_secs(3600));
    store.set_max_pages_per_host(3);
    start_run(&mut store, &["/"]);
    store
        .commit(&[linking(&url("/"), &["/a", "/b", "/c", "/d"])])
        .unwrap();
    let claims = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(paths(&claims), ["/a", "/b"], "the seed is one of the three");
    assert_eq!(store.over_limit(), 2);
    store
        .commit(&[ok(&url("/a"), "a"), ok(&url("/b"), "b")])
        .unwrap();
    store.end_round().unwrap();

    // The next run fetches the URLs the host has again, and no new one.
    start_run(&mut store, &["/"]);
    store
        .commit(&[linking(&url("/"), &["/a", "/b", "/c", "/d"])])
        .unwrap();
    let claims = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(paths(&claims), ["/a", "/b"]);
}

#[test]
fn a_service_round_ends_before_the_next_begins_and_unlinked_pages_rest() {
    let dir = tempfile::tempdir().unwrap();
    let interval = Duration::from_millis(200);
    let mut store = store(&dir, interval);
    list(&mut store, &["/"]);
    assert_eq!(claimed_urls(&mut store), [url("/")]);
    store.commit(&[linking(&url("/"), &["/a", "/b"])]).unwrap();
    assert_eq!(
        store.close_rounds(SystemTime::now()).unwrap(),
        0,
        "/a and /b are due"
    );
    let children = store.claim_due(SystemTime::now(), 10).unwrap();
    assert_eq!(paths(&children), ["/a", "/b"]);
    store
        .commit(&[ok(&url("/a"), "a"), ok(&url("/b"), "b")])
        .unwrap();
    assert_eq!(store.close_rounds(SystemTime::now()).unwrap(), 1);
    assert!(store.claim_due(SystemTime::now(), 10).unwrap().is_empty());

    std::thread::sleep(interval * 2);
    assert_eq!(claimed_urls(&mut store), [url("/")], "the next round");
    store.commit(&[linking(&url("/"), &["/a"])]).unwrap();
    assert_eq!(
        paths(&store.claim_due(SystemTime::now(), 10).unwrap()),
        ["/a"],
        "/b is no longer linked: it rests"
    );
}

fn claimed_urls(store: &mut SqliteFrontier) -> Vec<Url> {
    let mut urls: Vec<Url> = store
        .claim_due(SystemTime::now(), 100)
        .unwrap()
        .into_iter()
        .map(|claim| claim.url)
        .collect();
    urls.sort();
    urls
}

#[test]
fn listing_counts_added_and_removed_seeds_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir, Duration::from_secs(3600));
    let first = list(&mut store, &["/a", "/b", "/a"]);
    assert_eq!(
        first,
        SeedChanges {
            added: 2,
            removed: 0
        },
        "a duplicate counts once"
    );
    let second = list(&mut store, &["/b", "/c"]);
    assert_eq!(
        second,
        SeedChanges {
            added: 1,
            removed: 1
        }
    );
    assert_eq!(
        claimed_urls(&mut store),
        vec![url("/b"), url("/c")],
        "a removed seed is never due"
    );
    let third = list(&mut store, &["/a", "/b", "/c"]);
    assert_eq!(third.added, 1, "listed again after its removal");
    assert_eq!(claimed_urls(&mut store), vec![url("/a")], "and due at once");
}

#[test]
fn a_claim_stays_in_flight_until_committed_then_waits_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    let interval = Duration::from_secs(100);
    let mut store = store(&dir, interval);
    list(&mut store, &["/a"]);
    assert_eq!(claimed_urls(&mut store), vec![url("/a")]);
    assert!(
        claimed_urls(&mut store).is_empty(),
        "claimed, not written: not handed out twice"
    );
    store.commit(&[]).unwrap();
    assert!(
        claimed_urls(&mut store).is_empty(),
        "claimed and written: still in flight"
    );
    let before = SystemTime::now();
    store.commit(&[ok(&url("/a"), "A")]).unwrap();
    let due = store.next_due().unwrap().unwrap();
    assert!(due >= before + interval && due <= SystemTime::now() + interval + interval / 10);
    let later = store.claim_due(due + Duration::from_secs(1), 10).unwrap();
    assert_eq!(later.len(), 1);
    let known = later[0].known.as_ref().unwrap();
    assert_eq!(known.title.as_deref(), Some("A"));
    assert_eq!(known.etag.as_deref(), Some("\"e\""));
}

#[test]
fn an_error_keeps_the_last_title_and_validators() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir, Duration::from_secs(1));
    list(&mut store, &["/a"]);
    claimed_urls(&mut store);
    store.commit(&[ok(&url("/a"), "A")]).unwrap();
    let failed = Outcome {
        status: Some(503),
        error_kind: Some("http_status".to_owned()),
        page: None,
        ..ok(&url("/a"), "")
    };
    store
        .reschedule(Reschedule::AllDue, SystemTime::now())
        .unwrap();
    claimed_urls(&mut store);
    store.commit(&[failed]).unwrap();
    store
        .reschedule(Reschedule::AllDue, SystemTime::now())
        .unwrap();
    let claims = store.claim_due(SystemTime::now(), 10).unwrap();
    assert_eq!(
        claims[0].known.as_ref().unwrap().title.as_deref(),
        Some("A")
    );
    let status = store.status(SystemTime::now()).unwrap();
    assert_eq!(status.outcomes.get("http_status"), Some(&1));
}

#[test]
fn claims_left_by_a_crash_are_released_at_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = store(&dir, Duration::from_secs(3600));
        list(&mut store, &["/a", "/b"]);
        assert_eq!(claimed_urls(&mut store).len(), 2);
        store.commit(&[ok(&url("/a"), "A")]).unwrap();
        assert_eq!(store.status(SystemTime::now()).unwrap().in_flight, 1);
        // Dropped without releasing: what a SIGKILL leaves.
    }
    let mut store = store(&dir, Duration::from_secs(3600));
    assert_eq!(store.release_claims(SystemTime::now()).unwrap(), 1);
    assert_eq!(claimed_urls(&mut store), vec![url("/b")]);
}

#[test]
fn a_once_run_resumes_until_it_is_complete_then_starts_anew() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = [url("/a"), url("/b"), url("/c")];
    let mut store = store(&dir, Duration::from_secs(3600));
    let round = store.begin_round().unwrap();
    assert_eq!((round.number, round.is_resumed), (1, false));
    let generation = store.begin_seeds().unwrap();
    let claims = store
        .list_and_claim(&seeds, generation, SystemTime::now())
        .unwrap();
    assert_eq!(claims.len(), 3);
    store.commit(&[ok(&seeds[0], "A")]).unwrap();
    drop(store); // interrupted

    let mut store = self::store(&dir, Duration::from_secs(3600));
    let round = store.begin_round().unwrap();
    assert_eq!(
        (round.number, round.is_resumed, round.recorded),
        (1, true, 1)
    );
    let generation = store.begin_seeds().unwrap();
    let twice = [
        seeds[1].clone(),
        seeds[0].clone(),
        seeds[2].clone(),
        seeds[1].clone(),
    ];
    let claims = store
        .list_and_claim(&twice, generation, SystemTime::now())
        .unwrap();
    let mut claimed: Vec<Url> = claims.into_iter().map(|claim| claim.url).collect();
    claimed.sort();
    assert_eq!(
        claimed,
        vec![seeds[1].clone(), seeds[2].clone()],
        "only seeds without a record, once each"
    );
    store
        .commit(&[ok(&seeds[1], "B"), ok(&seeds[2], "C")])
        .unwrap();
    store.end_round().unwrap();

    let round = store.begin_round().unwrap();
    assert_eq!((round.number, round.is_resumed), (2, false));
    let generation = store.begin_seeds().unwrap();
    let claims = store
        .list_and_claim(&seeds, generation, SystemTime::now())
        .unwrap();
    assert_eq!(claims.len(), 3, "a new run fetches everything again");
    assert!(claims.iter().all(|claim| claim.known.is_some()));
}

#[test]
fn a_shorter_interval_pulls_far_due_times_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir, Duration::from_secs(3600));
    list(&mut store, &["/a"]);
    claimed_urls(&mut store);
    store.commit(&[ok(&url("/a"), "A")]).unwrap();
    store.set_interval(Duration::from_secs(10));
    store
        .reschedule(Reschedule::Interval, SystemTime::now())
        .unwrap();
    let due = store.next_due().unwrap().unwrap();
    assert!(due <= SystemTime::now() + Duration::from_secs(2), "{due:?}");
}

#[test]
fn another_programs_database_is_not_ours() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap();
    drop(other);
    let before = std::fs::read(&path).unwrap();
    let err = SqliteFrontier::validate(&path).err().unwrap().to_string();
    assert!(
        err.contains("not a crawler state") && err.contains("other.db"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn status_counts_what_the_store_knows() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir, Duration::from_secs(3600));
    list(&mut store, &["/a", "/b", "/c"]);
    let claims = store.claim_due(SystemTime::now(), 1).unwrap();
    store.commit(&[ok(&claims[0].url, "A")]).unwrap();
    let status = store.status(SystemTime::now()).unwrap();
    assert_eq!((status.known, status.seeds, status.retired), (3, 3, 0));
    assert_eq!(
        (status.due_now, status.in_flight, status.never_fetched),
        (2, 0, 2)
    );
    assert_eq!(status.outcomes.get("ok"), Some(&1));
    assert_eq!(status.hosts, 1);
    assert!(status.next_due.is_some());
    assert!(status.file_bytes > 0);
}
