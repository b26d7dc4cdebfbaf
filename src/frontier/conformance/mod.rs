//! The frontier's contract, written once and run against every backend:
//! each backend is one line of `backends!` at the bottom, which opens it
//! through the one door ([`super::open`]) from a config, as the daemon does.
//! SQLite runs on a file in a temp folder; Redis on a real `redis-server`
//! started for each test on a free port (and stopped when it ends).

use std::time::{Duration, SystemTime};

use url::Url;

use super::{
    Claim, Details, Frontier, Known, MAX_HISTORY, Outcome, Reschedule, SeedChanges, Settlement,
    TitleChange,
};
use crate::config::notify::NotifyEvent;
use crate::watch::{Notice, Seen, Watch};

mod harness;

use harness::Harness;

const HOUR: Duration = Duration::from_secs(3600);

pub(super) fn url(path: &str) -> Url {
    Url::parse(&format!("http://127.0.0.1{path}")).unwrap()
}

pub(super) fn ok(url: &Url, title: &str) -> Outcome {
    Outcome {
        url: url.to_string(),
        fetched_at: SystemTime::now(),
        finished_at: SystemTime::now(),
        status: Some(200),
        error_kind: None,
        page: Some(Known {
            title: Some(title.to_owned()),
            etag: Some("\"e\"".to_owned()),
            last_modified: Some("Mon, 07 Dec 2026 09:00:00 GMT".to_owned()),
        }),
        final_url: None,
        links: None,
        is_from_public: false,
        title_change: None,
        watch: None,
        notices: Vec::new(),
        rendered: false,
        details: None,
        anchors: None,
    }
}

/// `ok` for a page whose links `paths` are followed.
pub(super) fn linking(url: &Url, paths: &[&str]) -> Outcome {
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

/// Lists `paths` as the seeds, as a start or a reload does.
pub(super) fn list(store: &mut dyn Frontier, paths: &[&str]) -> SeedChanges {
    let generation = store.begin_seeds().unwrap();
    let urls: Vec<Url> = paths.iter().map(|path| url(path)).collect();
    store
        .add_seeds(&urls, generation, SystemTime::now())
        .unwrap();
    store.end_seeds(generation).unwrap()
}

/// Starts a `--once` run of `seeds` (paths) and claims them.
pub(super) fn start_run(store: &mut dyn Frontier, seeds: &[&str]) -> Vec<Claim> {
    store.begin_round().unwrap();
    let generation = store.begin_seeds().unwrap();
    let urls: Vec<Url> = seeds.iter().map(|path| url(path)).collect();
    store
        .list_and_claim(&urls, generation, SystemTime::now())
        .unwrap()
}

pub(super) fn paths(claims: &[Claim]) -> Vec<String> {
    let mut paths: Vec<String> = claims
        .iter()
        .map(|claim| claim.url.path().to_owned())
        .collect();
    paths.sort();
    paths
}

/// Claims what is due at `at`, up to 100, by path.
fn due_at(store: &mut dyn Frontier, at: SystemTime) -> Vec<String> {
    paths(&store.claim_due(at, 100).unwrap())
}

fn due_now(store: &mut dyn Frontier) -> Vec<String> {
    due_at(store, SystemTime::now())
}

pub(super) fn a_claim_is_in_flight_until_committed_then_due_after_the_interval(h: &Harness) {
    let interval = Duration::from_secs(100);
    let mut store = h.open(interval);
    list(&mut *store, &["/a"]);
    assert_eq!(due_now(&mut *store), ["/a"]);
    assert!(due_now(&mut *store).is_empty(), "not handed out twice");
    store.commit(&[ok(&url("/a"), "A")]).unwrap();
    assert!(
        due_now(&mut *store).is_empty(),
        "not due before the interval"
    );
    let later = SystemTime::now() + interval + interval / 10 + Duration::from_secs(1);
    let claims = store.claim_due(later, 10).unwrap();
    assert_eq!(paths(&claims), ["/a"], "due again after the interval");
    let known = claims[0].known.as_ref().unwrap();
    assert_eq!(known.title.as_deref(), Some("A"), "the title to compare");
    assert_eq!(known.etag.as_deref(), Some("\"e\""), "validators to send");
    assert!(known.last_modified.is_some());
    assert!(claims[0].lineage.is_none(), "a seed");
}

pub(super) fn an_error_keeps_the_last_title_and_validators(h: &Harness) {
    let mut store = h.open(HOUR);
    list(&mut *store, &["/a"]);
    due_now(&mut *store);
    store.commit(&[ok(&url("/a"), "A")]).unwrap();
    store
        .reschedule(Reschedule::AllDue, SystemTime::now())
        .unwrap();
    assert_eq!(due_now(&mut *store), ["/a"]);
    let failed = Outcome {
        status: Some(503),
        error_kind: Some("http_status".to_owned()),
        page: None,
        ..ok(&url("/a"), "")
    };
    store.commit(&[failed]).unwrap();
    store
        .reschedule(Reschedule::AllDue, SystemTime::now())
        .unwrap();
    let claims = store.claim_due(SystemTime::now(), 10).unwrap();
    let known = claims[0].known.as_ref().unwrap();
    assert_eq!(known.title.as_deref(), Some("A"));
    assert_eq!(known.etag.as_deref(), Some("\"e\""));
}

pub(super) fn claims_a_crash_left_are_due_again_after_a_restart(h: &Harness) {
    {
        let mut store = h.open(HOUR);
        list(&mut *store, &["/a", "/b"]);
        assert_eq!(due_now(&mut *store), ["/a", "/b"]);
        store.commit(&[ok(&url("/a"), "A")]).unwrap();
        // Dropped without releasing its claims: what a SIGKILL leaves.
    }
    let mut store = h.open(HOUR);
    assert_eq!(due_now(&mut *store), ["/b"], "only the unfinished one");
}

pub(super) fn a_shutdown_releases_its_claims(h: &Harness) {
    {
        let mut store = h.open(HOUR);
        list(&mut *store, &["/a", "/b"]);
        assert_eq!(due_now(&mut *store).len(), 2);
        store.commit(&[ok(&url("/a"), "A")]).unwrap();
        store.release_claims(SystemTime::now()).unwrap();
    }
    // A shared store hands released hosts over only after `per_host_delay`.
    let after_handover = SystemTime::now() + Duration::from_secs(5);
    let mut store = h.open(HOUR);
    assert_eq!(due_at(&mut *store, after_handover), ["/b"]);
}

pub(super) fn a_once_run_fetches_each_link_once_breadth_first(h: &Harness) {
    let mut store = h.open(HOUR);
    assert_eq!(paths(&start_run(&mut *store, &["/"])), ["/"]);
    store
        .commit(&[linking(&url("/"), &["/a", "/b", "/"])])
        .unwrap();
    let first = store.claim_discovered(SystemTime::now(), 1).unwrap();
    assert_eq!(first.len(), 1);
    let lineage = first[0].lineage.clone().unwrap();
    assert_eq!((lineage.depth, lineage.seed.path()), (1, "/"));
    assert_eq!(lineage.found_on, url("/").to_string());
    let sibling = if first[0].url.path() == "/a" {
        "/b"
    } else {
        "/a"
    };
    store
        .commit(&[linking(&first[0].url, &["/deep", "/a", "/b"])])
        .unwrap();
    let second = store.claim_discovered(SystemTime::now(), 1).unwrap();
    assert_eq!(paths(&second), [sibling], "depth 1 before depth 2");
    store.commit(&[ok(&second[0].url, "sibling")]).unwrap();
    let third = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(paths(&third), ["/deep"], "each page once in a run");
    assert_eq!(third[0].lineage.as_ref().unwrap().depth, 2);
    store.commit(&[ok(&url("/deep"), "deep")]).unwrap();
    assert!(
        store
            .claim_discovered(SystemTime::now(), 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.discovered(), 3);
    store.end_round().unwrap();

    // The next run finds and fetches them again.
    start_run(&mut *store, &["/"]);
    store.commit(&[linking(&url("/"), &["/a"])]).unwrap();
    let again = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(paths(&again), ["/a"]);
    assert!(again[0].known.is_some(), "with what the last run saw");
}

pub(super) fn a_redirect_target_counts_as_fetched(h: &Harness) {
    let mut store = h.open(HOUR);
    start_run(&mut *store, &["/r1", "/r2"]);
    let redirected = |from: &str, link: &str| Outcome {
        final_url: Some(url("/target").to_string()),
        ..linking(&url(from), &[link])
    };
    store.commit(&[redirected("/r1", "/x")]).unwrap();
    store.commit(&[redirected("/r2", "/y")]).unwrap();
    let claims = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert!(paths(&claims).contains(&"/x".to_owned()));
    store.commit(&[linking(&url("/x"), &["/target"])]).unwrap();
    let rest = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert!(
        !paths(&rest).contains(&"/target".to_owned()),
        "the redirect target was fetched: {:?}",
        paths(&rest)
    );
}

pub(super) fn a_host_has_at_most_max_pages_per_host_urls(h: &Harness) {
    let mut store = h.open(HOUR);
    store.set_max_pages_per_host(3);
    start_run(&mut *store, &["/"]);
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
    start_run(&mut *store, &["/"]);
    store
        .commit(&[linking(&url("/"), &["/a", "/b", "/c", "/d"])])
        .unwrap();
    let claims = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(paths(&claims), ["/a", "/b"]);
}

pub(super) fn lower_max_depth_takes_deeper_waiting_urls_off(h: &Harness) {
    let mut store = h.open(HOUR);
    start_run(&mut *store, &["/"]);
    store.commit(&[linking(&url("/"), &["/a", "/b"])]).unwrap();
    assert_eq!(store.drop_deeper(0).unwrap(), 2);
    assert!(
        store
            .claim_discovered(SystemTime::now(), 10)
            .unwrap()
            .is_empty()
    );
}

pub(super) fn listings_count_added_and_removed_seeds_once(h: &Harness) {
    let mut store = h.open(HOUR);
    let first = list(&mut *store, &["/a", "/b", "/a"]);
    assert_eq!(
        first,
        SeedChanges {
            added: 2,
            removed: 0
        },
        "a duplicate counts once"
    );
    let second = list(&mut *store, &["/b", "/c"]);
    assert_eq!(
        second,
        SeedChanges {
            added: 1,
            removed: 1
        }
    );
    assert_eq!(
        due_now(&mut *store),
        ["/b", "/c"],
        "a removed seed is never due"
    );
    let third = list(&mut *store, &["/a", "/b", "/c"]);
    assert_eq!(third.added, 1, "listed again after its removal");
    assert_eq!(due_now(&mut *store), ["/a"], "and due at once");
}

pub(super) fn a_listing_forgets_the_digest_of_the_last_one(h: &Harness) {
    let mut store = h.open(HOUR);
    assert_eq!(
        store.listed_digest().unwrap(),
        None,
        "a new store knows none"
    );
    list(&mut *store, &["/a"]);
    store.set_listed_digest(u64::MAX - 7).unwrap();
    assert_eq!(store.listed_digest().unwrap(), Some(u64::MAX - 7));
    drop(store);
    let mut store = h.open(HOUR);
    assert_eq!(store.listed_digest().unwrap(), Some(u64::MAX - 7), "kept");
    store.begin_seeds().unwrap();
    assert_eq!(
        store.listed_digest().unwrap(),
        None,
        "a listing that begins (and may be cut short) leaves none"
    );
}

pub(super) fn sitemap_entries_enter_at_depth_one(h: &Harness) {
    let mut store = h.open(HOUR);
    start_run(&mut *store, &["/"]);
    let sitemap = url("/sitemap.xml").to_string();
    let entries = [url("/s1").to_string(), url("/s2").to_string()];
    let due = store
        .add_sitemap(&url("/"), &sitemap, &entries, false)
        .unwrap();
    assert_eq!(due, 2);
    let claims = store.claim_discovered(SystemTime::now(), 10).unwrap();
    assert_eq!(paths(&claims), ["/s1", "/s2"]);
    let lineage = claims[0].lineage.as_ref().unwrap();
    assert_eq!((lineage.depth, lineage.found_on.as_str()), (1, &*sitemap));
}

pub(super) fn a_once_run_resumes_until_complete_then_starts_anew(h: &Harness) {
    let seeds = [url("/a"), url("/b"), url("/c")];
    {
        let mut store = h.open(HOUR);
        let round = store.begin_round().unwrap();
        assert_eq!((round.number, round.is_resumed), (1, false));
        let generation = store.begin_seeds().unwrap();
        let claims = store
            .list_and_claim(&seeds, generation, SystemTime::now())
            .unwrap();
        assert_eq!(claims.len(), 3);
        store.commit(&[ok(&seeds[0], "A")]).unwrap();
        // Interrupted.
    }
    let mut store = h.open(HOUR);
    let round = store.begin_round().unwrap();
    assert_eq!((round.number, round.is_resumed), (1, true));
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
    assert_eq!(
        paths(&claims),
        ["/b", "/c"],
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

pub(super) fn a_shorter_interval_pulls_far_due_times_in(h: &Harness) {
    let mut store = h.open(HOUR);
    list(&mut *store, &["/a"]);
    due_now(&mut *store);
    store.commit(&[ok(&url("/a"), "A")]).unwrap();
    let soon = SystemTime::now() + Duration::from_secs(12);
    assert!(due_at(&mut *store, soon).is_empty());
    store.set_interval(Duration::from_secs(10));
    store
        .reschedule(Reschedule::Interval, SystemTime::now())
        .unwrap();
    assert_eq!(due_at(&mut *store, soon), ["/a"]);
}

pub(super) fn status_counts_what_the_store_knows(h: &Harness) {
    let mut store = h.open(HOUR);
    list(&mut *store, &["/a", "/b", "/c"]);
    let claims = store.claim_due(SystemTime::now(), 1).unwrap();
    // Claims are written by the next commit at the latest.
    store.commit(&[]).unwrap();
    let status = store.status(SystemTime::now()).unwrap();
    assert_eq!((status.known, status.seeds, status.discovered), (3, 3, 0));
    assert_eq!((status.due_now, status.in_flight), (2, 1));
    store.commit(&[ok(&claims[0].url, "A")]).unwrap();
    let status = store.status(SystemTime::now()).unwrap();
    assert_eq!((status.due_now, status.in_flight), (2, 0));
    assert!(!status.path.as_os_str().is_empty());
    assert_eq!(status.path, store.location());
    assert_eq!(status.rendered, 0);
    // Rendered pages are counted by their last record.
    store
        .reschedule(Reschedule::AllDue, SystemTime::now())
        .unwrap();
    store.claim_due(SystemTime::now(), 3).unwrap();
    let rendered = |path: &str, rendered: bool| Outcome {
        rendered,
        ..ok(&url(path), "T")
    };
    store
        .commit(&[
            rendered("/a", true),
            rendered("/b", true),
            rendered("/c", false),
        ])
        .unwrap();
    assert_eq!(store.status(SystemTime::now()).unwrap().rendered, 2);
    store
        .reschedule(Reschedule::AllDue, SystemTime::now())
        .unwrap();
    store.claim_due(SystemTime::now(), 3).unwrap();
    store
        .commit(&[rendered("/a", false), rendered("/c", true)])
        .unwrap();
    assert_eq!(store.status(SystemTime::now()).unwrap().rendered, 2);
}

pub(super) fn title_changes_are_kept_newest_first_and_bounded(h: &Harness) {
    let mut store = h.open(HOUR);
    list(&mut *store, &["/a"]);
    due_now(&mut *store);
    store.commit(&[ok(&url("/a"), "t0")]).unwrap();
    let changes = MAX_HISTORY as usize + 5;
    for n in 1..=changes {
        store
            .reschedule(Reschedule::AllDue, SystemTime::now())
            .unwrap();
        assert_eq!(due_now(&mut *store), ["/a"]);
        let change = TitleChange {
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(n as u64),
            from: Some(format!("t{}", n - 1)),
            to: (n != changes).then(|| format!("t{n}")),
        };
        let changed = Outcome {
            title_change: Some(change),
            ..ok(&url("/a"), &format!("t{n}"))
        };
        store.commit(&[changed]).unwrap();
    }
    let history = store.history(&url("/a")).unwrap();
    assert_eq!(history.len(), MAX_HISTORY as usize, "the newest are kept");
    assert_eq!(
        history[0].from.as_deref(),
        Some(&*format!("t{}", changes - 1))
    );
    assert_eq!(history[0].to, None, "a title that went away");
    assert_eq!(
        history[1].to.as_deref(),
        Some(&*format!("t{}", changes - 1))
    );
    assert!(history[0].at > history[1].at, "newest first");
    assert!(store.history(&url("/unknown")).unwrap().is_empty());
}

/// A title change of `url` for target `hook`, with id `id`.
pub(super) fn notice(url: &Url, id: &str) -> Notice {
    Notice {
        id: id.to_owned(),
        event: NotifyEvent::TitleChanged,
        target: "hook".to_owned(),
        url: url.to_string(),
        final_url: url.to_string(),
        title: Some("B".to_owned()),
        previous_title: Some("A".to_owned()),
        error: None,
        status: Some(200),
        fetched_at: "2026-12-07T09:00:00.000Z".to_owned(),
        node: None,
    }
}

fn taken(store: &mut dyn Frontier, at: SystemTime) -> Vec<(String, u32)> {
    let lease = Duration::from_secs(60);
    let mut taken: Vec<(String, u32)> = store
        .take_notices(at, lease, 10)
        .unwrap()
        .into_iter()
        .map(|queued| (queued.notice.id, queued.attempts))
        .collect();
    taken.sort();
    taken
}

pub(super) fn notices_are_queued_with_their_outcome_once_and_delivered_under_a_lease(h: &Harness) {
    let mut store = h.open(HOUR);
    list(&mut *store, &["/a"]);
    due_now(&mut *store);
    let a = url("/a");
    let watch = Watch::established(Seen::Page(Some("B".to_owned())), &[1]);
    let with_notices = Outcome {
        watch: Some(watch.clone()),
        notices: vec![notice(&a, "n1"), notice(&a, "n2")],
        ..ok(&a, "B")
    };
    store.commit(&[with_notices]).unwrap();
    // The same notice again (a batch written twice) is queued once.
    let again = Outcome {
        notices: vec![notice(&a, "n1")],
        ..ok(&a, "B")
    };
    store.commit(&[again]).unwrap();
    let status = store.outbox_status().unwrap();
    assert_eq!(status.depth, 2);
    assert!(status.oldest.is_some());
    let now = SystemTime::now();
    let first = store
        .take_notices(now, Duration::from_secs(60), 10)
        .unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(
        first[0].notice,
        notice(&a, &first[0].notice.id),
        "stored whole"
    );
    assert!(taken(&mut *store, now).is_empty(), "hidden while leased");
    store
        .settle_notices(&[("n1".to_owned(), Settlement::Done)])
        .unwrap();
    let retry_at = now + Duration::from_secs(10);
    store
        .settle_notices(&[("n2".to_owned(), Settlement::RetryAt(retry_at))])
        .unwrap();
    assert!(taken(&mut *store, now + Duration::from_secs(5)).is_empty());
    let later = now + Duration::from_secs(11);
    assert_eq!(taken(&mut *store, later), [("n2".to_owned(), 1)]);
    // Not settled within its lease (its node died): due again.
    let after_lease = later + Duration::from_secs(61);
    assert_eq!(taken(&mut *store, after_lease), [("n2".to_owned(), 1)]);
    // A restart (a new process, the same node) takes what its last life held at once.
    drop(store);
    let mut store = h.open(HOUR);
    let restarted = SystemTime::now() + Duration::from_secs(1);
    assert_eq!(taken(&mut *store, restarted), [("n2".to_owned(), 1)]);
    store
        .settle_notices(&[("n2".to_owned(), Settlement::Done)])
        .unwrap();
    assert_eq!(store.outbox_status().unwrap().depth, 0);
    assert!(taken(&mut *store, after_lease + HOUR).is_empty());
    // The watch state comes back with the next claim (kept when a commit has none).
    store
        .reschedule(Reschedule::AllDue, SystemTime::now())
        .unwrap();
    let claims = store.claim_due(SystemTime::now(), 10).unwrap();
    assert_eq!(claims[0].watch.as_ref(), Some(&watch));
}

/// A listed page as the test compares it: path, seed, depth, outcome, title.
type Listed<'a> = (String, bool, u32, Option<&'a str>, Option<&'a str>);

pub(super) fn each_page_lists_every_url_with_its_last_outcome(h: &Harness) {
    let mut store = h.open(HOUR);
    start_run(&mut *store, &["/", "/gone", "/retired"]);
    let missing = Outcome {
        status: Some(404),
        error_kind: Some("http_status".to_owned()),
        page: None,
        ..ok(&url("/gone"), "")
    };
    store
        .commit(&[
            linking(&url("/"), &["/a", "/b"]),
            missing,
            ok(&url("/retired"), "R"),
        ])
        .unwrap();
    let first = store.claim_discovered(SystemTime::now(), 1).unwrap();
    store.commit(&[ok(&first[0].url, "First")]).unwrap();
    // A later listing without /retired retires it: it leaves the report.
    let generation = store.begin_seeds().unwrap();
    store
        .add_seeds(&[url("/"), url("/gone")], generation, SystemTime::now())
        .unwrap();
    store.end_seeds(generation).unwrap();
    let mut rows = Vec::new();
    store.each_page(&mut |row| rows.push(row)).unwrap();
    rows.sort_by(|a, b| a.url.cmp(&b.url));
    let seen: Vec<Listed<'_>> = rows
        .iter()
        .map(|row| {
            (
                Url::parse(&row.url).unwrap().path().to_owned(),
                row.is_seed,
                row.depth,
                row.outcome.as_deref(),
                row.title.as_deref(),
            )
        })
        .collect();
    let (fetched, waiting) = if first[0].url.path() == "/a" {
        ("/a", "/b")
    } else {
        ("/b", "/a")
    };
    let mut expected = vec![
        ("/".to_owned(), true, 0, Some("ok"), Some("page")),
        (fetched.to_owned(), false, 1, Some("ok"), Some("First")),
        (waiting.to_owned(), false, 1, None, None),
        ("/gone".to_owned(), true, 0, Some("http_status"), None),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let found_on: Vec<Option<&str>> = rows.iter().map(|row| row.found_on.as_deref()).collect();
    let root = url("/").to_string();
    assert_eq!(
        found_on,
        [None, Some(root.as_str()), Some(root.as_str()), None]
    );
    assert!(
        rows.iter()
            .all(|row| row.outcome.is_some() == row.fetched_at.is_some())
    );
}

pub(super) fn reports_read_details_the_link_graph_and_recent_changes(h: &Harness) {
    let mut store = h.open(Duration::ZERO);
    start_run(&mut *store, &["/", "/gone"]);
    let details = Details {
        status: Some(200),
        bytes: 1234,
        elapsed_ms: 56,
        content_type: Some("text/html".to_owned()),
        titles: Some(2),
        redirects: vec![(url("/old").to_string(), 301)],
        ..Details::default()
    };
    let page = Outcome {
        details: Some(details.clone()),
        anchors: Some(vec!["Gone \u{e9}".to_owned(), String::new()]),
        title_change: Some(TitleChange {
            at: SystemTime::now(),
            from: Some("Before".to_owned()),
            to: Some("page".to_owned()),
        }),
        ..linking(&url("/"), &["/gone", "/x"])
    };
    let mut external = linking(&url("/gone"), &[]);
    external.links = Some(vec!["http://127.0.0.2:9/far".to_owned()]);
    external.anchors = Some(vec!["Far away".to_owned()]);
    store.commit(&[page, external]).unwrap();
    let mut rows = Vec::new();
    store.each_page(&mut |row| rows.push(row)).unwrap();
    let root = rows
        .iter()
        .find(|row| row.url == url("/").as_str())
        .unwrap();
    assert_eq!(root.details.as_ref(), Some(&details));
    let unfetched = rows.iter().find(|row| row.url.ends_with("/x")).unwrap();
    assert_eq!(unfetched.details, None);
    let graph = outlinks(&mut *store);
    assert_eq!(
        graph,
        [
            (
                url("/").to_string(),
                vec![
                    (url("/gone").to_string(), "Gone \u{e9}".to_owned()),
                    (url("/x").to_string(), String::new()),
                ]
            ),
            (
                url("/gone").to_string(),
                vec![("http://127.0.0.2:9/far".to_owned(), "Far away".to_owned())]
            ),
        ]
    );
    // A failed fetch takes the page's links out of the graph; a fetch
    // without the graph (`report.links` off) leaves them.
    store
        .reschedule(Reschedule::AllDue, SystemTime::now())
        .unwrap();
    store.claim_due(SystemTime::now(), 10).unwrap();
    let failed = Outcome {
        status: Some(500),
        error_kind: Some("http_status".to_owned()),
        page: None,
        ..ok(&url("/gone"), "")
    };
    store
        .commit(&[failed, linking(&url("/"), &["/gone"])])
        .unwrap();
    let graph = outlinks(&mut *store);
    assert_eq!(graph.len(), 1);
    assert_eq!(graph[0].1.len(), 2, "kept: {graph:?}");
    let mut changes = Vec::new();
    let since = SystemTime::now() - HOUR;
    store
        .each_title_change(since, &mut |url, change| {
            changes.push((url.to_owned(), change.from))
        })
        .unwrap();
    assert_eq!(changes, [(url("/").to_string(), Some("Before".to_owned()))]);
    let mut later = Vec::new();
    store
        .each_title_change(SystemTime::now() + HOUR, &mut |url, _| {
            later.push(url.to_owned())
        })
        .unwrap();
    assert!(later.is_empty());
}

/// The link graph as the store hands it out, sorted.
fn outlinks(store: &mut dyn Frontier) -> Vec<(String, Vec<(String, String)>)> {
    let mut graph = Vec::new();
    store
        .each_outlinks(&mut |page, stored| {
            let links = super::decode_outlinks(page, stored)
                .into_iter()
                .map(|link| (link.url, link.anchor))
                .collect();
            graph.push((page.to_owned(), links));
        })
        .unwrap();
    graph.sort();
    graph
}

/// Runs every contract test against one backend, opened by `$harness`.
macro_rules! backends {
    ($($backend:ident: $harness:expr;)+) => {$(
        mod $backend {
            use super::Harness;

            fn harness() -> Harness {
                $harness
            }

            contract_tests!(
                a_claim_is_in_flight_until_committed_then_due_after_the_interval,
                an_error_keeps_the_last_title_and_validators,
                claims_a_crash_left_are_due_again_after_a_restart,
                a_shutdown_releases_its_claims,
                a_once_run_fetches_each_link_once_breadth_first,
                a_redirect_target_counts_as_fetched,
                a_host_has_at_most_max_pages_per_host_urls,
                lower_max_depth_takes_deeper_waiting_urls_off,
                listings_count_added_and_removed_seeds_once,
                a_listing_forgets_the_digest_of_the_last_one,
                sitemap_entries_enter_at_depth_one,
                a_once_run_resumes_until_complete_then_starts_anew,
                a_shorter_interval_pulls_far_due_times_in,
                status_counts_what_the_store_knows,
                title_changes_are_kept_newest_first_and_bounded,
                notices_are_queued_with_their_outcome_once_and_delivered_under_a_lease,
                each_page_lists_every_url_with_its_last_outcome,
                reports_read_details_the_link_graph_and_recent_changes,
            );
        }
    )+};
}

/// One `#[test]` per contract test, calling it with the backend's harness.
macro_rules! contract_tests {
    ($($test:ident),+ $(,)?) => {$(
        #[test]
        fn $test() {
            super::$test(&harness());
        }
    )+};
}

backends! {
    sqlite: Harness::sqlite();
    redis: Harness::redis();
}
