//! Unit tests of what only the SQLite frontier does (service rounds per
//! seed, removed seeds taking their descendants along, its file checks
//! and status details), on real files in a temp folder. The contract both
//! backends keep is tested in `frontier/conformance/`.

use std::time::{Duration, SystemTime};

use url::Url;

use super::*;
use crate::frontier::conformance::{linking, list, notice, ok, paths, start_run, url};
use crate::frontier::{Outbox, Outcome, Rounds, Schedule, Summary};

fn store(dir: &tempfile::TempDir, interval: Duration) -> SqliteFrontier {
    SqliteFrontier::open(&dir.path().join("state.db"), None, interval)
        .unwrap()
        .0
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

#[test]
fn a_version_2_state_file_gains_the_history_the_outbox_the_rendered_mark_and_report_tables() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = store(&dir, Duration::from_secs(3600));
        list(&mut store, &["/a"]);
    }
    let path = dir.path().join("state.db");
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(
        "DROP INDEX title_changes_url; DROP TABLE title_changes;
         DROP INDEX outbox_due; DROP TABLE outbox; ALTER TABLE urls DROP COLUMN watch;
         ALTER TABLE urls DROP COLUMN rendered; ALTER TABLE urls DROP COLUMN details;
         DROP TABLE outlinks; PRAGMA user_version = 2;",
    )
    .unwrap();
    drop(old);
    let mut store = store(&dir, Duration::from_secs(3600));
    assert_eq!(store.history(&url("/a")).unwrap(), Vec::new());
    assert_eq!(store.outbox_status().unwrap().depth, 0);
    assert_eq!(
        paths(&store.claim_due(SystemTime::now(), 10).unwrap()),
        ["/a"]
    );
    let rendered = Outcome {
        rendered: true,
        links: Some(vec![url("/b").to_string()]),
        anchors: Some(vec!["B".to_owned()]),
        details: Some(crate::frontier::Details {
            bytes: 7,
            ..Default::default()
        }),
        ..ok(&url("/a"), "A")
    };
    store.commit(&[rendered]).unwrap();
    assert_eq!(store.status(SystemTime::now()).unwrap().rendered, 1);
    let mut graph = Vec::new();
    store
        .each_outlinks(&mut |page, stored| {
            let links = crate::frontier::decode_outlinks(page, stored);
            graph.push((page.to_owned(), links.len()));
        })
        .unwrap();
    assert_eq!(graph, [(url("/a").to_string(), 1)]);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_full_outbox_refuses_new_notifications_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(&dir, Duration::from_secs(3600));
    list(&mut store, &["/a"]);
    store.claim_due(SystemTime::now(), 10).unwrap();
    // One place left: as if MAX_OUTBOX - 1 were queued.
    store.outbox_depth = Some(crate::frontier::MAX_OUTBOX - 1);
    let outcome = crate::frontier::Outcome {
        notices: vec![notice(&url("/a"), "kept"), notice(&url("/a"), "refused")],
        ..ok(&url("/a"), "B")
    };
    store.commit(&[outcome]).unwrap();
    assert_eq!(store.outbox_refused(), 1);
    let taken = store
        .take_notices(SystemTime::now(), Duration::from_secs(60), 10)
        .unwrap();
    let ids: Vec<&str> = taken
        .iter()
        .map(|queued| queued.notice.id.as_str())
        .collect();
    assert_eq!(ids, ["kept"], "the oldest are kept, the new one refused");
}

#[test]
fn a_store_that_crawled_marks_its_file_closed_cleanly_and_a_start_clears_the_mark() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let is_marked = || {
        let reader = rusqlite::Connection::open(&path).unwrap();
        reader
            .query_row(
                "SELECT COUNT(*) FROM meta WHERE key = 'closed_cleanly' AND value = 1",
                [],
                |row| row.get::<_, i64>(0),
            )
            .unwrap()
            == 1
    };
    let first = store(&dir, Duration::from_secs(3600));
    assert!(!is_marked(), "no mark while a crawl uses the file");
    drop(first);
    assert!(is_marked(), "closed normally");
    let second = store(&dir, Duration::from_secs(3600));
    assert!(!is_marked(), "the start clears it");
    // A killed process runs no destructor.
    std::mem::forget(second);
    assert!(!is_marked());
    drop(SqliteFrontier::open_existing(&path).unwrap());
    assert!(!is_marked(), "a reader (status, report) marks nothing");
}
