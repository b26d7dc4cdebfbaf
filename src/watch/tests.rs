use std::path::Path;
use std::time::SystemTime;

use url::Url;

use super::*;
use crate::config::notify::{NotifyTarget, resolve_targets};

fn targets(toml_targets: &str) -> Vec<Target> {
    #[derive(serde::Deserialize)]
    struct File {
        notify: Vec<NotifyTarget>,
    }
    let file: File = toml_from(toml_targets);
    let (targets, problems) = resolve_targets(&file.notify, Path::new("."), true);
    assert!(problems.is_empty(), "{problems:?}");
    targets
}

fn toml_from<T: serde::de::DeserializeOwned>(text: &str) -> T {
    config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .unwrap()
        .try_deserialize()
        .unwrap()
}

fn page(title: Option<&str>, at: u64) -> Record {
    let url = Url::parse("http://127.0.0.1/watched").unwrap();
    let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(at);
    let mut record = Record::new(&url, time);
    record.status = Some(200);
    record.title = title.map(str::to_owned);
    record
}

fn failure(at: u64) -> Record {
    let mut record = page(None, at);
    record.status = Some(500);
    record.error = Some("http_status: answered HTTP 500".to_owned());
    record
}

/// Feeds `records` in order; returns every notice as `(target, event, from, to)`.
fn run(
    records: &[Record],
    targets: &[Target],
) -> Vec<(String, &'static str, Option<String>, Option<String>)> {
    let mut watch = None;
    let mut told = Vec::new();
    for record in records {
        let observed = observe(watch.as_ref(), None, record, targets).unwrap();
        // The state survives the store: a JSON round trip.
        let json = serde_json::to_string(&observed.watch).unwrap();
        watch = Some(serde_json::from_str(&json).unwrap());
        for notice in observed.notices {
            told.push((
                notice.target,
                notice.event.as_str(),
                notice.previous_title,
                notice.title,
            ));
        }
    }
    told
}

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

#[test]
fn a_change_is_told_once_and_the_first_fetch_is_the_baseline() {
    let targets = targets("[[notify]]\nname = \"hook\"\nurl = \"http://127.0.0.1:9/\"\n");
    let told = run(
        &[
            page(Some("A"), 1),
            page(Some("A"), 2),
            page(Some("B"), 3),
            page(Some("B"), 4),
        ],
        &targets,
    );
    assert_eq!(
        told,
        [("hook".to_owned(), "title_changed", some("A"), some("B"))]
    );
}

#[test]
fn with_confirm_2_a_flipping_page_never_alerts_and_a_real_change_does_once() {
    let targets =
        targets("[[notify]]\nname = \"hook\"\nurl = \"http://127.0.0.1:9/\"\nconfirm = 2\n");
    let flips: Vec<Record> = (0..8)
        .map(|at| page(Some(if at % 2 == 0 { "A" } else { "B" }), at))
        .collect();
    let mut records = vec![page(Some("A"), 100), page(Some("A"), 101)];
    records.extend(flips);
    assert!(run(&records, &targets).is_empty());
    records.extend([
        page(Some("C"), 200),
        page(Some("C"), 201),
        page(Some("C"), 202),
    ]);
    assert_eq!(
        run(&records, &targets),
        [("hook".to_owned(), "title_changed", some("A"), some("C"))]
    );
}

#[test]
fn failures_and_recoveries_are_told_to_targets_that_want_them() {
    let targets = targets(
        "[[notify]]\nname = \"all\"\nurl = \"http://127.0.0.1:9/\"\nevents = [\"title_changed\", \"failed\", \"recovered\"]\n\
         [[notify]]\nname = \"titles\"\nurl = \"http://127.0.0.1:9/\"\n",
    );
    let told = run(
        &[
            page(Some("A"), 1),
            failure(2),
            failure(3),
            page(Some("A"), 4),
        ],
        &targets,
    );
    assert_eq!(
        told,
        [
            ("all".to_owned(), "failed", None, some("A")),
            ("all".to_owned(), "recovered", None, some("A")),
        ]
    );
}

#[test]
fn a_page_that_comes_back_with_another_title_is_a_recovery_and_a_change() {
    let targets = targets(
        "[[notify]]\nname = \"hook\"\nurl = \"http://127.0.0.1:9/\"\nevents = [\"title_changed\", \"recovered\"]\n",
    );
    let told = run(
        &[page(Some("A"), 1), failure(2), page(Some("B"), 3)],
        &targets,
    );
    assert_eq!(
        told,
        [
            ("hook".to_owned(), "recovered", None, some("B")),
            ("hook".to_owned(), "title_changed", some("A"), some("B")),
        ]
    );
}

#[test]
fn one_failure_among_pages_is_not_a_failure_with_confirm_2() {
    let targets = targets(
        "[[notify]]\nname = \"hook\"\nurl = \"http://127.0.0.1:9/\"\nevents = [\"failed\"]\nconfirm = 2\n",
    );
    let records = [
        page(Some("A"), 1),
        page(Some("A"), 2),
        failure(3),
        page(Some("A"), 4),
        failure(5),
        failure(6),
    ];
    assert_eq!(
        run(&records, &targets),
        [("hook".to_owned(), "failed", None, some("A"))]
    );
}

#[test]
fn a_url_watched_for_the_first_time_starts_from_its_last_known_title() {
    let targets = targets("[[notify]]\nname = \"hook\"\nurl = \"http://127.0.0.1:9/\"\n");
    let known = Some("Old".to_owned());
    let observed = observe(None, Some(&known), &page(Some("New"), 1), &targets).unwrap();
    assert_eq!(observed.notices.len(), 1);
    assert_eq!(observed.notices[0].previous_title.as_deref(), Some("Old"));
}

#[test]
fn include_limits_a_target_to_its_urls() {
    let targets =
        targets("[[notify]]\nurl = \"http://127.0.0.1:9/\"\ninclude = [\"^http://elsewhere/\"]\n");
    assert!(run(&[page(Some("A"), 1), page(Some("B"), 2)], &targets).is_empty());
}

#[test]
fn a_notice_id_depends_on_the_target_event_url_and_fetch_only() {
    let targets = targets("[[notify]]\nname = \"hook\"\nurl = \"http://127.0.0.1:9/\"\n");
    let known = Some("Old".to_owned());
    let first = observe(None, Some(&known), &page(Some("New"), 1), &targets).unwrap();
    let again = observe(None, Some(&known), &page(Some("New"), 1), &targets).unwrap();
    let later = observe(None, Some(&known), &page(Some("New"), 2), &targets).unwrap();
    assert_eq!(first.notices[0].id, again.notices[0].id);
    assert_ne!(first.notices[0].id, later.notices[0].id);
}

#[test]
fn without_targets_nothing_is_kept() {
    assert_eq!(observe(None, None, &page(Some("A"), 1), &[]), None);
}
